//! Scripts that drive headless Chromium (tests/web/*.mjs) against a fresh Directus which
//! accepts only the origins of the pages they serve (CORS_ORIGIN), as in production: the
//! browser test and the web bench.

use std::path::PathBuf;
use std::process::Command;

use crate::testing::TestDirectus;
use crate::web::{self, WebTools};
use crate::{Result, install, paths, process, server};

/// The release web build in Chromium: every check of tests/web/browser.mjs. Beside it runs
/// `trunk serve`, the development loop of `cargo xtask web`, whose proxies the test logs in
/// through.
pub fn browser_test() -> Result<()> {
    let tools = WebTools::ensure()?;
    let dist = paths::repo_root().join("dist");
    web::build_release(&tools, &dist)?;
    let page_port = server::free_port();
    let mut dev = None;
    run(&tools, "browser.mjs", &[page_port], |cmd, directus| {
        let server = DevServer::start(&tools, directus)?;
        cmd.env("DIST", &dist)
            .env("PAGE_PORT", page_port.to_string())
            .env("DEV_URL", &server.url)
            .env("DEV_LOG", &server.log);
        dev = Some(server);
        Ok(())
    })
}

/// `trunk serve` on a free port with the repository's Trunk.toml, its proxies pointed at the
/// test's Directus instead of the local one (127.0.0.1:8055): the same entries a developer
/// uses, only the ports moved. Stopped when dropped.
struct DevServer {
    pid: u32,
    url: String,
    log: PathBuf,
    dir: PathBuf,
}

impl DevServer {
    fn start(tools: &WebTools, directus: &str) -> Result<DevServer> {
        let root = paths::repo_root();
        let port = server::free_port();
        // Owner-only: the Trunk.toml written there decides what trunk runs.
        let dir = crate::testing::fresh_dir();
        server::private_dir(&dir)?;
        let config = std::fs::read_to_string(root.join("Trunk.toml")).map_err(|e| e.to_string())?;
        let moved = |from: &str, to: String| -> Result<String> {
            if config.contains(from) {
                Ok(to)
            } else {
                Err(format!("Trunk.toml no longer has {from}"))
            }
        };
        let directus_host = directus.trim_start_matches("http://");
        let mut config = config.clone();
        for (from, to) in [
            (
                "target = \"index.html\"",
                format!("target = {:?}", root.join("index.html")),
            ),
            ("dist = \"dist\"", format!("dist = {:?}", dir.join("dist"))),
            ("port = 8080", format!("port = {port}")),
        ] {
            let to = moved(from, to)?;
            config = config.replace(from, &to);
        }
        // Both proxies (/websocket and /auth/) must move, or one would reach a developer's
        // own Directus.
        if config.matches("127.0.0.1:8055").count() != 2 {
            return Err("Trunk.toml no longer proxies exactly two paths to 127.0.0.1:8055".into());
        }
        config = config.replace("127.0.0.1:8055", directus_host);
        // trunk watches the repository: what the tests write there must not start rebuilds.
        config.push_str(&format!(
            "\n[watch]\nignore = [{:?}, {:?}]\n",
            root.join("tests"),
            root.join("dist")
        ));
        let file = dir.join("Trunk.toml");
        std::fs::write(&file, config).map_err(|e| e.to_string())?;
        let log = dir.join("trunk-serve.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        // Built first, so the browser checks never share the two cores with a debug build.
        let mut build = tools.trunk();
        build.arg("--config").arg(&file).arg("build");
        process::run_status(build)?;
        let mut cmd = tools.trunk();
        cmd.arg("--config")
            .arg(&file)
            .args(["serve", "--no-autoreload"])
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out);
        // Its own process group: a rebuild's cargo and wasm-bindgen go with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        process::die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(|e| format!("trunk serve: {e}"))?;
        Ok(DevServer {
            pid: child.id(),
            url: format!("http://127.0.0.1:{port}/"),
            log,
            dir,
        })
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        // SAFETY: kill(2) of the group this child leads.
        unsafe { libc::kill(-(self.pid as libc::pid_t), libc::SIGTERM) };
        process::terminate(self.pid, std::time::Duration::from_secs(5));
        // Whatever of a rebuild outlived trunk (its unreaped pid keeps the group's id ours).
        unsafe { libc::kill(-(self.pid as libc::pid_t), libc::SIGKILL) };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How `cargo xtask bench web` runs.
pub struct WebBench {
    /// Runs of each measure; the table shows medians.
    pub runs: u32,
    /// An existing build to measure instead of building dist/ afresh.
    pub dist: Option<PathBuf>,
}

/// Our release page against the reference page of the tutorial's shape
/// (tests/web/reference/), in one run: tests/web/bench.mjs prints the table and writes
/// tests/artifacts/bench-web.json.
pub fn bench(plan: &WebBench) -> Result<()> {
    let tools = WebTools::ensure()?;
    let dist = match &plan.dist {
        Some(dist) => dist.clone(),
        None => {
            let dist = paths::repo_root().join("dist");
            web::build_release(&tools, &dist)?;
            dist
        }
    };
    let (page_port, reference_port) = (server::free_port(), server::free_port());
    let json = paths::repo_root().join("tests/artifacts/bench-web.json");
    run(
        &tools,
        "bench.mjs",
        &[page_port, reference_port],
        |cmd, _| {
            cmd.env("DIST", &dist)
                .env("PAGE_PORT", page_port.to_string())
                .env("REFERENCE", paths::repo_root().join("tests/web/reference"))
                .env("REFERENCE_PORT", reference_port.to_string())
                .env("RUNS", plan.runs.to_string())
                .env("OUT", &json);
            Ok(())
        },
    )
}

/// `node tests/web/<script>` with Directus, its members and the tools in the environment.
fn run(
    tools: &WebTools,
    script: &str,
    page_ports: &[u16],
    configure: impl FnOnce(&mut Command, &str) -> Result<()>,
) -> Result<()> {
    let origins: Vec<String> = page_ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect();
    let origins = origins.join(",");
    let server = TestDirectus::start(
        &install::selected_version(),
        &[("CORS_ENABLED", "true"), ("CORS_ORIGIN", origins.as_str())],
    );
    let artifacts = artifacts_dir()?;
    let mut cmd = Command::new(tools.node.node());
    cmd.arg(paths::repo_root().join("tests/web").join(script))
        .env("DIRECTUS_URL", server.url())
        .env("ADMIN_EMAIL", &server.config.admin_email)
        .env("ADMIN_PASSWORD", &server.config.admin_password)
        .env("ALICE_EMAIL", &server.alice.email)
        .env("ALICE_PASSWORD", &server.alice.password)
        .env("BOB_EMAIL", &server.bob.email)
        .env("BOB_PASSWORD", &server.bob.password)
        .env("WEB_TOOLS", &tools.node_modules)
        .env("CHROMIUM", &tools.chromium)
        .env("ARTIFACTS", &artifacts);
    configure(&mut cmd, &server.url())?;
    process::run_status(cmd)
}

fn artifacts_dir() -> Result<PathBuf> {
    let artifacts = paths::repo_root().join("tests/web/artifacts");
    std::fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;
    Ok(artifacts)
}
