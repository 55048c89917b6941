//! The user's rooms on the socket: one subscription to their memberships (joins, leaves, new
//! DMs, read markers moved on another device), the other person of each DM, unread counts,
//! read markers, and which room is shown (its history read when it is first shown).
//!
//! Messages of every room come through the one messages subscription and are routed by room
//! (see `reads.rs`); a room not opened only counts them.

use serde_json::Value;
use web_time::Instant;

use super::requests::Request;
use super::{Effect, HISTORY_PAGE, Phase, Session};
use crate::core::protocol::rooms::{self as frames, Membership};
use crate::core::protocol::{self as proto, RoomRef, SubscriptionEvent};
use crate::core::rooms::Counted;

impl Session {
    /// Open the room the list knows by this name (headless `--room`; before login too).
    pub fn want_room(&mut self, name: &str) {
        self.rooms.want(name);
    }

    /// Hold and print every room, not only the shown one (headless `--all-rooms`).
    pub fn open_all_rooms(&mut self) {
        self.all_rooms = true;
        self.rooms.hold_all = true;
    }

    /// Show this room: what is held of it at once, its history read if it has none.
    /// The user's choice: a room waiting to be shown once joined or created no longer is.
    pub fn show_room(&mut self, room: &str, now: Instant) -> Vec<Effect> {
        self.forget_show_next();
        self.switch_to(room, now)
    }

    pub(super) fn switch_to(&mut self, room: &str, now: Instant) -> Vec<Effect> {
        if self.rooms.get(room).is_none() {
            return Vec::new();
        }
        // A window stays only while its room stays shown (one hidden, say by leaving the
        // room, is stale when the room is shown again).
        let shown = self.rooms.shown_id() == Some(room);
        if self
            .window
            .as_ref()
            .is_some_and(|j| j.room() != room || !shown)
        {
            self.drop_window();
        }
        self.rooms.show(room);
        self.saved_ids.clear();
        self.load_rooms(now)
    }

    /// The user has read the shown room to its newest message: its marker moves, here at
    /// once and on the server (other devices follow live).
    pub fn mark_read(&mut self, now: Instant) -> Vec<Effect> {
        let Some(room) = self.rooms.shown_room() else {
            return Vec::new();
        };
        let Some(newest) = self.timeline().newest_id() else {
            return Vec::new();
        };
        if room.last_read.is_some_and(|read| read >= newest) {
            return Vec::new();
        }
        let (room, membership) = (room.id.clone(), room.membership.clone());
        self.rooms.set_last_read(&room, newest);
        if self.markers_refused || self.phase != Phase::Online {
            return Vec::new(); // kept here; a later one goes out when back
        }
        vec![self.request(
            Request::MarkRead(room, newest),
            |uid| frames::mark_read(&membership, newest, uid),
            now,
        )]
    }

    /// A message written now goes to the room meant: its id is known, or it is `general`.
    pub fn room_ready(&self) -> bool {
        self.rooms
            .wanted()
            .is_none_or(|w| w.eq_ignore_ascii_case(proto::DEFAULT_ROOM))
    }

    /// The room asked for by name is not among the user's, or more than one answers to it
    /// (the list and the DMs' people are in).
    pub fn missing_room(&self) -> Option<&str> {
        self.rooms
            .wanted()
            .filter(|_| self.rooms_named() && self.history_loaded)
    }

    /// The room list is in, DMs named after their people: rooms can be named.
    pub fn rooms_named(&self) -> bool {
        self.rooms.known()
            && (self.rooms.people_read
                || self
                    .rooms
                    .list()
                    .iter()
                    .all(|r| r.kind != frames::RoomKind::Dm))
    }

    /// The room list is in and every room held has its history read.
    pub fn rooms_settled(&self) -> bool {
        self.rooms_named()
            && self.rooms.wanted().is_none()
            && self
                .rooms
                .histories()
                .all(|(id, h)| id.is_empty() || h.loaded)
    }

    /// A room's name as the list shows it (a message without one is `general`'s).
    pub fn room_name(&self, room: Option<&str>) -> String {
        match room.and_then(|id| self.rooms.get(id)) {
            Some(room) => room.title().to_owned(),
            None if room.is_none() => proto::DEFAULT_ROOM.to_owned(),
            None => String::new(),
        }
    }

    /// The key and read target of the shown room: by id once known, else by name.
    pub(super) fn shown_ref(&self) -> (String, RoomRef) {
        match self.rooms.shown_id() {
            Some(id) => (id.to_owned(), RoomRef::Id(id.to_owned())),
            None => (
                String::new(),
                RoomRef::PublicChannel(
                    self.rooms
                        .wanted()
                        .unwrap_or(proto::DEFAULT_ROOM)
                        .to_owned(),
                ),
            ),
        }
    }

    /// Once synced: subscribe to the user's memberships (once per connection).
    pub(super) fn ask_rooms(&mut self, now: Instant) -> Option<Effect> {
        let asking = self.pending(|r| *r == Request::SubscribeRooms).is_some();
        if self.phase != Phase::Online || !self.history_loaded || self.rooms_uid.is_some() || asking
        {
            return None;
        }
        Some(self.request(Request::SubscribeRooms, frames::subscribe_my_rooms, now))
    }

    /// Read the newest page of every room held but not loaded (the shown one; every room with
    /// `--all-rooms`), once synced.
    pub(super) fn load_rooms(&mut self, now: Instant) -> Vec<Effect> {
        if self.phase != Phase::Online || !self.history_loaded {
            return Vec::new();
        }
        if self.all_rooms {
            let ids: Vec<String> = self.rooms.list().iter().map(|r| r.id.clone()).collect();
            for id in ids {
                self.rooms.open(&id);
            }
        }
        let unloaded: Vec<String> = self
            .rooms
            .histories()
            .filter(|(id, h)| !id.is_empty() && !h.loaded)
            .map(|(id, _)| id.clone())
            .collect();
        let mut effects = Vec::new();
        for room in unloaded {
            let reading = self
                .pending(|r| matches!(r, Request::ReadLatest { room: k, .. } if *k == room))
                .is_some();
            if reading {
                continue;
            }
            let limit = self.page.min(HISTORY_PAGE);
            let target = RoomRef::Id(room.clone());
            effects.push(self.request(
                Request::ReadLatest { room, sync: false },
                |uid| proto::read_latest(&target, limit, uid),
                now,
            ));
        }
        effects
    }

    pub(super) fn on_rooms_event(
        &mut self,
        event: SubscriptionEvent,
        data: &Value,
        now: Instant,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            SubscriptionEvent::Init => {
                let needs_people = self.rooms.set_memberships(Membership::list_from_json(data));
                if needs_people {
                    effects.push(self.request(Request::People, frames::read_dm_people, now));
                }
                effects.extend(self.ask_counts(None, now));
            }
            SubscriptionEvent::Create | SubscriptionEvent::Update => {
                effects.extend(self.on_memberships_changed(data, now));
            }
            SubscriptionEvent::Delete => {
                let ids: Vec<String> = proto::ids_from_json(data)
                    .into_iter()
                    .map(|id| id.to_string())
                    .collect();
                self.rooms.remove_memberships(&ids);
            }
        }
        effects.extend(self.show_next(now));
        effects.extend(self.load_rooms(now));
        effects
    }

    /// Memberships created or changed (an event, or the reply to our marker's move).
    pub(super) fn on_memberships_changed(&mut self, data: &Value, now: Instant) -> Vec<Effect> {
        let mut recount = Vec::new();
        let mut new_dm = false;
        for m in Membership::list_from_json(data) {
            let room = m.room.clone();
            new_dm |= m.kind == frames::RoomKind::Dm && self.rooms.get(&room).is_none();
            if self.rooms.upsert_membership(m) {
                recount.push(room);
            }
        }
        let mut effects = Vec::new();
        if new_dm && self.pending(|r| *r == Request::People).is_none() {
            effects.push(self.request(Request::People, frames::read_dm_people, now));
        }
        if !recount.is_empty() {
            effects.extend(self.ask_counts(Some(recount), now));
        }
        effects.extend(self.show_next(now));
        effects.extend(self.load_rooms(now));
        effects
    }

    /// Ask the server how much is unread in these rooms (None: in all of them), and how much
    /// of it mentions the user.
    /// Messages deleted or changed that a room's server count may include: that room is
    /// counted again (a mention edited out, or deleted, while the user was away).
    pub(super) fn recount_including(&mut self, ids: &[i64], now: Instant) -> Vec<Effect> {
        let rooms = self.rooms.counted_including(ids);
        if rooms.is_empty() {
            return Vec::new();
        }
        self.ask_counts(Some(rooms), now)
    }

    pub(super) fn ask_counts(&mut self, rooms: Option<Vec<String>>, now: Instant) -> Vec<Effect> {
        let markers = self.rooms.markers(rooms.as_deref());
        if markers.is_empty() {
            return Vec::new();
        }
        let asked: Vec<String> = markers.iter().map(|(room, _)| room.clone()).collect();
        let mut effects = vec![self.request(
            Request::Unread(asked),
            |uid| frames::read_unread(&markers, None, uid),
            now,
        )];
        effects.extend(self.ask_mention_counts(rooms, now));
        effects
    }

    pub(super) fn on_counts(&mut self, asked: &[String], data: &Value, counted: Counted) {
        self.rooms
            .set_counts(asked, frames::unread_from_json(data), counted);
    }
}
