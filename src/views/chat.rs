//! The chat panel: who and how connected, the messages, the composer.

use egui::{Key, KeyboardShortcut, Modifiers, RichText, ScrollArea, TextEdit};
use web_time::Instant;

use super::Action;
use crate::core::protocol::MessageItem;
use crate::core::session::{OutgoingState, Phase, Session};

/// Text the composer holds between frames, and why the last send was refused.
#[derive(Default)]
pub struct Composer {
    pub text: String,
    pub error: Option<String>,
    /// The composer got the keyboard when the chat appeared.
    focused: bool,
}

/// `store_error`: why the session and unsent messages could not be saved on this device.
pub fn show(
    ui: &mut egui::Ui,
    session: &Session,
    composer: &mut Composer,
    store_error: Option<&str>,
) -> Option<Action> {
    let mut action = None;
    egui::Panel::top("chat-header").show(ui, |ui| {
        ui.horizontal(|ui| {
            let who = session
                .email()
                .map_or("Logged in".to_owned(), |e| format!("Logged in as {e}"));
            ui.label(who);
            ui.separator();
            action = status(ui, session).or(action.take());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Log out").clicked() {
                    action = Some(Action::LogOut);
                }
            });
        });
        if let Some(notice) = session.notice() {
            ui.label(RichText::new(notice).color(ui.visuals().warn_fg_color));
        }
        if let Some(error) = store_error {
            let text = format!("Not saved on this device (lost if the app closes): {error}");
            ui.label(RichText::new(text).color(ui.visuals().warn_fg_color));
        }
    });
    egui::Panel::bottom("composer").show(ui, |ui| {
        if let Some(sent) = composer_row(ui, composer) {
            action = Some(sent);
        }
    });
    egui::CentralPanel::default().show(ui, |ui| messages(ui, session));
    action
}

/// The connection state in words (also mirrored for screen readers on the web).
pub fn status_text(session: &Session) -> String {
    match session.phase() {
        Phase::Online if session.history_loaded() => "Online".to_owned(),
        Phase::Online => "Loading messages…".to_owned(),
        Phase::Connecting { .. } | Phase::Authenticating { .. } => "Connecting…".to_owned(),
        Phase::Reconnecting { at } => {
            let secs = at.saturating_duration_since(Instant::now()).as_secs() + 1;
            format!("Offline: reconnecting in {secs} s")
        }
        Phase::LoggedOut => "Logged out".to_owned(),
    }
}

fn status(ui: &mut egui::Ui, session: &Session) -> Option<Action> {
    ui.label(status_text(session));
    let waiting = session.outbox().len();
    if waiting > 0 {
        ui.label(format!("({waiting} waiting to send)"));
    }
    let offline = matches!(session.phase(), Phase::Reconnecting { .. });
    (offline && ui.button("Retry now").clicked()).then_some(Action::RetryNow)
}

fn messages(ui: &mut egui::Ui, session: &Session) {
    ScrollArea::vertical()
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .show(ui, |ui| {
            if session.timeline().is_empty()
                && session.outbox().is_empty()
                && session.history_loaded()
            {
                ui.weak("No messages yet. Say hello!");
            }
            for message in session.timeline().iter() {
                message_row(ui, message);
            }
            for outgoing in session.outbox() {
                let state = match &outgoing.state {
                    OutgoingState::Queued | OutgoingState::InFlight => "sending…".to_owned(),
                    OutgoingState::Failed(reason) => format!("not sent: {reason}"),
                };
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new("You").strong());
                    ui.weak(state);
                });
                ui.label(RichText::new(&outgoing.content).weak());
                ui.add_space(4.0);
            }
        });
}

fn message_row(ui: &mut egui::Ui, message: &MessageItem) {
    let author = message.author.first_name.as_deref().unwrap_or("Someone");
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(author).strong());
        if let Some(time) = message.date_created.as_deref().map(local_time) {
            ui.weak(time);
        }
    });
    ui.label(&message.content);
    ui.add_space(4.0);
}

/// Directus sends UTC ISO-8601; people read their own clock.
pub fn local_time(iso: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(iso) {
        Ok(time) => time
            .with_timezone(&chrono::Local)
            .format("%H:%M")
            .to_string(),
        Err(_) => iso.to_owned(),
    }
}

fn composer_row(ui: &mut egui::Ui, composer: &mut Composer) -> Option<Action> {
    let mut action = None;
    ui.add_space(4.0);
    if let Some(error) = &composer.error {
        ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
    }
    ui.horizontal(|ui| {
        let label = ui.label("Message");
        let send_width = 60.0;
        let edit = TextEdit::multiline(&mut composer.text)
            .hint_text("Write a message (Enter sends, Shift+Enter adds a line)")
            .desired_rows(2)
            .desired_width(ui.available_width() - send_width)
            // Shift+Enter is the newline; plain Enter sends (below).
            .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter));
        let response = ui.add(edit).labelled_by(label.id);
        let enter =
            response.has_focus() && ui.input(|i| i.key_pressed(Key::Enter) && !i.modifiers.shift);
        let clicked = ui.button("Send").clicked();
        if (enter || clicked) && !composer.text.trim().is_empty() {
            action = Some(Action::Send(composer.text.clone()));
        }
        // The keyboard goes to the composer when the chat appears and stays after a send.
        if enter || clicked || !composer.focused {
            response.request_focus();
            composer.focused = true;
        }
    });
    ui.add_space(4.0);
    action
}
