//! The session's side of everyday use: a delete waiting out its Undo time, and the messages
//! saved on the device shown until the server's first page replaces them.

use serde_json::json;

use super::history_tests::alice_with_history;
use super::protocol::MessageItem;
use super::session::*;
use super::session_tests::*;

#[test]
fn a_delete_waits_for_its_undo_time_then_goes_out_once() {
    let mut rig = alice_with_history();
    assert!(rig.s.delete_later(2, rig.now).is_err(), "not hers");
    assert!(rig.s.delete_later(1, rig.now).unwrap().is_empty());
    assert_eq!(rig.s.deleting(), Some(1));
    assert!(frames(&rig.advance(UNDO_DELETE / 2)).is_empty());
    assert!(rig.s.next_deadline().unwrap() <= rig.now + UNDO_DELETE);
    let sent = frames(&rig.advance(UNDO_DELETE));
    let delete = find(&sent, "items", Some("delete")).expect("sent when due");
    assert_eq!(delete["id"], 1);
    assert_eq!(rig.s.deleting(), None);
    assert!(frames(&rig.advance(UNDO_DELETE)).is_empty(), "once");
}

#[test]
fn an_undone_delete_is_never_sent() {
    let mut rig = alice_with_history();
    rig.s.delete_later(1, rig.now).unwrap();
    rig.s.undo_delete();
    let sent = frames(&rig.advance(UNDO_DELETE * 2));
    assert!(find(&sent, "items", Some("delete")).is_none());
    assert_eq!(ids(&rig.s), [1, 2]);
}

#[test]
fn a_waiting_delete_goes_out_before_logout_and_is_dropped_when_deleted_elsewhere() {
    let mut rig = alice_with_history();
    rig.s.delete_later(1, rig.now).unwrap();
    let effects = rig.s.logout(rig.now);
    let sent = frames(&effects);
    assert_eq!(find(&sent, "items", Some("delete")).unwrap()["id"], 1);
    assert!(
        matches!(effects[1], Effect::Disconnect),
        "before the socket closes: {effects:?}"
    );

    let mut rig = alice_with_history();
    rig.s.delete_later(1, rig.now).unwrap();
    rig.frame(json!({"type":"subscription","event":"delete","data":[1]}));
    assert_eq!(rig.s.deleting(), None);
    let sent = frames(&rig.advance(UNDO_DELETE * 2));
    assert!(find(&sent, "items", Some("delete")).is_none());
}

#[test]
fn a_delete_due_while_offline_goes_out_when_back() {
    let mut rig = alice_with_history();
    rig.s.delete_later(1, rig.now).unwrap();
    rig.s.closed("reset", rig.now);
    let sent = frames(&rig.advance(UNDO_DELETE));
    assert!(find(&sent, "items", Some("delete")).is_none());
    assert_eq!(rig.s.deleting(), Some(1), "still waiting");
}

fn saved(id: i64) -> MessageItem {
    MessageItem::from_json(&msg(id)).unwrap()
}

#[test]
fn saved_messages_show_until_the_first_page_then_only_what_the_server_holds_stays() {
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    rig.s.show_saved(vec![saved(1), saved(2), saved(3)]);
    assert!(rig.s.showing_saved());
    assert_eq!(ids(&rig.s), [1, 2, 3]);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]})));
    // A live message arrives between the subscription and the read's reply: it stays.
    rig.frame(json!({"type":"subscription","event":"create","data":[msg(5)]}));
    // The server no longer holds 1 (deleted meanwhile); 4 is new.
    rig.frame(json!({"type":"items","data":[msg(4), msg(3), msg(2)],"uid":read["uid"]}));
    assert!(!rig.s.showing_saved());
    assert_eq!(ids(&rig.s), [2, 3, 4, 5]);
}
