//! Redis as a process of ours: the cluster's event bus, rate limiter and synchronization store.
//! Nothing is persisted (pub/sub has no replay anyway; the clients' catch-up covers a blink).

use std::path::Path;
use std::process::{Command, Stdio};

/// The server in the foreground on 127.0.0.1:`port`, working in `dir`.
pub fn command(program: &Path, port: u16, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null());
    cmd
}
