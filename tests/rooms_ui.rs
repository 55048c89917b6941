//! Rooms in the window, in egui_kittest against a real Directus: the room list with unread
//! counts, switching (each room keeps its messages), writing into the room shown, and unread
//! that follows the user from one device to another, live.

mod common;

use std::time::Duration;

use common::ui::*;
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

fn click(h: &mut App, label: &str) {
    use egui_kittest::kittest::Queryable;
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
