//! One row of the message list: a day separator when the day changes, the author and time
//! when a new group starts (another author, or a pause of a few minutes), a "New" divider
//! above the first unread, the text with its links, "edited", and Edit/Delete next to one's
//! own message while the pointer is on it (the row highlighted). A message being deleted shows
//! "Message deleted" and Undo until the delete is sent. Mentions read `@Name`, marked; one of
//! the user stands out (and the list marks its whole row). Attached pictures show under the
//! text in the space their size keeps for them (nothing moves when they arrive); other files
//! by name and size.

use chrono::{DateTime, Local};
use egui::{Align, Layout, RichText};

use super::Action;
use super::{Thumbnail, Thumbnails};
use crate::core::attachment::Attachment;
use crate::core::mention::{self, Names, Piece};
use crate::core::protocol::MessageItem;
use crate::edge::pictures::{THUMB_HEIGHT, THUMB_WIDTH};

/// Past this many pieces (text between mentions, mentions), a message is drawn as one label.
const PIECES_DRAWN: usize = 64;

/// Messages of one author closer than this share one header.
const GROUP_GAP_SECONDS: i64 = 5 * 60;

/// Directus sends UTC ISO-8601; people read their own clock.
pub fn local(iso: Option<&str>) -> Option<DateTime<Local>> {
    let time = DateTime::parse_from_rfc3339(iso?).ok()?;
    Some(time.with_timezone(&Local))
}

pub fn local_time(iso: &str) -> String {
    local(Some(iso)).map_or_else(|| iso.to_owned(), |t| t.format("%H:%M").to_string())
}

fn day_label(time: DateTime<Local>) -> String {
    let today = Local::now().date_naive();
    match (today - time.date_naive()).num_days() {
        0 => "Today".to_owned(),
        1 => "Yesterday".to_owned(),
        _ => time.format("%A, %-d %B %Y").to_string(),
    }
}

/// What a row shows above its text.
#[derive(Debug, PartialEq, Eq)]
pub struct Heading {
    pub day: Option<String>,
    pub header: bool,
    /// The first message that was unread: a "New" divider above it.
    pub new: bool,
}

pub fn heading(message: &MessageItem, previous: Option<&MessageItem>) -> Heading {
    let time = local(message.date_created.as_deref());
    let before = previous.and_then(|p| local(p.date_created.as_deref()));
    let new_day = match (time, before) {
        (Some(t), Some(b)) => t.date_naive() != b.date_naive(),
        (Some(_), None) => true,
        _ => false,
    };
    let same_author = previous.is_some_and(|p| {
        p.author.id.is_some() && p.author.id == message.author.id && p.author == message.author
    });
    let close = match (time, before) {
        (Some(t), Some(b)) => (t - b).num_seconds().abs() < GROUP_GAP_SECONDS,
        _ => false,
    };
    Heading {
        day: new_day.then(|| time.map(day_label)).flatten(),
        header: new_day || !same_author || !close,
        new: false,
    }
}

/// A guess of the row's height before it is drawn (then it is measured).
pub fn estimate(message: &MessageItem, heading: &Heading, width: f32, line: f32) -> f32 {
    let chars_per_line = (width / (line * 0.45)).max(10.0);
    let lines: f32 = message
        .content
        .split('\n')
        .map(|l| (l.chars().count() as f32 / chars_per_line).ceil().max(1.0))
        .sum();
    let files: f32 = message
        .files
        .iter()
        .map(|f| {
            f.fitted(THUMB_WIDTH as f32, THUMB_HEIGHT as f32)
                .map_or(line, |(_, h)| h + 4.0)
        })
        .sum();
    let mut height = lines * line + files + 6.0;
    if heading.header {
        height += line + 4.0;
    }
    if heading.day.is_some() {
        height += line + 16.0;
    }
    if heading.new {
        height += line + 8.0;
    }
    height
}

pub struct RowLook<'a> {
    pub mine: bool,
    /// Edit and Delete are offered.
    pub changeable: bool,
    /// The pointer has moved since this row came under it: its actions may show. A row that
    /// slid under a still pointer (the one above was deleted) does not offer Delete to a
    /// second click.
    pub armed: bool,
    /// Deleted by the user, the delete not sent yet: Undo is offered instead of the text.
    pub deleting: bool,
    /// The logged-in user's id: a mention of them stands out.
    pub me: Option<&'a str>,
}

/// What a drawn row tells the list.
pub struct Drawn {
    pub action: Option<Action>,
    /// The pointer is on the row.
    pub hovered: bool,
}

/// Draws the row; returns what the user asked for.
pub fn show(
    ui: &mut egui::Ui,
    message: &MessageItem,
    heading: &Heading,
    look: &RowLook,
    names: &Names,
    pictures: &mut dyn Thumbnails,
) -> Drawn {
    let mut action = None;
    if let Some(day) = &heading.day {
        ui.add_space(6.0);
        ui.vertical_centered(|ui| ui.label(RichText::new(day).weak().strong()));
        ui.separator();
    }
    if heading.new {
        ui.horizontal(|ui| {
            let color = ui.visuals().error_fg_color;
            ui.label(RichText::new("New").small().strong().color(color));
            let y = ui.min_rect().center().y;
            let x = ui.cursor().min.x..=ui.max_rect().right();
            ui.painter().hline(x, y, egui::Stroke::new(1.0, color));
        });
    }
    // The highlight goes under the row: its shape is reserved now, filled once the row's
    // size is known.
    let highlight = ui.painter().add(egui::Shape::Noop);
    let top = ui.cursor().min;
    if heading.header {
        ui.horizontal(|ui| {
            let name = message.author.first_name.as_deref().unwrap_or("Someone");
            let name = if look.mine {
                RichText::new(format!("{name} (you)"))
                    .strong()
                    .color(ui.visuals().hyperlink_color)
            } else {
                RichText::new(name).strong()
            };
            ui.label(name);
            if let Some(time) = message.date_created.as_deref() {
                ui.weak(local_time(time));
            }
        });
    }
    let text = ui
        .horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 0.0;
            if look.deleting {
                ui.label(RichText::new("Message deleted. ").weak().italics());
                if ui.small_button("Undo").clicked() {
                    action = Some(Action::UndoDelete);
                }
                return;
            }
            let pieces = mention::pieces(&message.content);
            if pieces.len() > PIECES_DRAWN {
                // Hundreds of mentions in one message (a member can write that): one label,
                // names in plain text, not hundreds of widgets every frame.
                ui.add(egui::Label::new(names.readable(&message.content)).wrap());
            } else {
                for piece in pieces {
                    match piece {
                        Piece::Text(text) => text_with_links(ui, text),
                        Piece::Mention(id) => mention_label(ui, names, id, look.me),
                    }
                }
            }
            if message.date_updated.is_some() {
                ui.label(RichText::new(" (edited)").weak().small());
            }
        })
        .response
        .rect;
    if !look.deleting {
        for file in &message.files {
            if let Some(asked) = attachment(ui, file, pictures) {
                action = Some(asked);
            }
        }
    }
    ui.add_space(4.0);
    let row = egui::Rect::from_min_max(top, egui::pos2(ui.max_rect().right(), ui.cursor().min.y));
    let hovered = ui.rect_contains_pointer(row);
    if hovered && look.changeable && look.armed && !look.deleting {
        let fill = ui.visuals().faint_bg_color;
        let band = row.expand2(egui::vec2(2.0, 0.0));
        ui.painter()
            .set(highlight, egui::epaint::RectShape::filled(band, 3.0, fill));
        // Next to the text (Up in the composer edits too), not at the window's far edge.
        const WIDTH: f32 = 110.0;
        let left = (text.right() + 12.0).min(row.right() - WIDTH);
        let buttons =
            egui::Rect::from_min_size(egui::pos2(left, text.top()), egui::vec2(WIDTH, 20.0));
        ui.scope_builder(
            egui::UiBuilder::new()
                .max_rect(buttons)
                .layout(Layout::left_to_right(Align::Min)),
            |ui| {
                if ui.small_button("Edit").clicked() {
                    action = Some(Action::StartEdit(message.id));
                }
                if ui.small_button("Delete").clicked() {
                    action = Some(Action::Delete(message.id));
                }
            },
        );
    }
    Drawn { action, hovered }
}

/// A picture in the space its size keeps for it (drawn once fetched; a click opens it large),
/// or a file by name and size (a click saves it). Screen readers (and the UI tests) read what
/// is shown: "Picture name (size)", "File: name (size)".
fn attachment(
    ui: &mut egui::Ui,
    file: &Attachment,
    pictures: &mut dyn Thumbnails,
) -> Option<Action> {
    let Some((width, height)) = file.fitted(THUMB_WIDTH as f32, THUMB_HEIGHT as f32) else {
        let link = ui.link(format!("File: {}", file.label()));
        return link
            .on_hover_text("Save")
            .clicked()
            .then(|| Action::SaveFile(file.clone()));
    };
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::click());
    let label = match pictures.thumbnail(&file.id) {
        Thumbnail::Ready(texture) => {
            let whole = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
            ui.painter()
                .image(texture.id(), rect, whole, egui::Color32::WHITE);
            format!("Picture {}", file.label())
        }
        Thumbnail::Loading => {
            ui.painter()
                .rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
            format!("Loading picture {}", file.label())
        }
        Thumbnail::Failed(why) => {
            ui.painter()
                .rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
            let text = format!("{}\n{why}", file.label());
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                &text,
                egui::FontId::proportional(11.0),
                ui.visuals().weak_text_color(),
            );
            format!("Picture {}: {why}", file.label())
        }
    };
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
    response
        .on_hover_cursor(egui::CursorIcon::ZoomIn)
        .clicked()
        .then(|| Action::ViewPicture(file.clone()))
}

/// `@Name`, marked; in another colour when it is of the user.
fn mention_label(ui: &mut egui::Ui, names: &Names, id: &str, me: Option<&str>) {
    let color = if me.is_some_and(|me| me.eq_ignore_ascii_case(id)) {
        ui.visuals().warn_fg_color
    } else {
        ui.visuals().hyperlink_color
    };
    ui.label(RichText::new(names.shown(id)).strong().color(color));
}

/// Plain words as labels, http(s) URLs as clickable links; long words wrap.
fn text_with_links(ui: &mut egui::Ui, text: &str) {
    if !text.contains("http://") && !text.contains("https://") {
        ui.add(egui::Label::new(text).wrap());
        return;
    }
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            ui.end_row();
        }
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 {
                ui.label(" ");
            }
            if word.starts_with("http://") || word.starts_with("https://") {
                let url = word.trim_end_matches(['.', ',', ')', '!', '?', ';', ':']);
                ui.hyperlink(url);
                if url.len() < word.len() {
                    ui.label(&word[url.len()..]);
                }
            } else if !word.is_empty() {
                ui.add(egui::Label::new(word).wrap());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::protocol::Author;

    fn at(id: i64, author: &str, iso: &str) -> MessageItem {
        MessageItem {
            id,
            content: "hi".into(),
            author: Author {
                id: Some(author.into()),
                first_name: Some(author.into()),
            },
            date_created: Some(iso.into()),
            date_updated: None,
            client_key: None,
            room: None,
            files: Vec::new(),
        }
    }

    #[test]
    fn groups_one_authors_close_messages_and_separates_days() {
        let a1 = at(1, "a", "2026-11-28T10:00:00Z");
        let a2 = at(2, "a", "2026-11-28T10:03:00Z");
        let b3 = at(3, "b", "2026-11-28T10:04:00Z");
        let b4 = at(4, "b", "2026-11-28T10:20:00Z");
        let b5 = at(5, "b", "2026-11-29T10:21:00Z");
        assert!(heading(&a1, None).header && heading(&a1, None).day.is_some());
        assert_eq!(
            heading(&a2, Some(&a1)),
            Heading {
                day: None,
                header: false,
                new: false
            }
        );
        assert!(heading(&b3, Some(&a2)).header, "another author");
        assert!(heading(&b4, Some(&b3)).header, "a pause");
        let next_day = heading(&b5, Some(&b4));
        assert!(next_day.header && next_day.day.is_some());
    }
}
