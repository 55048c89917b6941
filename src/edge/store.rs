//! Where the session survives a restart: the server address, the newest refresh token and the
//! messages not yet confirmed. Never the password. Native: a JSON file readable by its owner
//! only; web: localStorage.

use serde::{Deserialize, Serialize};

use crate::core::session::Unsent;

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
pub use web::SessionStore;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::StoredSession;
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use std::path::PathBuf;

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
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
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

        pub fn path(&self) -> Option<PathBuf> {
            self.dir.as_ref().map(|d| d.join("session.json"))
        }

        pub fn load(&self) -> Option<StoredSession> {
            let text = std::fs::read_to_string(self.path()?).ok()?;
            serde_json::from_str(&text).ok()
        }

        /// Written to a temporary file (mode 0600) and renamed: never half a token on disk.
        pub fn save(&self, session: &StoredSession) -> Result<(), String> {
            let (Some(dir), Some(path)) = (&self.dir, self.path()) else {
                return Ok(());
            };
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            // An older, looser folder is tightened too.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            // A temporary file of this process's own: never one another writer is filling.
            let tmp = dir.join(format!("session.json.{}.tmp", std::process::id()));
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
            let json = serde_json::to_string(session).map_err(|e| e.to_string())?;
            file.write_all(json.as_bytes()).map_err(|e| e.to_string())?;
            file.sync_all().map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, &path).map_err(|e| e.to_string())
        }

        pub fn forget(&self) {
            if let Some(path) = self.path() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    use super::StoredSession;

    const KEY: &str = "directus-chat.session";

    #[derive(Clone, Debug, Default)]
    pub struct SessionStore;

    impl SessionStore {
        pub fn default_location() -> Self {
            SessionStore
        }

        fn storage() -> Option<web_sys::Storage> {
            web_sys::window()?.local_storage().ok()?
        }

        pub fn load(&self) -> Option<StoredSession> {
            let text = Self::storage()?.get_item(KEY).ok()??;
            serde_json::from_str(&text).ok()
        }

        pub fn save(&self, session: &StoredSession) -> Result<(), String> {
            let storage = Self::storage().ok_or("localStorage is not available")?;
            let json = serde_json::to_string(session).map_err(|e| e.to_string())?;
            storage.set_item(KEY, &json).map_err(|e| format!("{e:?}"))
        }

        pub fn forget(&self) {
            if let Some(storage) = Self::storage() {
                let _ = storage.remove_item(KEY);
            }
        }
    }
}
