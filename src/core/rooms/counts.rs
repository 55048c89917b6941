//! What each room counts after its read marker: every message of others (unread), and apart
//! those that mention the user (mentions). The server counts what is stored (one
//! aggregate read for all rooms); ids that arrive after, live or caught up, are added once
//! each (a message read twice counts once); a marker moved anywhere clears what it covers.

use std::collections::BTreeSet;

use super::Rooms;

/// What a count is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// Messages of others after the read marker.
    Unread,
    /// Those of them that mention the user.
    Mentions,
}

/// Live ids kept per room; past this a room shows at least this many.
const LIVE_IDS_MAX: usize = 10_000;

#[derive(Clone, Debug, Default)]
pub struct Count {
    /// As the server counted them ...
    counted: u32,
    /// ... up to this id;
    through: i64,
    /// and those seen since (above `through` and the marker).
    live: BTreeSet<i64>,
}

impl Count {
    pub fn total(&self) -> u32 {
        self.counted
            .saturating_add(u32::try_from(self.live.len()).unwrap_or(u32::MAX))
    }

    /// A message that counts arrived: counted when it is above the marker and the server's
    /// count.
    pub fn note(&mut self, id: i64, marker: i64) {
        if id > marker && id > self.through && self.live.len() < LIVE_IDS_MAX {
            self.live.insert(id);
        }
    }

    /// The message no longer counts (deleted, or edited so that it does not).
    pub fn forget(&mut self, id: i64) {
        self.live.remove(&id);
    }

    /// The server's count may include this message (only the server can count it out again).
    pub fn server_counted(&self, id: i64, marker: i64) -> bool {
        self.counted > 0 && id > marker && id <= self.through
    }

    /// The server's count, up to the newest id it counted (None: it found nothing).
    pub fn set(&mut self, counted: Option<(u32, i64)>) {
        match counted {
            Some((count, newest)) => {
                self.counted = count;
                self.through = newest;
                self.live.retain(|id| *id > newest);
            }
            // A live id above the marker would have been counted.
            None => self.counted = 0,
        }
    }

    /// The read marker is at `marker` now. True when the server must count again (it moved,
    /// but not past what the server counted).
    pub fn marker_moved(&mut self, marker: i64) -> bool {
        self.live.retain(|id| *id > marker);
        if marker >= self.through {
            self.counted = 0;
            self.through = marker;
            false
        } else {
            self.counted > 0
        }
    }
}

impl Rooms {
    /// Messages of others after the room's read marker.
    pub fn unread(&self, room: &str) -> u32 {
        self.unread.get(room).map_or(0, Count::total)
    }

    /// Messages of others after the room's read marker that mention the user.
    pub fn mentions(&self, room: &str) -> u32 {
        self.mentions.get(room).map_or(0, Count::total)
    }

    /// A message of someone else arrived (live, caught up or read, or changed): counted
    /// unread when it is above the room's marker and the server's count; as a mention too
    /// while it mentions the user (an edit that takes the mention out takes the count).
    pub fn note_unread(&mut self, room: &str, id: i64, mentions_me: bool) {
        let marker = self.get(room).and_then(|r| r.last_read).unwrap_or(0);
        self.unread
            .entry(room.to_owned())
            .or_default()
            .note(id, marker);
        let mentions = self.mentions.entry(room.to_owned()).or_default();
        match mentions_me {
            true => mentions.note(id, marker),
            false => mentions.forget(id),
        }
    }

    /// Rooms whose server counts may include one of these messages (deleted or changed: to
    /// be counted again).
    pub fn counted_including(&self, ids: &[i64]) -> Vec<String> {
        self.list
            .iter()
            .filter(|room| {
                let marker = room.last_read.unwrap_or(0);
                [&self.unread, &self.mentions].iter().any(|counts| {
                    counts
                        .get(&room.id)
                        .is_some_and(|c| ids.iter().any(|id| c.server_counted(*id, marker)))
                })
            })
            .map(|room| room.id.clone())
            .collect()
    }

    /// Deleted messages no longer count (ids are global: whichever room held them).
    pub(super) fn forget_unread(&mut self, id: i64) {
        for count in self.unread.values_mut().chain(self.mentions.values_mut()) {
            count.forget(id);
        }
    }

    /// The server's counts for these rooms (rooms it did not list have none): of unread
    /// messages, or of those that mention the user.
    pub fn set_counts(
        &mut self,
        asked: &[String],
        counts: Vec<(String, u32, i64)>,
        counted: Counted,
    ) {
        let counts_of = match counted {
            Counted::Mentions => &mut self.mentions,
            Counted::Unread => &mut self.unread,
        };
        for room in asked {
            let counted = counts
                .iter()
                .find(|(r, _, _)| r == room)
                .map(|(_, count, newest)| (*count, *newest));
            counts_of.entry(room.clone()).or_default().set(counted);
        }
        // The marker may have moved while the count was on its way.
        for room in asked {
            self.marker_moved(room);
        }
    }

    /// Read markers to ask counts for: of these rooms (None: of every room).
    pub fn markers(&self, rooms: Option<&[String]>) -> Vec<(String, i64)> {
        self.list
            .iter()
            .filter(|r| rooms.is_none_or(|only| only.contains(&r.id)))
            .map(|r| (r.id.clone(), r.last_read.unwrap_or(0)))
            .collect()
    }

    /// The user read the room up to `id` (here or elsewhere): counts covered by it go.
    /// True when the server must count the room again.
    pub fn set_last_read(&mut self, room: &str, id: i64) -> bool {
        if let Some(r) = self.list.iter_mut().find(|r| r.id == room) {
            r.last_read = r.last_read.max(Some(id));
        }
        self.marker_moved(room)
    }

    pub(super) fn marker_moved(&mut self, room: &str) -> bool {
        let Some(marker) = self.get(room).and_then(|r| r.last_read) else {
            return false;
        };
        let mentions = self
            .mentions
            .get_mut(room)
            .is_some_and(|c| c.marker_moved(marker));
        let unread = self
            .unread
            .get_mut(room)
            .is_some_and(|c| c.marker_moved(marker));
        unread || mentions
    }
}
