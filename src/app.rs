//! The egui app: `logic` drains the socket into the session, `ui` draws it and queues actions.

use std::sync::Arc;

use web_time::Instant;

use crate::core::server_url::ServerUrl;
use crate::core::session::{Effect, Phase, Session};
use crate::edge::Edge;
use crate::edge::notify::{self, Notifications, Notify};
use crate::edge::page::Page;
use crate::edge::pictures::Pictures;
use crate::edge::saved_history::HistorySaver;
use crate::edge::store::SessionStore;
use crate::views::{self, Action, chat::ChatView, login::LoginForm};

pub struct ChatApp {
    session: Session,
    edge: Edge,
    login: LoginForm,
    chat: ChatView,
    /// Actions from the last `ui`, carried out by the next `logic` (views never do IO).
    actions: Vec<Action>,
    /// Why the login form itself was refused (bad URL), before any connection.
    form_error: Option<String>,
    page: Page,
    history: HistorySaver,
    notifications: Notifications,
    /// Thumbnails of attached pictures: asked for by the list, fetched in `logic`.
    pictures: Pictures,
    /// Files being saved from the chat.
    downloads: crate::edge::downloads::Downloads,
    /// Files dropped, picked or pasted, on their way to the composer.
    attaching: crate::edge::attaching::Attaching,
    /// Files that posts and the composer held when pasted pictures were last swept.
    #[cfg(not(target_arch = "wasm32"))]
    pasted_held: Option<usize>,
}

/// Where the app starts: the server to show on the login form, where the session is stored.
pub struct Startup {
    pub server: Option<String>,
    pub store: SessionStore,
    /// Said on the login panel (e.g. another window holds the stored session).
    pub notice: Option<String>,
    /// Shows notifications (None: the platform's; tests record them).
    pub notifier: Option<Box<dyn Notify>>,
    /// Where saved files go natively (None: the OS's Downloads folder).
    pub downloads: Option<std::path::PathBuf>,
    /// Stands in for the platform's file dialog (None: the platform's; tests pick files).
    #[cfg(not(target_arch = "wasm32"))]
    pub file_dialog: Option<crate::edge::attaching::FileDialog>,
}

impl Default for Startup {
    /// On the web the page's own origin is the default server: in development trunk proxies
    /// /websocket and /auth to Directus.
    fn default() -> Self {
        #[cfg(target_arch = "wasm32")]
        let server = web_sys::window().and_then(|w| w.location().origin().ok());
        #[cfg(not(target_arch = "wasm32"))]
        let server = None;
        Startup {
            server,
            store: SessionStore::default_location(),
            notice: None,
            notifier: None,
            downloads: None,
            #[cfg(not(target_arch = "wasm32"))]
            file_dialog: None,
        }
    }
}

/// The desktop window: its size, and where eframe keeps its size and position between runs
/// (the session's data folder; a window without a stored session remembers nothing).
#[cfg(not(target_arch = "wasm32"))]
pub fn native_options(store: &SessionStore) -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("directus-chat")
            .with_inner_size([720.0, 640.0])
            .with_min_inner_size([360.0, 320.0]),
        persist_window: store.dir().is_some(),
        persistence_path: store.dir().map(|d| d.join("window.ron")),
        ..Default::default()
    }
}

/// Why no window can open here (with what to do instead): on Linux a window needs an X11 or
/// Wayland display, and winit's own error only names a source file.
#[cfg(not(target_arch = "wasm32"))]
pub fn no_display() -> Option<String> {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if !cfg!(target_os = "linux") || set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return None;
    }
    Some(
        "there is no display here to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is \
         set). Use the chat in a browser (`cargo xtask web`), or without a window: \
         directus-chat --headless --server URL"
            .into(),
    )
}

pub fn time_seed() -> u64 {
    let nanos = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Mix in an address: two clients started in the same nanosecond still differ.
    let local = 0u8;
    nanos ^ ((&local as *const u8 as u64).rotate_left(32))
}

impl ChatApp {
    pub fn new(ctx: &egui::Context, startup: Startup) -> Self {
        views::apply_style(ctx);
        let repaint = ctx.clone();
        let wake: crate::edge::Wake = Arc::new(move || repaint.request_repaint());
        // Pasted pictures go into the session's own folder (a window without one keeps them
        // in memory).
        #[cfg(not(target_arch = "wasm32"))]
        let pasted_dir = startup.store.dir().map(|d| d.join("pasted"));
        let edge = Edge::new(startup.store, wake.clone());
        let notifier = startup
            .notifier
            .unwrap_or_else(|| notify::platform(wake.clone()));
        let mut app = ChatApp {
            // The page's tabs share the stored token (see `Session::shares_token_with_tabs`).
            session: if cfg!(target_arch = "wasm32") {
                Session::new(time_seed()).shares_token_with_tabs()
            } else {
                Session::new(time_seed())
            },
            edge,
            login: LoginForm::default(),
            chat: ChatView::default(),
            actions: Vec::new(),
            form_error: startup.notice,
            page: Page::default(),
            history: HistorySaver::default(),
            notifications: Notifications::new(notifier),
            pictures: Pictures::default(),
            #[cfg(not(target_arch = "wasm32"))]
            attaching: crate::edge::attaching::Attaching::new(startup.file_dialog, pasted_dir),
            #[cfg(target_arch = "wasm32")]
            attaching: crate::edge::attaching::Attaching::new(wake.clone()),
            #[cfg(not(target_arch = "wasm32"))]
            pasted_held: None,
            downloads: crate::edge::downloads::Downloads::saving_into(startup.downloads),
        };
        if let Some(server) = startup.server {
            app.login.server = server;
        }
        // A stored session logs in by itself (with its refresh token; there is no password).
        if let Some(stored) = app.edge.store.load()
            && let Ok(server) = ServerUrl::parse(&stored.server)
        {
            #[cfg(not(target_arch = "wasm32"))]
            let stored = {
                let mut stored = stored;
                crate::edge::attaching::recheck_stored(&mut stored.outbox);
                stored
            };
            app.login.server = stored.server.clone();
            match &stored.refresh_token {
                Some(token) => {
                    let effects = app.session.resume(
                        server,
                        stored.email,
                        token,
                        stored.outbox,
                        Instant::now(),
                    );
                    app.edge.apply(effects);
                    // What was read at the last run, shown until the server answers.
                    if let Some(saved) = app
                        .edge
                        .store
                        .load_history()
                        .and_then(|h| h.for_account(&stored.server, app.session.email()))
                    {
                        app.session.show_saved(saved);
                    }
                }
                // Only unsent messages were kept: they go out after the next login.
                None => app.session.restore(server, stored.email, stored.outbox),
            }
        }
        app
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// What the composer holds (as the field shows it: mentions as `@Name`).
    pub fn composer_text(&self) -> &str {
        &self.chat.composer.text
    }

    /// The window or tab title as last set.
    pub fn title(&self) -> &str {
        self.page.title()
    }

    /// Why the last logout could not revoke the refresh token on the server.
    pub fn logout_error(&self) -> Option<&str> {
        self.edge.logout_error.as_deref()
    }

    /// A logout's token revocation is still on its way to the server.
    pub fn revocation_pending(&self) -> bool {
        self.edge.revocations_pending()
    }

    fn act(&mut self, action: Action) {
        let now = Instant::now();
        let effects = match action {
            Action::LogIn {
                server,
                email,
                password,
            } => match ServerUrl::parse(&server) {
                Ok(url) if !email.is_empty() && !password.is_empty() => {
                    self.form_error = None;
                    self.session.login(url, &email, &password, now)
                }
                Ok(_) => {
                    self.form_error = Some("Enter your email and password.".into());
                    Vec::new()
                }
                Err(e) => {
                    self.form_error = Some(e);
                    Vec::new()
                }
            },
            Action::Send(text) => {
                match self
                    .session
                    .send_files(&text, self.chat.composer.attached.clone(), now)
                {
                    Ok(effects) => {
                        self.chat.composer.done();
                        self.page.answered();
                        effects
                    }
                    Err(why) => {
                        self.chat.composer.error = Some(why); // the text stays in the composer
                        Vec::new()
                    }
                }
            }
            Action::Edit { id, content } => match self.session.edit(id, &content, now) {
                Ok(effects) => {
                    self.chat.composer.done();
                    effects
                }
                Err(why) => {
                    self.chat.composer.error = Some(why);
                    Vec::new()
                }
            },
            Action::Delete(id) => self.session.delete_later(id, now).unwrap_or_else(|why| {
                self.chat.composer.error = Some(why);
                Vec::new()
            }),
            Action::LoadOlder => self.session.load_older(now),
            Action::LoadNewer => self.session.load_newer(now),
            Action::ToPresent => {
                self.session.to_present();
                self.chat.list.jump_to_bottom();
                Vec::new()
            }
            Action::UndoDelete => {
                self.session.undo_delete();
                Vec::new()
            }
            // The chat view handles these.
            Action::StartEdit(_) | Action::ViewPicture(_) => Vec::new(),
            Action::SaveFile(file) => {
                self.downloads.want(file);
                Vec::new()
            }
            Action::Attach(dropped) => {
                self.attaching.dropped(dropped, &self.edge.wake());
                Vec::new()
            }
            Action::PickFiles => {
                self.attaching.pick(&self.edge.wake());
                Vec::new()
            }
            // Files go with a new message, not an edit.
            Action::PastePicture(_) if self.chat.composer.editing.is_some() => Vec::new(),
            Action::PastePicture(pasted) => {
                self.attaching.pasted_picture(pasted.0, &self.edge.wake());
                Vec::new()
            }
            Action::CancelPost(key) => self.session.cancel_post(&key, now),
            Action::RetryPost(key) => self.session.retry_post(&key, now),
            Action::LogOut => {
                self.chat = ChatView::default();
                self.history = HistorySaver::default();
                self.pictures = Pictures::default();
                self.session.logout(now)
            }
            Action::RetryNow => self.session.retry_now(now),
            Action::RetrySend(key) => self.session.retry_failed(&key, now),
            Action::Discard(key) => self.session.discard(&key, now),
            // The chat view follows whichever room the session shows (see `logic`).
            Action::ShowRoom(room) => self.session.show_room(&room, now),
            Action::Search(text) => self.session.search(&text, now),
            Action::SearchMore => self.session.search_more(now),
            Action::OpenMessage { room, id } => {
                self.chat.reveal(room.clone(), id);
                self.session.open_at(&room, id, now)
            }
            Action::BrowseChannels => self.session.browse_channels(now),
            Action::ListPeople => self.session.list_people(now),
            Action::ListMembers(room) => self.session.list_members(&room, now),
            Action::SetNotify { room, level } => {
                room_change(&mut self.chat, self.session.set_notify(&room, level, now))
            }
            Action::AllowNotifications => {
                self.notifications.platform.ask_permission();
                Vec::new()
            }
            Action::Join(room) => room_change(&mut self.chat, self.session.join(&room, now)),
            Action::Leave(room) => room_change(&mut self.chat, self.session.leave(&room, now)),
            Action::CreateChannel { name, private } => room_change(
                &mut self.chat,
                self.session.create_channel(&name, private, now),
            ),
            Action::StartDm(person) => {
                room_change(&mut self.chat, self.session.start_dm(&person, now))
            }
            Action::AddToRoom { room, person } => room_change(
                &mut self.chat,
                self.session.add_to_room(&room, &person, now),
            ),
        };
        self.edge.apply(effects);
    }
}

/// A room change asked of the server, or why it cannot be (said where the composer says why
/// a send was refused).
fn room_change(chat: &mut ChatView, asked: Result<Vec<Effect>, String>) -> Vec<Effect> {
    asked.unwrap_or_else(|why| {
        chat.composer.error = Some(why);
        Vec::new()
    })
}

impl eframe::App for ChatApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        for action in std::mem::take(&mut self.actions) {
            self.act(action);
        }
        self.edge.drive(&mut self.session);
        let wake = self.edge.wake();
        // Files saved (or why not), said above the composer.
        let (effects, ended) = self
            .downloads
            .drive(&mut self.session, &wake, Instant::now());
        self.edge.apply(effects);
        for saved in ended {
            match saved {
                Ok(said) => self.chat.composer.note = Some(said),
                Err(why) => self.chat.composer.error = Some(why),
            }
        }
        // Files dropped, picked or pasted: they go with the composer's next message.
        for arrived in self.attaching.ready() {
            match arrived {
                Ok(_)
                    if self.chat.composer.attached.len() >= crate::core::attachment::MAX_FILES =>
                {
                    self.chat.composer.error = Some(format!(
                        "At most {} files go in one message.",
                        crate::core::attachment::MAX_FILES
                    ));
                }
                Ok(file) => self.chat.composer.attached.push(file),
                Err(why) => self.chat.composer.error = Some(why),
            }
        }
        self.chat.composer.picking = self.attaching.is_picking();
        // Pasted pictures that no post and no draft holds any more go (not while one is
        // being written: it is in no list yet).
        #[cfg(not(target_arch = "wasm32"))]
        {
            let held = self.session.posts().len() + self.chat.composer.attached.len();
            if self.pasted_held != Some(held) && !self.attaching.is_encoding() {
                self.pasted_held = Some(held);
                let attached = &self.chat.composer.attached;
                // By file name (a fresh id each): a restored post's path may be spelled
                // otherwise than the folder is now.
                let name_of = |f: &crate::core::session::NewFile| match &f.source {
                    crate::core::session::FileSource::Path(p) => std::path::Path::new(p)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned()),
                    crate::core::session::FileSource::Bytes(_) => None,
                };
                let needed: std::collections::HashSet<String> = self
                    .session
                    .posts()
                    .iter()
                    .flat_map(|p| p.uploads.iter().map(|u| &u.file))
                    .chain(attached)
                    .chain(self.chat.drafts_attached())
                    .filter_map(name_of)
                    .collect();
                self.attaching.sweep_pasted(|name| needed.contains(name));
            }
        }
        // Thumbnails the list asked for in the last frame (and the REST token they need).
        let effects = self
            .pictures
            .load(ctx, &mut self.session, &wake, Instant::now());
        self.edge.apply(effects);
        // Another room shown (picked, joined, or the shown one left): the view's scroll
        // position and draft follow it.
        let shown = self.session.rooms().shown_id().map(str::to_owned);
        self.chat.follow_room(shown);
        // The last messages, for the next start.
        if let Some(history) = self.history.due(&self.session, Instant::now())
            && let Err(e) = self.edge.store.save_history(&history)
        {
            log::warn!("could not save the recent messages: {e}");
        }
        if let Some(after) = self.history.recheck_after() {
            ctx.request_repaint_after(after);
        }
        // Read where the user is looking at the newest message: the marker follows (and the
        // room's count on the user's other devices with it).
        if self.chat.list.at_bottom() && ctx.input(|i| i.focused) {
            let effects = self.session.mark_read(Instant::now());
            self.edge.apply(effects);
        }
        let focused = ctx.input(|i| i.focused);
        self.chat.notify_permission = self.notifications.platform.permission();
        let clicked = self
            .notifications
            .update(&mut self.session, focused, Instant::now());
        for (room, id) in clicked {
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            self.act(Action::OpenMessage { room, id });
        }
        if let Some(due) = self.notifications.next_deadline() {
            ctx.request_repaint_after(due.saturating_duration_since(Instant::now()));
        }
        let fresh = self.session.take_fresh();
        self.page.update(ctx, &self.session, &fresh);
        // Sleep until the session has something to do (no repaints while idle).
        if let Some(deadline) = self.session.next_deadline() {
            ctx.request_repaint_after(deadline.saturating_duration_since(Instant::now()));
        }
        if let Phase::Reconnecting { .. } = self.session.phase() {
            ctx.request_repaint_after(std::time::Duration::from_secs(1)); // the countdown
        }
    }

    /// The window's size and position are kept (see `native_options`), egui's widget state is
    /// not: the message list starts at the newest message, not where it was.
    fn persist_egui_memory(&self) -> bool {
        false
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let unsent = self.session.unsent_by_owner();
        let action = match self.session.phase() {
            Phase::LoggedOut => {
                let error = self
                    .form_error
                    .as_deref()
                    .or(self.session.error())
                    .or(self.edge.logout_error.as_deref());
                egui::CentralPanel::default()
                    .show(ui, |ui| {
                        views::login::show(ui, &mut self.login, false, error, &unsent)
                    })
                    .inner
            }
            _ if self.session.logging_in() => {
                egui::CentralPanel::default()
                    .show(ui, |ui| {
                        views::login::show(ui, &mut self.login, true, None, &unsent)
                    })
                    .inner
            }
            _ => views::chat::show(
                ui,
                &self.session,
                &mut self.chat,
                &mut self.pictures,
                self.edge.store_error.as_deref(),
                self.page.unread().divider(),
            ),
        };
        if let Some(action) = action {
            self.actions.push(action);
            ui.ctx().request_repaint();
        }
    }
}
