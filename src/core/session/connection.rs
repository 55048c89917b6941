//! The connection's life: opening the socket, authenticating (password or rotating refresh
//! token, TOKEN_EXPIRED on a live socket), frames in, heartbeats and timeouts, and reconnecting
//! with backoff (or at once, when a probe finds an unreachable server back).

use web_time::Instant;

use super::requests::Request;
use super::*;
use crate::core::protocol::{self as proto, ServerError, ServerFrame};

impl Session {
    /// A frame from a socket we already gave up on (its auth reply came after the connect
    /// timeout). Directus rotated the refresh token when it answered, so the token in it is
    /// the only live one: keep it (and `persist` stores it). Everything else is dropped.
    pub fn late_frame(&mut self, text: &str) {
        if self.phase == Phase::LoggedOut {
            return;
        }
        if let Ok(ServerFrame::AuthOk {
            refresh_token: Some(token),
            ..
        }) = proto::decode(text)
        {
            self.refresh_token = Some(token);
            self.using = Credential::RefreshToken;
        }
    }

    /// Another tab sharing this stored session rotated the refresh token (ours is spent):
    /// authenticate with its newer one. Only for the same server and account.
    pub fn adopt_token(&mut self, server: &str, email: Option<&str>, token: &str) {
        let same = self.server.as_ref().is_some_and(|s| s.http == server)
            && self.email.as_deref() == email;
        if same && self.phase != Phase::LoggedOut && self.using == Credential::RefreshToken {
            self.refresh_token = Some(token.to_owned());
        }
    }

    /// Logged out because our token was refused, while another tab holds a newer one of the
    /// same session: continue with it. Not after the user logged out (no error then).
    pub fn rejoin(
        &mut self,
        server: &str,
        email: Option<String>,
        token: &str,
        now: Instant,
    ) -> Vec<Effect> {
        let expired = self.phase == Phase::LoggedOut && self.error.is_some();
        let Some(url) = self.server.clone().filter(|s| s.http == server && expired) else {
            return Vec::new();
        };
        if self.email != email {
            return Vec::new(); // another account's session is never continued
        }
        self.resume(url, email, token, Vec::new(), now)
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
        // Never opened: nothing listens there (yet). Probes notice when something does.
        self.unreachable = matches!(self.phase, Phase::Connecting { .. });
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
        let effects = match frame {
            ServerFrame::AuthOk { uid, refresh_token } => self.on_auth_ok(uid, refresh_token, now),
            ServerFrame::AuthError { uid, error } => self.on_auth_error(uid, error, now),
            ServerFrame::Items { uid, data } => self.on_items(uid, data, now),
            ServerFrame::ItemsError { uid, error } => self.on_items_error(uid, error, now),
            ServerFrame::Subscription { uid, event, data } => {
                self.on_subscription(uid, event, data, now)
            }
            ServerFrame::SubscribeError { uid, error } => self.on_subscribe_error(uid, error, now),
            ServerFrame::Ping => vec![Effect::Send(proto::pong())],
            ServerFrame::Pong { uid } => {
                self.take_request(uid.as_deref());
                Vec::new()
            }
            ServerFrame::ServerError { error } => self.on_server_error(error, now),
            ServerFrame::Access { uid, granted } => self.on_access(uid, granted, now),
            ServerFrame::Unknown(frame) => {
                log::debug!("ignored frame {frame}");
                Vec::new()
            }
        };
        self.log_cursor(now);
        effects
    }

    /// Time passes: reconnect when due, notice dead sockets, retry unanswered requests.
    pub fn tick(&mut self, now: Instant) -> Vec<Effect> {
        match self.phase {
            Phase::LoggedOut => return Vec::new(),
            Phase::Reconnecting { at } if now >= at => return self.connect(now),
            Phase::Reconnecting { .. } => {
                // Unreachable: a cheap look every few hundred ms notices its return at once.
                let http = self.server.as_ref().map(|s| s.http.clone());
                return match (self.probe_at, http) {
                    (Some(at), Some(http)) if self.unreachable && now >= at => {
                        self.probe_at = Some(now + self.probe_interval());
                        vec![Effect::ProbeServer(http)]
                    }
                    _ => Vec::new(),
                };
            }
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
        let auth_overdue = self
            .requests
            .values()
            .any(|r| r.request == Request::Auth && now >= r.due);
        if auth_overdue && !due_all {
            effects.push(Effect::Disconnect);
            effects.extend(self.schedule_reconnect(now));
            return effects;
        }
        effects.extend(self.resend_due(now, due_all));
        effects.extend(self.recheck_due(now));
        effects.extend(self.send_due_delete(now));
        if self.uploads_deadline().is_some_and(|at| now >= at) {
            effects.extend(self.drive_uploads(now));
        }
        effects
    }

    /// The server answered a probe (`Effect::ProbeServer`): it is back, so reconnect now
    /// instead of sleeping out the backoff.
    pub fn server_answered(&mut self, now: Instant) -> Vec<Effect> {
        match self.phase {
            Phase::Reconnecting { .. } if self.probe_at.is_some() => {
                // One such early attempt per backoff period: a server that answers pings but
                // refuses the socket is not hammered.
                self.early_attempt = true;
                self.connect(now)
            }
            _ => Vec::new(),
        }
    }

    // ---- internals -------------------------------------------------------------------------

    pub(super) fn connect(&mut self, now: Instant) -> Vec<Effect> {
        let Some(websocket) = self.server.as_ref().map(|s| s.websocket.clone()) else {
            return Vec::new();
        };
        self.note_cut();
        self.phase = Phase::Connecting { since: now };
        self.probe_at = None;
        self.subscribed = false;
        self.live_uid = None;
        self.profile_uid = None;
        self.rooms_uid = None;
        self.forget_directory_asks();
        self.live_newest = None;
        self.history_loaded = false;
        self.ping_sent = None;
        self.resend_at = None;
        self.requeue_in_flight();
        self.requests.clear();
        vec![Effect::Connect(websocket)]
    }

    /// PROBE_EVERY, -25%..+0%: clients that lost one server do not probe it in lockstep (and
    /// never later than PROBE_EVERY).
    fn probe_interval(&mut self) -> std::time::Duration {
        PROBE_EVERY.mul_f64(0.75 + (self.next_random() % 1000) as f64 / 4000.0)
    }

    /// The socket is being lost: remember when it last said anything (kept until the next
    /// sync completes, across failed attempts).
    fn note_cut(&mut self) {
        if self.cut_at.is_none() {
            self.cut_at = self.last_heard;
        }
    }

    pub(super) fn schedule_reconnect(&mut self, now: Instant) -> Vec<Effect> {
        self.note_cut();
        if self.requests.values().any(|r| r.request.reads_a_page()) {
            // Cut while a page was coming: it may not fit through the socket (a member can post
            // large messages over REST). Ask for half as many; a page that fits doubles it.
            self.page = (self.page / 2).max(1);
        }
        self.probe_at =
            (self.unreachable && !self.early_attempt).then(|| now + self.probe_interval());
        self.early_attempt = false;
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
        self.live_uid = None;
        self.profile_uid = None;
        self.rooms_uid = None;
        self.forget_directory_asks();
        self.live_newest = None;
        self.history_loaded = false;
        self.requeue_in_flight();
        self.requests.clear();
        Vec::new()
    }

    pub(super) fn authenticate(&mut self, now: Instant) -> Vec<Effect> {
        let frame: Box<dyn FnOnce(&str) -> String> =
            match (self.using, &self.refresh_token, &self.email, &self.password) {
                (Credential::RefreshToken, Some(token), _, _) => {
                    let token = token.clone();
                    self.sent_token = Some(token.clone());
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

    pub(super) fn fail_login(&mut self, error: String) -> Vec<Effect> {
        self.forget_access();
        self.phase = Phase::LoggedOut;
        self.password = None;
        self.refresh_token = None;
        self.error = Some(error);
        self.requests.clear();
        vec![Effect::Disconnect, self.forget_session()]
    }

    pub(super) fn on_auth_ok(
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
        self.access_renewed();
        self.been_online = true;
        self.early_attempt = false;
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
        effects.extend(self.ask_who_i_am(now));
        effects.extend(self.ask_search_page(now));
        effects.extend(self.flush(now));
        effects
    }

    pub(super) fn on_auth_error(
        &mut self,
        uid: Option<String>,
        error: ServerError,
        now: Instant,
    ) -> Vec<Effect> {
        self.take_request(uid.as_deref());
        if error.is("TOKEN_EXPIRED") && self.shares_token && self.refresh_token.is_some() {
            // Renewed on a fresh socket: its handshake takes its turn with the other tabs'.
            self.using = Credential::RefreshToken;
            let mut effects = vec![Effect::Disconnect];
            effects.extend(self.connect(now));
            return effects;
        }
        if error.is("TOKEN_EXPIRED") {
            // The socket is demoted to Public rights: hold sends and re-authenticate on it.
            // Creates already sent may now be refused; they go out again after auth ok (a
            // duplicate is refused by the client key).
            // Replies to what is in flight are unreliable now (FORBIDDEN as Public): forget
            // them; creates go out again, reads are repeated after auth ok.
            self.requeue_in_flight();
            self.requests.clear();
            // A profile answer still due is dropped as stale; it is asked for again.
            self.profile_uid = None;
            self.ping_sent = None;
            // Events are refused too until we are back (FORBIDDEN, no uid): what they would
            // have brought is read after auth ok, the messages from the settled cursor (as after
            // a reconnect) and the memberships by subscribing to them afresh.
            self.note_cut();
            self.live_newest = None;
            self.history_loaded = false;
            let mut effects: Vec<Effect> = self
                .rooms_uid
                .take()
                .map(|uid| Effect::Send(proto::unsubscribe(&uid)))
                .into_iter()
                .collect();
            self.using = if self.refresh_token.is_some() {
                Credential::RefreshToken
            } else {
                Credential::Password
            };
            effects.extend(self.authenticate(now));
            return effects;
        }
        if error.is("AUTH_TIMEOUT") {
            return self.schedule_reconnect(now); // the server closes the socket next
        }
        // AUTH_FAILED (the server closes the socket after it).
        match self.using {
            Credential::RefreshToken if self.sent_token != self.refresh_token => {
                // A late reply on the socket we gave up on brought a newer token meanwhile
                // (see `late_frame`): the one refused here was already spent. Use the new one.
                let mut effects = vec![Effect::Disconnect];
                effects.extend(self.connect(now));
                effects
            }
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
}

/// Socket errors from the IO layer, made readable.
fn humane(reason: &str) -> String {
    if reason.contains("Connection refused") {
        "nothing answers at that address: is Directus running there?".into()
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
