//! Who the logged-in user is (id and first name): the header's name, and which messages are
//! ours. Known at once from our own messages; a member who never posted is asked about by
//! subscribing to their own row of `directus_users` (the socket refuses reads of system
//! collections, not subscriptions), dropped as soon as its first answer is in. Where the
//! server refuses that (no read on users, e.g. an unlicensed 12.x), the author of our newest
//! message, as before: the id then, a name once we post.

use serde_json::Value;
use web_time::Instant;

use super::requests::Request;
use super::{Effect, Session};
use crate::core::protocol::{self as proto, Author};

impl Session {
    /// Once history is in and we are still unknown: ask (once per connection until answered).
    pub(super) fn ask_who_i_am(&mut self, now: Instant) -> Option<Effect> {
        let asking = self
            .pending(|r| matches!(r, Request::Profile | Request::WhoAmI))
            .is_some();
        if self.me.is_some() || !self.history_loaded || self.who_answered || asking {
            return None;
        }
        Some(if self.profile_refused {
            self.request(Request::WhoAmI, proto::read_own_latest, now)
        } else {
            self.request(Request::Profile, proto::subscribe_own_profile, now)
        })
    }

    /// The profile subscription's first answer: our row, then the subscription goes.
    pub(super) fn on_profile(&mut self, uid: &str, data: &Value, now: Instant) -> Vec<Effect> {
        let mut effects = vec![Effect::Send(proto::unsubscribe(uid))];
        match data.as_array().and_then(|rows| rows.first()) {
            Some(row) if row["id"].is_string() => {
                self.who_answered = true;
                self.learn_me(&Author::from_json(row));
            }
            // Subscribed but shown nothing (no read on users): ask the other way.
            _ => effects.extend(self.profile_refused(now)),
        }
        effects
    }

    /// The profile subscription was refused: ask the author of our newest message instead.
    pub(super) fn profile_refused(&mut self, now: Instant) -> Option<Effect> {
        self.profile_refused = true;
        self.ask_who_i_am(now)
    }

    /// The answer to [`Request::WhoAmI`]: our newest message's author, if we ever posted.
    pub(super) fn on_who_am_i(&mut self, data: &Value) {
        self.who_answered = true;
        if let Some(row) = data.as_array().and_then(|rows| rows.first()) {
            self.learn_me(&Author::from_json(&row["user_created"]));
        }
    }
}
