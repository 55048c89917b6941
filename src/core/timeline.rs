//! The messages the chat knows, ordered by id and de-duplicated: a message arriving twice
//! (live event and catch-up read, or a create reply and its event) is stored once.

use std::collections::BTreeMap;

use super::protocol::MessageItem;

#[derive(Default, Debug)]
pub struct Timeline {
    messages: BTreeMap<i64, MessageItem>,
}

impl Timeline {
    /// Insert or replace; true when the id was new.
    pub fn upsert(&mut self, message: MessageItem) -> bool {
        self.messages.insert(message.id, message).is_none()
    }

    pub fn remove(&mut self, id: i64) -> bool {
        self.messages.remove(&id).is_some()
    }

    pub fn newest_id(&self) -> Option<i64> {
        self.messages.keys().next_back().copied()
    }

    pub fn oldest_id(&self) -> Option<i64> {
        self.messages.keys().next().copied()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn get(&self, id: i64) -> Option<&MessageItem> {
        self.messages.get(&id)
    }

    /// Oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &MessageItem> {
        self.messages.values()
    }

    pub fn clear(&mut self) {
        self.messages.clear();
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
            client_key: None,
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
    }
}
