//! Connection life: TOKEN_EXPIRED, refusals, rate limits, timeouts, heartbeats, backoff,
//! wrong passwords, a resumed or expired session, logout.

use std::time::Duration;

use serde_json::{Value, json};

use super::session::*;
use super::session_tests::*;

#[test]
fn token_expired_reauthenticates_and_holds_sends() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let create = only(&rig.s.send("in the window", rig.now).unwrap());
    // No uid on TOKEN_EXPIRED; the socket stays open but is demoted to Public.
    let reauth = rig.token_expired();
    assert_eq!(reauth["type"], "auth");
    assert_eq!(reauth["refresh_token"], "r1");
    assert!(matches!(rig.s.phase(), Phase::Authenticating { .. }));
    // The create sent just before is refused as Public: not a failure, it is sent again.
    rig.frame(
        json!({"type":"items","status":"error","uid":create["uid"],"error":{"code":"FORBIDDEN"}}),
    );
    assert!(
        rig.s.send("held", rig.now).unwrap().is_empty(),
        "sends are held until auth ok"
    );
    let sent = rig.back_after_expiry(&reauth, "r2", vec![]);
    assert!(
        !sent
            .iter()
            .any(|f| f["type"] == "subscribe" && f["collection"] == "messages"),
        "the subscription to messages survives re-auth"
    );
    let retry = find(&sent, "items", Some("create")).unwrap();
    assert_eq!(retry["data"]["client_key"], create["data"]["client_key"]);
    assert!(
        rig.s
            .outbox()
            .iter()
            .all(|o| !matches!(o.state, OutgoingState::Failed(_)))
    );
}

#[test]
fn what_happened_in_the_token_expiry_window_is_read_after_re_auth() {
    // Demoted to Public, the socket's events are refused (FORBIDDEN, no uid) instead of sent:
    // the messages and membership changes of those seconds come by reading again.
    let mut rig = Rig::new();
    rig.online(&[1, 2]);
    rig.s.take_fresh();
    assert!(rig.rooms_live.is_string(), "subscribed to the memberships");
    let reauth = rig.token_expired();
    for _ in 0..2 {
        rig.frame(json!({"type":"subscribe","status":"error","error":{"code":"FORBIDDEN"}}));
    }
    assert_eq!(rig.s.notice(), None, "no alarm for the refused events");
    let sent = rig.auth_ok(&reauth, "r2");
    let read = find_uid(&sent, "catch-up").expect("a catch-up read");
    assert_eq!(read["query"]["filter"]["id"]["_gt"], 2);
    let sent = frames(&rig.frame(json!({"type":"items","data":[msg(3)],"uid":read["uid"]})));
    let rooms = find_uid(&sent, "rooms").expect("the memberships asked for again");
    assert_eq!(rooms["type"], "subscribe");
    assert_eq!(ids(&rig.s), [1, 2, 3]);
    assert_eq!(rig.s.take_fresh(), [3]);
}

#[test]
fn authors_missing_in_the_token_expiry_window_are_read_again() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let reauth = rig.token_expired();
    // Demoted to Public, the socket still gets events, read without the right to see users.
    let mut anonymous = msg(2);
    anonymous["user_created"] = Value::Null;
    rig.frame(json!({"type":"subscription","event":"create","data":[anonymous]}));
    assert!(rig.s.author_pending(2));
    let sent = rig.back_after_expiry(&reauth, "r2", vec![]);
    let resolve = find_uid(&sent, "resolve").expect("asks again");
    assert_eq!(resolve["query"]["filter"]["id"]["_in"], json!([2]));
    rig.frame(json!({"type":"items","data":[msg(2)],"uid":resolve["uid"]}));
    assert!(!rig.s.author_pending(2));
    assert_eq!(author_of(&rig.s, 2), Some("Alice"));
    // A later copy without the name does not erase it.
    let mut worse = msg(2);
    worse["user_created"] = json!("u-alice");
    rig.frame(json!({"type":"subscription","event":"update","data":[worse]}));
    assert_eq!(author_of(&rig.s, 2), Some("Alice"));
}

#[test]
fn with_tabs_sharing_the_token_an_expiry_reconnects_to_take_its_turn() {
    // In the browser, handshakes with the shared refresh token take turns (the edge's Web Lock,
    // taken when a socket opens, reading the stored token first). Re-authenticating on the live
    // socket would skip both: two tabs expiring together would send one token at once.
    let mut rig = Rig::new();
    rig.s = Session::new(42).shares_token_with_tabs();
    rig.online(&[1]);
    let effects = rig.frame(json!({"type":"auth","status":"error",
        "error":{"code":"TOKEN_EXPIRED","message":"Token expired."}}));
    assert!(effects.contains(&Effect::Disconnect));
    assert!(effects.contains(&Effect::Connect("ws://127.0.0.1:8055/websocket".into())));
    assert!(
        !frames(&effects).iter().any(|f| f["type"] == "auth"),
        "no handshake on the old socket"
    );
    // The new socket authenticates with the rotated token.
    let auth = only(&rig.s.opened(rig.now));
    assert_eq!(auth["refresh_token"], "r1");
}

#[test]
fn a_reply_read_just_as_the_token_expired_is_asked_for_again() {
    // Directus notices the expiry on a timer: a reply can lack the author's name before
    // TOKEN_EXPIRED arrives. While that read is refused, it is asked again after re-auth.
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("edge", rig.now).unwrap());
    let mut stored = msg(5);
    stored["client_key"] = create["data"]["client_key"].clone();
    stored["user_created"] = Value::Null;
    let sent = frames(&rig.frame(json!({"type":"items","data":stored,"uid":create["uid"]})));
    assert!(rig.s.author_pending(5));
    let resolve = find_uid(&sent, "resolve").unwrap();
    rig.frame(
        json!({"type":"items","status":"error","uid":resolve["uid"],"error":{"code":"FORBIDDEN"}}),
    );
    assert!(rig.s.author_pending(5));
    assert_eq!(rig.s.notice(), None, "no alarm for a refused re-read");
    let reauth = rig.token_expired();
    let sent = rig.back_after_expiry(&reauth, "r2", vec![]);
    let again = find_uid(&sent, "resolve").expect("asked again");
    rig.frame(json!({"type":"items","data":[msg(5)],"uid":again["uid"]}));
    assert_eq!(author_of(&rig.s, 5), Some("Alice"));
}

#[test]
fn forbidden_create_is_shown_not_retried() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("nope", rig.now).unwrap());
    rig.frame(json!({"type":"items","status":"error","uid":create["uid"],"error":{"code":"FORBIDDEN","message":"You don't have permission to access this."}}));
    assert!(
        matches!(&rig.s.outbox()[0].state, OutgoingState::Failed(why) if why.contains("permission"))
    );
    assert!(rig.s.notice().unwrap().contains("refused"));
    let later = frames(&rig.advance(REQUEST_TIMEOUT * 2));
    assert!(find(&later, "items", Some("create")).is_none(), "{later:?}");
}

#[test]
fn rate_limited_requests_are_sent_again_after_the_wait() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("busy", rig.now).unwrap());
    // REQUESTS_EXCEEDED carries no uid: every unanswered request goes again.
    assert!(rig.frame(json!({"type":"server","status":"error","error":{"code":"REQUESTS_EXCEEDED","message":"Too many requests, retry after 300ms."}})).is_empty());
    assert!(rig.advance(Duration::from_millis(200)).is_empty());
    let again = only(&rig.advance(Duration::from_millis(200)));
    assert_eq!(again, create);
}

#[test]
fn unanswered_requests_time_out_and_go_again() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let create = only(&rig.s.send("slow", rig.now).unwrap());
    rig.frame(json!({"type":"ping"}));
    let again = frames(&rig.advance(REQUEST_TIMEOUT));
    assert!(again.contains(&create), "{again:?}");
}

#[test]
fn heartbeats_are_answered_and_a_silent_socket_is_replaced() {
    let mut rig = Rig::new();
    rig.online(&[]);
    assert_eq!(only(&rig.frame(json!({"type":"ping"})))["type"], "pong");
    let ping = only(&rig.advance(PING_AFTER));
    assert_eq!(ping["type"], "ping");
    rig.frame(json!({"type":"pong","uid":ping["uid"]}));
    assert_eq!(rig.s.phase(), Phase::Online);
    // Now nobody answers.
    let ping = only(&rig.advance(PING_AFTER));
    assert_eq!(ping["type"], "ping");
    let effects = rig.advance(PONG_TIMEOUT);
    assert_eq!(effects, [Effect::Disconnect]);
    assert!(matches!(rig.s.phase(), Phase::Reconnecting { .. }));
}

#[test]
fn backoff_grows_with_jitter_and_retry_now_skips_it() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let mut waits = Vec::new();
    for _ in 0..8 {
        rig.s.closed("down", rig.now);
        let Phase::Reconnecting { at } = rig.s.phase() else {
            panic!()
        };
        waits.push(at - rig.now);
        rig.advance(at - rig.now);
        rig.s.opened(rig.now); // opens, but the server never answers auth: closes again
    }
    for (n, wait) in waits.iter().enumerate() {
        let base = BACKOFF_FIRST.saturating_mul(1 << n).min(BACKOFF_MAX);
        assert!(
            *wait >= base.mul_f64(0.74) && *wait <= base.mul_f64(1.26),
            "attempt {n}: {wait:?} vs {base:?}"
        );
    }
    rig.s.closed("down", rig.now);
    assert_eq!(
        rig.s.retry_now(rig.now),
        [Effect::Connect("ws://127.0.0.1:8055/websocket".into())]
    );
}

#[test]
fn wrong_password_and_unreachable_server_end_on_the_login_panel() {
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "wrong", rig.now);
    rig.s.opened(rig.now);
    let effects = rig.frame(json!({"type":"auth","status":"error","error":{"code":"AUTH_FAILED","message":"Invalid user credentials."}}));
    assert!(effects.contains(&Effect::Disconnect));
    assert_eq!(rig.s.phase(), Phase::LoggedOut);
    assert_eq!(rig.s.error(), Some("Wrong email or password."));

    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    rig.s.closed(
        "Connect: IO error: Connection refused (os error 111)",
        rig.now,
    );
    assert_eq!(rig.s.phase(), Phase::LoggedOut);
    assert!(
        rig.s
            .error()
            .unwrap()
            .starts_with("Cannot reach the server"),
        "{:?}",
        rig.s.error()
    );

    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    rig.advance(CONNECT_TIMEOUT);
    assert_eq!(rig.s.phase(), Phase::LoggedOut);
    assert!(rig.s.error().unwrap().contains("did not answer"));
}

#[test]
fn a_refused_refresh_token_falls_back_to_the_password_held_in_memory() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let auth = rig.reconnect();
    assert_eq!(auth["refresh_token"], "r1");
    // Rotated on the server, but that reply was lost: the token is dead.
    let effects = rig.frame(json!({"type":"auth","status":"error","error":{"code":"AUTH_FAILED"}}));
    assert!(effects.contains(&Effect::ForgetSession));
    assert!(effects.contains(&Effect::Connect("ws://127.0.0.1:8055/websocket".into())));
    let auth = only(&rig.s.opened(rig.now));
    assert_eq!(auth["password"], "pw");
}

#[test]
fn a_stored_session_resumes_and_an_expired_one_asks_to_log_in() {
    let mut rig = Rig::new();
    rig.s.resume(server(), None, "stored", Vec::new(), rig.now);
    let auth = only(&rig.s.opened(rig.now));
    assert_eq!(auth["refresh_token"], "stored");
    let effects = rig.frame(json!({"type":"auth","status":"error","error":{"code":"AUTH_FAILED"}}));
    assert!(effects.contains(&Effect::ForgetSession));
    assert_eq!(rig.s.phase(), Phase::LoggedOut);
    assert!(rig.s.error().unwrap().contains("log in again"));
}

#[test]
fn logout_closes_revokes_the_newest_token_and_forgets() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    let auth = rig.reconnect();
    let sent = rig.auth_ok(&auth, "r2");
    rig.sync(&sent[0], vec![]);
    let effects = rig.s.logout(rig.now);
    assert_eq!(
        effects,
        [
            Effect::Disconnect,
            Effect::RevokeRefreshToken {
                http: "http://127.0.0.1:8055".into(),
                email: Some("alice@example.com".into()),
                refresh_token: "r2".into()
            },
            Effect::ForgetSession,
        ]
    );
    assert_eq!(rig.s.phase(), Phase::LoggedOut);
    assert!(rig.s.timeline().is_empty());
    assert!(rig.s.refresh_token().is_none());
    // Late frames of the old socket change nothing.
    assert!(
        rig.frame(json!({"type":"subscription","event":"create","data":[msg(7)]}))
            .is_empty()
    );
    assert!(rig.s.timeline().is_empty());
}
