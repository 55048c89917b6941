//! HAProxy in front of the instances. WebSocket upgrades pass through in `mode http`; a socket
//! stays on its instance for its life, so `leastconn` spreads them; a health check on
//! /server/ping takes a dead instance out within a second, so that reconnecting clients land on
//! a live one. `timeout tunnel` (after the upgrade) is well over Directus's 30 s heartbeat.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::Result;

pub struct Balancer {
    pub program: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    pub instances: Vec<u16>,
}

impl Balancer {
    pub fn config_text(&self) -> String {
        let servers: String = self
            .instances
            .iter()
            .enumerate()
            .map(|(n, port)| {
                format!(
                    "    server instance-{} 127.0.0.1:{port} check inter 500ms fall 2 rise 2\n",
                    n + 1
                )
            })
            .collect();
        format!(
            "global\n    maxconn 4096\n\n\
             defaults\n    mode http\n    option redispatch\n    retries 3\n\
             \x20   timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n\
             \x20   timeout tunnel 1h\n\n\
             frontend chat\n    bind 127.0.0.1:{}\n    default_backend directus\n\n\
             backend directus\n    balance leastconn\n\
             \x20   option httpchk GET /server/ping\n    http-check expect string pong\n{servers}",
            self.port
        )
    }

    /// Write the config and return HAProxy in the foreground.
    pub fn command(&self) -> Result<Command> {
        crate::server::write_private(&self.config, &self.config_text())?;
        let mut cmd = Command::new(&self.program);
        cmd.arg("-f")
            .arg(&self.config)
            .arg("-db")
            .stdin(Stdio::null());
        Ok(cmd)
    }
}
