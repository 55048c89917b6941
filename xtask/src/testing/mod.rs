//! Test support: a freshly provisioned Directus on a free port with a temporary database.
//!
//! Servers are spawned from one keeper thread that lives as long as the test binary, with
//! PR_SET_PDEATHSIG: when the binary ends (normally, by panic, or killed) the kernel kills
//! Directus too, so no test leaves a server behind.

use std::path::PathBuf;
use std::process::Child;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub mod cluster;
pub mod ws;

use crate::install;
use crate::process;
use crate::provision::{self, Member, Report};
use crate::server::{self, Installation, ServerConfig};

pub struct TestDirectus {
    pub config: ServerConfig,
    pub alice: Member,
    pub bob: Member,
    /// In `general` only (not in `design`, nor in the Alice-Bob DM).
    pub carol: Member,
    pub report: Report,
    child: Mutex<Option<Child>>,
    install: &'static Installation,
}

type Job = Box<dyn FnOnce() + Send>;

/// Run `job` on the keeper thread (see the module comment) and wait for its result.
pub(crate) fn on_keeper<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("directus-keeper".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
                // The sender lives in a static, so this loop never ends before the process.
            })
            .expect("spawn keeper thread");
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    keeper
        .lock()
        .unwrap()
        .send(Box::new(move || {
            let _ = tx.send(job());
        }))
        .expect("keeper thread alive");
    rx.recv().expect("keeper thread answers")
}

pub(crate) fn installation(version: &str) -> &'static Installation {
    static INSTALLS: Mutex<Vec<(String, &'static Installation)>> = Mutex::new(Vec::new());
    let mut installs = INSTALLS.lock().unwrap();
    if let Some((_, found)) = installs.iter().find(|(v, _)| v == version) {
        return found;
    }
    let made = Installation::ensure(version).unwrap_or_else(|e| panic!("install Directus: {e}"));
    let made: &'static Installation = Box::leak(Box::new(made));
    installs.push((version.to_owned(), made));
    made
}

/// Temporary server folders live under one root; folders of test runs that died are removed.
pub(crate) fn fresh_dir() -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let root = std::env::temp_dir().join("directus-chat-tests");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let owner = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
            if owner.is_some_and(|pid| pid != std::process::id() && !process::is_alive(pid)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    root.join(format!("{}-{n}", std::process::id()))
}

/// A provisioned chat deployment a test talks to: one Directus, or a cluster.
pub trait Deployment: Sync {
    fn alice(&self) -> &Member;
    fn bob(&self) -> &Member;
    /// REST as the admin (reading back what was stored).
    fn admin(&self) -> crate::rest::Rest;
}

impl Deployment for TestDirectus {
    fn alice(&self) -> &Member {
        &self.alice
    }
    fn bob(&self) -> &Member {
        &self.bob
    }
    fn admin(&self) -> crate::rest::Rest {
        TestDirectus::admin(self)
    }
}

impl TestDirectus {
    /// One server per test binary, on the Directus version `DIRECTUS_VERSION` selects.
    pub fn shared() -> &'static TestDirectus {
        static SHARED: OnceLock<TestDirectus> = OnceLock::new();
        SHARED.get_or_init(|| Self::start(&install::selected_version(), &[]))
    }

    /// A server of the test's own (for tests that stop, restart or reconfigure it).
    pub fn start(version: &str, extra: &[(&str, &str)]) -> TestDirectus {
        let install = installation(version);
        let config = ServerConfig {
            dir: fresh_dir(),
            port: server::free_port(),
            version: version.to_owned(),
            admin_email: "admin@example.com".into(),
            admin_password: server::random_token(12),
            key: server::random_token(16),
            secret: server::random_token(32),
            // Directus sheds requests with 503 "Under pressure" when its event loop lags: on
            // this 2-core box, with test binaries and builds running beside it, that refused a
            // test's provisioning once. Tests are not about load shedding (a test may still
            // turn it back on).
            extra: std::iter::once(("PRESSURE_LIMITER_ENABLED", "false"))
                .chain(extra.iter().copied())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        install.bootstrap(&config).unwrap_or_else(|e| panic!("{e}"));
        let alice = member("alice@example.com", "Alice");
        let bob = member("bob@example.com", "Bob");
        let carol = member("carol@example.com", "Carol");
        let mut server = TestDirectus {
            config,
            alice,
            bob,
            carol,
            report: Report::default(),
            child: Mutex::new(None),
            install,
        };
        server.restart();
        server.report = provision::provision_demo(
            &server.url(),
            &server.config.admin_email,
            &server.config.admin_password,
            [&server.alice, &server.bob, &server.carol],
        )
        .unwrap_or_else(|e| panic!("provision: {e}"));
        server
    }

    pub fn url(&self) -> String {
        self.config.url()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/websocket", self.config.port)
    }

    /// Restart with other settings (e.g. the rate limiter on, after provisioning without it).
    pub fn restart_with(&mut self, extra: &[(&str, &str)]) {
        self.stop();
        for (key, value) in extra {
            self.config.extra.retain(|(k, _)| k != key);
            self.config.extra.push((key.to_string(), value.to_string()));
        }
        self.restart();
    }

    /// Stop Directus gracefully (SIGTERM; what an operator's restart does).
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            process::terminate(child.id(), Duration::from_secs(10));
            let _ = child.wait();
        }
    }

    /// Kill Directus without warning (SIGKILL: a crash).
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)start on the same port and database; returns once it answers.
    pub fn restart(&self) {
        self.stop();
        let install = self.install;
        let config = self.config.clone();
        let child =
            on_keeper(move || install.start(&config, false)).unwrap_or_else(|e| panic!("{e}"));
        *self.child.lock().unwrap() = Some(child);
    }

    /// REST as the admin (reading back what was stored, changing the server's settings).
    pub fn admin(&self) -> crate::rest::Rest {
        crate::rest::Rest::login(
            &self.url(),
            &self.config.admin_email,
            &self.config.admin_password,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// REST as a member, as a member calling Directus directly would.
    pub fn as_member(&self, member: &Member) -> crate::rest::Rest {
        crate::rest::Rest::login(&self.url(), &member.email, &member.password)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// One more chat member (a newcomer who never posted), provisioned as Alice and Bob are.
    pub fn add_member(&self, email: &str, first_name: &str) -> Member {
        let newcomer = member(email, first_name);
        let mut report = Report::default();
        provision::ensure_member(
            &self.admin(),
            &self.report.policy_id,
            &self.report.general,
            &newcomer,
            &mut report,
        )
        .unwrap_or_else(|e| panic!("add {email}: {e}"));
        newcomer
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }
}

impl Drop for TestDirectus {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.config.dir);
    }
}

pub(crate) fn member(email: &str, first_name: &str) -> Member {
    Member {
        email: email.into(),
        password: server::random_token(10),
        first_name: first_name.into(),
    }
}
