//! Messages of others as they arrive live, for the notifications (the policy is
//! `notifications.rs`: the app decides with the room's setting and where the user looks),
//! and the user's notification setting per room, kept on their membership so that it follows
//! them to every device.

use web_time::Instant;

use super::requests::Request;
use super::{Effect, Session};
use crate::core::notifications::{Arrival, NotifyLevel, body_of, title_of};
use crate::core::protocol::MessageItem;
use crate::core::protocol::rooms::{self as frames, RoomKind};

/// Arrivals kept until the app takes them (headless never does).
const ARRIVALS_KEPT: usize = 100;

impl Session {
    /// Messages of others that arrived live since the last call.
    pub fn take_arrivals(&mut self) -> Vec<Arrival> {
        std::mem::take(&mut self.arrivals)
    }

    /// A subscription's new messages: those of others, in one of the user's rooms, not held
    /// already (an event is not news twice).
    pub(super) fn note_arrivals(&mut self, items: &[MessageItem]) {
        for item in items {
            let Some(room) = item.room.as_deref().and_then(|r| self.rooms.get(r)) else {
                continue;
            };
            if self.is_mine(item) || self.rooms.message(item.id).is_some() {
                continue;
            }
            let author = item.author.first_name.as_deref().unwrap_or("Someone");
            let dm = room.kind == RoomKind::Dm;
            let title = title_of(&match dm {
                true => author.to_owned(),
                false => format!("{author} in #{}", room.title()),
            });
            let arrival = Arrival {
                room: room.id.clone(),
                id: item.id,
                title,
                body: body_of(&self.names().readable(&item.content)),
                mentions_me: self.mentions_me(item),
                dm,
            };
            if self.arrivals.len() >= ARRIVALS_KEPT {
                self.arrivals.remove(0);
            }
            self.arrivals.push(arrival);
        }
    }

    /// Change the user's notification setting for a room (kept on their membership).
    pub fn set_notify(
        &mut self,
        room: &str,
        level: NotifyLevel,
        now: Instant,
    ) -> Result<Vec<Effect>, String> {
        self.online_for("change the room's notifications")?;
        let membership = self
            .rooms
            .get(room)
            .map(|r| r.membership.clone())
            .ok_or("You are not in that room.")?;
        Ok(vec![self.request(
            Request::Notify(room.to_owned()),
            |uid| frames::set_notify(&membership, level.stored(), uid),
            now,
        )])
    }
}
