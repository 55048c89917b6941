//! The REST token: asked of the socket once, when online, kept until shortly before it
//! expires, asked again after; a server without the hook says so instead of being asked
//! forever; a late or foreign answer is not taken, and nothing survives a logout.

use std::time::Duration;

use serde_json::{Value, json};

use super::session::RestAccess;
use super::session_tests::*;
use super::window_tests::alice;

fn ask(rig: &mut Rig) -> (RestAccess, Vec<Value>) {
    let (access, effects) = rig.s.rest_access(rig.now);
    (access, frames(&effects))
}

fn grant(rig: &mut Rig, ask: &Value, token: &str, lasts: u64) {
    let effects = rig.frame(json!({"type":"chat-access","status":"ok","uid":ask["uid"],
        "access_token":token,"expires_in":lasts,"expires_at":0}));
    assert!(effects.is_empty());
}

#[test]
fn the_token_is_asked_once_and_kept_until_shortly_before_it_expires() {
    let mut rig = alice();
    let (access, sent) = ask(&mut rig);
    assert_eq!(access, RestAccess::Waiting);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "chat-access");
    // Asked again before the answer: not a second time.
    assert_eq!(ask(&mut rig), (RestAccess::Waiting, vec![]));
    grant(&mut rig, &sent[0], "t1", 900);
    assert_eq!(ask(&mut rig), (RestAccess::Ready("t1".into()), vec![]));
    // Used until shortly before it expires; then not asked of the same authentication again
    // (it would give the same expiry), only after the socket's renewal.
    rig.advance(Duration::from_secs(890));
    assert_eq!(ask(&mut rig).0, RestAccess::Ready("t1".into()));
    rig.advance(Duration::from_secs(6));
    assert_eq!(ask(&mut rig), (RestAccess::Waiting, vec![]));
    let reauth = rig.token_expired();
    rig.back_after_expiry(&reauth, "r2", vec![]);
    let (access, again) = ask(&mut rig);
    assert_eq!(access, RestAccess::Waiting);
    assert_eq!(again.len(), 1, "asked once renewed: {again:?}");
    grant(&mut rig, &again[0], "t2", 900);
    assert_eq!(ask(&mut rig).0, RestAccess::Ready("t2".into()));
    // A 401 from the server: dropped, and asked for anew, once; a second means this session's
    // access is dead (no loop of asks and uploads), until the socket is renewed.
    rig.s.rest_access_refused();
    let (_, again) = ask(&mut rig);
    assert_eq!(again.len(), 1);
    grant(&mut rig, &again[0], "t3", 900);
    rig.s.rest_access_refused();
    assert!(matches!(ask(&mut rig), (RestAccess::Unavailable(_), e) if e.is_empty()));
    let reauth = rig.token_expired();
    rig.back_after_expiry(&reauth, "r3", vec![]);
    assert_eq!(ask(&mut rig).1.len(), 1);
}

#[test]
fn a_server_that_does_not_answer_is_not_asked_forever() {
    let mut rig = alice();
    let (_, sent) = ask(&mut rig);
    assert_eq!(sent.len(), 1);
    // Nothing comes: not sent again, and the app is told why.
    let later = frames(&rig.advance(Duration::from_secs(11)));
    assert!(find_uid(&later, "access").is_none(), "{later:?}");
    match ask(&mut rig) {
        (RestAccess::Unavailable(why), effects) => {
            assert!(why.contains("extension"), "{why}");
            assert!(effects.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // An answer that comes after all, or one never asked for, is not taken.
    grant(&mut rig, &sent[0], "late", 900);
    grant(&mut rig, &json!({"uid":"access-999"}), "forged", 900);
    assert!(matches!(ask(&mut rig).0, RestAccess::Unavailable(_)));
    // The next authentication asks again (it may only have been slow).
    let reauth = rig.token_expired();
    rig.back_after_expiry(&reauth, "r2", vec![]);
    assert_eq!(ask(&mut rig).1.len(), 1);
}

#[test]
fn a_refusal_is_said_and_nothing_is_asked_while_offline_or_kept_after_logout() {
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    assert_eq!(ask(&mut rig), (RestAccess::Waiting, vec![]), "not online");

    let mut rig = alice();
    let (_, sent) = ask(&mut rig);
    rig.frame(
        json!({"type":"chat-access","status":"error","uid":sent[0]["uid"],
        "error":{"code":"FORBIDDEN","message":"Authenticate the socket first."}}),
    );
    match ask(&mut rig).0 {
        RestAccess::Unavailable(why) => assert!(why.contains("refused"), "{why}"),
        other => panic!("{other:?}"),
    }
    let reauth = rig.token_expired();
    rig.back_after_expiry(&reauth, "r2", vec![]);
    assert_eq!(ask(&mut rig).1.len(), 1, "asked again once renewed");

    let mut rig = alice();
    let (_, sent) = ask(&mut rig);
    grant(&mut rig, &sent[0], "t1", 900);
    rig.s.logout(rig.now);
    assert_eq!(ask(&mut rig).0, RestAccess::Waiting);
}
