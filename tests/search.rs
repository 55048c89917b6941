//! Server search against a real Directus: `--headless --search TEXT` prints the matching
//! messages of the user's rooms, newest first, across pages; a member's search never returns
//! a message of a room they are not in, however they ask (our client, or REST directly).

mod common;

use common::Client;
use serde_json::{Value, json};
use xtask::testing::TestDirectus;

fn search(server: &TestDirectus, member: &xtask::provision::Member, text: &str) -> Vec<Value> {
    let client = Client::start_args(&server.url(), member, &[], &["--search", text]);
    let (status, lines) = client.finish_with_status();
    assert!(status.success(), "--search {text:?} failed: {lines:?}");
    lines
}

#[test]
fn search_finds_every_match_of_my_rooms_newest_first_and_nothing_of_others() {
    let server = TestDirectus::shared();
    let pid = std::process::id();
    let needle = format!("needle{pid}");
    let (alice, bob, carol) = (
        server.as_member(&server.alice),
        server.as_member(&server.bob),
        server.as_member(&server.carol),
    );
    // A private channel of Alice and Bob; Carol is not in it.
    let secret = common::create_item(
        &alice,
        "rooms",
        json!({"name": format!("search-{pid}"), "kind": "channel", "private": true}),
    );
    common::create_item(
        &alice,
        "room_members",
        json!({"room": secret, "user": common::user_id(&bob)}),
    );
    // In general: more matches than one page holds, in any case, and one with `_` in it.
    let rows: Vec<Value> = (0..60)
        .map(|n| json!({"content": format!("general {} {n}", needle.to_uppercase())}))
        .collect();
    alice
        .post("/items/messages", &Value::Array(rows))
        .unwrap()
        .data("post many")
        .unwrap();
    let near = needle.replacen("needle", "needl_", 1);
    common::create_item(
        &alice,
        "messages",
        json!({"content": format!("near {near}")}),
    );
    common::create_item(
        &bob,
        "messages",
        json!({"content": format!("the secret {needle}"), "room": secret}),
    );
    common::create_item(&carol, "messages", json!({"content": "no match here"}));

    // Bob: all 61, newest first, the private one first, each naming its room.
    let lines = search(server, &server.bob, &needle.replacen("needle", "NeEdLe", 1));
    assert_eq!(lines.len(), 61, "{lines:#?}");
    assert_eq!(lines[0]["content"], format!("the secret {needle}"));
    assert_eq!(lines[0]["room"], format!("search-{pid}"));
    assert_eq!(lines[0]["mine"], true);
    assert_eq!(lines[1]["room"], "general");
    assert_eq!(lines[1]["author"], "Alice");
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, once each: {ids:?}"
    );

    // `_` in the text is a wildcard to the server's LIKE: `needl_N` matches every `needleN` there.
    // Only the message that really contains it is a hit.
    let lines = search(server, &server.alice, &near);
    let contents: Vec<&str> = lines.iter().filter_map(|l| l["content"].as_str()).collect();
    assert_eq!(contents, [format!("near {near}")]);

    // Carol: general's 60, never the private room's.
    let lines = search(server, &server.carol, &needle);
    assert_eq!(lines.len(), 60, "{lines:#?}");
    assert!(lines.iter().all(|l| l["room"] == "general"), "{lines:#?}");
    // Asking Directus herself, with any filter, she gets no more.
    for query in [
        format!("/items/messages?filter[content][_icontains]={needle}&limit=-1&fields=id,room"),
        format!("/items/messages?filter[room][_eq]={secret}&fields=id,room"),
        format!("/items/messages?search={needle}&limit=-1&fields=id,room"),
    ] {
        let rows = carol.get(&query).unwrap().data("carol's own read").unwrap();
        let rows = rows.as_array().unwrap();
        assert!(
            rows.iter()
                .all(|r| r["room"].as_str() != Some(secret.as_str())),
            "{query}: {rows:?}"
        );
        assert!(rows.len() <= 60, "{query}: {} rows", rows.len());
    }
    let direct = carol
        .get(&format!(
            "/items/messages?filter[room][_eq]={secret}&fields=id"
        ))
        .unwrap()
        .data("the private room, asked for by id")
        .unwrap();
    assert_eq!(direct, json!([]), "the private room read directly");

    // Nothing found: nothing printed, success.
    assert!(search(server, &server.carol, &format!("absent{pid}")).is_empty());
}

#[test]
fn search_arguments_that_make_no_sense_are_refused_with_usage() {
    for args in [
        &["--headless", "--search"][..],
        &["--headless", "--search", "x", "--room", "general"],
        &["--headless", "--search", "x", "--all-rooms"],
        &["--search", "x"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_directus-chat"))
            .args(args)
            .env(
                "DIRECTUS_CHAT_DATA_DIR",
                std::env::temp_dir().join("dc-search-args"),
            )
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--search"),
            "{args:?}"
        );
    }
}
