//! Faults against a real Directus: nothing lost, nothing doubled, nobody impersonated.
//!
//! Each scenario runs four headless clients in three rooms (Alice and Bob in `general`, Alice
//! in the private `design` that both are in, Bob in their DM) that keep sending while something
//! breaks, then
//! checks that each client printed every message of its rooms exactly once with the right
//! author and room, and that Directus stored each exactly once with its author, in its room. Each writes a row of
//! the table `cargo xtask test` prints (tests/artifacts/faults.txt).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::exchange::exchange;
use common::fault_table::report;
use xtask::testing::TestDirectus;

#[test]
fn directus_killed_twice_with_sigkill() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let kills = AtomicUsize::new(0);
    let one_at_a_time = Mutex::new(());
    let outcome = exchange(
        &server,
        &[server.url()],
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
        &[server.url()],
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
        &[server.url()],
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
        &[server.url()],
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
        &[url.to_owned()],
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
