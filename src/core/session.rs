//! The chat session as a state machine without IO.
//!
//! Inputs: socket events ([`Session::opened`], [`Session::frame`], [`Session::closed`]), user
//! actions ([`Session::login`], [`Session::resume`], [`Session::send`], [`Session::logout`],
//! [`Session::retry_now`]) and clock ticks ([`Session::tick`]), each with the current time.
//! Outputs: [`Effect`]s for the IO edge to carry out, and state the views read.
//!
//! What it gets right where the tutorial does not:
//! - the refresh token rotates on every auth: the newest one is kept and saved at once;
//! - TOKEN_EXPIRED re-authenticates on the same socket, holding sends until `auth ok`
//!   (otherwise Directus would create them as nobody, or refuse them);
//! - heartbeats are answered with JSON, and our own JSON pings notice a dead socket;
//! - reconnects back off exponentially with jitter (or come back as soon as a probe finds the
//!   server again), re-subscribe, and then catch up on every message after what had settled
//!   before the cut (after the subscription is live: no gap; see `reads.rs`);
//! - a refused read is asked again with backoff, never given up;
//! - every create carries a client key that is unique in the database, so a create retried
//!   after a lost reply is refused as a duplicate and never posts twice; a row under that key
//!   counts as ours only when it is (see `outbox.rs`);
//! - logout closes the socket and revokes the refresh token over REST.
//!
//! Parts: `connection.rs` (socket life, auth, timeouts), `reads.rs` (what the server answers),
//! `subscriptions.rs` (what the subscriptions bring, and which is which), `profile.rs` (who
//! the user is), `outbox.rs` (what the user wrote), `pending_delete.rs` (a delete's Undo time),
//! `requests.rs` (uids, resends, backoff of refused requests), `rooms.rs` (the user's rooms,
//! which one is shown, unread counts and read markers), `room_actions.rs` (joining, leaving,
//! new channels and DMs), `changes.rs` (editing and deleting one's own messages).

use std::collections::HashMap;
use std::time::Duration;

use web_time::Instant;

use super::protocol::{self as proto, Author, MessageItem, ServerError};
use super::rooms::Rooms;
use super::server_url::ServerUrl;
use super::timeline::Timeline;

/// Messages shown after login (the newest N).
pub const HISTORY_PAGE: u32 = 50;
/// Catch-up reads this many per request and asks again while pages come back full.
pub const CATCH_UP_PAGE: u32 = 500;
/// A request without an answer after this long is sent again (some errors carry no uid).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Opening the socket or authenticating may take this long before we try again.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Silence after which we ping the server ourselves (its own ping comes every 30 s).
pub const PING_AFTER: Duration = Duration::from_secs(20);
/// No answer to our ping within this long: the socket is dead.
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);
/// Reconnect backoff: first delay and cap.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// While the server is unreachable it is probed this often (a ping costs next to nothing).
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// Messages longer than this are refused in the composer (Directus accepts ~2 MiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

mod access;
mod arrivals;
mod changes;
mod connection;
mod effect;
mod outbox;
mod pending_delete;
mod people;
mod profile;
mod reads;
mod recheck;
mod requests;
mod room_actions;
mod rooms;
mod search;
mod stored;
mod subscriptions;
mod uploads;
mod window;

pub use access::RestAccess;
pub use effect::{Effect, Phase};
pub use outbox::{Outgoing, OutgoingState, Unsent, new_client_key};
pub use pending_delete::UNDO_DELETE;
pub use reads::{KEEP_BYTES, KEEP_MESSAGES, SETTLE};
pub use recheck::{RECHECK_EVERY, RECHECK_SPAN};
use requests::{InFlight, Request};
pub use requests::{RETRY_FIRST, RETRY_MAX};
pub use search::{SEARCH_KEEP, SEARCH_PAGE, Search, matches};
pub use stored::SavedUpload;
pub use uploads::{
    FileSource, MAX_UPLOAD_BYTES, NewFile, Post, Upload, UploadOutcome, UploadState, new_file_id,
};

/// How we authenticate the next handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    RefreshToken,
    Password,
}

pub struct Session {
    phase: Phase,
    server: Option<ServerUrl>,
    email: Option<String>,
    /// Kept in memory only, to log in again if a rotated refresh token was lost in transit.
    password: Option<String>,
    refresh_token: Option<String>,
    using: Credential,
    /// Authenticated at least once since login/resume (then failures mean "reconnect").
    been_online: bool,
    subscribed: bool,
    /// The uid of this connection's subscription to messages: events under any other uid
    /// are not messages (see `subscriptions.rs`).
    live_uid: Option<String>,
    /// The uid of the profile subscription whose answer is awaited (see `profile.rs`).
    profile_uid: Option<String>,
    /// The uid of this connection's subscription to the user's memberships (see `rooms.rs`).
    rooms_uid: Option<String>,
    /// The newest id live events brought while not synced (the sync's end takes it in).
    live_newest: Option<i64>,
    /// This connection's read (history or catch-up) is complete: live events fill the rest.
    history_loaded: bool,
    /// The newest id the synced stream has reached: every message up to it has been seen,
    /// except one whose event Directus sent late (those still arrive, and a catch-up re-reads
    /// what had not settled, see `settled_cursor`). Not the newest id in the timeline: our own
    /// create replies can arrive before the catch-up and must not make it skip someone else's
    /// message stored just before ours. None until the first sync (which reads the newest page).
    cursor: Option<i64>,
    /// Where the cursor stood when (see `settled_cursor`): at most one entry per 100 ms.
    cursor_log: std::collections::VecDeque<(Instant, i64)>,
    /// Looks again at recent history for events the server never sent (see `recheck.rs`).
    recheck: recheck::Recheck,
    /// The logged-in user as an author (id and first name), once known.
    me: Option<Author>,
    /// Who-am-I was answered (asked again after a reconnect until it is).
    who_answered: bool,
    /// The server refused the profile subscription: ask the author of our newest message.
    profile_refused: bool,
    /// When the last socket last said anything before it was lost (see `settled_cursor`);
    /// None once a sync completed.
    cut_at: Option<Instant>,
    /// The user's rooms and what is held of each (the shown one's timeline among them).
    rooms: Rooms,
    /// Every room is opened and read (headless `--all-rooms`), not only the shown one.
    all_rooms: bool,
    /// The server refused to keep read markers (kept on this device only then).
    markers_refused: bool,
    /// People and public channels as read, and the room to show once it arrives.
    directory: room_actions::Directory,
    /// Names and members, for mentions (see `people.rs`).
    people: people::People,
    /// Messages of others that came live, for notifications (see `arrivals.rs`).
    arrivals: Vec<crate::core::notifications::Arrival>,
    outbox: Vec<Outgoing>,
    requests: HashMap<String, InFlight>,
    next_uid: u64,
    attempt: u32,
    rng: u64,
    last_heard: Option<Instant>,
    ping_sent: Option<Instant>,
    resend_at: Option<Instant>,
    error: Option<String>,
    notice: Option<String>,
    fresh: Vec<i64>,
    persistent: bool,
    /// See `shares_token_with_tabs`.
    shares_token: bool,
    /// The shown room in a window around a message far back (see `window.rs`).
    window: Option<window::Window>,
    /// The last window's number.
    next_window: u64,
    /// The search under way or last made (see `search.rs`).
    search: Option<Search>,
    /// The bearer token for REST (see `access.rs`).
    access: access::Access,
    /// Files on their way, each post sent as a message once they are stored (`uploads.rs`).
    posts: Vec<uploads::Post>,
    /// Messages whose author's name is not known yet (see `resolve_authors`).
    unresolved: std::collections::BTreeSet<i64>,
    resolve_blocked: bool,
    /// Why editing and deleting are not offered (the server said FORBIDDEN).
    edits_refused: Option<String>,
    /// What was last handed out for storage (see `persist`).
    saved: Option<Effect>,
    /// The refresh token the last auth frame carried (it is spent once Directus answers).
    sent_token: Option<String>,
    /// How many messages a catch-up asks for (halved after a page that did not arrive).
    page: u32,
    /// The last connection attempt never opened: the server is probed until it answers.
    unreachable: bool,
    probe_at: Option<Instant>,
    /// The current attempt was started by a probe, not by the backoff.
    early_attempt: bool,
    /// Messages in the timeline that were saved on this device at the last run and not yet
    /// checked against the server's first page (see `show_saved`).
    saved_ids: Vec<i64>,
    /// A delete waiting out its Undo time: message id and when it is sent.
    pending_delete: Option<(i64, Instant)>,
}

impl Session {
    /// `seed` feeds the reconnect jitter (the edge passes something time-derived).
    /// Keep trying when the very first connection fails (bots, which may start before the
    /// server), instead of going back to the login panel.
    pub fn persistent(mut self) -> Self {
        self.persistent = true;
        self
    }

    /// Other instances (the page's tabs) share the stored refresh token, and their handshakes
    /// take turns on a socket's opening (see `edge::auth_turn`): an expired access token is
    /// renewed on a fresh socket then, never on the live one.
    pub fn shares_token_with_tabs(mut self) -> Self {
        self.shares_token = true;
        self
    }

    pub fn new(seed: u64) -> Self {
        Session {
            phase: Phase::LoggedOut,
            server: None,
            email: None,
            password: None,
            refresh_token: None,
            using: Credential::Password,
            been_online: false,
            subscribed: false,
            live_uid: None,
            profile_uid: None,
            rooms_uid: None,
            live_newest: None,
            history_loaded: false,
            cursor: None,
            cursor_log: Default::default(),
            recheck: Default::default(),
            me: None,
            who_answered: false,
            profile_refused: false,
            cut_at: None,
            rooms: Rooms::new(proto::DEFAULT_ROOM),
            all_rooms: false,
            markers_refused: false,
            directory: Default::default(),
            people: Default::default(),
            arrivals: Vec::new(),
            outbox: Vec::new(),
            requests: HashMap::new(),
            next_uid: 0,
            attempt: 0,
            rng: seed | 1,
            last_heard: None,
            ping_sent: None,
            resend_at: None,
            error: None,
            notice: None,
            fresh: Vec::new(),
            persistent: false,
            shares_token: false,
            search: None,
            access: Default::default(),
            posts: Vec::new(),
            window: None,
            next_window: 0,
            unresolved: Default::default(),
            resolve_blocked: false,
            saved: None,
            edits_refused: None,
            sent_token: None,
            page: CATCH_UP_PAGE,
            unreachable: false,
            probe_at: None,
            early_attempt: false,
            saved_ids: Vec::new(),
            pending_delete: None,
        }
    }

    // ---- what the views read ---------------------------------------------------------------

    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// What the shown room shows: its messages, or a window around one far back (see
    /// `window.rs`).
    pub fn timeline(&self) -> &Timeline {
        match self.shown_window() {
            Some(window) => window.timeline(),
            None => &self.rooms.shown_history().timeline,
        }
    }
    /// The shown room's own messages (up to the present), window or not: what is saved on the
    /// device, and what is unread.
    pub fn room_timeline(&self) -> &Timeline {
        &self.rooms.shown_history().timeline
    }
    /// The user's rooms, their unread counts and which one is shown.
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }
    /// A message of any room held.
    pub fn message(&self, id: i64) -> Option<&MessageItem> {
        self.rooms.message(id)
    }
    pub fn outbox(&self) -> &[Outgoing] {
        &self.outbox
    }
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    pub fn server(&self) -> Option<&ServerUrl> {
        self.server.as_ref()
    }
    /// The logged-in user, once known (from their profile or their own messages).
    pub fn me(&self) -> Option<&Author> {
        self.me.as_ref()
    }

    /// A name to show for the logged-in user: first name, else e-mail.
    pub fn display_name(&self) -> Option<&str> {
        self.me
            .as_ref()
            .and_then(|m| m.first_name.as_deref())
            .or(self.email.as_deref())
    }

    /// Who the logged-in user is has been settled: known, or asked and they never posted.
    pub fn identity_settled(&self) -> bool {
        self.me.is_some() || self.who_answered
    }

    /// The message carries the key of one of ours still waiting for its own reply: whose it
    /// is will be known then.
    pub fn awaiting_confirmation(&self, message: &MessageItem) -> bool {
        message
            .client_key
            .as_ref()
            .is_some_and(|key| self.outbox.iter().any(|o| &o.client_key == key))
    }

    /// Is this message the logged-in user's own?
    pub fn is_mine(&self, message: &MessageItem) -> bool {
        self.me
            .as_ref()
            .and_then(|m| m.id.as_ref())
            .is_some_and(|id| message.author.id.as_ref() == Some(id))
    }

    /// Why the session is logged out or failing, in words for the user.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// A passing remark (e.g. a refused message), shown but not blocking.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
    /// A password login is under way (a resumed session shows the chat and its status instead).
    pub fn logging_in(&self) -> bool {
        matches!(
            self.phase,
            Phase::Connecting { .. } | Phase::Authenticating { .. }
        ) && !self.been_online
            && self.using == Credential::Password
    }
    pub fn history_loaded(&self) -> bool {
        self.history_loaded
    }
    /// The refresh token the last auth frame carried (spent once Directus answered it).
    pub fn spent_token(&self) -> Option<&str> {
        self.sent_token.as_deref()
    }
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }
    /// How far the synced stream has reached (None before the first sync): what headless prints
    /// up to. A late event below it can still come (printed then, out of id order).
    pub fn complete_through(&self) -> Option<i64> {
        self.cursor
    }

    /// The message's author name is still being asked for.
    pub fn author_pending(&self, id: i64) -> bool {
        self.unresolved.contains(&id)
    }

    /// Ids added to the timeline since the last call (for printing each message once).
    pub fn take_fresh(&mut self) -> Vec<i64> {
        let placed = self.rooms.take_placed();
        self.fresh.extend(placed);
        std::mem::take(&mut self.fresh)
    }

    /// The next moment [`Session::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut deadlines = Vec::new();
        match self.phase {
            Phase::LoggedOut => return None,
            Phase::Connecting { since } | Phase::Authenticating { since } => {
                deadlines.push(since + CONNECT_TIMEOUT)
            }
            Phase::Reconnecting { at } => deadlines.push(at),
            Phase::Online => match self.ping_sent {
                Some(sent) => deadlines.push(sent + PONG_TIMEOUT),
                None => deadlines.extend(self.last_heard.map(|t| t + PING_AFTER)),
            },
        }
        deadlines.extend(self.requests.values().map(|r| r.due));
        deadlines.extend(self.resend_at);
        if self.phase == Phase::Online {
            deadlines.extend(self.recheck.due());
        }
        deadlines.extend(self.probe_at);
        deadlines.extend(self.pending_delete_due());
        deadlines.extend(self.uploads_deadline());
        deadlines.into_iter().min()
    }

    // ---- user actions ----------------------------------------------------------------------

    /// Log in with e-mail and password (the password stays in memory only).
    pub fn login(
        &mut self,
        server: ServerUrl,
        email: &str,
        password: &str,
        now: Instant,
    ) -> Vec<Effect> {
        // A resumed session has no e-mail: its unsent messages wait for whoever logs in on
        // this device next (the token was refused; it is almost always the same person).
        let same_account = self.server.as_ref() == Some(&server)
            && (self.email.is_none() || self.email.as_deref() == Some(email));
        if !same_account {
            // Another account: its messages stay with their owner (shown as waiting, never
            // sent as this one); what it saw goes.
            self.rooms.clear();
            self.directory = Default::default();
            self.forget_people();
            self.saved_ids.clear();
            self.cursor = None;
            self.cursor_log.clear();
            self.me = None;
            self.who_answered = false;
            self.profile_refused = false;
        }
        self.email = Some(email.to_owned());
        self.password = Some(password.to_owned());
        self.refresh_token = None;
        self.using = Credential::Password;
        self.start(server, now)
    }

    /// Log in with a stored refresh token (no password known), with the messages that were
    /// still unsent when the app last stopped.
    pub fn resume(
        &mut self,
        server: ServerUrl,
        email: Option<String>,
        refresh_token: &str,
        unsent: Vec<Unsent>,
        now: Instant,
    ) -> Vec<Effect> {
        self.restore(server.clone(), email, unsent);
        self.password = None;
        self.refresh_token = Some(refresh_token.to_owned());
        self.using = Credential::RefreshToken;
        self.start(server, now)
    }

    fn start(&mut self, server: ServerUrl, now: Instant) -> Vec<Effect> {
        self.server = Some(server);
        self.been_online = false;
        self.attempt = 0;
        self.error = None;
        self.notice = None;
        self.connect(now)
    }

    /// Scroll-back reached the top: ask for the page before the oldest message.
    pub fn load_older(&mut self, now: Instant) -> Vec<Effect> {
        if self.detached() {
            return self.load_older_in_window(now);
        }
        let shown = self.rooms.shown_history();
        let Some(oldest) = shown.timeline.oldest_id() else {
            return Vec::new();
        };
        if self.phase != Phase::Online
            || !self.history_loaded
            || shown.reached_start
            || self.loading_older()
        {
            return Vec::new();
        }
        let (key, room) = self.shown_ref();
        let limit = self.page.min(HISTORY_PAGE);
        vec![self.request(
            Request::Older(key),
            |uid| proto::read_before(&room, oldest, limit, uid),
            now,
        )]
    }

    pub fn loading_older(&self) -> bool {
        let shown = self.rooms.shown_id().unwrap_or_default();
        self.requests.values().any(|r| match &r.request {
            Request::Older(key) | Request::WindowOlder { room: key, .. } => key == shown,
            _ => false,
        })
    }

    /// The shown room's first message is loaded.
    pub fn reached_start(&self) -> bool {
        match self.shown_window() {
            Some(window) => window.reached_start(),
            None => self.rooms.shown_history().reached_start,
        }
    }

    /// Close the socket, revoke the refresh token on the server, forget the stored session.
    pub fn logout(&mut self, now: Instant) -> Vec<Effect> {
        // A delete still in its Undo time was asked for: it goes out before the socket closes.
        let mut effects = self.send_pending_delete_now(now);
        effects.extend(self.drop_posts(now));
        effects.push(Effect::Disconnect);
        if let (Some(server), Some(token)) = (&self.server, self.refresh_token.take()) {
            effects.push(Effect::RevokeRefreshToken {
                http: server.http.clone(),
                email: self.email.clone(),
                refresh_token: token,
            });
        }
        effects.push(self.forget_session());
        let server = self.server.take();
        *self = Session {
            rng: self.rng,
            next_uid: self.next_uid,
            persistent: self.persistent,
            shares_token: self.shares_token,
            ..Session::new(self.rng)
        };
        // Keep the address on the login form; everything else goes.
        self.server = server;
        effects
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for jitter (client keys come from the OS: see outbox.rs).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// An error in words: FORBIDDEN and friends get a sentence, others their server text.
pub fn describe(error: &ServerError) -> String {
    match error.code.as_str() {
        "FORBIDDEN" => "you do not have permission to do that on this server (FORBIDDEN)".into(),
        "REQUESTS_EXCEEDED" => "the server's rate limit was hit; retrying".into(),
        "TOKEN_EXPIRED" => "your access expired; logging in again".into(),
        _ if error.message.is_empty() => error.code.clone(),
        _ => format!("{} ({})", error.message, error.code),
    }
}
