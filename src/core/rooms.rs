//! The rooms the user is in, as the room list shows them, and what the chat holds of each:
//! its messages once opened, its unread count and its read marker. IO-free: the session feeds
//! it memberships, counts and messages, and asks it where a message belongs.
//!
//! Each room counts what is unread and, apart, what mentions the user (see `room_counts.rs`).

use std::collections::HashMap;

use super::notifications::NotifyLevel;
use super::protocol::MessageItem;
use super::protocol::rooms::{Membership, Person, RoomKind};
use super::timeline::Timeline;
use counts::Count;
pub use counts::Counted;

mod counts;
/// Rooms not shown lose their messages (read again when shown) once all rooms together hold
/// more than this many times one room's bound: 200,000 ordinary messages (some 50 MB), so 200
/// rooms of 1,000 each stay loaded and switching to any of them is instant.
const ROOMS_IN_MEMORY: usize = 20;

/// One of the user's rooms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub id: String,
    pub name: String,
    pub kind: RoomKind,
    pub private: bool,
    /// The user's membership row (what read markers are written to).
    pub membership: String,
    pub last_read: Option<i64>,
    /// The other person of a DM, once read.
    pub other: Option<Person>,
    /// Who created it (a private channel's creator adds its members).
    pub creator: Option<String>,
    pub notify: NotifyLevel,
}

impl Room {
    fn from_membership(m: Membership) -> Room {
        Room {
            id: m.room,
            name: m.name,
            kind: m.kind,
            private: m.private,
            membership: m.id,
            last_read: m.last_read,
            other: None,
            creator: m.creator,
            notify: m.notify,
        }
    }

    /// What the room list calls it: the channel's name, or the other person of a DM.
    pub fn title(&self) -> &str {
        match (self.kind, &self.other) {
            (RoomKind::Dm, Some(other)) => other.name(),
            (RoomKind::Dm, None) => "Direct message",
            (RoomKind::Channel, _) => &self.name,
        }
    }

    /// The public channel everybody is in (`general`).
    pub fn is_default(&self) -> bool {
        self.kind == RoomKind::Channel
            && !self.private
            && self.name == crate::core::protocol::DEFAULT_ROOM
    }

    /// Does `wanted` name this room: a channel's name, or the first name or e-mail of the other
    /// person of a DM (any case)?
    pub fn answers_to(&self, wanted: &str) -> bool {
        match self.kind {
            RoomKind::Channel => self.name.eq_ignore_ascii_case(wanted),
            RoomKind::Dm => self.other.as_ref().is_some_and(|p| p.answers_to(wanted)),
        }
    }
}

/// What the chat holds of one room's messages.
#[derive(Debug, Default)]
pub struct RoomHistory {
    pub timeline: Timeline,
    /// The room's very first message is in the timeline: scroll-back has nothing more to load.
    pub reached_start: bool,
    /// Its newest page was read on this connection or an earlier one (later messages came live
    /// or by catch-up): what the timeline shows is the room's present.
    pub loaded: bool,
    /// When it was last shown (which rooms lose their messages first).
    shown_at: u64,
}

#[derive(Debug, Default)]
pub struct Rooms {
    /// Channels by name, then DMs by title.
    list: Vec<Room>,
    /// The membership list has arrived.
    known: bool,
    /// By room id; "" holds the shown room's messages while its id is not known yet.
    histories: HashMap<String, RoomHistory>,
    /// Messages of others after the read marker, by room ...
    unread: HashMap<String, Count>,
    /// ... and those of them that mention the user.
    mentions: HashMap<String, Count>,
    /// The shown room's id ("" before it is known).
    shown: String,
    /// The room to show by name, until the list can say which one it is.
    wanted: Option<String>,
    /// More than one room answers to it (none is chosen).
    ambiguous: bool,
    /// The DMs' people were answered (or refused) once: rooms can be named.
    pub people_read: bool,
    /// Every room is held (headless `--all-rooms`): none is dropped for memory, only trimmed.
    pub hold_all: bool,
    /// Messages of rooms not held that came while the shown room's id was not known yet: one
    /// of them may be it (placed when its id is known, see `adopt_shown`).
    unplaced: Vec<MessageItem>,
    /// Ids placed so (new to the timeline: the session's fresh ids take them).
    placed: Vec<i64>,
    clock: u64,
}

impl Rooms {
    pub fn new(wanted: &str) -> Rooms {
        let mut rooms = Rooms {
            wanted: Some(wanted.to_owned()),
            ..Rooms::default()
        };
        rooms
            .histories
            .insert(String::new(), RoomHistory::default());
        rooms
    }

    // ---- what the views read ---------------------------------------------------------------

    pub fn list(&self) -> &[Room] {
        &self.list
    }
    /// `general`'s id, once the memberships are known.
    pub fn default_id(&self) -> Option<&str> {
        self.list()
            .iter()
            .find(|r| r.is_default())
            .map(|r| r.id.as_str())
    }

    /// The membership list has arrived.
    pub fn known(&self) -> bool {
        self.known
    }
    /// The shown room's id, once known.
    pub fn shown_id(&self) -> Option<&str> {
        (!self.shown.is_empty()).then_some(self.shown.as_str())
    }
    pub fn shown_room(&self) -> Option<&Room> {
        self.get(&self.shown)
    }
    pub fn get(&self, id: &str) -> Option<&Room> {
        self.list.iter().find(|r| r.id == id)
    }
    /// The name asked for that the list has not matched yet.
    pub fn wanted(&self) -> Option<&str> {
        self.wanted.as_deref()
    }
    /// More than one room answers to the name asked for.
    pub fn ambiguous(&self) -> bool {
        self.ambiguous
    }
    pub fn shown_history(&self) -> &RoomHistory {
        self.histories
            .get(&self.shown)
            .expect("the shown room always has a history")
    }
    pub fn shown_history_mut(&mut self) -> &mut RoomHistory {
        self.histories
            .get_mut(&self.shown)
            .expect("the shown room always has a history")
    }
    pub fn history(&self, room: &str) -> Option<&RoomHistory> {
        self.histories.get(room)
    }
    pub fn histories(&self) -> impl Iterator<Item = (&String, &RoomHistory)> {
        self.histories.iter()
    }

    /// The message, in whichever room holds it.
    pub fn message(&self, id: i64) -> Option<&MessageItem> {
        self.histories.values().find_map(|h| h.timeline.get(id))
    }

    // ---- routing messages ------------------------------------------------------------------

    /// Which history a message goes to: its room's if that is held (the shown one's when it
    /// names none), else None (a room not opened: only counted).
    pub fn key_for(&self, room: Option<&str>) -> Option<String> {
        let key = room.unwrap_or(&self.shown);
        self.histories.contains_key(key).then(|| key.to_owned())
    }

    pub fn history_mut(&mut self, key: &str) -> Option<&mut RoomHistory> {
        self.histories.get_mut(key)
    }

    /// The shown room's id is known now: from its first page (`read`: that page was of it),
    /// from saved messages, or from the list (a room found by a name the page was not read by,
    /// such as a DM's person: read again).
    pub fn adopt_shown(&mut self, room: &str, read: bool) {
        if !self.shown.is_empty() || room.is_empty() {
            return;
        }
        let held = self.histories.remove("").unwrap_or_default();
        let history = self.histories.entry(room.to_owned()).or_default();
        let messages: Vec<MessageItem> = held.timeline.iter().cloned().collect();
        history.timeline.upsert_many(messages);
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unplaced)
            .into_iter()
            .partition(|m| m.room.as_deref() == Some(room));
        self.placed.extend(history.timeline.upsert_many(mine));
        drop(others); // rooms not opened: only counted
        if read {
            history.loaded |= held.loaded;
            history.reached_start |= held.reached_start;
        }
        self.shown = room.to_owned();
        self.wanted = None;
        self.touch();
    }

    /// A message for no room held, while the shown room's id is not known: kept until it is
    /// (at most one room's worth).
    pub fn hold_unplaced(&mut self, message: MessageItem, keep: usize) {
        if self.shown.is_empty() {
            if self.unplaced.len() >= keep {
                self.unplaced.remove(0);
            }
            self.unplaced.push(message);
        }
    }

    /// Ids that became part of the shown timeline when its room's id became known.
    pub fn take_placed(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.placed)
    }

    // ---- memberships -----------------------------------------------------------------------

    /// The whole membership list (a subscription's first answer): rooms left meanwhile go.
    /// True when a DM's other person is still to be read.
    pub fn set_memberships(&mut self, memberships: Vec<Membership>) -> bool {
        let mut list: Vec<Room> = Vec::new();
        for m in memberships {
            let mut room = Room::from_membership(m);
            if let Some(old) = self.get(&room.id) {
                room.other = old.other.clone();
                // A marker moved here whose write was lost stays where the user read to.
                room.last_read = room.last_read.max(old.last_read);
            }
            list.retain(|r| r.id != room.id);
            list.push(room);
        }
        self.list = list;
        self.known = true;
        let kept: std::collections::HashSet<String> =
            self.list.iter().map(|r| r.id.clone()).collect();
        self.histories
            .retain(|id, _| id.is_empty() || kept.contains(id) || *id == self.shown);
        self.unread.retain(|id, _| kept.contains(id));
        self.mentions.retain(|id, _| kept.contains(id));
        // Ids noted before the markers were known (the first page comes first).
        for id in &kept {
            self.marker_moved(id);
        }
        self.sort();
        self.settle_shown();
        self.list
            .iter()
            .any(|r| r.kind == RoomKind::Dm && r.other.is_none())
    }

    /// A membership created or changed (joined, added, a new DM, a marker moved). Returns
    /// whether the room's count must be read again (the marker moved, but not past what the
    /// server counted).
    pub fn upsert_membership(&mut self, m: Membership) -> bool {
        let last_read = m.last_read;
        let room_id = m.room.clone();
        match self.list.iter_mut().find(|r| r.id == m.room) {
            Some(room) => {
                room.membership = m.id;
                room.name = m.name;
                room.private = m.private;
                room.notify = m.notify;
                room.last_read = room.last_read.max(last_read);
            }
            None => {
                self.list.push(Room::from_membership(m));
                self.sort();
            }
        }
        self.settle_shown();
        self.marker_moved(&room_id)
    }

    /// Memberships deleted (the user left, or was removed). Delete events name ids of every
    /// room's memberships (Directus issue #19704): only ids of ours mean anything.
    pub fn remove_memberships(&mut self, ids: &[String]) {
        let gone: Vec<String> = self
            .list
            .iter()
            .filter(|r| ids.contains(&r.membership))
            .map(|r| r.id.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        self.list.retain(|r| !gone.contains(&r.id));
        for id in &gone {
            self.unread.remove(id);
            self.mentions.remove(id);
            if *id != self.shown {
                self.histories.remove(id);
            }
        }
        self.settle_shown();
    }

    /// The other people of DMs, as read.
    pub fn set_people(&mut self, people: Vec<(String, Person)>) {
        for (room, person) in people {
            if let Some(r) = self.list.iter_mut().find(|r| r.id == room) {
                r.other = Some(person);
            }
        }
        self.sort();
        self.settle_shown();
    }

    // ---- switching -------------------------------------------------------------------------

    /// Hold this room's messages too (headless `--all-rooms`), without showing it.
    pub fn open(&mut self, room: &str) {
        if !room.is_empty() {
            self.histories.entry(room.to_owned()).or_default();
        }
    }

    /// Show this room (its messages kept, or an empty history to be read).
    pub fn show(&mut self, room: &str) {
        if room.is_empty() || room == self.shown {
            return;
        }
        self.wanted = None;
        if self.shown.is_empty() {
            // The messages held under "" (and for want of an id) were of a room not yet
            // named: not this one.
            self.histories.remove("");
            self.unplaced.clear();
        }
        self.shown = room.to_owned();
        self.histories.entry(room.to_owned()).or_default();
        self.touch();
    }

    /// Show the room the list knows by `name` (see [`Room::answers_to`]), once it can.
    pub fn want(&mut self, name: &str) {
        self.wanted = Some(name.to_owned());
        self.settle_shown();
    }

    /// With the list known: a wanted name becomes a room; a shown room the user is no longer
    /// in gives way to the default.
    fn settle_shown(&mut self) {
        if !self.known {
            return;
        }
        if let Some(wanted) = self.wanted.clone() {
            // Not before every DM has its person: until then a private channel someone named
            // after that person (and added you to) would answer alone.
            let unnamed = self
                .list
                .iter()
                .any(|r| r.kind == RoomKind::Dm && r.other.is_none());
            if unnamed && !self.people_read {
                return;
            }
            // A public channel's name is unique (the hook); anything else must answer alone:
            // anyone can name a private channel after a person and add you to it.
            let public = |r: &&Room| r.kind == RoomKind::Channel && !r.private;
            let others: Vec<&Room> = self
                .list
                .iter()
                .filter(|r| !public(r) && r.answers_to(&wanted))
                .collect();
            self.ambiguous = others.len() > 1;
            let found = self
                .list
                .iter()
                .filter(public)
                .find(|r| r.answers_to(&wanted))
                .or((others.len() == 1).then(|| others[0]))
                // The first page was read by this name as a public channel's: if it is that
                // channel, what it read stands.
                .map(|r| {
                    let read = public(&r) && r.name == wanted;
                    (r.id.clone(), read)
                });
            match found {
                Some((id, read)) if self.shown.is_empty() => {
                    self.adopt_shown(&id, read);
                    self.wanted = None;
                }
                Some((id, _)) => self.show(&id),
                // A DM's person may still be read; a channel name that is not there stays
                // wanted (shown as missing).
                None => {}
            }
            return;
        }
        if !self.shown.is_empty() && self.get(&self.shown).is_none() {
            let fallback = self
                .list
                .iter()
                .find(|r| r.is_default())
                .or(self.list.first())
                .map(|r| r.id.clone());
            if let Some(id) = fallback {
                let old = std::mem::take(&mut self.shown);
                self.shown = id.clone();
                self.histories.entry(id).or_default();
                self.histories.remove(&old);
                self.touch();
            }
        }
    }

    fn touch(&mut self) {
        self.clock += 1;
        let clock = self.clock;
        if let Some(h) = self.histories.get_mut(&self.shown) {
            h.shown_at = clock;
        }
    }

    fn sort(&mut self) {
        // `general` first: a private channel someone else named "general" sorts after it.
        self.list.sort_by(|a, b| {
            (a.kind, !a.is_default(), a.title().to_lowercase(), &a.id).cmp(&(
                b.kind,
                !b.is_default(),
                b.title().to_lowercase(),
                &b.id,
            ))
        });
    }

    /// A message deleted, in whichever room held it (ids are global).
    pub fn remove_message(&mut self, id: i64) {
        for history in self.histories.values_mut() {
            history.timeline.remove(id);
        }
        self.forget_unread(id);
    }

    // ---- memory ----------------------------------------------------------------------------

    /// Each room keeps its newest `keep` messages holding at most `bytes` of text, and rooms
    /// not shown lose theirs (see `bound`). True when anything went.
    pub fn evict(&mut self, keep: usize, bytes: usize) -> bool {
        let mut evicted = false;
        for history in self.histories.values_mut() {
            if history.timeline.evict_oldest(keep, bytes) > 0 {
                history.reached_start = false;
                evicted = true;
            }
        }
        let before = self.histories.len();
        if !self.hold_all {
            self.bound(keep, bytes);
        }
        evicted || self.histories.len() < before
    }

    /// Rooms not shown lose their messages, least recently shown first, while all together
    /// hold more than `ROOMS_IN_MEMORY` rooms' worth (`keep` messages, `bytes` of text each).
    fn bound(&mut self, keep: usize, bytes: usize) {
        let over = |h: &HashMap<String, RoomHistory>| {
            let count: usize = h.values().map(|r| r.timeline.len()).sum();
            let text: usize = h.values().map(|r| r.timeline.text_bytes()).sum();
            // Text: 4 rooms' worth of the largest messages (128 MiB), whatever the count.
            count > keep.saturating_mul(ROOMS_IN_MEMORY) || text > bytes.saturating_mul(4)
        };
        while over(&self.histories) {
            let oldest = self
                .histories
                .iter()
                .filter(|(id, _)| **id != self.shown)
                .min_by_key(|(_, h)| h.shown_at)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => {
                    self.histories.remove(&id);
                }
                None => break,
            }
        }
    }

    /// Forget every room (another account logs in on this device).
    pub fn clear(&mut self) {
        let wanted = self.wanted.clone();
        let hold_all = self.hold_all;
        *self = Rooms::new(
            wanted
                .as_deref()
                .unwrap_or(crate::core::protocol::DEFAULT_ROOM),
        );
        self.hold_all = hold_all;
    }
}
