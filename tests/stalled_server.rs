//! A server that accepts connections and never answers costs nothing lasting: each attempt's
//! thread and descriptor are gone once its handshake times out, however many attempts there
//! are; and a redirect is never followed. (Alone in its test binary: it counts the process's
//! threads and descriptors.)

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use common::fault_table::{Outcome, report};
use directus_chat::edge::SocketEvent;
use directus_chat::edge::socket::Socket;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// Open a socket to `url` and wait for how it ends.
fn attempt(url: &str) -> String {
    let (tx, rx) = mpsc::channel();
    let on_event = Box::new(move |event| {
        let _ = tx.send(event);
        true
    });
    let socket =
        Socket::connect_with_timeout(url.to_owned(), Duration::from_millis(300), on_event).unwrap();
    let ended = rx.recv_timeout(Duration::from_secs(5));
    drop(socket);
    match ended {
        Ok(SocketEvent::Closed(reason)) => reason,
        other => panic!("expected the attempt to fail in time, got {other:?}"),
    }
}

#[test]
fn a_black_holed_server_leaks_no_threads_or_descriptors_and_redirects_are_not_followed() {
    // Accepts every connection, reads what comes, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            held.push(stream); // kept open: the client must give up by itself
        }
    });
    let url = format!("ws://127.0.0.1:{port}/websocket");
    let reason = attempt(&url);
    assert!(reason.contains("did not answer"), "{reason}");
    std::thread::sleep(Duration::from_millis(200)); // the attempt's thread ends
    let (threads, fds) = (count("/proc/self/task"), count("/proc/self/fd"));
    for _ in 1..20 {
        attempt(&url);
    }
    std::thread::sleep(Duration::from_millis(200));
    // The listener's thread holds the server ends (one descriptor per attempt): count ours.
    let held_by_listener = 19;
    assert!(
        count("/proc/self/task") <= threads,
        "threads: {} after 20 attempts, {threads} after 1",
        count("/proc/self/task")
    );
    assert!(
        count("/proc/self/fd") <= fds + held_by_listener,
        "descriptors: {} after 20 attempts, {fds} after 1",
        count("/proc/self/fd")
    );

    // Nothing to send here: the row says the 20 stalls cost nothing lasting (asserted above).
    let outcome = Outcome {
        sent: 0,
        lost: 0,
        duplicated: 0,
        out_of_order: 0,
        anonymous: 0,
    };
    report(
        "server accepts and never answers (threads, descriptors unchanged)",
        20,
        &outcome,
    );

    // A redirect (which could move wss:// to ws:// before the token is sent) is refused.
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let redirect_port = redirector.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in redirector.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 301 Moved Permanently\r\nLocation: ws://127.0.0.1:1/websocket\r\n\
                  Content-Length: 0\r\n\r\n",
            );
        }
    });
    let reason = attempt(&format!("ws://127.0.0.1:{redirect_port}/websocket"));
    assert!(reason.contains("redirects are not followed"), "{reason}");
}
