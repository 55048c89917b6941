//! Rooms in the session: one messages subscription routed by room, a timeline per room opened,
//! unread counts that follow read markers (moved here or on another device), joins and leaves
//! from the memberships subscription, and an outbox that posts each message into its room.

use serde_json::{Value, json};

use super::session::*;
use super::session_tests::*;

pub(super) fn in_room(id: i64, room: &str, author: &str) -> Value {
    let mut m = msg(id);
    m["room"] = json!(room);
    m["user_created"] = json!({"id": format!("u-{author}"), "first_name": author});
    m
}

/// Log in as Alice and answer the first read (the room wanted, general unless said, by name:
/// the room list comes after it)
/// with `rows`; what the session sends then (the profile and rooms subscriptions among it).
pub(super) fn first_page(rig: &mut Rig, rows: Value) -> Vec<Value> {
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    rig.live = sent[0]["uid"].clone();
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":rig.live})));
    let wanted = rig.s.rooms().wanted().map(str::to_owned);
    assert_eq!(
        read["query"]["filter"]["room"]["name"]["_eq"].as_str(),
        wanted.as_deref(),
        "before the room list: by name"
    );
    frames(&rig.frame(json!({"type":"items","data":rows,"uid":read["uid"]})))
}

/// Alice, online, in general (shown, messages 1 and 2, read), design (marker at 5, 2 unread)
/// and a DM with Bob.
fn alice_in_three_rooms() -> Rig {
    let mut rig = Rig::known();
    rig.rooms = json!([
        membership(1, "r-general", "general", Some(2)),
        membership(2, "r-design", "design", Some(5)),
        membership(3, "r-dm", "", None),
    ]);
    let history = json!([
        in_room(2, "r-general", "Bob"),
        in_room(1, "r-general", "Alice")
    ]);
    let sent = first_page(&mut rig, history);
    let profile = find_uid(&sent, "profile").unwrap().clone();
    rig.frame(
        json!({"type":"subscription","event":"init","uid":profile["uid"],
                     "data":[{"id":"u-Alice","first_name":"Alice"}]}),
    );
    let rooms = find_uid(&sent, "rooms").unwrap().clone();
    rig.rooms_live = rooms["uid"].clone();
    let data = rig.rooms.clone();
    let asked = frames(
        &rig.frame(json!({"type":"subscription","event":"init","data":data,"uid":rooms["uid"]})),
    );
    let people = find_uid(&asked, "people").expect("the DM's other person is asked for");
    rig.frame(json!({"type":"items","uid":people["uid"],"data":[
        {"room":"r-dm","user":{"id":"u-Bob","first_name":"Bob","email":"bob@example.com"}}]}));
    let counts = find_uid(&asked, "unread").expect("unread counts are asked for");
    let or = &counts["query"]["filter"]["_and"][0]["_or"];
    assert_eq!(
        or.as_array().unwrap().len(),
        3,
        "one read for every room: {counts}"
    );
    rig.frame(json!({"type":"items","uid":counts["uid"],"data":[
        {"room":"r-design","count":{"id":"2"},"max":{"id":"7"}}]}));
    rig
}

fn id_of(rig: &Rig, name: &str) -> String {
    let room = rig.s.rooms().list().iter().find(|r| r.title() == name);
    room.unwrap().id.clone()
}

#[test]
fn rooms_are_listed_channels_then_dms_named_after_the_other_person() {
    let rig = alice_in_three_rooms();
    let titles: Vec<&str> = rig.s.rooms().list().iter().map(|r| r.title()).collect();
    assert_eq!(titles, ["general", "design", "Bob"], "general first");
    assert_eq!(rig.s.rooms().shown_id(), Some("r-general"));
    assert_eq!(rig.s.rooms().unread("r-design"), 2, "the server's count");
    assert_eq!(ids(&rig.s), [1, 2]);
}

#[test]
fn events_go_to_their_rooms_and_a_room_not_opened_only_counts_them() {
    let mut rig = alice_in_three_rooms();
    let live = rig.live.clone();
    let event = |m: Value| json!({"type":"subscription","event":"create","uid":live,"data":[m]});
    rig.frame(event(in_room(8, "r-design", "Bob")));
    rig.frame(event(in_room(9, "r-general", "Bob")));
    rig.frame(event(in_room(10, "r-dm", "Bob")));
    // The same event again (a catch-up re-reads what had not settled): counted once.
    rig.frame(event(in_room(8, "r-design", "Bob")));
    assert_eq!(ids(&rig.s), [1, 2, 9], "general shows only its own");
    assert_eq!(rig.s.rooms().unread("r-design"), 3);
    assert_eq!(rig.s.rooms().unread("r-dm"), 1);
    assert!(
        rig.s.message(8).is_none(),
        "design not opened: counted, not held"
    );

    // Switching reads the room's newest page; switching back keeps general as it was.
    let dm = id_of(&rig, "Bob");
    let read = only(&rig.s.show_room(&dm, rig.now));
    assert_eq!(read["query"]["filter"]["room"], json!({"_eq": "r-dm"}));
    assert!(rig.s.timeline().is_empty(), "nothing of the DM held yet");
    rig.frame(json!({"type":"items","uid":read["uid"],"data":[in_room(10, "r-dm", "Bob"), in_room(4, "r-dm", "Alice")]}));
    assert_eq!(ids(&rig.s), [4, 10]);
    assert!(rig.s.reached_start(), "a short page is the whole DM");
    assert!(
        rig.s.show_room("r-general", rig.now).is_empty(),
        "held: no read"
    );
    assert_eq!(ids(&rig.s), [1, 2, 9]);
    // Held rooms follow live too.
    rig.frame(event(in_room(11, "r-dm", "Bob")));
    assert_eq!(rig.s.message(11).map(|m| m.content.as_str()), Some("m11"));
}

#[test]
fn a_marker_moved_here_or_on_another_device_clears_the_count_live() {
    let mut rig = alice_in_three_rooms();
    let live = rig.live.clone();
    rig.frame(json!({"type":"subscription","event":"create","uid":live,"data":[in_room(9, "r-design", "Bob")]}));
    assert_eq!(rig.s.rooms().unread("r-design"), 3);
    // Read in the browser: the membership's marker moves, and this device follows.
    let rooms = rig
        .s
        .rooms()
        .list()
        .iter()
        .find(|r| r.id == "r-design")
        .unwrap();
    let membership = rooms.membership.clone();
    assert_eq!(membership, "2");
    let uid = rig.rooms_live.clone();
    rig.frame(json!({"type":"subscription","event":"update","uid":uid,
                     "data":[membership_row(2, "r-design", "design", 9)]}));
    assert_eq!(rig.s.rooms().unread("r-design"), 0);

    // Here: reading general to its newest moves its marker on the server.
    rig.frame(json!({"type":"subscription","event":"create","uid":live,"data":[in_room(12, "r-general", "Bob")]}));
    assert_eq!(rig.s.rooms().unread("r-general"), 1);
    let marker = only(&rig.s.mark_read(rig.now));
    assert_eq!(
        (&marker["collection"], &marker["id"], &marker["data"]),
        (
            &json!("room_members"),
            &json!("1"),
            &json!({"last_read": 12})
        )
    );
    assert_eq!(rig.s.rooms().unread("r-general"), 0, "at once");
    assert!(rig.s.mark_read(rig.now).is_empty(), "once");
}

#[test]
fn a_marker_moved_back_below_the_servers_count_asks_for_the_count_again() {
    let mut rig = alice_in_three_rooms();
    let uid = rig.rooms_live.clone();
    // design: 2 unread through 7, marker 5. Marked read at 6 elsewhere: the count is stale.
    let sent = frames(
        &rig.frame(json!({"type":"subscription","event":"update","uid":uid,
                     "data":[membership_row(2, "r-design", "design", 6)]})),
    );
    let counts = find_uid(&sent, "unread").expect("counted again");
    assert_eq!(
        counts["query"]["filter"]["_and"][0]["_or"][0]["_and"][1]["id"]["_gt"],
        6
    );
}

#[test]
fn joining_and_leaving_come_live_and_other_rooms_deletes_are_ignored() {
    let mut rig = alice_in_three_rooms();
    let uid = rig.rooms_live.clone();
    rig.frame(json!({"type":"subscription","event":"create","uid":uid,
                     "data":[membership_row(20, "r-random", "random", 0)]}));
    assert!(rig.s.rooms().get("r-random").is_some(), "joined");
    // Directus sends every membership delete to every subscriber (#19704).
    rig.frame(json!({"type":"subscription","event":"delete","uid":uid,"data":["999", 998]}));
    assert_eq!(
        rig.s.rooms().list().len(),
        4,
        "someone else's leave changes nothing"
    );
    // Leaving the shown room shows general instead.
    rig.s.show_room("r-random", rig.now);
    rig.frame(json!({"type":"subscription","event":"delete","uid":uid,"data":["20"]}));
    assert!(rig.s.rooms().get("r-random").is_none());
    assert_eq!(rig.s.rooms().shown_id(), Some("r-general"));
}

#[test]
fn a_message_goes_out_into_the_room_it_was_written_in() {
    let mut rig = alice_in_three_rooms();
    let read = only(&rig.s.show_room("r-design", rig.now));
    rig.frame(json!({"type":"items","uid":read["uid"],"data":[]}));
    let create = only(&rig.s.send("for design", rig.now).unwrap());
    assert_eq!(create["data"]["room"], "r-design");
    // Written while another is on its way; the user switches before it goes.
    rig.s.send("also for design", rig.now).unwrap();
    assert_eq!(rig.s.outbox_here().count(), 2);
    rig.s.show_room("r-general", rig.now);
    assert_eq!(rig.s.outbox_here().count(), 0, "waits in its own room");
    let mut row = in_room(30, "r-design", "Alice");
    row["client_key"] = create["data"]["client_key"].clone();
    row["user_created"] = json!({"id": "u-Alice", "first_name": "Alice"});
    let next = only(&rig.frame(json!({"type":"items","uid":create["uid"],"data":row})));
    assert_eq!(next["data"]["room"], "r-design");
    let Some(Effect::SaveSession { outbox, .. }) = rig.s.persist() else {
        panic!("stored")
    };
    assert_eq!(
        outbox[0].room.as_deref(),
        Some("r-design"),
        "kept with its room"
    );
}

#[test]
fn a_room_asked_for_by_a_persons_name_is_their_dm() {
    let mut rig = Rig::known();
    rig.s.want_room("bob@example.com");
    assert!(!rig.s.room_ready());
    assert!(
        rig.s.send("hi", rig.now).is_err(),
        "never into another room"
    );
    let mut rig2 = alice_in_three_rooms();
    rig2.s.want_room("BOB");
    assert_eq!(rig2.s.rooms().shown_id(), Some("r-dm"));
    assert!(rig2.s.room_ready());
    rig2.s.want_room("nowhere");
    assert_eq!(rig2.s.missing_room(), Some("nowhere"));
    drop(rig);
}

pub(super) fn membership_row(id: i64, room: &str, name: &str, last_read: i64) -> Value {
    membership(id, room, name, Some(last_read))
}

#[test]
fn a_message_for_the_shown_room_before_its_id_is_known_is_placed_not_lost() {
    // An empty general: its first page names no room, so its id comes with the room list.
    let mut rig = Rig::known();
    let after = first_page(&mut rig, json!([]));
    // Bob's first message arrives before the list does.
    let live = rig.live.clone();
    rig.frame(json!({"type":"subscription","event":"create","uid":live,
                     "data":[in_room(5, "r-general", "Bob")]}));
    assert!(rig.s.timeline().is_empty(), "not placed yet");
    rig.answer_rooms(&after);
    assert_eq!(rig.s.rooms().shown_id(), Some("r-general"));
    assert_eq!(ids(&rig.s), [5], "placed once the id is known");
    assert!(rig.s.take_fresh().contains(&5), "and new to the view");
}

#[test]
fn a_room_named_after_a_person_by_someone_else_is_never_taken_for_their_dm() {
    let mut rig = alice_in_three_rooms();
    // Mallory made a private channel named after Bob's e-mail and added Alice to it.
    let uid = rig.rooms_live.clone();
    rig.frame(json!({"type":"subscription","event":"create","uid":uid,
                     "data":[membership_row(40, "r-trap", "bob@example.com", 0)]}));
    rig.s.want_room("bob@example.com");
    assert_eq!(
        rig.s.missing_room(),
        Some("bob@example.com"),
        "two answer: neither"
    );
    assert!(rig.s.rooms().ambiguous());
    assert_ne!(rig.s.rooms().shown_id(), Some("r-trap"));
    assert!(!rig.s.room_ready());
    assert!(rig.s.send("for bob", rig.now).is_err(), "into neither");
}

#[test]
fn before_the_dms_have_their_people_no_room_is_taken_for_a_persons_name() {
    // Bob's headless `--room bob`; Mallory named a private channel "bob" and added Bob to it.
    let mut rig = Rig::known();
    rig.s.want_room("bob");
    rig.rooms = json!([
        membership(1, "r-general", "general", None),
        membership(3, "r-dm", "", None),
        membership(7, "r-trap", "bob", None),
    ]);
    let after = first_page(&mut rig, json!([]));
    let rooms = find_uid(&after, "rooms").unwrap().clone();
    let data = rig.rooms.clone();
    let asked = frames(
        &rig.frame(json!({"type":"subscription","event":"init","data":data,"uid":rooms["uid"]})),
    );
    assert_eq!(
        rig.s.rooms().shown_id(),
        None,
        "the trap alone answers: not taken"
    );
    assert!(rig.s.send("for bob", rig.now).is_err());
    let people = find_uid(&asked, "people").unwrap();
    rig.frame(json!({"type":"items","uid":people["uid"],"data":[
        {"room":"r-dm","user":{"id":"u-Bob","first_name":"Bob"}}]}));
    assert_eq!(rig.s.missing_room(), Some("bob"), "two answer: neither");
    assert_eq!(rig.s.rooms().shown_id(), None);
}

#[test]
fn a_room_change_is_never_sent_twice_and_a_later_choice_wins() {
    let mut rig = alice_in_three_rooms();
    let create = only(&rig.s.create_channel("plans", true, rig.now).unwrap());
    let again = frames(&rig.advance(REQUEST_TIMEOUT + std::time::Duration::from_secs(1)));
    assert!(
        again.iter().all(|f| f["collection"] != "rooms"),
        "not created twice: {again:?}"
    );
    // The user went to design meanwhile; the reply comes late: design stays shown.
    rig.s.show_room("r-design", rig.now);
    rig.frame(json!({"type":"items","uid":create["uid"],"data":{"id":"r-plans"}}));
    let uid = rig.rooms_live.clone();
    let mut row = membership_row(50, "r-plans", "plans", 0);
    row["room"]["private"] = json!(true);
    rig.frame(json!({"type":"subscription","event":"create","uid":uid,"data":[row]}));
    assert!(rig.s.rooms().get("r-plans").is_some(), "listed");
    assert_eq!(
        rig.s.rooms().shown_id(),
        Some("r-design"),
        "the user's choice meanwhile stands"
    );
    // A join answered only after the user picked another room: that choice stands.
    let join = only(&rig.s.join("r-random", rig.now).unwrap());
    rig.s.show_room("r-general", rig.now);
    rig.frame(json!({"type":"items","uid":join["uid"],"data":{"id":51}}));
    rig.frame(json!({"type":"subscription","event":"create","uid":uid,
                     "data":[membership_row(51, "r-random", "random", 0)]}));
    assert_eq!(rig.s.rooms().shown_id(), Some("r-general"));
}
