//! What the session asks of the IO edge ([`Effect`]), and where its connection stands
//! ([`Phase`]).

use web_time::Instant;

use super::{NewFile, Unsent};

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
        /// Whose session it is (a stored session is never resumed as someone else).
        email: Option<String>,
        refresh_token: Option<String>,
        outbox: Vec<Unsent>,
    },
    /// Delete the persisted session.
    ForgetSession,
    /// GET {http}/server/ping; answer with [`Session::server_answered`] if it says pong.
    ProbeServer(String),
    /// POST {http}/auth/logout with this refresh token, so it dies on the server too (and
    /// with the one stored for this account, if another tab has rotated it since).
    RevokeRefreshToken {
        http: String,
        email: Option<String>,
        refresh_token: String,
    },
    /// Upload `file` into `room` under the id `id` (POST {http}/files with the bearer token);
    /// answer with [`Session::upload_progress`] and [`Session::upload_finished`].
    Upload {
        http: String,
        token: String,
        id: String,
        room: String,
        file: NewFile,
    },
    /// Stop the upload `id` if it is on its way, and delete what it stored (with the token,
    /// if one is held).
    DropUpload {
        http: String,
        token: Option<String>,
        id: String,
    },
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
