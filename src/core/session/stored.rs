//! What survives a restart: the server, the newest refresh token, the unsent messages, and
//! posts with files.
//!
//! Posts with files are stored like any unsent message, in the outbox's record
//! (an [`Unsent`] with its files listed), natively by path. After the restart a file not yet
//! stored goes up again under the same id: a copy that got through before is refused as a
//! duplicate and counted once whole, so nothing is stored twice. A file held only in memory
//! (a picture pasted, any file on the web page) cannot come back: such a post is not stored,
//! and the app says so before the page or window goes.

use super::outbox::Unsent;
use super::uploads::{FileSource, NewFile, Post, Upload, UploadState};
use super::{Effect, Session};

/// A file of a stored post.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedUpload {
    /// Its id on the server (chosen here, kept: see the module's note).
    pub id: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub path: String,
    /// Stored whole already.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stored: bool,
    /// Refused for good (the server's words, or the file changed since): it waits for the
    /// user's Retry or Cancel after a restart too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl Upload {
    fn saved(&self) -> Option<SavedUpload> {
        let FileSource::Path(path) = &self.file.source else {
            return None;
        };
        Some(SavedUpload {
            id: self.id.clone(),
            name: self.file.name.clone(),
            mime: self.file.mime.clone(),
            size: self.file.size,
            path: path.clone(),
            stored: self.state == UploadState::Stored,
            failed: match &self.state {
                UploadState::Failed(why) => Some(why.clone()),
                _ => None,
            },
        })
    }
}

impl Post {
    /// As stored across restarts; None when a file is held only in memory.
    pub(super) fn saved(&self) -> Option<Unsent> {
        Some(Unsent {
            client_key: self.client_key.clone(),
            content: self.caption.clone(),
            failed: None,
            owner: self.owner.clone(),
            room: self.room.clone(),
            files: Vec::new(),
            uploads: self
                .uploads
                .iter()
                .map(Upload::saved)
                .collect::<Option<_>>()?,
        })
    }

    /// A file of it is held only in memory: closing the app (or the page) loses the post.
    pub fn held_in_memory(&self) -> bool {
        !self.can_be_saved()
    }

    pub(super) fn can_be_saved(&self) -> bool {
        self.uploads
            .iter()
            .all(|u| matches!(u.file.source, FileSource::Path(_)))
    }

    /// Is this what `stored` says (compared in place: `persist` asks every frame)? Progress
    /// is not stored; which files are stored is.
    pub(super) fn stored_as(&self, stored: &Unsent) -> bool {
        self.client_key == stored.client_key
            && self.caption == stored.content
            && self.owner == stored.owner
            && self.room == stored.room
            && self.uploads.len() == stored.uploads.len()
            && self.uploads.iter().zip(&stored.uploads).all(|(u, s)| {
                let failed = match &u.state {
                    UploadState::Failed(why) => Some(why),
                    _ => None,
                };
                u.id == s.id
                    && (u.state == UploadState::Stored) == s.stored
                    && failed == s.failed.as_ref()
            })
    }
}

impl Session {
    /// What to store now, if it changed since last asked: the edge calls this after every
    /// round of input, so a message typed offline is on disk before the next frame.
    pub fn persist(&mut self) -> Option<Effect> {
        let server = self.server.as_ref()?;
        // (Unless something was stored: then its going must be stored too.)
        if self.refresh_token.is_none()
            && self.outbox.is_empty()
            && self.posts.is_empty()
            && self.saved.is_none()
        {
            return None; // nothing worth keeping (logged out, or before the first token)
        }
        // Called every frame: compare in place, copy only what changed.
        if let Some(Effect::SaveSession {
            server: saved_server,
            email,
            refresh_token,
            outbox,
        }) = &self.saved
            && *saved_server == server.http
            && *email == self.email
            && *refresh_token == self.refresh_token
            && outbox.len() == self.outbox.len() + self.saved_posts().count()
            && self.outbox.iter().zip(outbox).all(|(o, u)| o.stored_as(u))
            && (self.saved_posts().zip(&outbox[self.outbox.len()..])).all(|(p, u)| p.stored_as(u))
        {
            return None;
        }
        let wanted = Effect::SaveSession {
            server: server.http.clone(),
            email: self.email.clone(),
            refresh_token: self.refresh_token.clone(),
            outbox: self.unsent().collect(),
        };
        self.saved = Some(wanted.clone());
        Some(wanted)
    }

    /// Drop the stored session. What `persist` last stored is gone with it, so unsent
    /// messages (if any) are stored again, without the token.
    pub(super) fn forget_session(&mut self) -> Effect {
        self.saved = None;
        Effect::ForgetSession
    }

    /// Posts stored across restarts (those whose files are on disk).
    pub(super) fn saved_posts(&self) -> impl Iterator<Item = &Post> + '_ {
        self.posts.iter().filter(|p| p.can_be_saved())
    }

    /// Is `post` this account's (None either way: written before owners were recorded)?
    /// Another account's post waits for it: never uploaded, sent or cancelled as this one.
    pub fn posts_as(&self, post: &Post) -> bool {
        super::outbox::owned_by(&post.owner, self.owner().as_deref())
    }

    /// Posts held only in memory: lost if the app stops now (the app warns before it goes).
    pub fn posts_held_in_memory(&self) -> usize {
        self.posts.iter().filter(|p| !p.can_be_saved()).count()
    }

    /// A stored post back (once: a post already here stays as it is).
    pub(super) fn restore_post(&mut self, saved: Unsent) {
        if self.posts.iter().any(|p| p.client_key == saved.client_key)
            || self.outbox.iter().any(|o| o.client_key == saved.client_key)
        {
            return;
        }
        // Ids go into addresses (a Cancel deletes /files/<id>): only ids this client makes.
        if !saved.uploads.iter().all(|u| is_file_id(&u.id)) {
            log::warn!("a stored post with a malformed file id was dropped");
            return;
        }
        let uploads = saved
            .uploads
            .into_iter()
            .map(|s| Upload {
                file: NewFile {
                    name: s.name,
                    mime: s.mime,
                    size: s.size,
                    source: FileSource::Path(s.path),
                },
                id: s.id,
                state: match (s.stored, s.failed) {
                    (true, _) => UploadState::Stored,
                    (false, Some(why)) => UploadState::Failed(why),
                    (false, None) => UploadState::Waiting { at: None },
                },
                failures: 0,
                // It may have got through before the app stopped.
                attempted: true,
            })
            .collect();
        self.posts.push(Post {
            client_key: saved.client_key,
            caption: saved.content,
            room: saved.room,
            uploads,
            owner: saved.owner,
        });
    }
}

/// A version 4 UUID as `new_file_id` makes them (lower-case hex).
fn is_file_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_ids_this_client_makes_are_taken_back() {
        assert!(super::is_file_id(&super::super::uploads::new_file_id()));
        for bad in [
            "",
            "../../users/me",
            "c4a7f01d-e5a1-4c0b-9a7e-0c4a7f01de5a?x=1",
            "C4A7F01D-E5A1-4C0B-9A7E-0C4A7F01DE5A",
        ] {
            assert!(!super::is_file_id(bad), "{bad}");
        }
    }
}
