//! Changing one's own messages: edit, delete (see `pending_delete.rs` for its Undo time), and
//! whether the server lets members do either at all.

use web_time::Instant;

use super::outbox::check_length;
use super::requests::Request;
use super::{Effect, Phase, Session};
use crate::core::protocol::{self as proto, MessageItem};

impl Session {
    /// Editing and deleting are offered for this message.
    pub fn can_change(&self, message: &MessageItem) -> bool {
        self.edits_refused.is_none() && self.is_mine(message)
    }

    /// Why editing and deleting are not offered at all.
    pub fn edits_refused(&self) -> Option<&str> {
        self.edits_refused.as_deref()
    }

    /// The newest message of mine (what Up in an empty composer edits).
    pub fn last_own(&self) -> Option<&MessageItem> {
        self.timeline().iter().rev().find(|m| self.can_change(m))
    }

    /// Change the text of one of my messages; Err says why not (the text stays with the user).
    pub fn edit(&mut self, id: i64, content: &str, now: Instant) -> Result<Vec<Effect>, String> {
        let content = content.trim_end();
        self.check_change(id)?;
        if content.trim().is_empty() {
            return Err("An edit cannot be empty: delete the message instead.".into());
        }
        check_length(content)?;
        if self.message(id).is_some_and(|m| m.content == content) {
            return Ok(Vec::new()); // nothing changed
        }
        let content = content.to_owned();
        Ok(vec![self.request(
            Request::Update(id),
            |uid| proto::update_message(id, &content, uid),
            now,
        )])
    }

    pub fn delete(&mut self, id: i64, now: Instant) -> Result<Vec<Effect>, String> {
        self.check_change(id)?;
        Ok(vec![self.request(
            Request::Delete(id),
            |uid| proto::delete_message(id, uid),
            now,
        )])
    }

    pub(super) fn check_change(&self, id: i64) -> Result<(), String> {
        if let Some(why) = &self.edits_refused {
            return Err(why.clone());
        }
        let message = self.message(id).or_else(|| self.timeline().get(id));
        if !message.is_some_and(|m| self.is_mine(m)) {
            return Err("Only your own messages can be changed.".into());
        }
        if self.phase != Phase::Online {
            return Err("You are offline: edits and deletions need a connection.".into());
        }
        Ok(())
    }
}
