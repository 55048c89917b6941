//! Files on their way. Each is uploaded over REST (`POST /files`) under an id this client
//! chose, so an upload retried after a lost reply is refused as a duplicate instead of stored
//! twice (the edge then checks the stored copy is whole). Once every file of a post is
//! stored, the post goes out as one message with its caption, through the outbox: exactly
//! once by its client key, like any message. Uploads wait while offline and are retried with
//! backoff when the server fails; a refusal (too large, not allowed) waits for the user.

use std::sync::Arc;
use std::time::Duration;

use web_time::Instant;

use super::outbox::{Outgoing, OutgoingState, check_length, new_client_key};
use super::{Effect, Phase, RestAccess, Session};

/// The largest file the chat sends: the server's FILES_MAX_UPLOAD_SIZE as provisioned (25mb,
/// which Directus reads as MiB). A larger one is refused before a byte is sent; a server set
/// lower still refuses with its own words.
pub const MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;
/// Files in one message at most (the server's hook allows as many).
pub const MAX_FILES: usize = crate::core::attachment::MAX_FILES;
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// A file the user picked or dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFile {
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub source: FileSource,
}

/// Where its bytes are: natively a path (read when sent), on the web the bytes themselves.
#[derive(Clone, PartialEq, Eq)]
pub enum FileSource {
    Path(String),
    Bytes(Arc<[u8]>),
}

/// Never the bytes themselves (effects are logged).
impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileSource::Path(path) => write!(f, "Path({path:?})"),
            FileSource::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
        }
    }
}

/// How an upload ended, as the edge saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Stored whole under our id (also: found stored whole after a duplicate refusal).
    Stored,
    /// Refused for good: the server's words.
    Refused(String),
    /// Failed in a way worth trying again (no connection, server error).
    Passing(String),
    /// The server did not take the token (HTTP 401): tried again with a new one.
    Unauthorized,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadState {
    /// Waiting to be sent (offline, no token yet, or until `at` after a failure).
    Waiting {
        at: Option<Instant>,
    },
    /// On its way: `sent` of its bytes so far (as the edge reports).
    Sending {
        sent: u64,
    },
    Stored,
    Failed(String),
}

/// One file of a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The file's id on the server, chosen here.
    pub id: String,
    pub file: NewFile,
    pub state: UploadState,
    pub(super) failures: u32,
    /// Sent at least once: a copy may be on the server (an answer can be lost).
    pub(super) attempted: bool,
}

/// Files and a caption that go out as one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// The message's client key (its name while it waits, too).
    pub client_key: String,
    pub caption: String,
    /// Its room (None: `general`, see `Session::send`).
    pub room: Option<String>,
    pub uploads: Vec<Upload>,
    /// Who sent it ("email at server"): uploaded and sent only under that account.
    pub owner: Option<String>,
}

impl Post {
    /// Bytes sent of all its files, and their total.
    pub fn progress(&self) -> (u64, u64) {
        self.uploads.iter().fold((0, 0), |(sent, total), u| {
            let done = match u.state {
                UploadState::Sending { sent } => sent,
                UploadState::Stored => u.file.size,
                _ => 0,
            };
            (sent + done.min(u.file.size), total + u.file.size)
        })
    }

    /// Why it waits for the user, if it does.
    pub fn failed(&self) -> Option<&str> {
        self.uploads.iter().find_map(|u| match &u.state {
            UploadState::Failed(why) => Some(why.as_str()),
            _ => None,
        })
    }
}

/// A random UUID (version 4) from the OS's secure source: the id of a file to be.
pub fn new_file_id() -> String {
    let key = new_client_key(); // 32 hex digits
    let mut hex: Vec<char> = key.chars().collect();
    hex[12] = '4';
    // The variant: 8, 9, a or b.
    let variant = u8::from_str_radix(&hex[16].to_string(), 16).unwrap_or(0);
    hex[16] = char::from_digit(u32::from(8 | (variant & 3)), 16).unwrap_or('8');
    let hex: String = hex.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Session {
    /// Send `files` with `caption` into the shown room. Refused (with the reason, nothing
    /// sent) when a file is over the limit, there are too many, or the caption is too long.
    pub fn send_files(
        &mut self,
        caption: &str,
        files: Vec<NewFile>,
        now: Instant,
    ) -> Result<Vec<Effect>, String> {
        if files.is_empty() {
            return self.send(caption, now);
        }
        if files.len() > MAX_FILES {
            return Err(format!("At most {MAX_FILES} files go in one message."));
        }
        if let Some(big) = files.iter().find(|f| f.size > MAX_UPLOAD_BYTES) {
            return Err(format!(
                "{} is {}; the server takes files up to {} MiB.",
                big.name,
                crate::core::attachment::size_text(big.size),
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ));
        }
        let caption = caption.trim_end();
        check_length(caption)?;
        let room = self.room_to_send_to()?;
        self.drop_window();
        let uploads = files
            .into_iter()
            .map(|file| Upload {
                id: new_file_id(),
                file,
                state: UploadState::Waiting { at: None },
                failures: 0,
                attempted: false,
            })
            .collect();
        self.posts.push(Post {
            client_key: new_client_key(),
            caption: caption.to_owned(),
            room,
            uploads,
            owner: self.owner(),
        });
        Ok(self.drive_uploads(now))
    }

    /// Posts with files not yet sent as messages.
    pub fn posts(&self) -> &[Post] {
        &self.posts
    }

    /// Give up on a post: what is on its way is stopped, what was stored is removed.
    /// Another account's post is left as it is (its files are not this account's to delete).
    pub fn cancel_post(&mut self, client_key: &str, now: Instant) -> Vec<Effect> {
        let Some(at) = self
            .posts
            .iter()
            .position(|p| p.client_key == client_key && self.posts_as(p))
        else {
            return Vec::new();
        };
        let post = self.posts.remove(at);
        post.uploads
            .into_iter()
            .filter(|u| u.attempted)
            .filter_map(|u| self.drop_upload(u.id, now))
            .collect()
    }

    /// Stop an upload and remove what it stored (a file no message took: the uploader may
    /// delete it). Without a token it stays, unseen by anyone but the uploader.
    pub(super) fn drop_upload(&self, id: String, now: Instant) -> Option<Effect> {
        Some(Effect::DropUpload {
            http: self.server.as_ref()?.http.clone(),
            token: self.held_access(now),
            id,
        })
    }

    /// Send a refused post's files again (the user chose Retry).
    pub fn retry_post(&mut self, client_key: &str, now: Instant) -> Vec<Effect> {
        if !self
            .posts
            .iter()
            .any(|p| p.client_key == client_key && self.posts_as(p))
        {
            return Vec::new();
        }
        self.retry_access();
        if let Some(post) = self.posts.iter_mut().find(|p| p.client_key == client_key) {
            for upload in &mut post.uploads {
                if matches!(upload.state, UploadState::Failed(_)) {
                    upload.state = UploadState::Waiting { at: None };
                    upload.failures = 0;
                }
            }
        }
        self.drive_uploads(now)
    }

    /// The edge's count of bytes sent so far.
    pub fn upload_progress(&mut self, id: &str, sent: u64) {
        if let Some(upload) = self.upload_mut(id)
            && let UploadState::Sending { sent: was } = &mut upload.state
        {
            *was = sent;
        }
    }

    /// An upload ended. Once a post's files are all stored, it goes out as a message.
    pub fn upload_finished(
        &mut self,
        id: &str,
        outcome: UploadOutcome,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(upload) = self.upload_mut(id) else {
            // Cancelled meanwhile: a copy that got stored anyway is removed.
            return match outcome {
                UploadOutcome::Stored => self.drop_upload(id.to_owned(), now).into_iter().collect(),
                _ => Vec::new(),
            };
        };
        let unauthorized = outcome == UploadOutcome::Unauthorized;
        upload.state = match outcome {
            UploadOutcome::Stored => UploadState::Stored,
            UploadOutcome::Refused(why) => UploadState::Failed(why),
            UploadOutcome::Unauthorized => {
                upload.failures += 1;
                UploadState::Waiting {
                    at: Some(now + RETRY_FIRST),
                }
            }
            UploadOutcome::Passing(why) => {
                log::warn!("an upload failed, trying again: {why}");
                let wait = RETRY_FIRST
                    .saturating_mul(1 << upload.failures.min(16))
                    .min(RETRY_MAX);
                upload.failures += 1;
                UploadState::Waiting {
                    at: Some(now + wait),
                }
            }
        };
        if unauthorized {
            self.rest_access_refused();
        }
        self.drive_uploads(now)
    }

    /// Uploads that may go now do (with the REST token, asked for first if need be); posts
    /// whose files are all stored move to the outbox.
    pub(super) fn drive_uploads(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        // Stored whole: the message goes out like any other, in the order of writing.
        while let Some(at) = self.posts.iter().position(|p| {
            p.uploads
                .iter()
                .all(|u| matches!(u.state, UploadState::Stored))
        }) {
            let post = self.posts.remove(at);
            self.outbox.push(Outgoing {
                client_key: post.client_key,
                content: post.caption,
                state: OutgoingState::Queued,
                owner: post.owner,
                not_found: false,
                room: post.room,
                files: post.uploads.into_iter().map(|u| u.id).collect(),
            });
            effects.extend(self.send_next(now));
        }
        let due = |u: &Upload| matches!(u.state, UploadState::Waiting { at } if at.is_none_or(|at| now >= at));
        let owner = self.owner();
        // Another account's post (written here before it logged out) waits for it: not even
        // a token is asked for it.
        let ours = |post: &Post| super::outbox::owned_by(&post.owner, owner.as_deref());
        if self.phase != Phase::Online
            || !self
                .posts
                .iter()
                .any(|p| ours(p) && p.uploads.iter().any(due))
        {
            return effects;
        }
        let (access, asked) = self.rest_access(now);
        effects.extend(asked);
        let token = match access {
            RestAccess::Ready(token) => token,
            RestAccess::Waiting => return effects,
            RestAccess::Unavailable(why) => {
                for post in self.posts.iter_mut().filter(|p| ours(p)) {
                    for upload in post.uploads.iter_mut().filter(|u| due(u)) {
                        upload.state = UploadState::Failed(why.clone());
                    }
                }
                return effects;
            }
        };
        let Some(http) = self.server.as_ref().map(|s| s.http.clone()) else {
            return effects;
        };
        let general = self.rooms.default_id().map(str::to_owned);
        for post in self.posts.iter_mut().filter(|p| ours(p)) {
            let Some(room) = post.room.clone().or_else(|| general.clone()) else {
                continue; // general's id not known yet: later
            };
            // The files go where the message will: general by its id, named from now on.
            post.room = Some(room.clone());
            for upload in post.uploads.iter_mut().filter(|u| due(u)) {
                upload.state = UploadState::Sending { sent: 0 };
                upload.attempted = true;
                effects.push(Effect::Upload {
                    http: http.clone(),
                    token: token.clone(),
                    id: upload.id.clone(),
                    room: room.clone(),
                    file: upload.file.clone(),
                });
            }
        }
        effects
    }

    /// When a waiting upload is due again.
    /// Only uploads `drive_uploads` would start then count: one that cannot go (offline,
    /// another account's) would otherwise be due for ever, and wake the app every frame.
    pub(super) fn uploads_deadline(&self) -> Option<Instant> {
        if self.phase != Phase::Online {
            return None;
        }
        self.posts
            .iter()
            .filter(|p| self.posts_as(p))
            .flat_map(|p| &p.uploads)
            .filter_map(|u| match u.state {
                UploadState::Waiting { at } => at,
                _ => None,
            })
            .min()
    }

    /// Logging out: what is on its way stops, and what was stored goes (nothing uploaded
    /// lingers with no message; the posts are not kept). Another account's posts go without
    /// a delete: this account may not delete its files.
    pub(super) fn drop_posts(&mut self, now: Instant) -> Vec<Effect> {
        let keys: Vec<String> = self
            .posts
            .iter()
            .filter(|p| self.posts_as(p))
            .map(|p| p.client_key.clone())
            .collect();
        keys.iter()
            .flat_map(|key| self.cancel_post(key, now))
            .collect()
    }

    fn upload_mut(&mut self, id: &str) -> Option<&mut Upload> {
        self.posts
            .iter_mut()
            .flat_map(|p| p.uploads.iter_mut())
            .find(|u| u.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::new_file_id;

    #[test]
    fn file_ids_are_version_4_uuids() {
        for _ in 0..100 {
            let id = new_file_id();
            assert_eq!(id.len(), 36, "{id}");
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{id}");
        }
        assert_ne!(new_file_id(), new_file_id());
    }
}
