//! Events the server never sent while the socket stayed up (a database restart, a Redis blink
//! on a cluster): found by the recheck and read (see `session/recheck.rs`).

use std::time::Duration;

use serde_json::json;

use super::session::*;
use super::session_tests::*;

#[test]
fn an_event_the_server_never_sent_is_found_by_the_next_recheck() {
    let mut rig = Rig::new();
    rig.online(&[1, 2]);
    rig.s.take_fresh();
    let live = rig.live.clone();
    let event = |id| json!({"type":"subscription","event":"create","data":[msg(id)],"uid":live});
    rig.frame(event(3));
    // 4's event is dropped by the server; 5's moves the cursor past the gap.
    rig.advance(Duration::from_secs(1));
    rig.frame(event(5));
    assert_eq!(ids(&rig.s), [1, 2, 3, 5]);
    let sent = frames(&rig.advance(RECHECK_EVERY));
    let recheck = find_uid(&sent, "recheck").expect("a recheck is due");
    assert_eq!(recheck["query"]["fields"], json!(["id"]));
    assert_eq!(recheck["query"]["filter"]["id"]["_gt"], 2);
    let rows = json!([{"id":3},{"id":4},{"id":5}]);
    let read = only(&rig.frame(json!({"type":"items","data":rows,"uid":recheck["uid"]})));
    assert_eq!(read["query"]["filter"]["id"]["_in"], json!([4]));
    rig.frame(json!({"type":"items","data":[msg(4)],"uid":read["uid"]}));
    assert_eq!(ids(&rig.s), [1, 2, 3, 4, 5]);
    assert!(rig.s.take_fresh().contains(&4));
    // Nothing missing: nothing more is read.
    let sent = frames(&rig.advance(RECHECK_EVERY));
    let recheck = find_uid(&sent, "recheck").expect("the next one");
    let rows = json!([{"id":3},{"id":4},{"id":5}]);
    assert!(
        frames(&rig.frame(json!({"type":"items","data":rows,"uid":recheck["uid"]}))).is_empty()
    );
}

#[test]
fn a_request_left_unanswered_brings_the_recheck_forward() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let create = only(&rig.s.send("into the void", rig.now).unwrap());
    // The server dropped it (its database restarting): it goes again, and a recheck with it.
    let sent = frames(&rig.advance(REQUEST_TIMEOUT));
    assert!(sent.iter().any(|f| f["uid"] == create["uid"]), "{sent:?}");
    assert!(find_uid(&sent, "recheck").is_some(), "{sent:?}");
    assert!(REQUEST_TIMEOUT < RECHECK_EVERY && RECHECK_EVERY < RECHECK_SPAN);
}

#[test]
fn a_recheck_due_while_it_cannot_go_never_leaves_a_deadline_in_the_past() {
    // The app repaints and headless loops at the next deadline: one in the past spins a core.
    let mut rig = Rig::new();
    rig.online(&[1]);
    // One left unanswered past its timeout brings the next forward; it still waits for it.
    let sent = frames(&rig.advance(RECHECK_EVERY));
    assert!(find_uid(&sent, "recheck").is_some(), "{sent:?}");
    if let Some(ping) = find_uid(&sent, "ping") {
        rig.frame(json!({"type":"pong","uid":ping["uid"]}));
    }
    let sent = frames(&rig.advance(REQUEST_TIMEOUT));
    assert_eq!(
        sent.iter().filter(|f| f["action"] == "read").count(),
        1,
        "{sent:?}"
    );
    assert!(rig.s.next_deadline().is_some_and(|d| d > rig.now));
    // Offline for longer than a period: the server cannot be reached again and again.
    let cut = rig.now;
    rig.s.closed("connection reset", rig.now);
    while rig.now < cut + RECHECK_EVERY * 2 {
        let Phase::Reconnecting { at } = rig.s.phase() else {
            panic!("{:?}", rig.s.phase());
        };
        rig.now = at;
        rig.s.tick(rig.now);
        rig.s.closed("connection refused", rig.now);
        assert!(rig.s.next_deadline().is_some_and(|d| d > rig.now));
    }
}

#[test]
fn a_flood_of_ids_costs_a_bounded_number_of_reads() {
    // A member posts thousands of messages at once (REST createMany) that never came live.
    let mut rig = Rig::new();
    rig.online(&[1]);
    let mut sent = frames(&rig.advance(RECHECK_EVERY));
    let mut pages = 0;
    let mut missing_reads = 0;
    let mut next = 2;
    while let Some(recheck) = find_uid(&sent, "recheck").cloned() {
        pages += 1;
        assert!(pages <= 4, "at most four pages of ids per recheck");
        let rows: Vec<_> = (next..next + 500).map(|id| json!({"id": id})).collect();
        next += 500;
        sent = frames(&rig.frame(json!({"type":"items","data":rows,"uid":recheck["uid"]})));
        for read in sent
            .iter()
            .filter(|f| f["uid"].as_str().unwrap_or("").starts_with("missing"))
        {
            missing_reads += 1;
            let asked = read["query"]["filter"]["id"]["_in"]
                .as_array()
                .unwrap()
                .len();
            assert!(asked <= 50, "{asked} whole messages in one read");
        }
    }
    assert_eq!((pages, missing_reads), (4, 40));
}
