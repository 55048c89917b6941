//! A bearer token for the REST calls beside the socket (pictures, uploads). A socket that
//! authenticated with a refresh token never learns an access token, and refreshing over REST
//! would rotate the token the socket (and the page's other tabs) hold. So the socket asks the
//! chat-rooms hook for its own access (`{"type":"chat-access"}`): the same user and rights,
//! expiring with the socket's authentication. One ask per authentication: a token that runs
//! out is replaced after the socket's own renewal (TOKEN_EXPIRED, then auth ok), never by
//! asking the same socket again for the same expiry.

use std::time::Duration;

use web_time::Instant;

use super::requests::Request;
use super::{Effect, Phase, Session};
use crate::core::protocol as proto;

/// A token this close to its expiry is not handed out (the call must arrive in time).
const MARGIN: Duration = Duration::from_secs(5);

/// Where the REST token stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestAccess {
    Ready(String),
    /// Asked for (or waiting to be online, or for the socket's renewal, to ask).
    Waiting,
    /// The server does not hand it out: why, in words.
    Unavailable(String),
}

#[derive(Default)]
pub(super) struct Access {
    token: Option<(String, Instant)>,
    refused: Option<String>,
    /// Asked on the socket's present authentication.
    asked: bool,
    /// Asked again on it after the server refused a token (once: see `rest_access_refused`).
    reasked: bool,
}

impl Session {
    /// The REST token if one is held; else it is asked for (returned in the effects), once per
    /// authentication of the socket.
    pub fn rest_access(&mut self, now: Instant) -> (RestAccess, Vec<Effect>) {
        if let Some(token) = self.held_access(now) {
            return (RestAccess::Ready(token), Vec::new());
        }
        if let Some(why) = &self.access.refused {
            return (RestAccess::Unavailable(why.clone()), Vec::new());
        }
        if self.phase != Phase::Online || self.access.asked {
            return (RestAccess::Waiting, Vec::new());
        }
        self.access.asked = true;
        let ask = self.request(Request::Access, proto::ask_access, now);
        (RestAccess::Waiting, vec![ask])
    }

    /// The REST token held now, if any (never asks for one).
    pub(super) fn held_access(&self, now: Instant) -> Option<String> {
        self.access
            .token
            .as_ref()
            .filter(|(_, until)| now < *until)
            .map(|(token, _)| token.clone())
    }

    /// The server refused the token (HTTP 401: it expired sooner than this clock thinks, as
    /// after a suspend): it is dropped, and a new one asked for, once per authentication (a
    /// socket whose session ended elsewhere would hand out the same dead token again).
    pub fn rest_access_refused(&mut self) {
        self.access.token = None;
        if self.access.reasked {
            self.access.refused =
                Some("the server does not take this session's file access".into());
        } else {
            self.access.reasked = true;
            self.access.asked = false;
        }
    }

    /// The user asked to try again: a refusal is asked about anew.
    pub(super) fn retry_access(&mut self) {
        if self.access.refused.take().is_some() {
            self.access.asked = false;
        }
    }

    pub(super) fn on_access(
        &mut self,
        uid: Option<String>,
        granted: Result<(String, u64), proto::ServerError>,
        now: Instant,
    ) -> Vec<Effect> {
        if self.take_request(uid.as_deref()).is_none() {
            return Vec::new(); // not asked on this connection
        }
        match granted {
            Ok((token, expires_in)) => {
                let lasts = Duration::from_secs(expires_in).saturating_sub(MARGIN);
                if !lasts.is_zero() {
                    self.access.token = Some((token, now + lasts));
                }
                self.drive_uploads(now)
            }
            Err(error) => {
                // Refused while the socket's own token had expired: asked again once renewed.
                if self.phase == Phase::Online {
                    self.access.refused = Some(format!(
                        "the server refused file access: {}",
                        super::describe(&error)
                    ));
                }
                Vec::new()
            }
        }
    }

    /// Nothing answered the ask: the chat-rooms extension is not loaded there (asked again on
    /// the next authentication, in case it was only slow).
    pub(super) fn access_unanswered(&mut self) {
        self.access.refused = Some(
            "this server does not hand out file access (its chat-rooms extension is missing)"
                .into(),
        );
    }

    /// The socket authenticated (again): its access may be asked for, with a new expiry.
    pub(super) fn access_renewed(&mut self) {
        self.access.asked = false;
        self.access.reasked = false;
        self.access.refused = None;
    }

    /// A token of the account that logged out, or whose session ended, is not used again.
    pub(super) fn forget_access(&mut self) {
        self.access = Access::default();
    }
}
