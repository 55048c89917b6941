//! Two headless clients against a real Directus that is restarted while they keep sending.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use xtask::provision::Member;
use xtask::testing::TestDirectus;

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
}

impl Client {
    fn start(server: &TestDirectus, member: &Member) -> Client {
        let data_dir = std::env::temp_dir().join(format!(
            "dc-headless-{}-{}",
            std::process::id(),
            member.first_name
        ));
        let mut child = Command::new(env!("CARGO_BIN_EXE_directus-chat"))
            .args([
                "--headless",
                "--server",
                &server.url(),
                "--email",
                &member.email,
            ])
            .env("DIRECTUS_CHAT_PASSWORD", &member.password)
            .env("DIRECTUS_CHAT_DATA_DIR", &data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
                sink.lock().unwrap().push(value);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_sink = stderr.clone();
        let child_stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(child_stderr).lines().map_while(Result::ok) {
                err_sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let stdin = child.stdin.take();
        Client {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    fn send(&mut self, text: &str) {
        writeln!(self.stdin.as_mut().unwrap(), "{text}").unwrap();
    }

    fn contents(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| l["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Close stdin; the client must exit 0 once everything it queued is confirmed.
    fn finish(mut self) -> Vec<Value> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "exit {status}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "did not exit; stderr:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100)); // let the reader drain stdout
        self.lines.lock().unwrap().clone()
    }
}

/// Polls `done` until it holds (true) or `timeout` passes (false).
fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

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
    let out = run(&format!("http://127.0.0.1:{port}"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Cannot reach the server"), "{stderr}");
    let out = run("ftp://nowhere");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("not a server address"),
        "{stderr}"
    );
}
