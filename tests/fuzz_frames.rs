//! Hostile input: bounded property-based fuzzing of the frame decoder and the session.
//! Whatever a misbehaving server sends, nothing panics and the timeline stays consistent.

use directus_chat::core::protocol::decode;
use directus_chat::core::server_url::ServerUrl;
use directus_chat::core::session::Session;
use proptest::prelude::*;
use serde_json::{Value, json};
use web_time::Instant;

/// JSON values shaped like Directus frames, with wrong types mixed in.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z0-9_\\-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "auth",
            "items",
            "subscription",
            "subscribe",
            "ping",
            "pong",
            "server",
            "ok",
            "error",
            "init",
            "create",
            "update",
            "delete",
            "TOKEN_EXPIRED",
            "AUTH_FAILED",
            "REQUESTS_EXCEEDED",
            "RECORD_NOT_UNIQUE",
            "FORBIDDEN",
            "history-3",
            "create-4",
            "subscribe-2",
            "profile-5"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "type",
                        "status",
                        "uid",
                        "data",
                        "error",
                        "event",
                        "id",
                        "content",
                        "user_created",
                        "first_name",
                        "client_key",
                        "code",
                        "message",
                        "refresh_token",
                        "date_created"
                    ]),
                    inner
                ),
                0..7,
            )
            .prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_text_decodes_or_errs(text in ".{0,300}") {
        let _ = decode(&text);
    }

    #[test]
    fn truncated_frames_never_panic(value in json_value(), cut in 0usize..200) {
        let text = value.to_string();
        let end = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
        let _ = decode(&text[..end]);
    }

    #[test]
    fn a_session_survives_any_frames(frames in prop::collection::vec(json_value(), 1..25)) {
        let mut session = Session::new(1);
        let now = Instant::now();
        session.login(ServerUrl::parse("http://127.0.0.1:8055").unwrap(), "a@b.c", "pw", now);
        session.opened(now);
        // Authenticated and subscribed first, so that later frames reach every handler.
        session.frame(&json!({"type":"auth","status":"ok","uid":"auth-1","refresh_token":"r"}).to_string(), now);
        session.frame(&json!({"type":"subscription","event":"init","uid":"subscribe-2"}).to_string(), now);
        let _ = session.send("hello", now);
        for frame in frames {
            session.frame(&frame.to_string(), now);
            session.tick(now);
        }
        let ids: Vec<i64> = session.timeline().iter().map(|m| m.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(ids, sorted);
    }
}

#[test]
fn huge_and_deep_frames_are_handled() {
    // A 3 MiB message and a deeply nested value: decoded or refused, never a crash.
    let big = json!({"type":"subscription","event":"create","data":[{"id":1,"content":"x".repeat(3 << 20)}]});
    assert!(decode(&big.to_string()).is_ok());
    let deep = "[".repeat(100_000);
    assert!(decode(&deep).is_err());
}
