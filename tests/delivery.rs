//! Delivery against a real Directus when the server refuses, and when another member attacks:
//! a refused catch-up loses nothing, a member posting under Alice's key neither suppresses nor
//! claims her message, oversized messages are refused by the server while big ones arrive in
//! full, and a refused message is never dropped silently. Rows join the fault table.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fault_table::{Outcome, report};
use common::frame_proxy::{FrameProxy, Verdict};
use common::{Client, wait_for};
use serde_json::{Value, json};
use xtask::rest::{Rest, encode};
use xtask::testing::TestDirectus;

fn tag(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// What Directus stored under this prefix: content -> authors' first names.
fn stored(server: &TestDirectus, prefix: &str) -> HashMap<String, Vec<String>> {
    let admin = server.admin();
    let rows = admin
        .get(&format!(
            "/items/messages?limit=-1&fields=content,user_created.first_name\
             &filter[content][_starts_with]={}",
            encode(prefix)
        ))
        .unwrap()
        .data("read back")
        .unwrap();
    let mut stored: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows.as_array().unwrap() {
        stored
            .entry(row["content"].as_str().unwrap().to_owned())
            .or_default()
            .push(
                row["user_created"]["first_name"]
                    .as_str()
                    .unwrap_or("nobody")
                    .to_owned(),
            );
    }
    stored
}

/// How often each content was printed.
fn printed_counts(lines: &[Value], prefix: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in lines {
        let content = line["content"].as_str().unwrap_or_default();
        if content.starts_with(prefix) {
            *counts.entry(content.to_owned()).or_default() += 1;
        }
    }
    counts
}

fn bob(server: &TestDirectus) -> Rest {
    server.as_member(&server.bob)
}

/// Alice, through the proxy, online and synced.
fn alice_through(proxy: &FrameProxy, server: &TestDirectus) -> Client {
    let alice = Client::start_at(&proxy.url(), &server.alice);
    alice.wait_for_status("status: Online", Duration::from_secs(60));
    alice
}

fn error_frame(uid: &Value, code: &str) -> String {
    json!({"type": "items", "status": "error", "uid": uid,
           "error": {"code": code, "message": format!("{code} (said by the test's proxy)")}})
    .to_string()
}

#[test]
fn a_refused_catch_up_loses_none_of_300_messages() {
    let server = TestDirectus::shared();
    let proxy = FrameProxy::start(server.config.port);
    let alice = alice_through(&proxy, server);
    let prefix = tag("refused-catch-up");
    proxy.offline();
    alice.wait_for_status("Offline", Duration::from_secs(30));
    // 300 messages while she is away, in one batch.
    let batch: Vec<Value> = (0..300)
        .map(|n| json!({ "content": format!("{prefix} {n}") }))
        .collect();
    bob(server)
        .post("/items/messages", &json!(batch))
        .unwrap()
        .data("post 300")
        .unwrap();
    // Her first catch-up read is refused, as a failing server would.
    let refused = Arc::new(Mutex::new(0));
    let count = refused.clone();
    proxy.once(move |frame| {
        let catch_up = frame["uid"].as_str()?.starts_with("catch-up");
        catch_up.then(|| {
            *count.lock().unwrap() += 1;
            Verdict::Answer(error_frame(&frame["uid"], "INTERNAL_SERVER_ERROR"))
        })
    });
    proxy.online();
    let all = wait_for(Duration::from_secs(60), || {
        printed_counts(&alice.printed(), &prefix).len() == 300
    });
    let lines = alice.finish();
    let counts = printed_counts(&lines, &prefix);
    assert!(all, "Alice printed {} of 300", counts.len());
    assert_eq!(*refused.lock().unwrap(), 1, "the refusal happened");
    let outcome = Outcome::of_one_client(300, &counts);
    report("catch-up read refused once after 300 missed", 1, &outcome);
}

#[test]
fn a_member_posting_under_alices_key_neither_suppresses_nor_claims_her_message() {
    let server = TestDirectus::shared();
    let proxy = FrameProxy::start(server.config.port);
    let mut alice = alice_through(&proxy, server);
    let prefix = tag("stolen-key");
    let hers = format!("{prefix} alice's words");
    let bobs = format!("{prefix} bob under alice's key");
    // Alice's create is lost on its way; Bob (who somehow learnt her key) posts with it first.
    let key = Arc::new(Mutex::new(None::<String>));
    let seen = key.clone();
    proxy.once(move |frame| {
        (frame["action"] == "create").then(|| {
            *seen.lock().unwrap() = frame["data"]["client_key"].as_str().map(str::to_owned);
            Verdict::Swallow
        })
    });
    alice.send(&hers);
    assert!(wait_for(Duration::from_secs(10), || key
        .lock()
        .unwrap()
        .is_some()));
    let key = key.lock().unwrap().clone().unwrap();
    bob(server)
        .post(
            "/items/messages",
            &json!({ "content": bobs, "client_key": key }),
        )
        .unwrap()
        .data("Bob posts under Alice's key")
        .unwrap();
    // Her connection drops; she sends again under the same key, which is now Bob's.
    proxy.offline();
    alice.wait_for_status("Offline", Duration::from_secs(30));
    proxy.online();
    let lines = alice.finish();
    let counts = printed_counts(&lines, &prefix);
    let in_db = stored(server, &prefix);
    assert_eq!(
        in_db.get(&hers),
        Some(&vec!["Alice".to_owned()]),
        "{in_db:?}"
    );
    assert_eq!(in_db.get(&bobs), Some(&vec!["Bob".to_owned()]));
    for line in lines.iter().filter(|l| l["author"] == "Bob") {
        assert_eq!(line["mine"], false, "Bob shown as Alice's own: {line}");
    }
    let her_line = lines
        .iter()
        .find(|l| l["content"] == hers.as_str())
        .unwrap();
    assert_eq!(
        (&her_line["author"], &her_line["mine"]),
        (&json!("Alice"), &json!(true))
    );
    let hers_printed: HashMap<String, usize> = counts
        .get_key_value(&hers)
        .map(|(k, n)| (k.clone(), *n))
        .into_iter()
        .collect();
    let mut outcome = Outcome::of_one_client(1, &hers_printed);
    outcome.duplicated += in_db[&hers].len() - 1;
    report("another member posts under Alice's key", 1, &outcome);
}

#[test]
fn oversized_messages_are_refused_by_the_server_and_big_ones_arrive_after_a_cut() {
    let server = TestDirectus::shared();
    let bob = bob(server);
    let prefix = tag("big");
    // What the composer refuses, the server refuses too: no member can post a reply that
    // cannot fit through another member's socket.
    for size in [1_000_000, 65_537] {
        let content = format!("{prefix} {}", "x".repeat(size));
        let reply = bob
            .post("/items/messages", &json!({ "content": content }))
            .unwrap();
        assert_eq!(
            (reply.status, reply.error_code()),
            (400, Some("FAILED_VALIDATION")),
            "{size} characters"
        );
    }
    let proxy = FrameProxy::start(server.config.port);
    let alice = alice_through(&proxy, server);
    proxy.offline();
    alice.wait_for_status("Offline", Duration::from_secs(30));
    let filler = "y".repeat(60 * 1024);
    for n in 0..100 {
        bob.post(
            "/items/messages",
            &json!({ "content": format!("{prefix} {n} {filler}") }),
        )
        .unwrap()
        .data("post 60 KiB")
        .unwrap();
    }
    proxy.online();
    let all = wait_for(Duration::from_secs(60), || {
        printed_counts(&alice.printed(), &prefix).len() == 100
    });
    let lines = alice.finish();
    let counts = printed_counts(&lines, &prefix);
    assert!(all, "Alice printed {} of 100", counts.len());
    let outcome = Outcome::of_one_client(100, &counts);
    report("100 x 60 KiB while cut off (1 MB refused)", 1, &outcome);
}

#[test]
fn a_passing_refusal_is_retried_and_a_final_one_makes_headless_say_which_and_fail() {
    let server = TestDirectus::shared();
    let proxy = FrameProxy::start(server.config.port);
    let mut alice = alice_through(&proxy, server);
    let prefix = tag("refusals");
    let passing = format!("{prefix} passing");
    let refused = format!("{prefix} refused");
    for (content, code) in [(&passing, "INTERNAL_SERVER_ERROR"), (&refused, "FORBIDDEN")] {
        let content = content.clone();
        proxy.once(move |frame| {
            (frame["action"] == "create" && frame["data"]["content"] == content.as_str())
                .then(|| Verdict::Answer(error_frame(&frame["uid"], code)))
        });
    }
    alice.send(&passing);
    alice.send(&refused);
    let stderr = alice.stderr.clone();
    let (status, lines) = alice.finish_with_status();
    let stderr = stderr.lock().unwrap().clone();
    assert!(
        !status.success(),
        "a refused message must fail the run:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("not sent: {refused:?}")),
        "{stderr}"
    );
    assert_eq!(printed_counts(&lines, &passing).get(&passing), Some(&1));
    let in_db = stored(server, &prefix);
    assert_eq!(in_db.get(&passing).map(Vec::len), Some(1), "{in_db:?}");
    assert_eq!(in_db.get(&refused), None);
}
