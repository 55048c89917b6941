//! The scrolling list of messages. Only the rows in view are laid out (`RowHeights` knows
//! where each starts), so 100,000 messages cost what 100 do. At the bottom it stays at the
//! bottom; scrolled up, new messages do not move the view and a "N new messages" button jumps
//! down; reaching the top loads the previous page without the view jumping. PageUp, PageDown,
//! Home and End scroll it (Home and End only while the composer is empty). A room shown in a
//! window around a message far back (a search hit) loads newer pages as the bottom comes near
//! and offers "Jump to present"; the End key, or anything else that goes to the newest, goes
//! to the present.

use egui::{Key, Pos2, Rect, ScrollArea, UiBuilder, pos2, vec2};

use super::Action;
use super::message_row::{self, RowLook};
use super::row_heights::RowHeights;
use crate::core::session::{Phase, Session};

/// The row above the first message: loading, a button, or "the beginning".
const TOP_ROW: f32 = 32.0;
/// A revealed message's top is this far below the view's top.
const REVEAL_MARGIN: f64 = 60.0;
/// This close to the top, the previous page is asked for.
const LOAD_MARGIN: f32 = 300.0;
/// A view held in place after rows were inserted above is held at least this many frames,
/// and on while rows drawn for the first time still change height (each would move it),
/// up to `HOLD_MAX` frames.
const HOLD_MIN: u8 = 3;
const HOLD_MAX: u8 = 30;

#[derive(Default)]
pub struct MessageList {
    rows: RowHeights,
    /// The timeline's layout version the rows were built for.
    layout: Option<u64>,
    /// A message in view (the middle one) and how far the view's top is below its top.
    anchor: Option<(i64, f64)>,
    at_bottom: bool,
    /// Once at the bottom (the opening position), reaching the top means the user scrolled.
    settled: bool,
    /// The newest message seen while at the bottom.
    seen_newest: Option<i64>,
    jump: bool,
    /// Frames left to keep jumping: rows drawn for the first time get their real heights,
    /// which moves the bottom; the jump is repeated until the view is there.
    jumping: u8,
    /// Keep this message this far above the view's top for a few frames (frames left): the
    /// first frame after an insert is still clamped to the old content size by the scroll
    /// area, and rows coming into view for the first time get their real heights.
    hold: Option<(i64, f64, u8)>,
    /// A row drawn last frame changed height (moving those below it).
    remeasured: bool,
    /// Scroll so that this fraction of the history is at the top (benchmarks, tests).
    goto: Option<f64>,
    /// The scroll area's id (its state holds the momentum to stop).
    scroll_id: Option<egui::Id>,
    /// The list's visible height last frame (to compute the bottom offset).
    view_height: f32,
    /// The height the list was given last frame: it changes with the window's size, and when
    /// the composer or a notice above grows or shrinks.
    given_height: f32,
    /// Where the view's top was last frame (PageUp and PageDown move from there).
    offset: f32,
    /// The pointer last frame: a row's actions show only once it moved over that row.
    pointer: Option<Pos2>,
    /// The row the pointer moved onto (its actions may show).
    armed: Option<i64>,
    /// Bring this message into view once it is loaded (older pages are read until it is).
    reveal: Option<i64>,
    /// The message brought into view last, marked.
    found: Option<i64>,
    /// Last frame showed a window far back (when it joins the room, the view stays put, even
    /// at the window's bottom: the room's newer messages are below, not to jump over).
    detached: bool,
}

/// What the chat marks in the list besides the messages.
#[derive(Default)]
pub struct Marks {
    /// Deleted, Undo still possible.
    pub deleting: Option<i64>,
    /// The first message that was unread when the user looked again.
    pub divider: Option<i64>,
    /// Home and End scroll the list (the composer is empty: they have nothing to do there).
    pub home_end: bool,
}

impl MessageList {
    /// Scroll to the newest message on the next frame (after sending, or the button).
    pub fn jump_to_bottom(&mut self) {
        self.jump = true;
        self.jumping = 10;
    }

    /// Messages that arrived while scrolled up.
    fn unseen(&self, session: &Session) -> usize {
        let timeline = session.timeline();
        match self.seen_newest.and_then(|id| timeline.index_of(id)) {
            Some(index) => timeline.len() - index - 1,
            None => 0,
        }
    }

    /// Bring message `id` into view, a little below the top, and mark it; older pages are
    /// read until it is loaded (it stays contiguous with the newest: scrolling down from it
    /// reaches the live end).
    pub fn reveal(&mut self, id: i64) {
        self.reveal = Some(id);
        self.found = Some(id);
        self.jump = false;
        self.jumping = 0;
    }

    /// The message marked as found, if any.
    pub fn found(&self) -> Option<i64> {
        self.found
    }

    /// The list is put away (another room is shown): what it was to reveal is no longer
    /// wanted when it comes back.
    pub fn park(&mut self) {
        self.reveal = None;
    }

    /// The message to reveal is loaded: hold it in view. Not loaded yet: true if an older
    /// page should be asked for. Given up (the list opens where it is) when it cannot be
    /// there: deleted (older messages are loaded and it is not among them), before the
    /// room's beginning, or further back than the timeline keeps (messages or bytes).
    fn reveal_step(&mut self, session: &Session) -> bool {
        use crate::core::session::{KEEP_BYTES, KEEP_MESSAGES};
        let Some(id) = self.reveal else {
            return false;
        };
        let timeline = session.timeline();
        if timeline.index_of(id).is_some() {
            self.reveal = None;
            self.hold = Some((id, -REVEAL_MARGIN, HOLD_MAX));
            self.settled = true;
            return false;
        }
        let passed = timeline.oldest_id().is_some_and(|oldest| oldest < id);
        let started = session.history_loaded() && session.reached_start();
        let full = timeline.len() >= KEEP_MESSAGES || timeline.text_bytes() >= KEEP_BYTES;
        if passed || started || full {
            self.reveal = None;
            self.found = None;
            return false;
        }
        !timeline.is_empty()
            && session.history_loaded()
            && session.phase() == Phase::Online
            && !session.loading_older()
    }

    /// Scroll so that this fraction of the history is at the top on the next frame.
    pub fn scroll_to_fraction(&mut self, fraction: f64) {
        self.goto = Some(fraction.clamp(0.0, 1.0));
    }

    pub fn at_bottom(&self) -> bool {
        self.at_bottom
    }

    /// Brings the row index up to date; returns the offset that keeps the view in place
    /// when rows moved (older messages inserted above).
    fn sync(&mut self, session: &Session, marks: &Marks, width: f32, line: f32) -> Option<f32> {
        let timeline = session.timeline();
        let layout = timeline.layout_version();
        let estimate = |i: usize| {
            let message = timeline.at(i).expect("in range");
            let previous = i.checked_sub(1).and_then(|p| timeline.at(p));
            let mut heading = message_row::heading(message, previous);
            heading.new = marks.divider == Some(message.id);
            (
                message.id,
                message_row::estimate(message, &heading, width, line),
            )
        };
        let moved = self.layout != Some(layout);
        if moved || (width - self.rows.width()).abs() > 0.5 {
            self.layout = Some(layout);
            self.rows.rebuild((0..timeline.len()).map(estimate), width);
            if moved && (!self.at_bottom || self.detached) {
                let (id, below) = self.anchor?;
                self.hold = Some((id, below, HOLD_MAX));
            }
        } else {
            for i in self.rows.len()..timeline.len() {
                let (id, height) = estimate(i);
                self.rows.push(id, height);
            }
        }
        let (id, below, frames) = self.hold.take()?;
        let held = HOLD_MAX - frames;
        if frames > 1 && (held < HOLD_MIN || self.remeasured) {
            self.hold = Some((id, below, frames - 1));
        }
        let index = timeline.index_of(id)?;
        Some(TOP_ROW + (self.rows.top(index) + below) as f32)
    }

    /// The keys that scroll: a new place for the view's top, or a jump to the newest.
    /// `detached`: in a window far back, PageDown at its bottom waits for the next page.
    fn keys(&mut self, ui: &egui::Ui, marks: &Marks, detached: bool) -> Option<f32> {
        let page = (self.view_height - 40.0).max(40.0);
        let (up, down, home, end) = ui.input(|i| {
            (
                i.key_pressed(Key::PageUp),
                i.key_pressed(Key::PageDown),
                marks.home_end && i.key_pressed(Key::Home),
                marks.home_end && i.key_pressed(Key::End),
            )
        });
        if end {
            self.jump_to_bottom();
            return None;
        }
        let bottom = (TOP_ROW + self.rows.total() as f32 - self.view_height).max(0.0);
        if down && self.offset + page >= bottom && !detached {
            self.jump_to_bottom();
            return None;
        }
        match (up, down, home) {
            (_, _, true) => Some(0.0),
            (true, _, _) => Some((self.offset - page).max(0.0)),
            (_, true, _) => Some(self.offset + page),
            _ => None,
        }
    }

    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        marks: &Marks,
        pictures: &mut dyn super::Thumbnails,
    ) -> Option<Action> {
        let mut action = None;
        let line = ui.text_style_height(&egui::TextStyle::Body);
        let width = (ui.available_width() - ui.spacing().scroll.bar_width - 8.0).max(50.0);
        if self.reveal_step(session) {
            action = Some(Action::LoadOlder);
        }
        let mut offset = self.sync(session, marks, width, line);
        let mut holding = offset.is_some();
        // The list grew or shrank while at the bottom. The scroll area draws this pass at
        // the old offset and sticks to the bottom only at its end: a blank band under the
        // newest message (or the newest hidden) until the next repaint. Drawn again at once.
        let given = ui.available_height();
        let resized = self.at_bottom && !holding && (given - self.given_height).abs() > 0.5;
        self.given_height = given;
        let keyed = self.keys(ui, marks, session.detached());
        if self.jump && session.detached() {
            // The newest is at the present, not in the window: there, on the next frame.
            return Some(Action::ToPresent);
        }
        let jumped = std::mem::take(&mut self.jump);
        if jumped || keyed.is_some() {
            // The user asked for another place: a view held after a page landed above lets go.
            self.hold = None;
        }
        if jumped {
            let bottom = TOP_ROW + self.rows.total() as f32 - self.view_height;
            offset = Some(bottom.max(0.0));
            holding = false;
        }
        // An explicit place other than the bottom must not be overridden by sticking there;
        // nor does a window's bottom hold the view (its next page lands below).
        let mut stick = !holding && !session.detached();
        if let Some(fraction) = self.goto.take() {
            offset = Some(TOP_ROW + (self.rows.total() * fraction) as f32);
            holding = false;
            stick = false;
        }
        if let Some(keyed) = keyed {
            offset = Some(keyed);
            holding = false;
            stick = false;
        }
        let pointer = ui.input(|i| i.pointer.latest_pos());
        let moved = pointer != self.pointer;
        self.pointer = pointer;
        let armed_before = self.armed.take();
        let mut armed = None;
        let timeline = session.timeline();
        if holding && let Some(id) = self.scroll_id {
            // Rows were inserted above: stop any wheel momentum left from reaching the top, or
            // the view would glide on over the new rows instead of staying where it is.
            egui::scroll_area::State::default().store(ui.ctx(), id);
        }
        let mut area = ScrollArea::vertical()
            .auto_shrink([false, false])
            // (a fresh state counts as "stuck to the bottom": not while holding)
            .stick_to_bottom(stick);
        if let Some(offset) = offset {
            area = area.vertical_scroll_offset(offset);
        }
        let rows = &mut self.rows;
        let mut anchor = None;
        let mut remeasured = false;
        let output = area.show_viewport(ui, |ui, viewport| {
            let total = TOP_ROW + rows.total() as f32;
            ui.set_height(total);
            ui.set_width(width);
            let origin = ui.max_rect().min;
            if viewport.min.y < TOP_ROW {
                let top = Rect::from_min_size(origin, vec2(width, TOP_ROW));
                ui.scope_builder(UiBuilder::new().max_rect(top), |ui| {
                    ui.vertical_centered(|ui| {
                        if session.loading_older() {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.weak("Loading older messages…");
                            });
                        } else if session.reached_start() && session.history_loaded() {
                            ui.weak("This is the beginning of the conversation.");
                        } else if session.history_loaded()
                            && ui.small_button("Load older messages").clicked()
                        {
                            action = Some(Action::LoadOlder);
                        }
                    });
                });
            }
            if timeline.is_empty() {
                if session.history_loaded()
                    && session.outbox_here().next().is_none()
                    && !session.detached()
                {
                    let hello = Rect::from_min_size(origin + vec2(0.0, TOP_ROW), vec2(width, 30.0));
                    ui.put(hello, egui::Label::new("No messages yet. Say hello!"));
                }
                return;
            }
            let first = rows.row_at(f64::from((viewport.min.y - TOP_ROW).max(0.0)));
            for i in first..timeline.len() {
                let y = TOP_ROW + rows.top(i) as f32;
                if y > viewport.max.y {
                    break;
                }
                let message = timeline.at(i).expect("in range");
                let previous = i.checked_sub(1).and_then(|p| timeline.at(p));
                let mut heading = message_row::heading(message, previous);
                heading.new = marks.divider == Some(message.id);
                let look = RowLook {
                    mine: session.is_mine(message),
                    changeable: session.can_change(message),
                    armed: moved || armed_before == Some(message.id),
                    deleting: marks.deleting == Some(message.id),
                    me: session.me().and_then(|m| m.id.as_deref()),
                };
                let rect = Rect::from_min_size(origin + vec2(0.0, y), vec2(width, 100_000.0));
                let behind = ui.painter().add(egui::Shape::Noop);
                let drawn = ui.scope_builder(UiBuilder::new().max_rect(rect), |ui| {
                    message_row::show(ui, message, &heading, &look, session.names(), pictures)
                });
                let fill = if self.found == Some(message.id) {
                    Some(ui.visuals().selection.bg_fill.gamma_multiply(0.35))
                } else if session.mentions_me(message) {
                    Some(ui.visuals().warn_fg_color.gamma_multiply(0.12))
                } else {
                    None
                };
                if let Some(fill) = fill {
                    let shape = egui::epaint::RectShape::filled(drawn.response.rect, 4.0, fill);
                    ui.painter().set(behind, shape);
                }
                if let Some(asked) = drawn.inner.action {
                    action = Some(asked);
                }
                if drawn.inner.hovered && look.armed {
                    armed = Some(message.id);
                }
                remeasured |= rows.measured(i, message.id, drawn.response.rect.height());
            }
            // The row in the middle of the view is the one kept in place when rows are
            // inserted above: the first one may change (it loses its day separator, say).
            let top = f64::from(viewport.min.y - TOP_ROW);
            let middle = rows.row_at(f64::from(viewport.center().y - TOP_ROW));
            anchor = timeline.at(middle).map(|m| (m.id, top - rows.top(middle)));
        });
        self.remeasured = remeasured;
        if resized {
            ui.ctx()
                .request_discard("the message list was resized at the bottom");
        }
        self.anchor = anchor;
        self.armed = armed;
        self.detached = session.detached();
        self.offset = output.state.clamped_offset().y;
        self.scroll_id = Some(output.id);
        let view = output.inner_rect;
        self.view_height = view.height();
        let bottom = output.state.clamped_offset().y + view.height();
        self.at_bottom = bottom >= output.content_size.y - 4.0;
        if self.at_bottom {
            self.jumping = 0;
        } else if self.jumping > 0 {
            self.jumping -= 1;
            self.jump = true;
            ui.ctx().request_repaint();
        }
        if self.at_bottom {
            self.settled = true;
            self.seen_newest = timeline.newest_id();
        }
        let near_top = output.state.clamped_offset().y < LOAD_MARGIN;
        if self.settled
            && near_top
            && !self.at_bottom
            && session.phase() == Phase::Online
            && !session.reached_start()
            && !session.loading_older()
        {
            action = action.or(Some(Action::LoadOlder));
        }
        let near_bottom = bottom >= output.content_size.y - LOAD_MARGIN;
        if session.detached() {
            if near_bottom && session.phase() == Phase::Online && !session.loading_newer() {
                action = action.or(Some(Action::LoadNewer));
            }
            let button = Rect::from_center_size(
                pos2(view.center().x, view.bottom() - 22.0),
                vec2(170.0, 26.0),
            );
            if ui
                .put(button, egui::Button::new("Jump to present"))
                .clicked()
            {
                self.jump_to_bottom();
                action = Some(Action::ToPresent);
            }
            return action;
        }
        let unseen = self.unseen(session);
        if !self.at_bottom && unseen > 0 {
            let label = format!("{unseen} new message{}", if unseen == 1 { "" } else { "s" });
            let button = Rect::from_center_size(
                pos2(view.center().x, view.bottom() - 22.0),
                vec2(170.0, 26.0),
            );
            if ui.put(button, egui::Button::new(label)).clicked() {
                self.jump_to_bottom();
                ui.ctx().request_repaint();
            }
        }
        action
    }
}
