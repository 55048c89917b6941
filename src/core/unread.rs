//! What the user has not seen: messages of others that arrived while the window was not
//! looked at. History, a re-read after a reconnect and scroll-back are never unread: only ids
//! above the newest one the user had in front of them count. When the user looks again, a
//! "New" divider marks the first of them.

use super::protocol::MessageItem;
use super::timeline::Timeline;

#[derive(Default, Debug)]
pub struct Unread {
    /// The newest id the user had in front of them (None until the first history is in).
    seen: Option<i64>,
    count: usize,
    /// The first message that was unread when the user looked again.
    divider: Option<i64>,
}

impl Unread {
    /// Once per frame. `synced`: the history read is complete (before that, nothing is new);
    /// `looking`: the window has the user's attention.
    pub fn update(
        &mut self,
        timeline: &Timeline,
        synced: bool,
        looking: bool,
        mine: impl Fn(&MessageItem) -> bool,
    ) {
        let Some(seen) = self.seen else {
            if synced {
                self.seen = Some(timeline.newest_id().unwrap_or(0));
            }
            return;
        };
        let newer = || timeline.iter().rev().take_while(move |m| m.id > seen);
        if looking {
            if self.count > 0 {
                self.divider = newer().filter(|m| !mine(m)).last().map(|m| m.id);
            }
            self.seen = Some(seen.max(timeline.newest_id().unwrap_or(0)));
            self.count = 0;
        } else {
            self.count = newer().filter(|m| !mine(m)).count();
        }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn divider(&self) -> Option<i64> {
        self.divider
    }

    /// The user answered (sent a message): what was new has been read.
    pub fn clear_divider(&mut self) {
        self.divider = None;
    }

    /// Logged out: the next account starts from its own history.
    pub fn reset(&mut self) {
        *self = Unread::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::protocol::Author;

    fn timeline(ids: impl IntoIterator<Item = i64>) -> Timeline {
        let mut timeline = Timeline::default();
        for id in ids {
            timeline.upsert(MessageItem {
                id,
                content: format!("m{id}"),
                author: Author {
                    id: Some(if id % 10 == 7 { "me" } else { "bob" }.into()),
                    first_name: None,
                },
                date_created: None,
                date_updated: None,
                client_key: None,
                room: None,
                files: Vec::new(),
            });
        }
        timeline
    }

    fn mine(m: &MessageItem) -> bool {
        m.author.id.as_deref() == Some("me")
    }

    #[test]
    fn history_and_re_reads_are_not_unread_only_new_messages_of_others_are() {
        let mut unread = Unread::default();
        let history = timeline(1..=50);
        unread.update(&history, false, false, mine);
        unread.update(&history, true, false, mine);
        assert_eq!(unread.count(), 0, "history read in the background");
        // Three arrive while away, one of them our own (sent from another device).
        let more = timeline(1..=53);
        unread.update(&more, true, false, mine);
        assert_eq!(unread.count(), 3);
        let with_ours = timeline((1..=53).chain([57]));
        unread.update(&with_ours, true, false, mine);
        assert_eq!(unread.count(), 3, "our own message is not unread");
        // A reconnect re-reads the newest page (and scroll-back older ones): still three.
        let reread = timeline((4..=53).chain([57]));
        unread.update(&reread, true, false, mine);
        assert_eq!(unread.count(), 3);
        // Looking again: nothing unread, the divider on the first that was.
        unread.update(&reread, true, true, mine);
        assert_eq!(unread.count(), 0);
        assert_eq!(unread.divider(), Some(51));
        // Arrivals while looking are seen at once; the divider stays until the user answers.
        unread.update(&timeline(1..=60), true, true, mine);
        assert_eq!((unread.count(), unread.divider()), (0, Some(51)));
        unread.clear_divider();
        assert_eq!(unread.divider(), None);
    }

    #[test]
    fn looking_again_without_anything_new_keeps_no_divider() {
        let mut unread = Unread::default();
        let history = timeline(1..=5);
        unread.update(&history, true, true, mine);
        unread.update(&history, true, false, mine);
        unread.update(&history, true, true, mine);
        assert_eq!(unread.divider(), None);
    }
}
