//! The room dialogs: the quick switcher (Ctrl+K: type to filter, arrows, Enter), a new channel
//! (name, private or not), browsing public channels to join, and the people list (start a DM,
//! or add someone to a private channel one created). Each draws state and returns an action.

use egui::{Key, RichText};

use super::Action;
use super::room_list::room_label;
use crate::core::session::Session;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    Switcher,
    NewChannel,
    Browse,
    /// The people list: start a DM, or (Some) add to this private channel.
    People(Option<String>),
    /// Search the messages of my rooms (Ctrl+F).
    Search,
}

#[derive(Default)]
pub struct RoomDialogs {
    pub open: Option<Dialog>,
    filter: String,
    selected: usize,
    name: String,
    private: bool,
    /// The filter field gets the keyboard when a dialog opens.
    focused: bool,
    /// Kept while the dialogs close and open: the last search stays at hand.
    search: super::search_results::SearchBox,
}

impl RoomDialogs {
    pub fn open(&mut self, dialog: Dialog) {
        let mut search = std::mem::take(&mut self.search);
        search.refocus();
        *self = RoomDialogs {
            open: Some(dialog),
            search,
            ..RoomDialogs::default()
        };
    }

    /// Ctrl+K (Cmd+K) anywhere opens the quick switcher, Ctrl+F (Cmd+F) the search.
    pub fn shortcuts(&mut self, ctx: &egui::Context) {
        let switcher = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, Key::K);
        if ctx.input_mut(|i| i.consume_shortcut(&switcher)) {
            self.open(Dialog::Switcher);
        }
        let search = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, Key::F);
        if ctx.input_mut(|i| i.consume_shortcut(&search)) {
            self.open(Dialog::Search);
        }
    }

    pub fn show(&mut self, ctx: &egui::Context, session: &Session) -> Option<Action> {
        let dialog = self.open.clone()?;
        let mut action = None;
        let modal = egui::Modal::new(egui::Id::unique("room-dialog")).show(ctx, |ui| {
            ui.set_width(if dialog == Dialog::Search {
                480.0
            } else {
                320.0
            });
            action = match &dialog {
                Dialog::Switcher => self.switcher(ui, session),
                Dialog::NewChannel => self.new_channel(ui),
                Dialog::Browse => self.browse(ui, session),
                Dialog::People(add_to) => self.people(ui, session, add_to.as_deref()),
                Dialog::Search => super::search_results::show(ui, session, &mut self.search),
            };
            ui.add_space(6.0);
            if ui.button("Close").clicked() {
                self.open = None;
            }
        });
        // A search (or its next page) keeps the dialog open for its results.
        let stays = matches!(action, Some(Action::Search(_) | Action::SearchMore));
        if modal.should_close() || (action.is_some() && !stays) {
            self.open = None;
        }
        action
    }

    /// The filter field, with the keyboard on opening; arrows move the selection among `n`.
    fn filter_field(&mut self, ui: &mut egui::Ui, label: &str, n: usize) -> bool {
        let field = super::labelled_field(ui, label, egui::TextEdit::singleline(&mut self.filter));
        if !self.focused {
            field.request_focus();
            self.focused = true;
        }
        if field.changed() {
            self.selected = 0;
        }
        ui.input(|i| {
            if i.key_pressed(Key::ArrowDown) && self.selected + 1 < n {
                self.selected += 1;
            }
            if i.key_pressed(Key::ArrowUp) {
                self.selected = self.selected.saturating_sub(1);
            }
        });
        ui.input(|i| i.key_pressed(Key::Enter))
    }

    fn matches(&self, text: &str) -> bool {
        text.to_lowercase()
            .contains(&self.filter.trim().to_lowercase())
    }

    fn switcher(&mut self, ui: &mut egui::Ui, session: &Session) -> Option<Action> {
        let rooms = session.rooms();
        let found: Vec<_> = rooms
            .list()
            .iter()
            .filter(|r| self.matches(r.title()))
            .collect();
        let enter = self.filter_field(ui, "Go to room", found.len());
        let mut action = None;
        for (n, room) in found.iter().enumerate() {
            let label = room_label(room.title(), room.kind, rooms.unread(&room.id));
            let row = ui.push_id(&room.id, |ui| {
                ui.selectable_label(n == self.selected, label)
            });
            if row.inner.clicked() {
                action = Some(Action::ShowRoom(room.id.clone()));
            }
        }
        if found.is_empty() {
            ui.weak("No room matches.");
        }
        if enter && let Some(room) = found.get(self.selected) {
            action = Some(Action::ShowRoom(room.id.clone()));
        }
        action
    }

    fn new_channel(&mut self, ui: &mut egui::Ui) -> Option<Action> {
        let field = super::labelled_field(
            ui,
            "Channel name",
            egui::TextEdit::singleline(&mut self.name),
        );
        if !self.focused {
            field.request_focus();
            self.focused = true;
        }
        ui.checkbox(&mut self.private, "Private (only people you add)");
        let create = ui.button("Create channel").clicked()
            || (field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)));
        (create && !self.name.trim().is_empty()).then(|| Action::CreateChannel {
            name: self.name.trim().to_owned(),
            private: self.private,
        })
    }

    fn browse(&mut self, ui: &mut egui::Ui, session: &Session) -> Option<Action> {
        let Some(channels) = session.channels_to_join() else {
            ui.weak("Reading the channels…");
            return None;
        };
        let found: Vec<_> = channels
            .into_iter()
            .filter(|(_, name)| self.matches(name))
            .collect();
        let enter = self.filter_field(ui, "Find a channel", found.len());
        if found.is_empty() {
            ui.weak("No public channel to join.");
        }
        let mut action = None;
        for (n, (id, name)) in found.iter().enumerate() {
            // Ids follow the room, not the row: a list that changes between two frames must
            // not move a click onto another room.
            ui.push_id(id, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("# {name}")).strong_if(n == self.selected));
                    if ui.button(format!("Join {name}")).clicked() {
                        action = Some(Action::Join(id.to_string()));
                    }
                })
            });
        }
        if enter && let Some((id, _)) = found.get(self.selected) {
            action = Some(Action::Join(id.to_string()));
        }
        action
    }

    fn people(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        add_to: Option<&str>,
    ) -> Option<Action> {
        let Some(people) = session.people() else {
            ui.weak("Reading who is here…");
            return None;
        };
        let found: Vec<_> = people
            .iter()
            .filter(|p| {
                self.matches(p.name()) || p.email.as_deref().is_some_and(|e| self.matches(e))
            })
            .collect();
        let enter = self.filter_field(ui, "Find a person", found.len());
        let act = |id: &str| match add_to {
            Some(room) => Action::AddToRoom {
                room: room.to_owned(),
                person: id.to_owned(),
            },
            None => Action::StartDm(id.to_owned()),
        };
        let mut action = None;
        for (n, person) in found.iter().enumerate() {
            let label = match add_to {
                Some(_) => format!("Add {}", person.name()),
                None => format!("Message {}", person.name()),
            };
            let row = ui.push_id(&person.id, |ui| {
                ui.selectable_label(n == self.selected, label)
            });
            if row.inner.clicked() {
                action = Some(act(&person.id));
            }
        }
        if found.is_empty() {
            ui.weak("Nobody matches.");
        }
        // Enter with nothing typed adds nobody to a channel (a stray Enter is not a choice).
        let typed = !self.filter.trim().is_empty() || add_to.is_none();
        if enter
            && typed
            && let Some(person) = found.get(self.selected)
        {
            action = Some(act(&person.id));
        }
        action
    }
}

trait StrongIf {
    fn strong_if(self, strong: bool) -> Self;
}

impl StrongIf for RichText {
    fn strong_if(self, strong: bool) -> Self {
        if strong { self.strong() } else { self }
    }
}
