//! The chat panel: who and how connected (a banner while not online), the messages, what is
//! still being sent, the composer (which also edits).

use egui::RichText;
use web_time::Instant;

use super::Action;
use super::composer::{self, Composer};
use super::message_list::{Marks, MessageList};
use super::picture_viewer::Viewing;
use crate::core::notifications::{NotifyLevel, Permission};
use crate::core::session::{OutgoingState, Phase, Session};

/// What the chat panel keeps between frames.
#[derive(Default)]
pub struct ChatView {
    pub composer: Composer,
    pub list: MessageList,
    /// "Log out?" is on screen: logging out is never one stray keypress away.
    confirm_logout: bool,
    /// Rooms not shown: where their list was scrolled to, and their unsent draft.
    parked: std::collections::HashMap<String, (MessageList, composer::Draft)>,
    /// The room the list and composer are of.
    room: Option<String>,
    pub dialogs: super::room_dialogs::RoomDialogs,
    /// A message to bring into view once its room is the one shown (a search hit).
    reveal: Option<(String, i64)>,
    /// Whether notifications can be shown (the app says, each frame).
    pub notify_permission: Permission,
    /// A picture shown large, over the chat.
    pub viewing: Option<Viewing>,
}

impl ChatView {
    /// Files attached to the drafts of rooms not shown.
    pub fn drafts_attached(&self) -> impl Iterator<Item = &crate::core::session::NewFile> {
        self.parked.values().flat_map(|(_, draft)| draft.attached())
    }

    /// The session shows `shown` now: if that is another room, the one left keeps its scroll
    /// position and draft (an edit in progress ends), the one shown gets back its own. A
    /// draft never goes out into another room than the one it was written in.
    pub fn follow_room(&mut self, shown: Option<String>) {
        self.switch_lists(shown);
        // Once: if the room asked for is not the one shown now (unknown, or left), it is
        // dropped rather than kept for a later visit.
        if let Some((room, id)) = self.reveal.take()
            && self.room.as_ref() == Some(&room)
        {
            self.list.reveal(id);
        }
    }

    /// Bring message `id` of `room` into view once `follow_room` finds that room shown (the
    /// app asks the session to show it first).
    pub fn reveal(&mut self, room: String, id: i64) {
        self.reveal = Some((room, id));
    }

    fn switch_lists(&mut self, shown: Option<String>) {
        if shown == self.room {
            return;
        }
        let (Some(left), Some(room)) = (self.room.take(), shown.clone()) else {
            // Its id just became known (what is on screen is that room's); or no room at all
            // (another account): nothing parked is of use any more.
            if shown.is_none() {
                self.parked.clear();
                self.composer.done();
            }
            self.room = shown;
            return;
        };
        if self.composer.editing.is_some() {
            self.composer.done();
        }
        let (list, draft) = self.parked.remove(&room).unwrap_or_default();
        let mut list = std::mem::replace(&mut self.list, list);
        list.park();
        let draft = self.composer.swap_draft(draft);
        self.parked.insert(left, (list, draft));
        self.room = shown;
    }
}

/// `pictures`: the thumbnails of attached pictures; `store_error`: why the session and unsent
/// messages could not be saved on this device; `divider`: the first message that was unread
/// when the user looked again.
pub fn show(
    ui: &mut egui::Ui,
    session: &Session,
    view: &mut ChatView,
    pictures: &mut dyn super::Thumbnails,
    store_error: Option<&str>,
    divider: Option<i64>,
) -> Option<Action> {
    let mut action = None;
    // Files dropped anywhere on the window go with the next message.
    let dropped = ui.input(|i| i.raw.dropped_files.clone());
    if !dropped.is_empty() {
        action = Some(Action::Attach(
            dropped.into_iter().map(super::Dropped).collect(),
        ));
    }
    // So does a picture pasted (natively; the web page's pastes come through the app).
    let pasted = ui.input(|i| {
        i.events.iter().find_map(|e| match e {
            egui::Event::PasteImage(picture) => Some(picture.clone()),
            _ => None,
        })
    });
    if let Some(picture) = pasted {
        action = action.or(Some(Action::PastePicture(super::Pasted(picture))));
    }
    // Before any widget: the composer must not take Ctrl+K as typing.
    if session.rooms().known() {
        view.dialogs.shortcuts(ui.ctx());
    }
    egui::Panel::top("chat-header").show(ui, |ui| {
        ui.horizontal(|ui| {
            let who = match (session.display_name(), session.email()) {
                (Some(name), Some(email)) if name != email => {
                    format!("Logged in as {name} ({email})")
                }
                (Some(name), _) => format!("Logged in as {name}"),
                (None, _) => "Logged in".to_owned(),
            };
            ui.label(who);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Log out").clicked() {
                    view.confirm_logout = true;
                }
            });
        });
        if let Some(asked) = room_header(ui, session, view) {
            action = Some(asked);
        }
        if let Some(asked) = banner(ui, session) {
            action = Some(asked);
        }
        if let Some(notice) = session.notice() {
            ui.label(RichText::new(notice).color(ui.visuals().warn_fg_color));
        }
        if let Some(error) = store_error {
            let text = format!("Not saved on this device (lost if the app closes): {error}");
            ui.label(RichText::new(text).color(ui.visuals().warn_fg_color));
        }
    });
    // From the start, not once the rooms are known: the messages keep the width they were
    // laid out for (a list that narrows later re-wraps every row).
    egui::Panel::left("rooms")
        .resizable(true)
        .default_size(170.0)
        .show(ui, |ui| {
            if !session.rooms().known() {
                ui.weak("Rooms…");
            } else if let Some(asked) = super::room_list::show(ui, session, &mut view.dialogs) {
                action = Some(asked);
            }
        });
    if session.rooms().known()
        && let Some(asked) = view.dialogs.show(ui.ctx(), session)
    {
        action = Some(asked);
    }
    egui::Panel::bottom("composer").show(ui, |ui| {
        if let Some(asked) = pending(ui, session) {
            action = Some(asked);
        }
        // Esc while the logout question is open is the question's, not the edit's.
        let asking = view.confirm_logout;
        if let Some(sent) = composer::show(ui, session, &mut view.composer, asking) {
            if matches!(sent, Action::Send(_)) {
                view.list.jump_to_bottom();
            }
            action = Some(sent);
        }
    });
    let marks = Marks {
        deleting: session.deleting(),
        divider,
        home_end: view.composer.text.is_empty(),
    };
    let list = &mut view.list;
    egui::CentralPanel::default().show(ui, |ui| match list.show(ui, session, &marks, pictures) {
        Some(Action::StartEdit(id)) => view.composer.start_editing(session, id),
        Some(Action::ViewPicture(file)) => view.viewing = Some(Viewing::new(file)),
        Some(other) => action = Some(other),
        None => {}
    });
    if let Some(viewing) = &mut view.viewing
        && !super::picture_viewer::show(ui.ctx(), viewing, pictures)
    {
        view.viewing = None;
        view.composer.focused = false; // the keyboard goes back to the composer
    }
    if view.confirm_logout && confirm_logout(ui.ctx(), session, view) {
        action = Some(Action::LogOut);
    }
    action
}

/// The shown room's name, with Leave (not `general`: everybody is in it) and, in a private
/// channel the user created, Add people.
fn room_header(ui: &mut egui::Ui, session: &Session, view: &mut ChatView) -> Option<Action> {
    let dialogs = &mut view.dialogs;
    let room = session.rooms().shown_room()?;
    let mine = session.me().and_then(|m| m.id.as_deref());
    let mut action = None;
    ui.horizontal(|ui| {
        let title = match room.kind {
            crate::core::protocol::rooms::RoomKind::Channel => format!("# {}", room.title()),
            crate::core::protocol::rooms::RoomKind::Dm => room.title().to_owned(),
        };
        ui.heading(title);
        if !room.is_default() && ui.button(format!("Leave {}", room.title())).clicked() {
            action = Some(Action::Leave(room.id.clone()));
        }
        if room.private
            && room.kind == crate::core::protocol::rooms::RoomKind::Channel
            && mine.is_some()
            && room.creator.as_deref() == mine
            && ui.button("Add people").clicked()
        {
            dialogs.open(super::room_dialogs::Dialog::People(Some(room.id.clone())));
            action = Some(Action::ListPeople);
        }
        // The user's setting for the room, kept on the server (it follows them).
        let mut level = room.notify;
        egui::ComboBox::from_label("Notify")
            .selected_text(level.label())
            .show_ui(ui, |ui| {
                for option in NotifyLevel::EVERY {
                    ui.selectable_value(&mut level, option, option.label());
                }
            });
        if level != room.notify {
            action = Some(Action::SetNotify {
                room: room.id.clone(),
                level,
            });
        }
        // Browsers ask once, and only on a click.
        match view.notify_permission {
            Permission::Ask if ui.button("Turn on notifications").clicked() => {
                action = Some(Action::AllowNotifications);
            }
            Permission::Denied => {
                ui.weak("(notifications are blocked for this page)");
            }
            _ => {}
        }
    });
    action
}

/// Asks before logging out; true once confirmed. Closing it gives the composer the keyboard
/// back.
fn confirm_logout(ctx: &egui::Context, session: &Session, view: &mut ChatView) -> bool {
    let mut confirmed = false;
    let modal = egui::Modal::new(egui::Id::unique("confirm-logout")).show(ctx, |ui| {
        ui.set_max_width(360.0);
        let who = session.email().unwrap_or("this account");
        let server = session.server().map_or("the server", |s| s.http.as_str());
        ui.label(RichText::new(format!("Log out of {server} as {who}?")).strong());
        ui.label("This device forgets the session; you will need the password again.");
        let unsent = session.outbox().len();
        if unsent > 0 {
            ui.label(format!(
                "{unsent} unsent message{} stay here and go out after the next login.",
                if unsent == 1 { "" } else { "s" }
            ));
        }
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            confirmed = ui.button("Yes, log out").clicked();
            let cancel = ui.button("Cancel");
            // The keyboard starts on Cancel: Enter right away keeps the session.
            if ui.memory(|m| m.focused().is_none()) {
                cancel.request_focus();
            }
            if cancel.clicked() {
                ui.close();
            }
        });
    });
    if confirmed || modal.should_close() {
        view.confirm_logout = false;
        view.composer.focused = false;
    }
    confirmed
}

/// The connection state in words (also mirrored for screen readers on the web).
pub fn status_text(session: &Session) -> String {
    let status = match session.phase() {
        Phase::Online if session.history_loaded() => "Online".to_owned(),
        Phase::Online => "Loading messages…".to_owned(),
        Phase::Connecting { .. } | Phase::Authenticating { .. } => "Connecting…".to_owned(),
        Phase::Reconnecting { at } => {
            let secs = at.saturating_duration_since(Instant::now()).as_secs() + 1;
            format!("Offline: reconnecting in {secs} s")
        }
        Phase::LoggedOut => "Logged out".to_owned(),
    };
    if session.showing_saved() {
        format!("{status} · showing messages saved on this device; they may be out of date")
    } else {
        status
    }
}

/// A coloured strip while not online (with "Retry now" and what waits to be sent); a quiet
/// "Online" otherwise.
fn banner(ui: &mut egui::Ui, session: &Session) -> Option<Action> {
    let online = session.phase() == Phase::Online && session.history_loaded();
    let waiting = session.outbox().len();
    let mut text = status_text(session);
    if waiting > 0 {
        text += &format!(
            " · {waiting} message{} waiting to send",
            if waiting == 1 { "" } else { "s" }
        );
    }
    if online && waiting == 0 {
        ui.weak(text);
        return None;
    }
    let fill = if online {
        ui.visuals().faint_bg_color
    } else {
        ui.visuals().warn_fg_color.gamma_multiply(0.25)
    };
    egui::Frame::new()
        .fill(fill)
        .inner_margin(6.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(text).strong());
                let offline = matches!(session.phase(), Phase::Reconnecting { .. });
                (offline && ui.button("Retry now").clicked()).then_some(Action::RetryNow)
            })
            .inner
        })
        .inner
}

/// Messages written but not confirmed yet (kept across restarts), newest last. One the server
/// refused for good says why and offers Retry and Discard: nothing written vanishes unseen.
fn pending(ui: &mut egui::Ui, session: &Session) -> Option<Action> {
    let mut action = None;
    // Those of the shown room, and of rooms no longer listed (to be cancelled: never left
    // unseen with their files on the server).
    let rooms = session.rooms();
    let shown = rooms.shown_id();
    let here = |room: Option<&str>| {
        room.is_none()
            || room == shown
            || room.is_some_and(|r| rooms.known() && rooms.get(r).is_none())
    };
    for post in session.posts().iter().filter(|p| here(p.room.as_deref())) {
        ui.horizontal_wrapped(|ui| {
            let key = &post.client_key;
            // Written here by another account: it waits for that account, untouched.
            if !session.posts_as(post) {
                ui.label(RichText::new("Another account").strong());
                let owner = post.owner.as_deref().unwrap_or_default();
                ui.weak(format!("files waiting for {owner} to log in"));
                return;
            }
            ui.label(RichText::new("You").strong());
            match post.failed() {
                Some(why) => {
                    let text = format!("not sent: {why}");
                    ui.label(RichText::new(text).color(ui.visuals().error_fg_color));
                    if ui.button("Retry").clicked() {
                        action = Some(Action::RetryPost(key.clone()));
                    }
                }
                None => {
                    let (sent, total) = post.progress();
                    let done = if total == 0 {
                        1.0
                    } else {
                        sent as f32 / total as f32
                    };
                    let names: Vec<&str> =
                        post.uploads.iter().map(|u| u.file.name.as_str()).collect();
                    ui.weak(format!("uploading {}", names.join(", ")));
                    ui.add(
                        egui::ProgressBar::new(done)
                            .desired_width(120.0)
                            .show_percentage(),
                    );
                    if post.held_in_memory() {
                        ui.weak(if cfg!(target_arch = "wasm32") {
                            "(only this page holds the files: keep it open until they are sent)"
                        } else {
                            "(only this window holds the files: keep it open until they are sent)"
                        });
                    }
                }
            }
            if ui.button("Cancel").clicked() {
                action = Some(Action::CancelPost(key.clone()));
            }
            let preview: String = post.caption.chars().take(200).collect();
            ui.label(RichText::new(preview).weak());
        });
    }
    for outgoing in session.outbox_here() {
        ui.horizontal_wrapped(|ui| {
            let who = if session.writes_as(outgoing) {
                "You"
            } else {
                "Another account"
            };
            ui.label(RichText::new(who).strong());
            match &outgoing.state {
                // Written here by another account: it waits for that account, never sent as us.
                _ if !session.writes_as(outgoing) => {
                    let owner = outgoing.owner.as_deref().unwrap_or_default();
                    ui.weak(format!("waiting for {owner} to log in"));
                    if ui.button("Discard").clicked() {
                        action = Some(Action::Discard(outgoing.client_key.clone()));
                    }
                }
                OutgoingState::Queued | OutgoingState::InFlight
                    if session.phase() == Phase::Online =>
                {
                    ui.weak("sending…");
                }
                // Offline: it waits for the connection, nothing is being sent.
                OutgoingState::Queued | OutgoingState::InFlight => {
                    ui.weak("waiting");
                }
                OutgoingState::Failed(reason) => {
                    let text = format!("not sent: {reason}");
                    ui.label(RichText::new(text).color(ui.visuals().error_fg_color));
                    let key = &outgoing.client_key;
                    if ui.button("Retry").clicked() {
                        action = Some(Action::RetrySend(key.clone()));
                    }
                    if ui.button("Discard").clicked() {
                        action = Some(Action::Discard(key.clone()));
                    }
                }
            }
            let readable = session.names().readable(&outgoing.content);
            let preview: String = readable.chars().take(200).collect();
            ui.label(RichText::new(preview).weak());
        });
    }
    action
}
