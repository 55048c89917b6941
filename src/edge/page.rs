//! What surrounds the app: the window or tab title (with the unread count while the user looks
//! elsewhere) and, on the web, a visually hidden ARIA live region that mirrors the chat. egui's
//! web build has no AccessKit, so without it a screen reader (or a browser test) sees a canvas.

use crate::core::session::{Phase, Session};
use crate::core::unread::Unread;
use crate::views::message_row::local_time;

#[derive(Default)]
pub struct Page {
    unread: Unread,
    title: String,
    #[cfg(target_arch = "wasm32")]
    mirror: web::Mirror,
    /// The browser asks before the page goes (files held only by the page are on their way).
    #[cfg(target_arch = "wasm32")]
    asks_before_leaving: bool,
    #[cfg(target_arch = "wasm32")]
    ask: Option<eframe::wasm_bindgen::closure::Closure<dyn FnMut(web_sys::BeforeUnloadEvent)>>,
}

impl Page {
    /// Call once per `logic` with the ids the session added since the last call.
    pub fn update(&mut self, ctx: &egui::Context, session: &Session, fresh: &[i64]) {
        if session.phase() == Phase::LoggedOut {
            self.unread.reset();
        } else {
            self.unread.update(
                session.room_timeline(),
                session.history_loaded(),
                user_is_looking(ctx),
                |m| session.is_mine(m),
            );
        }
        let title = title(session, self.unread.count());
        if title != self.title {
            set_title(ctx, &title);
            self.title = title;
        }
        #[cfg(target_arch = "wasm32")]
        {
            self.mirror.update(session, fresh);
            // Unsent messages outlive a reload (localStorage); a file the page holds does
            // not, so the browser asks first ("Leave site?") while one is on its way.
            let holding = session.posts_held_in_memory() > 0;
            if holding != self.asks_before_leaving {
                web::ask_before_leaving(holding, &mut self.ask);
                self.asks_before_leaving = holding;
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = fresh; // only the web page mirrors messages
    }

    pub fn unread(&self) -> &Unread {
        &self.unread
    }

    /// The user sent a message: what was new has been read.
    pub fn answered(&mut self) {
        self.unread.clear_divider();
    }

    pub fn title(&self) -> &str {
        &self.title
    }
}

/// "directus-chat — Alice", with "(3) " in front while 3 messages wait unseen.
pub fn title(session: &Session, unread: usize) -> String {
    let mut title = String::new();
    if unread > 0 {
        title.push_str(&format!("({unread}) "));
    }
    title.push_str("directus-chat");
    if let Some(name) = session
        .display_name()
        .filter(|_| session.phase() != Phase::LoggedOut)
    {
        title.push_str(" — ");
        title.push_str(name);
    }
    title
}

/// One line per message for assistive technology: "Alice, 14:32: hello".
/// "Bob, 10:00, #general: hi" (`room`: where it was said, as [`room_spoken`] names it).
pub fn spoken_line(author: &str, time: Option<&str>, room: &str, content: &str) -> String {
    match time {
        Some(time) => format!("{author}, {}, {room}: {content}", local_time(time)),
        None => format!("{author}, {room}: {content}"),
    }
}

/// A message's text and then its files, as spoken: "look (file: photo.png (1.2 MB))".
pub fn spoken_content(content: &str, files: &[crate::core::attachment::Attachment]) -> String {
    let mut said = content.to_owned();
    for file in files {
        if !said.is_empty() {
            said.push(' ');
        }
        said.push_str(&format!("(file: {})", file.label()));
    }
    said
}

/// A room as the live region names it: "#general", or "DM with Bob".
pub fn room_spoken(session: &Session, room: Option<&str>) -> String {
    let name = session.room_name(room);
    match room.and_then(|id| session.rooms().get(id)) {
        Some(r) if r.kind == crate::core::protocol::rooms::RoomKind::Dm => {
            format!("DM with {name}")
        }
        _ => format!("#{name}"),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn user_is_looking(ctx: &egui::Context) -> bool {
    ctx.input(|i| i.viewport().focused).unwrap_or(true)
}

#[cfg(not(target_arch = "wasm32"))]
fn set_title(ctx: &egui::Context, title: &str) {
    ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.to_owned()));
}

#[cfg(target_arch = "wasm32")]
fn user_is_looking(_ctx: &egui::Context) -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| !d.hidden())
}

#[cfg(target_arch = "wasm32")]
fn set_title(_ctx: &egui::Context, title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    use eframe::wasm_bindgen::closure::Closure;

    use super::{room_spoken, spoken_content, spoken_line};
    use crate::core::session::{Phase, Session};
    use crate::views::chat::status_text;

    /// Have the browser ask before the page is closed or reloaded, or stop asking.
    pub fn ask_before_leaving(
        on: bool,
        ask: &mut Option<Closure<dyn FnMut(web_sys::BeforeUnloadEvent)>>,
    ) {
        use eframe::wasm_bindgen::JsCast as _;
        let Some(window) = web_sys::window() else {
            return;
        };
        if !on {
            window.set_onbeforeunload(None);
            return;
        }
        let ask = ask.get_or_insert_with(|| {
            Closure::new(|event: web_sys::BeforeUnloadEvent| {
                event.prevent_default();
                // Older browsers ask only when a return value is set.
                event.set_return_value("Files are still being sent.");
            })
        });
        window.set_onbeforeunload(Some(ask.as_ref().unchecked_ref()));
    }

    /// At most this many messages stay in the live region (the canvas shows them all).
    const KEEP: u32 = 200;

    #[derive(Default)]
    pub struct Mirror {
        status: String,
        shown: usize,
        started: bool,
    }

    impl Mirror {
        pub fn update(&mut self, session: &Session, fresh: &[i64]) {
            let Some(document) = web_sys::window().and_then(|w| w.document()) else {
                return;
            };
            if !self.started {
                // The app draws now: the page's own indicator (shown before the wasm ran) goes.
                if let Some(loading) = document.get_element_by_id("loading") {
                    loading.remove();
                }
                self.started = true;
            }
            let status = status_text(session);
            if status != self.status {
                if let Some(el) = document.get_element_by_id("chat-status") {
                    el.set_text_content(Some(&status));
                }
                self.status = status;
            }
            let Some(log) = document.get_element_by_id("chat-log") else {
                return;
            };
            if session.phase() == Phase::LoggedOut && self.shown > 0 {
                log.set_text_content(None); // logged out: nothing of the chat stays in the page
                self.shown = 0;
            }
            let mut ids = fresh.to_vec();
            ids.sort_unstable();
            // Of every room held, each line naming its room.
            for message in ids.iter().filter_map(|id| session.message(*id)) {
                let Ok(item) = document.create_element("li") else {
                    continue;
                };
                let author = message.author.first_name.as_deref().unwrap_or("Someone");
                item.set_text_content(Some(&spoken_line(
                    author,
                    message.date_created.as_deref(),
                    &room_spoken(session, message.room.as_deref()),
                    &spoken_content(&message.content, &message.files),
                )));
                let _ = log.append_child(&item);
                self.shown += 1;
            }
            while log.child_element_count() > KEEP {
                if let Some(first) = log.first_element_child() {
                    first.remove();
                }
                self.shown = KEEP as usize;
            }
        }
    }
}
