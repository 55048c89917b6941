//! The composer: the message field and its Send (or Save) button, which also edits one's
//! own message. Typing `@` offers the members of the room (filtered as one types; arrows,
//! then Enter or Tab or a click, picks one; Esc closes the list). A pick reads `@Name` in the
//! field and is stored as the person's id (`mention::to_stored`), so it survives a rename.

use egui::{Key, KeyboardShortcut, Modifiers, RichText, TextEdit};

use super::Action;
use crate::core::mention::{self, Picked};
use crate::core::protocol::rooms::Person;
use crate::core::session::{NewFile, Session};

/// People the @ list shows at most.
const CANDIDATES: usize = 8;

/// What the composer holds between frames, and why the last send was refused.
#[derive(Default)]
pub struct Composer {
    pub text: String,
    pub error: Option<String>,
    /// What the app says of something done (a file saved), until the next send.
    pub note: Option<String>,
    /// The message being edited (Up on an empty composer, or its Edit button).
    pub editing: Option<i64>,
    /// The composer got the keyboard when the chat appeared.
    pub(super) focused: bool,
    /// Put the text cursor here (a char index) on the next frame.
    cursor_to: Option<usize>,
    /// Mentions picked for the text (see `mention::to_stored`).
    picked: Vec<Picked>,
    picker: Picker,
    /// Files dropped on the window, picked or pasted, sent with the text (its caption).
    pub attached: Vec<NewFile>,
    /// The file dialog is open ("Attach files…" waits for it).
    pub picking: bool,
}

/// The @ list's state.
#[derive(Default)]
struct Picker {
    selected: usize,
    /// The `@` (a byte index) whose list was closed with Esc.
    dismissed: Option<usize>,
    /// The `@` the room's members were last asked for.
    asked: Option<(String, usize)>,
    /// The pointer was on the list (a click there must not close it first).
    hovered: bool,
}

/// A room's draft while another room is shown.
#[derive(Default)]
pub struct Draft {
    text: String,
    picked: Vec<Picked>,
    attached: Vec<NewFile>,
}

impl Draft {
    pub fn attached(&self) -> &[NewFile] {
        &self.attached
    }
}

impl Composer {
    pub(super) fn start_editing(&mut self, session: &Session, id: i64) {
        if let Some(message) = session.timeline().get(id) {
            let (text, picked) = mention::to_editable(&message.content, session.names());
            self.cursor_to = Some(text.chars().count());
            self.text = text;
            self.picked = picked;
            self.editing = Some(id);
            self.error = None;
            self.focused = false; // take the keyboard
        }
    }

    /// Back to writing a new message.
    pub fn done(&mut self) {
        self.text.clear();
        self.picked.clear();
        self.picker = Picker::default();
        self.editing = None;
        self.error = None;
        self.note = None;
        self.attached.clear();
    }

    /// Another room is shown: its draft comes in, this one's goes out.
    pub(super) fn swap_draft(&mut self, draft: Draft) -> Draft {
        self.error = None;
        self.picker = Picker::default();
        Draft {
            text: std::mem::replace(&mut self.text, draft.text),
            picked: std::mem::replace(&mut self.picked, draft.picked),
            attached: std::mem::replace(&mut self.attached, draft.attached),
        }
    }

    /// What is stored for the text: picked mentions as ids.
    fn stored(&self) -> String {
        mention::to_stored(&self.text, &self.picked)
    }

    /// Put `person` in place of the `@query` from byte `at` to char `cursor`.
    fn pick(&mut self, at: usize, cursor: usize, shown: String, person: &Person) {
        let end = self
            .text
            .char_indices()
            .nth(cursor)
            .map_or(self.text.len(), |(i, _)| i);
        if at > end || !self.text.is_char_boundary(at) {
            return; // the text changed under the list: nothing picked
        }
        let inserted = format!("{shown} ");
        self.text.replace_range(at..end, &inserted);
        self.cursor_to = Some(self.text[..at].chars().count() + inserted.chars().count());
        if !self.picked.iter().any(|p| p.shown == shown) {
            self.picked.push(Picked {
                shown,
                id: person.id.clone(),
            });
        }
        self.picker = Picker::default();
        self.focused = false; // back to the field after a click on the list
    }
}

/// How a member is offered and written: `@First name`, with the last name when two members
/// share the first, and the start of their id when that is shared too (anyone may call
/// themselves what someone else is called: each entry must still be one person).
fn shown_as(person: &Person, members: &[Person]) -> String {
    let name = person.name();
    let full = |p: &Person| match &p.last_name {
        Some(last) if !last.trim().is_empty() && last != p.name() => {
            format!("{} {last}", p.name())
        }
        _ => p.name().to_owned(),
    };
    let others = members.iter().filter(|m| m.id != person.id);
    let same_name = others.clone().any(|m| m.name().eq_ignore_ascii_case(name));
    let same_full = others
        .clone()
        .any(|m| full(m).eq_ignore_ascii_case(&full(person)));
    let short: String = person.id.chars().take(4).collect();
    match (same_name, same_full) {
        (false, _) => format!("@{name}"),
        (true, false) => format!("@{}", full(person)),
        (true, true) => format!("@{} ({short})", full(person)),
    }
}

/// The `@query` before the cursor (its `@` as a byte index, the query, the cursor as a char
/// index), while the field has the keyboard (or the pointer is on the list).
fn typing_now(ui: &egui::Ui, composer: &Composer, id: egui::Id) -> Option<(usize, String, usize)> {
    let open = ui.memory(|m| m.has_focus(id)) || composer.picker.hovered;
    let cursor = TextEdit::load_state(ui.ctx(), id)?
        .cursor
        .char_range()?
        .primary
        .index
        .0;
    let (at, query) = mention::typing_at(&composer.text, cursor)?;
    open.then(|| (at, query.to_owned(), cursor))
}

/// Members (not the user) whose name has the query in it, those it starts first.
fn candidates<'a>(members: &'a [Person], me: Option<&str>, query: &str) -> Vec<&'a Person> {
    let query = query.to_lowercase();
    let mut found: Vec<&Person> = members
        .iter()
        .filter(|p| me.is_none_or(|me| !p.id.eq_ignore_ascii_case(me)))
        .filter(|p| p.name().to_lowercase().contains(&query))
        .collect();
    found.sort_by_key(|p| !p.name().to_lowercase().starts_with(&query));
    found.truncate(CANDIDATES);
    found
}

/// The message field and its Send (or Save) button. `asking`: the logout question is open,
/// so Esc is its answer, not the end of an edit.
pub fn show(
    ui: &mut egui::Ui,
    session: &Session,
    composer: &mut Composer,
    asking: bool,
) -> Option<Action> {
    let mut action = None;
    ui.add_space(4.0);
    if let Some(error) = &composer.error {
        ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
    }
    if let Some(note) = &composer.note {
        ui.weak(note);
    }
    if composer.editing.is_some() {
        ui.label(RichText::new("Editing your message: Enter saves, Esc cancels").strong());
    }
    // Files to go with the text; each can be taken off again.
    let mut removed = None;
    for (i, file) in composer.attached.iter().enumerate() {
        ui.horizontal(|ui| {
            let size = crate::core::attachment::size_text(file.size);
            ui.label(format!("Attached: {} ({size})", file.name));
            if ui.small_button("Remove").clicked() {
                removed = Some(i);
            }
        });
    }
    if let Some(i) = removed {
        composer.attached.remove(i);
    }
    // A fixed id: the rows above it come and go ("sending…"), and an automatic id would
    // change with them, taking the keyboard away after every send.
    let id = egui::Id::unique("composer");
    if let Some(to) = composer.cursor_to.take()
        && let Some(mut state) = TextEdit::load_state(ui.ctx(), id)
    {
        let to = egui::text::CCursor::new(to);
        state
            .cursor
            .set_char_range(Some(egui::text::CCursorRange::one(to)));
        state.store(ui.ctx(), id);
    }
    // The @ being typed, as the field stood after the last frame.
    let room = session.rooms().shown_id().unwrap_or_default().to_owned();
    let now = typing_now(ui, composer, id);
    if now.is_none() {
        // No @ being typed: a list closed with Esc may open at the next one.
        composer.picker = Picker::default();
    }
    let typing = now.filter(|(at, _, _)| composer.picker.dismissed != Some(*at));
    let members = session.members(&room).unwrap_or_default();
    let me = session.me().and_then(|m| m.id.as_deref());
    let offered = match &typing {
        Some((_, query, _)) => candidates(members, me, query),
        None => Vec::new(),
    };
    if let Some((at, _, _)) = &typing
        && composer.picker.asked.as_ref() != Some(&(room.clone(), *at))
    {
        // Members come and go: read once per @ typed.
        composer.picker.asked = Some((room.clone(), *at));
        action = Some(Action::ListMembers(room.clone()));
    }
    let listing = !offered.is_empty();
    // Keys for the list, before the field sees them.
    if let Some((at, _, cursor)) = &typing
        && listing
    {
        let last = offered.len() - 1;
        let picker = &mut composer.picker;
        picker.selected = picker.selected.min(last);
        // Only the plain keys (Shift+Enter is still a new line; consume_key ignores Shift).
        let (down, up, pick, close) = ui.input_mut(|i| {
            let plain = i.modifiers.is_none();
            (
                plain && i.consume_key(Modifiers::NONE, Key::ArrowDown),
                plain && i.consume_key(Modifiers::NONE, Key::ArrowUp),
                plain
                    && (i.consume_key(Modifiers::NONE, Key::Enter)
                        || i.consume_key(Modifiers::NONE, Key::Tab)),
                plain && i.consume_key(Modifiers::NONE, Key::Escape),
            )
        });
        if down {
            picker.selected = (picker.selected + 1).min(last);
        }
        if up {
            picker.selected = picker.selected.saturating_sub(1);
        }
        if close {
            picker.dismissed = Some(*at);
        } else if pick {
            let person = offered[picker.selected];
            let shown = shown_as(person, members);
            composer.pick(*at, *cursor, shown, person);
        }
    }
    ui.horizontal(|ui| {
        let label = ui.label("Message");
        // Room for Send and "Attach files…" beside the field.
        let send_width = 160.0;
        let edit = TextEdit::multiline(&mut composer.text)
            .id(id)
            .hint_text("Write a message (Enter sends, Shift+Enter adds a line, @ mentions, Up edits your last)")
            .desired_rows(2)
            .desired_width(ui.available_width() - send_width)
            // Shift+Enter is the newline; plain Enter sends (below).
            .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter))
            // While the @ list is open, Esc and Tab are its (egui would take the keyboard
            // away on them at the start of the next frame).
            .event_filter(egui::EventFilter {
                horizontal_arrows: true,
                vertical_arrows: true,
                tab: listing,
                escape: listing,
            });
        let response = ui.add(edit).labelled_by(label.id);
        let focused = response.has_focus();
        let enter = focused && ui.input(|i| i.key_pressed(Key::Enter) && !i.modifiers.shift);
        let up = focused && composer.text.is_empty() && ui.input(|i| i.key_pressed(Key::ArrowUp));
        let escape = !asking && ui.input(|i| i.key_pressed(Key::Escape));
        let clicked = ui
            .button(if composer.editing.is_some() {
                "Save"
            } else {
                "Send"
            })
            .clicked();
        // Files go with a new message, not an edit.
        let attach = ui.add_enabled(
            composer.editing.is_none() && !composer.picking,
            egui::Button::new("Attach files…"),
        );
        if attach.clicked() {
            action = Some(Action::PickFiles);
        }
        // The list as the text stands now (this frame's typing included).
        if let Some((at, query, cursor)) = typing_now(ui, composer, id)
            && composer.picker.dismissed != Some(at)
        {
            let offered = candidates(members, me, &query);
            if let Some(person) = picker_list(ui, composer, &response, &offered, members, &query) {
                let shown = shown_as(person, members);
                composer.pick(at, cursor, shown, person);
            }
        }
        if up && let Some(last) = session.last_own() {
            let id = last.id;
            composer.start_editing(session, id);
            // egui moves the focus on an arrow key at the end of this frame: take it back on
            // the next one (start_editing asks for that).
            ui.ctx().request_repaint();
            return;
        } else if escape && composer.editing.is_some() {
            composer.done();
            // egui drops the focus on Esc at the end of this frame: take it back on the next
            // one, ready to type.
            composer.focused = false;
            ui.ctx().request_repaint();
            return;
        } else if enter || clicked {
            match composer.editing {
                Some(id) => {
                    action = Some(Action::Edit {
                        id,
                        content: composer.stored(),
                    })
                }
                None if !composer.text.trim().is_empty() || !composer.attached.is_empty() => {
                    action = Some(Action::Send(composer.stored()))
                }
                None => {}
            }
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

/// The @ list above the field: the people offered, the selected one marked. Returns the one
/// clicked.
fn picker_list<'a>(
    ui: &egui::Ui,
    composer: &mut Composer,
    field: &egui::Response,
    offered: &[&'a Person],
    members: &[Person],
    query: &str,
) -> Option<&'a Person> {
    let mut clicked = None;
    let area = egui::Area::new(egui::Id::unique("mention picker"))
        .order(egui::Order::Foreground)
        .pivot(egui::Align2::LEFT_BOTTOM)
        .fixed_pos(field.rect.left_top())
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                if offered.is_empty() {
                    let text = match members.is_empty() {
                        true => "Looking for the room's members…".to_owned(),
                        false => format!("Nobody in this room is called “{query}”"),
                    };
                    ui.weak(text);
                }
                for (i, person) in offered.iter().enumerate() {
                    let selected = i == composer.picker.selected;
                    if ui
                        .selectable_label(selected, shown_as(person, members))
                        .clicked()
                    {
                        clicked = Some(*person);
                    }
                }
            });
        });
    composer.picker.hovered = area.response.contains_pointer();
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, first: &str, last: &str) -> Person {
        Person {
            id: id.into(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            email: None,
        }
    }

    #[test]
    fn each_entry_of_the_list_is_one_person() {
        let members = [
            person("a1a1", "Alice", "Smith"),
            person("b2b2", "Alice", "Jones"),
            person("c3c3", "Alice", "Jones"),
            person("d4d4", "Bob", "Smith"),
        ];
        let shown: Vec<String> = members.iter().map(|p| shown_as(p, &members)).collect();
        assert_eq!(
            shown,
            [
                "@Alice Smith",
                "@Alice Jones (b2b2)",
                "@Alice Jones (c3c3)",
                "@Bob"
            ]
        );
    }
}
