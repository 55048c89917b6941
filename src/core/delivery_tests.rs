//! Delivery under refusal and attack: refused reads never leave a gap, another member cannot
//! claim or suppress our messages, refused messages stay with Retry and Discard, pages that do
//! not fit shrink, and a server coming back is noticed at once.

use std::time::Duration;

use serde_json::{Value, json};

use super::session::*;
use super::session_tests::*;
use super::stored_tests::stored;

fn error(uid: &Value, code: &str) -> Value {
    json!({"type":"items","status":"error","uid":uid,"error":{"code":code,"message":code}})
}

/// Drop the socket, come back and re-subscribe: returns the catch-up read asked for.
fn back_online(rig: &mut Rig, token: &str) -> Value {
    let auth = rig.reconnect();
    let sent = rig.auth_ok(&auth, token);
    let subscribe = find(&sent, "subscribe", None).unwrap().clone();
    only(&rig.frame(json!({"type":"subscription","event":"init","uid":subscribe["uid"]})))
}

#[test]
fn a_refused_catch_up_is_asked_again_and_the_cursor_never_passes_the_gap() {
    let mut rig = Rig::new();
    rig.online(&[1, 2]);
    let read = back_online(&mut rig, "r2");
    assert_eq!(read["query"]["filter"]["id"]["_gt"], 2);
    assert!(
        rig.frame(error(&read["uid"], "INTERNAL_SERVER_ERROR"))
            .is_empty()
    );
    assert!(!rig.s.history_loaded(), "a refused read is not a sync");
    assert!(rig.s.notice().unwrap().contains("trying again"));
    // Live events go on meanwhile: they must not move the cursor past 3..9.
    rig.frame(json!({"type":"subscription","event":"create","data":[msg(10)]}));
    assert_eq!(rig.s.complete_through(), Some(2));
    // The same read goes again after the backoff, not before.
    assert!(frames(&rig.advance(Duration::from_millis(400))).is_empty());
    let again = only(&rig.advance(Duration::from_millis(200)));
    assert_eq!(again, read);
    // Refused again: the wait doubles.
    rig.frame(error(&read["uid"], "FORBIDDEN"));
    assert!(frames(&rig.advance(Duration::from_millis(900))).is_empty());
    assert_eq!(only(&rig.advance(Duration::from_millis(200))), read);
    rig.frame(
        json!({"type":"items","data":(3..=10).map(msg).collect::<Vec<_>>(),"uid":read["uid"]}),
    );
    assert!(rig.s.history_loaded());
    assert_eq!(rig.s.complete_through(), Some(10));
    assert_eq!(ids(&rig.s), (1..=10).collect::<Vec<_>>());
    assert_eq!(rig.s.notice(), None, "the read's trouble is over");
}

#[test]
fn a_refused_first_read_is_asked_again() {
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]})));
    rig.frame(error(&read["uid"], "FORBIDDEN"));
    assert!(!rig.s.history_loaded());
    assert_eq!(only(&rig.advance(RETRY_FIRST)), read);
}

#[test]
fn a_refused_lookup_is_asked_again_and_the_outbox_moves_on() {
    let mut rig = Rig::known();
    rig.online(&[1]);
    let create = only(&rig.s.send("once", rig.now).unwrap());
    rig.s.send("twice", rig.now).unwrap();
    let key = create["data"]["client_key"].clone();
    let lookup = only(&rig.frame(json!({"type":"items","status":"error",
        "error":{"code":"RECORD_NOT_UNIQUE","message":"Value has to be unique."}})));
    rig.frame(error(&lookup["uid"], "INTERNAL_SERVER_ERROR"));
    assert_eq!(
        only(&rig.advance(RETRY_FIRST)),
        lookup,
        "the lookup goes again"
    );
    let mut row = msg(2);
    row["client_key"] = key;
    let next = only(&rig.frame(json!({"type":"items","data":[row],"uid":lookup["uid"]})));
    assert_eq!(next["data"]["content"], "twice", "then the queue moves on");
}

#[test]
fn client_keys_are_32_hex_digits_and_never_repeat() {
    // That they come from the OS (getrandom), not a seeded generator, is read in outbox.rs;
    // this checks their form and that a thousand never collide.
    let keys: std::collections::HashSet<String> = (0..1000).map(|_| new_client_key()).collect();
    assert_eq!(keys.len(), 1000);
    assert!(
        keys.iter()
            .all(|k| k.len() == 32 && k.chars().all(|c| c.is_ascii_hexdigit()))
    );
}

#[test]
fn someone_elses_row_under_our_key_confirms_nothing_and_ours_is_sent_again() {
    let mut rig = Rig::known();
    rig.online(&[1]);
    let create = only(&rig.s.send("mine", rig.now).unwrap());
    let key = create["data"]["client_key"].clone();
    // Bob got hold of the key and posted with it first: his row arrives live.
    let mut bobs = msg(2);
    bobs["client_key"] = key.clone();
    bobs["content"] = json!("bob's words");
    bobs["user_created"] = json!({"id": "u-bob", "first_name": "Bob"});
    rig.frame(json!({"type":"subscription","event":"create","data":[bobs.clone()]}));
    assert_eq!(
        rig.s.outbox().len(),
        1,
        "Bob's row does not confirm Alice's message"
    );
    // Alice's create is refused as a duplicate; the lookup asks the server for HER row only.
    let lookup = only(&rig.frame(json!({"type":"items","status":"error",
        "error":{"code":"RECORD_NOT_UNIQUE","message":"Value has to be unique."}})));
    let filter = &lookup["query"]["filter"]["_and"];
    assert_eq!(filter[0]["client_key"]["_eq"], key);
    assert_eq!(filter[1]["user_created"]["_eq"], "$CURRENT_USER");
    // Not found: sent once more as it is (the refusal might have raced our own insert)...
    let again = only(&rig.frame(json!({"type":"items","data":[],"uid":lookup["uid"]})));
    assert_eq!(again["data"]["client_key"], key, "the same key once more");
    let lookup = only(
        &rig.frame(json!({"type":"items","status":"error","uid":again["uid"],
        "error":{"code":"RECORD_NOT_UNIQUE","message":"Value has to be unique."}})),
    );
    // ...refused and not found twice: the key is someone else's.
    let resent = only(&rig.frame(json!({"type":"items","data":[],"uid":lookup["uid"]})));
    assert_eq!(resent["action"], "create");
    assert_eq!(resent["data"]["content"], "mine");
    assert_ne!(resent["data"]["client_key"], key, "under a fresh key");
    let mut hers = msg(3);
    hers["content"] = json!("mine");
    hers["client_key"] = resent["data"]["client_key"].clone();
    rig.frame(json!({"type":"items","data":hers,"uid":resent["uid"]}));
    assert!(rig.s.outbox().is_empty());
    assert_eq!(rig.s.display_name(), Some("Alice"));
    let bob_row = rig.s.timeline().get(2).unwrap().clone();
    assert!(!rig.s.is_mine(&bob_row), "Bob is never taken for 'you'");
    assert!(rig.s.is_mine(rig.s.timeline().get(3).unwrap()));
}

#[test]
fn a_row_under_our_key_from_an_unknown_author_waits_for_our_own_reply() {
    // Before we know who we are, a row with our key proves nothing: the create's own reply
    // (or our lookup) decides.
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("mine", rig.now).unwrap());
    let mut bobs = msg(2);
    bobs["client_key"] = create["data"]["client_key"].clone();
    bobs["user_created"] = json!({"id": "u-bob", "first_name": "Bob"});
    rig.frame(json!({"type":"subscription","event":"create","data":[bobs]}));
    assert_eq!(rig.s.outbox().len(), 1);
    assert_eq!(rig.s.me(), None, "not learnt from someone else's row");
}

#[test]
fn passing_server_errors_are_retried_and_final_refusals_kept_with_retry_and_discard() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("hello", rig.now).unwrap());
    rig.frame(error(&create["uid"], "INTERNAL_SERVER_ERROR"));
    assert_eq!(rig.s.outbox()[0].state, OutgoingState::InFlight);
    assert_eq!(
        only(&rig.advance(RETRY_FIRST)),
        create,
        "sent again by itself"
    );
    rig.frame(error(&create["uid"], "FAILED_VALIDATION"));
    assert!(matches!(&rig.s.outbox()[0].state, OutgoingState::Failed(_)));
    let later = frames(&rig.advance(RETRY_MAX * 2));
    assert!(
        find(&later, "items", Some("create")).is_none(),
        "never by itself"
    );
    // Refused messages are stored with their reason: they outlive a restart.
    let (_, stored) = stored(&mut rig).expect("stored");
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0]
            .failed
            .as_deref()
            .unwrap()
            .contains("FAILED_VALIDATION")
    );
    let mut after_restart = Rig::new();
    after_restart
        .s
        .resume(server(), None, "r1", stored.clone(), after_restart.now);
    assert!(matches!(
        &after_restart.s.outbox()[0].state,
        OutgoingState::Failed(_)
    ));
    // Retry sends it again (same key: nothing was stored under it); Discard drops it.
    let key = stored[0].client_key.clone();
    let again = only(&rig.s.retry_failed(&key, rig.now));
    assert_eq!(again["data"]["client_key"], json!(key));
    rig.frame(error(&again["uid"], "FORBIDDEN"));
    assert_eq!(rig.s.failed().count(), 1);
    rig.s.discard(&key, rig.now);
    assert!(rig.s.outbox().is_empty());
    assert_eq!(stored_outbox_len(&mut rig), Some(0));
}

fn stored_outbox_len(rig: &mut Rig) -> Option<usize> {
    stored(rig).map(|(_, outbox)| outbox.len())
}

#[test]
fn a_page_cut_off_in_transit_is_asked_for_again_smaller() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let read = back_online(&mut rig, "r2");
    assert_eq!(read["query"]["limit"], CATCH_UP_PAGE);
    // The page was too big for the socket: the connection dies while it comes.
    let read = back_online(&mut rig, "r3");
    assert_eq!(read["query"]["limit"], CATCH_UP_PAGE / 2);
    let read = back_online(&mut rig, "r4");
    assert_eq!(read["query"]["limit"], CATCH_UP_PAGE / 4);
    // A page that arrives lets the next one grow again.
    let page: Vec<Value> = (2..2 + (CATCH_UP_PAGE / 4) as i64).map(msg).collect();
    let next = only(&rig.frame(json!({"type":"items","data":page,"uid":read["uid"]})));
    assert_eq!(next["query"]["limit"], CATCH_UP_PAGE / 2);
}

#[test]
fn an_unreachable_server_is_probed_and_joined_as_soon_as_it_answers() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    // Online, then the server goes: the reconnect finds nothing listening.
    rig.s.closed("reset", rig.now);
    let Phase::Reconnecting { at } = rig.s.phase() else {
        panic!()
    };
    rig.advance(at - rig.now);
    rig.s.closed("Connection refused (os error 111)", rig.now);
    let Phase::Reconnecting { at } = rig.s.phase() else {
        panic!()
    };
    assert!(at - rig.now > PROBE_EVERY * 2);
    assert_eq!(
        rig.advance(PROBE_EVERY),
        [Effect::ProbeServer("http://127.0.0.1:8055".into())]
    );
    assert_eq!(
        rig.s.server_answered(rig.now),
        [Effect::Connect("ws://127.0.0.1:8055/websocket".into())]
    );
    // It answered pings but still refused the socket: no more early attempts until the
    // backoff's own time (a server in that state is not hammered).
    rig.s.closed("Connection refused (os error 111)", rig.now);
    assert!(rig.advance(PROBE_EVERY).is_empty());
    assert!(rig.s.server_answered(rig.now).is_empty());
}

#[test]
fn a_server_that_answers_but_fails_is_not_probed() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    rig.s.closed("the server closed the connection", rig.now);
    assert!(rig.advance(PROBE_EVERY).is_empty());
    assert!(rig.s.server_answered(rig.now).is_empty());
}

#[test]
fn an_absurd_retry_after_neither_panics_nor_stalls_for_long() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("busy", rig.now).unwrap());
    rig.frame(
        json!({"type":"server","status":"error","error":{"code":"REQUESTS_EXCEEDED",
        "message":"Too many requests, retry after 18446744073709551615ms."}}),
    );
    let later = frames(&rig.advance(Duration::from_secs(61)));
    assert!(later.contains(&create), "{later:?}");
}

#[test]
fn an_event_overtaken_by_a_larger_id_just_before_a_cut_is_still_caught_up() {
    // Seen with the chaos proxy: Directus sent the event of id 4 before that of id 3 (it reads
    // each event's row for each subscriber, and those reads finish in any order), and the
    // socket died in between. A catch-up after 4 would never fetch 3.
    let mut rig = Rig::new();
    rig.online(&[1, 2]);
    rig.advance(SETTLE + Duration::from_secs(1));
    rig.frame(json!({"type":"subscription","event":"create","data":[msg(4)]}));
    assert_eq!(rig.s.complete_through(), Some(4));
    let read = back_online(&mut rig, "r2");
    assert_eq!(
        read["query"]["filter"]["id"]["_gt"], 2,
        "from what was settled before the cut"
    );
    rig.frame(json!({"type":"items","data":[msg(3), msg(4)],"uid":read["uid"]}));
    assert_eq!(ids(&rig.s), [1, 2, 3, 4]);
    // Once the newer ids have settled (the socket went on talking: the server's heartbeat),
    // a later catch-up starts after them.
    rig.advance(SETTLE + Duration::from_secs(1));
    rig.frame(json!({"type":"ping"}));
    let read = back_online(&mut rig, "r3");
    assert_eq!(read["query"]["filter"]["id"]["_gt"], 4);
}

#[test]
fn unsent_messages_go_out_only_as_their_owner_and_wait_visibly_for_them() {
    // Alice wrote offline; her token was refused; Bob logs in on the same device.
    let mut rig = Rig::new();
    rig.s
        .restore(server(), Some("alice@example.com".into()), Vec::new());
    rig.s.send("alice offline", rig.now).unwrap();
    let (_, stored) = stored(&mut rig).expect("stored");
    let owner = "alice@example.com at http://127.0.0.1:8055";
    assert_eq!(stored[0].owner.as_deref(), Some(owner));
    rig.s.login(server(), "bob@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    assert!(
        find(&sent, "items", Some("create")).is_none(),
        "Alice's message is not posted as Bob's"
    );
    assert_eq!(rig.s.unsent_by_owner(), [(Some(owner.to_owned()), 1)]);
    assert!(!rig.s.writes_as(&rig.s.outbox()[0]));
    assert!(
        rig.s.outbox_settled(),
        "Bob's run does not wait for Alice's message"
    );
    // Still stored for Alice, and Bob may discard it.
    let key = rig.s.outbox()[0].client_key.clone();
    rig.s.discard(&key, rig.now);
    assert!(rig.s.outbox().is_empty());
}

#[test]
fn a_flood_keeps_the_newest_messages_within_the_bound_and_scroll_back_reads_the_rest_again() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let flood = KEEP_MESSAGES as i64 + 2_000;
    for id in 2..=flood {
        rig.frame(json!({"type":"subscription","event":"create","data":[msg(id)]}));
    }
    assert_eq!(rig.s.timeline().len(), KEEP_MESSAGES);
    assert_eq!(rig.s.timeline().newest_id(), Some(flood));
    assert!(
        !rig.s.reached_start(),
        "what went is read again on scroll-back"
    );
    let older = only(&rig.s.load_older(rig.now));
    assert_eq!(
        older["query"]["filter"]["id"]["_lt"],
        flood - KEEP_MESSAGES as i64 + 1
    );
    // Large messages: bounded by their text too.
    let big = "x".repeat(256 * 1024);
    for id in flood + 1..=flood + 300 {
        let mut m = msg(id);
        m["content"] = json!(big);
        rig.frame(json!({"type":"subscription","event":"create","data":[m]}));
    }
    let bytes: usize = rig.s.timeline().iter().map(|m| m.content.len()).sum();
    assert!(bytes <= KEEP_BYTES, "{bytes} bytes kept");
}

#[test]
fn a_uidless_refusal_racing_our_own_insert_does_not_post_twice() {
    // c1 was sent twice (no answer within the timeout); its late second copy is refused as a
    // duplicate without a uid while c2 is on its way, and gets pinned on c2. The lookup runs
    // before c2's insert is visible and finds nothing: c2 must not be re-keyed (posted twice).
    let mut rig = Rig::known();
    rig.online(&[1]);
    rig.s.send("c2", rig.now).unwrap();
    let create = rig.s.outbox()[0].client_key.clone();
    let lookup = only(&rig.frame(json!({"type":"items","status":"error",
        "error":{"code":"RECORD_NOT_UNIQUE","message":"Value has to be unique."}})));
    let again = only(&rig.frame(json!({"type":"items","data":[],"uid":lookup["uid"]})));
    assert_eq!(
        again["data"]["client_key"],
        json!(create),
        "same key: never twice"
    );
    // Its own refusal now (c2 was stored), then the lookup finds it.
    let lookup = only(
        &rig.frame(json!({"type":"items","status":"error","uid":again["uid"],
        "error":{"code":"RECORD_NOT_UNIQUE","message":"Value has to be unique."}})),
    );
    let mut row = msg(2);
    row["client_key"] = json!(create);
    rig.frame(json!({"type":"items","data":[row],"uid":lookup["uid"]}));
    assert!(rig.s.outbox().is_empty());
}

#[test]
fn other_uidless_errors_are_not_pinned_on_the_message_on_its_way() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("hello", rig.now).unwrap());
    rig.frame(json!({"type":"items","status":"error","error":{"code":"FORBIDDEN"}}));
    assert_eq!(rig.s.outbox()[0].state, OutgoingState::InFlight);
    let mut row = msg(1);
    row["client_key"] = create["data"]["client_key"].clone();
    rig.frame(json!({"type":"items","data":row,"uid":create["uid"]}));
    assert!(rig.s.outbox().is_empty(), "its real reply still counts");
}

#[test]
fn a_message_the_server_keeps_choking_on_stops_holding_up_the_others() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("poison", rig.now).unwrap());
    rig.s.send("next", rig.now).unwrap();
    let mut wait = RETRY_FIRST;
    for _ in 0..5 {
        rig.frame(error(&create["uid"], "INTERNAL_SERVER_ERROR"));
        assert_eq!(only(&rig.advance(wait)), create);
        wait *= 2;
    }
    let next = only(&rig.frame(error(&create["uid"], "INTERNAL_SERVER_ERROR")));
    assert_eq!(next["data"]["content"], "next", "the one behind goes out");
    assert!(matches!(&rig.s.outbox()[0].state, OutgoingState::Failed(_)));
}

#[test]
fn who_am_i_dropped_by_a_reconnect_is_asked_again() {
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]})));
    let sent = frames(&rig.frame(json!({"type":"items","data":[msg(1)],"uid":read["uid"]})));
    assert!(find_uid(&sent, "profile").is_some());
    assert!(!rig.s.identity_settled());
    // The socket dies before the answer.
    let read = back_online(&mut rig, "r2");
    let sent = frames(&rig.frame(json!({"type":"items","data":[],"uid":read["uid"]})));
    let who = find_uid(&sent, "profile").expect("asked again");
    rig.frame(
        json!({"type":"subscription","event":"init","data":[{"id":"u-alice"}],"uid":who["uid"]}),
    );
    assert!(rig.s.identity_settled());
}

#[test]
fn an_edit_of_a_message_never_loaded_does_not_punch_a_hole_in_history() {
    let mut rig = Rig::new();
    let history: Vec<i64> = (50..100).collect();
    rig.online(&history);
    let mut old = msg(3);
    old["content"] = json!("edited long ago");
    rig.frame(json!({"type":"subscription","event":"update","data":[old]}));
    assert_eq!(ids(&rig.s), history, "not shown as the oldest");
    let older = only(&rig.s.load_older(rig.now));
    assert_eq!(older["query"]["filter"]["id"]["_lt"], 50);
}

#[test]
fn a_long_outage_still_catches_up_what_had_not_settled_before_the_cut() {
    let mut rig = Rig::new();
    rig.online(&[1, 2]);
    rig.advance(SETTLE + Duration::from_secs(1));
    rig.frame(json!({"type":"subscription","event":"create","data":[msg(4)]}));
    // The server is gone for longer than SETTLE.
    let cut = rig.now;
    rig.s.closed("reset", rig.now);
    for _ in 0..5 {
        let Phase::Reconnecting { at } = rig.s.phase() else {
            panic!()
        };
        rig.advance(at - rig.now);
        rig.s.closed("Connection refused (os error 111)", rig.now);
    }
    assert!(rig.now - cut > SETTLE);
    let read = back_online(&mut rig, "r2");
    assert_eq!(
        read["query"]["filter"]["id"]["_gt"], 2,
        "from before the cut: 3 is read"
    );
}
