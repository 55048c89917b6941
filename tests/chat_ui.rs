//! The chat people use every day, in egui_kittest against a real Directus: scroll-back to the
//! very first message, the new-messages button, edit with Up, delete, Bob seeing both live,
//! the status banner, and a server that forbids edits.

mod common;

use common::ui::*;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use serde_json::Value;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

fn message_exists(rest: &Rest, content: &str) -> Option<Value> {
    let rows = rest
        .get(&format!(
            "/items/messages?filter[content][_eq]={}&fields=id,content,date_updated",
            xtask::rest::encode(content)
        ))
        .unwrap()
        .data("find")
        .unwrap();
    rows.as_array().and_then(|r| r.first()).cloned()
}

/// Bob posted `count` messages "`name`-PID N"; Alice's window shows the newest.
fn alice_reading(server: &TestDirectus, name: &str, count: usize) -> (Rest, String, App) {
    let bob = Rest::login(&server.url(), &server.bob.email, &server.bob.password).unwrap();
    let tag = format!("{name}-{}", std::process::id());
    post_many(&bob, &tag, count);
    let mut h = app(&server.url(), &temp_store(name));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    let newest = format!("{tag} {}", count - 1);
    wait_until(&mut h, "the newest page", |h| shows(h, &newest));
    (bob, tag, h)
}

/// The message in the middle of those of `tag` that are on screen.
fn middle_on_screen(h: &App, tag: &str, count: usize) -> String {
    let shown: Vec<String> = (0..count)
        .map(|n| format!("{tag} {n}"))
        .filter(|t| h.query_by_label(t).is_some())
        .collect();
    assert!(shown.len() > 2, "{shown:?}");
    shown[shown.len() / 2].clone()
}

#[test]
fn scrolling_up_loads_every_page_down_to_the_first_message_without_jumping() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let bob = Rest::login(&server.url(), &server.bob.email, &server.bob.password).unwrap();
    post_many(&bob, "history", 180); // the newest page is 50: three more pages to go
    let mut h = app(&server.url(), &temp_store("scrollback"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "the newest page", |h| shows(h, "history 179"));
    assert!(!shows(&h, "history 0"));
    assert!(!shows(&h, "This is the beginning"));

    let mut pages_seen = 0;
    let mut loaded = h.state().session().timeline().len();
    for _ in 0..400 {
        wheel(&mut h, 400.0);
        let now = h.state().session().timeline().len();
        if now > loaded {
            // Another page arrived above (that it does not move the view: the next test).
            pages_seen += 1;
            loaded = now;
        }
        if shows(&h, "This is the beginning of the conversation.") && shows(&h, "history 0") {
            break;
        }
    }
    assert!(
        shows(&h, "This is the beginning of the conversation."),
        "reached the top"
    );
    assert!(shows(&h, "history 0"), "the very first message is shown");
    assert_eq!(
        h.state().session().timeline().len(),
        180,
        "every message once"
    );
    assert!(pages_seen >= 3, "loaded page by page ({pages_seen})");
}

#[test]
fn a_page_loaded_above_keeps_the_message_in_view_where_it_was() {
    let server = TestDirectus::shared();
    let (_bob, tag, mut h) = alice_reading(server, "keep", 120);
    // Scroll up (in steps applied at once) until the previous page is asked for; then
    // stop and watch one message.
    let before = h.state().session().timeline().len();
    for _ in 0..1000 {
        wheel_exactly(&mut h, 7.0);
        if h.state().session().loading_older() {
            break;
        }
    }
    assert!(
        h.state().session().loading_older(),
        "the previous page was asked for"
    );
    let watched = middle_on_screen(&h, &tag, 120);
    // Where it is on the last frame before the page lands (wheel momentum may still move it
    // until then), and where it is once the page is in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut y_before = h.get_by_label(&watched).rect().top();
    while h.state().session().timeline().len() == before {
        assert!(std::time::Instant::now() < deadline, "the page never came");
        y_before = h.get_by_label(&watched).rect().top();
        h.step();
    }
    h.run_steps(4);
    let y_after = h.get_by_label(&watched).rect().top();
    assert!(
        (y_before - y_after).abs() < 1.0,
        "50 messages inserted above did not move {watched}: {y_before} -> {y_after}"
    );
}

#[test]
fn new_messages_while_scrolled_up_wait_behind_a_button() {
    let server = TestDirectus::shared();
    let (bob, tag, mut h) = alice_reading(server, "button", 60);
    for _ in 0..3 {
        wheel(&mut h, 250.0);
    }
    assert!(
        !shows(&h, &format!("{tag} 59")),
        "scrolled away from the newest"
    );
    // A message in the middle of the view, and where it is once the scroll has come to
    // rest (wheel momentum, a page loaded above).
    let mut middle = middle_on_screen(&h, &tag, 60);
    let mut y_before = h.get_by_label(&middle).rect().top();
    let mut still = 0;
    for _ in 0..600 {
        h.step();
        let y = h.query_by_label(&middle).map(|n| n.rect().top());
        if y == Some(y_before) && !h.state().session().loading_older() {
            still += 1;
            if still == 10 {
                break;
            }
        } else {
            still = 0;
            middle = middle_on_screen(&h, &tag, 60);
            y_before = h.get_by_label(&middle).rect().top();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(still, 10, "the view came to rest");
    let middle = &middle;
    post_many(&bob, &format!("{tag} new"), 3);
    wait_until(&mut h, "the button", |h| shows(h, "3 new messages"));
    let y_after = h.get_by_label(middle).rect().top();
    assert!(
        (y_before - y_after).abs() < 1.0,
        "the view did not move: {middle} at {y_before}, then {y_after}"
    );
    h.get_by_label("3 new messages").click();
    wait_until(&mut h, "the newest message", |h| {
        shows(h, &format!("{tag} new 2")) && !shows(h, "new messages")
    });
    // At the bottom, the next message just appears (no button).
    post_many(&bob, &format!("{tag} after"), 1);
    wait_until(&mut h, "followed at the bottom", |h| {
        shows(h, &format!("{tag} after 0"))
    });
    assert!(!shows(&h, "new message"));
}

#[test]
fn alice_edits_with_up_and_deletes_and_bob_sees_both_live() {
    let server = TestDirectus::shared();
    let tag = std::process::id();
    let mut alice = app(&server.url(), &temp_store("edit-alice"));
    log_in(&mut alice, &server.alice.email, &server.alice.password);
    let mut bob = app(&server.url(), &temp_store("edit-bob"));
    log_in(&mut bob, &server.bob.email, &server.bob.password);
    wait_until(&mut alice, "online", |h| shows(h, "Online"));
    wait_until(&mut bob, "online", |h| shows(h, "Online"));

    let typo = format!("teh typo {tag}");
    fill(&mut alice, "Message", &typo);
    alice.key_press(egui::Key::Enter);
    wait_until(&mut alice, "sent", |h| {
        shows(h, &typo) && !shows(h, "sending…")
    });
    wait_until(&mut bob, "Bob sees it", |h| shows(h, &typo));

    // Up in the empty composer takes the last own message; Esc gives up.
    alice
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .focus();
    alice.run_steps(2);
    alice.key_press(egui::Key::ArrowUp);
    alice.run_steps(2);
    assert!(shows(&alice, "Editing your message"));
    let composer = |h: &App| {
        h.get_by_role_and_label(Role::MultilineTextInput, "Message")
            .value()
            .unwrap_or_default()
    };
    assert_eq!(composer(&alice), typo);
    alice.key_press(egui::Key::Escape);
    alice.run_steps(2);
    assert!(!shows(&alice, "Editing your message"));
    assert_eq!(composer(&alice), "");
    assert!(
        alice
            .get_by_role_and_label(Role::MultilineTextInput, "Message")
            .is_focused(),
        "the composer keeps the keyboard after Esc"
    );

    // Up again, change it, Enter saves.
    alice.key_press(egui::Key::ArrowUp);
    alice.run_steps(2);
    assert!(
        shows(&alice, "Editing your message"),
        "Up after Esc edits again"
    );
    assert!(
        alice
            .get_by_role_and_label(Role::MultilineTextInput, "Message")
            .is_focused(),
        "still typing in the composer"
    );
    alice
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .type_text(" fixed");
    alice.run_steps(2);
    let fixed = format!("{typo} fixed");
    assert_eq!(composer(&alice), fixed, "typed at the end of the text");
    alice.key_press(egui::Key::Enter);
    wait_until(&mut alice, "edited", |h| {
        shows(h, &fixed) && shows(h, "(edited)")
    });
    wait_until(&mut bob, "Bob sees the edit live", |h| {
        shows(h, &fixed) && shows(h, "(edited)")
    });
    let rest = Rest::login(&server.url(), &server.bob.email, &server.bob.password).unwrap();
    let stored = message_exists(&rest, &fixed).expect("stored edited");
    assert!(stored["date_updated"].is_string());

    // Delete: offered on hover of one's own message only.
    bob.get_by_label(&fixed).hover();
    bob.run_steps(2);
    assert!(
        bob.query_by_label("Delete").is_none(),
        "not Bob's to delete"
    );
    alice.get_by_label(&fixed).hover();
    alice.run_steps(2);
    alice.get_by_label("Delete").click();
    // Hidden at once (Undo is offered for a few seconds), then deleted for everyone.
    wait_until(&mut alice, "gone", |h| !shows(h, &fixed));
    let held = |h: &App| {
        h.state()
            .session()
            .timeline()
            .iter()
            .any(|m| m.content == fixed)
    };
    wait_until(&mut alice, "deleted", |h| !held(h));
    wait_until(&mut bob, "gone for Bob too, live", |h| !held(h));
    assert!(
        message_exists(&rest, &fixed).is_none(),
        "deleted on the server"
    );
}

#[test]
fn the_banner_says_offline_with_a_countdown_and_retry_then_online() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let mut h = app(&server.url(), &temp_store("banner"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    assert!(h.query_by_label("Retry now").is_none());
    server.stop();
    wait_until(&mut h, "offline", |h| {
        shows(h, "Offline: reconnecting in") && h.query_by_label("Retry now").is_some()
    });
    fill(&mut h, "Message", "queued in the banner");
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the count", |h| {
        shows(h, "1 message waiting to send")
    });
    server.restart();
    h.get_by_label("Retry now").click();
    wait_until(&mut h, "online again", |h| {
        shows(h, "Online") && !shows(h, "waiting to send") && shows(h, "queued in the banner")
    });
    assert!(h.query_by_label("Retry now").is_none());
}

#[test]
fn a_server_that_forbids_edits_hides_them_and_says_why() {
    // Directus 12 without a licence refuses the "own messages" rule: members cannot edit.
    let server = TestDirectus::start("12.4.0", &[]);
    let mut h = app(&server.url(), &temp_store("forbidden"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    let text = format!("cannot edit {}", std::process::id());
    fill(&mut h, "Message", &text);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "sent", |h| shows(h, &text) && !shows(h, "sending…"));
    h.get_by_role_and_label(Role::MultilineTextInput, "Message")
        .focus();
    h.run_steps(2);
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(2);
    h.get_by_role_and_label(Role::MultilineTextInput, "Message")
        .type_text("!");
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the reason", |h| {
        shows(h, "does not let members edit or delete")
    });
    h.get_by_label(&text).hover();
    h.run_steps(2);
    assert!(h.query_by_label("Edit").is_none() && h.query_by_label("Delete").is_none());
}
