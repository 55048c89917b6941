//! Where the session survives a restart: the server address, the newest refresh token and the
//! messages not yet confirmed (and, beside it, the last messages seen, shown at the next start
//! before the server answers). Never the password. Native: JSON files readable by their owner
//! only; web: localStorage.

use serde::{Deserialize, Serialize};

use crate::core::session::Unsent;
pub use crate::edge::saved_history::SavedHistory;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    pub server: String,
    /// Whose session it is: never resumed as, or its token sent for, anyone else.
    #[serde(default)]
    pub email: Option<String>,
    /// None once the server refused it: kept only for the unsent messages.
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub outbox: Vec<Unsent>,
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::SessionStore;
#[cfg(target_arch = "wasm32")]
pub use web::{SessionStore, wake_on_storage_change};

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::{SavedHistory, StoredSession};
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use std::path::PathBuf;

    /// The session's folder, made owner-only (0700); an older, looser one is tightened.
    fn private_dir(dir: &std::path::Path) -> Result<(), String> {
        let failed = |e: std::io::Error| format!("{}: {e}", dir.display());
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(failed)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)
    }

    /// A session file in a folder of its own (the OS data dir by default).
    #[derive(Clone, Debug)]
    pub struct SessionStore {
        dir: Option<PathBuf>,
        /// The folder's lock, held while this process uses the stored session (see `lock`).
        lock: Option<std::sync::Arc<std::fs::File>>,
    }

    impl SessionStore {
        /// The platform data dir (e.g. ~/.local/share/directus-chat), or DIRECTUS_CHAT_DATA_DIR.
        pub fn default_location() -> Self {
            let dir = std::env::var_os("DIRECTUS_CHAT_DATA_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| {
                    directories::ProjectDirs::from("", "", "directus-chat")
                        .map(|dirs| dirs.data_dir().to_path_buf())
                });
            Self { dir, lock: None }
        }

        pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
            Self {
                dir: Some(dir.into()),
                lock: None,
            }
        }

        /// A store that keeps nothing (headless bots logging in with a password).
        pub fn none() -> Self {
            Self {
                dir: None,
                lock: None,
            }
        }

        /// Take the folder for this process alone. Two processes on one stored session would
        /// undo each other: Directus rotates the refresh token on every use, so the other's
        /// copy dies, and each would overwrite the other's unsent messages. Err: another
        /// process holds it (say so; run without the stored session).
        pub fn lock(&mut self) -> Result<(), String> {
            use std::os::fd::AsRawFd;
            let Some(dir) = &self.dir else {
                return Ok(());
            };
            private_dir(dir)?;
            let path = dir.join("lock");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            // SAFETY: a valid descriptor; the lock lives as long as the file stays open.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                return Err(format!(
                    "another directus-chat is using the session stored in {}",
                    dir.display()
                ));
            }
            self.lock = Some(std::sync::Arc::new(file));
            Ok(())
        }

        /// The session's folder (None: a store that keeps nothing).
        pub fn dir(&self) -> Option<&std::path::Path> {
            self.dir.as_deref()
        }

        pub fn path(&self) -> Option<PathBuf> {
            self.dir.as_ref().map(|d| d.join("session.json"))
        }

        pub fn load(&self) -> Option<StoredSession> {
            let text = std::fs::read_to_string(self.path()?).ok()?;
            serde_json::from_str(&text).ok()
        }

        pub fn save(&self, session: &StoredSession) -> Result<(), String> {
            let json = serde_json::to_string(session).map_err(|e| e.to_string())?;
            self.write_private("session.json", &json, true)
        }

        /// Written to a temporary file (mode 0600) and renamed: never half a token on disk.
        fn write_private(&self, name: &str, json: &str, sync: bool) -> Result<(), String> {
            let Some(dir) = &self.dir else {
                return Ok(());
            };
            let path = dir.join(name);
            private_dir(dir)?;
            // A temporary file of this process's own: never one another writer is filling.
            let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
            // The mode above only applies to new files: enforce it on an old one too.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| e.to_string())?;
            file.write_all(json.as_bytes()).map_err(|e| e.to_string())?;
            if sync {
                file.sync_all().map_err(|e| e.to_string())?;
            }
            std::fs::rename(&tmp, &path).map_err(|e| e.to_string())
        }

        pub fn forget(&self) {
            if let Some(dir) = &self.dir {
                let _ = std::fs::remove_file(dir.join("session.json"));
                let _ = std::fs::remove_file(dir.join("history.json"));
            }
        }

        pub fn load_history(&self) -> Option<SavedHistory> {
            let text = std::fs::read_to_string(self.dir.as_ref()?.join("history.json")).ok()?;
            serde_json::from_str(&text).ok()
        }

        pub fn save_history(&self, history: &SavedHistory) -> Result<(), String> {
            let json = serde_json::to_string(history).map_err(|e| e.to_string())?;
            // A cache: not worth an fsync on the UI thread every few seconds.
            self.write_private("history.json", &json, false)
        }

        /// Natively one process holds the stored session (see `lock`): nobody else rotates it.
        pub fn token_other_than(
            &self,
            _server: &str,
            _email: Option<&str>,
            _ours: Option<&str>,
        ) -> Option<StoredSession> {
            None
        }

        pub fn changed_elsewhere(&self) -> bool {
            false
        }

        /// Natively `forget` removes the whole file, token included (and no other process
        /// rotated it: see `lock`).
        pub fn take_token(&self, _server: &str, _email: Option<&str>) -> Option<String> {
            None
        }

        /// Natively no other process lends a token.
        pub fn adopted(&self, _token: &str) {}
    }
}

/// Tabs of one origin share one stored session (localStorage), each writing its own view of
/// it. This one's save keeps what other tabs wrote: unsent messages this tab never held stay
/// (dropping them would lose another tab's words); those it held at its last save and holds no
/// more were confirmed or discarded here and go. A message two tabs both send is stored once
/// anyway: its client key is unique.
pub fn merge_outbox(stored: &[Unsent], ours: &[Unsent], ours_before: &[String]) -> Vec<Unsent> {
    let mut merged = ours.to_vec();
    for other in stored {
        let known = merged.iter().any(|o| o.client_key == other.client_key);
        if !known && !ours_before.contains(&other.client_key) {
            merged.push(other.clone());
        }
    }
    merged
}

/// The refresh token a tab writes: only one it got from the server itself since it last
/// read or wrote one (`seen`). Never a copy read back from storage: another tab may have
/// rotated it meanwhile, and this tab's copy of localStorage may not show that yet (browsers
/// pass writes between tabs' processes with a delay), so writing it back would put a spent
/// token over the live one.
pub fn token_to_write<'a>(ours: Option<&'a String>, seen: Option<&String>) -> Option<&'a String> {
    ours.filter(|ours| Some(*ours) != seen)
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::RefCell;

    use super::{SavedHistory, StoredSession, merge_outbox, token_to_write};

    const KEY: &str = "directus-chat.session";
    const TOKEN: &str = "directus-chat.token";
    const HISTORY: &str = "directus-chat.history";

    /// Another tab wrote the stored session since `changed_elsewhere` last said so.
    static STORAGE_CHANGED: std::sync::atomic::AtomicBool =
        std::sync::atomic::AtomicBool::new(false);

    /// Another tab wrote the stored session: wake this tab's app, which may be waiting for a
    /// newer token (see `Edge::drive`).
    pub fn wake_on_storage_change(wake: crate::edge::Wake) {
        use eframe::wasm_bindgen::JsCast as _;
        use eframe::wasm_bindgen::closure::Closure;
        let Some(window) = web_sys::window() else {
            return;
        };
        let on_change = Closure::<dyn Fn()>::new(move || {
            STORAGE_CHANGED.store(true, std::sync::atomic::Ordering::Relaxed);
            wake()
        });
        let _ =
            window.add_event_listener_with_callback("storage", on_change.as_ref().unchecked_ref());
        on_change.forget(); // lives as long as the page
    }

    /// localStorage, shared with the other tabs of this origin. The refresh token has a key of
    /// its own, written whole and only by the tab that got it from the server (see
    /// `token_to_write`); the unsent messages are merged (see `merge_outbox`).
    #[derive(Clone, Debug, Default)]
    pub struct SessionStore {
        /// The refresh token this tab holds, as storage knows it: read at start, got from the
        /// server and written, or taken from another tab. Never written (again) by this tab.
        seen_token: RefCell<Option<String>>,
        /// The keys of this tab's unsent messages at its last save.
        own_keys: RefCell<Vec<String>>,
    }

    /// The session's refresh token and whose it is (under `TOKEN`).
    #[derive(serde::Serialize, serde::Deserialize)]
    struct StoredToken {
        server: String,
        email: Option<String>,
        refresh_token: String,
    }

    impl SessionStore {
        pub fn default_location() -> Self {
            SessionStore::default()
        }

        fn storage() -> Option<web_sys::Storage> {
            web_sys::window()?.local_storage().ok()?
        }

        fn read() -> Option<StoredSession> {
            let text = Self::storage()?.get_item(KEY).ok()??;
            serde_json::from_str(&text).ok()
        }

        fn read_token() -> Option<StoredToken> {
            let text = Self::storage()?.get_item(TOKEN).ok()??;
            serde_json::from_str(&text).ok()
        }

        fn write_token(token: &StoredToken) -> Result<(), String> {
            let storage = Self::storage().ok_or("localStorage is not available")?;
            let json = serde_json::to_string(token).map_err(|e| e.to_string())?;
            storage.set_item(TOKEN, &json).map_err(|e| format!("{e:?}"))
        }

        /// The token decides whose session resumes; the unsent messages come along if they are
        /// that account's (or there is no token: only unsent messages were kept).
        pub fn load(&self) -> Option<StoredSession> {
            let mut stored = Self::read();
            // Written by a version that kept the token in the session's record: move it (and
            // keep it where it was if it cannot be written).
            if let Some(old) = stored.as_mut().filter(|_| Self::read_token().is_none())
                && let Some(refresh_token) = old.refresh_token.take()
            {
                let moved = Self::write_token(&StoredToken {
                    server: old.server.clone(),
                    email: old.email.clone(),
                    refresh_token: refresh_token.clone(),
                });
                let rewritten = serde_json::to_string(&*old).ok();
                match (moved, rewritten, Self::storage()) {
                    (Ok(()), Some(json), Some(storage)) => {
                        let _ = storage.set_item(KEY, &json);
                    }
                    _ => old.refresh_token = Some(refresh_token),
                }
            }
            let stored = match Self::read_token() {
                Some(token) => {
                    let same =
                        |s: &StoredSession| s.server == token.server && s.email == token.email;
                    let outbox = stored.filter(same).map(|s| s.outbox).unwrap_or_default();
                    StoredSession {
                        server: token.server,
                        email: token.email,
                        refresh_token: Some(token.refresh_token),
                        outbox,
                    }
                }
                // Only unsent messages were kept (or an old token could not be moved).
                None => stored?,
            };
            *self.seen_token.borrow_mut() = stored.refresh_token.clone();
            *self.own_keys.borrow_mut() =
                stored.outbox.iter().map(|u| u.client_key.clone()).collect();
            Some(stored)
        }

        pub fn load_history(&self) -> Option<SavedHistory> {
            let text = Self::storage()?.get_item(HISTORY).ok()??;
            serde_json::from_str(&text).ok()
        }

        /// Tabs of one account read the same messages: the last writer's copy is as good.
        pub fn save_history(&self, history: &SavedHistory) -> Result<(), String> {
            let storage = Self::storage().ok_or("localStorage is not available")?;
            let json = serde_json::to_string(history).map_err(|e| e.to_string())?;
            storage
                .set_item(HISTORY, &json)
                .map_err(|e| format!("{e:?}"))
        }

        pub fn save(&self, session: &StoredSession) -> Result<(), String> {
            let storage = Self::storage().ok_or("localStorage is not available")?;
            let ours = session.refresh_token.as_ref();
            if let Some(token) = token_to_write(ours, self.seen_token.borrow().as_ref()) {
                Self::write_token(&StoredToken {
                    server: session.server.clone(),
                    email: session.email.clone(),
                    refresh_token: token.clone(),
                })?;
            }
            *self.seen_token.borrow_mut() = ours.cloned();
            let mut merged = StoredSession {
                refresh_token: None,
                ..session.clone()
            };
            // Another account's record (a tab logged in as someone else) lends nothing.
            let same = |s: &StoredSession| s.server == session.server && s.email == session.email;
            if let Some(stored) = Self::read().filter(same) {
                merged.outbox =
                    merge_outbox(&stored.outbox, &session.outbox, &self.own_keys.borrow());
            }
            let json = serde_json::to_string(&merged).map_err(|e| e.to_string())?;
            storage.set_item(KEY, &json).map_err(|e| format!("{e:?}"))?;
            *self.own_keys.borrow_mut() = session
                .outbox
                .iter()
                .map(|u| u.client_key.clone())
                .collect();
            Ok(())
        }

        /// Logged out, or refused: this tab's unsent messages go, other tabs' stay. The token
        /// stays too: a refused one may be stored because another tab's newer one has not
        /// reached this tab's copy of localStorage yet (deleting it would delete that one). A
        /// revoked one goes with `drop_token`.
        pub fn forget(&self) {
            let Some(storage) = Self::storage() else {
                return;
            };
            // What was read goes at logout (a tab of the account still logged in saves it
            // again within seconds).
            let _ = storage.remove_item(HISTORY);
            if let Some(mut stored) = Self::read() {
                let own = self.own_keys.borrow();
                stored.outbox.retain(|u| !own.contains(&u.client_key));
                let _ = match stored.outbox.is_empty() {
                    true => storage.remove_item(KEY),
                    false => match serde_json::to_string(&stored) {
                        Ok(json) => storage.set_item(KEY, &json),
                        Err(_) => Ok(()),
                    },
                };
            }
            self.own_keys.borrow_mut().clear();
        }

        /// Logged out: the account's stored token leaves storage, and is returned if it is
        /// another tab's newer one of the same session (to revoke it too). Another account's
        /// token stays.
        pub fn take_token(&self, server: &str, email: Option<&str>) -> Option<String> {
            let stored =
                Self::read_token().filter(|t| t.server == server && t.email.as_deref() == email)?;
            let _ = Self::storage()?.remove_item(TOKEN);
            let theirs = Some(&stored.refresh_token) != self.seen_token.borrow().as_ref();
            theirs.then_some(stored.refresh_token)
        }

        /// A token taken from another tab (adopted, or rejoined with) counts as seen: writing
        /// it back could put it over a newer one (see `token_to_write`).
        pub fn adopted(&self, token: &str) {
            *self.seen_token.borrow_mut() = Some(token.to_owned());
        }

        /// The stored session of this server and account if another tab put a token there that
        /// this tab neither holds (`ours`) nor stored or read itself (a spent one of ours is
        /// never taken back).
        pub fn token_other_than(
            &self,
            server: &str,
            email: Option<&str>,
            ours: Option<&str>,
        ) -> Option<StoredSession> {
            let stored = Self::read_token()?;
            let seen = self.seen_token.borrow();
            let other = stored.server == server
                && stored.email.as_deref() == email
                && Some(stored.refresh_token.as_str()) != ours
                && Some(&stored.refresh_token) != seen.as_ref();
            other.then(|| StoredSession {
                server: stored.server,
                email: stored.email,
                refresh_token: Some(stored.refresh_token),
                outbox: Vec::new(),
            })
        }

        /// Another tab wrote the stored session since this was last asked.
        pub fn changed_elsewhere(&self) -> bool {
            STORAGE_CHANGED.swap(false, std::sync::atomic::Ordering::Relaxed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsent(key: &str) -> Unsent {
        Unsent {
            client_key: key.into(),
            content: key.into(),
            failed: None,
            owner: None,
            room: None,
            files: Vec::new(),
            uploads: Vec::new(),
        }
    }

    fn keys(outbox: &[Unsent]) -> Vec<&str> {
        outbox.iter().map(|u| u.client_key.as_str()).collect()
    }

    #[test]
    fn a_tab_keeps_what_other_tabs_wrote_and_drops_only_what_it_settled() {
        // Stored: "a" (ours, since confirmed here), "b" (another tab's). Ours now: "c".
        let stored = [unsent("a"), unsent("b")];
        let merged = merge_outbox(&stored, &[unsent("c")], &["a".into()]);
        assert_eq!(keys(&merged), ["c", "b"]);
        // Both tabs hold "d": written once.
        let merged = merge_outbox(&[unsent("d")], &[unsent("d")], &[]);
        assert_eq!(keys(&merged), ["d"]);
    }

    #[test]
    fn a_tab_writes_only_a_token_it_got_from_the_server_itself() {
        let (t1, t2) = (String::from("t1"), String::from("t2"));
        // We hold t1, as read or written last: another tab may have rotated it since, and our
        // copy of storage may not show that yet. Writing it back would put a spent token over
        // the live one.
        assert_eq!(token_to_write(Some(&t1), Some(&t1)), None);
        // We rotated t1 to t2 ourselves: ours is the live one.
        assert_eq!(token_to_write(Some(&t2), Some(&t1)), Some(&t2));
        // The first token of a login.
        assert_eq!(token_to_write(Some(&t1), None), Some(&t1));
        // Refused here (we hold none): nothing is written.
        assert_eq!(token_to_write(None, Some(&t1)), None);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod folder_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{SessionStore, StoredSession};

    #[test]
    fn a_looser_folder_left_by_an_older_version_is_made_owner_only() {
        let dir = std::env::temp_dir().join(format!("dc-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = SessionStore::in_dir(&dir);
        let session = StoredSession {
            server: "http://127.0.0.1:8055".into(),
            email: Some("alice@example.com".into()),
            refresh_token: Some("secret".into()),
            outbox: Vec::new(),
        };
        store.save(&session).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("session.json")), 0o600);
        assert_eq!(store.load(), Some(session));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
