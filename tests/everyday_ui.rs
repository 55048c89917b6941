//! What a newcomer trips over every minute, in egui_kittest against a real Directus: typing
//! on after a send, a stray Tab+Enter, delete and its Undo, a still pointer over a moving
//! list, the unread count, saved history on an offline start, a window that grows or shrinks,
//! keys that scroll, the header's name for a member who never posted.

mod common;

use std::time::{Duration, Instant};

use common::ui::*;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

fn composer_focused(h: &App) -> bool {
    h.get_by_role_and_label(Role::MultilineTextInput, "Message")
        .is_focused()
}

/// Typed into whatever has the keyboard (no click first).
fn type_here(h: &mut App, text: &str) {
    h.event(egui::Event::Text(text.to_owned()));
    h.run_steps(2);
}

fn contents(rest: &Rest, like: &str) -> Vec<String> {
    let rows = rest
        .get(&format!(
            "/items/messages?filter[content][_contains]={}&fields=content&sort=id&limit=-1",
            xtask::rest::encode(like)
        ))
        .unwrap()
        .data("find")
        .unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The newest message the window holds (other tests may have posted after ours).
fn newest_shown(h: &App) -> String {
    let timeline = h.state().session().timeline();
    timeline.at(timeline.len() - 1).unwrap().content.clone()
}

fn set_focused(h: &mut App, focused: bool) {
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(focused);
    h.run_steps(2);
}

#[test]
fn three_messages_typed_without_a_click_all_arrive() {
    let server = TestDirectus::shared();
    let tag = format!("typed-on-{}", std::process::id());
    let mut h = app(&server.url(), &temp_store("typed-on"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    assert!(composer_focused(&h), "the composer has the keyboard");
    for n in 0..3 {
        type_here(&mut h, &format!("{tag} {n}"));
        h.key_press(egui::Key::Enter);
        h.run_steps(3);
        assert!(composer_focused(&h), "still typing after send {n}");
    }
    let alice = server.as_member(&server.alice);
    let deadline = Instant::now() + Duration::from_secs(20);
    while contents(&alice, &tag).len() < 3 && Instant::now() < deadline {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let expected: Vec<String> = (0..3).map(|n| format!("{tag} {n}")).collect();
    assert_eq!(
        contents(&alice, &tag),
        expected,
        "all three, once, in order"
    );
}

#[test]
fn the_header_names_a_member_who_never_posted() {
    let server = TestDirectus::shared();
    let email = format!("dana-{}@example.com", std::process::id());
    let dana = server.add_member(&email, "Dana");
    let mut h = app(&server.url(), &temp_store("never-posted"));
    log_in(&mut h, &dana.email, &dana.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    let header = format!("Logged in as Dana ({email})");
    wait_until(&mut h, &header, |h| shows(h, &header));
    // Her first message is shown as hers (the session knew her id before she posted).
    let text = format!("hello from {email}");
    fill(&mut h, "Message", &text);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "her message, sent", |h| {
        let s = h.state().session();
        s.outbox().is_empty()
            && s.timeline()
                .iter()
                .any(|m| m.content == text && s.is_mine(m))
    });
}

#[test]
fn esc_closes_the_logout_question_and_leaves_an_edit_alone() {
    let server = TestDirectus::shared();
    let mut h = app(&server.url(), &temp_store("esc-edit"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    let text = format!("esc keeps my edit {}", std::process::id());
    type_here(&mut h, &text);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "sent", |h| {
        let s = h.state().session();
        s.outbox().is_empty() && s.last_own().is_some_and(|m| m.content == text)
    });
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(3);
    assert!(
        h.query_by_label("Save").is_some(),
        "editing: {:#?}",
        h.root()
    );
    h.get_by_label("Log out").click();
    h.run_steps(2);
    assert!(shows(&h, "Log out of"));
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert!(!shows(&h, "Log out of"), "the question is gone");
    assert!(
        h.query_by_label("Save").is_some(),
        "the edit is still there"
    );
}

#[test]
fn a_stray_tab_and_enter_from_the_composer_never_logs_out_without_asking() {
    let server = TestDirectus::shared();
    let mut h = app(&server.url(), &temp_store("stray-tab"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    let draft = "half a thought";
    type_here(&mut h, draft);
    // Whatever Tab reaches, Enter there does not end the session unasked.
    let mut asked = false;
    for _ in 0..8 {
        h.key_press(egui::Key::Tab);
        h.run_steps(2);
        h.key_press(egui::Key::Enter);
        h.run_steps(2);
        asked |= shows(&h, "Log out of");
        assert!(
            asked || h.query_by_label("Log in").is_none(),
            "logged out by Tab and Enter without a question"
        );
        if asked {
            break;
        }
    }
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.query_by_label("Log in").is_none(), "still logged in");
    // The Log out button asks; Cancel keeps the session, the confirmation ends it.
    h.get_by_label("Log out").click();
    h.run_steps(2);
    assert!(shows(&h, "Log out of"));
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(!shows(&h, "Log out of") && h.query_by_label("Log in").is_none());
    h.get_by_label("Log out").click();
    h.run_steps(2);
    h.get_by_label("Yes, log out").click();
    wait_until(&mut h, "logged out", |h| {
        h.query_by_label("Log in").is_some()
    });
}

#[test]
fn delete_offers_undo_and_a_still_pointer_never_lands_on_the_next_delete() {
    // A server of its own: messages other tests post would move the rows under the pointer.
    let server = &TestDirectus::start(&xtask::install::selected_version(), &[]);
    let tag = format!("undo-{}", std::process::id());
    let (first, second) = (format!("{tag} first"), format!("{tag} second"));
    let mut h = app(&server.url(), &temp_store("undo"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    for text in [&first, &second] {
        type_here(&mut h, text);
        h.key_press(egui::Key::Enter);
        wait_until(&mut h, "sent", |h| shows(h, text) && !shows(h, "sending…"));
    }
    let alice = server.as_member(&server.alice);

    // Delete, then Undo: nothing reaches the server.
    h.get_by_label(&first).hover();
    h.run_steps(2);
    h.get_by_label("Delete").click();
    h.run_steps(2);
    assert!(!shows(&h, &first), "hidden at once");
    assert!(shows(&h, "Message deleted"));
    h.get_by_label("Undo").click();
    h.run_steps(2);
    assert!(shows(&h, &first), "back after Undo");
    std::thread::sleep(Duration::from_secs(6));
    h.run_steps(2);
    assert_eq!(
        contents(&alice, &tag).len(),
        2,
        "an undone delete is never sent"
    );

    // Delete for good: gone on the server once the Undo time is over.
    h.get_by_label(&first).hover();
    h.run_steps(2);
    h.get_by_label("Delete").click();
    let deadline = Instant::now() + Duration::from_secs(20);
    while contents(&alice, &tag).len() == 2 && Instant::now() < deadline {
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(contents(&alice, &tag), vec![second.clone()]);
    wait_until(&mut h, "the row gone", |h| {
        !shows(h, "Message deleted") && !shows(h, &first)
    });
    // The next message slid under the pointer, which has not moved: no Delete waits there.
    h.run_steps(3);
    assert!(
        h.query_by_label("Delete").is_none(),
        "a row's actions appeared under a still pointer"
    );
    h.get_by_label(&second).hover();
    h.run_steps(2);
    let delete = h.get_by_label("Delete").rect();
    let text = h.get_by_label(&second).rect();
    assert!(
        delete.left() < text.right() + 80.0,
        "Delete sits next to the message ({delete:?} vs {text:?}), not at the far edge"
    );
}

#[test]
fn unread_counts_only_what_arrives_unseen_and_a_divider_marks_it() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let bob = server.as_member(&server.bob);
    post_many(&bob, "history", 50);
    let mut h = app(&server.url(), &temp_store("unread"));
    set_focused(&mut h, false);
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "history", |h| shows(h, "history 49"));
    h.run_steps(3);
    let plain = h.state().title().to_owned();
    assert!(
        plain.starts_with("directus-chat — "),
        "history is not unread: {plain}"
    );
    let three = format!("(3) {plain}");

    post_many(&bob, "while away", 3);
    wait_until(&mut h, "three unread", |h| h.state().title() == three);
    // A reconnect re-reads what was already there: still three.
    server.stop();
    wait_until(&mut h, "offline", |h| shows(h, "Offline"));
    server.restart();
    h.get_by_label("Retry now").click();
    wait_until(&mut h, "online again", |h| shows(h, "Online"));
    h.run_steps(5);
    assert_eq!(h.state().title(), three);

    set_focused(&mut h, true);
    assert_eq!(h.state().title(), plain, "seen");
    let divider = h.get_by_label("New").rect();
    let first_new = h.get_by_label("while away 0").rect();
    let last_old = h.get_by_label("history 49").rect();
    assert!(
        last_old.bottom() <= divider.top() && divider.bottom() <= first_new.top(),
        "the New divider sits above the first unread message"
    );
}

#[test]
fn a_returning_user_sees_saved_history_before_the_server_answers() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let bob = server.as_member(&server.bob);
    post_many(&bob, "saved", 30);
    let store = temp_store("saved-history");
    let mut h = app(&server.url(), &store);
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "history", |h| shows(h, "saved 29"));
    h.run_steps(5);
    drop(h);

    // Gone while the app was closed: the saved copy must not bring it back for good.
    let admin = server.admin();
    let gone = admin
        .get("/items/messages?filter[content][_eq]=saved%2028&fields=id")
        .unwrap()
        .data("find")
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    admin.delete(&format!("/items/messages/{gone}")).unwrap();
    server.stop();

    let mut h = app(&server.url(), &store);
    h.run_steps(3);
    assert!(shows(&h, "saved 29"), "shown at once, server down");
    assert!(shows(&h, "may be out of date"));
    server.restart();
    h.get_by_label("Retry now").click();
    wait_until(&mut h, "synced", |h| {
        shows(h, "Online") && !shows(h, "saved 28")
    });
    assert!(!shows(&h, "may be out of date"));
    let timeline = h.state().session().timeline();
    let shown: Vec<&str> = timeline.iter().map(|m| m.content.as_str()).collect();
    let mut unique = shown.clone();
    unique.dedup();
    assert_eq!(shown, unique, "no message twice");
    assert!(shown.contains(&"saved 29") && !shown.contains(&"saved 28"));
    // Owner-only on disk, and gone with the session at logout.
    use std::os::unix::fs::PermissionsExt;
    let file = store.join("history.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    h.get_by_label("Log out").click();
    h.run_steps(2);
    h.get_by_label("Yes, log out").click();
    wait_until(&mut h, "logged out", |h| {
        h.query_by_label("Log in").is_some()
    });
    assert!(
        !file.exists(),
        "the saved messages are gone with the session"
    );
}

#[test]
fn a_resized_window_shows_the_newest_message_at_its_bottom_in_the_same_frame() {
    let server = TestDirectus::shared();
    let tag = format!("grow-{}", std::process::id());
    post_many(&server.as_member(&server.bob), &tag, 40);
    let mut h = app(&server.url(), &temp_store("grow"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "history", |h| shows(h, &format!("{tag} 39")));
    h.run_steps(5);
    let composer_top = |h: &App| {
        h.get_by_role_and_label(Role::MultilineTextInput, "Message")
            .rect()
            .top()
    };
    // Other tests post to the same server: the newest may be theirs, and may change.
    let gap = |h: &App| {
        let newest = newest_shown(h);
        assert!(shows(h, &newest), "newest not drawn: {:#?}", h.root());
        composer_top(h) - h.get_by_label(&newest).rect().bottom()
    };
    let before = gap(&h);
    for height in [900.0, 450.0, 1000.0] {
        h.set_size(egui::vec2(800.0, height));
        // One frame: what the user sees right after the resize.
        h.step();
        let after = gap(&h);
        assert!(
            (after - before).abs() < 30.0,
            "at {height} px: {after} px under the newest message (was {before})"
        );
    }
}

#[test]
fn page_up_page_down_home_and_end_scroll_the_messages() {
    let server = TestDirectus::shared();
    let tag = format!("keys-{}", std::process::id());
    post_many(&server.as_member(&server.bob), &tag, 60);
    let mut h = app(&server.url(), &temp_store("keys"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "history", |h| shows(h, &format!("{tag} 59")));
    h.run_steps(5);
    let newest = newest_shown(&h);
    h.key_press(egui::Key::PageUp);
    h.run_steps(5);
    assert!(!shows(&h, &newest), "PageUp left the newest");
    h.key_press(egui::Key::PageDown);
    h.run_steps(5);
    h.key_press(egui::Key::PageDown);
    h.run_steps(5);
    assert!(shows(&h, &newest_shown(&h)), "PageDown came back");
    let oldest = h
        .state()
        .session()
        .timeline()
        .at(0)
        .unwrap()
        .content
        .clone();
    assert!(!shows(&h, &oldest));
    h.key_press(egui::Key::Home);
    // At the top of what is loaded (where the previous page is asked for at once).
    wait_until(&mut h, "Home went to the top", |h| {
        shows(h, &oldest) || shows(h, "older messages") || shows(h, "the beginning")
    });
    // End, also while the page Home asked for lands above.
    h.key_press(egui::Key::End);
    h.run_steps(5);
    wait_until(&mut h, "End went to the newest", |h| {
        shows(h, &newest_shown(h)) && !h.state().session().loading_older()
    });
    h.run_steps(40);
    assert!(shows(&h, &newest_shown(&h)), "and stays there");
    assert!(composer_focused(&h), "the keyboard stays in the composer");
}

#[test]
fn after_a_wrong_password_the_cursor_waits_in_the_password_field() {
    let server = TestDirectus::shared();
    let mut h = app(&server.url(), &temp_store("wrong-again"));
    log_in(&mut h, &server.alice.email, "not-her-password");
    wait_until(&mut h, "the error", |h| shows(h, "Wrong email or password"));
    h.run_steps(2);
    assert!(
        h.get_by_role_and_label(Role::PasswordInput, "Password")
            .is_focused()
    );
    type_here(&mut h, &server.alice.password.clone());
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
}

#[test]
fn messages_queued_offline_say_waiting() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let mut h = app(&server.url(), &temp_store("waiting"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    server.stop();
    wait_until(&mut h, "offline", |h| shows(h, "Offline"));
    type_here(&mut h, "written offline");
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert!(shows(&h, "waiting") && !shows(&h, "sending…"));
    assert!(composer_focused(&h), "typing on offline too");
}
