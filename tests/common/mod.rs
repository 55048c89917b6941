//! Shared by the end-to-end tests: headless clients as child processes.
#![allow(dead_code)] // each test binary uses a different part

pub mod cut_proxy;
pub mod exchange;
pub mod fault_table;
pub mod frame_proxy;
pub mod tls_endpoint;
pub mod ui;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use xtask::provision::Member;

pub struct Client {
    pub child: Child,
    stdin: Option<ChildStdin>,
    pub lines: Arc<Mutex<Vec<Value>>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Client {
    pub fn start(server: &xtask::testing::TestDirectus, member: &Member) -> Client {
        Client::start_at(&server.url(), member)
    }

    /// A headless client of `member` talking to `url` (the server, or a proxy in front of it).
    pub fn start_at(url: &str, member: &Member) -> Client {
        Client::start_with(url, member, &[])
    }

    /// The same with extra environment variables (e.g. SSL_CERT_FILE).
    pub fn start_with(url: &str, member: &Member, env: &[(&str, &str)]) -> Client {
        Client::start_args(url, member, env, &[])
    }

    /// The same with extra arguments (e.g. `--room design`).
    pub fn start_args(url: &str, member: &Member, env: &[(&str, &str)], args: &[&str]) -> Client {
        let data_dir = std::env::temp_dir().join(format!(
            "dc-headless-{}-{}",
            std::process::id(),
            member.first_name
        ));
        let mut command = Command::new(env!("CARGO_BIN_EXE_directus-chat"));
        command
            .args(["--headless", "--server", url, "--email", &member.email])
            .args(args)
            .env("DIRECTUS_CHAT_PASSWORD", &member.password)
            .env("DIRECTUS_CHAT_DATA_DIR", &data_dir)
            .envs(env.iter().copied());
        Client::spawn(command)
    }

    /// A headless client continuing the session stored in `data_dir` (no password).
    pub fn resume(data_dir: &std::path::Path) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_directus-chat"));
        command
            .arg("--headless")
            .env_remove("DIRECTUS_CHAT_PASSWORD")
            .env("DIRECTUS_CHAT_DATA_DIR", data_dir);
        Client::spawn(command)
    }

    fn spawn(mut command: Command) -> Client {
        let mut child = command
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

    pub fn send(&mut self, text: &str) {
        writeln!(self.stdin.as_mut().unwrap(), "{text}").unwrap();
    }

    pub fn contents(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| l["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Close stdin; the client must exit 0 once everything it queued is confirmed.
    pub fn finish(self) -> Vec<Value> {
        let stderr = self.stderr.clone();
        let (status, lines) = self.finish_with_status();
        assert!(
            status.success(),
            "exit {status}; stderr:\n{}",
            stderr.lock().unwrap()
        );
        lines
    }

    /// Close stdin and wait for the client to exit by itself: how it exited, what it printed.
    pub fn finish_with_status(mut self) -> (std::process::ExitStatus, Vec<Value>) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "did not exit; stderr:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(100)); // let the reader drain stdout
        (status, self.lines.lock().unwrap().clone())
    }

    /// The lines printed so far.
    pub fn printed(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// Wait until the client says this on stderr.
    pub fn wait_for_status(&self, text: &str, timeout: Duration) {
        let said = wait_for(timeout, || self.stderr.lock().unwrap().contains(text));
        assert!(
            said,
            "never said {text:?}:\n{}",
            self.stderr.lock().unwrap()
        );
    }

    /// How many lines on stderr contain `text`.
    pub fn said(&self, text: &str) -> usize {
        self.stderr.lock().unwrap().matches(text).count()
    }
}

/// Polls `done` until it holds (true) or `timeout` passes (false).
pub fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

impl Drop for Client {
    /// A failing test leaves no client running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The id of the user `rest` is logged in as.
pub fn user_id(rest: &xtask::rest::Rest) -> String {
    rest.get("/users/me?fields=id").unwrap().data("me").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Create one item over REST as `rest`'s user; its id, as text.
pub fn create_item(rest: &xtask::rest::Rest, collection: &str, body: Value) -> String {
    let row = rest
        .post(&format!("/items/{collection}"), &body)
        .unwrap()
        .data(collection)
        .unwrap();
    row["id"].to_string().trim_matches('"').to_owned()
}
