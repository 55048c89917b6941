//! Faults against a real Directus: nothing lost, nothing doubled, nobody impersonated.
//!
//! Each scenario runs four headless clients in three rooms (Alice and Bob in `general`, Alice
//! in the private `design` that both are in, Bob in their DM) that keep sending while something
//! breaks, then
//! checks that each client printed every message of its rooms exactly once with the right
//! author and room, and that Directus stored each exactly once with its author, in its room. Each writes a row of
//! the table `cargo xtask test` prints (tests/artifacts/faults.txt).

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fault_table::{Outcome, report};
use common::{Client, wait_for};
use serde_json::Value;
use xtask::testing::TestDirectus;

/// The id of the DM of Alice and Bob (keyed by the pair of their ids).
fn alice_bob_dm(server: &TestDirectus) -> String {
    let admin = server.admin();
    let id = |email: &str| {
        admin
            .get(&format!(
                "/users?filter[email][_eq]={}&fields=id",
                xtask::rest::encode(email)
            ))
            .unwrap()
            .data("user")
            .unwrap()[0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut pair = [id(&server.alice.email), id(&server.bob.email)];
    pair.sort();
    admin
        .get(&format!(
            "/items/rooms?filter[dm_key][_eq]={}:{}&fields=id",
            pair[0], pair[1]
        ))
        .unwrap()
        .data("the DM")
        .unwrap()[0]["id"]
        .as_str()
        .expect("the demo DM of Alice and Bob")
        .to_owned()
}

/// One headless client of the exchange: who, into which room it writes, what it prints.
struct Sender {
    client: Client,
    /// What its messages say after the tag ("alice design 7").
    says: &'static str,
    author: &'static str,
    /// Where its messages go (`room` of the stored row: name, or kind for the DM).
    room: &'static str,
    /// It prints every room (`--all-rooms`), else only its own.
    sees_all: bool,
}

/// Send `per_client` messages from each of four clients in three rooms through `url`: Alice
/// and Bob in `general` (printing every room), Alice in the private `design` (Bob is in it
/// too), Bob in their DM; calling `fault(n)` before message n. Then check every client's output
/// (each message of the rooms it prints exactly once, with its author and its own room; how
/// many came out of id order is counted for the table) and the database (each once, with its
/// author, in its room: `design`, `general`, and the DM of Alice and Bob, by its id).
fn exchange(
    server: &TestDirectus,
    url: &str,
    scenario: &str,
    per_client: usize,
    pause: Duration,
    wait_online: bool,
    fault: impl Fn(usize) + Sync,
) -> Outcome {
    let tag = format!("{scenario}-{}", std::process::id());
    let start = |member, args: &[&str]| Client::start_args(url, member, &[], args);
    let mut senders = vec![
        Sender {
            client: start(&server.alice, &["--all-rooms"]),
            says: "alice",
            author: "Alice",
            room: "general",
            sees_all: true,
        },
        Sender {
            client: start(&server.bob, &["--all-rooms"]),
            says: "bob",
            author: "Bob",
            room: "general",
            sees_all: true,
        },
        Sender {
            client: start(&server.alice, &["--room", "design"]),
            says: "alice design",
            author: "Alice",
            room: "design",
            sees_all: false,
        },
        Sender {
            client: start(&server.bob, &["--room", "Alice"]),
            says: "bob dm",
            author: "Bob",
            room: "dm",
            sees_all: false,
        },
    ];
    if wait_online {
        // All are in the conversation before it starts (a client joining later gets the
        // newest 50 of a room as history, not everything).
        for sender in &senders {
            let stderr = &sender.client.stderr;
            let online = wait_for(Duration::from_secs(60), || {
                stderr.lock().unwrap().contains("status: Online")
            });
            assert!(
                online,
                "{scenario}: not online:\n{}",
                stderr.lock().unwrap()
            );
        }
    }
    // Content -> (author, room).
    let expected: HashMap<String, (&str, &str)> = (0..per_client)
        .flat_map(|n| {
            senders
                .iter()
                .map(|s| (format!("{tag} {} {n}", s.says), (s.author, s.room)))
                .collect::<Vec<_>>()
        })
        .collect();
    std::thread::scope(|scope| {
        let mut faults = Vec::new();
        for n in 0..per_client {
            let fault = &fault;
            faults.push(scope.spawn(move || fault(n)));
            for sender in &mut senders {
                let text = format!("{tag} {} {n}", sender.says);
                sender.client.send(&text);
            }
            std::thread::sleep(pause);
        }
    });
    // What each prints: every room's messages, or its own room's.
    let visible = |sender: &Sender| -> HashSet<String> {
        expected
            .iter()
            .filter(|(_, (_, room))| sender.sees_all || *room == sender.room)
            .map(|(content, _)| content.clone())
            .collect()
    };
    for sender in &senders {
        let client = &sender.client;
        let wanted = visible(sender);
        let all = wait_for(Duration::from_secs(90), || {
            let seen: HashSet<String> = client.contents().into_iter().collect();
            wanted.iter().all(|k| seen.contains(k))
        });
        if !all {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(format!("{scenario}-{}.log", sender.says.replace(' ', "-"))),
                client.stderr.lock().unwrap().as_bytes(),
            )
            .unwrap();
            let seen: HashSet<String> = client.contents().into_iter().collect();
            let mut missing: Vec<&String> = wanted.iter().filter(|k| !seen.contains(*k)).collect();
            missing.sort();
            let stderr = client.stderr.lock().unwrap().clone();
            let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "{scenario} ({}): missing {} e.g. {:?}\nstderr tail:\n{}",
                sender.says,
                missing.len(),
                &missing[..missing.len().min(5)],
                tail.join("\n")
            );
        }
    }
    // What Directus stored: each message once, none without an author, each in its room.
    let admin = server.admin();
    let dm = alice_bob_dm(server);
    let rows = admin
        .get(&format!("/items/messages?limit=-1&fields=content,room.id,room.name,room.kind,user_created.first_name&filter[content][_starts_with]={}", xtask::rest::encode(&tag)))
        .unwrap()
        .data("read back")
        .unwrap();
    let mut outcome = Outcome {
        sent: expected.len(),
        lost: 0,
        duplicated: 0,
        out_of_order: 0,
        anonymous: 0,
    };
    let mut stored: HashMap<String, usize> = HashMap::new();
    let mut room_of: HashMap<String, String> = HashMap::new();
    for row in rows.as_array().unwrap() {
        let content = row["content"].as_str().unwrap().to_owned();
        *stored.entry(content.clone()).or_default() += 1;
        let (author, room) = expected[&content];
        if row["user_created"].is_null() {
            outcome.anonymous += 1;
        } else {
            assert_eq!(
                row["user_created"]["first_name"], author,
                "stored author of {content}"
            );
        }
        let stored_room = match row["room"]["kind"].as_str() {
            Some("dm") if row["room"]["id"].as_str() == Some(dm.as_str()) => "dm",
            Some("dm") => "another DM",
            _ => row["room"]["name"].as_str().unwrap_or_default(),
        };
        assert_eq!(stored_room, room, "stored room of {content}");
        room_of.insert(
            content,
            row["room"]["id"].as_str().unwrap_or_default().to_owned(),
        );
    }
    outcome.duplicated += stored.values().map(|n| n - 1).sum::<usize>();
    outcome.lost += expected.keys().filter(|k| !stored.contains_key(*k)).count();
    for sender in senders {
        let name = sender.says;
        let wanted = visible(&sender);
        let printed: Vec<Value> = sender.client.finish();
        let mut seen = HashSet::new();
        let mut last_id = i64::MIN;
        for line in printed
            .iter()
            .filter(|l| expected.contains_key(l["content"].as_str().unwrap_or("")))
        {
            let content = line["content"].as_str().unwrap().to_owned();
            assert_eq!(
                line["author"], expected[&content].0,
                "{scenario}/{name}: {line}"
            );
            assert_eq!(
                line["room_id"].as_str(),
                room_of.get(&content).map(String::as_str),
                "{scenario}/{name}: printed in its own room: {line}"
            );
            assert!(
                wanted.contains(&content),
                "{scenario}/{name}: not of its room: {line}"
            );
            if !seen.insert(content) {
                outcome.duplicated += 1;
            }
            let id = line["id"].as_i64().unwrap();
            if id < last_id {
                outcome.out_of_order += 1;
            }
            last_id = last_id.max(id);
        }
        outcome.lost += wanted.len() - seen.len();
    }
    outcome
}

#[test]
fn directus_killed_twice_with_sigkill() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let kills = AtomicUsize::new(0);
    let one_at_a_time = Mutex::new(());
    let outcome = exchange(
        &server,
        &server.url(),
        "sigkill",
        60,
        Duration::from_millis(50),
        true,
        |n| {
            if n == 20 || n == 40 {
                // The second crash waits until the server is back from the first.
                let _serial = one_at_a_time.lock().unwrap();
                server.kill();
                kills.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(500));
                server.restart();
            }
        },
    );
    report(
        "Directus SIGKILLed and restarted",
        kills.load(Ordering::SeqCst),
        &outcome,
    );
}

#[test]
fn short_access_tokens_never_make_anonymous_posts() {
    // Provisioned with the default TTL (it takes longer than 2 s), then restarted with it.
    let mut server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    server.restart_with(&[("ACCESS_TOKEN_TTL", "2s")]);
    let outcome = exchange(
        &server,
        &server.url(),
        "ttl",
        50,
        Duration::from_millis(200),
        true,
        |_| {},
    );
    // 10 s of sending over 2 s tokens: each client re-authenticated about 5 times.
    report("access token TTL 2 s", 10, &outcome);
}

#[test]
fn the_rate_limiter_only_delays() {
    let mut server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    server.restart_with(&[
        ("RATE_LIMITER_ENABLED", "true"),
        ("RATE_LIMITER_POINTS", "5"),
        ("RATE_LIMITER_DURATION", "1"),
    ]);
    let outcome = exchange(
        &server,
        &server.url(),
        "ratelimit",
        30,
        Duration::from_millis(10),
        true,
        |_| {},
    );
    report("rate limiter 5 messages/s", 0, &outcome);
}

#[test]
fn a_server_that_comes_up_later_is_joined_by_itself() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    server.stop();
    let started = Instant::now();
    let outcome = exchange(
        &server,
        &server.url(),
        "late-start",
        20,
        Duration::from_millis(50),
        false,
        |n| {
            if n == 0 {
                std::thread::sleep(Duration::from_secs(2));
                server.restart();
            }
        },
    );
    assert!(started.elapsed() > Duration::from_secs(2));
    report("server down at start", 1, &outcome);
}

/// A TCP proxy of our own that cuts connections at random moments, some in the middle of a
/// frame (only part of a chunk forwarded).
struct ChaosProxy {
    port: u16,
    cuts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    /// Cutting starts once both clients are in (their first password login takes ~0.5 s).
    active: Arc<AtomicBool>,
}

impl ChaosProxy {
    fn start(upstream: u16) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicBool::new(false));
        type Conn = (TcpStream, TcpStream, Arc<AtomicBool>, Instant);
        let conns: Arc<Mutex<Vec<Conn>>> = Arc::default();
        {
            let conns = conns.clone();
            let cuts = cuts.clone();
            std::thread::spawn(move || {
                for client in listener.incoming().map_while(Result::ok) {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                        continue; // upstream down: the client sees a closed connection
                    };
                    let mid_frame = Arc::new(AtomicBool::new(false));
                    for (from, to) in [
                        (client.try_clone().unwrap(), server.try_clone().unwrap()),
                        (server.try_clone().unwrap(), client.try_clone().unwrap()),
                    ] {
                        let (mid_frame, cuts) = (mid_frame.clone(), cuts.clone());
                        std::thread::spawn(move || pump(from, to, &mid_frame, &cuts));
                    }
                    conns
                        .lock()
                        .unwrap()
                        .push((client, server, mid_frame, Instant::now()));
                }
            });
        }
        {
            let (cuts, stop, active) = (cuts.clone(), stop.clone(), active.clone());
            std::thread::spawn(move || {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ std::process::id() as u64;
                let mut next = || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                };
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(80 + next() % 250));
                    if !active.load(Ordering::SeqCst) {
                        continue;
                    }
                    let mut conns = conns.lock().unwrap();
                    conns.retain(|(c, _, _, _)| c.peer_addr().is_ok());
                    // Connections a moment old: most handshakes get through, so clients are
                    // cut while working rather than kept in ever longer backoff.
                    let ripe: Vec<usize> = (0..conns.len())
                        .filter(|i| conns[*i].3.elapsed() > Duration::from_millis(400))
                        .collect();
                    if ripe.is_empty() {
                        continue;
                    }
                    let pick = ripe[(next() % ripe.len() as u64) as usize];
                    if next() % 2 == 0 {
                        // The pump cuts in the middle of its next chunk; an idle connection
                        // stays in the list and may be cut outright before that.
                        conns[pick].2.store(true, Ordering::SeqCst);
                    } else {
                        let (client, server, _, _) = conns.swap_remove(pick);
                        let _ = client.shutdown(Shutdown::Both);
                        let _ = server.shutdown(Shutdown::Both);
                        cuts.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        ChaosProxy {
            port,
            cuts,
            stop,
            active,
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, mid_frame: &AtomicBool, cuts: &AtomicUsize) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if mid_frame.swap(false, Ordering::SeqCst) {
            let _ = to.write_all(&buf[..n.div_ceil(2)]);
            cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[test]
fn a_proxy_cutting_connections_a_hundred_times() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let proxy = ChaosProxy::start(server.config.port);
    let url = format!("http://127.0.0.1:{}", proxy.port);
    let cuts = proxy.cuts.clone();
    let outcome = exchange(
        &server,
        &url,
        "cuts",
        60,
        Duration::from_millis(100),
        true,
        |n| {
            if n == 0 {
                proxy.active.store(true, Ordering::SeqCst);
            }
            if n == 59 {
                // Keep cutting until at least 100 cuts happened, then let the clients settle.
                let deadline = Instant::now() + Duration::from_secs(240);
                while cuts.load(Ordering::SeqCst) < 100 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
                proxy.stop.store(true, Ordering::SeqCst);
            }
        },
    );
    let cuts = proxy.cuts.load(Ordering::SeqCst);
    report("TCP proxy cutting connections", cuts, &outcome);
    assert!(cuts >= 100, "only {cuts} cuts");
}
