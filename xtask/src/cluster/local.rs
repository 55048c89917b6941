//! The cluster of `cargo xtask cluster up|down|status|env`: settings and secrets made once and
//! kept owner-only in `.directus-cluster/cluster.env`, each part a detached process whose PID
//! file is trusted only while that PID runs the same program from the same folder (PIDs are
//! reused). `up` starts whatever is not running and leaves the rest alone.
//!
//! Not under `.directus-local/` (owner-only, 0700): PostgreSQL runs as its own user, which
//! must pass through the folder to reach its data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use super::{ClusterConfig, Programs};
use crate::provision::{self, Member, Report};
use crate::server::{self, Installation};
use crate::settings::Settings;
use crate::{Result, paths, process};

/// `.directus-cluster/` in the repository; `DIRECTUS_CLUSTER_DIR` moves it.
/// Absolute: the parts are recognised by their working folder (/proc/<pid>/cwd).
pub fn dir() -> PathBuf {
    match std::env::var_os("DIRECTUS_CLUSTER_DIR") {
        Some(dir) if !dir.is_empty() => std::path::absolute(PathBuf::from(dir))
            .unwrap_or_else(|_| paths::repo_root().join(".directus-cluster")),
        _ => paths::repo_root().join(".directus-cluster"),
    }
}

pub struct LocalCluster {
    pub config: ClusterConfig,
    pub members: [Member; 3],
}

/// One process of the cluster, as `status` names it.
struct Part {
    name: String,
    /// What /proc/<pid>/comm starts with.
    comm: &'static str,
    /// Its working folder (/proc/<pid>/cwd).
    cwd: PathBuf,
    port: u16,
}

impl LocalCluster {
    /// The stored settings, made on first use; `instances` changes how many (the caller makes
    /// sure nothing runs then). The ports are chosen once (`CLUSTER_PORT` for the balancer's,
    /// default 8060) and kept.
    pub fn load_or_create(instances: Option<usize>) -> Result<LocalCluster> {
        Self::load_or_create_in(&dir(), instances)
    }

    fn load_or_create_in(dir: &Path, instances: Option<usize>) -> Result<LocalCluster> {
        super::make_dir(dir)?;
        // As /proc/<pid>/cwd shows it (no `..`, no symlinks), or no part is ever recognised.
        let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut stored = Settings::read(&dir.join("cluster.env"));
        let fresh = ClusterConfig::new(&dir, &crate::install::selected_version(), 0);
        let balancer = std::env::var("CLUSTER_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(8060);
        let mut config = ClusterConfig {
            balancer_port: stored.port("BALANCER_PORT", balancer)?,
            postgres_port: stored.port("POSTGRES_PORT", server::free_port())?,
            redis_port: stored.port("REDIS_PORT", server::free_port())?,
            version: stored.get("DIRECTUS_VERSION", &fresh.version),
            admin_email: stored.get("ADMIN_EMAIL", &fresh.admin_email),
            admin_password: stored.get("ADMIN_PASSWORD", &fresh.admin_password),
            key: stored.get("KEY", &fresh.key),
            secret: stored.get("SECRET", &fresh.secret),
            db_password: stored.get("DB_PASSWORD", &fresh.db_password),
            redis_password: stored.get("REDIS_PASSWORD", &fresh.redis_password),
            ..fresh.clone()
        };
        let ports: Vec<u16> = stored
            .get("INSTANCE_PORTS", "")
            .split(',')
            .filter_map(|p| p.parse().ok())
            .collect();
        // Two unless told, or as many as it was made with.
        let wanted = instances.unwrap_or(if ports.is_empty() { 2 } else { ports.len() });
        config.instance_ports = ports.into_iter().take(wanted).collect();
        while config.instance_ports.len() < wanted {
            config.instance_ports.push(server::free_port());
        }
        let ports: Vec<String> = config.instance_ports.iter().map(u16::to_string).collect();
        stored.set("INSTANCE_PORTS", &ports.join(","));
        let mut member = |name: &str, first: &str| Member {
            email: stored.get(
                &format!("{name}_EMAIL"),
                &format!("{}@example.com", first.to_lowercase()),
            ),
            password: stored.get(&format!("{name}_PASSWORD"), &server::random_token(8)),
            first_name: first.into(),
        };
        let members = [
            member("ALICE", "Alice"),
            member("BOB", "Bob"),
            member("CAROL", "Carol"),
        ];
        stored.write()?;
        Ok(LocalCluster { config, members })
    }

    fn parts(&self) -> Vec<Part> {
        let c = &self.config;
        let mut parts = vec![
            Part {
                name: "postgres".into(),
                comm: "postgres",
                // It works in its data folder.
                cwd: c.dir.join("postgres").join("data"),
                port: c.postgres_port,
            },
            Part {
                name: "redis".into(),
                comm: "redis-server",
                cwd: c.dir.clone(),
                port: c.redis_port,
            },
        ];
        for n in 0..c.instance_ports.len() {
            parts.push(Part {
                name: format!("instance-{}", n + 1),
                comm: "node",
                cwd: c.instance(n).dir,
                port: c.instance_ports[n],
            });
        }
        parts.push(Part {
            name: "haproxy".into(),
            comm: "haproxy",
            cwd: c.dir.clone(),
            port: c.balancer_port,
        });
        parts
    }

    fn pid_path(&self, part: &Part) -> PathBuf {
        self.config.dir.join(format!("{}.pid", part.name))
    }

    /// The part's PID, if that process runs the part's program from its folder.
    fn running(&self, part: &Part) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_path(part))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
        (process::is_alive(pid) && comm.starts_with(part.comm) && cwd == part.cwd).then_some(pid)
    }

    fn started(&self, part: &Part, child: &Child) -> Result<()> {
        server::write_private(&self.pid_path(part), &child.id().to_string())?;
        eprintln!(
            "{}: started (pid {}, port {})",
            part.name,
            child.id(),
            part.port
        );
        Ok(())
    }

    /// Start every part that is not running, in order; provision through the balancer.
    pub fn up(&self, programs: &Programs) -> Result<Report> {
        let c = &self.config;
        let parts = self.parts();
        let is_up = |part: &Part| {
            let pid = self.running(part);
            if let Some(pid) = pid {
                eprintln!("{}: running (pid {pid}, port {})", part.name, part.port);
            }
            pid.is_some()
        };
        // A busy port is said before anything starts, not after half the cluster did. A part
        // that just died may hold its port a moment longer (Node's io_uring lets go of its
        // sockets after the process is gone): a few seconds' grace.
        for part in parts.iter().filter(|p| self.running(p).is_none()) {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while let Err(e) = server::ensure_port_free(part.port) {
                if std::time::Instant::now() > deadline {
                    return Err(format!("{}: {e}", part.name));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let postgres = c.postgres(programs);
        if !is_up(&parts[0]) {
            postgres.init()?;
            let child = spawn_detached(postgres.command()?, &c.log("postgres"))?;
            self.started(&parts[0], &child)?;
        }
        postgres.prepare(&c.db_password)?;
        if !is_up(&parts[1]) {
            let cmd =
                super::redis::command(&programs.redis, c.redis_port, &c.redis_password, &c.dir)?;
            let child = spawn_detached(cmd, &c.log("redis"))?;
            self.started(&parts[1], &child)?;
            super::wait_listening(c.redis_port, Duration::from_secs(10), "Redis")?;
        }
        let install = Installation::ensure(&c.version)?;
        let marker = c.dir.join("bootstrapped");
        if !marker.exists() {
            // Once for the whole cluster: bootstrap takes no lock (Directus issue #23707).
            install.bootstrap(&c.instance(0))?;
            server::write_private(&marker, &c.version)?;
        }
        for (n, part) in parts[2..parts.len() - 1].iter().enumerate() {
            if !is_up(part) {
                let child = install.start(&c.instance(n), true)?;
                self.started(part, &child)?;
            }
        }
        let balancer_part = &parts[parts.len() - 1];
        let balancer = c.balancer(programs);
        let config_changed =
            std::fs::read_to_string(&balancer.config).ok() != Some(balancer.config_text());
        if let (true, Some(pid)) = (config_changed, self.running(balancer_part)) {
            process::terminate(pid, Duration::from_secs(5)); // other instances now
        }
        if !is_up(balancer_part) {
            let mut cmd = balancer.command()?;
            cmd.current_dir(&c.dir);
            let child = spawn_detached(cmd, &c.log("haproxy"))?;
            self.started(balancer_part, &child)?;
        }
        server::wait_ready(&c.url(), Duration::from_secs(30), || true)?;
        let [alice, bob, carol] = &self.members;
        provision::provision_demo(
            &c.url(),
            &c.admin_email,
            &c.admin_password,
            [alice, bob, carol],
        )
    }

    /// Stop every part that runs (the balancer first, PostgreSQL last).
    pub fn down(&self) {
        for part in self.parts().iter().rev() {
            match self.running(part) {
                Some(pid) => {
                    // PostgreSQL: SIGINT is its fast shutdown (SIGTERM waits for clients).
                    let signal = if part.name == "postgres" {
                        libc::SIGINT
                    } else {
                        libc::SIGTERM
                    };
                    process::terminate_with(pid, signal, Duration::from_secs(15));
                    eprintln!("{}: stopped (pid {pid})", part.name);
                }
                None => eprintln!("{}: not running", part.name),
            }
            let _ = std::fs::remove_file(self.pid_path(part));
        }
    }

    /// A line per part.
    pub fn status(&self) -> Vec<String> {
        self.parts()
            .iter()
            .map(|part| match self.running(part) {
                Some(pid) => format!(
                    "{}: running (pid {pid}) on 127.0.0.1:{}",
                    part.name, part.port
                ),
                None => format!("{}: not running", part.name),
            })
            .collect()
    }

    /// The same keys as `cargo xtask directus env` (DIRECTUS_URL is the balancer), plus
    /// INSTANCE_URLS and INSTANCE_PIDS (same order; empty where one is not running).
    pub fn env(&self) -> Vec<(String, String)> {
        let c = &self.config;
        let parts = self.parts();
        let instances = &parts[2..parts.len() - 1];
        let mut env = vec![
            ("DIRECTUS_URL".to_owned(), c.url()),
            ("ADMIN_EMAIL".into(), c.admin_email.clone()),
            ("ADMIN_PASSWORD".into(), c.admin_password.clone()),
        ];
        for (name, m) in ["ALICE", "BOB", "CAROL"].iter().zip(&self.members) {
            env.push((format!("{name}_EMAIL"), m.email.clone()));
            env.push((format!("{name}_PASSWORD"), m.password.clone()));
        }
        let urls: Vec<String> = (0..instances.len()).map(|n| c.instance_url(n)).collect();
        let pids: Vec<String> = instances
            .iter()
            .map(|p| {
                self.running(p)
                    .map(|pid| pid.to_string())
                    .unwrap_or_default()
            })
            .collect();
        env.push(("INSTANCE_URLS".into(), urls.join(",")));
        env.push(("INSTANCE_PIDS".into(), pids.join(",")));
        env
    }

    /// Whether any part runs.
    pub fn any_running(&self) -> bool {
        self.parts().iter().any(|p| self.running(p).is_some())
    }
}

/// `cargo xtask cluster up`: everything not running started, then provisioned.
pub fn up_command(instances: Option<usize>) -> Result<LocalCluster> {
    let stored = LocalCluster::load_or_create(None)?;
    if let Some(n) = instances.filter(|n| *n != stored.config.instance_ports.len())
        && stored.any_running()
    {
        return Err(format!(
            "the cluster runs with {} instances; `cargo xtask cluster down` first to run {n}",
            stored.config.instance_ports.len()
        ));
    }
    let cluster = LocalCluster::load_or_create(instances)?;
    let programs = super::programs()?;
    let report = cluster.up(&programs)?;
    report.print();
    let [alice, bob, _] = &cluster.members;
    eprintln!(
        "\nChat server (balancer): {url}\n    log in as {} / {}  or  {} / {}\n\
         Instances: {}\n(`cargo xtask cluster env` prints all of this.)",
        alice.email,
        alice.password,
        bob.email,
        bob.password,
        (0..cluster.config.instance_ports.len())
            .map(|n| cluster.config.instance_url(n))
            .collect::<Vec<_>>()
            .join(", "),
        url = cluster.config.url(),
    );
    Ok(cluster)
}

/// Spawn a part into a session of its own (it outlives `cargo xtask`), its output to `log`.
fn spawn_detached(mut cmd: Command, log: &Path) -> Result<Child> {
    let file = super::log_file(log)?;
    cmd.stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file);
    process::detach(&mut cmd);
    cmd.spawn()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cluster-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_one_instance_cluster_stays_one_and_its_ports_are_kept() {
        let dir = scratch("one");
        let made = LocalCluster::load_or_create_in(&dir, Some(1)).unwrap();
        let again = LocalCluster::load_or_create_in(&dir, None).unwrap();
        assert_eq!(again.config.instance_ports, made.config.instance_ports);
        assert_eq!(again.config.redis_password, made.config.redis_password);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_folder_is_kept_as_proc_shows_a_working_folder() {
        let dir = scratch("canonical");
        let roundabout = dir.join("sub").join("..");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let cluster = LocalCluster::load_or_create_in(&roundabout, None).unwrap();
        assert_eq!(cluster.config.dir, std::fs::canonicalize(&dir).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_closed_folder_above_is_said_before_postgresql_trips_on_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("closed");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = super::super::make_dir(&dir.join("cluster")).unwrap_err();
        assert!(err.contains("DIRECTUS_CLUSTER_DIR"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
