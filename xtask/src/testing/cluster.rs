//! A Directus cluster of a test's own (PostgreSQL, Redis, instances, HAProxy; see
//! `crate::cluster`), provisioned through the balancer like `TestDirectus`. Every process is
//! spawned from the keeper thread with PR_SET_PDEATHSIG, so none outlives the test binary.

use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Duration;

use super::{Deployment, fresh_dir, installation, member, on_keeper};
use crate::cluster::{self, ClusterConfig, Programs};
use crate::process;
use crate::provision::{self, Member, Report};
use crate::server::{self, Installation};

pub struct TestCluster {
    pub config: ClusterConfig,
    pub alice: Member,
    pub bob: Member,
    pub carol: Member,
    pub report: Report,
    programs: Programs,
    install: &'static Installation,
    postgres: Mutex<Option<Child>>,
    redis: Mutex<Option<Child>>,
    balancer: Mutex<Option<Child>>,
    instances: Vec<Mutex<Option<Child>>>,
}

/// Spawn `cmd` on the keeper thread, tied to the test binary's life, its output into `log`.
fn spawn(mut cmd: Command, log: std::path::PathBuf) -> Child {
    on_keeper(move || {
        let file = cluster::log_file(&log).expect("log file");
        cmd.stdout(file.try_clone().expect("log file")).stderr(file);
        process::die_with_parent(&mut cmd);
        cmd.spawn()
    })
    .unwrap_or_else(|e| panic!("spawn: {e}"))
}

fn stop(child: &Mutex<Option<Child>>, signal: i32) {
    if let Some(mut child) = child.lock().unwrap().take() {
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let _ = child.wait();
    }
}

impl TestCluster {
    /// A provisioned cluster of `instances`, or why there cannot be one on this machine (the
    /// packages missing and no root to install them): the test says so and skips.
    pub fn start(instances: usize, extra: &[(&str, &str)]) -> Result<TestCluster, String> {
        let programs = cluster::programs()?;
        let version = crate::install::selected_version();
        let mut config = ClusterConfig::new(&fresh_dir(), &version, instances);
        config.extra = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // PostgreSQL's own user must pass through the tests' folder too (enter, not list).
        if let Some(root) = config.dir.parent() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(root).map_err(|e| e.to_string())?;
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711))
                .map_err(|e| e.to_string())?;
        }
        cluster::make_dir(&config.dir)?;
        let install = installation(&version);
        let cluster = TestCluster {
            alice: member("alice@example.com", "Alice"),
            bob: member("bob@example.com", "Bob"),
            carol: member("carol@example.com", "Carol"),
            report: Report::default(),
            install,
            postgres: Mutex::new(None),
            redis: Mutex::new(None),
            balancer: Mutex::new(None),
            instances: (0..instances).map(|_| Mutex::new(None)).collect(),
            programs,
            config,
        };
        // From here on, a failure is the cluster's, not the machine's: the test fails.
        let fail = |e: String| -> ! { panic!("cluster: {e}") };
        let postgres = cluster.config.postgres(&cluster.programs);
        postgres.init().unwrap_or_else(|e| fail(e));
        cluster.start_postgres();
        postgres
            .prepare(&cluster.config.db_password)
            .unwrap_or_else(|e| fail(e));
        cluster.start_redis();
        install
            .bootstrap(&cluster.config.instance(0))
            .unwrap_or_else(|e| fail(e));
        for n in 0..instances {
            cluster.restart_instance(n);
        }
        let balancer = cluster
            .config
            .balancer(&cluster.programs)
            .command()
            .unwrap_or_else(|e| fail(e));
        *cluster.balancer.lock().unwrap() = Some(spawn(balancer, cluster.config.log("haproxy")));
        server::wait_ready(&cluster.config.url(), Duration::from_secs(30), || true)
            .unwrap_or_else(|e| fail(e));
        let mut cluster = cluster;
        cluster.report = provision::provision_demo(
            &cluster.config.url(),
            &cluster.config.admin_email,
            &cluster.config.admin_password,
            [&cluster.alice, &cluster.bob, &cluster.carol],
        )
        .unwrap_or_else(|e| fail(e));
        Ok(cluster)
    }

    /// The balancer's address.
    pub fn url(&self) -> String {
        self.config.url()
    }

    pub fn instance_url(&self, n: usize) -> String {
        self.config.instance_url(n)
    }

    /// The PIDs of the instances, Redis and PostgreSQL's postmaster (its backends are its
    /// children), for the load bench's CPU figures.
    pub fn pids(&self) -> (Vec<u32>, Option<u32>, Option<u32>) {
        let pid = |child: &Mutex<Option<Child>>| child.lock().unwrap().as_ref().map(Child::id);
        (
            self.instances.iter().filter_map(pid).collect(),
            pid(&self.redis),
            pid(&self.postgres),
        )
    }

    /// SIGKILL instance `n` (a crash).
    pub fn kill_instance(&self, n: usize) {
        stop(&self.instances[n], libc::SIGKILL);
    }

    /// (Re)start instance `n` on its port; returns once it answers.
    pub fn restart_instance(&self, n: usize) {
        stop(&self.instances[n], libc::SIGTERM);
        let (install, config) = (self.install, self.config.instance(n));
        let child =
            on_keeper(move || install.start(&config, false)).unwrap_or_else(|e| panic!("{e}"));
        *self.instances[n].lock().unwrap() = Some(child);
    }

    fn start_postgres(&self) {
        let cmd = self
            .config
            .postgres(&self.programs)
            .command()
            .unwrap_or_else(|e| panic!("{e}"));
        *self.postgres.lock().unwrap() = Some(spawn(cmd, self.config.log("postgres")));
    }

    fn start_redis(&self) {
        let c = &self.config;
        let cmd = cluster::redis::command(
            &self.programs.redis,
            c.redis_port,
            &c.redis_password,
            &c.dir,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        *self.redis.lock().unwrap() = Some(spawn(cmd, self.config.log("redis")));
        cluster::wait_listening(self.config.redis_port, Duration::from_secs(10), "Redis")
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stop Redis (SIGTERM), wait `down`, start it again.
    pub fn restart_redis(&self, down: Duration) {
        stop(&self.redis, libc::SIGTERM);
        std::thread::sleep(down);
        self.start_redis();
    }

    /// Stop PostgreSQL (fast shutdown: SIGINT), wait `down`, start it again; returns once it
    /// takes queries.
    pub fn restart_postgres(&self, down: Duration) {
        stop(&self.postgres, libc::SIGINT);
        std::thread::sleep(down);
        self.start_postgres();
        self.config
            .postgres(&self.programs)
            .wait_ready()
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Deployment for TestCluster {
    fn alice(&self) -> &Member {
        &self.alice
    }
    fn bob(&self) -> &Member {
        &self.bob
    }
    fn admin(&self) -> crate::rest::Rest {
        crate::rest::Rest::login(
            &self.url(),
            &self.config.admin_email,
            &self.config.admin_password,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        stop(&self.balancer, libc::SIGTERM);
        for instance in &self.instances {
            stop(instance, libc::SIGTERM);
        }
        stop(&self.redis, libc::SIGTERM);
        stop(&self.postgres, libc::SIGINT);
    }
}
