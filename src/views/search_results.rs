//! The search dialog's body (Ctrl+F): a field searched on the server with Enter, the hits
//! newest first (room, author, time, the text with what matched marked), more on request, and
//! a hit picked (click, or arrows and Enter) opens its room at that message.

use std::ops::Range;

use egui::text::{LayoutJob, TextFormat};
use egui::{Key, RichText};

use super::Action;
use crate::core::session::{Session, matches};

/// Characters of a hit's text shown before its first match (the rest is cut with "…").
const BEFORE_MATCH: usize = 40;
/// Characters of a hit's text shown at most (besides a "…" at either end where cut).
const PREVIEW: usize = 160;

/// The state the dialog keeps between frames.
#[derive(Default)]
pub struct SearchBox {
    pub text: String,
    selected: usize,
    focused: bool,
}

impl SearchBox {
    /// The field takes the keyboard again (the dialog was opened again).
    pub fn refocus(&mut self) {
        self.focused = false;
    }
}

pub fn show(ui: &mut egui::Ui, session: &Session, search: &mut SearchBox) -> Option<Action> {
    let found = session.search_results();
    let hits = found.map_or(&[][..], |f| &f.hits[..]);
    let field = super::labelled_field(
        ui,
        "Search messages",
        egui::TextEdit::singleline(&mut search.text),
    );
    if !search.focused {
        field.request_focus();
        search.focused = true;
    }
    let (enter, down, up) = ui.input(|i| {
        (
            i.key_pressed(Key::Enter),
            i.key_pressed(Key::ArrowDown),
            i.key_pressed(Key::ArrowUp),
        )
    });
    if down && search.selected + 1 < hits.len() {
        search.selected += 1;
    }
    if up {
        search.selected = search.selected.saturating_sub(1);
    }
    let text = search.text.trim();
    let searched = found.is_some_and(|f| f.text == text);
    let mut action = None;
    if enter && !text.is_empty() {
        if searched && let Some(hit) = hits.get(search.selected) {
            action = Some(open(hit));
        } else if !searched {
            search.selected = 0;
            action = Some(Action::Search(text.to_owned()));
        }
    }
    let Some(found) = found.filter(|_| searched) else {
        ui.weak("Enter searches the messages of your rooms.");
        return action;
    };
    egui::ScrollArea::vertical()
        .max_height(360.0)
        .show(ui, |ui| {
            for (n, hit) in hits.iter().enumerate() {
                let room = session.room_name(hit.room.as_deref());
                let author = hit.author.first_name.as_deref().unwrap_or("Someone");
                let when = hit.date_created.as_deref().unwrap_or_default();
                let when = when.get(..16).unwrap_or(when).replace('T', " ");
                let row = ui.push_id(hit.id, |ui| {
                    ui.weak(format!("{room} · {author} · {when}"));
                    let job = marked(
                        ui,
                        &session.names().readable(&hit.content),
                        &found.text,
                        n == search.selected,
                    );
                    ui.selectable_label(n == search.selected, job)
                });
                if row.inner.clicked() {
                    action = Some(open(hit));
                }
                ui.add_space(4.0);
            }
        });
    if found.loading {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak("Searching…");
        });
    } else if let Some(error) = &found.error {
        ui.label(RichText::new(error).color(ui.visuals().warn_fg_color));
        if ui.button("Try again").clicked() {
            action = Some(Action::SearchMore);
        }
    } else if found.done && hits.is_empty() {
        ui.weak("No messages found.");
    } else if found.can_ask_more() {
        // (A page may hold no real hit: the server's LIKE matched `%` or `_` as wildcards.)
        if ui.button("More results").clicked() {
            action = Some(Action::SearchMore);
        }
    } else if !found.done {
        ui.weak(format!(
            "The first {} hits are shown: search for more words to narrow it.",
            hits.len()
        ));
    }
    action
}

fn open(hit: &crate::core::protocol::MessageItem) -> Action {
    Action::OpenMessage {
        room: hit.room.clone().unwrap_or_default(),
        id: hit.id,
    }
}

/// A hit's text (a window around its first match), with each match marked.
fn marked(ui: &egui::Ui, content: &str, needle: &str, selected: bool) -> LayoutJob {
    let (text, ranges) = preview(content, needle);
    let style = ui.style();
    let font = egui::TextStyle::Body.resolve(style);
    let color = if selected {
        style.visuals.strong_text_color()
    } else {
        style.visuals.text_color()
    };
    let plain = TextFormat::simple(font.clone(), color);
    let mark = TextFormat {
        background: style.visuals.selection.bg_fill,
        color: style.visuals.strong_text_color(),
        ..TextFormat::simple(font, color)
    };
    let mut job = LayoutJob::default();
    let mut at = 0;
    for range in ranges {
        job.append(&text[at..range.start], 0.0, plain.clone());
        job.append(&text[range.clone()], 0.0, mark.clone());
        at = range.end;
    }
    job.append(&text[at..], 0.0, plain);
    job
}

/// The part of `content` shown for a hit (from a little before the first match, on one line,
/// at most PREVIEW characters, "…" where cut) and where `needle` matches in it.
pub fn preview(content: &str, needle: &str) -> (String, Vec<Range<usize>>) {
    let flat: String = content
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let first = matches(&flat, needle, true).first().map_or(0, |r| r.start);
    let before = flat[..first].chars().count();
    let skip = before.saturating_sub(BEFORE_MATCH);
    let mut text: String = flat.chars().skip(skip).take(PREVIEW).collect();
    if skip > 0 {
        text.insert(0, '…');
    }
    if skip + PREVIEW < flat.chars().count() {
        text.push('…');
    }
    let ranges = matches(&text, needle, false);
    (text, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_shown_around_its_first_match() {
        let content = format!("{}needle{}", "x".repeat(100), "y".repeat(300));
        let (text, ranges) = preview(&content, "NEEDLE");
        assert!(text.starts_with('…') && text.ends_with('…'));
        assert_eq!(ranges.len(), 1);
        assert_eq!(&text[ranges[0].clone()], "needle");
        assert_eq!(text.chars().count(), PREVIEW + 2);
        // Lines are joined: a hit is one row of text.
        let (text, _) = preview("one\ntwo", "two");
        assert_eq!(text, "one two");
    }
}
