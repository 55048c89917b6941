//! The session driven frame by frame through login, reconnect with catch-up and
//! de-duplication, sends and their confirmation; and the `Rig` the other core tests drive it
//! with (connection life in connection_tests.rs, storage in stored_tests.rs, scroll-back and
//! edits in history_tests.rs, subscriptions and identity in subscription_tests.rs).

use std::time::Duration;

use serde_json::{Value, json};
use web_time::Instant;

use super::server_url::ServerUrl;
use super::session::*;

pub(super) fn frames(effects: &[Effect]) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(text) => Some(serde_json::from_str(text).unwrap()),
            _ => None,
        })
        .collect()
}

pub(super) fn only(effects: &[Effect]) -> Value {
    let sent = frames(effects);
    assert_eq!(sent.len(), 1, "{effects:?}");
    sent.into_iter().next().unwrap()
}

pub(super) fn find<'a>(sent: &'a [Value], kind: &str, action: Option<&str>) -> Option<&'a Value> {
    sent.iter()
        .find(|f| f["type"] == kind && action.is_none_or(|a| f["action"] == a))
}

pub(super) fn server() -> ServerUrl {
    ServerUrl::parse("http://127.0.0.1:8055").unwrap()
}

pub(super) fn msg(id: i64) -> Value {
    json!({"id": id, "content": format!("m{id}"), "date_created": "2026-11-30T10:00:00.000Z",
           "user_created": {"id": "u-alice", "first_name": "Alice"}})
}

/// The first name shown for message `id`.
pub(super) fn author_of(session: &Session, id: i64) -> Option<&str> {
    session.timeline().get(id)?.author.first_name.as_deref()
}

/// The sent frame whose uid starts with `prefix` (e.g. "resolve", "own-latest").
pub(super) fn find_uid<'a>(sent: &'a [Value], prefix: &str) -> Option<&'a Value> {
    sent.iter()
        .find(|f| f["uid"].as_str().is_some_and(|u| u.starts_with(prefix)))
}

/// A membership row as the rooms subscription sends it.
pub(super) fn membership(id: i64, room: &str, name: &str, last_read: Option<i64>) -> Value {
    let kind = if name.is_empty() { "dm" } else { "channel" };
    json!({"id": id, "last_read": last_read,
           "room": {"id": room, "name": name, "kind": kind, "private": name != "general"}})
}

pub(super) fn ids(session: &Session) -> Vec<i64> {
    session.timeline().iter().map(|m| m.id).collect()
}

pub(super) struct Rig {
    pub s: Session,
    pub now: Instant,
    /// What the first sync's profile subscription shows (nothing by default, as on a server
    /// with no read on users: then the session asks for its own newest message, and finds none).
    pub profile: Value,
    /// The uid of the messages subscription (its events carry it).
    pub live: Value,
    /// The memberships the rooms subscription's init shows (general only by default).
    pub rooms: Value,
    /// The uid of the rooms subscription.
    pub rooms_live: Value,
}

impl Rig {
    pub(super) fn new() -> Rig {
        Rig {
            s: Session::new(42),
            now: Instant::now(),
            profile: json!([]),
            live: Value::Null,
            rooms: json!([membership(1, "r-general", "general", None)]),
            rooms_live: Value::Null,
        }
    }

    /// A rig whose user has posted before: the session learns it is Alice at the first sync.
    pub(super) fn known() -> Rig {
        Rig {
            profile: json!([{"id": "u-alice", "first_name": "Alice"}]),
            ..Rig::new()
        }
    }

    pub(super) fn advance(&mut self, d: Duration) -> Vec<Effect> {
        self.now += d;
        self.s.tick(self.now)
    }

    pub(super) fn frame(&mut self, value: Value) -> Vec<Effect> {
        self.s.frame(&value.to_string(), self.now)
    }

    /// The refresh token the session asks to store now, if that changed.
    pub(super) fn saved(&mut self) -> Option<String> {
        match self.s.persist() {
            Some(Effect::SaveSession { refresh_token, .. }) => refresh_token,
            _ => None,
        }
    }

    /// Answer the auth frame with ok + `token`; returns the subscribe frame it triggers.
    pub(super) fn auth_ok(&mut self, auth: &Value, token: &str) -> Vec<Value> {
        let effects = self
            .frame(json!({"type":"auth","status":"ok","uid":auth["uid"],"refresh_token":token}));
        assert_eq!(
            self.saved().as_deref(),
            Some(token),
            "new token saved at once"
        );
        frames(&effects)
    }

    /// TOKEN_EXPIRED on a live socket: the re-auth it sends. The memberships' subscription is
    /// ended (renewed once caught up).
    pub(super) fn token_expired(&mut self) -> Value {
        let mut sent = frames(&self.frame(json!({"type":"auth","status":"error",
            "error":{"code":"TOKEN_EXPIRED","message":"Token expired."}})));
        let auth = sent.pop().expect("a re-auth");
        assert_eq!(auth["type"], "auth");
        for other in sent {
            assert_eq!(other, json!({"type":"unsubscribe","uid":self.rooms_live}));
        }
        auth
    }

    /// Auth ok after TOKEN_EXPIRED, then the catch-up read it asks for answered with `rows`:
    /// everything sent meanwhile.
    pub(super) fn back_after_expiry(
        &mut self,
        reauth: &Value,
        token: &str,
        rows: Vec<Value>,
    ) -> Vec<Value> {
        let mut sent = self.auth_ok(reauth, token);
        if let Some(read) = find_uid(&sent, "catch-up").cloned() {
            sent.extend(frames(
                &self.frame(json!({"type":"items","data":rows,"uid":read["uid"]})),
            ));
        }
        sent
    }

    /// Subscription init for `subscribe`, then the read it triggers, answered with `rows`.
    pub(super) fn sync(&mut self, subscribe: &Value, rows: Vec<Value>) -> Value {
        assert_eq!(subscribe["type"], "subscribe");
        self.live = subscribe["uid"].clone();
        let read =
            only(&self.frame(json!({"type":"subscription","event":"init","uid":subscribe["uid"]})));
        assert_eq!(read["action"], "read");
        let after = frames(&self.frame(json!({"type":"items","data":rows,"uid":read["uid"]})));
        assert!(self.s.history_loaded());
        // The first sync asks who we are: our own row of directus_users.
        if let Some(profile) = find_uid(&after, "profile") {
            assert_eq!(
                (&profile["type"], &profile["collection"]),
                (&json!("subscribe"), &json!("directus_users"))
            );
            assert_eq!(profile["query"]["filter"]["id"]["_eq"], "$CURRENT_USER");
            let data = self.profile.clone();
            let answer = frames(&self.frame(
                json!({"type":"subscription","event":"init","data":data,"uid":profile["uid"]}),
            ));
            assert_eq!(
                answer[0],
                json!({"type":"unsubscribe","uid":profile["uid"]}),
                "dropped once answered"
            );
            // Shown nothing: the author of our newest message instead (we never posted).
            if let Some(who) = find_uid(&answer, "own-latest") {
                assert_eq!(
                    who["query"]["filter"]["user_created"]["_eq"],
                    "$CURRENT_USER"
                );
                self.frame(json!({"type":"items","data":[],"uid":who["uid"]}));
            }
        }
        self.answer_rooms(&after);
        read
    }

    /// The room list (`self.rooms`) for the rooms subscription among `sent`, and the unread
    /// counts of its rooms (none).
    pub(super) fn answer_rooms(&mut self, sent: &[Value]) {
        if let Some(rooms) = find_uid(sent, "rooms") {
            assert_eq!(rooms["collection"], "room_members");
            self.rooms_live = rooms["uid"].clone();
            let data = self.rooms.clone();
            let answer = frames(&self.frame(
                json!({"type":"subscription","event":"init","data":data,"uid":rooms["uid"]}),
            ));
            if let Some(counts) = find_uid(&answer, "unread") {
                self.frame(json!({"type":"items","data":[],"uid":counts["uid"]}));
            }
        }
    }

    /// Password login through to a synced timeline holding `history` (newest-first reply).
    pub(super) fn online(&mut self, history: &[i64]) {
        let effects = self.s.login(server(), "alice@example.com", "pw", self.now);
        assert_eq!(
            effects,
            [Effect::Connect("ws://127.0.0.1:8055/websocket".into())]
        );
        let auth = only(&self.s.opened(self.now));
        assert_eq!(
            (
                auth["type"].as_str(),
                auth["email"].as_str(),
                auth["password"].as_str()
            ),
            (Some("auth"), Some("alice@example.com"), Some("pw"))
        );
        let sent = self.auth_ok(&auth, "r1");
        let read = self.sync(&sent[0], history.iter().rev().map(|&id| msg(id)).collect());
        assert_eq!(
            read["query"]["sort"],
            json!(["-id"]),
            "first read: the newest page"
        );
        assert_eq!(read["query"]["limit"], HISTORY_PAGE);
        assert_eq!(self.s.phase(), Phase::Online);
    }

    /// Drop the socket and come back: returns the auth frame of the new socket.
    pub(super) fn reconnect(&mut self) -> Value {
        assert!(self.s.closed("connection reset", self.now).is_empty());
        let Phase::Reconnecting { at } = self.s.phase() else {
            panic!("{:?}", self.s.phase())
        };
        let wait = at - self.now;
        assert_eq!(
            self.advance(wait),
            [Effect::Connect("ws://127.0.0.1:8055/websocket".into())]
        );
        only(&self.s.opened(self.now))
    }
}

#[test]
fn login_loads_the_newest_page_oldest_first() {
    let mut rig = Rig::new();
    rig.online(&[1, 2, 3]);
    assert_eq!(ids(&rig.s), [1, 2, 3]);
    assert_eq!(author_of(&rig.s, 2), Some("Alice"));
    assert_eq!(rig.s.take_fresh(), [3, 2, 1]);
    assert!(rig.s.take_fresh().is_empty());
}

#[test]
fn the_newest_refresh_token_is_kept_across_reconnects() {
    let mut rig = Rig::new();
    rig.online(&[]);
    for (old, new) in [("r1", "r2"), ("r2", "r3")] {
        let auth = rig.reconnect();
        assert_eq!(
            auth["refresh_token"], old,
            "reconnect authenticates with the newest token"
        );
        assert!(auth.get("password").is_none());
        let sent = rig.auth_ok(&auth, new);
        rig.sync(&sent[0], vec![]);
    }
    assert_eq!(rig.s.refresh_token(), Some("r3"));
}

#[test]
fn reconnect_catches_up_after_the_newest_id_without_doubles() {
    let mut rig = Rig::new();
    rig.online(&[1, 2, 3]);
    rig.s.take_fresh();
    let auth = rig.reconnect();
    let sent = rig.auth_ok(&auth, "r2");
    // A live event can come before the catch-up reply: both carry message 5.
    let init = rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]}));
    let read = only(&init);
    assert_eq!(read["query"]["filter"]["id"]["_gt"], 3);
    assert_eq!(read["query"]["sort"], json!(["id"]));
    rig.frame(json!({"type":"subscription","event":"create","data":[msg(5)],"uid":sent[0]["uid"]}));
    rig.frame(json!({"type":"items","data":[msg(4), msg(5)],"uid":read["uid"]}));
    assert_eq!(ids(&rig.s), [1, 2, 3, 4, 5]);
    assert_eq!(rig.s.take_fresh(), [5, 4]);
}

#[test]
fn catch_up_pages_until_a_short_page() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let auth = rig.reconnect();
    let sent = rig.auth_ok(&auth, "r2");
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]})));
    let page: Vec<Value> = (2..2 + CATCH_UP_PAGE as i64).map(msg).collect();
    let next = only(&rig.frame(json!({"type":"items","data":page,"uid":read["uid"]})));
    assert_eq!(
        next["query"]["filter"]["id"]["_gt"],
        1 + CATCH_UP_PAGE as i64
    );
    assert!(!rig.s.history_loaded());
    rig.frame(json!({"type":"items","data":[],"uid":next["uid"]}));
    assert!(rig.s.history_loaded());
    assert_eq!(rig.s.timeline().len(), 1 + CATCH_UP_PAGE as usize);
}

#[test]
fn sends_are_confirmed_by_reply_or_event_and_pending_until_then() {
    let mut rig = Rig::known();
    rig.online(&[]);
    let create = only(&rig.s.send("hello", rig.now).unwrap());
    assert_eq!(create["action"], "create");
    assert_eq!(create["data"]["content"], "hello");
    let key = create["data"]["client_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    // One at a time: the second waits for the first to be confirmed (ids follow typing order).
    assert!(rig.s.send("second", rig.now).unwrap().is_empty());
    assert_eq!(rig.s.outbox().len(), 2);
    // The event may overtake the reply; it confirms the message already.
    let mut stored = msg(9);
    stored["client_key"] = json!(key);
    let next = rig.frame(
        json!({"type":"subscription","event":"create","data":[stored.clone()],"uid":rig.live}),
    );
    assert_eq!(only(&next)["data"]["content"], "second");
    rig.frame(json!({"type":"items","data":stored,"uid":create["uid"]}));
    assert_eq!(ids(&rig.s), [9]);
    assert_eq!(rig.s.outbox().len(), 1);
}

#[test]
fn blank_and_oversized_messages_are_not_sent() {
    let mut rig = Rig::new();
    rig.online(&[]);
    assert!(rig.s.send("  \n\t ", rig.now).unwrap().is_empty());
    assert!(rig.s.outbox().is_empty());
    let huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
    let why = rig.s.send(&huge, rig.now).unwrap_err();
    assert!(why.contains("limit"), "{why}");
    assert!(rig.s.outbox().is_empty());
}

#[test]
fn messages_written_offline_go_out_after_reconnect() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    rig.s.closed("reset", rig.now);
    assert!(rig.s.send("while offline", rig.now).unwrap().is_empty());
    let Phase::Reconnecting { at } = rig.s.phase() else {
        panic!()
    };
    rig.advance(at - rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r2");
    let create = find(&sent, "items", Some("create")).expect("held message sent after auth ok");
    assert_eq!(create["data"]["content"], "while offline");
}

#[test]
fn a_create_lost_in_a_disconnect_is_not_posted_twice() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let create = only(&rig.s.send("once", rig.now).unwrap());
    let key = create["data"]["client_key"].clone();
    // The socket dies before the reply; Directus did store it.
    let auth = rig.reconnect();
    let sent = rig.auth_ok(&auth, "r2");
    let again = find(&sent, "items", Some("create")).unwrap();
    assert_eq!(again["data"]["client_key"], key, "same key on retry");
    // The unique key refuses the duplicate; the session fetches the stored one instead.
    // Directus 11.17.4 sends this error WITHOUT a uid.
    assert!(again["uid"].is_string());
    let lookup = only(&rig.frame(json!({"type":"items","status":"error",
        "error":{"code":"RECORD_NOT_UNIQUE","message":"Value has to be unique."}})));
    assert_eq!(
        lookup["query"]["filter"]["_and"][0]["client_key"]["_eq"],
        key
    );
    let mut stored = msg(2);
    stored["client_key"] = key;
    rig.frame(json!({"type":"items","data":[stored],"uid":lookup["uid"]}));
    assert!(rig.s.outbox().is_empty());
    assert_eq!(ids(&rig.s), [1, 2]);
}

#[test]
fn live_updates_and_deletes_with_ids_of_either_type() {
    let mut rig = Rig::new();
    rig.online(&[1, 2, 3]);
    let mut edited = msg(2);
    edited["content"] = json!("edited");
    rig.frame(json!({"type":"subscription","event":"update","data":[edited]}));
    assert_eq!(rig.s.timeline().get(2).unwrap().content, "edited");
    rig.frame(json!({"type":"subscription","event":"delete","data":[1, "3"]}));
    assert_eq!(ids(&rig.s), [2]);
}

#[test]
fn malformed_frames_are_ignored() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    for junk in [
        "",
        "{",
        "null",
        "[]",
        "{\"type\":\"items\",\"data\":\"x\",\"uid\":\"nobody\"}",
        "{\"type\":\"subscription\",\"event\":\"create\",\"data\":[{\"id\":\"x\"}]}",
    ] {
        assert!(rig.s.frame(junk, rig.now).is_empty(), "{junk}");
    }
    assert_eq!(ids(&rig.s), [1]);
    assert_eq!(rig.s.phase(), Phase::Online);
}

#[test]
fn a_catch_up_that_holds_the_message_in_flight_confirms_it_and_moves_on() {
    // Known to be Alice: a row of hers carrying the key confirms it (anyone else's would not).
    let mut rig = Rig::known();
    rig.online(&[1]);
    let first = only(&rig.s.send("first", rig.now).unwrap());
    rig.s.send("second", rig.now).unwrap();
    let auth = rig.reconnect();
    let sent = rig.auth_ok(&auth, "r2");
    let retry = find(&sent, "items", Some("create")).unwrap().clone();
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]})));
    // The catch-up shows "first" was stored before the disconnect.
    let mut stored = msg(2);
    stored["client_key"] = first["data"]["client_key"].clone();
    let after = frames(&rig.frame(json!({"type":"items","data":[stored],"uid":read["uid"]})));
    rig.answer_rooms(&after);
    let next = find(&after, "items", Some("create")).unwrap();
    assert_eq!(
        next["data"]["content"], "second",
        "the queue moves on at once"
    );
    // The retry's late uniqueness refusal changes nothing, and "first" is never sent again.
    rig.frame(json!({"type":"items","status":"error","uid":retry["uid"],"error":{"code":"RECORD_NOT_UNIQUE"}}));
    let later = frames(&rig.advance(REQUEST_TIMEOUT));
    assert!(
        later
            .iter()
            .all(|f| f["data"]["client_key"] != first["data"]["client_key"]),
        "{later:?}"
    );
    assert_eq!(rig.s.outbox().len(), 1);
}

#[test]
fn own_replies_before_the_first_read_do_not_hide_older_messages() {
    // Seen against Directus: Alice posts right after auth ok; her reply (id 2) arrives before
    // the subscription init. The first read must still bring Bob's id 1.
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    let create = only(&rig.s.send("alice 0", rig.now).unwrap());
    let mut mine = msg(2);
    mine["client_key"] = create["data"]["client_key"].clone();
    rig.frame(json!({"type":"items","data":mine,"uid":create["uid"]}));
    let read = rig.sync(&sent[0], vec![msg(2), msg(1)]);
    assert_eq!(
        read["query"]["sort"],
        json!(["-id"]),
        "a first read, not a catch-up after id 2"
    );
    assert_eq!(ids(&rig.s), [1, 2]);
}

#[test]
fn catch_up_starts_where_the_live_stream_stopped_not_at_our_newest_reply() {
    let mut rig = Rig::new();
    rig.online(&[1, 2]);
    rig.s.closed("reset", rig.now);
    rig.s.send("mine", rig.now).unwrap();
    let Phase::Reconnecting { at } = rig.s.phase() else {
        panic!()
    };
    rig.advance(at - rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r2");
    // Our held message goes out and is confirmed as id 9 before the catch-up is asked for;
    // Bob's 3..8 were posted while we were away.
    let create = find(&sent, "items", Some("create")).unwrap();
    let mut mine = msg(9);
    mine["client_key"] = create["data"]["client_key"].clone();
    rig.frame(json!({"type":"items","data":mine,"uid":create["uid"]}));
    let subscribe = find(&sent, "subscribe", None).unwrap().clone();
    let read =
        only(&rig.frame(json!({"type":"subscription","event":"init","uid":subscribe["uid"]})));
    assert_eq!(read["query"]["filter"]["id"]["_gt"], 2);
    rig.frame(
        json!({"type":"items","data":(3..=9).map(msg).collect::<Vec<_>>(),"uid":read["uid"]}),
    );
    assert_eq!(ids(&rig.s), (1..=9).collect::<Vec<_>>());
}

#[test]
fn a_persistent_session_keeps_trying_a_server_that_is_not_up_yet() {
    let mut rig = Rig {
        s: Session::new(7).persistent(),
        ..Rig::new()
    };
    rig.s.login(server(), "bot@example.com", "pw", rig.now);
    assert!(rig.s.closed("Connection refused", rig.now).is_empty());
    assert!(matches!(rig.s.phase(), Phase::Reconnecting { .. }));
    assert!(rig.s.error().unwrap().contains("Cannot reach the server"));
    let Phase::Reconnecting { at } = rig.s.phase() else {
        panic!()
    };
    assert_eq!(
        rig.advance(at - rig.now),
        [Effect::Connect("ws://127.0.0.1:8055/websocket".into())]
    );
    let auth = only(&rig.s.opened(rig.now));
    assert_eq!(auth["password"], "pw");
    rig.auth_ok(&auth, "r1");
    assert_eq!(rig.s.error(), None);
}

#[test]
fn an_auth_reply_after_the_connect_timeout_still_keeps_its_rotated_token() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let auth = rig.reconnect();
    assert_eq!(auth["refresh_token"], "r1");
    // Directus answers too late: we gave up on that socket and wait to reconnect.
    let gave_up = rig.advance(CONNECT_TIMEOUT);
    assert!(gave_up.contains(&Effect::Disconnect), "{gave_up:?}");
    rig.s.late_frame(
        &json!({"type":"auth","status":"ok","uid":auth["uid"],"refresh_token":"r2"}).to_string(),
    );
    assert_eq!(
        rig.saved().as_deref(),
        Some("r2"),
        "the live token is stored"
    );
    let Phase::Reconnecting { at } = rig.s.phase() else {
        panic!("{:?}", rig.s.phase())
    };
    rig.advance(at - rig.now);
    let auth = only(&rig.s.opened(rig.now));
    assert_eq!(auth["refresh_token"], "r2");
}
