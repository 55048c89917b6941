//! Opening a room at a message far back (a search hit, a notification): instead of reading
//! every page between the present and it, the chat reads a window around it, a timeline of
//! its own apart from the room's (which stays live meanwhile): older pages as the user scrolls
//! up, newer ones as they scroll down, until a newer page reaches the room's timeline (or the
//! newest message): then the window joins it, and the view is at the present again, with
//! nothing missing in between and nothing twice. Showing another room, sending, or asking for
//! the present leaves the window.

use web_time::Instant;

use super::requests::Request;
use super::{Effect, HISTORY_PAGE, KEEP_BYTES, KEEP_MESSAGES, Phase, Session};
use crate::core::protocol::{self as proto, MessageItem, RoomRef};
use crate::core::timeline::Timeline;

/// Messages read on each side of the target when the window opens.
const AROUND: u32 = HISTORY_PAGE / 2;

/// The window: a room's messages around one far back, apart from the room's own.
#[derive(Debug)]
pub struct Window {
    room: String,
    /// Which window this is (a page of one left must not land in the next).
    id: u64,
    /// The message it opened at (read again from there when its first reads were lost).
    target: i64,
    timeline: Timeline,
    /// The room's first message is in the window.
    reached_start: bool,
    /// A newer page reached the present while an older page was still on its way: joined
    /// once that is in.
    join_after_older: bool,
}

impl Window {
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    pub fn reached_start(&self) -> bool {
        self.reached_start
    }
    pub fn room(&self) -> &str {
        &self.room
    }
}

impl Session {
    /// Show `room` at message `id`: in the room's timeline if it reaches back that far,
    /// else in a window around it (see the module comment).
    pub fn open_at(&mut self, room: &str, id: i64, now: Instant) -> Vec<Effect> {
        self.drop_window();
        let mut effects = self.show_room(room, now);
        if self.rooms.shown_id() != Some(room) {
            return effects; // not one of the user's rooms
        }
        let held = self.rooms.shown_history();
        let reaches = held.loaded
            && (held.reached_start || held.timeline.oldest_id().is_some_and(|o| o <= id));
        if reaches || self.phase != Phase::Online {
            return effects;
        }
        self.next_window += 1;
        self.window = Some(Window {
            room: room.to_owned(),
            id: self.next_window,
            target: id,
            timeline: Timeline::default(),
            reached_start: false,
            join_after_older: false,
        });
        effects.extend(self.read_around(now));
        effects
    }

    /// The window's first reads: the target and those before it, those after it.
    fn read_around(&mut self, now: Instant) -> Vec<Effect> {
        let Some(win) = &self.window else {
            return Vec::new();
        };
        let (room, window, target) = (win.room.clone(), win.id, win.target);
        let limit = self.page.min(AROUND);
        let at = RoomRef::Id(room.clone());
        let older = Request::WindowOlder {
            room: room.clone(),
            limit,
            window,
        };
        let newer = Request::WindowNewer {
            room,
            limit,
            window,
        };
        vec![
            self.request(
                older,
                |uid| proto::read_before(&at, target + 1, limit, uid),
                now,
            ),
            self.request(newer, |uid| proto::read_newer(&at, target, limit, uid), now),
        ]
    }

    /// Reads lost with a connection (a reconnect forgets what was asked): the window's first
    /// ones again, or the older page a join waits for.
    pub(super) fn resume_window(&mut self, now: Instant) -> Vec<Effect> {
        let asking = self
            .pending(|r| matches!(r, Request::WindowOlder { .. } | Request::WindowNewer { .. }))
            .is_some();
        let Some(win) = &self.window else {
            return Vec::new();
        };
        if asking || self.phase != Phase::Online || !self.history_loaded {
            return Vec::new();
        }
        if win.timeline.is_empty() {
            return self.read_around(now);
        }
        if win.join_after_older {
            return self.load_older_in_window(now);
        }
        Vec::new()
    }

    /// The window goes, and whatever it still had on its way.
    pub(super) fn drop_window(&mut self) {
        self.window = None;
        self.requests.retain(|_, r| {
            !matches!(
                r.request,
                Request::WindowOlder { .. } | Request::WindowNewer { .. }
            )
        });
    }

    /// The window holds this message.
    pub(super) fn in_window(&self, id: i64) -> bool {
        self.window
            .as_ref()
            .is_some_and(|j| j.timeline.get(id).is_some())
    }

    /// The shown room is shown in a window around a message, not at the present.
    pub fn detached(&self) -> bool {
        self.shown_window().is_some()
    }

    pub(super) fn shown_window(&self) -> Option<&Window> {
        self.window
            .as_ref()
            .filter(|j| self.rooms.shown_id() == Some(j.room.as_str()))
    }

    /// Back to the present: the window goes.
    pub fn to_present(&mut self) {
        self.drop_window();
    }

    pub fn loading_newer(&self) -> bool {
        self.pending(|r| matches!(r, Request::WindowNewer { .. }))
            .is_some()
    }

    /// The user scrolled to the window's newest message: the page after it.
    pub fn load_newer(&mut self, now: Instant) -> Vec<Effect> {
        let Some(win) = self.shown_window() else {
            return Vec::new();
        };
        let (room, window, newest) = (win.room.clone(), win.id, win.timeline.newest_id());
        let Some(newest) = newest else {
            return Vec::new();
        };
        if self.phase != Phase::Online || self.loading_newer() {
            return Vec::new();
        }
        let at = RoomRef::Id(room.clone());
        let limit = self.page.min(HISTORY_PAGE);
        vec![self.request(
            Request::WindowNewer {
                room,
                limit,
                window,
            },
            |uid| proto::read_newer(&at, newest, limit, uid),
            now,
        )]
    }

    /// Scroll-back in the window: the page before its oldest message (at most the messages
    /// and text a room's timeline keeps: further back, open the hit again from search).
    pub(super) fn load_older_in_window(&mut self, now: Instant) -> Vec<Effect> {
        let Some(win) = self.window.as_ref() else {
            return Vec::new();
        };
        let full = win.timeline.len() >= KEEP_MESSAGES || win.timeline.text_bytes() >= KEEP_BYTES;
        let (room, window, oldest) = (win.room.clone(), win.id, win.timeline.oldest_id());
        let Some(oldest) = oldest else {
            return Vec::new();
        };
        if full || win.reached_start || self.phase != Phase::Online || self.loading_older() {
            return Vec::new();
        }
        let at = RoomRef::Id(room.clone());
        let limit = self.page.min(HISTORY_PAGE);
        vec![self.request(
            Request::WindowOlder {
                room,
                limit,
                window,
            },
            |uid| proto::read_before(&at, oldest, limit, uid),
            now,
        )]
    }

    /// A page of the window: older (`newer` false, newest first) or newer (oldest first).
    /// `asked`: how many were asked for (fewer: there are no more that way).
    pub(super) fn on_window_page(
        &mut self,
        room: &str,
        window: u64,
        items: Vec<MessageItem>,
        newer: bool,
        asked: u32,
    ) {
        if self.window.as_ref().is_none_or(|j| j.id != window) {
            return; // that window was left
        }
        let whole = items.len() < asked as usize;
        // Only the room's (the read asked for it; a stray row must not join its timeline).
        let items: Vec<MessageItem> = items
            .into_iter()
            .filter(|m| m.room.as_deref() == Some(room))
            .collect();
        self.learn_names(&items);
        let Some(win) = self.window.as_mut() else {
            return;
        };
        win.timeline.upsert_many(items);
        if !newer {
            win.reached_start |= whole;
            if win.join_after_older {
                self.join_window();
            }
            return;
        }
        if win.timeline.evict_oldest(KEEP_MESSAGES, KEEP_BYTES) > 0 {
            win.reached_start = false;
        }
        // Joined: the window reached the room's timeline, or there is nothing newer.
        let held = self.rooms.history(room);
        let live_oldest = held
            .filter(|h| h.loaded)
            .and_then(|h| h.timeline.oldest_id());
        let reached = match (win.timeline.newest_id(), live_oldest) {
            (Some(newest), Some(oldest)) => newest >= oldest,
            _ => false,
        };
        let older_coming = self
            .pending(|r| matches!(r, Request::WindowOlder { room: r, .. } if r == room))
            .is_some();
        match (whole || reached, older_coming) {
            (true, false) => self.join_window(),
            (true, true) => {
                if let Some(win) = self.window.as_mut() {
                    win.join_after_older = true;
                }
            }
            _ => {}
        }
    }

    /// The window's messages go into the room's timeline (they reach its oldest, or the
    /// newest there is: together they are contiguous).
    fn join_window(&mut self) {
        let Some(win) = self.window.take() else {
            return;
        };
        let reached_start = win.reached_start;
        let messages: Vec<MessageItem> = win.timeline.iter().cloned().collect();
        if let Some(history) = self.rooms.history_mut(&win.room) {
            history.timeline.upsert_many(messages);
            history.reached_start |= reached_start;
        }
    }

    /// Edits of messages the window holds (the room's own are applied as ever).
    pub(super) fn window_updated(&mut self, items: &[MessageItem]) {
        if let Some(win) = self.window.as_mut() {
            for item in items {
                let of_room = item.room.as_deref() == Some(win.room.as_str());
                if of_room && win.timeline.get(item.id).is_some() {
                    win.timeline.upsert(item.clone());
                }
            }
        }
    }

    pub(super) fn window_removed(&mut self, id: i64) {
        if let Some(win) = self.window.as_mut() {
            win.timeline.remove(id);
        }
    }
}
