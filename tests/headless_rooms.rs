//! Headless in rooms, against a real Directus: `--room` reads and writes one room (a channel
//! by name, a DM by the other person's name), `--all-rooms` prints every room's messages, each
//! line naming its room; a room one is not in is refused, and nothing of it is printed.

mod common;

use std::collections::HashSet;

use common::Client;
use serde_json::{Value, json};
use xtask::testing::TestDirectus;

fn run(
    server: &TestDirectus,
    member: &xtask::provision::Member,
    args: &[&str],
    lines: &[&str],
) -> Vec<Value> {
    let mut client = Client::start_args(&server.url(), member, &[], args);
    for line in lines {
        client.send(line);
    }
    client.finish()
}

#[test]
fn headless_reads_and_writes_the_room_it_is_given_or_every_room() {
    let server = TestDirectus::shared();
    let pid = std::process::id();
    let ed = server.add_member(&format!("ed-{pid}@example.com"), &format!("Ed{pid}"));
    let (alice, bob, ed_rest) = (
        server.as_member(&server.alice),
        server.as_member(&server.bob),
        server.as_member(&ed),
    );
    // A DM between Alice and Ed, and a private channel of Alice's with Bob.
    let mut pair = [common::user_id(&alice), common::user_id(&ed_rest)];
    pair.sort();
    let dm = common::create_item(
        &alice,
        "rooms",
        json!({"kind": "dm", "dm_key": pair.join(":")}),
    );
    let channel_name = format!("hl-{pid}");
    let channel = common::create_item(
        &alice,
        "rooms",
        json!({"name": channel_name, "kind": "channel", "private": true}),
    );
    common::create_item(
        &alice,
        "room_members",
        json!({"room": channel, "user": common::user_id(&bob)}),
    );
    common::create_item(
        &bob,
        "messages",
        json!({"content": format!("in channel {pid}"), "room": channel}),
    );
    common::create_item(
        &ed_rest,
        "messages",
        json!({"content": format!("hello alice {pid}"), "room": dm}),
    );
    // No room named: general's.
    common::create_item(
        &bob,
        "messages",
        json!({"content": format!("in general {pid}")}),
    );

    // --room by the other person's first name: the DM, read and written.
    let said = format!("hi ed {pid}");
    let lines = run(
        server,
        &server.alice,
        &["--room", &format!("ed{pid}")],
        &[&said],
    );
    let contents: HashSet<&str> = lines.iter().filter_map(|l| l["content"].as_str()).collect();
    assert!(
        contents.contains(format!("hello alice {pid}").as_str()),
        "{lines:?}"
    );
    assert!(contents.contains(said.as_str()), "{lines:?}");
    for line in &lines {
        assert_eq!(
            (line["room"].as_str(), line["room_id"].as_str()),
            (Some(format!("Ed{pid}").as_str()), Some(dm.as_str())),
            "only the DM: {line}"
        );
    }
    let stored = ed_rest
        .get(&format!(
            "/items/messages?filter[content][_eq]={}&fields=room",
            xtask::rest::encode(&said)
        ))
        .unwrap()
        .data("find")
        .unwrap();
    assert_eq!(stored[0]["room"], json!(dm), "written into the DM");

    // --all-rooms: every room, each line naming its own.
    let lines = run(server, &server.alice, &["--all-rooms"], &[]);
    let room_of = |text: &str| {
        lines.iter().find(|l| l["content"] == text).map(|l| {
            (
                l["room"].as_str().unwrap().to_owned(),
                l["room_id"].as_str().unwrap().to_owned(),
            )
        })
    };
    assert_eq!(
        room_of(&format!("in channel {pid}")),
        Some((channel_name.clone(), channel.clone()))
    );
    assert_eq!(room_of(&said), Some((format!("Ed{pid}"), dm.clone())));
    let general = room_of(&format!("in general {pid}")).map(|r| r.0);
    assert_eq!(general.as_deref(), Some("general"));
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "each message once"
    );

    // Ed is not in the channel: refused by name, and nothing of it in all his rooms.
    let mut refused = Client::start_args(&server.url(), &ed, &[], &["--room", &channel_name]);
    refused.send("never posted");
    let stderr = refused.stderr.clone();
    let (status, lines) = refused.finish_with_status();
    assert!(!status.success(), "refused");
    assert!(
        stderr.lock().unwrap().contains("no room called"),
        "{}",
        stderr.lock().unwrap()
    );
    assert!(lines.is_empty(), "{lines:?}");
    let lines = run(server, &ed, &["--all-rooms"], &[]);
    assert!(
        lines.iter().all(|l| l["room_id"] != json!(channel)),
        "nothing of a room Ed is not in: {lines:?}"
    );
    assert!(lines.iter().any(|l| l["room_id"] == json!(dm)), "his DM");
}
