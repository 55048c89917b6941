//! A delete the user asked for waits `UNDO_DELETE` before it goes out, so it can be undone.
//! It is held here, not in the view: it is checked when asked (own message, online), sent when
//! due even if a flood evicted the message meanwhile, goes out before a logout, waits for the
//! connection if it dropped, and is dropped when the message was deleted elsewhere.

use std::time::Duration;

use web_time::Instant;

use super::requests::Request;
use super::{Effect, Phase, Session};
use crate::core::protocol as proto;

/// How long a delete can be undone before it is sent.
pub const UNDO_DELETE: Duration = Duration::from_secs(5);

impl Session {
    /// Delete message `id` in `UNDO_DELETE` unless undone; one already waiting goes now.
    pub fn delete_later(&mut self, id: i64, now: Instant) -> Result<Vec<Effect>, String> {
        self.check_change(id)?;
        let earlier = self.pending_delete.replace((id, now + UNDO_DELETE));
        Ok(earlier
            .map(|(earlier, _)| self.send_delete(earlier, now))
            .unwrap_or_default())
    }

    /// Keep the message after all.
    pub fn undo_delete(&mut self) {
        self.pending_delete = None;
    }

    /// The message whose delete is waiting (shown as deleted, with Undo).
    pub fn deleting(&self) -> Option<i64> {
        self.pending_delete.map(|(id, _)| id)
    }

    pub(super) fn pending_delete_due(&self) -> Option<Instant> {
        self.pending_delete.map(|(_, due)| due)
    }

    /// From `tick`: the delete whose time is over goes out (once online).
    pub(super) fn send_due_delete(&mut self, now: Instant) -> Vec<Effect> {
        match self.pending_delete {
            Some((id, due)) if now >= due && self.phase == Phase::Online => {
                self.pending_delete = None;
                self.send_delete(id, now)
            }
            _ => Vec::new(),
        }
    }

    /// Before logging out: a waiting delete goes now, or not at all.
    pub(super) fn send_pending_delete_now(&mut self, now: Instant) -> Vec<Effect> {
        match self.pending_delete.take() {
            Some((id, _)) if self.phase == Phase::Online => self.send_delete(id, now),
            _ => Vec::new(),
        }
    }

    /// The message was deleted elsewhere: nothing left to delete.
    pub(super) fn forget_pending_delete(&mut self, id: i64) {
        if self.deleting() == Some(id) {
            self.pending_delete = None;
        }
    }

    fn send_delete(&mut self, id: i64, now: Instant) -> Vec<Effect> {
        vec![self.request(
            Request::Delete(id),
            |uid| proto::delete_message(id, uid),
            now,
        )]
    }
}
