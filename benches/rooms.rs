//! `cargo bench --bench rooms`: what many rooms cost, against one room in the same run.
//! - frame time of the chat panel showing a room of 1,000 messages, with 1 room and with 200
//!   rooms of 1,000 each held;
//! - switching to another loaded room: the reads it asks for (none) and the time of the switch
//!   plus the frame that shows it;
//! - heap bytes per room held (a counting allocator);
//! - live events routed into 200 rooms per second, against into one;
//! - the reads a catch-up after a reconnect costs: one for every room together.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small, quick pass, so it
//! cannot rot.

use std::time::{Duration, Instant};

use directus_chat::core::server_url::ServerUrl;
use directus_chat::core::session::Session;
use directus_chat::edge::pictures::Pictures;
use directus_chat::views::chat::{self, ChatView};
use serde_json::{Value, json};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/frames.rs"]
mod frames;
use frames::sent;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

fn uid_of<'a>(frames: &'a [Value], prefix: &str) -> Option<&'a Value> {
    frames
        .iter()
        .find(|f| f["uid"].as_str().is_some_and(|u| u.starts_with(prefix)))
        .map(|f| &f["uid"])
}

fn room_id(n: usize) -> String {
    format!("r-{n:03}")
}

/// Message `id` of room `room` (ids are global: room n holds n*per+1 ..= (n+1)*per).
fn row(id: i64, room: usize) -> Value {
    let author = if id % 3 == 0 { "Bob" } else { "Alice" };
    let minute = id % 100_000;
    let time = format!(
        "2026-11-{:02}T{:02}:{:02}:00.000Z",
        1 + (minute / 1440) % 28,
        (minute / 60) % 24,
        minute % 60
    );
    json!({"id": id, "content": format!("message {id}: the quick brown fox jumps over the lazy dog"),
           "date_created": time, "date_updated": null, "client_key": null, "room": room_id(room),
           "user_created": {"id": format!("u-{author}"), "first_name": author}})
}

fn rows(room: usize, per: i64) -> Vec<Value> {
    let first = room as i64 * per + 1;
    (first..first + per).rev().map(|id| row(id, room)).collect()
}

struct Loaded {
    session: Session,
    /// The uid the messages subscription's events carry.
    live: String,
}

/// A session online in `rooms` rooms (room 0 is general, shown) of `per` messages each, every
/// room opened once so that all are held.
fn loaded(rooms: usize, per: i64) -> Loaded {
    let now = Instant::now();
    let mut s = Session::new(7);
    s.login(
        ServerUrl::parse("http://127.0.0.1:8055").unwrap(),
        "alice@example.com",
        "pw",
        now,
    );
    let auth = sent(&s.opened(now)).remove(0);
    let frame = |s: &mut Session, v: Value| sent(&s.frame(&v.to_string(), now));
    let subscribe = frame(
        &mut s,
        json!({"type":"auth","status":"ok","uid":auth["uid"],"refresh_token":"r"}),
    )
    .remove(0);
    let live = subscribe["uid"].as_str().unwrap().to_owned();
    let read = frame(
        &mut s,
        json!({"type":"subscription","event":"init","uid":live}),
    )
    .remove(0);
    let after = frame(
        &mut s,
        json!({"type":"items","data":rows(0, per),"uid":read["uid"]}),
    );
    if let Some(uid) = uid_of(&after, "profile") {
        frame(
            &mut s,
            json!({"type":"subscription","event":"init","uid":uid,"data":[{"id":"u-Alice","first_name":"Alice"}]}),
        );
    }
    let memberships: Vec<Value> = (0..rooms)
        .map(|n| {
            let name = if n == 0 {
                "general".to_owned()
            } else {
                format!("room {n:03}")
            };
            json!({"id": n + 1, "last_read": (n as i64 + 1) * per,
                   "room": {"id": room_id(n), "name": name, "kind": "channel", "private": n != 0}})
        })
        .collect();
    let rooms_uid = uid_of(&after, "rooms")
        .expect("the rooms subscription")
        .clone();
    let asked = frame(
        &mut s,
        json!({"type":"subscription","event":"init","uid":rooms_uid,"data":memberships}),
    );
    if let Some(uid) = uid_of(&asked, "unread") {
        frame(&mut s, json!({"type":"items","uid":uid,"data":[]}));
    }
    for n in 1..rooms {
        let read = sent(&s.show_room(&room_id(n), now));
        let uid = &read[0]["uid"];
        frame(
            &mut s,
            json!({"type":"items","data":rows(n, per),"uid":uid}),
        );
    }
    s.show_room(&room_id(0), now);
    s.take_fresh();
    for n in 0..rooms {
        assert_eq!(
            s.rooms().history(&room_id(n)).map(|h| h.timeline.len()),
            Some(per as usize),
            "room {n} held"
        );
    }
    Loaded { session: s, live }
}

fn frame(ctx: &egui::Context, session: &Session, view: &mut ChatView) {
    let input = frames::input();
    view.follow_room(session.rooms().shown_id().map(str::to_owned));
    let output = ctx.run_ui(input, |ui| {
        let _ = chat::show(ui, session, view, &mut Pictures::default(), None, None);
    });
    let meshes = ctx.tessellate(output.shapes.clone(), output.pixels_per_point);
    std::hint::black_box(meshes);
    output.drop_without_applying_deltas();
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median frame showing general, settled.
fn frame_time(session: &Session, frames: usize) -> Duration {
    let ctx = egui::Context::default();
    directus_chat::views::apply_style(&ctx);
    let mut view = ChatView::default();
    for _ in 0..60 {
        frame(&ctx, session, &mut view);
    }
    median(
        (0..frames)
            .map(|_| {
                let started = Instant::now();
                frame(&ctx, session, &mut view);
                started.elapsed()
            })
            .collect(),
    )
}

/// Switch to each of `count` other rooms: the reads asked for, and the median time of the
/// switch plus the one frame that shows the room.
fn switching(loaded: &mut Loaded, count: usize, rooms: usize) -> (usize, Duration) {
    let ctx = egui::Context::default();
    directus_chat::views::apply_style(&ctx);
    let mut view = ChatView::default();
    for _ in 0..30 {
        frame(&ctx, &loaded.session, &mut view);
    }
    let mut reads = 0;
    let mut samples = Vec::new();
    for k in 0..count {
        let room = room_id(1 + k % (rooms - 1));
        let started = Instant::now();
        reads += sent(&loaded.session.show_room(&room, Instant::now())).len();
        frame(&ctx, &loaded.session, &mut view);
        samples.push(started.elapsed());
        let shown = loaded.session.timeline();
        assert!(
            !shown.is_empty()
                && shown
                    .iter()
                    .all(|m| m.room.as_deref() == Some(room.as_str())),
            "the switch showed the room at once"
        );
    }
    (reads, median(samples))
}

fn events_per_second(loaded: &mut Loaded, rooms: usize, per: i64, events: i64) -> f64 {
    let base = rooms as i64 * per;
    let frames: Vec<String> = (1..=events)
        .map(|k| {
            let room = (k as usize) % rooms;
            json!({"type":"subscription","event":"create","uid":loaded.live,"data":[row(base + k, room)]})
                .to_string()
        })
        .collect();
    let now = Instant::now();
    let started = Instant::now();
    for text in &frames {
        let _ = loaded.session.frame(text, now);
    }
    events as f64 / started.elapsed().as_secs_f64()
}

/// Cut and back: the reads the catch-up asks for, `missed` messages spread over every room.
fn catch_up_reads(loaded: &mut Loaded, rooms: usize, missed: i64) -> usize {
    let s = &mut loaded.session;
    let now = Instant::now();
    s.closed("cut", now);
    let at = s.next_deadline().unwrap();
    s.tick(at);
    let auth = sent(&s.opened(at)).remove(0);
    let subscribe = sent(&s.frame(
        &json!({"type":"auth","status":"ok","uid":auth["uid"],"refresh_token":"r2"}).to_string(),
        at,
    ))
    .remove(0);
    let newest = loaded_newest(s);
    let mut read = sent(&s.frame(
        &json!({"type":"subscription","event":"init","uid":subscribe["uid"]}).to_string(),
        at,
    ));
    let mut reads = read.len();
    let missed_rows: Vec<Value> = (1..=missed)
        .map(|k| row(newest + k, k as usize % rooms))
        .collect();
    // The catch-up is paged: answer each page until one comes back short.
    while let Some(page) = read.first().cloned() {
        let after = page["query"]["filter"]["id"]["_gt"].as_i64().unwrap_or(0);
        let limit = page["query"]["limit"].as_u64().unwrap_or(500) as usize;
        let data: Vec<&Value> = missed_rows
            .iter()
            .filter(|r| r["id"].as_i64().unwrap() > after)
            .take(limit)
            .collect();
        read = sent(&s.frame(
            &json!({"type":"items","uid":page["uid"],"data":data}).to_string(),
            at,
        ))
        .into_iter()
        .filter(|f| f["action"] == "read" && f["collection"] == "messages")
        .collect();
        reads += read.len();
    }
    reads
}

fn loaded_newest(s: &Session) -> i64 {
    s.rooms()
        .histories()
        .filter_map(|(_, h)| h.timeline.newest_id())
        .max()
        .unwrap_or(0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rooms, per, frames) = if full {
        (200, 1_000, 200)
    } else {
        (20, 100, 5)
    };
    println!(
        "rooms bench ({}):",
        if full { "full" } else { "quick pass" }
    );

    let before = counting_alloc::live();
    let one = loaded(1, per);
    let one_bytes = counting_alloc::live() - before;
    let before = counting_alloc::live();
    let mut many = loaded(rooms, per);
    let many_bytes = counting_alloc::live() - before;
    let per_room = (many_bytes - one_bytes) as f64 / (rooms - 1) as f64;

    let one_frame = frame_time(&one.session, frames);
    let many_frame = frame_time(&many.session, frames);
    // A screenful of rooms: the room list draws as many rows as with 200 (only those in view).
    let screenful = frame_time(&loaded(20.min(rooms), per).session, frames);
    println!("| | 1 room | {rooms} rooms | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| frame showing a room of {per} messages | {:.0} µs | {:.0} µs | {:.2}x |",
        one_frame.as_secs_f64() * 1e6,
        many_frame.as_secs_f64() * 1e6,
        many_frame.as_secs_f64() / one_frame.as_secs_f64()
    );
    println!(
        "| the same against 20 rooms (a screenful of the list) | {:.0} µs | {:.0} µs | {:.2}x |",
        screenful.as_secs_f64() * 1e6,
        many_frame.as_secs_f64() * 1e6,
        many_frame.as_secs_f64() / screenful.as_secs_f64()
    );
    let (reads, switch) = switching(&mut many, if full { 100 } else { 5 }, rooms);
    let mut one = one;
    let events = if full { 20_000 } else { 500 };
    let one_rate = events_per_second(&mut one, 1, per, events);
    let many_rate = events_per_second(&mut many, rooms, per, events);
    println!(
        "| live events routed per second | {one_rate:.0} | {many_rate:.0} | {:.2}x |",
        many_rate / one_rate
    );
    println!(
        "\nswitching to a loaded room: {reads} reads asked, {:.0} µs for the switch and the frame showing it",
        switch.as_secs_f64() * 1e6
    );
    assert_eq!(reads, 0, "a loaded room is shown without a read");
    println!(
        "memory: {:.0} KiB per room of {per} messages held ({:.0} bytes per message)",
        per_room / 1024.0,
        per_room / per as f64
    );
    let missed = if full { 2_000 } else { 200 };
    let reads = catch_up_reads(&mut many, rooms, missed);
    println!(
        "catch-up after a reconnect, {missed} missed across {rooms} rooms: {reads} read(s) (pages of up to 500)"
    );
    assert!(
        reads <= (missed as usize).div_ceil(500) + 1,
        "reads follow what was missed, not the rooms"
    );
}
