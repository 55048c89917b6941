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
