//! Mentions in the window, in egui_kittest against a real Directus: mentions of Alice written
//! while she was away are counted by the server (any case, never a name merely typed, never a
//! room she is not in), Bob mentions her by picking her from the composer's @ list, and her
//! room list shows the red badge live; opening the room shows `@Alice` and clears it. And the
//! notifications that follow each room's setting (shown through a recording notifier).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::ui::*;
use common::{create_item, user_id};
use directus_chat::core::notifications::{NOTIFY_GAP, Notification, NotifyLevel};
use directus_chat::edge::notify::Notify;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use serde_json::json;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

/// The @ list offers this person (its entries are buttons; a mention in a message is not).
fn offered(h: &App, name: &str) -> bool {
    h.query_by_role_and_label(Role::Button, name).is_some()
}

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
    wait_until(&mut bob_app, "Alice offered", |h| offered(h, "@Alice"));
    assert!(
        !offered(&bob_app, "@Bob"),
        "not oneself, nor those the text does not match"
    );
    // Esc closes the list and keeps the text (and the keyboard).
    bob_app.key_press(egui::Key::Escape);
    bob_app.run_steps(3);
    assert!(!offered(&bob_app, "@Alice"), "closed");
    assert_eq!(bob_app.state().composer_text(), "@al");
    // At the next @, the list again: Tab picks; and Enter.
    fill(&mut bob_app, "Message", " @al");
    wait_until(&mut bob_app, "Alice offered again", |h| {
        offered(h, "@Alice")
    });
    bob_app.key_press(egui::Key::Tab);
    bob_app.run_steps(3);
    fill(&mut bob_app, "Message", "and @car");
    wait_until(&mut bob_app, "Carol offered", |h| offered(h, "@Carol"));
    bob_app.key_press(egui::Key::Enter);
    bob_app.run_steps(3);
    assert_eq!(
        bob_app.state().composer_text(),
        "@al @Alice and @Carol ",
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
    let carol = user_id(&server.as_member(&server.carol));
    let sent = format!("@al <@{alice}> and <@{carol}> see general");
    while !stored(&bob_rest, &general).contains(&sent) {
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
        shows(h, "see general") && h.query_by_role_and_label(Role::Label, "@Alice").is_some()
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

/// Notifications as the window would show them, and clicks to hand back.
#[derive(Clone, Default)]
struct Recorder {
    shown: Arc<Mutex<Vec<Notification>>>,
    clicks: Arc<Mutex<Vec<(String, i64)>>>,
}

impl Notify for Recorder {
    fn show(&mut self, notification: &Notification) {
        self.shown.lock().unwrap().push(notification.clone());
    }
    fn clicked(&mut self) -> Vec<(String, i64)> {
        std::mem::take(&mut self.clicks.lock().unwrap())
    }
}

fn step_for(h: &mut App, how_long: Duration) {
    let until = std::time::Instant::now() + how_long;
    while std::time::Instant::now() < until {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn level(h: &App, room: &str) -> NotifyLevel {
    h.state().session().rooms().get(room).unwrap().notify
}

fn choose(h: &mut App, option: &str) {
    h.get_by_label("Notify").click();
    h.run_steps(3);
    h.get_by_label(option).click();
    h.run_steps(3);
}

#[test]
fn notifications_follow_each_rooms_setting_and_a_click_opens_the_message() {
    let server = TestDirectus::shared();
    let alice_rest = server.as_member(&server.alice);
    let bob_rest = server.as_member(&server.bob);
    let (alice, bob) = (user_id(&alice_rest), user_id(&bob_rest));
    let name = format!("notify-{}", std::process::id());
    let room = private_room(&alice_rest, &name, &[&bob]);
    // Where Bob talks (not in general: the other test's messages are there).
    let talk = format!("talk-{}", std::process::id());
    let talk_room = private_room(&alice_rest, &talk, &[&bob]);
    let recorder = Recorder::default();
    let mut h = app_notifying(
        &server.url(),
        &temp_store("notify-alice"),
        Some(Box::new(recorder.clone())),
    );
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "her rooms", |h| {
        shows(h, &format!("# {name}")) && shows(h, &format!("# {talk}"))
    });
    h.get_by_label(&format!("# {name}")).click();
    wait_until(&mut h, "her room shown", |h| {
        h.state().session().rooms().shown_id() == Some(room.as_str())
    });
    // Only this test's rooms (the other test mentions Alice elsewhere meanwhile).
    let shown = || {
        let shown = recorder.shown.lock().unwrap();
        let ours = |n: &&Notification| n.room == room || n.room == talk_room;
        shown.iter().filter(ours).cloned().collect::<Vec<_>>()
    };

    // A mention in the talk room (the default: mentions and DMs) is notified, by name.
    post(&bob_rest, &talk_room, &format!("<@{alice}> ping 1"));
    wait_until(&mut h, "a notification", |_| shown().len() == 1);
    let first = shown()[0].clone();
    assert_eq!(first.room, talk_room);
    assert_eq!(
        (first.title.as_str(), first.body.as_str()),
        (format!("Bob in #{talk}").as_str(), "@Alice ping 1")
    );
    // A plain message is not, even once a burst's gap is over.
    post(&bob_rest, &talk_room, "plain words");
    wait_until(&mut h, "the plain one counted", |h| {
        shows(h, &format!("# {talk} (2) @1"))
    });
    step_for(&mut h, NOTIFY_GAP + Duration::from_millis(500));
    assert_eq!(shown().len(), 1, "{:?}", shown());

    // Clicked: the talk room opens at the message.
    recorder
        .clicks
        .lock()
        .unwrap()
        .push((talk_room.clone(), first.id));
    wait_until(&mut h, "the talk room at the message", |h| {
        h.state().session().rooms().shown_id() == Some(talk_room.as_str()) && shows(h, "ping 1")
    });

    // Nothing from the talk room; everything from her room. Kept on her membership, which nobody
    // else reads.
    choose(&mut h, "Nothing");
    wait_until(&mut h, "talk: nothing", |h| {
        level(h, &talk_room) == NotifyLevel::Nothing
    });
    let mine = format!(
        "/items/room_members?filter[room][_eq]={talk_room}&filter[user][_eq]={alice}&fields=notify"
    );
    let stored = alice_rest.get(&mine).unwrap().data("membership").unwrap();
    assert_eq!(stored[0]["notify"], "nothing");
    let seen_by_bob = bob_rest.get(&mine).unwrap().data("membership").unwrap();
    assert!(
        seen_by_bob[0]["notify"].is_null(),
        "Bob cannot read her setting: {seen_by_bob}"
    );
    // Nor find it out by filtering on it (Directus applies a field's row rule to filters on
    // it too); on his own membership the same filter works.
    for probe in ["_eq]=nothing", "_null]=true", "_nnull]=true"] {
        let rows = bob_rest
            .get(&format!("{mine}&filter[notify][{probe}"))
            .unwrap()
            .data("a probe")
            .unwrap();
        assert_eq!(rows, json!([]), "{probe}");
    }
    let own = format!(
        "/items/room_members?filter[room][_eq]={talk_room}&filter[user][_eq]={bob}&fields=notify\
         &filter[notify][_null]=true"
    );
    let rows = bob_rest.get(&own).unwrap().data("his own").unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    h.get_by_label(&format!("# {name}")).click();
    wait_until(&mut h, "her room again", |h| {
        h.state().session().rooms().shown_id() == Some(room.as_str())
    });
    choose(&mut h, "All messages");
    wait_until(&mut h, "her room: all", |h| {
        level(h, &room) == NotifyLevel::All
    });
    h.get_by_label(&format!("# {talk}")).click();
    wait_until(&mut h, "the talk room shown", |h| {
        h.state().session().rooms().shown_id() == Some(talk_room.as_str())
    });
    post(&bob_rest, &room, "plain in her room");
    wait_until(&mut h, "notified: all messages", |_| shown().len() == 2);
    assert_eq!(shown()[1].title, format!("Bob in #{name}"));
    post(&bob_rest, &talk_room, &format!("<@{alice}> ping 2"));
    wait_until(&mut h, "the mention arrived", |h| shows(h, "ping 2"));
    step_for(&mut h, Duration::from_millis(300));
    assert_eq!(
        shown().len(),
        2,
        "the talk room says nothing: {:?}",
        shown()
    );
}
