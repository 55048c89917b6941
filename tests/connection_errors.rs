//! A wrong address says what is wrong in the user's words, against real listeners: nothing
//! listening, no such host, a web server that is not Directus, and the Admin URL (which is
//! understood as the server itself).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::ui::*;
use egui_kittest::kittest::{NodeT, Queryable};
use xtask::testing::TestDirectus;

/// The login panel's error after logging in at `server`.
fn error_for(server: &str, name: &str) -> String {
    let mut h = app(server, &temp_store(name));
    log_in(&mut h, "a@b.c", "x");
    wait_until(&mut h, "an error", |h| shows(h, "Cannot reach"));
    let node = h
        .query_all_by_label_contains("Cannot reach")
        .next()
        .unwrap();
    let label = node.accesskit_node().label().filter(|l| !l.is_empty());
    label.or_else(|| node.value()).unwrap_or_default()
}

fn library_words(error: &str) {
    for words in [
        "URL error",
        "IO error",
        "protocol error",
        "os error",
        "Connect:",
    ] {
        assert!(
            !error.contains(words),
            "library words {words:?} in {error:?}"
        );
    }
}

#[test]
fn nothing_listening_at_the_port() {
    let port = xtask::server::free_port();
    let error = error_for(&format!("http://127.0.0.1:{port}"), "closed-port");
    assert!(
        error.contains(&format!("Nothing answers at 127.0.0.1:{port}")),
        "{error}"
    );
    library_words(&error);
}

#[test]
fn no_such_host() {
    let error = error_for("http://no-such-host.invalid:8055", "unknown-host");
    assert!(
        error.contains("no-such-host.invalid") && error.contains("no such host"),
        "{error}"
    );
    library_words(&error);
}

/// A web server that answers every request with a page (and no WebSocket).
fn plain_web_server(reply: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{reply}",
                reply.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

#[test]
fn a_web_server_that_is_not_directus() {
    let port = plain_web_server("<html>hello</html>");
    let error = error_for(&format!("http://127.0.0.1:{port}"), "not-directus");
    assert!(error.contains("is not a Directus server"), "{error}");
    library_words(&error);
}

#[test]
fn a_server_that_does_not_speak_http() {
    // e.g. the address of a database or a mail server
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"220 mail.example.com ESMTP\r\n");
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
        }
    });
    let error = error_for(&format!("http://127.0.0.1:{port}"), "not-http");
    assert!(error.contains("does not speak HTTP"), "{error}");
    library_words(&error);
}

#[test]
fn the_admin_url_logs_in_to_the_server_itself() {
    let server = TestDirectus::shared();
    for admin in ["/admin", "/admin/", "/admin/content/messages"] {
        let mut h = app(
            &format!("{}{admin}", server.url()),
            &temp_store("admin-url"),
        );
        log_in(&mut h, &server.alice.email, &server.alice.password);
        wait_until(&mut h, "online", |h| shows(h, "Online"));
    }
}

#[test]
fn a_directus_with_websockets_off() {
    let server = TestDirectus::start(
        &xtask::install::selected_version(),
        &[("WEBSOCKETS_ENABLED", "false")],
    );
    let error = error_for(&server.url(), "websockets-off");
    assert!(
        error.contains("WebSockets are off") && error.contains("WEBSOCKETS_ENABLED"),
        "{error}"
    );
    library_words(&error);
}
