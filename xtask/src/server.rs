//! A Directus process on SQLite: configure, bootstrap, start, wait until ready, stop.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::install::{self, Node22};
use crate::{Result, process};

/// Everything a Directus instance needs to run from `dir` (database, config, log, uploads).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub dir: PathBuf,
    pub port: u16,
    pub version: String,
    pub admin_email: String,
    pub admin_password: String,
    pub key: String,
    pub secret: String,
    /// Extra settings, e.g. ACCESS_TOKEN_TTL or the rate limiter for fault tests.
    pub extra: Vec<(String, String)>,
}

impl ServerConfig {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("directus.env")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("directus.log")
    }

    /// Directus reads its settings from CONFIG_PATH; a key there wins over the environment.
    fn write_config(&self) -> Result<()> {
        let mut lines = vec![
            ("HOST".to_owned(), "127.0.0.1".to_owned()),
            ("PORT".into(), self.port.to_string()),
            ("PUBLIC_URL".into(), self.url()),
            ("DB_CLIENT".into(), "sqlite3".into()),
            (
                "DB_FILENAME".into(),
                self.dir.join("data.db").display().to_string(),
            ),
            ("KEY".into(), self.key.clone()),
            ("SECRET".into(), self.secret.clone()),
            ("ADMIN_EMAIL".into(), self.admin_email.clone()),
            ("ADMIN_PASSWORD".into(), self.admin_password.clone()),
            ("WEBSOCKETS_ENABLED".into(), "true".into()),
            ("WEBSOCKETS_HEARTBEAT_ENABLED".into(), "true".into()),
            // The chat uses the REST socket only. The GraphQL socket is on by default with
            // WEBSOCKETS_ENABLED; on 11.x it never expires a token and a failed re-auth
            // leaves it with null accountability (the system's rights) in some auth modes.
            // The logs socket is for admins. Neither is opened where nothing needs it.
            ("WEBSOCKETS_GRAPHQL_ENABLED".into(), "false".into()),
            ("WEBSOCKETS_LOGS_ENABLED".into(), "false".into()),
            ("TELEMETRY".into(), "false".into()),
            (
                "STORAGE_LOCAL_ROOT".into(),
                self.dir.join("uploads").display().to_string(),
            ),
            (
                "EXTENSIONS_PATH".into(),
                self.dir.join("extensions").display().to_string(),
            ),
            ("LOG_LEVEL".into(), "warn".into()),
            // Larger files are refused (413) before they fill the disk.
            (
                "FILES_MAX_UPLOAD_SIZE".into(),
                crate::files::MAX_UPLOAD.into(),
            ),
        ];
        for (key, value) in &self.extra {
            lines.retain(|(k, _)| k != key);
            lines.push((key.clone(), value.clone()));
        }
        let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        private_dir(&self.dir)?;
        write_private(&self.config_path(), &text)?;
        self.install_extensions()
    }

    /// The chat's own Directus extensions (the room rules permissions cannot express, see
    /// `directus/extensions/`), copied fresh into EXTENSIONS_PATH before every start.
    fn install_extensions(&self) -> Result<()> {
        let source = crate::paths::manifests_dir().join("extensions");
        let target = self.dir.join("extensions");
        // Directus also looks for extensions among the dependencies of the package.json in its
        // working folder, and loads none at all when there is no such file.
        write_private(
            &self.dir.join("package.json"),
            "{ \"name\": \"directus-chat-server\", \"private\": true }\n",
        )?;
        let entries = |dir: &Path| -> Result<Vec<PathBuf>> {
            let read = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            Ok(read.flatten().map(|e| e.path()).collect())
        };
        for extension in entries(&source)?.into_iter().filter(|p| p.is_dir()) {
            let into = target.join(extension.file_name().unwrap_or_default());
            std::fs::create_dir_all(&into).map_err(|e| format!("{}: {e}", into.display()))?;
            for file in entries(&extension)?.into_iter().filter(|p| p.is_file()) {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                write_private(&into.join(file.file_name().unwrap_or_default()), &text)?;
            }
        }
        Ok(())
    }
}

/// Write a file only its owner can read (it holds secrets), atomically: a temporary file of
/// this process's own, then a rename (never half a file, never another writer's temp file).
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A folder only its owner can enter (0700), its files owner-only (0600): the database, the
/// config with KEY and SECRET, the credentials and logs. Folders made loosely before are
/// tightened too.
pub fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let owner_only = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    owner_only(dir, 0o700)?;
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            owner_only(&entry.path(), 0o600)?;
        }
    }
    Ok(())
}

/// A random token for KEY/SECRET/passwords, from the kernel's generator.
pub fn random_token(bytes: usize) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom is readable");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Installed Node 22 + Directus, ready to bootstrap and start instances.
pub struct Installation {
    pub node: Node22,
    pub cli: PathBuf,
}

impl Installation {
    pub fn ensure(version: &str) -> Result<Self> {
        let node = install::ensure_node22()?;
        let cli = install::ensure_directus(&node, version)?;
        Ok(Self { node, cli })
    }

    fn command(&self, config: &ServerConfig, action: &str) -> Command {
        let mut cmd = Command::new(self.node.node());
        cmd.arg(&self.cli)
            .arg(action)
            .current_dir(&config.dir)
            .env("PATH", self.node.path_env())
            .env("CONFIG_PATH", config.config_path());
        cmd
    }

    /// Create the SQLite schema and the admin user, unless the database exists already.
    pub fn bootstrap(&self, config: &ServerConfig) -> Result<()> {
        config.write_config()?;
        if config.dir.join("data.db").exists() {
            return Ok(());
        }
        let log = File::create(config.dir.join("bootstrap.log")).map_err(|e| e.to_string())?;
        let status = self
            .command(config, "bootstrap")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!(
                "directus bootstrap failed ({status}); see {}",
                config.dir.join("bootstrap.log").display()
            ));
        }
        // The database Directus just made (created with the umask's mode).
        private_dir(&config.dir)
    }

    /// Start Directus. `detached`: it outlives us (the `up` command); otherwise it is killed when
    /// the spawning thread ends (tests). Waits until /server/ping answers.
    pub fn start(&self, config: &ServerConfig, detached: bool) -> Result<Child> {
        ensure_port_free(config.port)?;
        config.write_config()?;
        let log = File::create(config.log_path()).map_err(|e| e.to_string())?;
        let mut cmd = self.command(config, "start");
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if detached {
            process::detach(&mut cmd);
        } else {
            process::die_with_parent(&mut cmd);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start Directus: {e}"))?;
        if let Err(e) = wait_ready(&config.url(), Duration::from_secs(90), || {
            child.try_wait().ok().flatten().is_none()
        }) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{e}\n--- {} ---\n{}",
                config.log_path().display(),
                tail(&config.log_path())
            ));
        }
        Ok(child)
    }
}

pub fn ensure_port_free(port: u16) -> Result<()> {
    TcpListener::bind(("127.0.0.1", port)).map(drop).map_err(|e| {
        format!("port {port} on 127.0.0.1 is already in use ({e}); stop what uses it or pick another port")
    })
}

/// A port the OS says is free right now.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("can bind a loopback port")
}

pub fn ping(url: &str) -> bool {
    crate::rest::Rest::new(url)
        .get("/server/ping")
        .is_ok_and(|r| r.status == 200)
}

/// Poll /server/ping until it answers, the process dies, or `timeout` passes.
pub fn wait_ready(url: &str, timeout: Duration, mut alive: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if ping(url) {
            return Ok(());
        }
        if !alive() {
            return Err(format!(
                "Directus exited before answering {url}/server/ping"
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "Directus did not answer {url}/server/ping within {timeout:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
