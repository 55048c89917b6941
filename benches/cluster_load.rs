//! `cargo xtask bench cluster [--clients C] [--instances 1,2,3]`: C chat clients in ONE process,
//! each the project's own session core and native socket (`Session` + `Edge`, as the app and
//! headless mode run them), on a Directus cluster of each instance count in turn, spread over
//! the instances by HAProxy. Three of them post into `general` at a fixed rate, step by step
//! faster; every client must show every message exactly once. Per step: delivery latency to
//! ALL clients (p50 and p99 over the messages of the time until the LAST client has it), lost
//! and doubled, CPU of Directus, PostgreSQL and Redis; per cluster: heap and RSS per client in
//! this process, the time one message alone takes to reach all (the fan-out time F: Directus
//! reads once per subscriber per event), and the highest rate whose p99 stayed within twice F
//! (the rates tried are 0.5/F, 1/F, 2/F, 4/F: where latency climbs depends on C).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small, quick pass so it
//! cannot rot: 30 clients, 2 instances, one step.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use directus_chat::core::server_url::ServerUrl;
use directus_chat::core::session::{Phase, Session};
use directus_chat::edge::Edge;
use directus_chat::edge::store::SessionStore;
use serde_json::json;
use xtask::testing::cluster::TestCluster;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

/// A step counts as sustained while its p99 stays within this many fan-out times (F).
const SUSTAINED_OVER_F: f64 = 2.0;
/// Messages per step.
const PER_STEP: usize = 4;
/// Clients logging in at once (each login is an argon2 hash on the server).
const LOGIN_BATCH: usize = 25;

struct Plan {
    clients: usize,
    instances: Vec<usize>,
    /// Rates tried, as multiples of 1/F (F: one message's fan-out time to all clients).
    rates: Vec<f64>,
}

/// Wakes the driving loop when any socket has something.
#[derive(Clone, Default)]
struct Bell(Arc<(Mutex<bool>, Condvar)>);

impl Bell {
    fn ring(&self) {
        let (rung, cv) = &*self.0;
        *rung.lock().unwrap() = true;
        cv.notify_one();
    }
    fn wait(&self, max: Duration) {
        let (rung, cv) = &*self.0;
        let guard = rung.lock().unwrap();
        let (mut guard, _) = cv.wait_timeout_while(guard, max, |r| !*r).unwrap();
        *guard = false;
    }
}

struct Client {
    session: Session,
    edge: Edge,
    /// Message number -> times seen (the content says which).
    seen: HashMap<usize, (Instant, u32)>,
}

struct Load {
    clients: Vec<Client>,
    bell: Bell,
    tag: String,
}

impl Load {
    /// Drive every client once: socket events in, effects out, fresh messages noted.
    fn drive(&mut self) {
        let now = Instant::now();
        let prefix = format!("{} ", self.tag);
        for client in &mut self.clients {
            client.edge.drive(&mut client.session);
            for id in client.session.take_fresh() {
                let Some(n) = client
                    .session
                    .message(id)
                    .and_then(|m| m.content.strip_prefix(&prefix))
                    .and_then(|rest| rest.parse::<usize>().ok())
                else {
                    continue;
                };
                let entry = client.seen.entry(n).or_insert((now, 0));
                entry.1 += 1;
            }
        }
    }

    fn drive_until(&mut self, timeout: Duration, mut done: impl FnMut(&Load) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            self.drive();
            if done(self) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            self.bell.wait(Duration::from_millis(20));
        }
    }
}

fn online(c: &Client) -> bool {
    c.session.phase() == Phase::Online && c.session.history_loaded()
}

/// Log `count` clients in through `url`, a batch at a time; Alice, Bob and Carol in turn.
fn connect(cluster: &TestCluster, count: usize, tag: &str) -> Load {
    let bell = Bell::default();
    let mut load = Load {
        clients: Vec::new(),
        bell: bell.clone(),
        tag: tag.to_owned(),
    };
    let members = [&cluster.alice, &cluster.bob, &cluster.carol];
    while load.clients.len() < count {
        let batch = LOGIN_BATCH.min(count - load.clients.len());
        for _ in 0..batch {
            let member = members[load.clients.len() % 3];
            let ring = bell.clone();
            let mut edge = Edge::new(SessionStore::none(), Arc::new(move || ring.ring()));
            let mut session = Session::new(time_seed() ^ load.clients.len() as u64);
            let server = ServerUrl::parse(&cluster.url()).expect("the balancer's URL");
            let effects = session.login(server, &member.email, &member.password, Instant::now());
            edge.apply(effects);
            load.clients.push(Client {
                session,
                edge,
                seen: HashMap::new(),
            });
        }
        let all = load.drive_until(Duration::from_secs(120), |l| l.clients.iter().all(online));
        if !all {
            let stuck: Vec<String> = load
                .clients
                .iter()
                .filter(|c| !online(c))
                .take(3)
                .map(|c| format!("{:?} {:?}", c.session.phase(), c.session.error()))
                .collect();
            panic!("clients not online after 120 s: {stuck:?}");
        }
    }
    load
}

fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}

/// CPU seconds (user + system) of `pid` and, with `children`, of its direct children.
fn cpu_seconds(pid: u32, children: bool) -> f64 {
    let ticks = |pid: &str| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        // After the name: state ppid ... utime (12th) stime (13th) counting from state = 0.
        let num = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        num(11) + num(12)
    };
    let mut total = ticks(&pid.to_string());
    if children {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.parse::<u32>().is_err() {
                continue;
            }
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .nth(1);
            if ppid == Some(&pid.to_string()) {
                total += ticks(&name);
            }
        }
    }
    total / 100.0 // USER_HZ
}

struct Cpu {
    directus: f64,
    postgres: f64,
    redis: f64,
}

fn cpu(cluster: &TestCluster) -> Cpu {
    let (instances, redis, postgres) = cluster.pids();
    Cpu {
        directus: instances.iter().map(|p| cpu_seconds(*p, false)).sum(),
        postgres: postgres.map_or(0.0, |p| cpu_seconds(p, true)),
        redis: redis.map_or(0.0, |p| cpu_seconds(p, false)),
    }
}

fn rss_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// One step: `rate` messages per second for `step` from three senders, then wait for every
/// client to have every message (or give up after 60 s).
fn run_step(
    load: &mut Load,
    cluster: &TestCluster,
    first: usize,
    rate: f64,
    count: usize,
) -> serde_json::Value {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let before = cpu(cluster);
    let started = Instant::now();
    let mut sent_at = HashMap::new();
    for k in 0..count {
        let n = first + k;
        let due = started + interval.mul_f64(k as f64);
        while Instant::now() < due {
            load.drive();
            load.bell.wait(
                due.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(5)),
            );
        }
        let sender = &mut load.clients[k % 3];
        let text = format!("{} {n}", load.tag);
        let effects = sender.session.send(&text, Instant::now()).expect("sent");
        sender.edge.apply(effects);
        sent_at.insert(n, Instant::now());
    }
    let range = first..first + count;
    let all = load.drive_until(Duration::from_secs(120), |l| {
        l.clients
            .iter()
            .all(|c| range.clone().all(|n| c.seen.contains_key(&n)))
    });
    let elapsed = started.elapsed().as_secs_f64();
    let after = cpu(cluster);
    let mut last: Vec<Duration> = Vec::new();
    let (mut lost, mut doubled) = (0usize, 0u32);
    for n in range.clone() {
        let mut latest = None;
        for c in &load.clients {
            match c.seen.get(&n) {
                Some((at, times)) => {
                    doubled += times - 1;
                    latest = latest.max(Some(*at));
                }
                None => lost += 1,
            }
        }
        if let Some(at) = latest {
            last.push(at.saturating_duration_since(sent_at[&n]));
        }
    }
    last.sort();
    let share = |a: f64, b: f64| (a - b) / elapsed * 100.0;
    json!({
        "rate": rate, "messages": count, "all_delivered": all, "lost": lost, "doubled": doubled,
        "last_recipient_p50_ms": percentile(&last, 0.5), "last_recipient_p99_ms": percentile(&last, 0.99),
        "cpu_percent_directus": share(after.directus, before.directus),
        "cpu_percent_postgres": share(after.postgres, before.postgres),
        "cpu_percent_redis": share(after.redis, before.redis),
    })
}

fn run(plan: &Plan, instances: usize) -> Option<serde_json::Value> {
    let cluster = match TestCluster::start(instances, &[]) {
        Ok(cluster) => cluster,
        Err(why) => {
            eprintln!("SKIPPED: no Directus cluster on this machine: {why}");
            return None;
        }
    };
    let tag = format!("load-{}-{instances}", std::process::id());
    let (heap0, rss0, t0) = (counting_alloc::live(), rss_bytes(), Instant::now());
    let mut load = connect(&cluster, plan.clients, &tag);
    let connect_s = t0.elapsed().as_secs_f64();
    let heap = (counting_alloc::live() - heap0) as f64 / plan.clients as f64;
    let rss = (rss_bytes() - rss0) / plan.clients as f64;
    eprintln!(
        "cluster of {instances}: {} clients online in {connect_s:.0} s, {:.0} KiB heap and {:.0} KiB RSS per client",
        plan.clients,
        heap / 1024.0,
        rss / 1024.0
    );
    // F: one message alone, to every client.
    let alone = run_step(&mut load, &cluster, 0, 1.0, 1);
    eprintln!("  alone: {alone}");
    let fan_out_ms = alone["last_recipient_p50_ms"]
        .as_f64()
        .unwrap_or(1000.0)
        .max(50.0);
    let mut steps = Vec::new();
    let mut first = 1;
    let mut sustained = 0.0;
    for &times in &plan.rates {
        let rate = times * 1000.0 / fan_out_ms;
        let step = run_step(&mut load, &cluster, first, rate, PER_STEP);
        first += PER_STEP;
        eprintln!("  {step}");
        let ok = step["lost"] == 0
            && step["doubled"] == 0
            && step["last_recipient_p99_ms"].as_f64().unwrap_or(f64::MAX)
                <= SUSTAINED_OVER_F * fan_out_ms;
        let exact = step["lost"] == 0 && step["doubled"] == 0;
        steps.push(step);
        assert!(
            exact,
            "a message lost or doubled at {rate}/s: {:?}",
            steps.last()
        );
        if !ok {
            break; // latency climbed: faster steps would only queue
        }
        sustained = rate;
    }
    Some(json!({
        "instances": instances, "clients": plan.clients, "connect_s": connect_s,
        "heap_bytes_per_client": heap, "rss_bytes_per_client": rss, "fan_out_ms": fan_out_ms,
        "sustained_rate": sustained, "steps": steps,
    }))
}

fn table(rows: &[serde_json::Value]) -> String {
    let mut out = String::from(
        "| instances | clients | rate msg/s | last recipient p50 ms | p99 ms | lost | doubled | CPU % Directus | PostgreSQL | Redis |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        for s in row["steps"].as_array().into_iter().flatten() {
            out += &format!(
                "| {} | {} | {:.3} | {:.0} | {:.0} | {} | {} | {:.0} | {:.0} | {:.0} |\n",
                row["instances"],
                row["clients"],
                s["rate"].as_f64().unwrap_or(0.0),
                s["last_recipient_p50_ms"].as_f64().unwrap_or(f64::NAN),
                s["last_recipient_p99_ms"].as_f64().unwrap_or(f64::NAN),
                s["lost"],
                s["doubled"],
                s["cpu_percent_directus"].as_f64().unwrap_or(0.0),
                s["cpu_percent_postgres"].as_f64().unwrap_or(0.0),
                s["cpu_percent_redis"].as_f64().unwrap_or(0.0),
            );
        }
    }
    out += "\n| instances | clients | online in s | heap KiB/client | RSS KiB/client | one message to all (F) ms | highest rate with p99 <= 2F, msg/s |\n|---|---|---|---|---|---|---|\n";
    for row in rows {
        out += &format!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.3} |\n",
            row["instances"],
            row["clients"],
            row["connect_s"].as_f64().unwrap_or(0.0),
            row["heap_bytes_per_client"].as_f64().unwrap_or(0.0) / 1024.0,
            row["rss_bytes_per_client"].as_f64().unwrap_or(0.0) / 1024.0,
            row["fan_out_ms"].as_f64().unwrap_or(0.0),
            row["sustained_rate"].as_f64().unwrap_or(0.0),
        );
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--bench");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let plan = if full {
        Plan {
            clients: value("--clients")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1000),
            instances: value("--instances")
                .map(|l| l.split(',').filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_else(|| vec![1, 2, 3]),
            rates: vec![0.5, 1.0, 2.0, 4.0],
        }
    } else {
        Plan {
            clients: 30,
            instances: vec![2],
            rates: vec![1.0],
        }
    };
    let rows: Vec<serde_json::Value> = plan
        .instances
        .iter()
        .filter_map(|&n| run(&plan, n))
        .collect();
    if rows.is_empty() {
        return;
    }
    println!("{}", table(&rows));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let name = if full {
        "bench-cluster.json"
    } else {
        "bench-cluster-smoke.json"
    };
    std::fs::write(dir.join(name), serde_json::to_string_pretty(&rows).unwrap()).unwrap();
}
