//! `cargo bench --bench pictures`: scrolling through 1,000 messages that each carry a picture,
//! against 1,000 messages of text, a new place every frame (rows never drawn before: the worst
//! case), with the frame's CPU time (layout and tessellation) measured. Pictures arrive as soon
//! as they are asked for, as from a quick server: what is measured is placing and drawing them
//! and keeping their textures. Also the textures held at most (bounded by `pictures::KEEP`).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small, quick pass.

use std::time::{Duration, Instant};

use directus_chat::core::session::Session;
use directus_chat::edge::pictures::{KEEP, Pictures, THUMB_HEIGHT, THUMB_WIDTH};
use directus_chat::views::chat::{self, ChatView};
use serde_json::{Value, json};

#[path = "support/frames.rs"]
mod frames;
#[path = "support/online.rs"]
mod online;

fn row(id: i64, picture: bool) -> Value {
    let time = format!(
        "2026-11-{:02}T{:02}:{:02}:00.000Z",
        1 + id / 1440,
        (id / 60) % 24,
        id % 60
    );
    let mut row = json!({"id": id, "content": format!("message {id}: the quick brown fox"),
        "date_created": time, "date_updated": null, "client_key": null,
        "user_created": {"id": "u-Bob", "first_name": "Bob"}});
    if picture {
        // A photo's shape: shown at 320×240.
        row["files"] = json!([{ "id": format!("00000000-0000-4000-8000-{id:012}"),
            "name": format!("photo-{id}.jpg"), "type": "image/jpeg", "size": 2_400_000,
            "width": 4000, "height": 3000 }]);
    }
    row
}

/// One frame of the chat panel, tessellated; the pictures it asked for arrive at once.
fn frame(
    ctx: &egui::Context,
    session: &Session,
    view: &mut ChatView,
    pictures: &mut Pictures,
    image: &egui::ColorImage,
) -> Duration {
    let started = Instant::now();
    let output = ctx.run_ui(frames::input(), |ui| {
        let _ = chat::show(ui, session, view, pictures, None, None);
    });
    let _ = ctx.tessellate(output.shapes.clone(), output.pixels_per_point);
    let took = started.elapsed();
    output.drop_without_applying_deltas();
    for key in pictures.wanted().to_vec() {
        pictures.put(ctx, key, image.clone());
    }
    pictures.end_frame();
    took
}

struct Figures {
    median: Duration,
    p95: Duration,
    most_kept: usize,
}

fn scroll_through(count: i64, with_pictures: bool, frames: usize) -> Figures {
    let (session, _) =
        online::online_with((1..=count).rev().map(|id| row(id, with_pictures)).collect());
    let ctx = egui::Context::default();
    directus_chat::views::apply_style(&ctx);
    let mut view = ChatView::default();
    let mut pictures = Pictures::default();
    let image = egui::ColorImage::new(
        [THUMB_WIDTH as usize, THUMB_HEIGHT as usize],
        vec![egui::Color32::from_rgb(90, 120, 160); (THUMB_WIDTH * THUMB_HEIGHT) as usize],
    );
    for _ in 0..30 {
        frame(&ctx, &session, &mut view, &mut pictures, &image); // fonts, caches, settle at the bottom
    }
    let mut samples = Vec::new();
    let mut most_kept = 0;
    for i in 0..frames {
        // From the newest up to the oldest, a new place each frame.
        view.list
            .scroll_to_fraction(1.0 - i as f64 / (frames - 1).max(1) as f64);
        samples.push(frame(&ctx, &session, &mut view, &mut pictures, &image));
        most_kept = most_kept.max(pictures.kept());
    }
    assert!(!view.list.at_bottom(), "scrolled up through the history");
    if with_pictures {
        assert!(most_kept > 0, "pictures were drawn");
    }
    samples.sort();
    Figures {
        median: samples[samples.len() / 2],
        p95: samples[samples.len() * 95 / 100],
        most_kept,
    }
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (count, frames) = if full { (1_000, 400) } else { (100, 10) };
    println!(
        "pictures bench ({}):",
        if full { "full" } else { "quick pass" }
    );
    println!(
        "| {count} messages, scrolled through in {frames} frames | median frame | 95th percentile | textures held at most |"
    );
    println!("|---|---|---|---|");
    let text = scroll_through(count, false, frames);
    let pictures = scroll_through(count, true, frames);
    for (what, f) in [("text only", &text), ("each with a picture", &pictures)] {
        println!(
            "| {what} | {} | {} | {} |",
            micros(f.median),
            micros(f.p95),
            f.most_kept
        );
    }
    let ratio = pictures.median.as_secs_f64() / text.median.as_secs_f64();
    println!(
        "\nframe with pictures / frame with text (medians): {ratio:.2}x (target: within 1.5x)"
    );
    let bytes = KEEP * (THUMB_WIDTH * THUMB_HEIGHT * 4) as usize;
    println!(
        "textures: at most {KEEP} kept, {:.1} MiB at most ({}×{} RGBA each)",
        bytes as f64 / (1024.0 * 1024.0),
        THUMB_WIDTH,
        THUMB_HEIGHT
    );
    assert!(pictures.most_kept <= KEEP, "the texture cache is bounded");
}
