//! Mentions in the session: counted per room by the server once the user's id is known, then
//! live (once each, not one's own, cleared by the read marker, taken back by a delete or an
//! edit), and names for ids mentioned that nobody has shown yet.

use serde_json::{Value, json};

use super::mention::token;
use super::rooms_tests::{first_page, membership_row};
use super::session_tests::*;

const ALICE: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const BOB: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const CAROL: &str = "16fd2706-8baf-433b-82eb-8c7fada847da";

fn by(id: i64, room: &str, (author, name): (&str, &str), content: &str) -> Value {
    let mut m = msg(id);
    m["room"] = json!(room);
    m["content"] = json!(content);
    m["user_created"] = json!({"id": author, "first_name": name});
    m
}

/// Alice in general (shown, read to 2) and design (read to 5), known by her UUID only after
/// the rooms: the mention counts wait for it. The server counts 1 mention in design (to 7).
fn alice() -> Rig {
    let mut rig = Rig::new();
    rig.rooms = json!([
        membership(1, "r-general", "general", Some(2)),
        membership(2, "r-design", "design", Some(5)),
    ]);
    let history = json!([by(2, "r-general", (BOB, "Bob"), "hi")]);
    let sent = first_page(&mut rig, history);
    let rooms = find_uid(&sent, "rooms").unwrap().clone();
    rig.rooms_live = rooms["uid"].clone();
    let data = rig.rooms.clone();
    let asked = frames(
        &rig.frame(json!({"type":"subscription","event":"init","data":data,"uid":rooms["uid"]})),
    );
    assert!(find_uid(&asked, "unread").is_some());
    assert!(
        find_uid(&asked, "mentions").is_none(),
        "who am I is not known yet"
    );
    let profile = find_uid(&sent, "profile").unwrap().clone();
    let asked = frames(&rig.frame(json!({"type":"subscription","event":"init",
        "uid":profile["uid"], "data":[{"id":ALICE,"first_name":"Alice"}]})));
    let counts = find_uid(&asked, "mentions").expect("asked once Alice is known");
    let filter = &counts["query"]["filter"]["_and"];
    assert_eq!(filter[2], json!({"content": {"_icontains": token(ALICE)}}));
    assert_eq!(
        filter[0]["_or"].as_array().unwrap().len(),
        2,
        "one read, every room"
    );
    rig.frame(json!({"type":"items","uid":counts["uid"],"data":[
        {"room":"r-design","count":{"id":"1"},"max":{"id":"7"}}]}));
    assert_eq!(rig.s.rooms().mentions("r-design"), 1);
    rig
}

#[test]
fn mentions_count_once_each_and_never_ones_own() {
    let mut rig = alice();
    let live = rig.live.clone();
    let event = |rig: &mut Rig, m: Value| {
        rig.frame(json!({"type":"subscription","event":"create","uid":live,"data":[m]}))
    };
    let upper = token(&ALICE.to_uppercase());
    event(
        &mut rig,
        by(8, "r-design", (BOB, "Bob"), &format!("{upper} look")),
    );
    event(
        &mut rig,
        by(8, "r-design", (BOB, "Bob"), &format!("{upper} look")),
    );
    event(
        &mut rig,
        by(9, "r-design", (BOB, "Bob"), &format!("{} only", token(BOB))),
    );
    event(
        &mut rig,
        by(10, "r-design", (ALICE, "Alice"), &token(ALICE)),
    );
    event(
        &mut rig,
        by(11, "r-design", (BOB, "Bob"), "<@Alice> @Alice"),
    );
    assert_eq!(rig.s.rooms().mentions("r-design"), 2, "7 (counted) and 8");
    assert_eq!(
        rig.s.rooms().unread("r-design"),
        3,
        "8, 9 and 11: unread, not mentions"
    );

    // Deleted: no longer counted; the marker moved elsewhere: nothing left.
    rig.frame(json!({"type":"subscription","event":"delete","uid":live,"data":["8"]}));
    assert_eq!(rig.s.rooms().mentions("r-design"), 1);
    let uid = rig.rooms_live.clone();
    rig.frame(json!({"type":"subscription","event":"update","uid":uid,
                     "data":[membership_row(2, "r-design", "design", 11)]}));
    assert_eq!(rig.s.rooms().mentions("r-design"), 0);
}

#[test]
fn an_edit_that_takes_the_mention_out_takes_the_count() {
    let mut rig = alice();
    let live = rig.live.clone();
    let mention = by(
        12,
        "r-general",
        (BOB, "Bob"),
        &format!("{} hi", token(ALICE)),
    );
    rig.frame(json!({"type":"subscription","event":"create","uid":live,"data":[mention]}));
    assert_eq!(rig.s.rooms().mentions("r-general"), 1);
    assert!(rig.s.mentions_me(rig.s.message(12).unwrap()));
    let edited = by(12, "r-general", (BOB, "Bob"), "hi");
    rig.frame(json!({"type":"subscription","event":"update","uid":live,"data":[edited]}));
    assert_eq!(rig.s.rooms().mentions("r-general"), 0);
}

#[test]
fn someone_mentioned_but_never_seen_is_asked_for_by_id_once() {
    let mut rig = alice();
    let live = rig.live.clone();
    let text = format!("{} and {}", token(CAROL), token(BOB));
    let sent = frames(
        &rig.frame(json!({"type":"subscription","event":"create","uid":live,
        "data":[by(12, "r-general", (BOB, "Bob"), &text)]})),
    );
    let names = find_uid(&sent, "names").expect("Carol's name is asked for");
    assert_eq!(names["collection"], "room_members");
    assert_eq!(
        names["query"]["filter"],
        json!({"user": {"_in": [CAROL]}}),
        "Bob is known as an author"
    );
    rig.frame(json!({"type":"items","uid":names["uid"],"data":[
        {"room":"r-general","user":{"id":CAROL,"first_name":"Carol"}},
        {"room":"r-design","user":{"id":CAROL,"first_name":"Carol"}}]}));
    assert_eq!(rig.s.names().readable(&text), "@Carol and @Bob");
    let again = by(13, "r-general", (BOB, "Bob"), &token(CAROL));
    let sent = frames(
        &rig.frame(json!({"type":"subscription","event":"create","uid":live,"data":[again]})),
    );
    assert!(find_uid(&sent, "names").is_none(), "known now");
}

#[test]
fn the_members_of_a_room_are_read_for_the_composers_at() {
    let mut rig = alice();
    let read = only(&rig.s.list_members("r-general", rig.now));
    assert_eq!(
        read["query"]["filter"],
        json!({"room": {"_eq": "r-general"}})
    );
    assert!(
        rig.s.list_members("r-general", rig.now).is_empty(),
        "one at a time"
    );
    rig.frame(json!({"type":"items","uid":read["uid"],"data":[
        {"room":"r-general","user":{"id":CAROL,"first_name":"carol"}},
        {"room":"r-general","user":{"id":BOB,"first_name":"Bob"}},
        {"room":"r-general","user":{"id":ALICE,"first_name":"Alice"}}]}));
    let members: Vec<&str> = rig
        .s
        .members("r-general")
        .unwrap()
        .iter()
        .map(|p| p.name())
        .collect();
    assert_eq!(members, ["Alice", "Bob", "carol"], "by name, any case");
    assert!(rig.s.members("r-design").is_none());
}

#[test]
fn messages_of_others_that_arrive_live_are_there_for_notifications() {
    use super::notifications::NotifyLevel;
    let mut rig = alice();
    let live = rig.live.clone();
    let mention = by(
        8,
        "r-design",
        (BOB, "Bob"),
        &format!("{} look", token(ALICE)),
    );
    rig.frame(json!({"type":"subscription","event":"create","uid":live,"data":[mention]}));
    let own = by(9, "r-design", (ALICE, "Alice"), "mine");
    rig.frame(json!({"type":"subscription","event":"create","uid":live,"data":[own]}));
    let edited = by(2, "r-general", (BOB, "Bob"), "hi, edited");
    rig.frame(json!({"type":"subscription","event":"update","uid":live,"data":[edited]}));
    let arrivals = rig.s.take_arrivals();
    assert_eq!(
        arrivals.len(),
        1,
        "not one's own, not an edit: {arrivals:?}"
    );
    let a = &arrivals[0];
    assert_eq!((a.room.as_str(), a.id), ("r-design", 8));
    assert_eq!(
        (a.title.as_str(), a.body.as_str()),
        ("Bob in #design", "@Alice look")
    );
    assert!(a.mentions_me && !a.dm);
    assert!(rig.s.take_arrivals().is_empty(), "taken once");

    // The setting goes to the user's membership; the reply brings it back.
    let sent = frames(
        &rig.s
            .set_notify("r-design", NotifyLevel::Nothing, rig.now)
            .unwrap(),
    );
    let update = &sent[0];
    assert_eq!(
        (&update["collection"], &update["id"], &update["data"]),
        (
            &json!("room_members"),
            &json!("2"),
            &json!({"notify": "nothing"})
        )
    );
    let mut row = membership_row(2, "r-design", "design", 5);
    row["notify"] = json!("nothing");
    rig.frame(json!({"type":"items","uid":update["uid"],"data":row}));
    let design = rig.s.rooms().get("r-design").unwrap();
    assert_eq!(design.notify, NotifyLevel::Nothing);
    assert!(
        rig.s
            .set_notify("r-nowhere", NotifyLevel::All, rig.now)
            .is_err()
    );
}

#[test]
fn a_mention_the_server_counted_then_deleted_is_counted_again() {
    let mut rig = alice();
    let live = rig.live.clone();
    // design: the server counted 1 mention through 7 (marker 5); 6 goes, in whatever room.
    let sent =
        frames(&rig.frame(json!({"type":"subscription","event":"delete","uid":live,"data":["6"]})));
    let mentions = find_uid(&sent, "mentions").expect("design counted again");
    assert_eq!(
        mentions["query"]["filter"]["_and"][0]["_or"][0]["_and"][0],
        json!({"room": {"_eq": "r-design"}})
    );
    assert!(find_uid(&sent, "unread").is_some());
    rig.frame(json!({"type":"items","uid":mentions["uid"],"data":[]}));
    assert_eq!(rig.s.rooms().mentions("r-design"), 0);
    // A delete outside what any count covers asks nothing.
    let sent =
        frames(&rig.frame(json!({"type":"subscription","event":"delete","uid":live,"data":["3"]})));
    assert!(find_uid(&sent, "mentions").is_none());
}

#[test]
fn an_edit_of_a_message_not_held_within_a_count_asks_it_again() {
    let mut rig = alice();
    let live = rig.live.clone();
    let edited = by(7, "r-design", (BOB, "Bob"), "mention edited out");
    let sent = frames(
        &rig.frame(json!({"type":"subscription","event":"update","uid":live,"data":[edited]})),
    );
    assert!(
        find_uid(&sent, "mentions").is_some(),
        "design counted again"
    );
    assert!(rig.s.message(7).is_none(), "still not held");
}
