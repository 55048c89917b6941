//! Where things live: the repository, the install cache and the local server's data.

use std::path::PathBuf;

/// The repository root (the parent of this crate's folder).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the repository")
        .to_path_buf()
}

/// Installs (Node 22, Directus, web tools) are cached here. `DIRECTUS_CHAT_CACHE` moves it, e.g.
/// so that several clones (and CI's fresh clone) share one cache; the default is git-ignored.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("DIRECTUS_CHAT_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join(".cache"),
    }
}

/// The pinned package manifests (package.json + lockfile) checked into the repository.
pub fn manifests_dir() -> PathBuf {
    repo_root().join("directus")
}

/// The `cargo xtask directus up` server's database, config, logs and credentials (git-ignored).
/// `DIRECTUS_LOCAL_DIR` moves it (the tests of `up`/`down` use a temporary one).
pub fn local_server_dir() -> PathBuf {
    match std::env::var_os("DIRECTUS_LOCAL_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join(".directus-local"),
    }
}
