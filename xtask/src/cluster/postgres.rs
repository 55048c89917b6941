//! PostgreSQL as a process of ours: a data folder owned by the `postgres` user (PostgreSQL
//! refuses to run as root), its socket in that folder (so "trust" on the socket reaches only
//! `postgres` and root), TCP on 127.0.0.1 with a password for Directus's own role.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::Result;

pub const DATABASE: &str = "directus";
pub const USER: &str = "directus";

/// Debian's newest PostgreSQL server programs (`/usr/lib/postgresql/<version>/bin`).
pub fn bin_dir() -> Result<PathBuf> {
    let root = std::path::Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| format!("{}: {e}", root.display()))?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no PostgreSQL server under {}", root.display()))
}

/// The `postgres` user's uid and gid, from /etc/passwd.
fn owner() -> Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"postgres") && f.len() > 3)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or_else(|| "no `postgres` user (it comes with Debian's postgresql package)".into())
}

pub struct Postgres {
    pub bin: PathBuf,
    /// Owned by `postgres`: `data/` and the socket.
    pub dir: PathBuf,
    pub port: u16,
}

impl Postgres {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn as_postgres(&self, program: &str) -> Result<Command> {
        let (uid, gid) = owner()?;
        let mut cmd = Command::new(self.bin.join(program));
        cmd.uid(uid)
            .gid(gid)
            .env("LC_ALL", "C")
            .current_dir(&self.dir);
        Ok(cmd)
    }

    /// A new database cluster, unless there is one.
    pub fn init(&self) -> Result<()> {
        if self.data().join("PG_VERSION").exists() {
            return Ok(());
        }
        let (uid, gid) = owner()?;
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
        let out = self
            .as_postgres("initdb")?
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256", "-D"])
            .arg(self.data())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// The server in the foreground (the caller decides whether it outlives us).
    pub fn command(&self) -> Result<Command> {
        let mut cmd = self.as_postgres("postgres")?;
        cmd.arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .stdin(Stdio::null());
        Ok(cmd)
    }

    /// SQL as the superuser, over the socket; on stdin, since `ps` shows arguments to every
    /// local user and the SQL may hold a password.
    fn psql(&self, sql: &str) -> Result<String> {
        use std::io::Write;
        let mut child = self
            .as_postgres("psql")?
            .arg("-h")
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            // -X: no ~/.psqlrc changing what is printed.
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-tA"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("psql: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(format!("{sql};\n").as_bytes())
                .map_err(|e| format!("psql: {e}"))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("psql: {e}"))?;
        if !out.status.success() {
            return Err(format!("psql: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Wait until it takes queries, then make Directus's role and database (once).
    pub fn prepare(&self, password: &str) -> Result<()> {
        self.wait_ready()?;
        // The password is hex from the kernel's generator: nothing to quote. Set on every
        // start: settings made afresh (their file lost) must not lock Directus out.
        if self.psql(&format!("select 1 from pg_roles where rolname = '{USER}'"))? != "1" {
            self.psql(&format!("create user {USER} password '{password}'"))?;
        } else {
            self.psql(&format!("alter user {USER} password '{password}'"))?;
        }
        if self.psql(&format!(
            "select 1 from pg_database where datname = '{DATABASE}'"
        ))? != "1"
        {
            // Not in the same call: CREATE DATABASE cannot run inside a transaction.
            self.psql(&format!("create database {DATABASE} owner {USER}"))?;
        }
        Ok(())
    }

    /// Wait until it takes queries (after a start or restart).
    pub fn wait_ready(&self) -> Result<()> {
        super::wait_listening(self.port, Duration::from_secs(30), "PostgreSQL")?;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match self.psql("select 1") {
                Ok(_) => return Ok(()),
                Err(e) if std::time::Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}
