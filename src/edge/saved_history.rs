//! The last messages seen, kept on this device so that the next start shows them at once
//! (marked as possibly out of date) instead of an empty chat until the server answers. Bound
//! to the account and server, bounded in count and bytes, written a few seconds apart at most,
//! removed with the session at logout.

use serde::{Deserialize, Serialize};
use web_time::{Duration, Instant};

use crate::core::attachment::Attachment;
use crate::core::protocol::{Author, MessageItem};
use crate::core::session::{Phase, Session};
use crate::core::timeline::Timeline;

/// At most this many of the newest messages are kept...
const KEEP: usize = 200;
/// ...and at most this much text, as written (JSON-escaped).
const SAVE_BYTES: usize = 512 * 1024;
/// Saved at most this often (every message would rewrite the file).
const EVERY: Duration = Duration::from_secs(3);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedHistory {
    pub server: String,
    pub email: Option<String>,
    pub messages: Vec<SavedMessage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedMessage {
    id: i64,
    content: String,
    author: Option<String>,
    name: Option<String>,
    created: Option<String>,
    updated: Option<String>,
    /// Its room: the next start shows that room first (None: saved before rooms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    room: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    files: Vec<Attachment>,
}

impl SavedHistory {
    /// The newest messages of the session's timeline, within the bounds.
    pub fn of(session: &Session) -> Option<SavedHistory> {
        let server = session.server()?.http.clone();
        let email = session.email().map(str::to_owned);
        Some(Self::from_timeline(server, email, session.room_timeline()))
    }

    fn from_timeline(server: String, email: Option<String>, timeline: &Timeline) -> SavedHistory {
        let mut bytes = 0;
        let mut messages: Vec<SavedMessage> = timeline
            .iter()
            .rev()
            .take(KEEP)
            .take_while(|m| {
                bytes += serde_json::to_string(&m.content).map_or(usize::MAX, |s| s.len());
                bytes <= SAVE_BYTES
            })
            .map(|m| SavedMessage {
                id: m.id,
                content: m.content.clone(),
                author: m.author.id.clone(),
                name: m.author.first_name.clone(),
                created: m.date_created.clone(),
                updated: m.date_updated.clone(),
                room: m.room.clone(),
                files: m.files.clone(),
            })
            .collect();
        messages.reverse();
        SavedHistory {
            server,
            email,
            messages,
        }
    }

    /// The messages, if they were saved for this server and account.
    pub fn for_account(self, server: &str, email: Option<&str>) -> Option<Vec<MessageItem>> {
        (self.server == server && self.email.as_deref() == email).then(|| {
            self.messages
                .into_iter()
                .map(|m| MessageItem {
                    id: m.id,
                    content: m.content,
                    author: Author {
                        id: m.author,
                        first_name: m.name,
                    },
                    date_created: m.created,
                    date_updated: m.updated,
                    client_key: None,
                    room: m.room,
                    files: m.files,
                })
                .collect()
        })
    }
}

/// Which room and state of its timeline was saved ([`Timeline::version`]: edits count too).
type SavedState = (Option<String>, u64);

/// When the timeline is worth saving again.
#[derive(Default)]
pub struct HistorySaver {
    /// What was saved last, and when.
    last: Option<(SavedState, Instant)>,
    /// A change waits for `EVERY` to pass.
    held: bool,
}

impl HistorySaver {
    /// The history to save now, if it changed and the last save is old enough. Only a synced
    /// timeline is saved: a half-read one would replace a good copy with a gap. The caller
    /// looks again within `EVERY` (see `recheck_after`).
    pub fn due(&mut self, session: &Session, now: Instant) -> Option<SavedHistory> {
        if session.phase() != Phase::Online || !session.history_loaded() {
            return None;
        }
        let room = session.rooms().shown_id().map(str::to_owned);
        let state = (room, session.room_timeline().version());
        self.held = false;
        match &self.last {
            Some((saved, _)) if *saved == state => return None,
            // The same room changed: at most every few seconds. Another room shown is saved
            // at once: the next start opens the room the user was in, with its messages.
            Some(((room, _), at)) if *room == state.0 && now < *at + EVERY => {
                self.held = true;
                return None;
            }
            _ => {}
        }
        self.last = Some((state, now));
        SavedHistory::of(session)
    }

    /// When to look again: a change held back by `EVERY` is saved without waiting for the
    /// next message (None: nothing waits, the app may sleep).
    pub fn recheck_after(&self) -> Option<Duration> {
        self.held.then_some(EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(ids: std::ops::Range<i64>, size: usize) -> SavedHistory {
        SavedHistory {
            server: "http://x".into(),
            email: Some("a@x".into()),
            messages: ids
                .map(|id| SavedMessage {
                    id,
                    content: "x".repeat(size),
                    author: None,
                    name: None,
                    created: None,
                    updated: None,
                    room: None,
                    files: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn only_the_newest_messages_are_kept_within_the_count_and_the_bytes() {
        let mut timeline = Timeline::default();
        for id in 1..=300 {
            timeline.upsert(MessageItem {
                id,
                content: "x".repeat(if id > 290 { 100 * 1024 } else { 10 }),
                author: Author::default(),
                date_created: None,
                date_updated: None,
                client_key: None,
                room: None,
                files: Vec::new(),
            });
        }
        let kept = SavedHistory::from_timeline("http://x".into(), None, &timeline).messages;
        // 100 KiB each: five of the newest fit in 512 KiB, and nothing older than a gap.
        assert_eq!(
            kept.iter().map(|m| m.id).collect::<Vec<_>>(),
            [296, 297, 298, 299, 300]
        );
        let small: Timeline = {
            let mut t = Timeline::default();
            for id in 1..=300 {
                t.upsert(MessageItem {
                    id,
                    content: "hi".into(),
                    author: Author::default(),
                    date_created: None,
                    date_updated: None,
                    client_key: None,
                    room: None,
                    files: Vec::new(),
                });
            }
            t
        };
        let kept = SavedHistory::from_timeline("http://x".into(), None, &small).messages;
        assert_eq!(kept.len(), KEEP);
        assert_eq!((kept[0].id, kept[KEEP - 1].id), (101, 300));
    }

    /// A session online with messages 1 and 2 in its timeline.
    fn online(now: Instant) -> Session {
        use crate::core::server_url::ServerUrl;
        let first = |effects: Vec<crate::core::session::Effect>| match &effects[0] {
            crate::core::session::Effect::Send(text) => {
                serde_json::from_str::<serde_json::Value>(text).unwrap()["uid"].clone()
            }
            other => panic!("{other:?}"),
        };
        let mut s = Session::new(1);
        s.login(ServerUrl::parse("http://x").unwrap(), "a@x", "pw", now);
        let auth = first(s.opened(now));
        let frame = |v: serde_json::Value| v.to_string();
        let sub = first(s.frame(
            &frame(serde_json::json!({"type":"auth","status":"ok","uid":auth,"refresh_token":"r"})),
            now,
        ));
        let read = first(s.frame(
            &frame(serde_json::json!({"type":"subscription","event":"init","uid":sub})),
            now,
        ));
        let rows = serde_json::json!([{"id":2,"content":"two"},{"id":1,"content":"one"}]);
        s.frame(
            &frame(serde_json::json!({"type":"items","data":rows,"uid":read})),
            now,
        );
        assert!(s.history_loaded());
        s
    }

    #[test]
    fn an_edit_or_a_delete_is_saved_too() {
        let start = Instant::now();
        let mut s = online(start);
        let mut saver = HistorySaver::default();
        assert!(saver.due(&s, start).is_some());
        assert!(saver.due(&s, start + EVERY).is_none(), "nothing changed");
        let edit = serde_json::json!({"type":"subscription","event":"update","uid":"subscribe-2",
                                      "data":[{"id":2,"content":"two, edited"}]});
        s.frame(&edit.to_string(), start);
        let saved = saver.due(&s, start + EVERY).expect("the edit is saved");
        assert_eq!(saved.messages[1].content, "two, edited");
        let delete = serde_json::json!({"type":"subscription","event":"delete","uid":"subscribe-2",
                                        "data":[1]});
        s.frame(&delete.to_string(), start);
        let saved = saver
            .due(&s, start + EVERY * 2)
            .expect("the delete is saved");
        assert_eq!(saved.messages.len(), 1);
    }

    #[test]
    fn saved_messages_come_back_only_for_their_own_server_and_account() {
        let history = saved(1..4, 1);
        assert!(
            history
                .clone()
                .for_account("http://x", Some("b@x"))
                .is_none()
        );
        assert!(
            history
                .clone()
                .for_account("http://y", Some("a@x"))
                .is_none()
        );
        let back = history.for_account("http://x", Some("a@x")).unwrap();
        assert_eq!(back.iter().map(|m| m.id).collect::<Vec<_>>(), [1, 2, 3]);
    }
}
