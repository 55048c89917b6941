//! The messages the chat knows, ordered by id and de-duplicated: a message arriving twice
//! (live event and catch-up read, or a create reply and its event) is stored once.
//! A sorted vector: the view reaches row N directly (it draws only the visible rows of
//! 100,000), new messages land at the end, a page of older ones is one insert at the front.

use super::protocol::MessageItem;

#[derive(Debug)]
pub struct Timeline {
    messages: Vec<MessageItem>,
    /// Changed when rows move (inserted before the end, removed, cleared): whatever the view
    /// keeps per row index must then be rebuilt. Appends and in-place edits keep it. Unique
    /// across timelines: a view shown another timeline (a room's window, say) rebuilds too.
    layout: u64,
    /// Bumped on every change, edits too (what a copy of the timeline compares).
    changes: u64,
    /// The text the messages hold, in bytes (kept as they come and go: bounding memory must
    /// not walk every message on every event).
    text_bytes: usize,
}

/// A layout version no timeline has had.
fn new_layout() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            messages: Vec::new(),
            layout: new_layout(),
            changes: 0,
            text_bytes: 0,
        }
    }
}

impl Timeline {
    fn position(&self, id: i64) -> Result<usize, usize> {
        self.messages.binary_search_by_key(&id, |m| m.id)
    }

    /// Insert or replace; true when the id was new.
    pub fn upsert(&mut self, message: MessageItem) -> bool {
        !self.upsert_many(vec![message]).is_empty()
    }

    /// Many at once (a page of history): one pass instead of one shift per message.
    pub fn upsert_many(&mut self, messages: Vec<MessageItem>) -> Vec<i64> {
        let mut fresh = Vec::new();
        let mut new = Vec::new();
        for message in messages {
            match self.position(message.id) {
                Ok(at) if self.messages[at] == message => {}
                Ok(at) => {
                    self.text_bytes =
                        self.text_bytes - self.messages[at].content.len() + message.content.len();
                    self.messages[at] = message;
                    self.changes += 1;
                }
                Err(_) if new.iter().any(|m: &MessageItem| m.id == message.id) => {
                    // Twice in one batch: the later copy wins, as with one upsert after another.
                    if let Some(m) = new.iter_mut().find(|m| m.id == message.id) {
                        *m = message;
                    }
                }
                Err(_) => {
                    fresh.push(message.id);
                    new.push(message);
                }
            }
        }
        if new.is_empty() {
            return fresh;
        }
        self.changes += 1;
        self.text_bytes += new.iter().map(|m| m.content.len()).sum::<usize>();
        let newest = self.newest_id();
        new.sort_by_key(|m| m.id);
        let appends = newest.is_none_or(|n| new[0].id > n);
        self.messages.extend(new);
        if !appends {
            // Older ones (scroll-back) or a gap filled: one sort, rows move.
            self.layout = new_layout();
            self.messages.sort_by_key(|m| m.id);
        }
        fresh
    }

    pub fn remove(&mut self, id: i64) -> bool {
        match self.position(id) {
            Ok(at) => {
                let gone = self.messages.remove(at);
                self.text_bytes -= gone.content.len();
                self.layout = new_layout();
                self.changes += 1;
                true
            }
            Err(_) => false,
        }
    }

    pub fn newest_id(&self) -> Option<i64> {
        self.messages.last().map(|m| m.id)
    }

    pub fn oldest_id(&self) -> Option<i64> {
        self.messages.first().map(|m| m.id)
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn get(&self, id: i64) -> Option<&MessageItem> {
        self.position(id).ok().map(|at| &self.messages[at])
    }

    /// The message at row `index` (0 = oldest).
    pub fn at(&self, index: usize) -> Option<&MessageItem> {
        self.messages.get(index)
    }

    /// Row index of message `id`.
    pub fn index_of(&self, id: i64) -> Option<usize> {
        self.position(id).ok()
    }

    /// Oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &MessageItem> {
        self.messages.iter()
    }

    /// The text held, in bytes.
    pub fn text_bytes(&self) -> usize {
        self.text_bytes
    }

    pub fn clear(&mut self) {
        self.messages.clear();
        self.text_bytes = 0;
        self.layout = new_layout();
        self.changes += 1;
    }

    /// Drop the oldest messages until at most `max_messages` remain holding at most
    /// `max_bytes` of text (the newest one always stays); how many went. Scroll-back reads
    /// them again when the user goes there.
    pub fn evict_oldest(&mut self, max_messages: usize, max_bytes: usize) -> usize {
        if self.messages.len() <= max_messages && self.text_bytes <= max_bytes {
            return 0; // within bounds: nothing to walk
        }
        let mut keep = 0;
        let mut bytes = 0;
        for message in self.messages.iter().rev() {
            bytes += message.content.len();
            if keep > 0 && (keep == max_messages || bytes > max_bytes) {
                break;
            }
            keep += 1;
        }
        let evicted = self.messages.len() - keep;
        if evicted > 0 {
            let gone: usize = self
                .messages
                .drain(..evicted)
                .map(|m| m.content.len())
                .sum();
            self.text_bytes -= gone;
            self.layout = new_layout();
            self.changes += 1;
        }
        evicted
    }

    /// What a view caching per-row data compares (see the field).
    pub fn layout_version(&self) -> u64 {
        self.layout
    }

    /// Changes with any change of what the timeline holds, edits included.
    pub fn version(&self) -> u64 {
        self.changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::protocol::Author;

    fn message(id: i64, content: &str) -> MessageItem {
        MessageItem {
            id,
            content: content.into(),
            author: Author::default(),
            date_created: None,
            date_updated: None,
            client_key: None,
            room: None,
            files: Vec::new(),
        }
    }

    #[test]
    fn keeps_id_order_and_deduplicates() {
        let mut t = Timeline::default();
        assert!(t.upsert(message(3, "c")));
        assert!(t.upsert(message(1, "a")));
        assert!(!t.upsert(message(3, "c again")));
        assert!(t.upsert(message(2, "b")));
        let ids: Vec<i64> = t.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(t.get(3).unwrap().content, "c again");
        assert_eq!(
            (t.oldest_id(), t.newest_id(), t.len()),
            (Some(1), Some(3), 3)
        );
        assert_eq!((t.at(1).unwrap().id, t.index_of(3)), (2, Some(2)));
    }

    #[test]
    fn the_oldest_go_first_when_over_the_count_or_the_bytes() {
        let mut t = Timeline::default();
        t.upsert_many((1..=10).map(|id| message(id, "0123456789")).collect());
        assert_eq!(t.evict_oldest(8, usize::MAX), 2);
        assert_eq!(t.oldest_id(), Some(3));
        assert_eq!(t.evict_oldest(100, 35), 5, "three of ten bytes fit in 35");
        assert_eq!((t.oldest_id(), t.len()), (Some(8), 3));
        assert_eq!(t.evict_oldest(100, 1), 2, "the newest always stays");
        assert_eq!(t.newest_id(), Some(10));
    }

    #[test]
    fn the_text_held_is_counted_as_messages_come_change_and_go() {
        let mut t = Timeline::default();
        t.upsert_many((1..=4).map(|id| message(id, "0123456789")).collect());
        assert_eq!(t.text_bytes(), 40);
        t.upsert(message(2, "ab"));
        assert_eq!(t.text_bytes(), 32, "an edit");
        t.remove(3);
        assert_eq!(t.text_bytes(), 22);
        t.evict_oldest(1, usize::MAX);
        assert_eq!(t.text_bytes(), 10, "the newest left");
        t.clear();
        assert_eq!(t.text_bytes(), 0);
    }

    #[test]
    fn appends_keep_the_layout_and_inserts_before_the_end_change_it() {
        let mut t = Timeline::default();
        t.upsert(message(5, "e"));
        let layout = t.layout_version();
        t.upsert(message(6, "f"));
        assert_eq!(
            t.upsert_many(vec![message(7, "g"), message(8, "h")]),
            [7, 8]
        );
        let version = t.version();
        t.upsert(message(6, "f edited"));
        assert_eq!(t.layout_version(), layout, "appends and edits");
        assert_ne!(t.version(), version, "an edit is a change");
        let version = t.version();
        t.upsert(message(6, "f edited"));
        assert_eq!(t.version(), version, "the same copy again is not");
        // A page of older messages (newest first, one already known): prepended once.
        assert_eq!(
            t.upsert_many(vec![message(4, "d"), message(3, "c"), message(5, "e")]),
            [4, 3]
        );
        assert_ne!(t.layout_version(), layout);
        let ids: Vec<i64> = t.iter().map(|m| m.id).collect();
        assert_eq!(ids, [3, 4, 5, 6, 7, 8]);
        let layout = t.layout_version();
        assert!(t.remove(6));
        assert!(!t.remove(6));
        assert_ne!(t.layout_version(), layout);
    }

    #[test]
    fn no_two_timelines_share_a_layout() {
        // A view that cached one timeline's rows must see another (a room's, a window's) as
        // laid out differently, whatever each went through.
        let mut a = Timeline::default();
        let mut b = Timeline::default();
        assert_ne!(a.layout_version(), b.layout_version(), "new");
        a.upsert(message(1, "a"));
        b.upsert(message(1, "a"));
        a.upsert(message(0, "before"));
        b.upsert(message(0, "before"));
        assert_ne!(a.layout_version(), b.layout_version(), "each changed once");
    }
}
