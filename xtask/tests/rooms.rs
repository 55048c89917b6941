//! Rooms as Directus enforces them, tried by a hostile member against a real server: Carol is
//! in `general` only; `design` is Alice and Bob's private channel. And the upgrade of a
//! deployment from before rooms.

use std::time::Duration;

use serde_json::{Value, json};
use xtask::provision;
use xtask::rest::Rest;
use xtask::rooms;
use xtask::testing::TestDirectus;
use xtask::testing::ws::Socket;

fn room(server: &TestDirectus, name: &str) -> String {
    rooms::find_room(&server.admin(), name, "channel")
        .unwrap()
        .unwrap_or_else(|| panic!("no room {name}"))
}

fn key() -> String {
    xtask::server::random_token(16)
}

/// Posts as `rest`'s member into `room`; the new message's id.
fn post(rest: &Rest, room: &str, content: &str) -> i64 {
    rest.post(
        "/items/messages",
        &json!({ "content": content, "room": room, "client_key": key() }),
    )
    .unwrap()
    .data("post")
    .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// `user` leaves `room` as `rest`'s caller (deletes that membership row): the reply.
fn leave(rest: &Rest, room: &str, user: &str) -> xtask::rest::Reply {
    let path =
        format!("/items/room_members?filter[room][_eq]={room}&filter[user][_eq]={user}&fields=id");
    let row = rows(rest, &path);
    assert_eq!(row.len(), 1, "{user} in {room}: {row:?}");
    rest.delete(&format!("/items/room_members/{}", row[0]["id"]))
        .unwrap()
}

/// Is `user` a member of `room` (as the admin sees it)?
fn is_member(admin: &Rest, room: &str, user: &str) -> bool {
    let path =
        format!("/items/room_members?filter[room][_eq]={room}&filter[user][_eq]={user}&fields=id");
    !rows(admin, &path).is_empty()
}

fn rows(rest: &Rest, path: &str) -> Vec<Value> {
    rest.get(path)
        .unwrap()
        .data(path)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn carol_gets_nothing_of_a_private_channel_by_any_api() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return; // Unlicensed 12.x: one shared room (see the provisioning warning test).
    }
    let (design, general) = (room(server, "design"), room(server, "general"));
    let alice = server.as_member(&server.alice);
    let carol = server.as_member(&server.carol);
    let secret = format!("design secret {}", key());
    let id = post(&alice, &design, &secret);

    // REST: the list, a filter on the room, the row by id.
    let found = rows(
        &carol,
        &format!(
            "/items/messages?filter[content][_eq]={}",
            xtask::rest::encode(&secret)
        ),
    );
    assert!(found.is_empty(), "{found:?}");
    assert!(
        rows(
            &carol,
            &format!("/items/messages?filter[room][_eq]={design}&limit=-1")
        )
        .is_empty()
    );
    let by_id = carol.get(&format!("/items/messages/{id}")).unwrap();
    assert_eq!(by_id.status, 403, "{by_id:?}");

    // WebSocket: a read by id and by room, then a subscription while Alice posts there.
    let mut socket = Socket::as_member(&server.ws_url(), &server.carol);
    socket
        .send(json!({"type":"items","action":"read","collection":"messages","id":id,"uid":"one"}));
    // (Directus 11.17.4 sends this FORBIDDEN without the uid.)
    let one = socket.next(Duration::from_secs(10)).expect("a reply");
    assert_eq!(one["error"]["code"], "FORBIDDEN", "{one}");
    socket.send(
        json!({"type":"items","action":"read","collection":"messages","uid":"all",
                       "query":{"filter":{"room":{"_eq":design}},"limit":-1}}),
    );
    let (all, _) = socket.until_uid("all");
    assert_eq!(all["data"], json!([]), "{all}");
    socket.send(
        json!({"type":"subscribe","collection":"messages","uid":"live",
                       "query":{"fields":["id","content","user_created","room"]}}),
    );
    let init = socket.next(Duration::from_secs(10)).expect("init");
    assert_eq!(init["event"], "init", "{init}");
    let hidden = post(&alice, &design, &format!("{secret} again"));
    let seen = post(&alice, &general, "for everyone");
    let mut events = Vec::new();
    while let Some(frame) = socket.next(Duration::from_secs(2)) {
        events.push(frame);
    }
    let text = serde_json::to_string(&events).unwrap();
    assert!(text.contains("for everyone"), "the control arrived: {text}");
    assert!(!text.contains(&secret), "design leaked: {text}");
    assert!(
        !events.iter().any(|e| e["data"][0]["id"] == hidden),
        "{text}"
    );
    assert!(
        events.iter().any(|e| e["data"][0]["id"] == seen),
        "the control's event: {text}"
    );

    // She cannot post there, move her own message there, or make herself a member.
    let refused = carol
        .post(
            "/items/messages",
            &json!({ "content": "let me in", "room": design, "client_key": key() }),
        )
        .unwrap();
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.error_code(), Some("FAILED_VALIDATION"));
    // Over the socket, Directus 11.17.4 answers a FAILED_VALIDATION with nothing at all (it
    // logs "WebSocket unhandled exception"): what counts is that nothing is stored.
    let knock = format!("let me in {}", key());
    socket.send(
        json!({"type":"items","action":"create","collection":"messages","uid":"post",
                       "data":{"content":knock,"room":design,"client_key":key()}}),
    );
    // (Her subscription may bring other tests' messages meanwhile: only replies count.)
    while let Some(frame) = socket.next(Duration::from_secs(3)) {
        if frame["type"] != "subscription" {
            assert_eq!(frame["status"], "error", "{frame}");
        }
    }
    let stored = rows(
        &server.admin(),
        &format!(
            "/items/messages?filter[content][_eq]={}",
            xtask::rest::encode(&knock)
        ),
    );
    assert!(stored.is_empty(), "{stored:?}");
    let mine = post(&carol, &general, "mine");
    let moved = carol
        .patch(
            &format!("/items/messages/{mine}"),
            &json!({ "room": design }),
        )
        .unwrap();
    assert!(!moved.ok(), "moved into design: {moved:?}");
    let carol_id = rooms::user_id(&server.admin(), &server.carol.email).unwrap();
    let joined = carol
        .post(
            "/items/room_members",
            &json!({ "room": design, "user": carol_id }),
        )
        .unwrap();
    assert!(!joined.ok(), "joined design: {joined:?}");

    // Rooms: she sees public channels (to join them) and her own, never design or the DM;
    // memberships only of her rooms.
    // (Other tests give her DMs of her own meanwhile.)
    let seen = rows(&carol, "/items/rooms?fields=name,kind,dm_key&limit=-1");
    let names: Vec<String> = seen
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["kind"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(names.contains(&"channel general".to_owned()), "{names:?}");
    assert!(names.contains(&"channel random".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("design")), "{names:?}");
    let carols_own = |r: &Value| r["dm_key"].as_str().is_some_and(|k| k.contains(&carol_id));
    assert!(
        seen.iter().all(|r| r["kind"] != "dm" || carols_own(r)),
        "another pair's DM: {seen:?}"
    );
    assert!(
        rows(
            &carol,
            &format!("/items/room_members?filter[room][_eq]={design}")
        )
        .is_empty()
    );
    // Nor through related fields: the room's name by a message, the users' memberships.
    let related = rows(
        &carol,
        "/items/messages?fields=id,room.name,room.private&limit=-1",
    );
    assert!(
        !related.iter().any(|m| m["room"]["name"] == "design"),
        "{related:?}"
    );
    let memberships = carol
        .get("/users?fields=id,chat_rooms.room&limit=-1")
        .unwrap();
    assert_eq!(memberships.status, 403, "{memberships:?}");
    assert!(
        !serde_json::to_string(&memberships.body)
            .unwrap()
            .contains(&design),
        "{memberships:?}"
    );
    // Bob, a member, reads it all.
    let bob = server.as_member(&server.bob);
    assert_eq!(
        rows(&bob, &format!("/items/messages?filter[id][_eq]={id}"))[0]["content"],
        secret.as_str()
    );
}

#[test]
fn a_deployment_from_before_rooms_keeps_every_message_in_general() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    let admin = server.admin();
    // As the previous version left it: no rooms, messages without one.
    for path in [
        "/fields/messages/room",
        "/collections/room_members",
        "/fields/directus_users/chat_rooms",
        "/collections/rooms",
    ] {
        let reply = admin.delete(path).unwrap();
        assert!(
            reply.ok() || reply.status == 403,
            "DELETE {path}: {reply:?}"
        );
    }
    for n in 0..30 {
        admin
            .post(
                "/items/messages",
                &json!({ "content": format!("old {n}"), "client_key": key() }),
            )
            .unwrap()
            .data("old message")
            .unwrap();
    }
    let before = rows(&admin, "/items/messages?fields=id,content&sort=id&limit=-1");
    assert_eq!(before.len(), 30);
    let members = [&server.alice, &server.bob, &server.carol];
    let url = server.url();
    let (email, password) = (&server.config.admin_email, &server.config.admin_password);
    // The new column's default (general) fills the rows that were there.
    let report = provision::provision_demo(&url, email, password, members).unwrap();
    let after = rows(
        &admin,
        "/items/messages?fields=id,content,room&sort=id&limit=-1",
    );
    assert_eq!(after.len(), before.len(), "nothing lost");
    assert!(
        after.iter().all(|m| m["room"] == report.general.as_str()),
        "{after:?}"
    );
    // Every member reads them, Carol included.
    let carol = server.as_member(&server.carol);
    assert_eq!(rows(&carol, "/items/messages?limit=-1").len(), 30);
    // A message left without a room (as an older tool might) is moved there by the next run.
    let strays = rows(&admin, "/items/messages?fields=id&sort=id&limit=5");
    for stray in &strays {
        admin
            .patch(
                &format!("/items/messages/{}", stray["id"]),
                &json!({ "room": null }),
            )
            .unwrap()
            .data("a message without a room")
            .unwrap();
    }
    let moved = provision::provision_demo(&url, email, password, members).unwrap();
    assert!(
        moved
            .changes
            .iter()
            .any(|c| c == "moved 5 messages into general"),
        "{:?}",
        moved.changes
    );
    assert_eq!(rows(&carol, "/items/messages?limit=-1").len(), 30);
    let again = provision::provision_demo(&url, email, password, members).unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

#[test]
fn a_member_outside_general_cannot_post_there_by_naming_no_room() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let email = format!("outsider-{}@example.com", std::process::id());
    let outsider = server.add_member(&email, "Olga");
    let admin = server.admin();
    let user = rooms::user_id(&admin, &email).unwrap();
    let general = room(server, "general");
    // Removed from general (as an admin would), she keeps her account and the policy.
    assert!(leave(&admin, &general, &user).ok());
    let rest = server.as_member(&outsider);
    for payload in [
        json!({ "content": "no room named", "client_key": key() }),
        json!({ "content": "a null room", "room": null, "client_key": key() }),
        json!({ "content": "a room object", "room": { "id": general }, "client_key": key() }),
        json!({ "content": "a new room", "room": { "name": "general", "kind": "channel" },
                "client_key": key() }),
    ] {
        let reply = rest.post("/items/messages", &payload).unwrap();
        assert!(!reply.ok(), "{payload}: {reply:?}");
    }
    let stored = rows(
        &admin,
        &format!("/items/messages?filter[user_created][_eq]={user}"),
    );
    assert!(stored.is_empty(), "{stored:?}");
    let generals = rows(&admin, "/items/rooms?filter[name][_eq]=general&fields=id");
    assert_eq!(generals.len(), 1, "no second general: {generals:?}");
    // Nor can anyone leave general (the chat posts there).
    let carol = server.as_member(&server.carol);
    let carol_id = rooms::user_id(&admin, &server.carol.email).unwrap();
    let left = leave(&carol, &general, &carol_id);
    assert!(!left.ok(), "left general: {left:?}");
}

#[test]
fn members_through_a_role_join_general_and_a_room_with_messages_stays() {
    let server = TestDirectus::start(&xtask::install::selected_version(), &[]);
    if server.report.restricted {
        return;
    }
    let admin = server.admin();
    let role = admin
        .post("/roles", &json!({ "name": "Chatters" }))
        .unwrap()
        .data("role")
        .unwrap()["id"]
        .clone();
    admin
        .post(
            "/access",
            &json!({ "role": role, "policy": server.report.policy_id }),
        )
        .unwrap()
        .data("attach the policy to the role")
        .unwrap();
    let password = key();
    admin
        .post(
            "/users",
            &json!({ "email": "erin@example.com", "password": password, "first_name": "Erin",
                     "role": role, "status": "active" }),
        )
        .unwrap()
        .data("erin")
        .unwrap();
    let (url, email, admin_password) = (
        server.url(),
        &server.config.admin_email,
        &server.config.admin_password,
    );
    provision::provision(&url, email, admin_password, &[]).unwrap();
    let erin = Rest::login(&url, "erin@example.com", &password).unwrap();
    let general = server.report.general.clone();
    post(&erin, &general, "through my role");
    assert_eq!(
        rows(&erin, "/items/messages?limit=-1").len(),
        1,
        "she reads general"
    );
    // Deleting general would take its history with it: refused while it has messages.
    let gone = admin.delete(&format!("/items/rooms/{general}")).unwrap();
    assert!(!gone.ok(), "{gone:?}");
    assert_eq!(rows(&admin, "/items/messages?limit=-1").len(), 1);
}

/// Polls until `done` (the extension adds a new room's members just after the reply).
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..50 {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn joining_creating_and_direct_messages_follow_the_rules() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let admin = server.admin();
    assert!(
        rooms::extension_loaded(&admin).unwrap(),
        "the chat-rooms hook is loaded"
    );
    let id_of = |email: &str| rooms::user_id(&admin, email).unwrap();
    let (alice_id, bob_id, carol_id) = (
        id_of(&server.alice.email),
        id_of(&server.bob.email),
        id_of(&server.carol.email),
    );
    let (alice, bob, carol) = (
        server.as_member(&server.alice),
        server.as_member(&server.bob),
        server.as_member(&server.carol),
    );
    let join = |rest: &Rest, room: &str, user: &str| {
        rest.post(
            "/items/room_members",
            &json!({ "room": room, "user": user }),
        )
        .unwrap()
    };
    let tag = key();

    // Carol joins the public `random` as herself and then reads what was said there before.
    let random = room(server, "random");
    post(&alice, &random, &format!("before carol {tag}"));
    assert!(
        join(&carol, &random, &bob_id).status >= 400,
        "only as herself"
    );
    let joined = join(&carol, &random, &carol_id);
    assert!(joined.ok(), "{joined:?}");
    assert!(join(&carol, &random, &carol_id).status >= 400, "once");
    let history = rows(
        &carol,
        &format!("/items/messages?filter[room][_eq]={random}&limit=-1"),
    );
    assert!(
        history
            .iter()
            .any(|m| m["content"] == format!("before carol {tag}").as_str()),
        "{history:?}"
    );

    // Private channels and DMs are not joined.
    let design = room(server, "design");
    assert!(join(&carol, &design, &carol_id).status >= 400);
    let dm_key = |a: &str, b: &str| {
        let mut pair = [a, b];
        pair.sort_unstable();
        format!("{}:{}", pair[0], pair[1])
    };
    let dm = rows(
        &admin,
        &format!(
            "/items/rooms?filter[dm_key][_eq]={}&fields=id",
            dm_key(&alice_id, &bob_id)
        ),
    )[0]["id"]
        .as_str()
        .expect("the demo DM")
        .to_owned();
    assert!(join(&carol, &dm, &carol_id).status >= 400);
    assert!(
        join(&bob, &design, &carol_id).status >= 400,
        "Bob did not create design"
    );

    // One DM per pair, and only one's own.
    let make_dm = |rest: &Rest, key: String| {
        rest.post("/items/rooms", &json!({ "kind": "dm", "dm_key": key }))
            .unwrap()
    };
    assert!(
        make_dm(&carol, dm_key(&alice_id, &bob_id)).status >= 400,
        "not hers"
    );
    assert!(
        make_dm(&alice, dm_key(&alice_id, &bob_id)).status >= 400,
        "a second one"
    );
    assert!(
        make_dm(&bob, dm_key(&bob_id, &bob_id)).status >= 400,
        "with oneself"
    );
    let reversed = dm_key(&bob_id, &alice_id)
        .split(':')
        .rev()
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        make_dm(&alice, reversed).status >= 400,
        "the other way round"
    );
    let shouted = format!("{}:{}", alice_id, bob_id.to_uppercase());
    assert!(make_dm(&alice, shouted).status >= 400, "in capitals");
    let three = format!("{}:{carol_id}", dm_key(&alice_id, &bob_id));
    assert!(make_dm(&alice, three).status >= 400, "three people");
    let carol_bob = make_dm(&carol, dm_key(&carol_id, &bob_id));
    assert!(carol_bob.ok(), "{carol_bob:?}");
    let carol_bob = carol_bob.body["data"]["id"].as_str().unwrap().to_owned();
    let members = |room: &str| -> Vec<String> {
        let mut users: Vec<String> = rows(
            &admin,
            &format!("/items/room_members?filter[room][_eq]={room}&fields=user"),
        )
        .iter()
        .map(|m| m["user"].as_str().unwrap().to_owned())
        .collect();
        users.sort();
        users
    };
    let mut pair = vec![carol_id.clone(), bob_id.clone()];
    pair.sort();
    assert!(
        eventually(|| members(&carol_bob) == pair),
        "{:?}",
        members(&carol_bob)
    );
    assert!(
        join(&carol, &carol_bob, &alice_id).status >= 400,
        "a DM stays two"
    );
    let said = post(&carol, &carol_bob, "just us");
    assert_eq!(
        alice
            .get(&format!("/items/messages/{said}"))
            .unwrap()
            .status,
        403
    );
    assert!(
        join(&alice, &carol_bob, &alice_id).status >= 400,
        "not by a third"
    );
    // Carol leaves the DM and comes back (it is still hers with Bob).
    let left = leave(&carol, &carol_bob, &carol_id);
    assert!(left.ok(), "{left:?}");
    let status = |rest: &Rest| rest.get(&format!("/items/messages/{said}")).unwrap().status;
    assert_eq!(status(&carol), 403, "gone with her membership");
    assert!(join(&carol, &carol_bob, &carol_id).ok(), "back in her DM");
    assert_eq!(status(&carol), 200);
    // A room's privacy is true or false, nothing a join check could read otherwise.
    let odd = alice
        .post(
            "/items/rooms",
            &json!({ "name": format!("odd-{tag}"), "private": "true" }),
        )
        .unwrap();
    assert!(odd.error_message().contains("true or false"), "{odd:?}");

    // A private channel: its creator is its first member and adds the others.
    let name = format!("plans-{tag}");
    let made = alice
        .post(
            "/items/rooms",
            &json!({ "name": name, "kind": "channel", "private": true }),
        )
        .unwrap();
    assert!(made.ok(), "{made:?}");
    let plans = made.body["data"]["id"].as_str().unwrap().to_owned();
    assert!(eventually(|| members(&plans) == [alice_id.clone()]));
    assert!(join(&bob, &plans, &bob_id).status >= 400, "not by himself");
    assert!(join(&alice, &plans, &carol_id).ok(), "by its creator");
    assert!(
        join(&carol, &plans, &bob_id).status >= 400,
        "not by another member"
    );
    // Its creator may leave and come back; nobody else joins by themselves.
    let left = leave(&alice, &plans, &alice_id);
    assert!(left.ok(), "{left:?}");
    assert!(
        join(&alice, &plans, &alice_id).ok(),
        "its creator comes back"
    );
    // Public channel names are unique, whatever the case.
    let twin = alice
        .post(
            "/items/rooms",
            &json!({ "name": "General", "kind": "channel", "private": false }),
        )
        .unwrap();
    assert!(twin.status >= 400, "{twin:?}");
}

#[test]
fn whoever_is_given_the_chat_policy_in_the_admin_app_joins_general_at_once() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let admin = server.admin();
    let general = room(server, "general");
    let in_general = |user: &str| is_member(&admin, &general, user);
    let tag = std::process::id();
    // Given the policy directly, as the admin app's user form does.
    let frank = admin
        .post(
            "/users",
            &json!({ "email": format!("frank-{tag}@example.com"), "password": key(),
                     "first_name": "Frank", "status": "active",
                     "policies": { "create": [ { "policy": server.report.policy_id } ] } }),
        )
        .unwrap()
        .data("frank")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(eventually(|| in_general(&frank)), "frank joined general");
    // Through a role that holds the policy, given to a user later.
    let role = admin
        .post("/roles", &json!({ "name": format!("Team {tag}") }))
        .unwrap()
        .data("role")
        .unwrap()["id"]
        .clone();
    admin
        .post(
            "/access",
            &json!({ "role": role, "policy": server.report.policy_id }),
        )
        .unwrap()
        .data("attach the policy to the role")
        .unwrap();
    let grace = admin
        .post(
            "/users",
            &json!({ "email": format!("grace-{tag}@example.com"), "password": key(),
                     "first_name": "Grace", "status": "active" }),
        )
        .unwrap()
        .data("grace")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!in_general(&grace), "no policy yet, no general");
    admin
        .patch(&format!("/users/{grace}"), &json!({ "role": role }))
        .unwrap()
        .data("give grace the role")
        .unwrap();
    assert!(eventually(|| in_general(&grace)), "grace joined general");
}
