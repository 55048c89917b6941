//! Scroll-back through history, and editing and deleting one's own messages.

use serde_json::{Value, json};

use super::session::*;
use super::session_tests::*;

pub(super) fn page(ids: std::ops::RangeInclusive<i64>) -> Vec<Value> {
    ids.rev().map(msg).collect()
}

#[test]
fn scroll_back_pages_down_to_the_first_message() {
    let mut rig = Rig::new();
    rig.online(&(51..=100).collect::<Vec<_>>());
    assert!(
        !rig.s.reached_start(),
        "a full first page: there may be more"
    );
    let older = only(&rig.s.load_older(rig.now));
    assert_eq!(older["query"]["filter"]["id"]["_lt"], 51);
    assert_eq!(older["query"]["sort"], json!(["-id"]));
    assert_eq!(older["query"]["limit"], HISTORY_PAGE);
    assert!(rig.s.loading_older());
    assert!(rig.s.load_older(rig.now).is_empty(), "one page at a time");
    rig.s.take_fresh();
    rig.frame(json!({"type":"items","data":page(1..=50),"uid":older["uid"]}));
    assert_eq!(ids(&rig.s), (1..=100).collect::<Vec<_>>());
    assert_eq!(rig.s.take_fresh().len(), 50);
    assert!(!rig.s.loading_older());
    // A full page again; the next one is empty: that was the first message.
    let older = only(&rig.s.load_older(rig.now));
    assert_eq!(older["query"]["filter"]["id"]["_lt"], 1);
    rig.frame(json!({"type":"items","data":[],"uid":older["uid"]}));
    assert!(rig.s.reached_start());
    assert!(rig.s.load_older(rig.now).is_empty());
    // Scroll-back never moves the catch-up cursor.
    assert_eq!(rig.s.complete_through(), Some(100));
}

#[test]
fn a_short_first_page_is_the_whole_history() {
    let mut rig = Rig::new();
    rig.online(&[1, 2, 3]);
    assert!(rig.s.reached_start());
    assert!(rig.s.load_older(rig.now).is_empty());
}

/// Logged in as Alice with her message 1 and Bob's message 2, Alice known as u-alice.
pub(super) fn alice_with_history() -> Rig {
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]})));
    let mut bobs = msg(2);
    bobs["user_created"] = json!({"id": "u-bob", "first_name": "Bob"});
    let sent = frames(&rig.frame(json!({"type":"items","data":[bobs, msg(1)],"uid":read["uid"]})));
    let who = find_uid(&sent, "profile").unwrap();
    rig.frame(json!({"type":"subscription","event":"init","data":[{"id":"u-alice","first_name":"Alice"}],"uid":who["uid"]}));
    rig.answer_rooms(&sent);
    rig
}

#[test]
fn own_messages_are_edited_and_deleted_others_are_not() {
    let mut rig = alice_with_history();
    assert_eq!(rig.s.last_own().map(|m| m.id), Some(1));
    assert!(rig.s.edit(2, "not mine", rig.now).is_err());
    assert!(rig.s.delete(2, rig.now).is_err());
    assert!(rig.s.edit(1, "  ", rig.now).unwrap_err().contains("delete"));
    assert!(
        rig.s.edit(1, "m1", rig.now).unwrap().is_empty(),
        "unchanged: nothing sent"
    );

    let update = only(&rig.s.edit(1, "fixed typo", rig.now).unwrap());
    assert_eq!(
        (update["action"].as_str(), update["id"].as_i64()),
        (Some("update"), Some(1))
    );
    assert_eq!(update["data"], json!({"content": "fixed typo"}));
    let mut fixed = msg(1);
    fixed["content"] = json!("fixed typo");
    fixed["date_updated"] = json!("2026-11-30T10:05:00.000Z");
    rig.frame(json!({"type":"items","data":fixed,"uid":update["uid"]}));
    let shown = rig.s.timeline().get(1).unwrap();
    assert_eq!(shown.content, "fixed typo");
    assert!(shown.date_updated.is_some(), "shown as edited");

    let delete = only(&rig.s.delete(1, rig.now).unwrap());
    assert_eq!(delete["action"], "delete");
    assert_eq!(delete["id"], 1);
    rig.frame(json!({"type":"items","data":1,"uid":delete["uid"]}));
    assert_eq!(ids(&rig.s), [2]);

    // Offline: said, nothing sent.
    let mut own = msg(3);
    own["content"] = json!("x");
    rig.frame(json!({"type":"subscription","event":"create","data":[own]}));
    rig.s.closed("reset", rig.now);
    assert!(rig.s.edit(3, "y", rig.now).unwrap_err().contains("offline"));
}

#[test]
fn a_forbidden_edit_hides_the_actions_and_says_why_once() {
    let mut rig = alice_with_history();
    let update = only(&rig.s.edit(1, "new text", rig.now).unwrap());
    rig.frame(json!({"type":"items","status":"error","uid":update["uid"],
        "error":{"code":"FORBIDDEN","message":"You don't have permission to access this."}}));
    assert!(rig.s.edits_refused().unwrap().contains("FORBIDDEN"));
    assert!(rig.s.notice().unwrap().contains("edit or delete"));
    let mine = rig.s.timeline().get(1).unwrap().clone();
    assert!(rig.s.is_mine(&mine));
    assert!(!rig.s.can_change(&mine), "actions hidden");
    assert!(rig.s.last_own().is_none(), "Up has nothing to edit");
    assert!(rig.s.delete(1, rig.now).is_err());
    assert_eq!(rig.s.timeline().get(1).unwrap().content, "m1", "unchanged");
}
