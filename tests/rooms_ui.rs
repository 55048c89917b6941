//! Rooms in the window, in egui_kittest against a real Directus: the room list with unread
//! counts, switching (each room keeps its messages), writing into the room shown, and unread
//! that follows the user from one device to another, live.

mod common;

use std::time::Duration;

use common::ui::*;
use egui_kittest::kittest::Queryable;
use serde_json::json;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

/// A private channel of Alice's that Bob is in, holding `messages` of Bob's.
fn design_room(server: &TestDirectus, name: &str, messages: &[&str]) -> String {
    let alice = server.as_member(&server.alice);
    let bob = server.as_member(&server.bob);
    let room = alice
        .post(
            "/items/rooms",
            &json!({"name": name, "kind": "channel", "private": true}),
        )
        .unwrap()
        .data("create a room")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_id = bob.get("/users/me?fields=id").unwrap().data("me").unwrap()["id"].clone();
    alice
        .post(
            "/items/room_members",
            &json!({"room": room, "user": bob_id}),
        )
        .unwrap()
        .data("add Bob")
        .unwrap();
    for text in messages {
        post(&bob, &room, text);
    }
    room
}

fn post(rest: &Rest, room: &str, text: &str) {
    rest.post("/items/messages", &json!({"content": text, "room": room}))
        .unwrap()
        .data("post")
        .unwrap();
}

/// A click where the widget is once the window has come to rest (a dialog whose content just
/// grew is centred again on the next frame).
fn click(h: &mut App, label: &str) {
    h.run_steps(3);
    h.get_by_label(label).click();
    h.run_steps(2);
}

#[test]
fn the_room_list_shows_unread_and_each_room_keeps_its_own_messages() {
    let server = TestDirectus::shared();
    let name = format!("design-ui-{}", std::process::id());
    design_room(server, &name, &["first for design", "second for design"]);
    let mut h = app(&server.url(), &temp_store("rooms-list"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    let unread = format!("# {name} (2)");
    wait_until(&mut h, "the room with its unread count", |h| {
        shows(h, &unread)
    });
    assert!(shows(&h, "# general"), "general is listed");

    click(&mut h, &unread);
    wait_until(&mut h, "design's messages", |h| {
        shows(h, "second for design") && shows(h, "first for design")
    });
    // Read where the user looks: the count is gone.
    wait_until(&mut h, "no unread left", |h| {
        shows(h, &format!("# {name}")) && !shows(h, &unread)
    });

    // Written here, it goes into design, not general.
    fill(&mut h, "Message", "typed in design");
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "sent", |h| {
        h.state()
            .session()
            .timeline()
            .iter()
            .any(|m| m.content == "typed in design")
    });
    let session = h.state().session();
    let design = session.rooms().shown_id().map(str::to_owned);
    assert!(
        session.timeline().iter().all(|m| m.room == design),
        "only design's messages, ours among them"
    );

    click(&mut h, "# general");
    wait_until(&mut h, "general shown", |h| !shows(h, "first for design"));
    assert!(
        !shows(&h, "typed in design"),
        "design's messages stay in design"
    );
    click(&mut h, &format!("# {name}"));
    wait_until(&mut h, "design again, as it was", |h| {
        shows(h, "typed in design")
    });
}

#[test]
fn reading_a_room_on_one_device_clears_its_count_on_the_other_live() {
    let server = TestDirectus::shared();
    let name = format!("unread-ui-{}", std::process::id());
    let room = design_room(server, &name, &["one unread"]);
    // The desktop shows general; the other device (a second window) will read the room.
    let mut desktop = app(&server.url(), &temp_store("rooms-desktop"));
    log_in(&mut desktop, &server.alice.email, &server.alice.password);
    let mut other = app(&server.url(), &temp_store("rooms-other"));
    log_in(&mut other, &server.alice.email, &server.alice.password);
    let unread = format!("# {name} (1)");
    wait_until(&mut desktop, "the desktop's count", |h| shows(h, &unread));
    // A new message while both look elsewhere: 2 on the desktop, live.
    post(&server.as_member(&server.bob), &room, "two unread");
    let two = format!("# {name} (2)");
    wait_until(&mut desktop, "counted live", |h| shows(h, &two));
    wait_until(&mut other, "the other device's count", |h| shows(h, &two));

    click(&mut other, &two);
    wait_until(&mut other, "read there", |h| shows(h, "two unread"));
    // The desktop never showed the room: its count drops with the marker, live.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while shows(&desktop, &two) {
        assert!(
            std::time::Instant::now() < deadline,
            "the desktop's count stayed"
        );
        other.step();
        desktop.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        shows(&desktop, &format!("# {name}")),
        "listed, with nothing unread"
    );
    assert_eq!(
        desktop.state().session().rooms().unread(&room),
        0,
        "nothing unread"
    );
}

fn member_of(server: &TestDirectus, room: &str, member: &xtask::provision::Member) -> bool {
    let rest = server.as_member(member);
    let me = rest.get("/users/me?fields=id").unwrap().data("me").unwrap()["id"].clone();
    let rows = server
        .admin()
        .get(&format!(
            "/items/room_members?filter[room][_eq]={room}&filter[user][_eq]={}&fields=id",
            me.as_str().unwrap()
        ))
        .unwrap()
        .data("membership")
        .unwrap();
    rows.as_array().is_some_and(|r| !r.is_empty())
}

fn type_and_enter(h: &mut App, text: &str) {
    h.event(egui::Event::Text(text.to_owned()));
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
}

#[test]
fn carol_browses_and_joins_a_channel_goes_there_with_ctrl_k_starts_a_dm_and_creates_one() {
    let server = TestDirectus::shared();
    let pid = std::process::id();
    // A public channel of Alice's with some history; Carol is not in it.
    let lobby = format!("lobby-{pid}");
    let alice = server.as_member(&server.alice);
    let room = alice
        .post(
            "/items/rooms",
            &json!({"name": lobby, "kind": "channel", "private": false}),
        )
        .unwrap()
        .data("create")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(&alice, &room, "welcome to the lobby");
    let mut h = app(&server.url(), &temp_store("rooms-carol"));
    log_in(&mut h, &server.carol.email, &server.carol.password);
    wait_until(&mut h, "the room list", |h| shows(h, "# general"));
    assert!(!shows(&h, &format!("# {lobby}")), "not hers yet");

    // Browse and join: the channel shows with its history.
    click(&mut h, "Browse channels");
    let join = format!("Join {lobby}");
    wait_until(&mut h, "the channel to join", |h| shows(h, &join));
    click(&mut h, &join);
    wait_until(&mut h, "joined and shown", |h| {
        shows(h, "welcome to the lobby")
    });
    assert!(member_of(server, &room, &server.carol));

    // Ctrl+K, a few letters, Enter: general.
    click(&mut h, "# general");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    h.run_steps(2);
    type_and_enter(&mut h, &format!("lobby-{pid}")[..8]);
    wait_until(&mut h, "back in the lobby", |h| {
        shows(h, "welcome to the lobby")
    });

    // Leave it: gone from the list and from the server.
    click(&mut h, &format!("Leave {lobby}"));
    wait_until(&mut h, "left", |h| !shows(h, &format!("# {lobby}")));
    assert!(!member_of(server, &room, &server.carol));

    // A DM with Bob from the people list; what she types there reaches him alone.
    click(&mut h, "New message");
    let bob_label = format!("Message {}", server.bob.first_name);
    wait_until(&mut h, "the people", |h| shows(h, &bob_label));
    click(&mut h, &bob_label);
    wait_until(&mut h, "the DM shown", |h| {
        h.state()
            .session()
            .rooms()
            .shown_room()
            .is_some_and(|r| r.title() == "Bob")
    });
    let said = format!("psst bob {pid}");
    fill(&mut h, "Message", &said);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "sent", |h| shows(h, &said) && !shows(h, "sending…"));
    let dm = h.state().session().rooms().shown_id().unwrap().to_owned();
    assert!(member_of(server, &dm, &server.bob), "Bob is in it");
    assert!(!member_of(server, &dm, &server.alice), "Alice is not");

    // A private channel of her own, and Bob added to it.
    let mine = format!("carols-{pid}");
    click(&mut h, "New channel");
    fill(&mut h, "Channel name", &mine);
    click(&mut h, "Private (only people you add)");
    click(&mut h, "Create channel");
    wait_until(&mut h, "her channel shown", |h| {
        h.state()
            .session()
            .rooms()
            .shown_room()
            .is_some_and(|r| r.name == mine && r.private)
    });
    click(&mut h, "Add people");
    let add_bob = format!("Add {}", server.bob.first_name);
    wait_until(&mut h, "the people", |h| shows(h, &add_bob));
    click(&mut h, &add_bob);
    let channel = h.state().session().rooms().shown_id().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !member_of(server, &channel, &server.bob) {
        assert!(std::time::Instant::now() < deadline, "Bob was never added");
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
}
