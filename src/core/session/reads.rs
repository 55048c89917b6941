//! What the server answers and what the subscription brings: the history read after
//! subscribing, catch-up after a reconnect, scroll-back, lookups and author re-reads.
//!
//! No gap is ever given up: a refused read is asked again with backoff, history counts as
//! synced only after a read succeeded, and the cursor (every id up to it has been seen) moves
//! with live events only once synced. A page that did not fit through the socket is asked for
//! again smaller.

use std::time::Duration;

use web_time::Instant;

use super::outbox::{OutgoingState, transient};
use super::requests::Request;
use super::{CATCH_UP_PAGE, Effect, HISTORY_PAGE, Phase, Session, describe};
use crate::core::protocol::{self as proto, Author, MessageItem, ServerError};
use crate::core::rooms::Counted;

/// A create refused by a passing error is sent this many times more (0.5 + 1 + 2 + 4 + 8 s)
/// before it counts as refused (then Retry and Discard are offered): one message the server
/// keeps choking on must not hold up the ones behind it for ever.
const TRANSIENT_TRIES: u32 = 5;
/// The notice while a read is being retried (cleared once history is in).
const READ_FAILED: &str = "Could not read messages";
/// The timeline keeps at most this many messages, holding at most this much text, evicting
/// the oldest: 10,000 ordinary messages, or 512 of the largest the server accepts.
pub const KEEP_MESSAGES: usize = 10_000;
pub const KEEP_BYTES: usize = 32 * 1024 * 1024;
/// How long an event may trail the event of a larger id (see `settled_cursor`).
pub const SETTLE: Duration = Duration::from_secs(10);
/// The cursor log keeps one entry per this long.
const LOG_EVERY: Duration = Duration::from_millis(100);
/// The longest the rate limiter's "retry after" is taken at its word.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(60);

impl Session {
    /// Messages saved on this device at the last run, shown while the server has not answered
    /// yet (a returning user sees history at once, offline too). The first history page
    /// replaces them: those it does not hold (deleted meanwhile, or older than the page) go;
    /// what arrived live meanwhile stays.
    pub fn show_saved(&mut self, messages: Vec<MessageItem>) {
        if self.timeline().is_empty() && self.cursor.is_none() {
            // The room they were saved from is shown again (its id comes with them).
            if let Some(room) = messages.iter().find_map(|m| m.room.clone()) {
                self.rooms.adopt_shown(&room, false);
            }
            self.saved_ids = self
                .rooms
                .shown_history_mut()
                .timeline
                .upsert_many(messages);
            // New to this run's page too (the web page's ARIA log mirrors fresh messages;
            // the server's copies of them will not be fresh again).
            self.fresh.extend(self.saved_ids.iter().copied());
        }
    }

    /// The timeline holds saved messages that may be out of date.
    pub fn showing_saved(&self) -> bool {
        !self.saved_ids.is_empty()
    }

    pub(super) fn on_items(
        &mut self,
        uid: Option<String>,
        data: serde_json::Value,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(req) = self.take_request(uid.as_deref()) else {
            return Vec::new();
        };
        let items = MessageItem::list_from_json(&data);
        let mut effects = Vec::new();
        let scroll_back = matches!(req.request, Request::Older(_));
        match req.request {
            Request::ReadLatest { room, sync } => {
                let named = items.iter().find_map(|m| m.room.clone());
                if room.is_empty()
                    && let Some(named) = &named
                {
                    // The shown room asked for by name: now its id is known.
                    self.rooms.adopt_shown(named, true);
                }
                let key = match (room.is_empty(), named) {
                    (false, _) => room,
                    (true, Some(named)) => named,
                    (true, None) => self.rooms.shown_id().unwrap_or_default().to_owned(),
                };
                if self.rooms.shown_id().unwrap_or_default() == key {
                    for id in std::mem::take(&mut self.saved_ids) {
                        if !items.iter().any(|m| m.id == id) {
                            self.rooms.shown_history_mut().timeline.remove(id);
                        }
                    }
                }
                let whole = (items.len() as u32) < self.page.min(HISTORY_PAGE);
                let newest = items.iter().map(|m| m.id).max();
                self.add_messages(items, false);
                if let Some(history) = self.rooms.history_mut(&key) {
                    history.loaded = true;
                    history.reached_start |= whole;
                }
                if sync {
                    self.synced(newest);
                }
            }
            Request::CatchUp => {
                let full = items.len() as u32 >= self.page;
                // It fitted: the next page may be larger again.
                self.page = (self.page * 2).min(CATCH_UP_PAGE);
                // The next page starts after this one.
                let newest = items.iter().map(|m| m.id).max();
                self.cursor = self.cursor.max(newest);
                self.add_messages(items, false);
                if let (true, Some(after)) = (full, newest) {
                    effects.push(self.catch_up(after, now));
                } else {
                    self.synced(None);
                }
            }
            Request::Create(key) => {
                // The reply to our own create is our row, whoever it names (None when the
                // socket had just been demoted to Public).
                if let Some(row) = items.first() {
                    self.learn_me(&row.author);
                    self.confirmed(&key);
                } else {
                    self.set_outgoing(&key, OutgoingState::Queued);
                }
                self.add_messages(items, false);
            }
            Request::Lookup(key) => match items.first() {
                // Filtered by $CURRENT_USER on the server: ours, stored by an earlier attempt.
                Some(row) => {
                    self.learn_me(&row.author);
                    self.confirmed(&key);
                    self.add_messages(items, false);
                }
                // Not ours (yet?): the refusal may have raced our own insert, or the lookup
                // ran as the socket was demoted to Public. Sent once more under the same key
                // (harmless: the key guards it); refused and not found twice, it is re-keyed.
                None => self.not_found_under(&key),
            },
            Request::Recheck(_) => {
                let ids = proto::ids_from_json(&data);
                effects.extend(self.on_recheck(ids, now));
            }
            Request::Missing(_) => self.add_messages(items, false),
            Request::Search(text) => self.on_search_page(&text, items),
            Request::Resolve(ids) => {
                self.add_messages(items, false);
                // Asked once: what is still unknown stays so (e.g. no read right on users).
                for id in ids {
                    self.unresolved.remove(&id);
                }
            }
            Request::OwnLatest => self.on_own_latest(&data),
            // A profile subscribe answered as a read: not a server we understand there.
            Request::Profile => effects.extend(self.fall_back_to_own_message(now)),
            Request::Older(room) => {
                let whole = (items.len() as u32) < self.page.min(HISTORY_PAGE);
                self.add_messages(items, false);
                if let Some(history) = self.rooms.history_mut(&room) {
                    history.reached_start |= whole;
                }
            }
            Request::WindowOlder {
                room,
                limit,
                window,
            } => self.on_window_page(&room, window, items, false, limit),
            Request::WindowNewer {
                room,
                limit,
                window,
            } => self.on_window_page(&room, window, items, true, limit),
            Request::Update(_) => {
                // One only the window holds stays there (far back: not the room's).
                let (window, held): (Vec<_>, Vec<_>) = items
                    .into_iter()
                    .partition(|m| self.rooms.message(m.id).is_none() && self.in_window(m.id));
                self.window_updated(&window);
                self.add_messages(held, false);
            }
            Request::Delete(id) => self.remove_message(id),
            Request::People => {
                self.rooms.people_read = true;
                let people = proto::rooms::dm_people_from_json(&data);
                self.learn_people(people.iter().map(|(_, p)| p));
                self.rooms.set_people(people);
                effects.extend(self.show_next(now));
            }
            Request::Unread(rooms) => self.on_counts(&rooms, &data, Counted::Unread),
            Request::Mentions(rooms) => self.on_counts(&rooms, &data, Counted::Mentions),
            Request::Members(_) | Request::Names(_) => self.on_members(&req.request, &data),
            Request::MarkRead(..) | Request::Notify(_) => {
                effects.extend(self.on_memberships_changed(&data, now))
            }
            Request::Channels | Request::CreateRoom | Request::RoomChange(_) => {
                effects.extend(self.on_room_reply(&req.request, &data, now))
            }
            Request::Directory => {}
            // (The token's answer is not an items frame: see `access.rs`.)
            Request::Auth
            | Request::Subscribe
            | Request::SubscribeRooms
            | Request::Ping
            | Request::Access => {}
        }
        if !scroll_back {
            self.bound_memory();
        }
        effects.extend(self.ask_who_i_am(now));
        effects.extend(self.ask_about_people(now));
        effects.extend(self.resume_window(now));
        effects.extend(self.ask_rooms(now));
        effects.extend(self.flush(now));
        effects
    }

    pub(super) fn on_items_error(
        &mut self,
        uid: Option<String>,
        error: ServerError,
        now: Instant,
    ) -> Vec<Effect> {
        // Some item errors come without a uid (RECORD_NOT_UNIQUE does, seen on 11.17.4). Only
        // one message is on its way at a time, so such an error is its create's or lookup's.
        // Other uid-less errors say nothing about which request they answer: not pinned on it.
        let uid = uid.or_else(|| {
            error
                .is("RECORD_NOT_UNIQUE")
                .then(|| self.pending(|r| matches!(r, Request::Create(_))).cloned())
                .flatten()
        });
        let Some(uid) = uid else {
            return Vec::new();
        };
        let Some(req) = self.requests.remove(&uid) else {
            return Vec::new();
        };
        match req.request.clone() {
            Request::Create(key) if error.is("RECORD_NOT_UNIQUE") => {
                // Stored by an earlier attempt, or someone else holds the key: look for ours.
                vec![self.request(
                    Request::Lookup(key.clone()),
                    |uid| proto::read_own_by_client_key(&key, uid),
                    now,
                )]
            }
            Request::Create(_) if transient(&error) && req.refusals < TRANSIENT_TRIES => {
                self.notice = Some(format!(
                    "A message could not be sent yet ({}); retrying",
                    describe(&error)
                ));
                self.retry_later(uid, req, now);
                Vec::new()
            }
            Request::Create(key) => {
                let reason = describe(&error);
                self.notice = Some(format!("A message was refused: {reason}"));
                self.set_outgoing(&key, OutgoingState::Failed(reason));
                self.flush(now)
            }
            Request::Resolve(_) => {
                // Refused (e.g. the token just expired): the ids stay; ask after the next auth.
                self.resolve_blocked = true;
                Vec::new()
            }
            Request::Update(_) | Request::Delete(_) if error.is("FORBIDDEN") => {
                // Said once; the actions disappear (e.g. 12.x without custom permission rules).
                let why = "This server does not let members edit or delete messages (FORBIDDEN), \
                           so those actions are hidden."
                    .to_owned();
                self.notice = Some(why.clone());
                self.edits_refused = Some(why);
                Vec::new()
            }
            Request::Update(_) | Request::Delete(_) => {
                self.notice = Some(format!(
                    "Could not change the message: {}",
                    describe(&error)
                ));
                Vec::new()
            }
            Request::ReadLatest { .. }
            | Request::CatchUp
            | Request::Lookup(_)
            | Request::OwnLatest
            | Request::Older(_)
            | Request::WindowOlder { .. }
            | Request::WindowNewer { .. } => {
                // Never given up: history stays unsynced (the cursor stays before the gap) and
                // a message being looked up stays on its way, until the read goes through.
                self.notice = Some(format!(
                    "{READ_FAILED} ({}); trying again",
                    describe(&error)
                ));
                self.retry_later(uid, req, now);
                Vec::new()
            }
            Request::Profile => self.fall_back_to_own_message(now).into_iter().collect(),
            Request::Channels | Request::CreateRoom | Request::RoomChange(_) => {
                self.on_room_refused(&req.request, &error);
                Vec::new()
            }
            Request::Directory => Vec::new(),
            // DMs go by "Direct message" then (e.g. a server that keeps e-mails from members).
            Request::People => {
                self.rooms.people_read = true;
                self.rooms.set_people(Vec::new()); // settles a room wanted by name
                Vec::new()
            }
            // Counts are asked again when the list comes again; meanwhile live ones count.
            // Names not given stay "someone"; members are asked again when @ is typed again.
            Request::Unread(_) | Request::Mentions(_) | Request::Members(_) | Request::Names(_) => {
                Vec::new()
            }
            // Asked again at the next recheck.
            Request::Recheck(_) | Request::Missing(_) => Vec::new(),
            Request::Search(text) => {
                self.on_search_refused(&text, &error);
                Vec::new()
            }
            Request::Notify(_) => {
                self.notice = Some(format!(
                    "Could not change the room's notifications: {}",
                    describe(&error)
                ));
                Vec::new()
            }
            Request::MarkRead(room, _) => {
                // Markers stay on this device (e.g. a server without the rule for them); a
                // room just left says nothing about the others.
                self.markers_refused = error.is("FORBIDDEN") && self.rooms.get(&room).is_some();
                Vec::new()
            }
            Request::Auth
            | Request::Subscribe
            | Request::SubscribeRooms
            | Request::Ping
            | Request::Access => Vec::new(),
        }
    }

    pub(super) fn on_server_error(&mut self, error: ServerError, now: Instant) -> Vec<Effect> {
        if error.is("REQUESTS_EXCEEDED") {
            // No uid says which request was refused: send every unanswered one again when the
            // limiter allows (reads are harmless twice, creates are guarded by their key).
            let wait = Duration::from_millis(
                error
                    .retry_after_ms()
                    .unwrap_or(1000)
                    .saturating_add(50)
                    .min(RETRY_AFTER_MAX.as_millis() as u64),
            );
            self.resend_at = Some(self.resend_at.map_or(now + wait, |at| at.max(now + wait)));
        } else {
            log::warn!("server error: {}", describe(&error));
        }
        Vec::new()
    }

    /// The read after subscribing is complete: all up to the newest message is known (the
    /// newest the read brought, or that came live meanwhile).
    fn synced(&mut self, read_newest: Option<i64>) {
        self.history_loaded = true;
        self.cut_at = None;
        if self
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with(READ_FAILED))
        {
            self.notice = None;
        }
        self.cursor = self
            .cursor
            .max(Some(0))
            .max(read_newest)
            .max(self.live_newest.take());
    }

    /// The newest page on a first sync, else everything after what was settled some seconds
    /// ago (see `settled_cursor`).
    pub(super) fn history_read(&mut self, now: Instant) -> Effect {
        if self.cursor.is_none() {
            let limit = self.page.min(HISTORY_PAGE);
            let (key, room) = self.shown_ref();
            self.request(
                Request::ReadLatest {
                    room: key,
                    sync: true,
                },
                |uid| proto::read_latest(&room, limit, uid),
                now,
            )
        } else {
            let after = self.settled_cursor(now);
            self.catch_up(after, now)
        }
    }

    /// The page of messages after `after`.
    fn catch_up(&mut self, after: i64, now: Instant) -> Effect {
        let limit = self.page;
        self.request(
            Request::CatchUp,
            |uid| proto::read_after(after, limit, uid),
            now,
        )
    }

    /// Where a catch-up starts: the cursor as it stood `SETTLE` before the old socket last
    /// said anything. Directus sends events in the order their reads finish, not in id order
    /// (and on PostgreSQL a smaller id can commit after a larger one), so the newest id seen
    /// says nothing about a smaller one still on its way when the socket was cut, however long
    /// the outage. What was complete that long before is; the overlap is read twice and
    /// de-duplicated.
    fn settled_cursor(&self, now: Instant) -> i64 {
        let reference = self.cut_at.unwrap_or(now).min(now);
        let settled = reference.checked_sub(SETTLE);
        self.cursor_log
            .iter()
            .rev()
            .find(|(at, _)| settled.is_some_and(|s| *at <= s))
            .or(self.cursor_log.front())
            .map_or(self.cursor.unwrap_or(0), |(_, id)| *id)
    }

    /// Note where the cursor stands now (after each frame), keeping what `settled_cursor`
    /// may still need.
    pub(super) fn log_cursor(&mut self, now: Instant) {
        let Some(cursor) = self.cursor else {
            return;
        };
        self.recheck.note_cursor(now, cursor);
        match self.cursor_log.back_mut() {
            Some((_, id)) if *id == cursor => return,
            // Many moves within one bucket: one entry, keeping the bucket's start (at most
            // LOG_EVERY early: SETTLE is that much shorter, and the log stays short under a
            // steady flood).
            Some((at, id)) if now.saturating_duration_since(*at) < LOG_EVERY => *id = cursor,
            _ => self.cursor_log.push_back((now, cursor)),
        }
        // The newest entry at least SETTLE old is the oldest one ever needed.
        while self
            .cursor_log
            .get(1)
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= SETTLE)
        {
            self.cursor_log.pop_front();
        }
    }

    /// Into their rooms' timelines (a room not opened only counts them); a row of ours
    /// carrying one of our client keys confirms that message. `live`: from the subscription.
    /// Only live events move the cursor once synced: a create reply can overtake the event of
    /// someone else's earlier message.
    pub(super) fn add_messages(&mut self, items: Vec<MessageItem>, live: bool) {
        self.learn_names(&items);
        let mut batches: std::collections::HashMap<String, Vec<MessageItem>> = Default::default();
        for mut item in items {
            self.confirm_row(&item);
            let id = item.id;
            self.recheck.saw(id);
            if live {
                match self.history_loaded {
                    true => self.cursor = self.cursor.max(Some(id)),
                    false => self.live_newest = self.live_newest.max(Some(id)),
                }
            }
            let room = item
                .room
                .as_deref()
                .or(self.rooms.shown_id())
                .map(str::to_owned);
            if let Some(room) = &room
                && !self.is_mine(&item)
                && !self.awaiting_confirmation(&item)
            {
                let mentions_me = self.mentions_me(&item);
                self.rooms.note_unread(room, id, mentions_me);
            }
            let Some(key) = self.rooms.key_for(item.room.as_deref()) else {
                // A room not opened: counted, read when opened. Or the shown room, whose id
                // is not known yet: held until it is.
                self.rooms.hold_unplaced(item, KEEP_MESSAGES);
                continue;
            };
            if item.author.first_name.is_none() {
                // Never replace a known author by an unknown one; else ask again later.
                match self
                    .rooms
                    .message(id)
                    .filter(|known| known.author.first_name.is_some())
                {
                    Some(known) => item.author = known.author.clone(),
                    // Asked once more: a copy read just as the access token expired (before
                    // Directus says so) lacks the name too; a truly anonymous one stays null.
                    None => {
                        self.unresolved.insert(id);
                    }
                }
            }
            if item.author.first_name.is_some() {
                self.unresolved.remove(&id);
            }
            batches.entry(key).or_default().push(item);
        }
        // One insert per room for a whole page (scroll-back prepends 50 at once).
        for (key, batch) in batches {
            if let Some(history) = self.rooms.history_mut(&key) {
                let fresh = history.timeline.upsert_many(batch);
                self.fresh.extend(fresh);
            }
        }
    }

    /// A message deleted (here or elsewhere), in whichever room held it.
    pub(super) fn remove_message(&mut self, id: i64) {
        self.rooms.remove_message(id);
        self.window_removed(id);
        self.forget_pending_delete(id);
    }

    /// A member flooding a room cannot fill our memory: far history goes (and is read again
    /// on scroll-back), and rooms not shown lose theirs first. Not after a scroll-back page:
    /// going back is the user's doing, 50 at a time, and must not evict what they asked for.
    pub(super) fn bound_memory(&mut self) {
        if self.rooms.evict(KEEP_MESSAGES, KEEP_BYTES) {
            let rooms = &self.rooms;
            self.unresolved.retain(|id| rooms.message(*id).is_some());
        }
    }

    /// What waits for the socket to be usable: authors to resolve, then the next message.
    pub(super) fn flush(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = self.resolve_authors(now);
        effects.extend(self.load_rooms(now));
        effects.extend(self.send_next(now));
        effects.extend(self.drive_uploads(now));
        effects
    }

    /// Messages that came without their author's name (an event read while the socket was
    /// demoted to Public by TOKEN_EXPIRED, say) are read again once we are back.
    fn resolve_authors(&mut self, now: Instant) -> Vec<Effect> {
        let busy = self.pending(|r| matches!(r, Request::Resolve(_))).is_some();
        if self.phase != Phase::Online
            || !self.history_loaded
            || busy
            || self.resolve_blocked
            || self.unresolved.is_empty()
        {
            return Vec::new();
        }
        let ids: Vec<i64> = self.unresolved.iter().copied().take(100).collect();
        let request_ids = ids.clone();
        vec![self.request(
            Request::Resolve(ids),
            |uid| proto::read_ids(&request_ids, uid),
            now,
        )]
    }

    pub(super) fn learn_me(&mut self, author: &Author) {
        if author.id.is_some() {
            self.learn_author(author);
            self.me = Some(author.clone());
        }
    }
}
