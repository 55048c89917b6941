//! `cargo xtask cluster up / status / env / down` as a user runs them, in a folder of the
//! test's own: the cluster comes up, carries a message from one instance to a socket on the
//! other, brings back an instance that was killed (leaving the rest alone), refuses a busy
//! port before starting anything, and `down` leaves nothing running.

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::json;
use xtask::provision::Member;
use xtask::server;
use xtask::testing::ws::Socket;

fn xtask(dir: &std::path::Path, port: u16, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("DIRECTUS_CLUSTER_DIR", dir)
        .env("CLUSTER_PORT", port.to_string())
        .env_remove("DIRECTUS_VERSION")
        .output()
        .unwrap()
}

/// The value of `key` among KEY=VALUE lines.
fn value(lines: &str, key: &str) -> String {
    lines
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} in {lines}"))
        .to_owned()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn cluster_up_status_env_down_from_the_command_line() {
    if let Err(why) = xtask::cluster::programs() {
        eprintln!("SKIPPED: no Directus cluster on this machine: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("directus-chat-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = server::free_port();
    struct Down<F: Fn()>(F);
    impl<F: Fn()> Drop for Down<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let _down = Down(|| {
        xtask(&dir, port, &["cluster", "down"]);
        let _ = std::fs::remove_dir_all(&dir);
    });

    let up = xtask(&dir, port, &["cluster", "up"]);
    assert!(up.status.success(), "{}", text(&up));
    let env_of = || String::from_utf8(xtask(&dir, port, &["cluster", "env"]).stdout).unwrap();
    let env = env_of();
    let get = |key: &str| value(&env, key);
    assert_eq!(get("DIRECTUS_URL"), format!("http://127.0.0.1:{port}"));
    let urls: Vec<String> = get("INSTANCE_URLS").split(',').map(str::to_owned).collect();
    let pids: Vec<u32> = get("INSTANCE_PIDS")
        .split(',')
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!((urls.len(), pids.len()), (2, 2), "{env}");
    let member = |name: &str, first: &str| Member {
        email: get(&format!("{name}_EMAIL")),
        password: get(&format!("{name}_PASSWORD")),
        first_name: first.into(),
    };
    let (alice, bob) = (member("ALICE", "Alice"), member("BOB", "Bob"));

    // Bob's socket on instance 2 gets what Alice posts through instance 1.
    let ws = |url: &str| url.replace("http://", "ws://") + "/websocket";
    let mut bobs = Socket::as_member(&ws(&urls[1]), &bob);
    bobs.send(
        json!({"type":"subscribe","collection":"messages","uid":"live",
                     "query":{"fields":["id","content","user_created.first_name"]}}),
    );
    let init = bobs.next(Duration::from_secs(10)).expect("init");
    assert_eq!(init["event"], "init", "{init}");
    let mut alices = Socket::as_member(&ws(&urls[0]), &alice);
    let hello = format!("across instances {}", server::random_token(4));
    alices.send(
        json!({"type":"items","action":"create","collection":"messages","uid":"post",
                       "data":{"content":hello,"client_key":server::random_token(16)}}),
    );
    let (reply, _) = alices.until_uid("post");
    assert_eq!(reply["data"]["content"], hello, "{reply}");
    let event = bobs.next(Duration::from_secs(10)).expect("the event");
    assert_eq!(event["event"], "create", "{event}");
    assert_eq!(event["data"][0]["content"], hello, "{event}");
    assert_eq!(event["data"][0]["user_created"]["first_name"], "Alice");
    drop((alices, bobs));

    // A killed instance comes back on its port; the rest is left alone.
    unsafe { libc::kill(pids[0] as libc::pid_t, libc::SIGKILL) };
    while xtask::process::is_alive(pids[0]) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let again = xtask(&dir, port, &["cluster", "up"]);
    let said = text(&again);
    assert!(again.status.success(), "{said}");
    assert!(said.contains("instance-1: started"), "{said}");
    for part in ["postgres", "redis", "instance-2", "haproxy"] {
        assert!(said.contains(&format!("{part}: running")), "{part}: {said}");
    }
    assert!(said.contains("nothing to change"), "{said}");

    // Another cluster on the balancer's port: refused before anything of it starts.
    let other = dir.with_extension("other");
    let busy = xtask(&other, port, &["cluster", "up"]);
    let said = text(&busy);
    assert!(!busy.status.success(), "{said}");
    assert!(said.contains("already in use"), "{said}");
    let status = text(&xtask(&other, port, &["cluster", "status"]));
    assert_eq!(status.matches("not running").count(), 5, "{status}");
    let _ = std::fs::remove_dir_all(&other);

    let status = text(&xtask(&dir, port, &["cluster", "status"]));
    assert_eq!(status.matches(": running").count(), 5, "{status}");
    let restarted: u32 = value(&env_of(), "INSTANCE_PIDS")
        .split(',')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("instance-1 runs again");
    let stored = std::fs::read_to_string(dir.join("cluster.env")).unwrap();
    let mut ports: Vec<u16> = ["POSTGRES_PORT", "REDIS_PORT"]
        .iter()
        .map(|k| value(&stored, k).parse().unwrap())
        .collect();
    ports.push(port);
    ports.extend(
        urls.iter()
            .map(|u| u.rsplit(':').next().unwrap().parse::<u16>().unwrap()),
    );
    let down = xtask(&dir, port, &["cluster", "down"]);
    assert!(down.status.success(), "{}", text(&down));
    let status = text(&xtask(&dir, port, &["cluster", "status"]));
    assert_eq!(status.matches("not running").count(), 5, "{status}");
    for pid in [pids[1], restarted] {
        assert!(
            !xtask::process::is_alive(pid),
            "instance pid {pid} still runs"
        );
    }
    // Nothing listens any more: PostgreSQL, Redis, the instances, the balancer.
    for p in ports {
        assert!(server::ensure_port_free(p).is_ok(), "port {p} still taken");
    }
}
