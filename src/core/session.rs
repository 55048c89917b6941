//! The chat session as a state machine without IO.
//!
//! Inputs: socket events ([`Session::opened`], [`Session::frame`], [`Session::closed`]), user
//! actions ([`Session::login`], [`Session::resume`], [`Session::send`], [`Session::logout`],
//! [`Session::retry_now`]) and clock ticks ([`Session::tick`]), each with the current time.
//! Outputs: [`Effect`]s for the IO edge to carry out, and state the views read.
//!
//! What it gets right where the tutorial does not:
//! - the refresh token rotates on every auth: the newest one is kept and saved at once;
//! - TOKEN_EXPIRED re-authenticates on the same socket, holding sends until `auth ok`
//!   (otherwise Directus would create them as nobody, or refuse them);
//! - heartbeats are answered with JSON, and our own JSON pings notice a dead socket;
//! - reconnects back off exponentially with jitter, re-subscribe, and then catch up on every
//!   message with an id above the newest seen (after the subscription is live: no gap);
//! - every create carries a client key that is unique in the database, so a create retried
//!   after a lost reply is refused as a duplicate and never posts twice;
//! - logout closes the socket and revokes the refresh token over REST.

use std::collections::HashMap;
use std::time::Duration;

use web_time::Instant;

use super::protocol::{
    self as proto, Author, MessageItem, ServerError, ServerFrame, SubscriptionEvent,
};
use super::server_url::ServerUrl;
use super::timeline::Timeline;

/// Messages shown after login (the newest N).
pub const HISTORY_PAGE: u32 = 50;
/// Catch-up reads this many per request and asks again while pages come back full.
pub const CATCH_UP_PAGE: u32 = 500;
/// A request without an answer after this long is sent again (some errors carry no uid).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Opening the socket or authenticating may take this long before we try again.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Silence after which we ping the server ourselves (its own ping comes every 30 s).
pub const PING_AFTER: Duration = Duration::from_secs(20);
/// No answer to our ping within this long: the socket is dead.
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);
/// Reconnect backoff: first delay and cap.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Messages longer than this are refused in the composer (Directus accepts ~2 MiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// What the IO edge must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Open a socket to this URL (closing any previous one).
    Connect(String),
    /// Send a text frame on the open socket.
    Send(String),
    /// Close the socket.
    Disconnect,
    /// Persist the server, the newest refresh token and the unsent messages (never the
    /// password). No token: it was refused, but what the user wrote must survive a restart.
    SaveSession {
        server: String,
        refresh_token: Option<String>,
        outbox: Vec<Unsent>,
    },
    /// Delete the persisted session.
    ForgetSession,
    /// POST {http}/auth/logout with this refresh token, so it dies on the server too.
    RevokeRefreshToken { http: String, refresh_token: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    LoggedOut,
    /// Socket opening.
    Connecting {
        since: Instant,
    },
    /// Auth sent; on a live socket after TOKEN_EXPIRED too (sends are held meanwhile).
    Authenticating {
        since: Instant,
    },
    Online,
    /// Waiting before the next connection attempt.
    Reconnecting {
        at: Instant,
    },
}

/// A message the user wrote that Directus has not confirmed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub client_key: String,
    pub content: String,
    pub state: OutgoingState,
}

/// An unconfirmed message as it is stored across restarts. The client key travels with it, so
/// a message Directus stored just before the app died is found again, not posted twice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unsent {
    pub client_key: String,
    pub content: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutgoingState {
    Queued,
    InFlight,
    /// Refused by the server for good (e.g. FORBIDDEN); kept visible with the reason.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Request {
    Auth,
    Subscribe,
    ReadLatest,
    CatchUp,
    Create(String),
    Lookup(String),
    /// Read these messages again for their authors' names.
    Resolve(Vec<i64>),
    /// Who am I: the author of one of my own messages (Directus has no WS read of users).
    WhoAmI,
    Ping,
    /// Scroll-back: the page before the oldest message we have.
    Older,
    Update(i64),
    Delete(i64),
}

#[derive(Clone, Debug)]
struct InFlight {
    request: Request,
    frame: String,
    sent_at: Instant,
}

/// How we authenticate the next handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    RefreshToken,
    Password,
}

pub struct Session {
    phase: Phase,
    server: Option<ServerUrl>,
    email: Option<String>,
    /// Kept in memory only, to log in again if a rotated refresh token was lost in transit.
    password: Option<String>,
    refresh_token: Option<String>,
    using: Credential,
    /// Authenticated at least once since login/resume (then failures mean "reconnect").
    been_online: bool,
    subscribed: bool,
    /// This connection's read (history or catch-up) is complete: live events fill the rest.
    history_loaded: bool,
    /// Every message with an id up to this one has been seen. Catch-up reads from here, not
    /// from the newest id in the timeline: our own create replies can arrive before the
    /// catch-up and must not make it skip someone else's message stored just before ours.
    /// None until the first sync (which reads the newest page instead).
    cursor: Option<i64>,
    /// The logged-in user as an author (id and first name), once known.
    me: Option<Author>,
    asked_who: bool,
    timeline: Timeline,
    outbox: Vec<Outgoing>,
    requests: HashMap<String, InFlight>,
    next_uid: u64,
    attempt: u32,
    rng: u64,
    last_heard: Option<Instant>,
    ping_sent: Option<Instant>,
    resend_at: Option<Instant>,
    error: Option<String>,
    notice: Option<String>,
    fresh: Vec<i64>,
    persistent: bool,
    /// Messages whose author's name is not known yet (see `resolve_authors`).
    unresolved: std::collections::BTreeSet<i64>,
    resolve_blocked: bool,
    /// The very first message is in the timeline: scroll-back has nothing more to load.
    reached_start: bool,
    /// Why editing and deleting are not offered (the server said FORBIDDEN).
    edits_refused: Option<String>,
    /// What was last handed out for storage (see `persist`).
    saved: Option<Effect>,
}

impl Session {
    /// `seed` feeds the jitter and client keys (the edge passes something time-derived).
    /// Keep trying when the very first connection fails (bots, which may start before the
    /// server), instead of going back to the login panel.
    pub fn persistent(mut self) -> Self {
        self.persistent = true;
        self
    }

    pub fn new(seed: u64) -> Self {
        Session {
            phase: Phase::LoggedOut,
            server: None,
            email: None,
            password: None,
            refresh_token: None,
            using: Credential::Password,
            been_online: false,
            subscribed: false,
            history_loaded: false,
            cursor: None,
            me: None,
            asked_who: false,
            timeline: Timeline::default(),
            outbox: Vec::new(),
            requests: HashMap::new(),
            next_uid: 0,
            attempt: 0,
            rng: seed | 1,
            last_heard: None,
            ping_sent: None,
            resend_at: None,
            error: None,
            notice: None,
            fresh: Vec::new(),
            persistent: false,
            unresolved: Default::default(),
            resolve_blocked: false,
            saved: None,
            reached_start: false,
            edits_refused: None,
        }
    }

    // ---- what the views read ---------------------------------------------------------------

    pub fn phase(&self) -> Phase {
        self.phase
    }
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    pub fn outbox(&self) -> &[Outgoing] {
        &self.outbox
    }
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    pub fn server(&self) -> Option<&ServerUrl> {
        self.server.as_ref()
    }
    /// The logged-in user, once known (from their own messages).
    pub fn me(&self) -> Option<&Author> {
        self.me.as_ref()
    }

    /// A name to show for the logged-in user: first name, else e-mail.
    pub fn display_name(&self) -> Option<&str> {
        self.me
            .as_ref()
            .and_then(|m| m.first_name.as_deref())
            .or(self.email.as_deref())
    }

    /// Is this message the logged-in user's own?
    pub fn is_mine(&self, message: &MessageItem) -> bool {
        self.me
            .as_ref()
            .and_then(|m| m.id.as_ref())
            .is_some_and(|id| message.author.id.as_ref() == Some(id))
    }

    /// Why the session is logged out or failing, in words for the user.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// A passing remark (e.g. a refused message), shown but not blocking.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
    /// A password login is under way (a resumed session shows the chat and its status instead).
    pub fn logging_in(&self) -> bool {
        matches!(
            self.phase,
            Phase::Connecting { .. } | Phase::Authenticating { .. }
        ) && !self.been_online
            && self.using == Credential::Password
    }
    pub fn history_loaded(&self) -> bool {
        self.history_loaded
    }
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }
    /// Every message with an id up to this one has been seen (None before the first sync).
    pub fn complete_through(&self) -> Option<i64> {
        self.cursor
    }

    /// The message's author name is still being asked for.
    pub fn author_pending(&self, id: i64) -> bool {
        self.unresolved.contains(&id)
    }

    /// Ids added to the timeline since the last call (for printing each message once).
    pub fn take_fresh(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.fresh)
    }
    /// Nothing is waiting to be confirmed.
    pub fn outbox_settled(&self) -> bool {
        self.outbox
            .iter()
            .all(|o| matches!(o.state, OutgoingState::Failed(_)))
    }

    /// The next moment [`Session::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut deadlines = Vec::new();
        match self.phase {
            Phase::LoggedOut => return None,
            Phase::Connecting { since } | Phase::Authenticating { since } => {
                deadlines.push(since + CONNECT_TIMEOUT)
            }
            Phase::Reconnecting { at } => deadlines.push(at),
            Phase::Online => match self.ping_sent {
                Some(sent) => deadlines.push(sent + PONG_TIMEOUT),
                None => deadlines.extend(self.last_heard.map(|t| t + PING_AFTER)),
            },
        }
        deadlines.extend(self.requests.values().map(|r| r.sent_at + REQUEST_TIMEOUT));
        deadlines.extend(self.resend_at);
        deadlines.into_iter().min()
    }

    // ---- user actions ----------------------------------------------------------------------

    /// Log in with e-mail and password (the password stays in memory only).
    pub fn login(
        &mut self,
        server: ServerUrl,
        email: &str,
        password: &str,
        now: Instant,
    ) -> Vec<Effect> {
        // A resumed session has no e-mail: its unsent messages wait for whoever logs in on
        // this device next (the token was refused; it is almost always the same person).
        let same_account = self.server.as_ref() == Some(&server)
            && (self.email.is_none() || self.email.as_deref() == Some(email));
        if !same_account {
            self.timeline.clear();
            self.reached_start = false;
            self.outbox.clear();
            self.cursor = None;
            self.me = None;
            self.asked_who = false;
        }
        self.email = Some(email.to_owned());
        self.password = Some(password.to_owned());
        self.refresh_token = None;
        self.using = Credential::Password;
        self.start(server, now)
    }

    /// Log in with a stored refresh token (no password known), with the messages that were
    /// still unsent when the app last stopped.
    pub fn resume(
        &mut self,
        server: ServerUrl,
        refresh_token: &str,
        unsent: Vec<Unsent>,
        now: Instant,
    ) -> Vec<Effect> {
        self.restore(server.clone(), unsent);
        self.email = None;
        self.password = None;
        self.refresh_token = Some(refresh_token.to_owned());
        self.using = Credential::RefreshToken;
        self.start(server, now)
    }

    /// Back from storage without a token (it was refused): the unsent messages wait, shown on
    /// the login panel, and go out after the next login on this server.
    pub fn restore(&mut self, server: ServerUrl, unsent: Vec<Unsent>) {
        self.server = Some(server);
        self.email = None;
        for message in unsent {
            if !self
                .outbox
                .iter()
                .any(|o| o.client_key == message.client_key)
            {
                self.outbox.push(Outgoing {
                    client_key: message.client_key,
                    content: message.content,
                    state: OutgoingState::Queued,
                });
            }
        }
    }

    /// What to store now, if it changed since last asked: the edge calls this after every
    /// round of input, so a message typed offline is on disk before the next frame.
    pub fn persist(&mut self) -> Option<Effect> {
        let server = self.server.as_ref()?;
        let unsent = || {
            self.outbox
                .iter()
                .filter(|o| !matches!(o.state, OutgoingState::Failed(_)))
        };
        if self.refresh_token.is_none() && unsent().next().is_none() {
            return None; // nothing worth keeping (logged out, or before the first token)
        }
        // Called every frame: compare in place, copy only what changed.
        if let Some(Effect::SaveSession {
            server: saved_server,
            refresh_token,
            outbox,
        }) = &self.saved
            && *saved_server == server.http
            && *refresh_token == self.refresh_token
            && outbox
                .iter()
                .map(|u| (&u.client_key, &u.content))
                .eq(unsent().map(|o| (&o.client_key, &o.content)))
        {
            return None;
        }
        let wanted = Effect::SaveSession {
            server: server.http.clone(),
            refresh_token: self.refresh_token.clone(),
            outbox: unsent()
                .map(|o| Unsent {
                    client_key: o.client_key.clone(),
                    content: o.content.clone(),
                })
                .collect(),
        };
        self.saved = Some(wanted.clone());
        Some(wanted)
    }

    /// Drop the stored session. What `persist` last stored is gone with it, so unsent
    /// messages (if any) are stored again, without the token.
    fn forget_session(&mut self) -> Effect {
        self.saved = None;
        Effect::ForgetSession
    }

    fn start(&mut self, server: ServerUrl, now: Instant) -> Vec<Effect> {
        self.server = Some(server);
        self.been_online = false;
        self.attempt = 0;
        self.error = None;
        self.notice = None;
        self.connect(now)
    }

    /// Queue a message; blank ones are ignored. Returns Err with a reason when refused.
    pub fn send(&mut self, content: &str, now: Instant) -> Result<Vec<Effect>, String> {
        let content = content.trim_end();
        if content.trim().is_empty() {
            return Ok(Vec::new());
        }
        check_length(content)?;
        let client_key = self.new_client_key();
        self.outbox.push(Outgoing {
            client_key,
            content: content.to_owned(),
            state: OutgoingState::Queued,
        });
        Ok(self.flush(now))
    }

    /// Scroll-back reached the top: ask for the page before the oldest message.
    pub fn load_older(&mut self, now: Instant) -> Vec<Effect> {
        let Some(oldest) = self.timeline.oldest_id() else {
            return Vec::new();
        };
        if self.phase != Phase::Online
            || !self.history_loaded
            || self.reached_start
            || self.loading_older()
        {
            return Vec::new();
        }
        vec![self.request(
            Request::Older,
            |uid| proto::read_before(oldest, HISTORY_PAGE, uid),
            now,
        )]
    }

    pub fn loading_older(&self) -> bool {
        self.requests.values().any(|r| r.request == Request::Older)
    }

    /// The first message ever written is loaded.
    pub fn reached_start(&self) -> bool {
        self.reached_start
    }

    /// Editing and deleting are offered for this message.
    pub fn can_change(&self, message: &MessageItem) -> bool {
        self.edits_refused.is_none() && self.is_mine(message)
    }

    /// Why editing and deleting are not offered at all.
    pub fn edits_refused(&self) -> Option<&str> {
        self.edits_refused.as_deref()
    }

    /// The newest message of mine (what Up in an empty composer edits).
    pub fn last_own(&self) -> Option<&MessageItem> {
        self.timeline.iter().rev().find(|m| self.can_change(m))
    }

    /// Change the text of one of my messages; Err says why not (the text stays with the user).
    pub fn edit(&mut self, id: i64, content: &str, now: Instant) -> Result<Vec<Effect>, String> {
        let content = content.trim_end();
        self.check_change(id)?;
        if content.trim().is_empty() {
            return Err("An edit cannot be empty: delete the message instead.".into());
        }
        check_length(content)?;
        if self.timeline.get(id).is_some_and(|m| m.content == content) {
            return Ok(Vec::new()); // nothing changed
        }
        let content = content.to_owned();
        Ok(vec![self.request(
            Request::Update(id),
            |uid| proto::update_message(id, &content, uid),
            now,
        )])
    }

    pub fn delete(&mut self, id: i64, now: Instant) -> Result<Vec<Effect>, String> {
        self.check_change(id)?;
        Ok(vec![self.request(
            Request::Delete(id),
            |uid| proto::delete_message(id, uid),
            now,
        )])
    }

    fn check_change(&self, id: i64) -> Result<(), String> {
        if let Some(why) = &self.edits_refused {
            return Err(why.clone());
        }
        if !self.timeline.get(id).is_some_and(|m| self.is_mine(m)) {
            return Err("Only your own messages can be changed.".into());
        }
        if self.phase != Phase::Online {
            return Err("You are offline: edits and deletions need a connection.".into());
        }
        Ok(())
    }

    /// Close the socket, revoke the refresh token on the server, forget the stored session.
    pub fn logout(&mut self) -> Vec<Effect> {
        let mut effects = vec![Effect::Disconnect];
        if let (Some(server), Some(token)) = (&self.server, self.refresh_token.take()) {
            effects.push(Effect::RevokeRefreshToken {
                http: server.http.clone(),
                refresh_token: token,
            });
        }
        effects.push(self.forget_session());
        let server = self.server.take();
        *self = Session {
            rng: self.rng,
            next_uid: self.next_uid,
            persistent: self.persistent,
            ..Session::new(self.rng)
        };
        // Keep the address on the login form; everything else goes.
        self.server = server;
        effects
    }

    /// Skip the backoff wait and try now.
    pub fn retry_now(&mut self, now: Instant) -> Vec<Effect> {
        match self.phase {
            Phase::Reconnecting { .. } => self.connect(now),
            _ => Vec::new(),
        }
    }

    // ---- socket events ---------------------------------------------------------------------

    pub fn opened(&mut self, now: Instant) -> Vec<Effect> {
        if !matches!(self.phase, Phase::Connecting { .. }) {
            return Vec::new();
        }
        self.last_heard = Some(now);
        self.authenticate(now)
    }

    /// The socket closed or failed (`reason` for the user when it was never usable).
    pub fn closed(&mut self, reason: &str, now: Instant) -> Vec<Effect> {
        match self.phase {
            Phase::LoggedOut | Phase::Reconnecting { .. } => Vec::new(),
            _ if !self.been_online && self.using == Credential::Password && !self.persistent => {
                // The first login never got through: say why on the login panel.
                self.phase = Phase::LoggedOut;
                self.password = None;
                self.error = Some(format!("Cannot reach the server: {}", humane(reason)));
                vec![Effect::Disconnect]
            }
            _ => {
                if !self.been_online {
                    self.error = Some(format!("Cannot reach the server: {}", humane(reason)));
                }
                self.schedule_reconnect(now)
            }
        }
    }

    pub fn frame(&mut self, text: &str, now: Instant) -> Vec<Effect> {
        if self.phase == Phase::LoggedOut {
            return Vec::new();
        }
        self.last_heard = Some(now);
        self.ping_sent = None;
        let frame = match proto::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                log::warn!("ignored a malformed frame: {e}");
                return Vec::new();
            }
        };
        match frame {
            ServerFrame::AuthOk { uid, refresh_token } => self.on_auth_ok(uid, refresh_token, now),
            ServerFrame::AuthError { uid, error } => self.on_auth_error(uid, error, now),
            ServerFrame::Items { uid, data } => self.on_items(uid, data, now),
            ServerFrame::ItemsError { uid, error } => self.on_items_error(uid, error, now),
            ServerFrame::Subscription { uid, event, data } => {
                self.on_subscription(uid, event, data, now)
            }
            ServerFrame::SubscribeError { uid, error } => {
                self.take_request(uid.as_deref());
                self.notice = Some(format!("Live updates were refused: {}", describe(&error)));
                Vec::new()
            }
            ServerFrame::Ping => vec![Effect::Send(proto::pong())],
            ServerFrame::Pong { uid } => {
                self.take_request(uid.as_deref());
                Vec::new()
            }
            ServerFrame::ServerError { error } => self.on_server_error(error, now),
            ServerFrame::Unknown(frame) => {
                log::debug!("ignored frame {frame}");
                Vec::new()
            }
        }
    }

    /// Time passes: reconnect when due, notice dead sockets, retry unanswered requests.
    pub fn tick(&mut self, now: Instant) -> Vec<Effect> {
        match self.phase {
            Phase::LoggedOut => return Vec::new(),
            Phase::Reconnecting { at } if now >= at => return self.connect(now),
            Phase::Connecting { since } | Phase::Authenticating { since }
                if now >= since + CONNECT_TIMEOUT =>
            {
                if !self.been_online && self.using == Credential::Password {
                    return self.closed("the server did not answer in time", now);
                }
                let mut effects = vec![Effect::Disconnect];
                effects.extend(self.schedule_reconnect(now));
                return effects;
            }
            _ => {}
        }
        let mut effects = Vec::new();
        if self.phase == Phase::Online {
            match (self.ping_sent, self.last_heard) {
                (Some(sent), _) if now >= sent + PONG_TIMEOUT => {
                    effects.push(Effect::Disconnect);
                    effects.extend(self.schedule_reconnect(now));
                    return effects;
                }
                (None, Some(heard)) if now >= heard + PING_AFTER => {
                    self.ping_sent = Some(now);
                    effects.push(self.request(Request::Ping, proto::ping, now));
                }
                _ => {}
            }
        }
        let due_all = self.resend_at.is_some_and(|at| now >= at);
        if due_all {
            self.resend_at = None;
        }
        let due: Vec<String> = self
            .requests
            .iter()
            .filter(|(_, r)| due_all || now >= r.sent_at + REQUEST_TIMEOUT)
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in due {
            let Some(mut req) = self.requests.remove(&uid) else {
                continue;
            };
            match req.request {
                Request::Ping => {} // the pong timeout handles it
                Request::Auth if !due_all => {
                    effects.push(Effect::Disconnect);
                    effects.extend(self.schedule_reconnect(now));
                    return effects;
                }
                _ => {
                    req.sent_at = now;
                    effects.push(Effect::Send(req.frame.clone()));
                    self.requests.insert(uid, req);
                }
            }
        }
        effects
    }

    // ---- internals -------------------------------------------------------------------------

    fn connect(&mut self, now: Instant) -> Vec<Effect> {
        let Some(websocket) = self.server.as_ref().map(|s| s.websocket.clone()) else {
            return Vec::new();
        };
        self.phase = Phase::Connecting { since: now };
        self.subscribed = false;
        self.history_loaded = false;
        self.ping_sent = None;
        self.resend_at = None;
        self.requeue_in_flight();
        self.requests.clear();
        vec![Effect::Connect(websocket)]
    }

    fn schedule_reconnect(&mut self, now: Instant) -> Vec<Effect> {
        let base = BACKOFF_FIRST
            .saturating_mul(1 << self.attempt.min(16))
            .min(BACKOFF_MAX);
        // ±25% jitter so that many clients do not return in lockstep after an outage.
        let jitter = 0.75 + (self.next_random() % 1000) as f64 / 2000.0;
        self.attempt += 1;
        self.phase = Phase::Reconnecting {
            at: now + base.mul_f64(jitter),
        };
        self.subscribed = false;
        self.history_loaded = false;
        self.requeue_in_flight();
        self.requests.clear();
        Vec::new()
    }

    fn authenticate(&mut self, now: Instant) -> Vec<Effect> {
        let frame: Box<dyn FnOnce(&str) -> String> =
            match (self.using, &self.refresh_token, &self.email, &self.password) {
                (Credential::RefreshToken, Some(token), _, _) => {
                    let token = token.clone();
                    Box::new(move |uid| proto::auth_with_refresh_token(&token, uid))
                }
                (_, _, Some(email), Some(password)) => {
                    let (email, password) = (email.clone(), password.clone());
                    Box::new(move |uid| proto::auth_with_password(&email, &password, uid))
                }
                _ => return self.fail_login("Please log in again.".into()),
            };
        self.phase = Phase::Authenticating { since: now };
        vec![self.request(Request::Auth, frame, now)]
    }

    fn fail_login(&mut self, error: String) -> Vec<Effect> {
        self.phase = Phase::LoggedOut;
        self.password = None;
        self.refresh_token = None;
        self.error = Some(error);
        self.requests.clear();
        vec![Effect::Disconnect, self.forget_session()]
    }

    fn on_auth_ok(
        &mut self,
        uid: Option<String>,
        refresh_token: Option<String>,
        now: Instant,
    ) -> Vec<Effect> {
        self.take_request(uid.as_deref());
        if !matches!(self.phase, Phase::Authenticating { .. }) {
            return Vec::new();
        }
        self.phase = Phase::Online;
        self.been_online = true;
        self.resolve_blocked = false;
        self.attempt = 0;
        self.error = None;
        let mut effects = Vec::new();
        if let Some(token) = refresh_token {
            // Rotated: the previous token is already dead on the server (`persist` stores it).
            self.refresh_token = Some(token);
            self.using = Credential::RefreshToken;
        }
        if !self.subscribed {
            effects.push(self.request(Request::Subscribe, proto::subscribe_messages, now));
        } else if !self.history_loaded {
            effects.push(self.history_read(now));
        }
        effects.extend(self.flush(now));
        effects
    }

    fn on_auth_error(
        &mut self,
        uid: Option<String>,
        error: ServerError,
        now: Instant,
    ) -> Vec<Effect> {
        self.take_request(uid.as_deref());
        if error.is("TOKEN_EXPIRED") {
            // The socket is demoted to Public rights: hold sends and re-authenticate on it.
            // Creates already sent may now be refused; they go out again after auth ok (a
            // duplicate is refused by the client key).
            // Replies to what is in flight are unreliable now (FORBIDDEN as Public): forget
            // them; creates go out again, reads are repeated after auth ok.
            self.requeue_in_flight();
            self.requests.clear();
            self.ping_sent = None;
            self.using = if self.refresh_token.is_some() {
                Credential::RefreshToken
            } else {
                Credential::Password
            };
            return self.authenticate(now);
        }
        if error.is("AUTH_TIMEOUT") {
            return self.schedule_reconnect(now); // the server closes the socket next
        }
        // AUTH_FAILED (the server closes the socket after it).
        match self.using {
            Credential::RefreshToken if self.password.is_some() => {
                // The token was refused (e.g. rotated on the server but the reply was lost):
                // fall back to the password we still hold, on a fresh socket.
                self.refresh_token = None;
                self.using = Credential::Password;
                let mut effects = vec![Effect::Disconnect, self.forget_session()];
                effects.extend(self.connect(now));
                effects
            }
            Credential::RefreshToken => {
                self.fail_login("Your session has expired. Please log in again.".into())
            }
            Credential::Password if self.been_online => self.fail_login(format!(
                "The server no longer accepts your password: {}",
                describe(&error)
            )),
            Credential::Password => self.fail_login(if error.is("AUTH_FAILED") {
                "Wrong email or password.".into()
            } else {
                format!("Login refused: {}", describe(&error))
            }),
        }
    }

    fn on_items(
        &mut self,
        uid: Option<String>,
        data: serde_json::Value,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(req) = self.take_request(uid.as_deref()) else {
            return Vec::new();
        };
        let items = MessageItem::list_from_json(&data);
        let mut effects = Vec::new();
        match req.request {
            Request::ReadLatest => {
                if (items.len() as u32) < HISTORY_PAGE {
                    self.reached_start = true;
                }
                self.add_messages(items, false);
                self.synced();
            }
            Request::CatchUp => {
                let full = items.len() as u32 >= CATCH_UP_PAGE;
                // The next page starts after this one.
                if let Some(newest) = items.iter().map(|m| m.id).max() {
                    self.cursor = self.cursor.max(Some(newest));
                }
                self.add_messages(items, false);
                if full {
                    effects.push(self.catch_up(now));
                } else {
                    self.synced();
                }
            }
            Request::Create(key) | Request::Lookup(key) => {
                if items.is_empty() {
                    // A lookup found nothing: the create never happened; send it again.
                    self.set_outgoing(&key, OutgoingState::Queued);
                } else {
                    self.add_messages(items, false);
                }
            }
            Request::Resolve(ids) => {
                self.add_messages(items, false);
                // Asked once: what is still unknown stays so (e.g. no read right on users).
                for id in ids {
                    self.unresolved.remove(&id);
                }
            }
            Request::WhoAmI => {
                let first = data.as_array().and_then(|rows| rows.first());
                if let Some(row) = first {
                    self.learn_me(&Author::from_json(&row["user_created"]));
                }
            }
            Request::Older => {
                if (items.len() as u32) < HISTORY_PAGE {
                    self.reached_start = true;
                }
                self.add_messages(items, false);
            }
            Request::Update(_) => self.add_messages(items, false),
            Request::Delete(id) => {
                self.timeline.remove(id);
            }
            Request::Auth | Request::Subscribe | Request::Ping => {}
        }
        if self.me.is_none() && self.history_loaded && !self.asked_who {
            self.asked_who = true;
            effects.push(self.request(Request::WhoAmI, proto::read_own_latest, now));
        }
        effects.extend(self.flush(now));
        effects
    }

    fn on_items_error(
        &mut self,
        uid: Option<String>,
        error: ServerError,
        now: Instant,
    ) -> Vec<Effect> {
        // Some item errors come without a uid (RECORD_NOT_UNIQUE does, seen on 11.17.4). Only
        // one create or lookup is in flight at a time, so such an error is that one's.
        let uid = uid.or_else(|| {
            self.requests
                .iter()
                .find(|(_, r)| matches!(r.request, Request::Create(_) | Request::Lookup(_)))
                .map(|(uid, _)| uid.clone())
        });
        let Some(req) = self.take_request(uid.as_deref()) else {
            return Vec::new();
        };
        match req.request {
            Request::Create(key) if error.is("RECORD_NOT_UNIQUE") => {
                // Our earlier attempt did get stored: fetch it instead of posting again.
                vec![self.request(
                    Request::Lookup(key.clone()),
                    |uid| proto::read_by_client_key(&key, uid),
                    now,
                )]
            }
            Request::Create(key) => {
                let reason = describe(&error);
                self.notice = Some(format!("A message was refused: {reason}"));
                self.set_outgoing(&key, OutgoingState::Failed(reason));
                self.flush(now)
            }
            Request::Resolve(_) => {
                // Refused (e.g. the token just expired): the ids stay; ask after the next auth.
                self.resolve_blocked = true;
                Vec::new()
            }
            Request::Update(_) | Request::Delete(_) if error.is("FORBIDDEN") => {
                // Said once; the actions disappear (e.g. 12.x without custom permission rules).
                let why = "This server does not let members edit or delete messages (FORBIDDEN), \
                           so those actions are hidden."
                    .to_owned();
                self.notice = Some(why.clone());
                self.edits_refused = Some(why);
                Vec::new()
            }
            Request::Update(_) | Request::Delete(_) => {
                self.notice = Some(format!(
                    "Could not change the message: {}",
                    describe(&error)
                ));
                Vec::new()
            }
            Request::Older => {
                self.notice = Some(format!(
                    "Could not load older messages: {}",
                    describe(&error)
                ));
                Vec::new()
            }
            _ => {
                self.notice = Some(format!("Could not read messages: {}", describe(&error)));
                self.history_loaded = true;
                Vec::new()
            }
        }
    }

    fn on_subscription(
        &mut self,
        uid: Option<String>,
        event: SubscriptionEvent,
        data: serde_json::Value,
        now: Instant,
    ) -> Vec<Effect> {
        match event {
            SubscriptionEvent::Init => {
                self.take_request(uid.as_deref());
                self.subscribed = true;
                // Read only now that events flow: nothing can fall between read and events.
                vec![self.history_read(now)]
            }
            SubscriptionEvent::Create | SubscriptionEvent::Update => {
                self.add_messages(MessageItem::list_from_json(&data), true);
                self.flush(now)
            }
            SubscriptionEvent::Delete => {
                for id in proto::ids_from_json(&data) {
                    self.timeline.remove(id);
                }
                Vec::new()
            }
        }
    }

    fn on_server_error(&mut self, error: ServerError, now: Instant) -> Vec<Effect> {
        if error.is("REQUESTS_EXCEEDED") {
            // No uid says which request was refused: send every unanswered one again when the
            // limiter allows (reads are harmless twice, creates are guarded by their key).
            let wait = Duration::from_millis(error.retry_after_ms().unwrap_or(1000) + 50);
            self.resend_at = Some(self.resend_at.map_or(now + wait, |at| at.max(now + wait)));
        } else {
            log::warn!("server error: {}", describe(&error));
        }
        Vec::new()
    }

    /// The read after subscribing is complete: all up to the newest message is known.
    fn synced(&mut self) {
        self.history_loaded = true;
        self.cursor = self
            .cursor
            .max(Some(self.timeline.newest_id().unwrap_or(0)));
    }

    /// The newest page on a first sync, else everything after the newest message we have.
    fn history_read(&mut self, now: Instant) -> Effect {
        if self.cursor.is_none() {
            self.request(
                Request::ReadLatest,
                |uid| proto::read_latest(HISTORY_PAGE, uid),
                now,
            )
        } else {
            self.catch_up(now)
        }
    }

    fn catch_up(&mut self, now: Instant) -> Effect {
        let newest = self.cursor.unwrap_or(0);
        self.request(
            Request::CatchUp,
            |uid| proto::read_after(newest, CATCH_UP_PAGE, uid),
            now,
        )
    }

    /// Into the timeline; a message carrying one of our client keys confirms that outgoing one.
    /// `live`: from the subscription. Only live events move the cursor once synced: a create
    /// reply can overtake the event of someone else's earlier message.
    fn add_messages(&mut self, items: Vec<MessageItem>, live: bool) {
        let mut batch = Vec::with_capacity(items.len());
        for item in items {
            if let Some(key) = &item.client_key {
                // One of ours: its author is the logged-in user.
                if self.outbox.iter().any(|o| &o.client_key == key) {
                    self.learn_me(&item.author);
                }
                // Confirmed, whichever way the news came: stop waiting for or retrying it.
                self.outbox.retain(|o| &o.client_key != key);
                self.requests.retain(|_, r| {
                    !matches!(&r.request, Request::Create(k) | Request::Lookup(k) if k == key)
                });
            }
            let id = item.id;
            if self.history_loaded && live {
                self.cursor = self.cursor.max(Some(id));
            }
            let mut item = item;
            if item.author.first_name.is_none() {
                // Never replace a known author by an unknown one; else ask again later.
                match self
                    .timeline
                    .get(id)
                    .filter(|known| known.author.first_name.is_some())
                {
                    Some(known) => item.author = known.author.clone(),
                    // Asked once more: a copy read just as the access token expired (before
                    // Directus says so) lacks the name too; a truly anonymous one stays null.
                    None => {
                        self.unresolved.insert(id);
                    }
                }
            }
            if item.author.first_name.is_some() {
                self.unresolved.remove(&id);
            }
            batch.push(item);
        }
        // One insert for a whole page (scroll-back prepends 50 at once).
        let fresh = self.timeline.upsert_many(batch);
        self.fresh.extend(fresh);
    }

    /// What waits for the socket to be usable: authors to resolve, then the next message.
    fn flush(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = self.resolve_authors(now);
        effects.extend(self.send_next(now));
        effects
    }

    /// Messages that came without their author's name (an event read while the socket was
    /// demoted to Public by TOKEN_EXPIRED, say) are read again once we are back.
    fn resolve_authors(&mut self, now: Instant) -> Vec<Effect> {
        let busy = self
            .requests
            .values()
            .any(|r| matches!(r.request, Request::Resolve(_)));
        if self.phase != Phase::Online
            || !self.history_loaded
            || busy
            || self.resolve_blocked
            || self.unresolved.is_empty()
        {
            return Vec::new();
        }
        let ids: Vec<i64> = self.unresolved.iter().copied().take(100).collect();
        let request_ids = ids.clone();
        vec![self.request(
            Request::Resolve(ids),
            |uid| proto::read_ids(&request_ids, uid),
            now,
        )]
    }

    /// Send the next queued message, one at a time so that ids follow the order of writing.
    fn send_next(&mut self, now: Instant) -> Vec<Effect> {
        if self.phase != Phase::Online
            || self
                .outbox
                .iter()
                .any(|o| o.state == OutgoingState::InFlight)
        {
            return Vec::new();
        }
        let Some(next) = self
            .outbox
            .iter_mut()
            .find(|o| o.state == OutgoingState::Queued)
        else {
            return Vec::new();
        };
        next.state = OutgoingState::InFlight;
        let (key, content) = (next.client_key.clone(), next.content.clone());
        vec![self.request(
            Request::Create(key.clone()),
            |uid| proto::create_message(&content, &key, uid),
            now,
        )]
    }

    fn learn_me(&mut self, author: &Author) {
        if author.id.is_some() {
            self.me = Some(author.clone());
        }
    }

    fn set_outgoing(&mut self, key: &str, state: OutgoingState) {
        if let Some(o) = self.outbox.iter_mut().find(|o| o.client_key == key) {
            o.state = state;
        }
    }

    fn requeue_in_flight(&mut self) {
        for o in &mut self.outbox {
            if o.state == OutgoingState::InFlight {
                o.state = OutgoingState::Queued;
            }
        }
    }

    fn request(
        &mut self,
        request: Request,
        frame: impl FnOnce(&str) -> String,
        now: Instant,
    ) -> Effect {
        self.next_uid += 1;
        let uid = format!("{}-{}", request_name(&request), self.next_uid);
        let frame = frame(&uid);
        self.requests.insert(
            uid,
            InFlight {
                request,
                frame: frame.clone(),
                sent_at: now,
            },
        );
        Effect::Send(frame)
    }

    fn take_request(&mut self, uid: Option<&str>) -> Option<InFlight> {
        self.requests.remove(uid?)
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for jitter and unique keys mixed with a time seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn new_client_key(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_random(), self.next_random())
    }
}

fn request_name(request: &Request) -> &'static str {
    match request {
        Request::Auth => "auth",
        Request::Subscribe => "subscribe",
        Request::ReadLatest => "history",
        Request::CatchUp => "catch-up",
        Request::Create(_) => "create",
        Request::Lookup(_) => "lookup",
        Request::Resolve(_) => "resolve",
        Request::WhoAmI => "whoami",
        Request::Ping => "ping",
        Request::Older => "older",
        Request::Update(_) => "update",
        Request::Delete(_) => "delete",
    }
}

/// Messages (new or edited) over the limit are refused, the text staying with the user.
fn check_length(content: &str) -> Result<(), String> {
    if content.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "This message is {} KiB; the limit is {} KiB. Split it or shorten it.",
            content.len().div_ceil(1024),
            MAX_MESSAGE_BYTES / 1024
        ));
    }
    Ok(())
}

/// An error in words: FORBIDDEN and friends get a sentence, others their server text.
pub fn describe(error: &ServerError) -> String {
    match error.code.as_str() {
        "FORBIDDEN" => "you do not have permission to do that on this server (FORBIDDEN)".into(),
        "REQUESTS_EXCEEDED" => "the server's rate limit was hit; retrying".into(),
        "TOKEN_EXPIRED" => "your access expired; logging in again".into(),
        _ if error.message.is_empty() => error.code.clone(),
        _ => format!("{} ({})", error.message, error.code),
    }
}

/// Socket errors from the IO layer, made readable.
fn humane(reason: &str) -> String {
    if reason.contains("Connection refused") {
        "connection refused: is Directus running at that address?".into()
    } else if reason.contains("invalid peer certificate") {
        // rustls: e.g. UnknownIssuer for a self-signed or private CA not in the trust store.
        format!(
            "the server's TLS certificate is not trusted ({reason}). Add its CA to the \
             system trust store or point SSL_CERT_FILE at it."
        )
    } else if reason.is_empty() {
        "the connection closed".into()
    } else {
        reason.to_owned()
    }
}
