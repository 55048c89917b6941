//! Mentions in the window, in egui_kittest against a real Directus: mentions of Alice written
//! while she was away are counted by the server (any case, never a name merely typed, never a
//! room she is not in), Bob mentions her by picking her from the composer's @ list, and her
//! room list shows the red badge live; opening the room shows `@Alice` and clears it.

mod common;

use common::ui::*;
use common::{create_item, user_id};
use egui_kittest::kittest::Queryable;
use serde_json::json;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

fn post(rest: &Rest, room: &str, text: &str) {
    create_item(rest, "messages", json!({"content": text, "room": room}));
}

/// A private channel of `owner`'s with `others` in it.
fn private_room(owner: &Rest, name: &str, others: &[&str]) -> String {
    let room = create_item(
        owner,
        "rooms",
        json!({"name": name, "kind": "channel", "private": true}),
    );
    for user in others {
        create_item(owner, "room_members", json!({"room": room, "user": user}));
    }
    room
}

fn stored(rest: &Rest, room: &str) -> Vec<String> {
    let path = format!("/items/messages?filter[room][_eq]={room}&sort=-id&limit=5&fields=content");
    let rows = rest.get(&path).unwrap().data("messages").unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn mentions_are_counted_picked_from_the_at_list_and_shown_by_name() {
    let server = TestDirectus::shared();
    let alice_rest = server.as_member(&server.alice);
    let bob_rest = server.as_member(&server.bob);
    let carol_rest = server.as_member(&server.carol);
    let (alice, bob) = (user_id(&alice_rest), user_id(&bob_rest));
    let name = format!("mentions-{}", std::process::id());
    let room = private_room(&alice_rest, &name, &[&bob]);
    let carols = private_room(&carol_rest, &format!("carols-{name}"), &[&bob]);

    // While Alice is away: two real mentions (one in upper case), a name merely typed, and a
    // mention in a room she is not in.
    post(
        &bob_rest,
        &room,
        &format!("<@{}> upper", alice.to_uppercase()),
    );
    post(&bob_rest, &room, "@Alice typed, not picked");
    post(&bob_rest, &room, &format!("<@{alice}> lower"));
    post(&bob_rest, &carols, &format!("<@{alice}> where she is not"));

    let mut alice_app = app(&server.url(), &temp_store("mentions-alice"));
    log_in(&mut alice_app, &server.alice.email, &server.alice.password);
    let counted = format!("# {name} (3) @2");
    wait_until(&mut alice_app, "the server's counts", |h| {
        shows(h, &counted)
    });

    // Opened: the mentions read as her name, and the badge goes.
    alice_app.get_by_label(&counted).click();
    wait_until(&mut alice_app, "the room's messages", |h| {
        shows(h, "lower") && shows(h, "upper")
    });
    wait_until(
        &mut alice_app,
        "two mentions by name (the typed one is text)",
        |h| h.query_all_by_label("@Alice").count() == 2,
    );
    assert!(shows(&alice_app, "@Alice typed, not picked"));
    wait_until(&mut alice_app, "read: no badge", |h| {
        shows(h, &format!("# {name}")) && !shows(h, "@2")
    });

    // Bob, in general, picks Alice from the @ list.
    let mut bob_app = app(&server.url(), &temp_store("mentions-bob"));
    log_in(&mut bob_app, &server.bob.email, &server.bob.password);
    wait_until(&mut bob_app, "Bob online", |h| {
        h.state().session().rooms().shown_room().is_some() && h.state().session().me().is_some()
    });
    fill(&mut bob_app, "Message", "@al");
    wait_until(&mut bob_app, "Alice offered", |h| {
        h.query_by_label("@Alice").is_some()
    });
    assert!(
        bob_app.query_by_label("@Bob").is_none(),
        "not oneself, nor those the text does not match"
    );
    bob_app.key_press(egui::Key::Enter);
    bob_app.run_steps(3);
    assert_eq!(
        bob_app.state().composer_text(),
        "@Alice ",
        "picked, not sent"
    );
    fill(&mut bob_app, "Message", "see general");
    bob_app.key_press(egui::Key::Enter);
    let general = bob_app
        .state()
        .session()
        .rooms()
        .shown_id()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !stored(&bob_rest, &general).contains(&format!("<@{alice}> see general")) {
        assert!(std::time::Instant::now() < deadline, "stored with her id");
        bob_app.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // Alice, looking at her room, sees the badge on general live; opening it shows her name.
    wait_until(&mut alice_app, "the badge, live", |h| {
        shows(h, "# general (1) @1")
    });
    alice_app.get_by_label("# general (1) @1").click();
    wait_until(&mut alice_app, "Bob's mention", |h| {
        shows(h, "see general") && h.query_by_label("@Alice").is_some()
    });

    // Many mentions in one message count once; a message that mentions only someone else
    // counts as unread, not as a mention.
    let many = format!("<@{alice}> ").repeat(500);
    post(&bob_rest, &room, &many);
    post(&bob_rest, &room, &format!("<@{bob}> for Bob"));
    wait_until(&mut alice_app, "one more mention", |h| {
        shows(h, &format!("# {name} (2) @1"))
    });
}
