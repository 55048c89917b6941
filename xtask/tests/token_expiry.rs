//! A socket whose access token expired, tried by a hostile member against a real server.
//!
//! Directus 11.17.4 answers an expiry with TOKEN_EXPIRED and sets the socket's accountability
//! to null, which its services read as the system itself: for the 10 s until AUTH_TIMEOUT, a
//! member who simply did not re-authenticate could read every room and post in any, as nobody.
//! (12.x demotes the socket to Public rights instead.) The chat-rooms extension gives such a
//! socket Public rights on 11.x too; Public has none.

use std::time::Duration;

use serde_json::{Value, json};
use xtask::rest::Rest;
use xtask::rooms;
use xtask::testing::TestDirectus;
use xtask::testing::ws::Socket;

fn key() -> String {
    xtask::server::random_token(16)
}

/// Every frame that arrives within `wait`.
fn frames_for(socket: &mut Socket, wait: Duration) -> Vec<Value> {
    let deadline = std::time::Instant::now() + wait;
    let mut frames = Vec::new();
    while let Some(frame) =
        socket.next(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        frames.push(frame);
    }
    frames
}

fn stored(admin: &Rest, content: &str) -> Vec<Value> {
    let path = format!(
        "/items/messages?filter[content][_eq]={}&fields=id,user_created,room",
        xtask::rest::encode(content)
    );
    admin
        .get(&path)
        .unwrap()
        .data(&path)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_socket_whose_token_expired_can_neither_read_nor_post() {
    // Provisioned with the default TTL (it takes longer than a few seconds), then restarted.
    let mut server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    if server.report.restricted {
        return; // Unlicensed 12.x: one shared room, and 12.x demotes to Public by itself.
    }
    server.restart_with(&[("ACCESS_TOKEN_TTL", "3s")]);
    let design = rooms::find_room(&server.admin(), "design", "channel")
        .unwrap()
        .expect("design");
    let general = server.report.general.clone();
    let secret = format!("design secret {}", key());
    let post = |content: &str| {
        server
            .as_member(&server.alice)
            .post(
                "/items/messages",
                &json!({ "content": content, "room": design, "client_key": key() }),
            )
            .unwrap()
            .data("alice's post")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let first = post(&secret);

    // Carol, in general only, subscribes to messages and lets her token expire.
    let mut carol = Socket::as_member(&server.ws_url(), &server.carol);
    carol.send(
        json!({"type":"subscribe","collection":"messages","uid":"live",
                      "query":{"fields":["id","content","room","user_created"]}}),
    );
    let mut seen = Vec::new();
    loop {
        let frame = carol
            .next(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no TOKEN_EXPIRED within 10 s; got {seen:?}"));
        if frame["type"] == "auth" && frame["error"]["code"] == "TOKEN_EXPIRED" {
            break;
        }
        seen.push(frame);
    }

    // Within the 10 s before AUTH_TIMEOUT: a read of the private channel, by room and by id,
    carol.send(
        json!({"type":"items","action":"read","collection":"messages","uid":"room",
                      "query":{"filter":{"room":{"_eq":design}},"limit":-1}}),
    );
    carol.send(
        json!({"type":"items","action":"read","collection":"messages","uid":"one",
                      "id":first}),
    );
    // a post there by Alice while Carol's subscription is still on,
    let again = format!("{secret} again");
    post(&again);
    // and Carol's posts, in general and in the private channel.
    let knocks = [
        format!("anonymous {}", key()),
        format!("anonymous {}", key()),
    ];
    for (n, (knock, room)) in knocks.iter().zip([&general, &design]).enumerate() {
        carol.send(
            json!({"type":"items","action":"create","collection":"messages",
                          "uid":format!("post{n}"),
                          "data":{"content":knock,"room":room,"client_key":key()}}),
        );
    }
    let after = frames_for(&mut carol, Duration::from_secs(4));
    let text = serde_json::to_string(&after).unwrap();
    assert!(
        !text.contains(&secret),
        "the private channel leaked: {text}"
    );
    // (A reply that serves carries `data` and no status; a refusal has status "error".)
    for uid in ["room", "one", "post0", "post1"] {
        assert!(
            !after
                .iter()
                .any(|f| f["uid"] == uid && f.get("data").is_some()),
            "{uid} was served: {text}"
        );
    }
    assert!(
        !after
            .iter()
            .any(|f| f["type"] == "subscription" && f.get("data").is_some()),
        "an event reached the expired socket: {text}"
    );
    let admin = server.admin();
    for knock in &knocks {
        assert_eq!(
            stored(&admin, knock),
            Vec::<Value>::new(),
            "{knock} was stored"
        );
    }
}
