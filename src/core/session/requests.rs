//! Requests on the socket and their bookkeeping: each carries a uid, is sent again when it goes
//! unanswered (some errors come without a uid), and a read the server refused is asked again
//! with backoff instead of being given up (a gap given up is a message lost).

use std::time::Duration;

use web_time::Instant;

use super::{Effect, REQUEST_TIMEOUT, Session};

/// A refused read is asked again after this, doubling per refusal up to the cap.
pub const RETRY_FIRST: Duration = Duration::from_millis(500);
pub const RETRY_MAX: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Request {
    Auth,
    Subscribe,
    /// The newest page of a room (by its history's key: "" while the shown room's id is not
    /// known). `sync`: the read that completes a first sync.
    ReadLatest {
        room: String,
        sync: bool,
    },
    CatchUp,
    Create(String),
    /// Our own row with this client key (after the key was refused as a duplicate).
    Lookup(String),
    /// Read these messages again for their authors' names.
    Resolve(Vec<i64>),
    /// Who am I: a subscription to my own row of directus_users (see `profile.rs`).
    Profile,
    /// Who am I, where the profile was refused: the author of one of my own messages.
    OwnLatest,
    Ping,
    /// Scroll-back in a room: the page before the oldest message we have of it.
    Older(String),
    /// A page of the window around a message far back (see `window.rs`): before its oldest ...
    WindowOlder {
        room: String,
        limit: u32,
        /// Which window (one left may still have a page on its way).
        window: u64,
    },
    /// ... or after its newest.
    WindowNewer {
        room: String,
        limit: u32,
        window: u64,
    },
    /// The user's memberships, live (see `rooms.rs`).
    SubscribeRooms,
    /// The other person of each DM.
    People,
    /// Unread counts of these rooms.
    Unread(Vec<String>),
    /// How many messages mention the user in these rooms.
    Mentions(Vec<String>),
    /// The members of this room (whom the composer's @ offers).
    Members(String),
    /// The names of these people, mentioned but not known.
    Names(Vec<String>),
    /// The read marker of a room moved to this id.
    MarkRead(String, i64),
    /// The user's notification setting for a room.
    Notify(String),
    /// Public channels, to join.
    Channels,
    /// Everybody else, to start a DM with (a subscription answered once).
    Directory,
    /// Join, leave or add someone (what, in words for a refusal).
    RoomChange(&'static str),
    /// A new channel or DM.
    CreateRoom,
    Update(i64),
    Delete(i64),
    /// The ids after this one (see `recheck.rs`).
    Recheck(i64),
    /// Messages the server never sent live, read whole.
    Missing(Vec<i64>),
    /// A page of hits for this search text.
    Search(String),
    /// A bearer token for REST (see `access.rs`).
    Access,
}

impl Request {
    fn name(&self) -> &'static str {
        match self {
            Request::Auth => "auth",
            Request::Subscribe => "subscribe",
            Request::ReadLatest { .. } => "history",
            Request::CatchUp => "catch-up",
            Request::Create(_) => "create",
            Request::Lookup(_) => "lookup",
            Request::Resolve(_) => "resolve",
            Request::Profile => "profile",
            Request::OwnLatest => "own-latest",
            Request::Ping => "ping",
            Request::Older(_) => "older",
            Request::WindowOlder { .. } => "window-older",
            Request::WindowNewer { .. } => "window-newer",
            Request::SubscribeRooms => "rooms",
            Request::People => "people",
            Request::Unread(_) => "unread",
            Request::Mentions(_) => "mentions",
            Request::Members(_) => "members",
            Request::Names(_) => "names",
            Request::MarkRead(..) => "read-marker",
            Request::Notify(_) => "notify",
            Request::Channels => "channels",
            Request::Directory => "directory",
            Request::RoomChange(_) => "membership",
            Request::CreateRoom => "new-room",
            Request::Update(_) => "update",
            Request::Recheck(_) => "recheck",
            Request::Missing(_) => "missing",
            Request::Search(_) => "search",
            Request::Delete(_) => "delete",
            Request::Access => "access",
        }
    }

    /// A page of messages whose size we choose (and shrink when a page did not fit).
    pub(super) fn reads_a_page(&self) -> bool {
        matches!(
            self,
            Request::ReadLatest { .. }
                | Request::CatchUp
                | Request::Older(_)
                | Request::WindowOlder { .. }
                | Request::WindowNewer { .. }
        )
    }
}

#[derive(Clone, Debug)]
pub(super) struct InFlight {
    pub request: Request,
    pub frame: String,
    /// When it is sent again: unanswered by then, or waiting out a refusal's backoff.
    pub due: Instant,
    /// Refusals in a row (for the backoff).
    pub refusals: u32,
    /// Waiting out a refusal's backoff (answered), not for an answer.
    pub backing_off: bool,
}

impl Session {
    pub(super) fn request(
        &mut self,
        request: Request,
        frame: impl FnOnce(&str) -> String,
        now: Instant,
    ) -> Effect {
        self.next_uid += 1;
        let uid = format!("{}-{}", request.name(), self.next_uid);
        let frame = frame(&uid);
        self.requests.insert(
            uid,
            InFlight {
                request,
                frame: frame.clone(),
                due: now + REQUEST_TIMEOUT,
                refusals: 0,
                backing_off: false,
            },
        );
        Effect::Send(frame)
    }

    pub(super) fn take_request(&mut self, uid: Option<&str>) -> Option<InFlight> {
        self.requests.remove(uid?)
    }

    /// The server refused `req` (sent as `uid`): ask again later, waiting longer each time.
    pub(super) fn retry_later(&mut self, uid: String, mut req: InFlight, now: Instant) {
        let wait = RETRY_FIRST
            .saturating_mul(1 << req.refusals.min(16))
            .min(RETRY_MAX);
        req.refusals += 1;
        req.due = now + wait;
        req.backing_off = true;
        self.requests.insert(uid, req);
    }

    /// Frames due again: unanswered ones, refused ones whose wait is over, or all of them
    /// (`all`: after the rate limiter, which does not say which request it refused).
    pub(super) fn resend_due(&mut self, now: Instant, all: bool) -> Vec<Effect> {
        let due: Vec<String> = self
            .requests
            .iter()
            .filter(|(_, r)| all || now >= r.due)
            .map(|(uid, _)| uid.clone())
            .collect();
        let mut effects = Vec::new();
        for uid in due {
            let Some(mut req) = self.requests.remove(&uid) else {
                continue;
            };
            match req.request {
                Request::Ping => {} // the pong timeout handles it
                // Not twice: a second create makes a second private channel, a second join or
                // leave a false refusal. What happened shows in the memberships subscription.
                Request::CreateRoom | Request::RoomChange(_) => {
                    self.notice = Some("The server did not answer in time; try again.".into());
                }
                // Directus ignores a frame type no extension handles: nothing will come. (After
                // the rate limiter, which says nothing of which, it is asked again below.)
                Request::Access if !all => self.access_unanswered(),
                _ => {
                    if !all && !req.backing_off {
                        // Unanswered: the server is in trouble and may drop events too.
                        self.recheck.soon(now);
                    }
                    req.backing_off = false;
                    req.due = now + REQUEST_TIMEOUT;
                    effects.push(Effect::Send(req.frame.clone()));
                    self.requests.insert(uid, req);
                }
            }
        }
        effects
    }

    /// The first request of this kind that is waiting for an answer.
    pub(super) fn pending(&self, wanted: impl Fn(&Request) -> bool) -> Option<&String> {
        self.requests
            .iter()
            .find(|(_, r)| wanted(&r.request))
            .map(|(uid, _)| uid)
    }
}
