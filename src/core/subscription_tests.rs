//! Which subscription a frame belongs to: the messages one, the profile's, or a stale one
//! (refusals of the profile never read as "live updates refused", answers that come late),
//! and who the user is.

use serde_json::{Value, json};

use super::session_tests::*;

/// Logged in with history; returns the profile subscribe frame the session sent.
fn asking_profile(rig: &mut Rig) -> Value {
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r1");
    rig.live = sent[0]["uid"].clone();
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":rig.live})));
    let sent = frames(&rig.frame(json!({"type":"items","data":[msg(1)],"uid":read["uid"]})));
    rig.answer_rooms(&sent);
    let profile = find_uid(&sent, "profile").unwrap().clone();
    assert_eq!(profile["collection"], "directus_users");
    profile
}

fn forbidden(kind: &str, uid: &Value) -> Value {
    let mut frame =
        json!({"type":kind,"status":"error","error":{"code":"FORBIDDEN","message":"no"}});
    if !uid.is_null() {
        frame["uid"] = uid.clone();
    }
    frame
}

#[test]
fn a_profile_refused_twice_never_says_live_updates_were_refused() {
    let mut rig = Rig::new();
    let profile = asking_profile(&mut rig);
    let own = only(&rig.frame(forbidden("subscribe", &profile["uid"])));
    assert!(own["uid"].as_str().unwrap().starts_with("own-latest"));
    // The same subscribe had been sent twice (unanswered for a while): a second refusal.
    assert!(
        rig.frame(forbidden("subscribe", &profile["uid"]))
            .is_empty()
    );
    assert_eq!(rig.s.notice(), None);
}

#[test]
fn a_refusal_without_a_uid_while_only_the_profile_waits_is_the_profiles() {
    let mut rig = Rig::new();
    asking_profile(&mut rig);
    let own = only(&rig.frame(forbidden("subscribe", &Value::Null)));
    assert!(own["uid"].as_str().unwrap().starts_with("own-latest"));
    assert_eq!(rig.s.notice(), None);
    rig.frame(json!({"type":"items","data":[],"uid":own["uid"]}));
    assert!(rig.s.identity_settled());
}

#[test]
fn a_profile_answered_as_a_read_or_refused_as_one_falls_back() {
    for answer in ["items", "error"] {
        let mut rig = Rig::new();
        let profile = asking_profile(&mut rig);
        let frame = match answer {
            "items" => json!({"type":"items","data":[],"uid":profile["uid"]}),
            _ => forbidden("items", &profile["uid"]),
        };
        let own = only(&rig.frame(frame));
        assert!(
            own["uid"].as_str().unwrap().starts_with("own-latest"),
            "{answer}: {own}"
        );
    }
}

#[test]
fn a_profile_answer_after_token_expired_is_stale_and_the_profile_is_asked_again() {
    let mut rig = Rig::new();
    let first = asking_profile(&mut rig);
    let reauth = rig.token_expired();
    let again = rig.back_after_expiry(&reauth, "r2", vec![]);
    let second = find(&again, "subscribe", None)
        .expect("asked again")
        .clone();
    assert_eq!(second["collection"], "directus_users");
    assert_ne!(second["uid"], first["uid"]);
    // The first answer arrives late: its subscription is ended, nothing is learned from it.
    let late = json!({"type":"subscription","event":"init","uid":first["uid"],
                      "data":[{"id":"u-alice","first_name":"Alice"}]});
    assert_eq!(
        only(&rig.frame(late)),
        json!({"type":"unsubscribe","uid":first["uid"]})
    );
    assert_eq!(ids(&rig.s), [1]);
    rig.frame(
        json!({"type":"subscription","event":"init","uid":second["uid"],
                     "data":[{"id":"u-alice","first_name":"Alice"}]}),
    );
    assert_eq!(rig.s.display_name(), Some("Alice"));
}

#[test]
fn a_stale_messages_subscription_is_ended_and_its_events_count_once() {
    let mut rig = Rig::new();
    rig.s.login(server(), "alice@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let first = rig.auth_ok(&auth, "r1")[0].clone();
    // Demoted before the subscribe was answered: it is sent again after auth ok.
    let reauth = rig.token_expired();
    let second = find(&rig.auth_ok(&reauth, "r2"), "subscribe", None)
        .unwrap()
        .clone();
    assert_ne!(second["uid"], first["uid"]);
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":second["uid"]})));
    assert_eq!(read["action"], "read");
    // Both subscriptions exist on the server: the first one's init ends it, reads nothing.
    assert_eq!(
        only(&rig.frame(json!({"type":"subscription","event":"init","uid":first["uid"]}))),
        json!({"type":"unsubscribe","uid":first["uid"]})
    );
    // An event sent to both is taken once, from the live one.
    let mut stored = msg(7);
    stored["content"] = json!("via the stale one");
    rig.frame(json!({"type":"subscription","event":"create","uid":first["uid"],"data":[stored]}));
    assert!(rig.s.timeline().get(7).is_none());
    rig.frame(json!({"type":"subscription","event":"create","uid":second["uid"],"data":[msg(7)]}));
    assert_eq!(rig.s.timeline().get(7).unwrap().content, "m7");
}

#[test]
fn another_account_is_asked_for_its_profile_again() {
    let mut rig = Rig::new();
    let profile = asking_profile(&mut rig);
    rig.frame(forbidden("subscribe", &profile["uid"]));
    rig.s.logout(rig.now);
    rig.s.login(server(), "bob@example.com", "pw", rig.now);
    let auth = only(&rig.s.opened(rig.now));
    let sent = rig.auth_ok(&auth, "r3");
    let read = only(&rig.frame(json!({"type":"subscription","event":"init","uid":sent[0]["uid"]})));
    let sent = frames(&rig.frame(json!({"type":"items","data":[],"uid":read["uid"]})));
    let asked = find_uid(&sent, "profile").expect("asked again");
    assert_eq!(asked["collection"], "directus_users", "{asked}");
}

#[test]
fn the_user_learns_who_they_are_from_their_profile_before_ever_posting() {
    let mut rig = Rig::new();
    let profile = asking_profile(&mut rig);
    assert_eq!(
        rig.s.display_name(),
        Some("alice@example.com"),
        "until known, the e-mail"
    );
    let init = json!({"type":"subscription","event":"init","uid":profile["uid"],
                      "data":[{"id":"u-alice","first_name":"Alice"}]});
    let gone = only(&rig.frame(init.clone()));
    assert_eq!(gone, json!({"type":"unsubscribe","uid":profile["uid"]}));
    assert_eq!(rig.s.display_name(), Some("Alice"));
    assert!(rig.s.identity_settled());
    let first = rig.s.timeline().get(1).unwrap().clone();
    assert!(rig.s.is_mine(&first));
    let mut bobs = first.clone();
    bobs.author.id = Some("u-bob".into());
    assert!(!rig.s.is_mine(&bobs));
    // Until the unsubscribe lands, the profile's events (and a repeated init) are not messages.
    let update = json!({"type":"subscription","event":"update","uid":profile["uid"],
                        "data":[{"id": 1, "content": "not a message"}]});
    assert!(rig.frame(update).is_empty());
    assert_eq!(
        only(&rig.frame(init)),
        gone,
        "a repeated init is a stale subscription: ended again"
    );
    assert_eq!(ids(&rig.s), [1]);
    assert_eq!(rig.s.timeline().get(1).unwrap().content, "m1");
}

#[test]
fn a_refused_profile_falls_back_to_the_author_of_our_newest_message() {
    let mut rig = Rig::new();
    let profile = asking_profile(&mut rig);
    // As Directus answers a member whose policy has no read on users.
    let who = only(&rig.frame(
        json!({"type":"subscribe","status":"error","uid":profile["uid"],
        "error":{"code":"FORBIDDEN","message":"no"}}),
    ));
    assert_eq!(
        who["query"]["filter"]["user_created"]["_eq"],
        "$CURRENT_USER"
    );
    assert_eq!(rig.s.notice(), None, "live updates were not refused");
    rig.frame(json!({"type":"items","data":[{"user_created":{"id":"u-alice","first_name":"Alice"}}],"uid":who["uid"]}));
    assert_eq!(rig.s.display_name(), Some("Alice"));
    assert!(rig.s.is_mine(rig.s.timeline().get(1).unwrap()));
}

#[test]
fn a_confirmed_send_tells_who_we_are_even_when_the_event_beats_the_reply() {
    let mut rig = Rig::new();
    rig.online(&[]);
    assert_eq!(rig.s.display_name(), Some("alice@example.com"));
    let create = only(&rig.s.send("first words", rig.now).unwrap());
    let mut stored = msg(1);
    stored["client_key"] = create["data"]["client_key"].clone();
    rig.frame(json!({"type":"subscription","event":"create","data":[stored.clone()]}));
    rig.frame(json!({"type":"items","data":stored,"uid":create["uid"]}));
    assert_eq!(rig.s.display_name(), Some("Alice"));
}
