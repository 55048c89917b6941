//! Every frame shape of shared/directus-facts.md, decoded.

use serde_json::json;

use super::protocol::*;

fn frame(value: serde_json::Value) -> ServerFrame {
    decode(&value.to_string()).unwrap()
}

fn err(code: &str) -> ServerError {
    ServerError {
        code: code.into(),
        message: String::new(),
    }
}

#[test]
fn auth_replies() {
    assert_eq!(
        frame(json!({"type":"auth","status":"ok","uid":"a-1","refresh_token":"r2"})),
        ServerFrame::AuthOk {
            uid: Some("a-1".into()),
            refresh_token: Some("r2".into())
        }
    );
    // Handshake failure: no uid.
    assert_eq!(
        frame(
            json!({"type":"auth","status":"error","error":{"code":"AUTH_FAILED","message":"Invalid user credentials."}})
        ),
        ServerFrame::AuthError {
            uid: None,
            error: ServerError {
                code: "AUTH_FAILED".into(),
                message: "Invalid user credentials.".into()
            }
        }
    );
    // A failed re-auth on an open socket echoes the uid.
    assert!(matches!(
        frame(json!({"type":"auth","status":"error","uid":"a-9","error":{"code":"AUTH_FAILED"}})),
        ServerFrame::AuthError { uid: Some(u), .. } if u == "a-9"
    ));
    for code in ["TOKEN_EXPIRED", "AUTH_TIMEOUT"] {
        assert_eq!(
            frame(json!({"type":"auth","status":"error","error":{"code":code}})),
            ServerFrame::AuthError {
                uid: None,
                error: err(code)
            }
        );
    }
}

#[test]
fn items_replies_and_errors() {
    let one = frame(json!({"type":"items","data":{"id":7,"content":"hi"},"uid":"c-1"}));
    let ServerFrame::Items { uid, data } = one else {
        panic!()
    };
    assert_eq!(uid.as_deref(), Some("c-1"));
    assert_eq!(MessageItem::list_from_json(&data)[0].id, 7);

    let many = frame(json!({"type":"items","status":"ok","data":[{"id":1},{"id":"2"}],"uid":"r"}));
    let ServerFrame::Items { data, .. } = many else {
        panic!()
    };
    let ids: Vec<i64> = MessageItem::list_from_json(&data)
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, [1, 2]);

    // A delete answers with the ids it was sent, typed as sent.
    assert_eq!(ids_from_json(&json!([3, "4"])), [3, 4]);
    assert_eq!(ids_from_json(&json!("5")), [5]);

    assert_eq!(
        frame(
            json!({"type":"items","status":"error","uid":"c-2","error":{"code":"FORBIDDEN","message":"You don't have permission"}})
        ),
        ServerFrame::ItemsError {
            uid: Some("c-2".into()),
            error: ServerError {
                code: "FORBIDDEN".into(),
                message: "You don't have permission".into()
            }
        }
    );
    assert!(matches!(
        frame(json!({"type":"items","status":"error","uid":"x","error":{"code":"INVALID_COLLECTION"}})),
        ServerFrame::ItemsError { error, .. } if error.is("INVALID_COLLECTION")
    ));
}

#[test]
fn subscription_frames() {
    assert_eq!(
        frame(json!({"type":"subscription","event":"init","uid":"s"})),
        ServerFrame::Subscription {
            uid: Some("s".into()),
            event: SubscriptionEvent::Init,
            data: serde_json::Value::Null
        }
    );
    for (name, event) in [
        ("create", SubscriptionEvent::Create),
        ("update", SubscriptionEvent::Update),
        ("delete", SubscriptionEvent::Delete),
    ] {
        assert!(matches!(
            frame(json!({"type":"subscription","event":name,"data":[1],"uid":"s"})),
            ServerFrame::Subscription { event: e, .. } if e == event
        ));
    }
    // Subscribe errors: FORBIDDEN carries the uid, validation errors do not.
    assert_eq!(
        frame(json!({"type":"subscribe","status":"error","uid":"s","error":{"code":"FORBIDDEN"}})),
        ServerFrame::SubscribeError {
            uid: Some("s".into()),
            error: err("FORBIDDEN")
        }
    );
    assert_eq!(
        frame(json!({"type":"subscribe","status":"error","error":{"code":"INVALID_PAYLOAD"}})),
        ServerFrame::SubscribeError {
            uid: None,
            error: err("INVALID_PAYLOAD")
        }
    );
    // An unknown event name is not a subscription event we act on.
    assert!(matches!(
        frame(json!({"type":"subscription","event":"?"})),
        ServerFrame::Unknown(_)
    ));
}

#[test]
fn heartbeat_and_server_errors() {
    assert_eq!(frame(json!({"type":"ping"})), ServerFrame::Ping);
    assert_eq!(
        frame(json!({"type":"pong","uid":"p-3"})),
        ServerFrame::Pong {
            uid: Some("p-3".into())
        }
    );
    assert_eq!(
        frame(json!({"type":"server","status":"error","error":{"code":"INVALID_PAYLOAD"}})),
        ServerFrame::ServerError {
            error: err("INVALID_PAYLOAD")
        }
    );
    let ServerFrame::ServerError { error } =
        frame(json!({"type":"server","status":"error","error":{
        "code":"REQUESTS_EXCEEDED","message":"Too many requests, retry after 997ms."}}))
    else {
        panic!()
    };
    assert_eq!(error.retry_after_ms(), Some(997));
    assert_eq!(err("X").retry_after_ms(), None);
}

#[test]
fn unknown_and_malformed_frames_never_panic() {
    assert!(matches!(
        frame(json!({"type":"unsubscribe","uid":"s"})),
        ServerFrame::Unknown(_)
    ));
    assert!(matches!(
        frame(json!({"type":"brand-new"})),
        ServerFrame::Unknown(_)
    ));
    assert!(matches!(frame(json!({"type": 5})), ServerFrame::Unknown(_)));
    assert!(matches!(frame(json!([1, 2])), ServerFrame::Unknown(_)));
    assert!(matches!(frame(json!("auth")), ServerFrame::Unknown(_)));
    assert!(decode("{\"type\":\"auth\"").is_err());
    assert!(decode("").is_err());
    // An error object of the wrong shape still gives an error, not a panic.
    assert!(matches!(
        frame(json!({"type":"auth","status":"error","error":"nope"})),
        ServerFrame::AuthError { error, .. } if error.code == "UNKNOWN"
    ));
    // Items with wrong types decode to no messages rather than bad ones.
    assert!(MessageItem::list_from_json(&json!("x")).is_empty());
    assert!(MessageItem::list_from_json(&json!([{"id": null}, {"id": {}}, 3])).is_empty());
}

#[test]
fn authors_come_in_three_shapes() {
    let expanded = MessageItem::from_json(
        &json!({"id":1,"content":"a","user_created":{"id":"u1","first_name":"Alice"}}),
    )
    .unwrap();
    assert_eq!(
        expanded.author,
        Author {
            id: Some("u1".into()),
            first_name: Some("Alice".into())
        }
    );
    // Without read permission on users, Directus sends the bare UUID.
    let bare = MessageItem::from_json(&json!({"id":2,"content":"b","user_created":"u2"})).unwrap();
    assert_eq!(
        bare.author,
        Author {
            id: Some("u2".into()),
            first_name: None
        }
    );
    let nobody =
        MessageItem::from_json(&json!({"id":3,"content":"c","user_created":null})).unwrap();
    assert_eq!(nobody.author, Author::default());
    // Content of a wrong type is shown as text rather than dropped.
    assert_eq!(
        MessageItem::from_json(&json!({"id":4,"content":42}))
            .unwrap()
            .content,
        "42"
    );
}

#[test]
fn client_frames_carry_what_directus_expects() {
    let v = |s: String| serde_json::from_str::<serde_json::Value>(&s).unwrap();
    let auth = v(auth_with_password("a@b.c", "pw", "u"));
    assert_eq!(
        (
            auth["type"].as_str(),
            auth["email"].as_str(),
            auth["uid"].as_str()
        ),
        (Some("auth"), Some("a@b.c"), Some("u"))
    );
    assert_eq!(v(auth_with_refresh_token("r", "u"))["refresh_token"], "r");
    let sub = v(subscribe_messages("s"));
    assert_eq!(sub["collection"], "messages");
    assert!(
        sub["query"]["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("user_created.first_name"))
    );
    let catch_up = v(read_after(41, 500, "c"));
    assert_eq!(catch_up["query"]["filter"]["id"]["_gt"], 41);
    assert_eq!(catch_up["query"]["sort"], json!(["id"]));
    assert!(
        catch_up["query"]["filter"]["room"].is_null(),
        "catch-up: every room at once"
    );
    let general = v(read_latest(
        &RoomRef::PublicChannel("general".into()),
        50,
        "h",
    ));
    assert_eq!(general["query"]["sort"], json!(["-id"]));
    assert_eq!(
        general["query"]["filter"]["room"],
        json!({"name": {"_eq": "general"}, "kind": {"_eq": "channel"}, "private": {"_eq": false}})
    );
    let design = v(read_before(&RoomRef::Id("r-design".into()), 7, 50, "o"));
    assert_eq!(
        (
            &design["query"]["filter"]["room"],
            &design["query"]["filter"]["id"]
        ),
        (&json!({"_eq": "r-design"}), &json!({"_lt": 7}))
    );
    let create = v(create_message("hi", "k1", None, &[], "c"));
    assert_eq!(create["data"], json!({"content":"hi","client_key":"k1"}));
    let create = v(create_message("hi", "k1", Some("r-design"), &[], "c"));
    assert_eq!(create["data"]["room"], "r-design");
    assert_eq!(v(ping("p"))["type"], "ping");
    assert_eq!(v(pong())["type"], "pong");
}

#[test]
fn room_frames_are_read_as_any_database_sends_them() {
    use super::protocol::rooms::*;
    // PostgreSQL sends counts as strings; SQLite may store booleans as 0/1; ids come as
    // numbers or numeric strings (a delete event's "07" is membership 7).
    let rows = json!([{"id": "7", "last_read": "12",
                       "room": {"id": "r1", "name": "general", "kind": "channel", "private": 0}}]);
    let m = &Membership::list_from_json(&rows)[0];
    assert_eq!(
        (m.id.as_str(), m.last_read, m.private),
        ("7", Some(12), false)
    );
    assert_eq!(id_text(&json!("07")), id_text(&json!(7)));
    assert_eq!(id_text(&json!("r-uuid")).as_deref(), Some("r-uuid"));
    let counts = json!([{"room": "r1", "count": {"id": "3"}, "max": {"id": 41}}]);
    assert_eq!(unread_from_json(&counts), [("r1".to_owned(), 3, 41)]);
    let kind = json!({"id": 1, "room": {"id": "r2", "kind": "dm"}});
    let dm = Membership::from_json(&kind).unwrap();
    assert_eq!(
        (dm.kind, dm.private),
        (RoomKind::Dm, true),
        "a room with no private flag is private"
    );
}
