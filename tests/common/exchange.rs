//! The fault suite's exchange: four headless clients in three rooms that keep sending while
//! something breaks, and the check that nothing was lost, doubled, misattributed or misplaced
//! (see tests/faults.rs and tests/cluster.rs).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;
use xtask::testing::Deployment;

use super::fault_table::Outcome;
use super::{Client, wait_for};

/// The id of the DM of Alice and Bob (keyed by the pair of their ids).
fn alice_bob_dm(server: &dyn Deployment) -> String {
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
    let mut pair = [id(&server.alice().email), id(&server.bob().email)];
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

/// Send `per_client` messages from each of four clients in three rooms, client n through
/// `urls[n % urls.len()]`: Alice
/// and Bob in `general` (printing every room), Alice in the private `design` (Bob is in it
/// too), Bob in their DM; calling `fault(n)` before message n. Then check every client's output
/// (each message of the rooms it prints exactly once, with its author and its own room; how
/// many came out of id order is counted for the table) and the database (each once, with its
/// author, in its room: `design`, `general`, and the DM of Alice and Bob, by its id).
pub fn exchange(
    server: &dyn Deployment,
    urls: &[String],
    scenario: &str,
    per_client: usize,
    pause: Duration,
    wait_online: bool,
    fault: impl Fn(usize) + Sync,
) -> Outcome {
    let tag = format!("{scenario}-{}", std::process::id());
    // Sender n talks to urls[n % urls.len()].
    let mut n = 0;
    let mut start = |member, args: &[&str]| {
        n += 1;
        Client::start_args(&urls[(n - 1) % urls.len()], member, &[], args)
    };
    let mut senders = vec![
        Sender {
            client: start(server.alice(), &["--all-rooms"]),
            says: "alice",
            author: "Alice",
            room: "general",
            sees_all: true,
        },
        Sender {
            client: start(server.bob(), &["--all-rooms"]),
            says: "bob",
            author: "Bob",
            room: "general",
            sees_all: true,
        },
        Sender {
            client: start(server.alice(), &["--room", "design"]),
            says: "alice design",
            author: "Alice",
            room: "design",
            sees_all: false,
        },
        Sender {
            client: start(server.bob(), &["--room", "Alice"]),
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
