//! When the chat notifies, IO-free: what a room's setting lets through (every message, only
//! mentions and DMs, or nothing), never while the user is looking at that very room, never
//! more than one notification per room per [`NOTIFY_GAP`] (what comes meanwhile is summarised
//! in one, "3 new messages: Bob in #general", once the gap is over), and never more than
//! [`NOTIFY_MAX`] in all per gap, however many rooms speak (a member who adds the user to
//! twenty rooms does not get twenty at once). The edge shows them.

use std::collections::HashMap;
use std::time::Duration;

use web_time::Instant;

/// One notification per room at most this often.
pub const NOTIFY_GAP: Duration = Duration::from_secs(5);
/// Notifications shown at most within one gap, all rooms together.
pub const NOTIFY_MAX: usize = 3;
/// A title holds at most this many characters (names are the members' own).
pub const TITLE_MAX: usize = 80;
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
    /// When the last notifications were shown (at most NOTIFY_MAX, within a gap).
    recent: std::collections::VecDeque<Instant>,
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
        let full = !self.may_show(now);
        match self.rooms.get_mut(&arrival.room) {
            Some(room) if full || now < room.shown_at + NOTIFY_GAP => {
                let count = room.held.as_ref().map_or(0, |h| h.count) + 1;
                room.held = Some(Held {
                    count,
                    newest: arrival,
                });
                None
            }
            // Too many shown just now: held, told when there is room again.
            None if full => {
                let room = arrival.room.clone();
                let held = Some(Held {
                    count: 1,
                    newest: arrival,
                });
                self.rooms.insert(
                    room,
                    RoomState {
                        shown_at: now,
                        held,
                    },
                );
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
                self.recent.push_back(now);
                Some(single(arrival))
            }
        }
    }

    /// Fewer than NOTIFY_MAX were shown within the last gap.
    fn may_show(&mut self, now: Instant) -> bool {
        while self.recent.front().is_some_and(|t| now >= *t + NOTIFY_GAP) {
            self.recent.pop_front();
        }
        self.recent.len() < NOTIFY_MAX
    }

    /// Summaries whose gap is over; rooms quiet for a gap are forgotten.
    pub fn due(&mut self, now: Instant) -> Vec<Notification> {
        let mut due = Vec::new();
        let mut rooms: Vec<&String> = self.rooms.keys().collect();
        rooms.sort(); // which rooms go first when not all may: the same each time
        let rooms: Vec<String> = rooms.into_iter().cloned().collect();
        for id in rooms {
            let ready =
                self.rooms[&id].held.is_some() && now >= self.rooms[&id].shown_at + NOTIFY_GAP;
            if !ready || !self.may_show(now) {
                continue;
            }
            let room = self.rooms.get_mut(&id).expect("listed");
            if let Some(held) = room.held.take() {
                self.recent.push_back(now);
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

    /// When the next summary is due (or, with NOTIFY_MAX shown just now, may be).
    pub fn next_deadline(&self) -> Option<Instant> {
        let room_free = self
            .rooms
            .values()
            .filter(|r| r.held.is_some())
            .map(|r| r.shown_at + NOTIFY_GAP)
            .min()?;
        let budget_free = match self.recent.len() >= NOTIFY_MAX {
            true => self.recent.front().map(|t| *t + NOTIFY_GAP),
            false => None,
        };
        Some(budget_free.map_or(room_free, |b| b.max(room_free)))
    }

    /// Another account, or none: nothing held is told any more.
    pub fn forget(&mut self) {
        *self = Notifier::default();
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
    one_line(text, BODY_MAX)
}

/// A title (names members chose) cut to [`TITLE_MAX`] characters, on one line.
pub fn title_of(text: &str) -> String {
    one_line(text, TITLE_MAX)
}

/// Bidirectional overrides and isolates: they make a sender's text read otherwise than written.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// At most `max` characters on one line, without the controls that would reorder what is
/// shown (bidirectional overrides and isolates: a sender's text must read as written).
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max + 1)
        .collect();
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
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
        // Logged out with a summary held: it is never told.
        let last = later + NOTIFY_GAP * 10;
        n.arrived(
            arrival("general", 60, false, false),
            NotifyLevel::All,
            false,
            last,
        );
        n.arrived(
            arrival("general", 61, false, false),
            NotifyLevel::All,
            false,
            last,
        );
        n.forget();
        assert!(n.due(last + NOTIFY_GAP).is_empty() && n.next_deadline().is_none());
    }

    #[test]
    fn many_rooms_at_once_are_told_a_few_at_a_time() {
        let now = Instant::now();
        let mut n = Notifier::default();
        let shown = (0..20)
            .filter_map(|r| {
                let a = arrival(&format!("room{r:02}"), r, false, false);
                n.arrived(a, NotifyLevel::All, false, now)
            })
            .count();
        assert_eq!(shown, NOTIFY_MAX);
        assert_eq!(n.next_deadline(), Some(now + NOTIFY_GAP));
        let mut told = shown;
        let mut at = now;
        while told < 20 {
            at = n.next_deadline().expect("more held");
            let due = n.due(at);
            assert!(due.len() <= NOTIFY_MAX, "{}", due.len());
            assert!(!due.is_empty(), "due when said");
            told += due.len();
        }
        assert_eq!(at, now + NOTIFY_GAP * 6, "3 per gap");
        assert!(n.next_deadline().is_none());
    }

    #[test]
    fn a_body_is_one_bounded_line() {
        assert_eq!(body_of("a\nb\u{7}c"), "a b c");
        assert_eq!(
            title_of("Bob\u{202E}gnp.exe"),
            "Bobgnp.exe",
            "no reordering"
        );
        assert_eq!(title_of(&"n".repeat(500)).chars().count(), TITLE_MAX + 1);
        let long = "x".repeat(5_000);
        assert_eq!(body_of(&long).chars().count(), BODY_MAX + 1);
    }
}
