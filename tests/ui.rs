//! The real app in egui_kittest, talking to a real Directus: widgets found by their labels.

mod common;

use common::ui::*;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use serde_json::json;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

#[test]
fn a_wrong_password_is_said_on_the_login_panel() {
    let server = TestDirectus::shared();
    let mut h = app(&server.url(), &temp_store("wrong"));
    log_in(&mut h, &server.alice.email, "not-her-password");
    wait_until(&mut h, "the error", |h| shows(h, "Wrong email or password"));
    assert!(
        h.query_by_label("Log in").is_some(),
        "still on the login panel"
    );
}

#[test]
fn a_bad_address_or_a_dead_server_is_said_on_the_login_panel() {
    let port = xtask::server::free_port();
    let mut h = app("ftp://example.com", &temp_store("bad-url"));
    log_in(&mut h, "a@b.c", "x");
    wait_until(&mut h, "the URL error", |h| {
        shows(h, "is not a server address")
    });

    let mut h = app(&format!("http://127.0.0.1:{port}"), &temp_store("dead"));
    log_in(&mut h, "a@b.c", "x");
    wait_until(&mut h, "the connection error", |h| {
        shows(h, "Cannot reach the server")
    });
}

#[test]
fn alice_sends_with_enter_and_sees_what_bob_sends() {
    let server = TestDirectus::shared();
    let mut h = app(&server.url(), &temp_store("chat"));
    log_in(&mut h, &server.alice.email, &server.alice.password);
    wait_until(&mut h, "online", |h| shows(h, "Online"));
    assert!(h.query_by_label_contains("alice@example.com").is_some());

    let text = format!("kittest says hi {}", std::process::id());
    fill(&mut h, "Message", &text);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the confirmed message", |h| {
        shows(h, &text) && !shows(h, "sending…")
    });
    assert_eq!(
        h.get_by_role_and_label(Role::MultilineTextInput, "Message")
            .value()
            .as_deref(),
        Some(""),
        "composer cleared"
    );

    // Shift+Enter is a new line, not a send.
    fill(&mut h, "Message", "two");
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
    h.run_steps(2);
    assert!(!shows(&h, "sending…"));
    let composed = h
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .value()
        .unwrap_or_default();
    assert!(composed.contains('\n'), "{composed:?}");

    // Bob posts from another client; Alice's window shows it with his name.
    let bob = Rest::login(&server.url(), &server.bob.email, &server.bob.password).unwrap();
    let from_bob = format!("Bob answers {}", std::process::id());
    bob.post("/items/messages", &json!({"content": from_bob}))
        .unwrap()
        .data("bob posts")
        .unwrap();
    wait_until(&mut h, "Bob's message", |h| shows(h, &from_bob));
    assert!(
        h.query_all_by_label("Bob").next().is_some(),
        "author's first name shown"
    );
}

#[test]
fn the_session_survives_a_restart_and_logout_kills_the_token_on_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestDirectus::shared();
    let store = temp_store("persist");
    {
        let mut h = app(&server.url(), &store);
        log_in(&mut h, &server.bob.email, &server.bob.password);
        wait_until(&mut h, "online", |h| shows(h, "Online"));
    }
    let file = store.join("session.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(&server.bob.password),
        "the password never reaches disk"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&store).unwrap().permissions().mode() & 0o077,
        0
    );

    // A new window logs in by itself with the stored (rotating) token.
    let mut h = app(&server.url(), &store);
    wait_until(&mut h, "online without typing", |h| shows(h, "Online"));
    let token: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let token = token["refresh_token"].as_str().unwrap().to_owned();

    h.get_by_label("Log out").click();
    h.run_steps(2);
    h.get_by_label("Yes, log out").click(); // logging out asks first
    wait_until(&mut h, "the login panel", |h| shows(h, "Log in"));
    assert!(!file.exists(), "the stored session is forgotten");
    // The revocation is a REST call in flight; once it is done the server must refuse the
    // token. One attempt only: a successful auth would itself rotate (kill) the token.
    wait_until(&mut h, "the revocation", |h| {
        !h.state().revocation_pending()
    });
    assert_eq!(h.state().logout_error(), None);
    let (mut socket, _) = tungstenite::connect(server.ws_url()).unwrap();
    socket
        .send(tungstenite::Message::text(
            json!({"type":"auth","refresh_token":token}).to_string(),
        ))
        .unwrap();
    let refused: serde_json::Value = loop {
        if let tungstenite::Message::Text(t) = socket.read().unwrap() {
            break serde_json::from_str(&t).unwrap();
        }
    };
    assert_eq!(refused["error"]["code"], "AUTH_FAILED", "{refused}");
}

#[test]
fn messages_written_offline_survive_a_restart_of_the_app_and_go_out_once() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let store = temp_store("outbox");
    let text = format!("written offline {}", std::process::id());
    {
        let mut h = app(&server.url(), &store);
        log_in(&mut h, &server.alice.email, &server.alice.password);
        wait_until(&mut h, "online", |h| shows(h, "Online"));
        server.stop();
        wait_until(&mut h, "offline", |h| shows(h, "Offline"));
        fill(&mut h, "Message", &text);
        h.key_press(egui::Key::Enter);
        wait_until(&mut h, "pending", |h| {
            // Offline, the pending row says "waiting" (nothing is being sent).
            h.query_by_label("waiting").is_some() && shows(h, "1 message waiting to send")
        });
        // The window closes with the message unsent.
    }
    let file = store.join("session.json");
    let kept = std::fs::read_to_string(&file).unwrap();
    assert!(
        kept.contains(&text),
        "the unsent message is on disk: {kept}"
    );
    assert!(!kept.contains(&server.alice.password));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    server.restart();
    let mut h = app(&server.url(), &store);
    h.step();
    assert!(
        shows(&h, &text) && h.query_by_label("waiting").is_some(),
        "shown as pending at start, before the socket is up"
    );
    wait_until(&mut h, "sent after the restart", |h| {
        shows(h, "Online")
            && shows(h, &text)
            && !shows(h, "sending…")
            && h.query_by_label("waiting").is_none()
    });
    let kept = std::fs::read_to_string(&file).unwrap();
    assert!(!kept.contains(&text), "confirmed: dropped from storage");
    let rest = Rest::login(&server.url(), &server.bob.email, &server.bob.password).unwrap();
    let found = rest
        .get(&format!(
            "/items/messages?filter[content][_eq]={}&fields=id,user_created.first_name",
            xtask::rest::encode(&text)
        ))
        .unwrap()
        .data("messages")
        .unwrap();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "exactly once: {found:?}");
    assert_eq!(found[0]["user_created"]["first_name"], "Alice");
}
