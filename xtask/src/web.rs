//! The web build: trunk, wasm-bindgen-cli (exactly the version in Cargo.lock), wasm-opt from the
//! npm package binaryen (Debian's binaryen 108 produces a wasm that crashes the page), Chromium
//! and playwright-core for the browser test. All installed by the project, cached.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install::{self, Node22};
use crate::{Result, paths};

pub const TRUNK_VERSION: &str = "0.21.14";

pub struct WebTools {
    /// cargo-installed trunk and wasm-bindgen.
    pub bin: PathBuf,
    /// wasm-opt, playwright-core.
    pub node_modules: PathBuf,
    pub node: Node22,
    pub chromium: PathBuf,
}

impl WebTools {
    pub fn ensure() -> Result<WebTools> {
        ensure_wasm_target()?;
        let root = paths::cache_dir().join("tools");
        let bin = root.join("bin");
        let bindgen = wasm_bindgen_version()?;
        check_trunk_toml(&bindgen)?;
        cargo_install(&root, "trunk", "trunk", TRUNK_VERSION, true)?;
        // Not --locked: its lockfile pins a crate newer than the registry has.
        cargo_install(&root, "wasm-bindgen-cli", "wasm-bindgen", &bindgen, false)?;
        let node = install::ensure_node22()?;
        let web_tools = paths::cache_dir().join("web-tools");
        install::npm_ci(
            &paths::repo_root().join("tests/web"),
            &web_tools,
            Some(&node),
        )?;
        Ok(WebTools {
            bin,
            node_modules: web_tools.join("node_modules"),
            node,
            chromium: ensure_chromium()?,
        })
    }

    /// PATH with our tools first: trunk finds wasm-bindgen and wasm-opt there.
    pub fn path_env(&self) -> String {
        format!(
            "{}:{}:{}",
            self.bin.display(),
            self.node_modules.join(".bin").display(),
            self.node.path_env()
        )
    }

    pub fn trunk(&self) -> Command {
        let mut cmd = Command::new(self.bin.join("trunk"));
        cmd.current_dir(paths::repo_root())
            .env("PATH", self.path_env());
        cmd
    }
}

/// The wasm32 standard library comes from rustup.
pub fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("wasm32-unknown-unknown") => {
            Ok(())
        }
        Ok(_) => {
            let status = Command::new("rustup")
                .args(["target", "add", "wasm32-unknown-unknown"])
                .status()
                .map_err(|e| e.to_string())?;
            status
                .success()
                .then_some(())
                .ok_or_else(|| "rustup target add wasm32-unknown-unknown failed".into())
        }
        Err(_) => Err("rustup is needed to add the wasm32-unknown-unknown target".into()),
    }
}

/// The wasm-bindgen version Cargo.lock pins (the CLI must match it exactly).
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(paths::repo_root().join("Cargo.lock"))
        .map_err(|e| e.to_string())?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

fn check_trunk_toml(bindgen: &str) -> Result<()> {
    let toml = std::fs::read_to_string(paths::repo_root().join("Trunk.toml"))
        .map_err(|e| e.to_string())?;
    if toml.contains(&format!("wasm_bindgen = \"{bindgen}\"")) {
        Ok(())
    } else {
        Err(format!(
            "Trunk.toml's [tools] wasm_bindgen must be \"{bindgen}\", the version in Cargo.lock"
        ))
    }
}

fn cargo_install(
    root: &Path,
    package: &str,
    binary: &str,
    version: &str,
    locked: bool,
) -> Result<()> {
    let exe = root.join("bin").join(binary);
    let current = Command::new(&exe).arg("--version").output();
    if current.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(version)) {
        return Ok(());
    }
    eprintln!(
        "Installing {package} {version} (once; cached in {})...",
        root.display()
    );
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args([
        "install",
        package,
        "--version",
        version,
        "--force",
        "--root",
    ])
    .arg(root);
    if locked {
        cmd.arg("--locked");
    }
    // Its own target dir, so the project's CARGO_TARGET_DIR is not filled with tool builds.
    cmd.env("CARGO_TARGET_DIR", root.join("build"));
    let status = cmd.status().map_err(|e| e.to_string())?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo install {package} {version} failed"))
}

/// Debian's Chromium (the only browser that installs here).
fn ensure_chromium() -> Result<PathBuf> {
    let found = crate::debian::ensure(&[("/usr/bin/chromium", "chromium")], "the browser test")?;
    Ok(found.into_iter().next().unwrap_or_default())
}

/// Sizes of the release wasm: raw and gzip-compressed, in bytes.
pub fn wasm_sizes(dist: &Path) -> Result<(PathBuf, u64, u64)> {
    use std::io::Write;
    let wasm = std::fs::read_dir(dist)
        .map_err(|e| format!("{}: {e}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .ok_or_else(|| format!("no .wasm in {}", dist.display()))?;
    let bytes = std::fs::read(&wasm).map_err(|e| e.to_string())?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes).map_err(|e| e.to_string())?;
    let gzipped = gz.finish().map_err(|e| e.to_string())?.len() as u64;
    Ok((wasm, bytes.len() as u64, gzipped))
}

/// `trunk build --release` into `dist`; prints the wasm's size.
pub fn build_release(tools: &WebTools, dist: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let mut cmd = tools.trunk();
    cmd.args(["build", "index.html", "--release", "--dist"])
        .arg(dist);
    let status = cmd.status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("trunk build failed ({status})"));
    }
    let (wasm, raw, gzipped) = wasm_sizes(dist)?;
    eprintln!(
        "web build: {} is {:.2} MB ({:.2} MB gzip), built in {:.0?}",
        wasm.file_name().unwrap_or_default().to_string_lossy(),
        raw as f64 / 1e6,
        gzipped as f64 / 1e6,
        started.elapsed()
    );
    Ok(())
}
