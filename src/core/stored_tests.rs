//! What the session asks to store: the newest refresh token and the unsent messages, kept
//! through restarts and refused tokens, dropped once confirmed.

use serde_json::json;

use super::session::*;
use super::session_tests::*;

/// What `persist` asks to store now: (token, contents of the unsent messages).
pub(super) fn stored(rig: &mut Rig) -> Option<(Option<String>, Vec<Unsent>)> {
    match rig.s.persist() {
        Some(Effect::SaveSession {
            refresh_token,
            outbox,
            ..
        }) => Some((refresh_token, outbox)),
        other => {
            assert!(other.is_none(), "{other:?}");
            None
        }
    }
}

#[test]
fn a_message_typed_offline_is_stored_at_once_and_dropped_from_storage_when_confirmed() {
    let mut rig = Rig::new();
    rig.online(&[1]);
    assert_eq!(
        stored(&mut rig),
        None,
        "nothing changed since the token was stored"
    );
    rig.s.closed("reset", rig.now);
    rig.s.send("typed offline", rig.now).unwrap();
    let (token, outbox) = stored(&mut rig).expect("stored when typed");
    assert_eq!(token.as_deref(), Some("r1"));
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].content, "typed offline");
    assert_eq!(stored(&mut rig), None, "not stored twice");
    // Back online, sent and confirmed: the stored outbox empties.
    let Phase::Reconnecting { at } = rig.s.phase() else {
        panic!()
    };
    rig.advance(at - rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r2");
    let create = find(&sent, "items", Some("create")).unwrap().clone();
    let mut row = msg(2);
    row["client_key"] = create["data"]["client_key"].clone();
    rig.frame(json!({"type":"items","data":row,"uid":create["uid"]}));
    let (token, outbox) = stored(&mut rig).expect("stored when confirmed");
    assert_eq!((token.as_deref(), outbox.len()), (Some("r2"), 0));
}

#[test]
fn unsent_messages_from_the_last_run_go_out_once_with_their_old_keys() {
    // The app died with "b" in flight (Directus had stored it as id 2) and "c" queued.
    let unsent = vec![
        Unsent {
            client_key: "k-b".into(),
            content: "b".into(),
            failed: None,
            owner: None,
            room: None,
            files: Vec::new(),
            uploads: Vec::new(),
        },
        Unsent {
            client_key: "k-c".into(),
            content: "c".into(),
            failed: None,
            owner: None,
            room: None,
            files: Vec::new(),
            uploads: Vec::new(),
        },
    ];
    let mut rig = Rig::new();
    rig.s.resume(server(), None, "stored", unsent, rig.now);
    assert_eq!(
        rig.s.outbox().len(),
        2,
        "shown as pending before connecting"
    );
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r2");
    // "b" goes first, with its stored key, as soon as the socket is authenticated.
    let create_b = find(&sent, "items", Some("create")).expect("b sent");
    assert_eq!(create_b["data"]["client_key"], "k-b");
    assert_eq!(create_b["data"]["content"], "b");
    rig.sync(&sent[0], vec![msg(1)]);
    // Directus refuses the duplicate (no uid); the session looks it up instead of posting.
    let lookup = only(&rig.frame(json!({"type":"items","status":"error",
        "error":{"code":"RECORD_NOT_UNIQUE","message":"Value has to be unique."}})));
    assert_eq!(
        lookup["query"]["filter"]["_and"][0]["client_key"]["_eq"],
        "k-b"
    );
    let mut b = msg(2);
    b["client_key"] = json!("k-b");
    let next = frames(&rig.frame(json!({"type":"items","data":[b],"uid":lookup["uid"]})));
    let create_c = find(&next, "items", Some("create")).expect("then c");
    assert_eq!(create_c["data"]["client_key"], "k-c");
    assert_eq!(create_c["data"]["content"], "c");
    assert_eq!(ids(&rig.s), [1, 2]);
}

#[test]
fn unsent_messages_outlive_a_refused_token_and_go_out_after_the_next_login() {
    let mut rig = Rig::new();
    let unsent = vec![Unsent {
        client_key: "k-a".into(),
        content: "kept".into(),
        failed: None,
        owner: None,
        room: None,
        files: Vec::new(),
        uploads: Vec::new(),
    }];
    rig.s.resume(server(), None, "stale", unsent, rig.now);
    stored(&mut rig);
    let auth = only(&rig.s.opened(rig.now));
    assert_eq!(auth["refresh_token"], "stale");
    let effects = rig.frame(json!({"type":"auth","status":"error","error":{"code":"AUTH_FAILED"}}));
    assert!(effects.contains(&Effect::ForgetSession));
    let (token, outbox) = stored(&mut rig).expect("stored again, without the token");
    assert_eq!((token, outbox.len()), (None, 1));
    // Same server, a password login: the message is still there and goes out.
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    assert_eq!(rig.s.outbox().len(), 1);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    let create = find(&sent, "items", Some("create")).expect("sent after login");
    assert_eq!(create["data"]["client_key"], "k-a");
}
