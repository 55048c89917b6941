//! Two headless clients against a real Directus that is restarted while they keep sending.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, wait_for};
use xtask::testing::TestDirectus;

#[test]
fn two_clients_exchange_100_messages_across_a_server_restart() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let mut alice = Client::start(&server, &server.alice);
    let mut bob = Client::start(&server, &server.bob);
    let expected: HashMap<String, &str> = (0..50)
        .flat_map(|n| [(format!("alice {n}"), "Alice"), (format!("bob {n}"), "Bob")])
        .collect();

    let started = Instant::now();
    let back_up = std::thread::scope(|scope| {
        let mut restart = None;
        for n in 0..50 {
            alice.send(&format!("alice {n}"));
            bob.send(&format!("bob {n}"));
            if n == 25 {
                // Directus goes down (SIGTERM) and comes back while both keep writing.
                restart = Some(scope.spawn(|| {
                    server.restart();
                    Instant::now()
                }));
            }
            std::thread::sleep(Duration::from_millis(40));
        }
        restart.unwrap().join().unwrap()
    });
    for client in [&alice, &bob] {
        let all = wait_for(Duration::from_secs(90), || {
            client.contents().iter().collect::<HashSet<_>>().len() >= expected.len()
        });
        if !all {
            let seen: HashSet<String> = client.contents().into_iter().collect();
            let mut missing: Vec<&String> =
                expected.keys().filter(|k| !seen.contains(*k)).collect();
            missing.sort();
            panic!(
                "missing {missing:?}\nstderr:\n{}",
                client.stderr.lock().unwrap()
            );
        }
    }
    eprintln!(
        "100 messages delivered to both clients {:.1?} after start, {:.1?} after Directus was back",
        started.elapsed(),
        back_up.elapsed()
    );
    for (name, client) in [("alice", alice), ("bob", bob)] {
        let printed = client.finish();
        let mut ids = HashSet::new();
        let mut contents = HashSet::new();
        for line in &printed {
            assert!(
                ids.insert(line["id"].as_i64().unwrap()),
                "{name} printed id {} twice",
                line["id"]
            );
            let content = line["content"].as_str().unwrap().to_owned();
            let author = expected
                .get(&content)
                .unwrap_or_else(|| panic!("{name}: unexpected {line}"));
            assert_eq!(line["author"], *author, "{name}: {line}");
            assert!(line["date_created"].is_string());
            assert_eq!(line["room"], "general", "{line}");
            assert_eq!(line["room_id"].as_str().map(str::len), Some(36), "{line}");
            assert!(
                contents.insert(content),
                "{name} printed a message twice: {line}"
            );
        }
        assert_eq!(
            contents.len(),
            100,
            "{name} printed {} messages",
            contents.len()
        );
    }
}

#[test]
fn headless_refuses_a_wrong_password_clearly() {
    let server = TestDirectus::shared();
    let out = Command::new(env!("CARGO_BIN_EXE_directus-chat"))
        .args([
            "--headless",
            "--server",
            &server.url(),
            "--email",
            &server.alice.email,
        ])
        .env("DIRECTUS_CHAT_PASSWORD", "not-the-password")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Wrong email or password"), "{stderr}");
    assert!(
        !stderr.contains("not-the-password"),
        "the password must never be logged"
    );
}

#[test]
fn headless_says_when_the_server_is_unreachable_or_the_url_is_bad() {
    let port = xtask::server::free_port();
    let run = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_directus-chat"))
            .args(["--headless", "--server", url, "--email", "a@b.c"])
            .env("DIRECTUS_CHAT_PASSWORD", "x")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // Nobody listens: a bot says so and keeps trying (the server may come later).
    let member = xtask::provision::Member {
        email: "a@b.c".into(),
        password: "x".into(),
        first_name: "A".into(),
    };
    let mut waiting = Client::start_at(&format!("http://127.0.0.1:{port}"), &member);
    let said = wait_for(Duration::from_secs(10), || {
        waiting
            .stderr
            .lock()
            .unwrap()
            .contains("Cannot reach the server")
    });
    assert!(said, "{}", waiting.stderr.lock().unwrap());
    assert!(waiting.child.try_wait().unwrap().is_none(), "still trying");
    waiting.child.kill().unwrap();
    let out = run("ftp://nowhere");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("not a server address"),
        "{stderr}"
    );
}

/// Everything the client says, with frame tracing on, and everything it stores: no password.
#[test]
fn no_password_reaches_the_logs_or_the_disk_even_with_tracing_on() {
    let server = TestDirectus::shared();
    let data = std::env::temp_dir().join(format!("dc-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let run = |password: Option<&str>, input: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_directus-chat"));
        command
            .args(["--headless", "--server", &server.url()])
            .env("DIRECTUS_CHAT_TRACE", "1")
            .env("DIRECTUS_CHAT_DATA_DIR", &data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(password) = password {
            command
                .args(["--email", &server.alice.email])
                .env("DIRECTUS_CHAT_PASSWORD", password);
        }
        let mut child = command.spawn().unwrap();
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let password = server.alice.password.clone();
    let (ok, said) = run(Some(&password), "traced hello\n");
    assert!(ok, "{said}");
    assert!(said.contains(" -> {"), "tracing was on: {said}");
    assert!(said.contains("traced hello"), "{said}");
    assert!(said.contains("(auth frame, redacted)"), "{said}");
    assert!(!said.contains(&password), "the password was logged: {said}");
    // A wrong password with tracing on is not echoed either.
    let (ok, said) = run(Some("wrong-but-secret-42"), "");
    assert!(!ok);
    assert!(!said.contains("wrong-but-secret-42"), "{said}");
    // Nothing under the data dir holds it (a password run stores nothing at all).
    let mut stored = String::new();
    if let Ok(entries) = std::fs::read_dir(&data) {
        for entry in entries.flatten() {
            stored += &std::fs::read_to_string(entry.path()).unwrap_or_default();
        }
    }
    assert!(!stored.contains(&password));
    let _ = std::fs::remove_dir_all(&data);
}

/// A stored session is bound to its server and account: asked for another server or e-mail,
/// headless refuses, and its token goes nowhere.
#[test]
fn a_stored_session_is_never_sent_to_another_server_or_used_as_another_account() {
    use std::io::Read;
    let data = std::env::temp_dir().join(format!("dc-bound-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("session.json"),
        r#"{"server":"http://127.0.0.1:9","email":"alice@example.com",
            "refresh_token":"alices-secret-token","outbox":[]}"#,
    )
    .unwrap();
    // Another server, listening: it must hear nothing at all.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port();
    other.set_nonblocking(true).unwrap();
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_directus-chat"))
            .arg("--headless")
            .args(args)
            .env("DIRECTUS_CHAT_DATA_DIR", &data)
            .env_remove("DIRECTUS_CHAT_PASSWORD")
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let exited = wait_for(Duration::from_secs(5), || {
            child.try_wait().unwrap().is_some()
        });
        let _ = child.kill();
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (exited && !status.success(), stderr)
    };
    let (refused, stderr) = run(&["--server", &format!("http://127.0.0.1:{other_port}")]);
    assert!(refused && stderr.contains("not sent there"), "{stderr}");
    assert!(other.accept().is_err(), "the other server was contacted");
    let (refused, stderr) = run(&["--email", "bob@example.com"]);
    assert!(
        refused && stderr.contains("alice@example.com's"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// Two processes on one stored session: the second is refused plainly (sharing would rotate
/// the first one's token dead and overwrite its unsent messages); the first keeps working and
/// its stored session stays.
#[test]
fn a_second_process_on_the_same_stored_session_is_refused_and_the_first_keeps_working() {
    let server = TestDirectus::shared();
    let data = std::env::temp_dir().join(format!("dc-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let login = xtask::rest::Rest::new(&server.url())
        .post(
            "/auth/login",
            &serde_json::json!({ "email": server.alice.email,
                                  "password": server.alice.password, "mode": "json" }),
        )
        .unwrap()
        .data("log in")
        .unwrap();
    let stored = serde_json::json!({ "server": server.url(), "email": server.alice.email,
        "refresh_token": login["refresh_token"], "outbox": [] });
    std::fs::write(data.join("session.json"), stored.to_string()).unwrap();

    let mut first = Client::resume(&data);
    first.wait_for_status("status: Online", Duration::from_secs(30));
    let second = Client::resume(&data);
    let (status, _) = second.finish_with_status();
    assert!(
        !status.success(),
        "the second process must not share the session"
    );
    let text = format!("first still here {}", std::process::id());
    first.send(&text);
    let lines = first.finish();
    assert!(
        lines.iter().any(|l| l["content"] == text.as_str()),
        "{lines:?}"
    );
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("session.json")).unwrap()).unwrap();
    assert!(
        kept["refresh_token"].is_string(),
        "the stored session survives: {kept}"
    );
    assert_ne!(
        kept["refresh_token"], login["refresh_token"],
        "rotated by the first"
    );
    let _ = std::fs::remove_dir_all(&data);
}
