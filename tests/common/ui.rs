//! egui_kittest helpers: the real app on a real server, widgets found by their labels.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use directus_chat::app::{ChatApp, Startup};
use directus_chat::edge::store::SessionStore;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

pub type App = Harness<'static, ChatApp>;

pub fn temp_store(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dc-ui-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The app, its notifications shown nowhere (tests must not put any on this desktop).
pub fn app(server: &str, store: &PathBuf) -> Harness<'static, ChatApp> {
    app_notifying(server, store, Some(Box::new(Silent)))
}

struct Silent;

impl directus_chat::edge::notify::Notify for Silent {
    fn show(&mut self, _: &directus_chat::core::notifications::Notification) {}
    fn clicked(&mut self) -> Vec<(String, i64)> {
        Vec::new()
    }
}

/// The app with `notifier` in place of the platform's notifications.
pub fn app_notifying(
    server: &str,
    store: &PathBuf,
    notifier: Option<Box<dyn directus_chat::edge::notify::Notify>>,
) -> Harness<'static, ChatApp> {
    app_with(server, store, |startup| startup.notifier = notifier)
}

/// The app as a test sets it up (its own Downloads folder; a file dialog that picks nothing,
/// unless `adjust` puts another in).
pub fn app_with(
    server: &str,
    store: &PathBuf,
    adjust: impl FnOnce(&mut Startup),
) -> Harness<'static, ChatApp> {
    let mut startup = Startup {
        server: Some(server.to_owned()),
        store: SessionStore::in_dir(store),
        notice: None,
        notifier: None,
        downloads: Some(store.join("downloads")),
        file_dialog: Some(std::sync::Arc::new(|| None)),
    };
    adjust(&mut startup);
    Harness::builder()
        .with_size(egui::vec2(800.0, 600.0))
        .build_eframe(move |cc| ChatApp::new(&cc.egui_ctx, startup))
}

/// Step the app (real sockets run meanwhile) until `done` holds.
pub fn wait_until(
    h: &mut Harness<'static, ChatApp>,
    what: &str,
    done: impl Fn(&Harness<'static, ChatApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        h.step();
        if done(h) {
            return;
        }
        if Instant::now() >= deadline {
            // What the window shows, to see why.
            panic!(
                "timed out waiting for {what}; the window shows:\n{:#?}",
                h.root()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn shows(h: &Harness<'static, ChatApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

pub fn fill(h: &mut Harness<'static, ChatApp>, label: &str, text: &str) {
    let role = role_of(label);
    h.get_by_role_and_label(role, label).focus();
    h.run_steps(2);
    h.get_by_role_and_label(role, label).type_text(text);
    h.run_steps(2);
}

pub fn role_of(label: &str) -> Role {
    match label {
        "Password" => Role::PasswordInput,
        "Message" => Role::MultilineTextInput,
        _ => Role::TextInput,
    }
}

pub fn log_in(h: &mut Harness<'static, ChatApp>, email: &str, password: &str) {
    fill(h, "Email", email);
    fill(h, "Password", password);
    h.get_by_label("Log in").click();
    h.run_steps(2);
}

/// Turn the mouse wheel over the message list (positive `dy` scrolls towards older).
pub fn wheel(h: &mut App, dy: f32) {
    h.hover_at(egui::pos2(400.0, 300.0));
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, dy),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(4);
}

/// Scroll by `dy` in small wheel steps that egui applies at once (no smoothing left over):
/// where the view is stays exact between frames.
pub fn wheel_exactly(h: &mut App, dy: f32) {
    h.hover_at(egui::pos2(400.0, 300.0));
    let step = 7.0_f32.copysign(dy);
    let mut left = dy;
    while left.abs() >= 1.0 {
        let delta = if left.abs() < step.abs() { left } else { step };
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, delta),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
        left -= delta;
    }
}

/// `count` messages "`prefix` N" posted in one request (ids in this order).
pub fn post_many(rest: &xtask::rest::Rest, prefix: &str, count: usize) {
    let rows: Vec<serde_json::Value> = (0..count)
        .map(|n| serde_json::json!({ "content": format!("{prefix} {n}") }))
        .collect();
    rest.post("/items/messages", &serde_json::Value::Array(rows))
        .unwrap()
        .data("post many")
        .unwrap();
}
