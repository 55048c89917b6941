//! `cargo bench --bench chat_view`: what the chat costs with a long history.
//! - frame CPU time (layout + tessellation of the chat panel) with 100, 10,000 and 100,000
//!   messages in the timeline, at the bottom and scrolled to the middle;
//! - live events decoded and applied per second;
//! - heap bytes per stored message (a counting allocator);
//! - repaints the view asks for while nothing happens.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small, quick pass, so it
//! cannot rot.

use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use directus_chat::core::session::Session;
use directus_chat::edge::pictures::Pictures;
use directus_chat::views::chat::{self, ChatView};
use serde_json::{Value, json};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/frames.rs"]
mod frames;
#[path = "support/online.rs"]
mod online;
use counting_alloc::LIVE_BYTES;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

fn row(id: i64) -> Value {
    let author = if id % 3 == 0 { "Bob" } else { "Alice" };
    // Two authors taking turns in bursts, a minute apart: groups and a few day changes.
    let minute = id;
    let time = format!(
        "2026-{:02}-{:02}T{:02}:{:02}:00.000Z",
        11,
        1 + (minute / 1440) % 28,
        (minute / 60) % 24,
        minute % 60
    );
    json!({"id": id, "content": format!("message {id}: the quick brown fox jumps over the lazy dog"),
           "date_created": time, "date_updated": null, "client_key": null,
           "user_created": {"id": format!("u-{author}"), "first_name": author}})
}

/// A session online with `count` messages, and the uid its live events carry.
fn online_with(count: i64) -> (Session, String) {
    online::online_with((1..=count).rev().map(row).collect())
}

/// Triangles painted in the last frame (to see that rows are really drawn).
static TRIANGLES: AtomicIsize = AtomicIsize::new(0);

/// One frame of the chat panel, painted into triangles; returns egui's requested repaint delay.
fn frame(ctx: &egui::Context, session: &Session, view: &mut ChatView) -> Duration {
    let output = ctx.run_ui(frames::input(), |ui| {
        let _ = chat::show(ui, session, view, &mut Pictures::default(), None, None);
    });
    let delay = output
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map_or(Duration::MAX, |v| v.repaint_delay);
    let shapes = output.shapes.clone();
    let meshes = ctx.tessellate(shapes, output.pixels_per_point);
    let triangles: usize = meshes
        .iter()
        .map(|m| match &m.primitive {
            egui::epaint::Primitive::Mesh(mesh) => mesh.indices.len() / 3,
            _ => 0,
        })
        .sum();
    TRIANGLES.store(triangles as isize, Ordering::Relaxed);
    output.drop_without_applying_deltas();
    delay
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct FrameFigures {
    bottom: Duration,
    middle: Duration,
    idle_delay: Duration,
}

fn frame_figures(count: i64, frames: usize) -> FrameFigures {
    let (session, _) = online_with(count);
    let ctx = egui::Context::default();
    directus_chat::views::apply_style(&ctx);
    let mut view = ChatView::default();
    for _ in 0..60 {
        frame(&ctx, &session, &mut view); // fonts, layout caches, settle at the bottom
    }
    let mut samples = Vec::new();
    let mut idle_delay = Duration::MAX;
    for _ in 0..frames {
        let started = Instant::now();
        idle_delay = frame(&ctx, &session, &mut view);
        samples.push(started.elapsed());
    }
    let bottom = median(samples);
    // Scrolled into the middle of the history (rows never drawn before: estimated, then
    // measured), then steady there.
    view.list.scroll_to_fraction(0.5);
    for _ in 0..10 {
        frame(&ctx, &session, &mut view);
    }
    assert!(
        count < 100 || !view.list.at_bottom(),
        "scrolled into the middle"
    );
    let mut samples = Vec::new();
    for _ in 0..frames {
        let started = Instant::now();
        frame(&ctx, &session, &mut view);
        samples.push(started.elapsed());
    }
    FrameFigures {
        bottom,
        middle: median(samples),
        idle_delay,
    }
}

fn events_per_second(base: i64, events: i64) -> f64 {
    let (mut session, live) = online_with(base);
    let frames: Vec<String> = (base + 1..=base + events)
        .map(|id| {
            json!({"type":"subscription","event":"create","uid":live,"data":[row(id)]}).to_string()
        })
        .collect();
    let now = Instant::now();
    let started = Instant::now();
    for text in &frames {
        let _ = session.frame(text, now);
    }
    let elapsed = started.elapsed();
    // A flood past the bound keeps the newest (see `KEEP_MESSAGES`).
    let kept = (base + events).min(directus_chat::core::session::KEEP_MESSAGES as i64);
    assert_eq!(session.timeline().len() as i64, kept);
    events as f64 / elapsed.as_secs_f64()
}

fn bytes_per_message(count: i64) -> f64 {
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let (session, _) = online_with(count);
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    let empty_before = LIVE_BYTES.load(Ordering::Relaxed);
    let (empty, _) = online_with(0);
    let empty_after = LIVE_BYTES.load(Ordering::Relaxed);
    let per = ((after - before) - (empty_after - empty_before)) as f64 / count as f64;
    drop((session, empty));
    per
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (sizes, frames): (&[i64], usize) = if full {
        (&[100, 10_000, 100_000], 200)
    } else {
        (&[100, 2_000], 5)
    };
    println!(
        "chat_view bench ({}):",
        if full { "full" } else { "quick pass" }
    );
    println!(
        "| messages in the timeline | frame at the bottom | frame in the middle | triangles drawn | repaint asked when idle |"
    );
    println!("|---|---|---|---|---|");
    let mut at_bottom = Vec::new();
    for &count in sizes {
        let f = frame_figures(count, frames);
        let idle = if f.idle_delay == Duration::MAX {
            "none".to_owned()
        } else {
            format!("after {:?}", f.idle_delay)
        };
        let triangles = TRIANGLES.load(Ordering::Relaxed);
        println!(
            "| {count} | {} | {} | {triangles} | {idle} |",
            micros(f.bottom),
            micros(f.middle)
        );
        assert!(triangles > 1000, "the rows were drawn");
        // Nothing happens: the view must not ask for frames (the app wakes for its timers).
        assert_eq!(
            f.idle_delay,
            Duration::MAX,
            "the idle chat view asks for repaints"
        );
        at_bottom.push(f.bottom);
    }
    let ratio = at_bottom.last().unwrap().as_secs_f64() / at_bottom[0].as_secs_f64();
    println!(
        "\nframe with {} messages / frame with {}: {ratio:.2}x",
        sizes.last().unwrap(),
        sizes[0]
    );
    let (base, events) = if full { (10_000, 20_000) } else { (100, 500) };
    println!(
        "live events decoded and applied: {:.0} per second (into a timeline of {base})",
        events_per_second(base, events)
    );
    let count = if full { 100_000 } else { 2_000 };
    println!(
        "memory: {:.0} bytes per stored message ({count} messages of ~60 characters)",
        bytes_per_message(count)
    );
}
