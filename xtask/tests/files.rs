//! Files as Directus keeps them for the chat, tried by a hostile member against a real server:
//! Alice and Bob are in `design`, Carol is not. Who may upload where, who may read a file
//! (and its pictures), what a message's `files` may name, and what goes with a deleted message.

use serde_json::{Value, json};
use xtask::files::CHAT_FOLDER;
use xtask::rest::{Reply, Rest};
use xtask::rooms;
use xtask::testing::TestDirectus;
use xtask::testing::ws::Socket;

const PICTURE: &[u8] = include_bytes!("../../tests/fixtures/gradient.png");

fn room(server: &TestDirectus, name: &str) -> String {
    rooms::find_room(&server.admin(), name, "channel")
        .unwrap()
        .unwrap_or_else(|| panic!("no room {name}"))
}

/// Skips (true) on a server that cannot keep a room's files to its members.
fn restricted(server: &TestDirectus) -> bool {
    server.report.restricted
}

fn upload_into(rest: &Rest, room: &str, name: &str) -> Reply {
    rest.upload(
        &[("room", room), ("folder", CHAT_FOLDER), ("title", name)],
        name,
        "image/png",
        PICTURE,
    )
    .unwrap()
}

/// Uploads the picture into `room`; its id.
fn uploaded(rest: &Rest, room: &str) -> String {
    let reply = upload_into(rest, room, "gradient.png");
    let data = reply.data("upload").unwrap();
    data["id"].as_str().expect("an id").to_owned()
}

fn post(rest: &Rest, room: &str, files: Value) -> Reply {
    rest.post(
        "/items/messages",
        &json!({ "content": "look", "room": room, "files": files,
                 "client_key": xtask::server::random_token(16) }),
    )
    .unwrap()
}

#[test]
fn a_file_is_read_by_its_rooms_members_and_nobody_else() {
    let server = TestDirectus::shared();
    if restricted(server) {
        return;
    }
    let design = room(server, "design");
    let (alice, bob, carol) = (
        server.as_member(&server.alice),
        server.as_member(&server.bob),
        server.as_member(&server.carol),
    );
    let id = uploaded(&alice, &design);
    // Not sent yet: Alice's alone.
    assert_eq!(bob.get(&format!("/files/{id}")).unwrap().status, 403);
    post(&alice, &design, json!([id])).data("sent").unwrap();

    // Bob, in design: the record and a thumbnail (the transform works for members).
    let record = bob.get(&format!("/files/{id}")).unwrap().data("bob reads");
    let record = record.unwrap();
    assert_eq!(record["width"], 120, "{record}");
    assert_eq!(record["height"], 80, "{record}");
    let (status, kind, bytes) = bob
        .get_bytes(&format!(
            "/assets/{id}?width=60&height=60&fit=inside&format=webp"
        ))
        .unwrap();
    assert_eq!((status, kind.as_str()), (200, "image/webp"));
    assert!(!bytes.is_empty());

    // Carol: not the record, not the original, not a thumbnail, not in a list.
    for path in [
        format!("/files/{id}"),
        format!("/assets/{id}"),
        format!("/assets/{id}?width=60&height=60&fit=inside&format=webp"),
    ] {
        let (status, _, _) = carol.get_bytes(&path).unwrap();
        assert_eq!(status, 403, "Carol: {path}");
    }
    let listed = carol
        .get(&format!("/files?filter[id][_eq]={id}"))
        .unwrap()
        .data("carol lists")
        .unwrap();
    assert_eq!(listed, json!([]));
    // Nobody logged in: nothing either.
    let (status, _, _) = Rest::new(&server.url())
        .get_bytes(&format!("/assets/{id}"))
        .unwrap();
    assert_eq!(status, 403);
}

#[test]
fn uploads_go_only_into_ones_own_rooms_and_the_chat_folder() {
    let server = TestDirectus::shared();
    if restricted(server) {
        return;
    }
    let design = room(server, "design");
    let carol = server.as_member(&server.carol);
    let alice = server.as_member(&server.alice);
    let into_design = upload_into(&carol, &design, "intruder.png");
    assert_eq!(into_design.status, 400, "{into_design:?}");
    assert_eq!(into_design.error_code(), Some("FAILED_VALIDATION"));
    // No room, or another folder: refused too.
    let roomless = alice
        .upload(
            &[("folder", CHAT_FOLDER)],
            "roomless.png",
            "image/png",
            PICTURE,
        )
        .unwrap();
    assert_eq!(roomless.status, 400, "{roomless:?}");
    let elsewhere = alice
        .upload(&[("room", &design)], "root.png", "image/png", PICTURE)
        .unwrap();
    assert_eq!(elsewhere.status, 400, "{elsewhere:?}");
    // Nor have the server fetch an address for them (REST or GraphQL).
    let body = json!({ "url": "http://127.0.0.1:9/x.png", "data": { "room": design, "folder": CHAT_FOLDER } });
    for path in ["/files/import", "/files/import/", "/FILES/Import"] {
        let import = alice.post(path, &body).unwrap();
        assert_eq!(import.status, 403, "{path}: {import:?}");
    }
    let mutation = json!({ "query": format!("mutation {{ import_file(url: \"http://127.0.0.1:9/x.png\", data: {{ room: \"{design}\" }}) {{ id }} }}") });
    let import = alice.post("/graphql/system", &mutation).unwrap();
    assert_eq!(import.status, 403, "{import:?}");
    // And a member cannot move a file into another room afterwards.
    let id = uploaded(&alice, &design);
    let general = room(server, "general");
    let moved = carol
        .patch(&format!("/files/{id}"), &json!({ "room": general }))
        .unwrap();
    assert_eq!(moved.status, 403, "{moved:?}");
    let moved = alice
        .patch(&format!("/files/{id}"), &json!({ "room": general }))
        .unwrap();
    assert_eq!(moved.status, 403, "{moved:?}");
}

#[test]
fn a_file_over_the_limit_is_refused_with_the_servers_words() {
    let server = TestDirectus::shared();
    if restricted(server) {
        return;
    }
    let general = room(server, "general");
    let alice = server.as_member(&server.alice);
    let big = vec![7u8; 25 * 1024 * 1024 + 1];
    let name = format!("big-{}.bin", xtask::server::random_token(8));
    let reply = alice
        .upload(
            &[("room", &general), ("folder", CHAT_FOLDER)],
            &name,
            "application/octet-stream",
            &big,
        )
        .unwrap();
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.error_code(), Some("CONTENT_TOO_LARGE"), "{reply:?}");
    assert_eq!(reply.error_message(), "Uploaded content is too large.");
    // Directus stores the record before the bytes and removes it under the uploader's rights:
    // nothing of the refused upload stays.
    let left = server
        .admin()
        .get(&format!(
            "/files?filter[filename_download][_eq]={name}&fields=id"
        ))
        .unwrap()
        .data("admin looks")
        .unwrap();
    assert_eq!(left, json!([]));
    // A member deletes a loose upload of theirs, never one a message took or someone else's.
    let design = room(server, "design");
    let bob = server.as_member(&server.bob);
    let loose = uploaded(&alice, &design);
    assert_eq!(bob.delete(&format!("/files/{loose}")).unwrap().status, 403);
    assert!(alice.delete(&format!("/files/{loose}")).unwrap().ok());
    let taken = uploaded(&alice, &design);
    post(&alice, &design, json!([taken])).data("post").unwrap();
    assert_eq!(
        alice.delete(&format!("/files/{taken}")).unwrap().status,
        403
    );
}

#[test]
fn a_messages_files_are_its_authors_uploads_of_its_room_as_stored() {
    let server = TestDirectus::shared();
    if restricted(server) {
        return;
    }
    let (design, general) = (room(server, "design"), room(server, "general"));
    let alice = server.as_member(&server.alice);
    let bob = server.as_member(&server.bob);
    let id = uploaded(&alice, &design);

    // What Alice claims about it does not count: the record does.
    let lie = json!([{ "id": id, "name": "invoice.exe", "type": "text/html", "size": 1 }]);
    let message = post(&alice, &design, lie).data("alice posts").unwrap();
    assert_eq!(
        message["files"],
        json!([{ "id": id, "name": "gradient.png", "type": "image/png",
                 "size": PICTURE.len(), "width": 120, "height": 80 }])
    );
    let read = bob
        .get(&format!("/items/messages/{}?fields=files", message["id"]))
        .unwrap()
        .data("bob reads it")
        .unwrap();
    assert_eq!(read["files"], message["files"]);

    // Someone else's upload, an upload of another room, one attached already, a record made
    // without its bytes, junk: refused.
    let other = uploaded(&alice, &design);
    let empty = alice
        .post("/files", &json!({ "room": design, "folder": CHAT_FOLDER, "filename_download": "x.png", "type": "image/png" }))
        .unwrap();
    if let Some(empty) = empty.body["data"]["id"].as_str() {
        let reply = post(&alice, &design, json!([empty]));
        assert_eq!(reply.status, 400, "{reply:?}");
    }
    let bobs = post(&bob, &design, json!([other]));
    assert_eq!(bobs.status, 403, "{bobs:?}");
    let wrong_room = post(&alice, &general, json!([other]));
    assert_eq!(wrong_room.status, 403, "{wrong_room:?}");
    let again = post(&alice, &design, json!([id]));
    assert_eq!(again.status, 403, "{again:?}");
    for junk in [
        json!("nope"),
        json!([]),
        json!([other, other]),
        json!([{ "id": 5 }]),
        json!(vec![other.clone(); 11]),
    ] {
        let reply = post(&alice, &design, junk.clone());
        assert_eq!(reply.status, 400, "{junk}: {reply:?}");
    }
    // A create retried after a lost reply is refused as a duplicate (what the chat looks up),
    // not as a file taken by another message.
    let third = uploaded(&alice, &design);
    let key = xtask::server::random_token(16);
    let create = json!({ "content": "once", "room": design, "files": [third], "client_key": key });
    alice
        .post("/items/messages", &create)
        .unwrap()
        .data("first")
        .unwrap();
    let again = alice.post("/items/messages", &create).unwrap();
    assert_eq!(again.error_code(), Some("RECORD_NOT_UNIQUE"), "{again:?}");
    // Nor can files be changed once sent.
    let changed = alice
        .patch(
            &format!("/items/messages/{}", message["id"]),
            &json!({ "files": [other] }),
        )
        .unwrap();
    assert_eq!(changed.status, 403, "{changed:?}");
}

#[test]
fn deleting_a_message_deletes_its_files() {
    let server = TestDirectus::shared();
    if restricted(server) {
        return;
    }
    let design = room(server, "design");
    let alice = server.as_member(&server.alice);
    let admin = server.admin();
    let kept = uploaded(&alice, &design);
    let gone = uploaded(&alice, &design);
    let message = post(&alice, &design, json!([gone])).data("post").unwrap();
    let keeper = post(&alice, &design, json!([kept])).data("post").unwrap();
    let deleted = alice
        .delete(&format!("/items/messages/{}", message["id"]))
        .unwrap();
    assert!(deleted.ok(), "{deleted:?}");
    // The hook's action runs after the reply: a moment later.
    let listed = || {
        admin
            .get(&format!("/files?filter[id][_in]={gone},{kept}&fields=id"))
            .unwrap()
            .data("admin lists")
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while listed() != json!([{ "id": kept }]) {
        assert!(
            std::time::Instant::now() < deadline,
            "{} {keeper}",
            listed()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, _, _) = admin.get_bytes(&format!("/assets/{gone}")).unwrap();
    assert!(status == 403 || status == 404, "{status}");
}

#[test]
fn a_socket_gets_its_own_access_as_a_bearer_token_and_nothing_more() {
    let server = TestDirectus::shared();
    if restricted(server) {
        return;
    }
    let design = room(server, "design");
    let alice = server.as_member(&server.alice);
    let file = uploaded(&alice, &design);
    post(&alice, &design, json!([file])).data("sent").unwrap();
    let token_of = |socket: &mut Socket| {
        socket.send(json!({ "type": "chat-access", "uid": "access" }));
        socket.until_uid("access").0
    };
    // Bob's socket: a token that is Bob's, reads what Bob may and expires with the socket.
    let mut bob_socket = Socket::as_member(&server.ws_url(), &server.bob);
    let reply = token_of(&mut bob_socket);
    assert_eq!(reply["status"], "ok", "{reply}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires = reply["expires_at"].as_u64().unwrap();
    assert!(expires > now && expires <= now + 15 * 60 + 5, "{reply}");
    let bob = Rest::with_token(&server.url(), reply["access_token"].as_str().unwrap());
    let me = bob.get("/users/me?fields=id").unwrap().data("me").unwrap();
    let bob_id = server
        .as_member(&server.bob)
        .get("/users/me?fields=id")
        .unwrap();
    assert_eq!(me["id"], bob_id.data("bob").unwrap()["id"]);
    let (status, _, _) = bob.get_bytes(&format!("/assets/{file}")).unwrap();
    assert_eq!(status, 200);
    // Bob's rights, not more: no admin calls.
    assert_eq!(bob.get("/permissions").unwrap().status, 403);

    // Carol's token does not open design's file.
    let mut carol_socket = Socket::as_member(&server.ws_url(), &server.carol);
    let reply = token_of(&mut carol_socket);
    let carol = Rest::with_token(&server.url(), reply["access_token"].as_str().unwrap());
    let (status, _, _) = carol.get_bytes(&format!("/assets/{file}")).unwrap();
    assert_eq!(status, 403);

    // A socket that never authenticated gets none: Directus wants auth first.
    let mut stranger = Socket::connect(&server.ws_url());
    stranger.send(json!({ "type": "chat-access", "uid": "access" }));
    let first = stranger
        .next(std::time::Duration::from_secs(10))
        .expect("an answer");
    assert_eq!(
        (&first["type"], &first["status"]),
        (&json!("auth"), &json!("error")),
        "{first}"
    );
    assert!(first.get("access_token").is_none(), "{first}");
}
