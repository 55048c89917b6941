//! One room's count of messages after its read marker: every message of others (unread), or
//! only those that mention the user (mentions). The server counts what is stored (one
//! aggregate read for all rooms); ids that arrive after, live or caught up, are added once
//! each (a message read twice counts once); a marker moved anywhere clears what it covers.

use std::collections::BTreeSet;

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
