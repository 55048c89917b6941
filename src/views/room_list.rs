//! The room list beside the chat: channels, then DMs named after the other person, each with
//! its unread count (bold while it has one) and, in red, how many of those mention the user.
//! A click shows the room; above, what opens the room dialogs (quick switcher, search, new
//! channel, browse channels, new direct message).

use egui::RichText;

use super::Action;
use super::room_dialogs::{Dialog, RoomDialogs};
use crate::core::protocol::rooms::RoomKind;
use crate::core::session::Session;

/// The label a room's row carries (what tests and screen readers find it by): its title, and
/// how many unread messages it holds.
pub fn room_label(title: &str, kind: RoomKind, unread: u32) -> String {
    let name = match kind {
        RoomKind::Channel => format!("# {title}"),
        RoomKind::Dm => title.to_owned(),
    };
    match unread {
        0 => name,
        n => format!("{name} ({n})"),
    }
}

/// The mention badge after a room's label: ` @2` (none without mentions).
pub fn mention_badge(mentions: u32) -> String {
    match mentions {
        0 => String::new(),
        n => format!(" @{n}"),
    }
}

/// A room's row text: its label (strong while unread), then its mention badge in red.
fn row_text(ui: &egui::Ui, label: String, unread: bool, mentions: u32) -> egui::WidgetText {
    let mut job = egui::text::LayoutJob::default();
    let style = ui.style();
    let strong = RichText::new(label);
    let strong = if unread { strong.strong() } else { strong };
    strong.append_to(
        &mut job,
        style,
        egui::FontSelection::Default,
        egui::Align::Center,
    );
    if mentions > 0 {
        RichText::new(mention_badge(mentions))
            .strong()
            .color(ui.visuals().error_fg_color)
            .append_to(
                &mut job,
                style,
                egui::FontSelection::Default,
                egui::Align::Center,
            );
    }
    job.into()
}

pub fn show(ui: &mut egui::Ui, session: &Session, dialogs: &mut RoomDialogs) -> Option<Action> {
    let rooms = session.rooms();
    let mut action = None;
    // Above the list (a panel nested in the side panel would redo its sizing on every
    // resize and take the message list's second pass, which keeps the newest in view).
    ui.vertical(|ui| {
        if ui.button("Go to room (Ctrl+K)").clicked() {
            dialogs.open(Dialog::Switcher);
        }
        if ui.button("Search (Ctrl+F)").clicked() {
            dialogs.open(Dialog::Search);
        }
        if ui.button("Browse channels").clicked() {
            dialogs.open(Dialog::Browse);
            action = Some(Action::BrowseChannels);
        }
        if ui.button("New channel").clicked() {
            dialogs.open(Dialog::NewChannel);
        }
        if ui.button("New message").clicked() {
            dialogs.open(Dialog::People(None));
            action = Some(Action::ListPeople);
        }
    });
    ui.separator();
    // One row per heading and room; only the rows in view are drawn (200 rooms cost what 20 do).
    enum Row<'a> {
        Heading(&'static str),
        Room(&'a crate::core::rooms::Room),
    }
    let mut rows = Vec::new();
    for (heading, kind) in [
        ("Channels", RoomKind::Channel),
        ("Direct messages", RoomKind::Dm),
    ] {
        let mut of_kind = rooms.list().iter().filter(|r| r.kind == kind).peekable();
        if of_kind.peek().is_some() {
            rows.push(Row::Heading(heading));
            rows.extend(of_kind.map(Row::Room));
        }
    }
    let height = ui.spacing().interact_size.y;
    egui::ScrollArea::vertical().show_rows(ui, height, rows.len(), |ui, range| {
        for row in &rows[range] {
            match row {
                Row::Heading(heading) => {
                    ui.add_sized(
                        [ui.available_width(), height],
                        egui::Label::new(RichText::new(*heading).small().weak()),
                    );
                }
                Row::Room(room) => {
                    let unread = rooms.unread(&room.id);
                    let label = room_label(room.title(), room.kind, unread);
                    let text = row_text(ui, label, unread > 0, rooms.mentions(&room.id));
                    let shown = rooms.shown_id() == Some(room.id.as_str());
                    let clicked = ui
                        .push_id(&room.id, |ui| {
                            ui.add_sized(
                                [ui.available_width(), height],
                                egui::Button::selectable(shown, text),
                            )
                        })
                        .inner
                        .clicked();
                    if clicked && !shown {
                        action = Some(Action::ShowRoom(room.id.clone()));
                    }
                }
            }
        }
    });
    action
}
