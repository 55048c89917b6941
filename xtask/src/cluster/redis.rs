//! Redis as a process of ours: the cluster's event bus, rate limiter and synchronization store.
//! Nothing is persisted (pub/sub has no replay anyway; the clients' recheck covers a blink). A
//! password is required: any local user can reach a loopback port.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::Result;

/// The server in the foreground on 127.0.0.1:`port`, working in `dir`. The password goes in an
/// owner-only config file, not on the command line (`ps` shows arguments to everyone).
pub fn command(program: &Path, port: u16, password: &str, dir: &Path) -> Result<Command> {
    let config = dir.join("redis.conf");
    crate::server::write_private(&config, &format!("requirepass {password}\n"))?;
    let mut cmd = Command::new(program);
    cmd.arg(&config)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null());
    Ok(cmd)
}
