//! The IO edge: carries out the session's effects (socket, REST, storage) and turns socket
//! callbacks into inputs. The app and headless mode both drive the session through it.

pub mod attaching;
mod auth_turn;
pub mod downloads;
#[cfg(not(target_arch = "wasm32"))]
pub mod http;
#[cfg(not(target_arch = "wasm32"))]
pub mod net;
pub mod notify;
pub mod page;
pub mod pictures;
pub mod rest;
pub mod saved_history;
pub mod socket;
pub mod store;
pub mod uploads;
pub mod web_fonts;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use poll_promise::Promise;
use web_time::Instant;

use crate::core::session::{Effect, Phase, Session};
use store::{SessionStore, StoredSession};

/// A socket event, as the session takes it.
#[derive(Debug)]
pub enum SocketEvent {
    Opened,
    Frame(String),
    Closed(String),
}

pub type Wake = Arc<dyn Fn() + Send + Sync>;

pub struct Edge {
    socket: Option<socket::Socket>,
    /// Events are tagged with the socket's generation: a replaced socket's late events are dropped.
    generation: u64,
    tx: Sender<(u64, SocketEvent)>,
    rx: Receiver<(u64, SocketEvent)>,
    wake: Wake,
    pub store: SessionStore,
    revocations: Vec<Promise<Result<(), String>>>,
    /// The session was already refused (and storage looked at) in the last `drive`.
    refusal_seen: bool,
    /// Authenticating takes turns with the page's other tabs (see `auth_turn`).
    turn: auth_turn::AuthTurn,
    /// The socket of this generation opened and waits for its turn to authenticate.
    awaiting_turn: Option<u64>,
    /// The reachability probe under way (one at a time): did the server answer?
    probe: Option<Promise<bool>>,
    /// The last problem storing the session, for the status line.
    pub store_error: Option<String>,
    /// Why the last logout could not revoke the token on the server.
    pub logout_error: Option<String>,
    /// Files on their way to the server (see `uploads.rs`).
    pub uploads: uploads::Uploads,
    /// DIRECTUS_CHAT_TRACE=1: every frame to stderr (auth and access frames redacted: they hold secrets).
    trace: bool,
}

fn trace_line(direction: &str, text: &str) {
    let secret = ["\"auth\"", "refresh_token", "access_token"];
    let shown = if secret.iter().any(|s| text.contains(s)) {
        "(auth frame, redacted)"
    } else {
        text
    };
    let cut: String = shown.chars().take(300).collect();
    // Wall-clock seconds: lines of two processes (sender, receiver) can be lined up.
    let at = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    eprintln!("trace {at:.6} {direction} {cut}");
}

impl Edge {
    pub fn new(store: SessionStore, wake: Wake) -> Self {
        let (tx, rx) = channel();
        #[cfg(target_arch = "wasm32")]
        store::wake_on_storage_change(wake.clone());
        let trace = std::env::var("DIRECTUS_CHAT_TRACE").is_ok_and(|v| !v.is_empty() && v != "0");
        Edge {
            trace,
            socket: None,
            generation: 0,
            tx,
            rx,
            wake,
            store,
            revocations: Vec::new(),
            probe: None,
            refusal_seen: false,
            turn: Default::default(),
            awaiting_turn: None,
            store_error: None,
            logout_error: None,
            uploads: Default::default(),
        }
    }

    /// Feed every pending socket event to the session and carry out what it asks, then tick.
    pub fn drive(&mut self, session: &mut Session) {
        while let Ok((generation, event)) = self.rx.try_recv() {
            if generation != self.generation {
                // A socket we gave up on: only a rotated token in a late auth reply matters.
                if let SocketEvent::Frame(text) = event {
                    session.late_frame(&text);
                }
                continue;
            }
            let now = Instant::now();
            if self.trace {
                match &event {
                    SocketEvent::Frame(text) => trace_line("<-", text),
                    other => eprintln!("trace socket {other:?}"),
                }
            }
            let effects = match event {
                SocketEvent::Opened if self.turn.ask(self.wake.clone()) => {
                    self.authenticate_with_newest_token(session, now)
                }
                SocketEvent::Opened => {
                    self.awaiting_turn = Some(generation);
                    Vec::new()
                }
                SocketEvent::Frame(text) => session.frame(&text, now),
                SocketEvent::Closed(reason) => {
                    self.socket = None;
                    self.awaiting_turn = None;
                    session.closed(&reason, now)
                }
            };
            self.apply(effects);
        }
        if self.probe.as_ref().is_some_and(|p| p.ready().is_some())
            && self.probe.take().is_some_and(Promise::block_and_take)
        {
            let effects = session.server_answered(Instant::now());
            self.apply(effects);
        }
        let effects = self.uploads.poll(session, Instant::now(), &self.wake);
        self.apply(effects);
        let effects = session.tick(Instant::now());
        self.apply(effects);
        // Refused a token another tab had already rotated: continue with that tab's newer one,
        // now or as soon as it is stored (a background tab may store it a moment later; the
        // page's storage event wakes us then).
        let refused = session.phase() == Phase::LoggedOut
            && session.error().is_some()
            && session.spent_token().is_some();
        // Looked at once when refused, then only when another tab wrote (not every repaint).
        let look = refused && (!self.refusal_seen || self.store.changed_elsewhere());
        self.refusal_seen = refused;
        if look && let Some((stored, token)) = self.other_tabs_token(session, session.spent_token())
        {
            let effects = session.rejoin(&stored.server, stored.email, &token, Instant::now());
            self.note_adopted(session, &token);
            self.apply(effects);
        }
        // Whatever changed above (a new token, a message typed or confirmed) goes to disk now.
        if let Some(save) = session.persist() {
            self.apply(vec![save]);
        }
        // After the save: the next tab's turn starts from the token stored just now.
        self.use_or_end_turn(session);
        // A finished revocation that failed is worth telling: the token may still be alive.
        self.revocations.retain(|p| match p.ready() {
            None => true,
            Some(Ok(())) => false,
            Some(Err(e)) => {
                self.logout_error = Some(format!(
                    "Logged out here, but the server could not be told: {e}"
                ));
                false
            }
        });
    }

    /// The socket is open and it is this tab's turn: authenticate with the newest token of this
    /// stored session (another tab may have rotated it just before).
    fn authenticate_with_newest_token(
        &mut self,
        session: &mut Session,
        now: Instant,
    ) -> Vec<Effect> {
        if let Some((stored, token)) = self.other_tabs_token(session, session.refresh_token()) {
            session.adopt_token(&stored.server, stored.email.as_deref(), &token);
            self.note_adopted(session, &token);
        }
        session.opened(now)
    }

    /// A socket waiting for its turn authenticates once it has it (asking again if a turn given
    /// earlier ran out); a turn nobody waits for ends once the handshake has been answered (its
    /// new token is stored by then: `persist` runs before this in `drive`).
    fn use_or_end_turn(&mut self, session: &mut Session) {
        if self.awaiting_turn.is_some_and(|g| g != self.generation) {
            self.awaiting_turn = None; // that socket is gone
        }
        if self.awaiting_turn.is_some() && self.turn.ask(self.wake.clone()) {
            self.awaiting_turn = None;
            let effects = self.authenticate_with_newest_token(session, Instant::now());
            self.apply(effects);
        }
        let handshaking = matches!(session.phase(), Phase::Authenticating { .. });
        if self.awaiting_turn.is_none() && self.turn.held() && !handshaking {
            self.turn.release();
        }
    }

    /// A token taken from another tab is not ours to write back (see `token_to_write`).
    fn note_adopted(&self, session: &Session, token: &str) {
        if session.refresh_token() == Some(token) {
            self.store.adopted(token);
        }
    }

    /// This session's stored record (same server and account) if another tab of the page put
    /// a token there other than `ours`, with that token. Natively never (one process).
    fn other_tabs_token(
        &self,
        session: &Session,
        ours: Option<&str>,
    ) -> Option<(StoredSession, String)> {
        let server = &session.server()?.http;
        let stored = self.store.token_other_than(server, session.email(), ours)?;
        let token = stored.refresh_token.clone()?;
        Some((stored, token))
    }

    /// Wakes the app (for IO that answers later).
    pub fn wake(&self) -> Wake {
        self.wake.clone()
    }

    /// Logout requests still on their way to the server.
    pub fn revocations_pending(&self) -> bool {
        !self.revocations.is_empty()
    }

    pub fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            if self.trace {
                match &effect {
                    Effect::Send(text) => trace_line("->", text),
                    Effect::Connect(url) => eprintln!("trace connect {url}"),
                    Effect::Disconnect => eprintln!("trace disconnect"),
                    _ => {}
                }
            }
            match effect {
                Effect::Connect(url) => self.connect(url),
                Effect::Send(text) => match &mut self.socket {
                    Some(socket) => socket.send(text),
                    None => log::warn!("dropped a frame: no socket"),
                },
                Effect::Disconnect => {
                    self.generation += 1;
                    self.socket = None; // dropping the sender closes the socket
                }
                Effect::SaveSession {
                    server,
                    email,
                    refresh_token,
                    outbox,
                } => {
                    self.store_error = self
                        .store
                        .save(&StoredSession {
                            server,
                            email,
                            refresh_token,
                            outbox,
                        })
                        .err();
                }
                Effect::ForgetSession => self.store.forget(),
                Effect::RevokeRefreshToken {
                    http,
                    email,
                    refresh_token,
                } => {
                    // The page's tabs share one session: logging out in one ends it, whichever
                    // tab rotated its token last (the others are refused at their next handshake).
                    let stored = self.store.take_token(&http, email.as_deref());
                    for token in std::iter::once(refresh_token).chain(stored) {
                        let wake = self.wake.clone();
                        self.revocations.push(rest::revoke(&http, &token, wake));
                    }
                }
                Effect::Upload {
                    http,
                    token,
                    id,
                    room,
                    file,
                } => {
                    let job = uploads::Job {
                        http,
                        token,
                        id,
                        room,
                        file,
                    };
                    self.uploads.start(job, self.wake.clone());
                }
                Effect::DropUpload { http, token, id } => {
                    self.uploads
                        .drop_upload(&http, token, &id, self.wake.clone());
                }
                Effect::ProbeServer(http) => {
                    if self.probe.is_none() {
                        self.probe = Some(rest::ping(&http, self.wake.clone()));
                    }
                }
            }
        }
    }

    fn connect(&mut self, url: String) {
        self.generation += 1;
        self.socket = None;
        let generation = self.generation;
        let tx = self.tx.clone();
        let wake = self.wake.clone();
        let on_event: socket::OnEvent = Box::new(move |event| {
            let sent = tx.send((generation, event));
            wake();
            sent.is_ok()
        });
        match socket::Socket::connect(url, on_event) {
            Ok(sender) => self.socket = Some(sender),
            Err(e) => {
                let _ = self.tx.send((generation, SocketEvent::Closed(e)));
                (self.wake)();
            }
        }
    }
}
