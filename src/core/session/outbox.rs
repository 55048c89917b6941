//! What the user wrote and Directus has not confirmed yet. Messages go out one at a time, in
//! the order written, each under a client key that is unique in the database, so a create
//! retried after a lost reply is refused as a duplicate instead of posting twice.
//!
//! Any member can read stored keys and post with any key they like, so a key proves nothing
//! by itself: keys are 128 bits from the OS's secure random source (none can be predicted
//! from another), and a row carrying one of our keys confirms our message only when the row
//! is ours (the reply to our own create, a lookup filtered by `$CURRENT_USER`, or a row whose
//! author is the logged-in user). A key someone else took is replaced and the message re-sent.

use web_time::Instant;

use super::requests::Request;
use super::{Effect, MAX_MESSAGE_BYTES, Phase, Session};
use crate::core::protocol::{self as proto, MessageItem, ServerError};

/// A message the user wrote that Directus has not confirmed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub client_key: String,
    pub content: String,
    pub state: OutgoingState,
    /// Who wrote it, as "email at server" (None: stored by a version that did not say). It is
    /// sent only under that account: another user on this device never posts it as theirs.
    pub owner: Option<String>,
    /// Refused as a duplicate once and not found among ours (see `not_found_under`).
    pub not_found: bool,
    /// The room it goes to (None: written before rooms, or into `general` before its id was
    /// known; the server files those under `general`).
    pub room: Option<String>,
    /// Ids of the files it carries (uploaded before it goes out: see `uploads.rs`).
    pub files: Vec<String>,
}

impl Outgoing {
    /// Is this what `stored` says (compared in place: `persist` asks every frame)?
    pub(super) fn stored_as(&self, stored: &Unsent) -> bool {
        let failed = match &self.state {
            OutgoingState::Failed(why) => Some(why.as_str()),
            _ => None,
        };
        self.client_key == stored.client_key
            && self.content == stored.content
            && failed == stored.failed.as_deref()
            && self.owner == stored.owner
            && self.room == stored.room
            && self.files == stored.files
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutgoingState {
    Queued,
    /// Sent (or being retried after a passing server error): waiting for Directus.
    InFlight,
    /// Refused by the server for good (e.g. FORBIDDEN): kept, shown with the reason, Retry and
    /// Discard; never sent again by itself.
    Failed(String),
}

/// An unconfirmed message as it is stored across restarts. The client key travels with it, so
/// a message Directus stored just before the app died is found again, not posted twice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unsent {
    pub client_key: String,
    pub content: String,
    /// Why the server refused it for good, if it did (then it waits for Retry or Discard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Who wrote it ("email at server"): see [`Outgoing::owner`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Its room: see [`Outgoing::room`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Its files, stored already: see [`Outgoing::files`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// A post whose files are still going up (see `stored.rs`); empty for a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<super::stored::SavedUpload>,
}

/// Is something written by `owner` the `current` account's? None either way: written before
/// owners were recorded, or before the account is known. The one rule for messages and posts.
pub(super) fn owned_by(owner: &Option<String>, current: Option<&str>) -> bool {
    match (owner, current) {
        (Some(owner), Some(current)) => owner == current,
        _ => true,
    }
}

/// 128 bits from the OS's secure random source, as 32 hex digits.
pub fn new_client_key() -> String {
    let mut bytes = [0u8; 16];
    // Without the OS's randomness there is no safe key; that is not a state to run on.
    getrandom::getrandom(&mut bytes).expect("the OS's secure random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Server errors that pass: the same create is sent again with backoff. Everything else
/// (FORBIDDEN, FAILED_VALIDATION, INVALID_PAYLOAD, ...) is the server's final word.
pub(super) fn transient(error: &ServerError) -> bool {
    matches!(
        error.code.as_str(),
        "INTERNAL_SERVER_ERROR" | "SERVICE_UNAVAILABLE" | "UNKNOWN" | "OUT_OF_MEMORY" | ""
    ) || error.code.contains("TIMEOUT")
}

impl Session {
    /// Queue a message; blank ones are ignored. Returns Err with a reason when refused.
    pub fn send(&mut self, content: &str, now: Instant) -> Result<Vec<Effect>, String> {
        let content = content.trim_end();
        if content.trim().is_empty() {
            return Ok(Vec::new());
        }
        check_length(content)?;
        let room = self.room_to_send_to()?;
        // What is sent shows at the present: a window far back goes.
        self.drop_window();
        self.outbox.push(Outgoing {
            client_key: new_client_key(),
            content: content.to_owned(),
            state: OutgoingState::Queued,
            owner: self.owner(),
            not_found: false,
            room,
            files: Vec::new(),
        });
        Ok(self.flush(now))
    }

    /// The room what is written now goes to: the shown one (None: `general`, which the
    /// server files a message without a room under). Never another room than the one meant:
    /// one asked for by name waits until it is known.
    pub(super) fn room_to_send_to(&self) -> Result<Option<String>, String> {
        match (self.rooms.wanted(), self.rooms.shown_id()) {
            (None, shown) => Ok(shown.map(str::to_owned)),
            (Some(wanted), _) if wanted.eq_ignore_ascii_case(proto::DEFAULT_ROOM) => Ok(None),
            (Some(wanted), _) => Err(format!("The room \"{wanted}\" is not known yet.")),
        }
    }

    /// Back from storage without a token (it was refused): the unsent messages wait, shown on
    /// the login panel, and go out after the next login on this server.
    pub fn restore(
        &mut self,
        server: crate::core::server_url::ServerUrl,
        email: Option<String>,
        unsent: Vec<Unsent>,
    ) {
        self.server = Some(server);
        self.email = email;
        for message in unsent {
            if !message.uploads.is_empty() {
                self.restore_post(message);
            } else if !self
                .outbox
                .iter()
                .any(|o| o.client_key == message.client_key)
            {
                self.outbox.push(Outgoing {
                    client_key: message.client_key,
                    content: message.content,
                    state: match message.failed {
                        Some(why) => OutgoingState::Failed(why),
                        None => OutgoingState::Queued,
                    },
                    owner: message.owner,
                    not_found: false,
                    room: message.room,
                    files: message.files,
                });
            }
        }
    }

    /// Send a refused message again (the user chose Retry).
    pub fn retry_failed(&mut self, client_key: &str, now: Instant) -> Vec<Effect> {
        if let Some(o) = self.outbox.iter_mut().find(|o| o.client_key == client_key)
            && matches!(o.state, OutgoingState::Failed(_))
        {
            o.state = OutgoingState::Queued;
        }
        self.flush(now)
    }

    /// Give up on a message that is not on its way (refused, or still queued); the files it
    /// carried are removed (no message took them).
    pub fn discard(&mut self, client_key: &str, now: Instant) -> Vec<Effect> {
        let gone: Vec<String> = self
            .outbox
            .iter()
            .filter(|o| o.client_key == client_key && o.state != OutgoingState::InFlight)
            .flat_map(|o| o.files.clone())
            .collect();
        self.outbox
            .retain(|o| o.client_key != client_key || o.state == OutgoingState::InFlight);
        gone.into_iter()
            .filter_map(|id| self.drop_upload(id, now))
            .collect()
    }

    /// Messages the server refused for good.
    pub fn failed(&self) -> impl Iterator<Item = (&Outgoing, &str)> {
        self.outbox.iter().filter_map(|o| match &o.state {
            OutgoingState::Failed(why) => Some((o, why.as_str())),
            _ => None,
        })
    }

    /// Nothing of ours is waiting to be confirmed (refused messages wait for the user, others'
    /// for their owner, not for the server).
    pub fn outbox_settled(&self) -> bool {
        self.outbox
            .iter()
            .all(|o| matches!(o.state, OutgoingState::Failed(_)) || !self.writes_as(o))
    }

    /// The account messages are written as now: "email at server" (None before it is known).
    pub fn owner(&self) -> Option<String> {
        Some(format!(
            "{} at {}",
            self.email.as_ref()?,
            self.server.as_ref()?.http
        ))
    }

    /// This message goes out under the logged-in account (its own, or of unknown origin).
    pub fn writes_as(&self, outgoing: &Outgoing) -> bool {
        owned_by(&outgoing.owner, self.owner().as_deref())
    }

    /// The outbox by who wrote it ("email at server"; None: not recorded), in order of writing.
    pub fn unsent_by_owner(&self) -> Vec<(Option<String>, usize)> {
        let mut by_owner: Vec<(Option<String>, usize)> = Vec::new();
        // A post with files is a message too.
        let owners = self.outbox.iter().map(|o| &o.owner);
        for owner_of in owners.chain(self.posts.iter().map(|p| &p.owner)) {
            match by_owner.iter_mut().find(|(owner, _)| owner == owner_of) {
                Some((_, n)) => *n += 1,
                None => by_owner.push((owner_of.clone(), 1)),
            }
        }
        by_owner
    }

    /// Send the next queued message, one at a time so that ids follow the order of writing.
    pub(super) fn send_next(&mut self, now: Instant) -> Vec<Effect> {
        if self.phase != Phase::Online
            || self
                .outbox
                .iter()
                .any(|o| o.state == OutgoingState::InFlight)
        {
            return Vec::new();
        }
        let owner = self.owner();
        let Some(next) = self.outbox.iter_mut().find(|o| {
            o.state == OutgoingState::Queued
                && (o.owner.is_none() || owner.is_none() || o.owner == owner)
        }) else {
            return Vec::new();
        };
        next.state = OutgoingState::InFlight;
        let (key, content, room, files) = (
            next.client_key.clone(),
            next.content.clone(),
            next.room.clone(),
            next.files.clone(),
        );
        vec![self.request(
            Request::Create(key.clone()),
            |uid| proto::create_message(&content, &key, room.as_deref(), &files, uid),
            now,
        )]
    }

    /// A row carrying one of our keys arrived (event, catch-up, history): it confirms that
    /// message only when its author is the logged-in user. Someone else's row under our key
    /// confirms nothing: our create will be refused as a duplicate, looked up, and re-keyed.
    pub(super) fn confirm_row(&mut self, item: &MessageItem) {
        if let Some(key) = &item.client_key
            && self.is_mine(item)
        {
            self.confirmed(key);
        }
    }

    /// Directus holds this message of ours: stop waiting for or retrying it.
    pub(super) fn confirmed(&mut self, key: &str) {
        self.outbox.retain(|o| o.client_key != key);
        self.requests.retain(
            |_, r| !matches!(&r.request, Request::Create(k) | Request::Lookup(k) if k == key),
        );
    }

    /// Our key was refused as a duplicate but our lookup found no row of ours under it. The
    /// first time, it is sent again as it is (the refusal may have raced our own insert); the
    /// second time another member holds the key, and ours goes out under a fresh one.
    pub(super) fn not_found_under(&mut self, client_key: &str) {
        if let Some(o) = self.outbox.iter_mut().find(|o| o.client_key == client_key) {
            o.state = OutgoingState::Queued;
            if o.not_found {
                log::warn!("a client key was taken by someone else; sending under a new one");
                o.client_key = new_client_key();
                o.not_found = false;
            } else {
                o.not_found = true;
            }
        }
    }

    pub(super) fn set_outgoing(&mut self, key: &str, state: OutgoingState) {
        if let Some(o) = self.outbox.iter_mut().find(|o| o.client_key == key) {
            o.state = state;
        }
    }

    pub(super) fn requeue_in_flight(&mut self) {
        for o in &mut self.outbox {
            if o.state == OutgoingState::InFlight {
                o.state = OutgoingState::Queued;
            }
        }
    }

    /// The outbox as stored across restarts (refused messages too: they wait for the user).
    pub(super) fn unsent(&self) -> impl Iterator<Item = Unsent> + '_ {
        self.outbox
            .iter()
            .map(|o| Unsent {
                client_key: o.client_key.clone(),
                content: o.content.clone(),
                failed: match &o.state {
                    OutgoingState::Failed(why) => Some(why.clone()),
                    _ => None,
                },
                owner: o.owner.clone(),
                room: o.room.clone(),
                files: o.files.clone(),
                uploads: Vec::new(),
            })
            .chain(self.saved_posts().filter_map(|p| p.saved()))
    }

    /// What waits to go out into the shown room (a message without a room is `general`'s),
    /// and what waits for a room the user is no longer in (shown everywhere, with Discard:
    /// never stored for ever unseen).
    pub fn outbox_here(&self) -> impl Iterator<Item = &Outgoing> {
        let rooms = &self.rooms;
        let shown = rooms.shown_room();
        let general = shown.is_none_or(|r| r.is_default());
        self.outbox.iter().filter(move |o| match &o.room {
            Some(room) => {
                shown.is_none_or(|r| r.id == *room) || (rooms.known() && rooms.get(room).is_none())
            }
            None => general,
        })
    }
}

/// Messages (new or edited) over the limit are refused, the text staying with the user.
pub(super) fn check_length(content: &str) -> Result<(), String> {
    if content.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "This message is {} KiB; the limit is {} KiB. Split it or shorten it.",
            content.len().div_ceil(1024),
            MAX_MESSAGE_BYTES / 1024
        ));
    }
    Ok(())
}
