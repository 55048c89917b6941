//! When the chat notifies, IO-free: what a room's setting lets through (every message, only
//! mentions and DMs, or nothing), never while the user is looking at that very room, and
//! never more than one notification per room per [`NOTIFY_GAP`]: what comes meanwhile is
//! summarised in one ("3 new messages in #general") once the gap is over. The edge shows them.

use std::collections::HashMap;
use std::time::Duration;

use web_time::Instant;

/// One notification per room at most this often.
pub const NOTIFY_GAP: Duration = Duration::from_secs(5);
/// What a notification's text holds at most (characters).
pub const BODY_MAX: usize = 200;

/// A room's notification setting, as stored on the user's membership (`notify`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NotifyLevel {
    All,
    /// Mentions of the user, and every message of a DM (what an unknown value means too).
    #[default]
    MentionsAndDms,
    Nothing,
}

impl NotifyLevel {
    pub fn from_stored(value: Option<&str>) -> NotifyLevel {
        match value {
            Some("all") => NotifyLevel::All,
            Some("nothing") => NotifyLevel::Nothing,
            _ => NotifyLevel::MentionsAndDms,
        }
    }

    pub fn stored(self) -> &'static str {
        match self {
            NotifyLevel::All => "all",
            NotifyLevel::MentionsAndDms => "mentions",
            NotifyLevel::Nothing => "nothing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NotifyLevel::All => "All messages",
            NotifyLevel::MentionsAndDms => "Mentions and DMs",
            NotifyLevel::Nothing => "Nothing",
        }
    }

    pub const EVERY: [NotifyLevel; 3] = [
        NotifyLevel::All,
        NotifyLevel::MentionsAndDms,
        NotifyLevel::Nothing,
    ];
}

/// Whether the platform lets the chat show notifications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Permission {
    #[default]
    Granted,
    /// The browser has not asked the user yet (a click asks).
    Ask,
    Denied,
}

/// A message of someone else that arrived live (see `Session::take_arrivals`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub room: String,
    pub id: i64,
    /// "Bob", or "Bob in #general".
    pub title: String,
    /// The text as people read it (mentions by name).
    pub body: String,
    pub mentions_me: bool,
    pub dm: bool,
}

/// What the edge shows. Clicking it opens `room` at message `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub room: String,
    pub id: i64,
    pub title: String,
    pub body: String,
}

/// Messages that came within a room's gap: told in one summary when it is over.
#[derive(Debug)]
struct Held {
    count: usize,
    newest: Arrival,
}

#[derive(Debug)]
struct RoomState {
    shown_at: Instant,
    held: Option<Held>,
}

#[derive(Debug, Default)]
pub struct Notifier {
    rooms: HashMap<String, RoomState>,
}

impl Notifier {
    /// A message arrived. `level`: its room's setting; `looking`: the user has the window
    /// focused with this room shown. A notification now, or None (held for a summary, or not
    /// one to notify).
    pub fn arrived(
        &mut self,
        arrival: Arrival,
        level: NotifyLevel,
        looking: bool,
        now: Instant,
    ) -> Option<Notification> {
        let wanted = match level {
            NotifyLevel::All => true,
            NotifyLevel::MentionsAndDms => arrival.mentions_me || arrival.dm,
            NotifyLevel::Nothing => false,
        };
        if !wanted || looking {
            return None;
        }
        match self.rooms.get_mut(&arrival.room) {
            Some(room) if now < room.shown_at + NOTIFY_GAP => {
                let count = room.held.as_ref().map_or(0, |h| h.count) + 1;
                room.held = Some(Held {
                    count,
                    newest: arrival,
                });
                None
            }
            _ => {
                let room = arrival.room.clone();
                self.rooms.insert(
                    room,
                    RoomState {
                        shown_at: now,
                        held: None,
                    },
                );
                Some(single(arrival))
            }
        }
    }

    /// Summaries whose gap is over; rooms quiet for a gap are forgotten.
    pub fn due(&mut self, now: Instant) -> Vec<Notification> {
        let mut due = Vec::new();
        for room in self.rooms.values_mut() {
            if now < room.shown_at + NOTIFY_GAP {
                continue;
            }
            if let Some(held) = room.held.take() {
                room.shown_at = now;
                due.push(match held.count {
                    1 => single(held.newest),
                    n => Notification {
                        room: held.newest.room.clone(),
                        id: held.newest.id,
                        title: format!("{n} new messages: {}", held.newest.title),
                        body: held.newest.body,
                    },
                });
            }
        }
        self.rooms
            .retain(|_, r| r.held.is_some() || now < r.shown_at + NOTIFY_GAP);
        due
    }

    /// When the next summary is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.rooms
            .values()
            .filter(|r| r.held.is_some())
            .map(|r| r.shown_at + NOTIFY_GAP)
            .min()
    }

    /// The user looked at the room: what was held for it is not news any more.
    pub fn seen(&mut self, room: &str) {
        if let Some(state) = self.rooms.get_mut(room) {
            state.held = None;
        }
    }
}

fn single(arrival: Arrival) -> Notification {
    Notification {
        room: arrival.room,
        id: arrival.id,
        title: arrival.title,
        body: arrival.body,
    }
}

/// A body cut to [`BODY_MAX`] characters, on one line.
pub fn body_of(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(BODY_MAX + 1)
        .collect();
    match flat.chars().count() > BODY_MAX {
        true => format!("{}…", flat.chars().take(BODY_MAX).collect::<String>()),
        false => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(room: &str, id: i64, mentions_me: bool, dm: bool) -> Arrival {
        Arrival {
            room: room.into(),
            id,
            title: format!("Bob in #{room}"),
            body: format!("m{id}"),
            mentions_me,
            dm,
        }
    }

    #[test]
    fn the_setting_decides_and_the_room_looked_at_never_notifies() {
        let now = Instant::now();
        let mut n = Notifier::default();
        let plain = |id| arrival("general", id, false, false);
        assert!(
            n.arrived(plain(1), NotifyLevel::MentionsAndDms, false, now)
                .is_none()
        );
        assert!(
            n.arrived(plain(2), NotifyLevel::Nothing, false, now)
                .is_none()
        );
        let mention = arrival("general", 3, true, false);
        assert!(
            n.arrived(mention.clone(), NotifyLevel::Nothing, false, now)
                .is_none()
        );
        assert!(
            n.arrived(mention.clone(), NotifyLevel::MentionsAndDms, true, now)
                .is_none(),
            "looking"
        );
        let shown = n
            .arrived(mention, NotifyLevel::MentionsAndDms, false, now)
            .unwrap();
        assert_eq!(
            (shown.room.as_str(), shown.id, shown.body.as_str()),
            ("general", 3, "m3")
        );
        let dm = arrival("dm", 4, false, true);
        assert!(
            n.arrived(dm, NotifyLevel::MentionsAndDms, false, now)
                .is_some(),
            "another room"
        );
        assert!(
            n.arrived(plain(5), NotifyLevel::All, false, now + NOTIFY_GAP)
                .is_some()
        );
        assert_eq!(
            NotifyLevel::from_stored(Some("<script>")),
            NotifyLevel::MentionsAndDms
        );
    }

    #[test]
    fn a_burst_is_one_notification_then_one_summary() {
        let now = Instant::now();
        let mut n = Notifier::default();
        assert!(
            n.arrived(
                arrival("general", 1, false, false),
                NotifyLevel::All,
                false,
                now
            )
            .is_some()
        );
        for id in 2..=40 {
            let at = now + Duration::from_millis(id as u64 * 100);
            assert!(
                n.arrived(
                    arrival("general", id, false, false),
                    NotifyLevel::All,
                    false,
                    at
                )
                .is_none()
            );
        }
        assert!(n.due(now + NOTIFY_GAP / 2).is_empty());
        assert_eq!(n.next_deadline(), Some(now + NOTIFY_GAP));
        let summary = n.due(now + NOTIFY_GAP);
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].title, "39 new messages: Bob in #general");
        assert_eq!(
            (summary[0].id, summary[0].body.as_str()),
            (40, "m40"),
            "opens at the newest"
        );
        assert!(n.due(now + NOTIFY_GAP * 3).is_empty(), "once");
        // Seen meanwhile: no summary.
        let later = now + NOTIFY_GAP * 10;
        n.arrived(
            arrival("general", 50, false, false),
            NotifyLevel::All,
            false,
            later,
        );
        n.arrived(
            arrival("general", 51, false, false),
            NotifyLevel::All,
            false,
            later,
        );
        n.seen("general");
        assert!(n.due(later + NOTIFY_GAP).is_empty());
        assert!(n.rooms.is_empty(), "quiet rooms are forgotten");
    }

    #[test]
    fn a_body_is_one_bounded_line() {
        assert_eq!(body_of("a\nb\u{7}c"), "a b c");
        let long = "x".repeat(5_000);
        assert_eq!(body_of(&long).chars().count(), BODY_MAX + 1);
    }
}
