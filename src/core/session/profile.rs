//! Who the logged-in user is (id and first name): the header's name, and which messages are
//! ours. A member who never posted is known too: the session subscribes to their own row of
//! `directus_users` (the socket refuses reads of system collections, not subscriptions) and
//! drops that subscription as soon as its first answer is in. Where the server refuses it
//! (FORBIDDEN: a policy without a read on users) or shows nothing, the author of our
//! newest message is asked for instead: the id then, a name once we post.

use serde_json::Value;
use web_time::Instant;

use super::requests::Request;
use super::{Effect, Session};
use crate::core::protocol::{self as proto, Author};

impl Session {
    /// Once history is in and we are still unknown: ask (once per connection until answered;
    /// after a reconnect or TOKEN_EXPIRED, which forget what was asked, again).
    pub(super) fn ask_who_i_am(&mut self, now: Instant) -> Option<Effect> {
        let asking =
            self.profile_uid.is_some() || self.pending(|r| *r == Request::OwnLatest).is_some();
        if self.me.is_some() || !self.history_loaded || self.who_answered || asking {
            return None;
        }
        if self.profile_refused {
            return Some(self.request(Request::OwnLatest, proto::read_own_latest, now));
        }
        let effect = self.request(Request::Profile, proto::subscribe_own_profile, now);
        self.profile_uid = self.pending(|r| *r == Request::Profile).cloned();
        Some(effect)
    }

    /// The profile subscription's first answer: our row. The subscription goes at once (if
    /// the unsubscribe is lost, its later events are dropped as another subscription's).
    pub(super) fn on_profile(&mut self, uid: &str, data: &Value, now: Instant) -> Vec<Effect> {
        let mut effects = vec![Effect::Send(proto::unsubscribe(uid))];
        match data.as_array().and_then(|rows| rows.first()) {
            Some(row) if row["id"].is_string() => {
                self.who_answered = true;
                self.learn_me(&Author::from_json(row));
                effects.extend(self.ask_about_people(now));
            }
            // Subscribed but shown nothing (a server whose read on users shows no row).
            _ => effects.extend(self.fall_back_to_own_message(now)),
        }
        effects
    }

    /// The profile was refused or empty: from now on, ask for the author of our newest message.
    pub(super) fn fall_back_to_own_message(&mut self, now: Instant) -> Option<Effect> {
        self.profile_refused = true;
        self.profile_uid = None;
        self.ask_who_i_am(now)
    }

    /// The answer to [`Request::OwnLatest`]: our newest message's author, if we ever posted.
    pub(super) fn on_own_latest(&mut self, data: &Value) {
        self.who_answered = true;
        if let Some(row) = data.as_array().and_then(|rows| rows.first()) {
            self.learn_me(&Author::from_json(&row["user_created"]));
        }
    }
}
