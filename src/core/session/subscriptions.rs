//! Which subscription a frame belongs to. A socket carries the subscription to messages (the
//! live one, whose events fill the timeline) and, for a moment, the one to our own profile
//! (see `profile.rs`). Anything else (an init for a subscribe we gave up on, say after
//! TOKEN_EXPIRED) is stale: dropped, and its subscription ended, so that no event counts twice.

use serde_json::Value;
use web_time::Instant;

use super::requests::Request;
use super::{Effect, Session, describe};
use crate::core::protocol::{self as proto, MessageItem, ServerError, SubscriptionEvent};

impl Session {
    pub(super) fn on_subscription(
        &mut self,
        uid: Option<String>,
        event: SubscriptionEvent,
        data: Value,
        now: Instant,
    ) -> Vec<Effect> {
        if uid.is_some() && uid == self.profile_uid {
            // Its first answer, whatever the event: the init, or a change that overtook it.
            let uid = self.profile_uid.take().unwrap_or_default();
            self.requests.remove(&uid);
            return self.on_profile(&uid, &data, now);
        }
        if uid.is_some() && uid == self.directory.people_uid {
            let uid = self.directory.people_uid.take().unwrap_or_default();
            self.requests.remove(&uid);
            return self.on_people(&uid, &data);
        }
        let rooms_asked = self.pending(|r| *r == Request::SubscribeRooms).cloned();
        if let Some(uid) = uid.as_ref().filter(|u| Some(*u) == rooms_asked.as_ref()) {
            // Its first answer: from now on its events are the memberships'.
            self.requests.remove(uid);
            self.rooms_uid = Some(uid.clone());
        }
        if uid.is_some() && uid == self.rooms_uid {
            return self.on_rooms_event(event, &data, now);
        }
        if event == SubscriptionEvent::Init {
            return self.on_subscribed(uid, now);
        }
        if matches!((&uid, &self.live_uid), (Some(uid), Some(live)) if uid != live) {
            // Another subscription's event (a profile's until its unsubscribe lands, a stale one).
            return Vec::new();
        }
        match event {
            SubscriptionEvent::Init => Vec::new(),
            SubscriptionEvent::Create => {
                let items = MessageItem::list_from_json(&data);
                self.note_arrivals(&items);
                self.add_messages(items, true);
                self.bound_memory();
                let mut effects = self.flush(now);
                effects.extend(self.ask_about_people(now));
                effects
            }
            SubscriptionEvent::Update => {
                // Only messages we hold: an edit of one never loaded would sit in the timeline
                // as its oldest and make scroll-back skip everything in between.
                let mut items = MessageItem::list_from_json(&data);
                self.window_updated(&items);
                // A change of one not held may take a mention out of a room's count.
                let changed: Vec<i64> = items.iter().map(|m| m.id).collect();
                let mut effects = self.recount_including(&changed, now);
                items.retain(|m| self.rooms.message(m.id).is_some());
                self.add_messages(items, true);
                self.bound_memory();
                effects.extend(self.flush(now));
                effects
            }
            SubscriptionEvent::Delete => {
                // Directus sends every delete to every subscriber (issue #19704): only ids we
                // hold mean anything (and those a room's count may include).
                let ids = proto::ids_from_json(&data);
                for id in &ids {
                    self.remove_message(*id);
                }
                self.recount_including(&ids, now)
            }
        }
    }

    /// The subscription to messages is live: read history now, so that nothing can fall
    /// between the read and the events. An init without a uid answers the subscribe waiting.
    fn on_subscribed(&mut self, uid: Option<String>, now: Instant) -> Vec<Effect> {
        let waiting = self.pending(|r| *r == Request::Subscribe).cloned();
        match uid.or_else(|| waiting.clone()) {
            Some(uid) if Some(&uid) == waiting.as_ref() => {
                self.requests.remove(&uid);
                self.live_uid = Some(uid);
                self.subscribed = true;
                vec![self.history_read(now)]
            }
            // The live one again (its subscribe was sent twice): already read for.
            Some(uid) if Some(&uid) == self.live_uid.as_ref() => Vec::new(),
            Some(stale) => vec![Effect::Send(proto::unsubscribe(&stale))],
            None => Vec::new(),
        }
    }

    /// A refused subscription to messages is asked for again with backoff: without it nothing
    /// is live. A refused profile is asked about another way.
    pub(super) fn on_subscribe_error(
        &mut self,
        uid: Option<String>,
        error: ServerError,
        now: Instant,
    ) -> Vec<Effect> {
        let waiting = self.pending(|r| *r == Request::Subscribe).cloned();
        // Validation errors carry no uid: the messages subscribe's if one waits.
        let profile = match &uid {
            Some(uid) => Some(uid) == self.profile_uid.as_ref(),
            None => waiting.is_none() && self.profile_uid.is_some(),
        };
        if uid.is_some() && uid == self.directory.people_uid {
            self.directory.people_uid = None;
            self.requests.retain(|_, r| r.request != Request::Directory);
            self.notice = Some(format!("Could not list people: {}", describe(&error)));
            return Vec::new();
        }
        if profile {
            if let Some(uid) = self.profile_uid.take() {
                self.requests.remove(&uid);
            }
            return self.fall_back_to_own_message(now).into_iter().collect();
        }
        let Some(uid) = uid.or(waiting) else {
            return Vec::new();
        };
        let Some(req) = self.requests.remove(&uid) else {
            return Vec::new();
        };
        match req.request {
            // Only the messages subscribe's refusal says anything about live updates.
            Request::Subscribe => {
                self.notice = Some(format!("Live updates were refused: {}", describe(&error)));
                self.retry_later(uid, req, now);
            }
            // Without it the shown room still works; the list is asked for again.
            Request::SubscribeRooms => self.retry_later(uid, req, now),
            _ => {}
        }
        Vec::new()
    }
}
