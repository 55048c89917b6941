//! A room opened at a message far back: a window around it apart from the room's live
//! timeline, paged both ways, joined to the room's timeline (no gap, nothing twice) when a
//! newer page reaches it; left on sending or showing another room.

use serde_json::{Value, json};

use super::rooms_tests::{first_page, in_room};
use super::session_tests::*;

fn page(ids: impl Iterator<Item = i64>) -> Value {
    Value::Array(ids.map(|id| in_room(id, "r-general", "Bob")).collect())
}

/// Alice in general (shown, messages 100 to 149 loaded), the room list in.
pub(super) fn alice() -> Rig {
    let mut rig = Rig::known();
    let sent = first_page(&mut rig, page((100..150).rev()));
    let profile = find_uid(&sent, "profile").unwrap().clone();
    let me = rig.profile.clone();
    rig.frame(json!({"type":"subscription","event":"init","uid":profile["uid"],"data":me}));
    let rooms = find_uid(&sent, "rooms").unwrap().clone();
    rig.rooms_live = rooms["uid"].clone();
    let data = rig.rooms.clone();
    rig.frame(json!({"type":"subscription","event":"init","data":data,"uid":rooms["uid"]}));
    assert_eq!(ids(&rig.s), (100..150).collect::<Vec<_>>());
    rig
}

fn answer(rig: &mut Rig, read: &Value, rows: Value) -> Vec<Value> {
    frames(&rig.frame(json!({"type":"items","uid":read["uid"],"data":rows})))
}

#[test]
fn a_window_around_a_far_message_is_paged_both_ways_and_joins_the_present() {
    let mut rig = alice();
    let sent = frames(&rig.s.open_at("r-general", 10, rig.now));
    let older = find_uid(&sent, "window-older")
        .expect("the message and those before")
        .clone();
    let newer = find_uid(&sent, "window-newer")
        .expect("those after")
        .clone();
    assert_eq!(older["query"]["filter"]["id"], json!({"_lt": 11}));
    assert_eq!(older["query"]["sort"], json!(["-id"]));
    assert_eq!(newer["query"]["filter"]["id"], json!({"_gt": 10}));
    assert_eq!(newer["query"]["sort"], json!(["id"]));
    assert!(
        rig.s.detached() && rig.s.timeline().is_empty(),
        "the window, not the room"
    );
    assert!(rig.s.loading_older());

    answer(&mut rig, &older, page((0..=10).rev()));
    assert!(rig.s.reached_start(), "a short page: the room's beginning");
    answer(&mut rig, &newer, page(11..36));
    assert_eq!(ids(&rig.s), (0..36).collect::<Vec<_>>());
    assert!(rig.s.detached());

    // Live meanwhile: into the room's timeline, not the window.
    let live = rig.live.clone();
    rig.frame(json!({"type":"subscription","event":"create","uid":live,
                     "data":[in_room(150, "r-general", "Carol")]}));
    assert_eq!(rig.s.timeline().newest_id(), Some(35));
    // Edits and deletes reach the window.
    let mut edited = in_room(20, "r-general", "Bob");
    edited["content"] = json!("edited");
    rig.frame(json!({"type":"subscription","event":"update","uid":live,"data":[edited]}));
    rig.frame(json!({"type":"subscription","event":"delete","uid":live,"data":["21"]}));
    assert_eq!(rig.s.timeline().get(20).unwrap().content, "edited");
    assert!(rig.s.timeline().get(21).is_none());

    // Scrolled down: newer pages, one at a time, until one reaches the room's timeline.
    let next = only(&rig.s.load_newer(rig.now));
    assert!(rig.s.load_newer(rig.now).is_empty(), "one at a time");
    assert_eq!(next["query"]["filter"]["id"], json!({"_gt": 35}));
    answer(&mut rig, &next, page(36..86));
    assert!(rig.s.detached(), "85: not there yet");
    let next = only(&rig.s.load_newer(rig.now));
    answer(&mut rig, &next, page(86..136));
    assert!(!rig.s.detached(), "135 reaches 100: joined");
    let expected: Vec<i64> = (0..151).filter(|id| *id != 21).collect();
    assert_eq!(ids(&rig.s), expected, "no gap, nothing twice");
    assert!(rig.s.reached_start());
}

#[test]
fn a_message_within_the_rooms_timeline_opens_there() {
    let mut rig = alice();
    assert!(rig.s.open_at("r-general", 120, rig.now).is_empty());
    assert!(!rig.s.detached());
}

#[test]
fn the_present_comes_back_on_sending_showing_another_room_or_asking() {
    let mut rig = alice();
    rig.s.open_at("r-general", 10, rig.now);
    assert!(rig.s.detached());
    rig.s.send("hello", rig.now).unwrap();
    assert!(!rig.s.detached(), "what is sent shows at the present");
    rig.s.open_at("r-general", 10, rig.now);
    rig.s.to_present();
    assert!(!rig.s.detached());
    assert_eq!(rig.s.timeline().oldest_id(), Some(100));
}

#[test]
fn a_newer_page_that_reaches_the_present_first_waits_for_the_message_itself() {
    let mut rig = alice();
    let sent = frames(&rig.s.open_at("r-general", 90, rig.now));
    let older = find_uid(&sent, "window-older").unwrap().clone();
    let newer = find_uid(&sent, "window-newer").unwrap().clone();
    answer(&mut rig, &newer, page(91..116));
    assert!(rig.s.detached(), "joined only once the message is in");
    answer(&mut rig, &older, page((66..=90).rev()));
    assert!(!rig.s.detached());
    assert_eq!(ids(&rig.s), (66..150).collect::<Vec<_>>());
    // A page of the window arriving after it was left is dropped.
    let sent = frames(&rig.s.open_at("r-general", 10, rig.now));
    let older = find_uid(&sent, "window-older").unwrap().clone();
    rig.s.to_present();
    answer(&mut rig, &older, page((0..=10).rev()));
    assert_eq!(rig.s.timeline().oldest_id(), Some(66));
}

#[test]
fn a_page_of_a_window_left_never_lands_in_the_next_one() {
    let mut rig = alice();
    let sent = frames(&rig.s.open_at("r-general", 10, rig.now));
    let old_newer = find_uid(&sent, "window-newer").unwrap().clone();
    let sent = frames(&rig.s.open_at("r-general", 60, rig.now));
    let older = find_uid(&sent, "window-older")
        .expect("the second window's own reads")
        .clone();
    let newer = find_uid(&sent, "window-newer").unwrap().clone();
    answer(&mut rig, &old_newer, page(11..36));
    assert!(
        rig.s.timeline().is_empty(),
        "the first window's page is not the second's"
    );
    answer(&mut rig, &older, page((36..=60).rev()));
    answer(&mut rig, &newer, page(61..86));
    assert_eq!(ids(&rig.s), (36..86).collect::<Vec<_>>());
}

#[test]
fn a_window_whose_reads_were_lost_to_a_reconnect_asks_again() {
    let mut rig = alice();
    rig.s.open_at("r-general", 10, rig.now);
    // The socket goes before any answer; back, the window asks again.
    rig.s.closed("gone", rig.now);
    let mut asked = Vec::new();
    for _ in 0..50 {
        let effects = rig.advance(std::time::Duration::from_secs(1));
        asked.extend(frames(&effects));
        if matches!(rig.s.phase(), super::session::Phase::Connecting { .. }) {
            break;
        }
    }
    let auth = only(&rig.s.opened(rig.now));
    let subscribe = rig.auth_ok(&auth, "r2");
    let live = subscribe[0]["uid"].clone();
    let sent = frames(&rig.frame(json!({"type":"subscription","event":"init","uid":live})));
    // The catch-up first; with it answered, the window's reads.
    let catch_up = sent
        .iter()
        .find(|f| f["collection"] == "messages")
        .unwrap()
        .clone();
    let sent = answer(&mut rig, &catch_up, json!([]));
    let older = find_uid(&sent, "window-older")
        .expect("asked again")
        .clone();
    assert!(find_uid(&sent, "window-newer").is_some());
    answer(&mut rig, &older, page((0..=10).rev()));
    assert!(rig.s.timeline().get(10).is_some());
}

#[test]
fn ones_own_message_in_the_window_can_be_edited_and_stays_there() {
    let mut rig = alice();
    let sent = frames(&rig.s.open_at("r-general", 10, rig.now));
    let older = find_uid(&sent, "window-older").unwrap().clone();
    let mut rows: Vec<Value> = (0..=10)
        .rev()
        .map(|id| in_room(id, "r-general", "Bob"))
        .collect();
    rows[0] = in_room(10, "r-general", "Alice");
    rows[0]["user_created"]["id"] = json!("u-alice");
    answer(&mut rig, &older, Value::Array(rows));
    let update = only(
        &rig.s
            .edit(10, "changed", rig.now)
            .expect("hers, in the window"),
    );
    let mut reply = in_room(10, "r-general", "Alice");
    reply["user_created"]["id"] = json!("u-alice");
    reply["content"] = json!("changed");
    answer(&mut rig, &update, reply);
    assert_eq!(rig.s.timeline().get(10).unwrap().content, "changed");
    rig.s.to_present();
    assert_eq!(
        rig.s.timeline().oldest_id(),
        Some(100),
        "not the room's: no gap made"
    );
}
