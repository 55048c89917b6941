//! Files attached to messages, against a real Directus: Alice uploads a picture into a room of
//! hers and Bob's and sends it; Bob's headless lines and his window show it, by its stored
//! name and size; Carol, not in the room, sees nothing of it.

mod common;

use common::Client;
use common::ui::*;
use egui_kittest::kittest::{NodeT as _, Queryable};
use serde_json::{Value, json};
use xtask::files::CHAT_FOLDER;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

const PICTURE: &[u8] = include_bytes!("fixtures/gradient.png");

/// A private channel of Alice's with Bob in it; its id.
fn shared_room(server: &TestDirectus, name: &str) -> String {
    let alice = server.as_member(&server.alice);
    let bob = server.as_member(&server.bob);
    let room = common::create_item(
        &alice,
        "rooms",
        json!({"name": name, "kind": "channel", "private": true}),
    );
    common::create_item(
        &alice,
        "room_members",
        json!({"room": room, "user": common::user_id(&bob)}),
    );
    room
}

/// Alice uploads the picture into `room` and sends it with `caption`; the file's id.
fn send_picture(alice: &Rest, room: &str, caption: &str) -> String {
    let file = alice
        .upload(
            &[("room", room), ("folder", CHAT_FOLDER)],
            "gradient.png",
            "image/png",
            PICTURE,
        )
        .unwrap()
        .data("upload")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    common::create_item(
        alice,
        "messages",
        json!({"content": caption, "room": room, "files": [file]}),
    );
    file
}

/// The messages stored with `caption`, with their files (as the admin sees them).
fn messages_captioned(admin: &Rest, caption: &str) -> Value {
    admin
        .get(&format!(
            "/items/messages?filter[content][_eq]={}&fields=files",
            xtask::rest::encode(caption)
        ))
        .unwrap()
        .data("messages")
        .unwrap()
}

/// Every file stored in `room`: id and size.
fn files_in_room(admin: &Rest, room: &str) -> Value {
    admin
        .get(&format!(
            "/files?filter[room][_eq]={room}&fields=id,filesize"
        ))
        .unwrap()
        .data("files")
        .unwrap()
}

#[test]
fn headless_lines_carry_a_messages_files_and_only_to_its_room() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let pid = std::process::id();
    let name = format!("pics-{pid}");
    let room = shared_room(server, &name);
    let caption = format!("the gradient {pid}");
    let file = send_picture(&server.as_member(&server.alice), &room, &caption);

    let bob = Client::start_args(&server.url(), &server.bob, &[], &["--room", &name]);
    let lines = bob.finish();
    let line = lines
        .iter()
        .find(|l| l["content"] == caption.as_str())
        .unwrap_or_else(|| panic!("Bob sees the message: {lines:?}"));
    assert_eq!(
        line["files"],
        json!([{ "id": file, "name": "gradient.png", "type": "image/png",
                 "size": PICTURE.len(), "width": 120, "height": 80 }])
    );
    // A message without files says so with an empty list.
    let carol = Client::start_args(&server.url(), &server.carol, &[], &["--all-rooms"]);
    let seen: Vec<Value> = carol.finish();
    assert!(
        seen.iter().all(|l| l["content"] != caption.as_str()),
        "Carol is not in the room"
    );
    assert!(seen.iter().all(|l| l["files"].is_array()), "{seen:?}");
}

#[test]
fn the_window_lists_a_file_that_is_no_picture_by_name_and_size() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let pid = std::process::id();
    let name = format!("files-ui-{pid}");
    let room = shared_room(server, &name);
    let mut h = app(&server.url(), &temp_store("files-window"));
    log_in(&mut h, &server.bob.email, &server.bob.password);
    wait_until(&mut h, "the room listed", |h| {
        shows(h, &format!("# {name}"))
    });
    h.get_by_label(&format!("# {name}")).click();
    h.run_steps(3);
    // Sent while Bob looks: it arrives live.
    let alice = server.as_member(&server.alice);
    let notes = alice
        .upload(
            &[("room", &room), ("folder", CHAT_FOLDER)],
            "notes.txt",
            "text/plain",
            b"hello notes",
        )
        .unwrap()
        .data("upload")
        .unwrap()["id"]
        .clone();
    let caption = format!("the notes {pid}");
    common::create_item(
        &alice,
        "messages",
        json!({"content": caption, "room": room, "files": [notes]}),
    );
    wait_until(&mut h, "the message and its file", |h| {
        shows(h, &caption) && shows(h, "File: notes.txt (11 B)")
    });
    // A click saves it into the Downloads folder (the test's own), twice under two names.
    let folder = std::env::temp_dir()
        .join(format!("dc-ui-{}-files-window", std::process::id()))
        .join("downloads");
    for saved in ["notes.txt", "notes (1).txt"] {
        h.get_by_label("File: notes.txt (11 B)").click();
        let said = format!("Saved {}", folder.join(saved).display());
        wait_until(&mut h, "saved", |h| shows(h, &said));
        assert_eq!(std::fs::read(folder.join(saved)).unwrap(), b"hello notes");
    }
}

/// A file dropped on the window, as the desktop hands it over.
#[derive(Debug)]
struct OnDisk(std::path::PathBuf);

impl egui::DroppedFile for OnDisk {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn fixture() -> String {
    format!("{}/tests/fixtures/gradient.png", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_chat_uploads_into_the_folder_the_server_allows() {
    assert_eq!(directus_chat::edge::uploads::CHAT_FOLDER, CHAT_FOLDER);
}

#[test]
fn alice_drops_a_picture_and_bob_sees_its_thumbnail_live() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let pid = std::process::id();
    let name = format!("drop-{pid}");
    shared_room(server, &name);
    let room_label = format!("# {name}");
    let open_room = |h: &mut App| {
        wait_until(h, "the room listed", |h| shows(h, &room_label));
        h.get_by_label(&room_label).click();
        h.run_steps(3);
    };
    let mut bob = app(&server.url(), &temp_store("files-bob"));
    log_in(&mut bob, &server.bob.email, &server.bob.password);
    open_room(&mut bob);
    let mut alice = app(&server.url(), &temp_store("files-alice"));
    log_in(&mut alice, &server.alice.email, &server.alice.password);
    open_room(&mut alice);

    // Dropped on the window: attached to the composer, sent with the text as its caption.
    alice
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(OnDisk(fixture().into())));
    alice.run_steps(3);
    assert!(shows(&alice, "Attached: gradient.png (20 KB)"), "attached");
    let caption = format!("dropped in {pid}");
    fill(&mut alice, "Message", &caption);
    alice.key_press(egui::Key::Enter);
    let picture = "Picture gradient.png (20 KB)";
    let steps = |a: &mut App, b: &mut App| {
        a.step();
        b.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Exactly this label: a picture that failed reads "Picture …: why".
    let drawn = |h: &App| h.query_by_label(picture).is_some();
    while !(shows(&bob, &caption) && drawn(&bob) && drawn(&alice)) {
        assert!(
            std::time::Instant::now() < deadline,
            "Bob's window shows:\n{:#?}",
            bob.root()
        );
        steps(&mut alice, &mut bob);
    }
    // The thumbnail keeps the picture's shape (120×80, shown as it is).
    let shown = bob.get_by_label(picture).rect();
    assert_eq!((shown.width(), shown.height()), (120.0, 80.0));
    // A click shows it large (fetched at the viewer's size); Esc closes it.
    bob.get_by_label(picture).click();
    wait_until(&mut bob, "the viewer", |h| {
        shows(h, "Viewing gradient.png (20 KB)")
    });
    bob.key_press(egui::Key::Escape);
    bob.run_steps(3);
    assert!(!shows(&bob, "Viewing gradient.png"), "closed");
    // One file and one message on the server.
    let admin = server.admin();
    let messages = messages_captioned(&admin, &caption);
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{messages}");
    assert_eq!(messages[0]["files"][0]["name"], "gradient.png");
}

#[test]
fn alice_attaches_a_file_from_the_dialog_and_pastes_a_picture() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let pid = std::process::id();
    let name = format!("attach-{pid}");
    shared_room(server, &name);
    // The dialog stands in for the platform's: it picks the fixture once opened.
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = opened.clone();
    let store = temp_store("files-attach");
    let mut alice = app_with(&server.url(), &store, |startup| {
        startup.file_dialog = Some(std::sync::Arc::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(vec![fixture().into()])
        }))
    });
    log_in(&mut alice, &server.alice.email, &server.alice.password);
    let room_label = format!("# {name}");
    wait_until(&mut alice, "the room listed", |h| shows(h, &room_label));
    alice.get_by_label(&room_label).click();
    alice.run_steps(3);

    alice.get_by_label("Attach files…").click();
    wait_until(&mut alice, "the picked file attached", |h| {
        shows(h, "Attached: gradient.png (20 KB)")
    });
    assert_eq!(opened.load(std::sync::atomic::Ordering::SeqCst), 1);
    // A picture on the clipboard, pasted with Ctrl+V (egui-winit hands it over this way).
    let teal = egui::Color32::from_rgb(0, 128, 128);
    let picture = egui::ColorImage::new([40, 30], vec![teal; 40 * 30]);
    alice
        .input_mut()
        .events
        .push(egui::Event::PasteImage(std::sync::Arc::new(picture)));
    wait_until(&mut alice, "the pasted picture attached", |h| {
        shows(h, "Attached: Pasted ")
    });
    // Kept as a file of its own, owner-only, in the session's folder (it survives a restart).
    let pasted_dir = store.join("pasted");
    let kept = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&pasted_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    assert_eq!(kept().len(), 1, "{:?}", kept());
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&kept()[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let caption = format!("picked and pasted {pid}");
    fill(&mut alice, "Message", &caption);
    alice.key_press(egui::Key::Enter);
    wait_until(&mut alice, "both pictures shown", |h| {
        shows(h, "Picture gradient.png (20 KB)")
            && h.query_all_by_label_contains("Picture Pasted ")
                .any(|n| !n.accesskit_node().label().unwrap_or_default().contains(':'))
    });
    // One message with both files; the pasted one is a PNG of the picture's size.
    let admin = server.admin();
    let messages = messages_captioned(&admin, &caption);
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{messages}");
    let files = messages[0]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{messages}");
    assert_eq!(files[0]["name"], "gradient.png");
    let pasted = &files[1];
    assert!(
        pasted["name"].as_str().unwrap().starts_with("Pasted "),
        "{pasted}"
    );
    let stored = admin
        .get(&format!(
            "/files/{}?fields=type,width,height",
            pasted["id"].as_str().unwrap()
        ))
        .unwrap()
        .data("file")
        .unwrap();
    assert_eq!(stored["type"], "image/png", "{stored}");
    assert_eq!(
        (stored["width"].as_u64(), stored["height"].as_u64()),
        (Some(40), Some(30))
    );
}

#[test]
fn an_upload_whose_answer_is_lost_is_sent_again_and_stored_once() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let pid = std::process::id();
    let name = format!("cut-{pid}");
    let room = shared_room(server, &name);
    let port = server.url().rsplit(':').next().unwrap().parse().unwrap();
    let proxy = common::cut_proxy::CutProxy::start(port);
    proxy.cut_uploads(1);
    let caption = format!("sent through a cut {pid}");
    let mut alice = Client::start_args(
        &proxy.url(),
        &server.alice,
        &[],
        &["--room", &name, "--attach", &fixture()],
    );
    alice.send(&caption);
    let (status, lines) = alice.finish_with_status();
    assert!(status.success(), "{lines:?}");
    assert!(proxy.uploads() >= 2, "sent again after the lost answer");
    let admin = server.admin();
    let messages = messages_captioned(&admin, &caption);
    assert_eq!(
        messages.as_array().map(Vec::len),
        Some(1),
        "one message: {messages}"
    );
    let file = &messages[0]["files"][0]["id"];
    // Every file stored in the room (it is this test's own): one, the message's, whole.
    let stored = files_in_room(&admin, &room);
    assert_eq!(stored.as_array().map(Vec::len), Some(1), "{stored}");
    assert_eq!(stored[0]["id"], *file);
    assert_eq!(stored[0]["filesize"].as_u64(), Some(PICTURE.len() as u64));
    // Alice's printed line carries the file, as everyone's.
    let line = lines
        .iter()
        .find(|l| l["content"] == caption.as_str())
        .unwrap();
    assert_eq!(line["files"][0]["id"], *file);
}

#[test]
fn a_post_left_unsent_when_the_app_stops_goes_out_once_at_the_next_start() {
    let server = TestDirectus::shared();
    if server.report.restricted {
        return;
    }
    let pid = std::process::id();
    let name = format!("restart-{pid}");
    let room = shared_room(server, &name);
    let port = server.url().rsplit(':').next().unwrap().parse().unwrap();
    let proxy = common::cut_proxy::CutProxy::start(port);
    // Every upload reaches Directus, and no answer comes back while the first app runs.
    proxy.cut_uploads(usize::MAX);
    let store = temp_store("files-restart");
    let mut alice = app_with(&proxy.url(), &store, |startup| {
        startup.file_dialog = Some(std::sync::Arc::new(|| Some(vec![fixture().into()])))
    });
    log_in(&mut alice, &server.alice.email, &server.alice.password);
    let room_label = format!("# {name}");
    wait_until(&mut alice, "the room listed", |h| shows(h, &room_label));
    alice.get_by_label(&room_label).click();
    alice.run_steps(3);
    alice.get_by_label("Attach files…").click();
    wait_until(&mut alice, "attached", |h| {
        shows(h, "Attached: gradient.png (20 KB)")
    });
    let caption = format!("sent before a restart {pid}");
    fill(&mut alice, "Message", &caption);
    alice.key_press(egui::Key::Enter);
    wait_until(&mut alice, "the upload through", |_| proxy.uploads() >= 1);
    alice.run_steps(3);
    // The app stops with the post unsent (its file stored, the answer lost).
    drop(alice);
    proxy.cut_uploads(0);

    // Started again on the same store: it resumes by itself and the post goes out.
    let mut again = app(&proxy.url(), &store);
    wait_until(&mut again, "the room listed", |h| shows(h, &room_label));
    again.get_by_label(&room_label).click();
    wait_until(&mut again, "the post sent after the restart", |h| {
        shows(h, &caption) && h.query_by_label("Picture gradient.png (20 KB)").is_some()
    });
    let admin = server.admin();
    let messages = messages_captioned(&admin, &caption);
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{messages}");
    // One file in the room (the test's own): the message's, whole.
    let stored = files_in_room(&admin, &room);
    assert_eq!(stored.as_array().map(Vec::len), Some(1), "{stored}");
    assert_eq!(stored[0]["id"], messages[0]["files"][0]["id"]);
    assert_eq!(stored[0]["filesize"].as_u64(), Some(PICTURE.len() as u64));
}

#[test]
fn headless_refuses_a_file_over_the_limit_before_sending_it() {
    let server = TestDirectus::shared();
    let dir = std::env::temp_dir().join(format!("dc-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(25 * 1024 * 1024 + 1)
        .unwrap();
    let mut alice = Client::start_args(
        &server.url(),
        &server.alice,
        &[],
        &["--attach", big.to_str().unwrap()],
    );
    alice.send("too big");
    let stderr = alice.stderr.clone();
    let (status, lines) = alice.finish_with_status();
    assert!(!status.success());
    let said = stderr.lock().unwrap().clone();
    assert!(
        said.contains("big.bin is 26 MB; the server takes files up to 25 MiB"),
        "{said}"
    );
    assert!(lines.iter().all(|l| l["content"] != "too big"), "{lines:?}");
}

#[test]
fn a_server_with_a_lower_limit_refuses_in_its_own_words() {
    let server = TestDirectus::start(
        &xtask::install::selected_version(),
        &[("FILES_MAX_UPLOAD_SIZE", "10kb")],
    );
    if server.report.restricted {
        return;
    }
    let mut alice =
        Client::start_args(&server.url(), &server.alice, &[], &["--attach", &fixture()]);
    alice.send("over this server's limit");
    let stderr = alice.stderr.clone();
    let (status, _) = alice.finish_with_status();
    assert!(!status.success());
    let said = stderr.lock().unwrap().clone();
    assert!(
        said.contains("The server refused the file: Uploaded content is too large."),
        "{said}"
    );
}
