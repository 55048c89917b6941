//! `cargo xtask bench`: three clients on one Directus and one workload, side by side.
//! - floor: a bare WebSocket (`floor.rs`), the least any client can cost;
//! - ours: `directus-chat --headless` (the session core, as the app uses it);
//! - sdk: `@directus/sdk`'s `realtime()` on Node 22 (`tests/bench/sdk-client.mjs`).
//!
//! All three speak the same line protocol (stdin line = send, stdout JSON line = received), so
//! one harness drives them. Absolute times drift on a shared machine; the ratios, measured in
//! the same run, are the point.

pub mod floor;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::install::{self, Node22};
use crate::provision::Member;
use crate::rest::Rest;
use crate::testing::TestDirectus;
use crate::{Result, paths};

/// How much work: the full run, or the smoke run inside `cargo xtask test`.
#[derive(Clone, Debug)]
pub struct Plan {
    pub latency_messages: usize,
    /// The latency pairs take turns this many times.
    pub rounds: usize,
    pub recovery_before: Duration,
    pub recovery_after: Duration,
    /// Directus stays stopped this long before it restarts, once per entry.
    pub outages: Vec<Duration>,
    pub fan_out: Vec<usize>,
    pub fan_out_messages: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            latency_messages: 300,
            rounds: 3,
            recovery_before: Duration::from_secs(3),
            recovery_after: Duration::from_secs(6),
            outages: [1, 10, 60].map(Duration::from_secs).to_vec(),
            fan_out: vec![10, 50],
            fan_out_messages: 30,
        }
    }

    pub fn smoke() -> Plan {
        Plan {
            latency_messages: 15,
            rounds: 1,
            recovery_before: Duration::from_secs(1),
            recovery_after: Duration::from_secs(3),
            outages: vec![Duration::ZERO],
            fan_out: vec![3],
            fan_out_messages: 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Kind {
    #[serde(rename = "floor")]
    Floor,
    #[serde(rename = "directus-chat")]
    Ours,
    #[serde(rename = "@directus/sdk")]
    Sdk,
}

const KINDS: [Kind; 3] = [Kind::Floor, Kind::Ours, Kind::Sdk];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Floor => "floor (bare tungstenite)",
            Kind::Ours => "directus-chat (headless)",
            Kind::Sdk => "@directus/sdk realtime (Node 22)",
        }
    }
}

/// Where each client's program is.
pub struct Programs {
    /// The directus-chat binary (release for the full run).
    pub ours: PathBuf,
    /// This xtask binary (the floor runs as `xtask bench-floor-client`).
    pub floor: PathBuf,
    node: Node22,
    sdk_script: PathBuf,
}

impl Programs {
    /// Installs Node 22 and @directus/sdk (pinned in tests/bench/package-lock.json) if missing.
    pub fn ensure(ours: PathBuf) -> Result<Programs> {
        let node = install::ensure_node22()?;
        let dir = paths::cache_dir().join("bench-tools");
        let manifest = paths::repo_root().join("tests/bench");
        install::npm_ci(&manifest, &dir, Some(&node))?;
        // Node resolves `@directus/sdk` next to the script: run a copy beside node_modules.
        let sdk_script = dir.join("sdk-client.mjs");
        std::fs::copy(manifest.join("sdk-client.mjs"), &sdk_script)
            .map_err(|e| format!("{}: {e}", sdk_script.display()))?;
        if !ours.exists() {
            return Err(format!("{} is not built", ours.display()));
        }
        Ok(Programs {
            ours,
            floor: this_program()?,
            node,
            sdk_script,
        })
    }
}

/// This xtask binary. `cargo test --workspace` may have rebuilt it while it runs (Linux then
/// names the running file "... (deleted)"): the new one at the same path has the same commands.
fn this_program() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Ok(exe
        .to_str()
        .and_then(|path| path.strip_suffix(" (deleted)"))
        .map_or(exe.clone(), PathBuf::from))
}

/// One client process and what it printed: content -> arrival times.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    seen: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    stderr: Arc<Mutex<String>>,
}

impl Client {
    fn spawn(programs: &Programs, kind: Kind, url: &str, member: &Member) -> Result<Client> {
        let mut cmd = match kind {
            Kind::Floor => {
                let mut cmd = Command::new(&programs.floor);
                cmd.args(["bench-floor-client", url, &member.email]);
                cmd
            }
            Kind::Ours => {
                let mut cmd = Command::new(&programs.ours);
                cmd.args(["--headless", "--server", url, "--email", &member.email]);
                cmd
            }
            Kind::Sdk => {
                let mut cmd = Command::new(programs.node.node());
                cmd.arg(&programs.sdk_script).args([url, &member.email]);
                cmd
            }
        };
        cmd.env("DIRECTUS_CHAT_PASSWORD", &member.password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::process::die_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", kind.name()))?;
        let seen = Arc::new(Mutex::new(HashMap::<String, Vec<Instant>>::new()));
        let sink = seen.clone();
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let at = Instant::now();
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && let Some(content) = value["content"].as_str()
                {
                    sink.lock()
                        .unwrap()
                        .entry(content.to_owned())
                        .or_default()
                        .push(at);
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_sink = stderr.clone();
        let child_err = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(child_err).lines().map_while(|l| l.ok()) {
                let mut all = err_sink.lock().unwrap();
                if all.len() < 64 * 1024 {
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        let stdin = child.stdin.take();
        Ok(Client {
            child,
            stdin,
            seen,
            stderr,
        })
    }

    fn send(&mut self, text: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{text}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("a client exited early: {e}; it said: {}", self.said()))
    }

    fn arrivals(&self, text: &str) -> Vec<Instant> {
        self.seen
            .lock()
            .unwrap()
            .get(text)
            .cloned()
            .unwrap_or_default()
    }

    fn said(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// CPU time and peak memory of the whole process so far (read from /proc while alive).
    fn usage(&self) -> Usage {
        usage(self.child.id())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

fn usage(pid: u32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    Usage {
        cpu_seconds: ticks / per_second,
        peak_rss_mib: peak_kib / 1024.0,
    }
}

/// Polls until `done` gives a value or `timeout` passes.
fn wait_for<T>(timeout: Duration, mut done: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = done() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Sends warm-up messages until every receiver got one: all are connected and subscribed.
fn warm_up(send: &mut dyn FnMut(&str) -> Result<()>, receivers: &[&Client]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    for attempt in 0.. {
        let text = format!("warm-up {attempt} {}", nonce());
        send(&text)?;
        let all = || receivers.iter().all(|r| !r.arrivals(&text).is_empty());
        if wait_for(Duration::from_secs(2), || all().then_some(())).is_some() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let said: Vec<String> = receivers.iter().map(|r| r.said()).collect();
            return Err(format!("clients did not come online: {said:?}"));
        }
    }
    unreachable!()
}

fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 1e2
}

/// Median and 99th percentile, in ms.
fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (millis(at(0.5)), millis(at(0.99)))
}

#[derive(Debug, Serialize)]
pub struct LatencyRow {
    pub client: Kind,
    pub messages: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub lost: usize,
    /// Sender and receiver processes together, over all rounds (start-up included).
    pub cpu_seconds: f64,
    /// The larger of the two.
    pub peak_rss_mib: f64,
}

/// Create -> event at another subscribed client of the same kind, one message at a time.
/// Each pair runs alone: Directus hands an event to its subscribers one after the other
/// (a permission-checked read each), so a pair connected later would wait behind the others.
/// The pairs take turns in rounds, so a busy moment of the machine does not fall on one kind.
fn latency(
    programs: &Programs,
    server: &TestDirectus,
    n: usize,
    rounds: usize,
) -> Result<Vec<LatencyRow>> {
    let url = server.url();
    let run = nonce();
    let mut rows: Vec<LatencyRow> = KINDS
        .iter()
        .map(|&kind| LatencyRow {
            client: kind,
            messages: 0,
            median_ms: f64::NAN,
            p99_ms: f64::NAN,
            lost: 0,
            cpu_seconds: 0.0,
            peak_rss_mib: 0.0,
        })
        .collect();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    for round in 0..rounds {
        for (k, &kind) in KINDS.iter().enumerate() {
            let mut sender = Client::spawn(programs, kind, &url, &server.alice)?;
            let receiver = Client::spawn(programs, kind, &url, &server.bob)?;
            warm_up(&mut |t| sender.send(t), &[&receiver])?;
            let row = &mut rows[k];
            for i in 0..n.div_ceil(rounds) {
                let text = format!("latency {kind:?} {round} {i} {run}");
                let sent = Instant::now();
                sender.send(&text)?;
                row.messages += 1;
                match wait_for(Duration::from_secs(10), || {
                    receiver.arrivals(&text).first().copied()
                }) {
                    Some(at) => samples[k].push(at - sent),
                    None => row.lost += 1,
                }
            }
            let (s, r) = (sender.usage(), receiver.usage());
            row.cpu_seconds += s.cpu_seconds + r.cpu_seconds;
            row.peak_rss_mib = row.peak_rss_mib.max(s.peak_rss_mib).max(r.peak_rss_mib);
        }
    }
    for (row, samples) in rows.iter_mut().zip(&mut samples) {
        (row.median_ms, row.p99_ms) = percentiles(samples);
    }
    Ok(rows)
}

#[derive(Debug, Serialize)]
pub struct RecoveryRow {
    pub client: Kind,
    /// Directus stopped (SIGTERM) until it answered again.
    pub directus_down_ms: f64,
    /// From Directus answering again to this client's first message posted after that.
    pub recovery_ms: Option<f64>,
    pub posted: usize,
    pub lost: usize,
    pub doubled: usize,
    /// The client process ended on its own (it crashed or gave up), with its last words.
    pub exited: Option<String>,
}

/// One client of each kind listens while a REST poster writes every 100 ms and Directus is
/// restarted (SIGTERM) in the middle. Posts refused while it is down do not count.
fn recovery(
    programs: &Programs,
    server: &TestDirectus,
    plan: &Plan,
    outage: Duration,
) -> Result<Vec<RecoveryRow>> {
    let url = server.url();
    let mut listeners: Vec<(Kind, Client)> = KINDS
        .iter()
        .map(|&k| Client::spawn(programs, k, &url, &server.bob).map(|c| (k, c)))
        .collect::<Result<_>>()?;
    let poster = Rest::login(&url, &server.alice.email, &server.alice.password)?;
    let post = |text: &str| -> bool {
        poster
            .post("/items/messages", &json!({ "content": text }))
            .is_ok_and(|r| r.ok())
    };
    let receivers: Vec<&Client> = listeners.iter().map(|(_, c)| c).collect();
    warm_up(
        &mut |t| {
            post(t);
            Ok(())
        },
        &receivers,
    )?;
    let run = nonce();
    let mut posted: Vec<(String, Instant)> = Vec::new();
    let mut n = 0;
    let mut post_next = |posted: &mut Vec<(String, Instant)>| {
        n += 1;
        let text = format!("recovery {n} {run}");
        let at = Instant::now();
        if post(&text) {
            posted.push((text, at));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let until = Instant::now() + plan.recovery_before;
    while Instant::now() < until {
        post_next(&mut posted);
    }
    let down_from = Instant::now();
    let ready = std::thread::scope(|scope| {
        let restart = scope.spawn(|| {
            server.stop();
            std::thread::sleep(outage);
            server.restart();
            Instant::now()
        });
        while !restart.is_finished() {
            post_next(&mut posted);
        }
        restart.join().expect("restart")
    });
    while Instant::now() < ready + plan.recovery_after {
        post_next(&mut posted);
    }
    // Time to catch up, then count.
    let complete = |c: &Client| posted.iter().all(|(t, _)| !c.arrivals(t).is_empty());
    wait_for(Duration::from_secs(15), || {
        receivers.iter().all(|c| complete(c)).then_some(())
    });
    drop(receivers);
    let exits: Vec<Option<String>> = listeners
        .iter_mut()
        .map(|(_, c)| {
            let status = c.child.try_wait().ok().flatten()?;
            let said = c.said();
            let last = said
                .lines()
                .rev()
                .find(|l| l.to_lowercase().contains("error"))
                .unwrap_or("");
            Some(format!("{status}: {}", last.trim()))
        })
        .collect();
    Ok(listeners
        .iter()
        .zip(exits)
        .map(|((kind, client), exited)| {
            let counts: Vec<usize> = posted
                .iter()
                .map(|(t, _)| client.arrivals(t).len())
                .collect();
            let first_new = posted
                .iter()
                .filter(|(_, at)| *at >= ready)
                .flat_map(|(t, _)| client.arrivals(t))
                .min();
            RecoveryRow {
                client: *kind,
                directus_down_ms: millis(ready - down_from),
                recovery_ms: first_new.map(|at| millis(at.saturating_duration_since(ready))),
                posted: posted.len(),
                lost: counts.iter().filter(|&&c| c == 0).count(),
                doubled: counts.iter().filter(|&&c| c > 1).count(),
                exited,
            }
        })
        .collect())
}

#[derive(Debug, Serialize)]
pub struct FanOutRow {
    pub subscribers: usize,
    pub messages: usize,
    /// Create -> the LAST subscriber printed it.
    pub last_median_ms: f64,
    pub last_p99_ms: f64,
    /// Every subscriber printed every message exactly once.
    pub all_received: bool,
}

/// One sender and `subscribers` headless clients of ours.
fn fan_out(
    programs: &Programs,
    server: &TestDirectus,
    subscribers: usize,
    messages: usize,
) -> Result<FanOutRow> {
    let url = server.url();
    let mut sender = Client::spawn(programs, Kind::Ours, &url, &server.alice)?;
    let receivers: Vec<Client> = (0..subscribers)
        .map(|_| Client::spawn(programs, Kind::Ours, &url, &server.bob))
        .collect::<Result<_>>()?;
    let all: Vec<&Client> = receivers.iter().collect();
    warm_up(&mut |t| sender.send(t), &all)?;
    let run = nonce();
    let mut samples = Vec::new();
    let mut texts = Vec::new();
    for i in 0..messages {
        let text = format!("fan-out {subscribers} {i} {run}");
        let sent = Instant::now();
        sender.send(&text)?;
        let last = wait_for(Duration::from_secs(20), || {
            let mut last = sent;
            for r in &receivers {
                last = last.max(*r.arrivals(&text).first()?);
            }
            Some(last)
        });
        if let Some(last) = last {
            samples.push(last - sent);
        }
        texts.push(text);
    }
    std::thread::sleep(Duration::from_millis(500)); // a late double would show up by now
    let all_received = receivers
        .iter()
        .all(|r| texts.iter().all(|t| r.arrivals(t).len() == 1));
    let (last_median_ms, last_p99_ms) = percentiles(&mut samples);
    Ok(FanOutRow {
        subscribers,
        messages,
        last_median_ms,
        last_p99_ms,
        all_received,
    })
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: String,
    pub directus: String,
    pub smoke: bool,
    pub seconds: f64,
    pub latency: Vec<LatencyRow>,
    pub ratios: Value,
    pub recovery: Vec<RecoveryRow>,
    pub fan_out: Vec<FanOutRow>,
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {mem_gib:.0} GiB")
}

/// The whole run: its own Directus on a free loopback port, then the three measures.
pub fn run(programs: &Programs, plan: &Plan, smoke: bool) -> Result<Report> {
    let started = Instant::now();
    let version = install::selected_version();
    let server = TestDirectus::start(&version, &[]);
    eprintln!("bench: latency, the three clients taking turns");
    let latency_rows = latency(programs, &server, plan.latency_messages, plan.rounds)?;
    let row = |k: Kind| {
        latency_rows
            .iter()
            .find(|r| r.client == k)
            .expect("measured")
    };
    let ratio = |a: f64, b: f64| (a / b * 100.0).round() / 100.0;
    let (ours, floor, sdk) = (row(Kind::Ours), row(Kind::Floor), row(Kind::Sdk));
    let ratios = json!({
        "ours/floor median": ratio(ours.median_ms, floor.median_ms),
        "ours/floor p99": ratio(ours.p99_ms, floor.p99_ms),
        "ours/sdk median": ratio(ours.median_ms, sdk.median_ms),
        "ours/sdk p99": ratio(ours.p99_ms, sdk.p99_ms),
        "ours/sdk cpu": ratio(ours.cpu_seconds, sdk.cpu_seconds),
        "ours/sdk peak rss": ratio(ours.peak_rss_mib, sdk.peak_rss_mib),
    });
    let mut recovery_rows = Vec::new();
    for &outage in &plan.outages {
        eprintln!("bench: recovery across a Directus restart ({outage:?} down)");
        recovery_rows.extend(recovery(programs, &server, plan, outage)?);
    }
    let mut fan_out_rows = Vec::new();
    for &n in &plan.fan_out {
        eprintln!("bench: fan-out to {n} subscribers");
        fan_out_rows.push(fan_out(programs, &server, n, plan.fan_out_messages)?);
    }
    Ok(Report {
        machine: machine(),
        directus: version,
        smoke,
        seconds: started.elapsed().as_secs_f64().round(),
        latency: latency_rows,
        ratios,
        recovery: recovery_rows,
        fan_out: fan_out_rows,
    })
}

/// The report as Markdown tables (what the README quotes).
pub fn table(report: &Report) -> String {
    let mut out = format!(
        "Machine: {}; Directus {} on SQLite, loopback; {} run, {} s.\n\n",
        report.machine,
        report.directus,
        if report.smoke { "smoke" } else { "full" },
        report.seconds
    );
    out += "| client | messages | latency median ms | p99 ms | lost | CPU s (sender+receiver) | peak RSS MiB |\n|---|---|---|---|---|---|---|\n";
    for r in &report.latency {
        out += &format!(
            "| {} | {} | {:.2} | {:.2} | {} | {:.2} | {:.1} |\n",
            r.client.name(),
            r.messages,
            r.median_ms,
            r.p99_ms,
            r.lost,
            r.cpu_seconds,
            r.peak_rss_mib
        );
    }
    out += "\nRatios (same run): ";
    if let Some(map) = report.ratios.as_object() {
        let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out += &parts.join(", ");
    }
    out += "\n\n| client | Directus restarted (down ms) | first new message after ready, ms | posted | lost | doubled | process |\n|---|---|---|---|---|---|---|\n";
    for r in &report.recovery {
        out += &format!(
            "| {} | {:.0} | {} | {} | {} | {} | {} |\n",
            r.client.name(),
            r.directus_down_ms,
            r.recovery_ms
                .map_or("never".to_owned(), |ms| format!("{ms:.0}")),
            r.posted,
            r.lost,
            r.doubled,
            r.exited.as_deref().unwrap_or("running")
        );
    }
    out += "\n| fan-out (directus-chat) | messages | to the last subscriber: median ms | p99 ms | all received exactly once |\n|---|---|---|---|---|\n";
    for r in &report.fan_out {
        out += &format!(
            "| 1 sender, {} subscribers | {} | {:.2} | {:.2} | {} |\n",
            r.subscribers,
            r.messages,
            r.last_median_ms,
            r.last_p99_ms,
            if r.all_received { "yes" } else { "NO" }
        );
    }
    out
}

/// What the smoke run must show: every client measured; ours lost and doubled nothing, also
/// across the restart; fan-out complete.
pub fn check_smoke(report: &Report) -> Result<()> {
    let mut wrong = Vec::new();
    for r in &report.latency {
        if r.lost > 0 || r.median_ms.is_nan() || r.peak_rss_mib <= 0.0 {
            wrong.push(format!("latency row {r:?}"));
        }
    }
    for r in report.recovery.iter().filter(|r| r.client == Kind::Ours) {
        if r.lost > 0 || r.doubled > 0 || r.recovery_ms.is_none() || r.posted == 0 {
            wrong.push(format!("recovery row {r:?}"));
        }
    }
    for r in &report.fan_out {
        if !r.all_received {
            wrong.push(format!("fan-out row {r:?}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("bench smoke: {}", wrong.join("; ")))
    }
}

/// Writes the report as JSON (pretty) to `path`.
pub fn write_json(report: &Report, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
