//! The frames a session asked to send, as JSON (what the benches answer), and the input of
//! one frame of the window the benches draw (1/60 s apart in egui's clock, whatever the wall
//! clock does).

use directus_chat::core::session::Effect;
use serde_json::Value;

pub fn sent(effects: &[Effect]) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(text) => serde_json::from_str(text).ok(),
            _ => None,
        })
        .collect()
}

static FRAME_NO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The input of one frame of a 900x650 window, its clock a 60th of a second on from the last.
#[allow(dead_code)] // not every bench draws
pub fn input() -> egui::RawInput {
    let n = FRAME_NO.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    egui::RawInput {
        time: Some(n as f64 / 60.0),
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(900.0, 650.0),
        )),
        ..Default::default()
    }
}
