//! Files sent with a message: each uploaded under an id chosen here once the REST token is
//! held, the message created (with the files' ids) only when all are stored; a passing failure
//! is retried, a refusal waits for the user, Cancel removes what was stored, a file over the
//! limit is refused before anything is sent.

use std::time::Duration;

use serde_json::{Value, json};

use super::session::{Effect, FileSource, NewFile, UploadOutcome};
use super::session_tests::*;
use super::window_tests::alice;

fn file(name: &str, size: u64) -> NewFile {
    NewFile {
        name: name.into(),
        mime: "image/png".into(),
        size,
        source: FileSource::Path(format!("/tmp/{name}")),
    }
}

/// The uploads among `effects`: (file id, room).
fn uploads(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Upload {
                id, room, token, ..
            } => {
                assert_eq!(token, "t1");
                Some((id.clone(), room.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Alice online with the REST token `t1` held.
fn with_token() -> Rig {
    let mut rig = alice();
    let (_, asked) = rig.s.rest_access(rig.now);
    let ask = only(&asked);
    rig.frame(json!({"type":"chat-access","status":"ok","uid":ask["uid"],
        "access_token":"t1","expires_in":900}));
    rig
}

fn creates(effects: &[Effect]) -> Vec<Value> {
    frames(effects)
        .into_iter()
        .filter(|f| f["action"] == "create")
        .collect()
}

#[test]
fn a_post_goes_out_once_all_its_files_are_stored() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("look", vec![file("a.png", 10), file("b.png", 20)], rig.now)
        .unwrap();
    let sent = uploads(&effects);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(_, room)| room == "r-general"), "{sent:?}");
    assert_ne!(sent[0].0, sent[1].0, "each file its own id");
    assert!(creates(&effects).is_empty(), "no message before its files");
    rig.s.upload_progress(&sent[0].0, 5);
    assert_eq!(rig.s.posts()[0].progress(), (5, 30));

    let after_one = rig
        .s
        .upload_finished(&sent[0].0, UploadOutcome::Stored, rig.now);
    assert!(creates(&after_one).is_empty());
    let after_both = rig
        .s
        .upload_finished(&sent[1].0, UploadOutcome::Stored, rig.now);
    let create = creates(&after_both);
    assert_eq!(create.len(), 1, "{after_both:?}");
    assert_eq!(create[0]["data"]["content"], "look");
    assert_eq!(
        create[0]["data"]["files"],
        json!([sent[0].0.clone(), sent[1].0.clone()])
    );
    assert!(rig.s.posts().is_empty());
    // A late word about a file of a post already sent changes nothing.
    let late = rig
        .s
        .upload_finished(&sent[0].0, UploadOutcome::Passing("x".into()), rig.now);
    assert!(uploads(&late).is_empty() && creates(&late).is_empty());
}

#[test]
fn a_passing_failure_is_retried_and_a_refusal_waits_for_the_user() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("", vec![file("a.png", 10)], rig.now)
        .unwrap();
    let (id, _) = uploads(&effects).remove(0);
    let failed = rig
        .s
        .upload_finished(&id, UploadOutcome::Passing("reset".into()), rig.now);
    assert!(uploads(&failed).is_empty(), "not at once");
    let again = rig.advance(Duration::from_secs(2));
    assert_eq!(
        uploads(&again),
        [(id.clone(), "r-general".into())],
        "the same id"
    );

    let refused = "The server refused the file: Uploaded content is too large.";
    rig.s
        .upload_finished(&id, UploadOutcome::Refused(refused.into()), rig.now);
    assert_eq!(rig.s.posts()[0].failed(), Some(refused));
    assert!(
        uploads(&rig.advance(Duration::from_secs(120))).is_empty(),
        "waits"
    );
    let key = rig.s.posts()[0].client_key.clone();
    let retried = rig.s.retry_post(&key, rig.now);
    assert_eq!(uploads(&retried).len(), 1);
    // Cancel: what may have been stored is removed, and nothing is sent.
    let cancelled = rig.s.cancel_post(&key, rig.now);
    assert!(
        matches!(
            cancelled.as_slice(),
            [Effect::DropUpload { id: dropped, token: Some(t), .. }] if *dropped == id && t == "t1"
        ),
        "{cancelled:?}"
    );
    assert!(rig.s.posts().is_empty());
    let stored_anyway = rig.s.upload_finished(&id, UploadOutcome::Stored, rig.now);
    assert!(matches!(
        stored_anyway.as_slice(),
        [Effect::DropUpload { .. }]
    ));
    assert!(creates(&stored_anyway).is_empty());
}

#[test]
fn too_large_or_too_many_files_are_refused_before_anything_is_sent() {
    let mut rig = with_token();
    let big = rig
        .s
        .send_files("", vec![file("big.bin", 25 * 1024 * 1024 + 1)], rig.now)
        .unwrap_err();
    assert!(big.contains("big.bin") && big.contains("25 MiB"), "{big}");
    let many: Vec<NewFile> = (0..11).map(|i| file(&format!("{i}.png"), 1)).collect();
    assert!(rig.s.send_files("", many, rig.now).is_err());
    assert!(rig.s.posts().is_empty());
}

#[test]
fn uploads_wait_for_the_token_and_the_connection() {
    let mut rig = alice();
    let effects = rig
        .s
        .send_files("hi", vec![file("a.png", 1)], rig.now)
        .unwrap();
    assert!(uploads(&effects).is_empty(), "no token yet");
    let ask = frames(&effects)
        .into_iter()
        .find(|f| f["type"] == "chat-access")
        .expect("the token asked for");
    let granted = rig.frame(json!({"type":"chat-access","status":"ok","uid":ask["uid"],
        "access_token":"t1","expires_in":900}));
    assert_eq!(uploads(&granted).len(), 1, "sent once the token came");
}

#[test]
fn what_may_be_stored_is_removed_when_the_user_gives_up() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("", vec![file("a.png", 10)], rig.now)
        .unwrap();
    let (id, _) = uploads(&effects).remove(0);
    // The answer was lost: the copy may be on the server while the upload waits to retry.
    rig.s
        .upload_finished(&id, UploadOutcome::Passing("reset".into()), rig.now);
    let key = rig.s.posts()[0].client_key.clone();
    let cancelled = rig.s.cancel_post(&key, rig.now);
    assert!(
        matches!(cancelled.as_slice(), [Effect::DropUpload { id: dropped, .. }] if *dropped == id),
        "{cancelled:?}"
    );
    // A message refused for good with its files: discarding it removes them.
    let effects = rig
        .s
        .send_files("x", vec![file("b.png", 10)], rig.now)
        .unwrap();
    let (id, _) = uploads(&effects).remove(0);
    let after = rig.s.upload_finished(&id, UploadOutcome::Stored, rig.now);
    let create = creates(&after).remove(0);
    rig.frame(json!({"type":"items","status":"error","uid":create["uid"],
        "error":{"code":"FORBIDDEN","message":"no"}}));
    let key = create["data"]["client_key"].as_str().unwrap().to_owned();
    let discarded = rig.s.discard(&key, rig.now);
    assert!(
        matches!(discarded.as_slice(), [Effect::DropUpload { id: dropped, .. }] if *dropped == id),
        "{discarded:?}"
    );
}

#[test]
fn the_server_refusing_tokens_twice_stops_the_uploads_instead_of_looping() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("", vec![file("a.png", 10)], rig.now)
        .unwrap();
    let (id, _) = uploads(&effects).remove(0);
    let after = rig
        .s
        .upload_finished(&id, UploadOutcome::Unauthorized, rig.now);
    assert!(uploads(&after).is_empty());
    let asked = frames(&rig.advance(Duration::from_secs(2)));
    let ask = asked
        .iter()
        .find(|f| f["type"] == "chat-access")
        .expect("asked anew");
    rig.frame(json!({"type":"chat-access","status":"ok","uid":ask["uid"],
        "access_token":"t1","expires_in":900}));
    rig.advance(Duration::from_secs(5));
    rig.s
        .upload_finished(&id, UploadOutcome::Unauthorized, rig.now);
    let later = rig.advance(Duration::from_secs(10));
    assert!(uploads(&later).is_empty(), "no loop");
    assert!(frames(&later).iter().all(|f| f["type"] != "chat-access"));
    assert!(rig.s.posts()[0].failed().is_some(), "said, with Retry");
}

#[test]
fn a_post_outlives_a_restart_and_its_files_go_up_again_under_the_same_ids() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("look", vec![file("a.png", 10), file("b.png", 20)], rig.now)
        .unwrap();
    let sent = uploads(&effects);
    rig.s
        .upload_finished(&sent[0].0, UploadOutcome::Stored, rig.now);
    let (_, outbox) = super::stored_tests::stored(&mut rig).expect("stored with its files");
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let files: Vec<_> = outbox[0]
        .uploads
        .iter()
        .map(|u| (u.id.as_str(), u.path.as_str(), u.size, u.stored))
        .collect();
    assert_eq!(
        files,
        [
            (sent[0].0.as_str(), "/tmp/a.png", 10, true),
            (sent[1].0.as_str(), "/tmp/b.png", 20, false)
        ]
    );
    // Progress is not worth a write.
    rig.s.upload_progress(&sent[1].0, 5);
    assert_eq!(super::stored_tests::stored(&mut rig), None);

    // The app starts again: the post is back, and once online with a token the file not yet
    // stored goes up under its id (a copy that got through is refused as a duplicate).
    let mut after = super::session_tests::Rig::known();
    after
        .s
        .restore(server(), Some("alice@example.com".into()), outbox);
    assert_eq!(after.s.posts().len(), 1);
    after
        .s
        .login(server(), "alice@example.com", "pw", after.now);
    let auth = only(&after.s.opened(after.now));
    let online = after.auth_ok(&auth, "r1");
    let ask = online
        .iter()
        .find(|f| f["type"] == "chat-access")
        .expect("the token asked for")
        .clone();
    let granted = after.frame(json!({"type":"chat-access","status":"ok","uid":ask["uid"],
        "access_token":"t1","expires_in":900}));
    assert_eq!(uploads(&granted), [(sent[1].0.clone(), "r-general".into())]);
    let done = after
        .s
        .upload_finished(&sent[1].0, UploadOutcome::Stored, after.now);
    let create = creates(&done);
    assert_eq!(create.len(), 1, "{done:?}");
    assert_eq!(
        create[0]["data"]["client_key"],
        json!(after.s.outbox()[0].client_key)
    );
    assert_eq!(
        create[0]["data"]["files"],
        json!([sent[0].0.clone(), sent[1].0.clone()])
    );
}

#[test]
fn a_post_held_only_in_memory_is_not_stored_and_is_counted() {
    let mut rig = with_token();
    let pasted = NewFile {
        source: FileSource::Bytes(vec![1, 2, 3].into()),
        ..file("pasted.png", 3)
    };
    rig.s.send_files("", vec![pasted], rig.now).unwrap();
    assert_eq!(rig.s.posts_held_in_memory(), 1);
    let outbox = super::stored_tests::stored(&mut rig).map(|(_, o)| o);
    assert!(outbox.unwrap_or_default().is_empty());
}

#[test]
fn a_refused_file_stays_refused_across_a_restart() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("big", vec![file("a.png", 10)], rig.now)
        .unwrap();
    let id = uploads(&effects)[0].0.clone();
    rig.s.upload_finished(
        &id,
        UploadOutcome::Refused("The server refused the file: too large".into()),
        rig.now,
    );
    let (_, outbox) = super::stored_tests::stored(&mut rig).expect("stored");
    assert_eq!(
        outbox[0].uploads[0].failed.as_deref(),
        Some("The server refused the file: too large")
    );
    let mut after = super::session_tests::Rig::known();
    after
        .s
        .restore(server(), Some("alice@example.com".into()), outbox);
    assert_eq!(
        after.s.posts()[0].failed(),
        Some("The server refused the file: too large"),
        "waits for Retry or Cancel, not sent again by itself"
    );
}

#[test]
fn another_accounts_post_waits_for_it_and_is_counted_on_the_login_panel() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("hers", vec![file("a.png", 10)], rig.now)
        .unwrap();
    assert_eq!(uploads(&effects).len(), 1);
    let (_, outbox) = super::stored_tests::stored(&mut rig).expect("stored");
    let mut after = super::session_tests::Rig::known();
    after.s.restore(server(), None, outbox);
    let owner = after.s.posts()[0].owner.clone();
    assert!(
        owner
            .as_deref()
            .is_some_and(|o| o.starts_with("alice@example.com"))
    );
    assert_eq!(after.s.unsent_by_owner(), [(owner, 1)]);
    after.s.login(server(), "bob@example.com", "pw", after.now);
    assert!(
        !after.s.posts_as(&after.s.posts()[0]),
        "Bob does not own it"
    );
    let auth = only(&after.s.opened(after.now));
    let sent = after.auth_ok(&auth, "r-bob");
    assert!(
        !sent.iter().any(|f| f["type"] == "chat-access"),
        "nothing of hers goes up as Bob: {sent:?}"
    );
}

#[test]
fn an_upload_that_cannot_go_offline_does_not_keep_the_app_awake() {
    let mut rig = with_token();
    let effects = rig
        .s
        .send_files("x", vec![file("a.png", 10)], rig.now)
        .unwrap();
    let id = uploads(&effects)[0].0.clone();
    rig.s
        .upload_finished(&id, UploadOutcome::Passing("reset".into()), rig.now);
    rig.s.closed("connection reset", rig.now);
    // The server stays away: each try to reconnect fails, and the next waits longer.
    for _ in 0..4 {
        let super::session::Phase::Reconnecting { at } = rig.s.phase() else {
            panic!("{:?}", rig.s.phase())
        };
        rig.now = at;
        rig.s.tick(rig.now);
        rig.s.closed("connection refused", rig.now);
    }
    // Long past the upload's retry time, still offline: the next wake-up (the reconnect,
    // the server's probe) is never one already due.
    let next = rig.s.next_deadline().expect("the reconnect");
    assert!(
        next > rig.now,
        "due already: the app would repaint every frame"
    );
}

#[test]
fn another_accounts_post_is_neither_cancelled_nor_retried_as_this_one() {
    let mut rig = with_token();
    rig.s
        .send_files("hers", vec![file("a.png", 10)], rig.now)
        .unwrap();
    let (_, outbox) = super::stored_tests::stored(&mut rig).expect("stored");
    let mut after = super::session_tests::Rig::known();
    after.s.restore(server(), None, outbox);
    after.s.login(server(), "bob@example.com", "pw", after.now);
    let key = after.s.posts()[0].client_key.clone();
    assert!(after.s.retry_post(&key, after.now).is_empty());
    assert!(
        after.s.cancel_post(&key, after.now).is_empty(),
        "no delete of her files under Bob's token"
    );
    assert_eq!(after.s.posts().len(), 1, "hers waits for her");
}
