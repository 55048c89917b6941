//! Directus as a cluster, the way Directus scales: PostgreSQL for data, Redis for the event
//! bus (an event written through one instance reaches sockets held by the others), several
//! instances sharing KEY and SECRET, HAProxy in front. Every part is a process of ours on a
//! loopback port, with its data, config and log under one folder; never a system service.
//! Start order (see ../shared/directus-cluster-facts.md): PostgreSQL, Redis, `directus
//! bootstrap` once (it takes no lock), the instances, the balancer.

pub mod balancer;
pub mod local;
pub mod postgres;
pub mod redis;

use std::path::{Path, PathBuf};

use crate::server::{self, ServerConfig};
use crate::{Result, debian};

/// The programs a cluster runs, from Debian's packages.
pub struct Programs {
    pub postgres_bin: PathBuf,
    pub redis: PathBuf,
    pub haproxy: PathBuf,
}

/// Find (or, as root, install) PostgreSQL, Redis and HAProxy. Root is needed either way:
/// PostgreSQL runs as its own user, which only root can switch to.
pub fn programs() -> Result<Programs> {
    // Missing packages are named first (installed when we are root).
    let found = debian::ensure(
        &[
            ("/usr/bin/pg_ctlcluster", "postgresql"),
            ("/usr/bin/redis-server", "redis-server"),
            ("/usr/sbin/haproxy", "haproxy"),
        ],
        "the Directus cluster",
    )?;
    if unsafe { libc::geteuid() } != 0 {
        return Err("the cluster runs PostgreSQL as the `postgres` user: run as root".into());
    }
    Ok(Programs {
        postgres_bin: postgres::bin_dir()?,
        redis: found[1].clone(),
        haproxy: found[2].clone(),
    })
}

/// Where each part of one cluster lives and listens, and the secrets its instances share.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub dir: PathBuf,
    pub version: String,
    pub balancer_port: u16,
    pub postgres_port: u16,
    pub redis_port: u16,
    pub instance_ports: Vec<u16>,
    pub admin_email: String,
    pub admin_password: String,
    pub key: String,
    pub secret: String,
    pub db_password: String,
    pub redis_password: String,
    /// Settings every instance gets on top (e.g. ACCESS_TOKEN_TTL for a test).
    pub extra: Vec<(String, String)>,
}

impl ClusterConfig {
    /// A new cluster of `instances` under `dir`, on ports free right now.
    pub fn new(dir: &Path, version: &str, instances: usize) -> ClusterConfig {
        ClusterConfig {
            dir: dir.to_owned(),
            version: version.to_owned(),
            balancer_port: server::free_port(),
            postgres_port: server::free_port(),
            redis_port: server::free_port(),
            instance_ports: (0..instances).map(|_| server::free_port()).collect(),
            admin_email: "admin@example.com".into(),
            admin_password: server::random_token(12),
            key: server::random_token(16),
            secret: server::random_token(32),
            db_password: server::random_token(16),
            redis_password: server::random_token(16),
            extra: Vec::new(),
        }
    }

    /// The balancer: the one address clients and provisioning use.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.balancer_port)
    }

    pub fn instance_url(&self, n: usize) -> String {
        format!("http://127.0.0.1:{}", self.instance_ports[n])
    }

    pub fn postgres(&self, programs: &Programs) -> postgres::Postgres {
        postgres::Postgres {
            bin: programs.postgres_bin.clone(),
            dir: self.dir.join("postgres"),
            port: self.postgres_port,
        }
    }

    /// With its password: any local user can reach a loopback port.
    pub fn redis_url(&self) -> String {
        format!(
            "redis://:{}@127.0.0.1:{}",
            self.redis_password, self.redis_port
        )
    }

    /// Instance `n` (from 0): its own folder, port and log; the database, Redis, KEY, SECRET,
    /// uploads and public address of the cluster.
    pub fn instance(&self, n: usize) -> ServerConfig {
        let shared = |k: &str, v: String| (k.to_owned(), v);
        let mut extra = vec![
            shared("PUBLIC_URL", self.url()),
            shared("DB_CLIENT", "pg".into()),
            shared("DB_HOST", "127.0.0.1".into()),
            shared("DB_PORT", self.postgres_port.to_string()),
            shared("DB_DATABASE", postgres::DATABASE.into()),
            shared("DB_USER", postgres::USER.into()),
            shared("DB_PASSWORD", self.db_password.clone()),
            shared("REDIS", self.redis_url()),
            // Every instance of one cluster on one bus.
            shared("REDIS_BUS_NAMESPACE", "directus-chat:bus".into()),
            shared("SYNCHRONIZATION_STORE", "redis".into()),
            shared("RATE_LIMITER_STORE", "redis".into()),
            shared("CACHE_STORE", "redis".into()),
            shared(
                "STORAGE_LOCAL_ROOT",
                self.dir.join("uploads").display().to_string(),
            ),
        ];
        extra.extend(self.extra.iter().cloned());
        ServerConfig {
            dir: self.dir.join(format!("instance-{}", n + 1)),
            port: self.instance_ports[n],
            version: self.version.clone(),
            admin_email: self.admin_email.clone(),
            admin_password: self.admin_password.clone(),
            key: self.key.clone(),
            secret: self.secret.clone(),
            extra,
        }
    }

    pub fn balancer(&self, programs: &Programs) -> balancer::Balancer {
        balancer::Balancer {
            program: programs.haproxy.clone(),
            config: self.dir.join("haproxy.cfg"),
            port: self.balancer_port,
            instances: self.instance_ports.clone(),
        }
    }

    pub fn log(&self, part: &str) -> PathBuf {
        self.dir.join(format!("{part}.log"))
    }
}

/// The cluster's folder: PostgreSQL's own user must pass through it to its data (0711: it can
/// enter, not list); everything else in it is owner-only.
pub fn make_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Every folder above must let others pass too (a clone under /root, 0700, does not).
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for above in dir.ancestors().skip(1) {
        let mode = std::fs::metadata(above).map_or(0, |m| m.permissions().mode());
        if mode & 0o001 == 0 {
            return Err(format!(
                "{} is closed to other users (mode {:o}), so PostgreSQL's own user cannot reach \
                 its data below it: put the cluster elsewhere with DIRECTUS_CLUSTER_DIR (e.g. \
                 /var/tmp/directus-cluster)",
                above.display(),
                mode & 0o777
            ));
        }
    }
    let dir = dir.as_path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    server::private_dir(&dir.join("uploads"))
}

/// Wait until something listens on `port` (or `timeout` passes).
pub fn wait_listening(port: u16, timeout: std::time::Duration, what: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "{what} did not listen on port {port} within {timeout:?}"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(())
}

/// A log file only its owner reads (the folder above is 0711).
pub fn log_file(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}
