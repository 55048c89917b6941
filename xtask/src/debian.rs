//! Programs from Debian's packages (Chromium, PostgreSQL, Redis, HAProxy): found where Debian
//! puts them, installed with apt-get when missing and we are root, else a sentence naming the
//! packages to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// Each `(program, package)`: the program's path once every one is there. `why` finishes the
/// sentence "needed by ...".
pub fn ensure(programs: &[(&str, &str)], why: &str) -> Result<Vec<PathBuf>> {
    let missing: Vec<&str> = programs
        .iter()
        .filter(|(program, _)| !Path::new(program).exists())
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        if unsafe { libc::geteuid() } != 0 {
            return Err(format!(
                "missing: run `sudo apt-get install {}` (needed by {why})",
                missing.join(" ")
            ));
        }
        eprintln!("Installing Debian's {} (once)...", missing.join(", "));
        let mut install = vec!["install", "-y", "-qq"];
        install.extend(&missing);
        for args in [&["update", "-qq"][..], &install[..]] {
            let status = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .map_err(|e| format!("apt-get: {e}"))?;
            if !status.success() {
                return Err(format!("apt-get {} failed", args.join(" ")));
            }
        }
    }
    programs
        .iter()
        .map(|(program, package)| {
            let path = PathBuf::from(program);
            match path.exists() {
                true => Ok(path),
                false => Err(format!("{package} installed, but {program} is not there")),
            }
        })
        .collect()
}
