//! `cargo bench --bench search_jump`: a search hit far back, picked, until it is on screen, in
//! frames of the chat panel: opened in a window around it (what the chat does) against
//! reading every page between the present and it (what it did before, measured in the same
//! run). A scripted server answers every read at once, so what is counted is the chat's own
//! round trips and frames, not the network (`tests/search_ui.rs` prints the same against a
//! real Directus). Then from the hit down to the present: the pages that takes.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small, quick pass, so it
//! cannot rot.

use std::time::{Duration, Instant};

use directus_chat::core::server_url::ServerUrl;
use directus_chat::core::session::{Effect, Session};
use directus_chat::edge::pictures::Pictures;
use directus_chat::views::Action;
use directus_chat::views::chat::{self, ChatView};
use serde_json::{Value, json};

#[path = "support/frames.rs"]
mod frames;

const ROOM: &str = "r-general";

fn row(id: i64) -> Value {
    json!({"id": id, "content": format!("message {id}: the quick brown fox jumps over the lazy dog"),
           "date_created": "2026-11-30T10:00:00.000Z", "date_updated": null, "client_key": null,
           "room": ROOM, "user_created": {"id": "u-Bob", "first_name": "Bob"}})
}

/// The room's messages 1..=newest, answering reads of them as Directus would.
struct Server {
    newest: i64,
    reads: usize,
}

impl Server {
    fn answer(&mut self, read: &Value) -> Value {
        self.reads += 1;
        let query = &read["query"];
        let filter = &query["filter"];
        let below = filter["id"]["_lt"].as_i64().unwrap_or(i64::MAX);
        let above = filter["id"]["_gt"].as_i64().unwrap_or(0);
        let limit = query["limit"].as_i64().unwrap_or(100).max(0) as usize;
        let ids = (1..=self.newest).filter(|id| *id < below && *id > above);
        let rows: Vec<Value> = match query["sort"][0].as_str() {
            Some("-id") => ids.rev().take(limit).map(row).collect(),
            _ => ids.take(limit).map(row).collect(),
        };
        json!({"type": "items", "uid": read["uid"], "data": rows})
    }

    /// Carry out what the session asked: reads of messages answered at once (and what those
    /// answers ask, in turn). Returns the other frames it sent.
    fn serve(&mut self, session: &mut Session, effects: Vec<Effect>, now: Instant) -> Vec<Value> {
        let mut others = Vec::new();
        let mut pending = effects;
        while !pending.is_empty() {
            let mut next = Vec::new();
            for effect in pending {
                let Effect::Send(text) = effect else { continue };
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["action"] == "read" && frame["collection"] == "messages" {
                    let reply = self.answer(&frame);
                    next.extend(session.frame(&reply.to_string(), now));
                } else {
                    others.push(frame);
                }
            }
            pending = next;
        }
        others
    }
}

fn uid_of(frames: &[Value], prefix: &str) -> Option<Value> {
    frames
        .iter()
        .find(|f| f["uid"].as_str().is_some_and(|u| u.starts_with(prefix)))
        .map(|f| f["uid"].clone())
}

/// Alice online in general (its newest page shown), in no other room.
fn online(server: &mut Server, now: Instant) -> Session {
    let newest = server.newest;
    let mut s = Session::new(7);
    s.login(
        ServerUrl::parse("http://127.0.0.1:8055").unwrap(),
        "alice@example.com",
        "pw",
        now,
    );
    let mut frame = |s: &mut Session, v: Value| {
        let effects = s.frame(&v.to_string(), now);
        server.serve(s, effects, now)
    };
    let auth = frames::sent(&s.opened(now)).remove(0);
    let sent = frame(
        &mut s,
        json!({"type":"auth","status":"ok","uid":auth["uid"],"refresh_token":"r"}),
    );
    let sent = frame(
        &mut s,
        json!({"type":"subscription","event":"init","uid":sent[0]["uid"]}),
    );
    if let Some(uid) = uid_of(&sent, "profile") {
        frame(
            &mut s,
            json!({"type":"subscription","event":"init","uid":uid,"data":[{"id":"u-Alice","first_name":"Alice"}]}),
        );
    }
    let rooms = uid_of(&sent, "rooms").expect("the rooms subscription");
    let membership = json!({"id": 1, "last_read": newest,
        "room": {"id": ROOM, "name": "general", "kind": "channel", "private": false}});
    frame(
        &mut s,
        json!({"type":"subscription","event":"init","uid":rooms,"data":[membership]}),
    );
    assert_eq!(s.rooms().shown_id(), Some(ROOM));
    assert_eq!(s.timeline().newest_id(), Some(newest));
    s
}

/// One frame of the chat panel; what the user (the list) asked for.
fn frame(ctx: &egui::Context, session: &Session, view: &mut ChatView) -> Option<Action> {
    let input = frames::input();
    let mut action = None;
    let output = ctx.run_ui(input, |ui| {
        action = chat::show(ui, session, view, &mut Pictures::default(), None, None);
    });
    output.drop_without_applying_deltas(); // no painter here (egui checks, in debug builds)
    action
}

struct Run {
    frames: usize,
    reads: usize,
    time: Duration,
}

/// Pick the hit `back` messages before the newest (`window`: as the chat does now) and count
/// the frames until it is in the timeline and held in view.
fn to_the_hit(newest: i64, back: i64, window: bool) -> (Run, Session, ChatView, Server) {
    let now = Instant::now();
    let mut server = Server { newest, reads: 0 };
    let mut session = online(&mut server, now);
    let ctx = egui::Context::default();
    let mut view = ChatView::default();
    view.follow_room(Some(ROOM.to_owned()));
    frame(&ctx, &session, &mut view);
    let hit = newest - back;
    server.reads = 0;
    let started = Instant::now();
    view.reveal(ROOM.to_owned(), hit);
    let effects = match window {
        true => session.open_at(ROOM, hit, now),
        false => session.show_room(ROOM, now),
    };
    server.serve(&mut session, effects, now);
    view.follow_room(Some(ROOM.to_owned()));
    let mut frames = 0;
    while session.timeline().index_of(hit).is_none() {
        frames += 1;
        assert!(frames < 100_000, "the hit never came");
        let effects = match frame(&ctx, &session, &mut view) {
            Some(Action::LoadOlder) => session.load_older(now),
            Some(Action::LoadNewer) => session.load_newer(now),
            _ => Vec::new(),
        };
        server.serve(&mut session, effects, now);
    }
    // The frame that holds it in view.
    frame(&ctx, &session, &mut view);
    frames += 1;
    let run = Run {
        frames,
        reads: server.reads,
        time: started.elapsed(),
    };
    (run, session, view, server)
}

/// From the hit down to the present (the window joins the room): the pages read.
fn down_to_the_present(session: &mut Session, server: &mut Server) -> usize {
    let now = Instant::now();
    server.reads = 0;
    while session.detached() {
        let effects = session.load_newer(now);
        assert!(!effects.is_empty(), "a newer page is asked for");
        server.serve(session, effects, now);
    }
    server.reads
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (newest, back) = if full { (5_050, 5_000) } else { (600, 500) };
    let (window, mut session, _view, mut server) = to_the_hit(newest, back, true);
    let (pages, _, _, _) = to_the_hit(newest, back, false);
    let down = down_to_the_present(&mut session, &mut server);
    let ids: Vec<i64> = session.timeline().iter().map(|m| m.id).collect();
    let hit = newest - back;
    assert_eq!(
        ids,
        (hit - 24..=newest).collect::<Vec<_>>(),
        "joined: from the window's start to the newest, each once"
    );
    println!(
        "search_jump bench (a hit {back} messages back, a scripted server answering at once):"
    );
    println!(
        "| way | frames to the hit on screen | reads | time |\n|---|---:|---:|---:|\n\
         | window around it | {} | {} | {:.1?} |\n| every page between | {} | {} | {:.1?} |",
        window.frames, window.reads, window.time, pages.frames, pages.reads, pages.time
    );
    println!(
        "frames ratio (every page / window): {:.1}; from the hit down to the present: {down} \
         pages of 50",
        pages.frames as f64 / window.frames.max(1) as f64
    );
    assert!(
        window.frames < pages.frames,
        "the window must take fewer frames"
    );
}
