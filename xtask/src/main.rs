//! `cargo xtask ...`: the project's own automation (see README.md).

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use xtask::cluster::local::LocalCluster;
use xtask::process::run_status;
use xtask::provision::{self, Member};
use xtask::server::{self, Installation, ServerConfig};
use xtask::settings::Settings;
use xtask::web::WebTools;
use xtask::{Result, install, paths, process};

const USAGE: &str = "\
cargo xtask <command>

  run [--stop-after]      bring the local Directus up and open the desktop chat (with
                          --stop-after, Directus stops when the window closes)
  test                    install what is missing and run every test
  lint                    rustfmt --check and clippy -D warnings, native and wasm32
  bench [--smoke]         floor vs directus-chat vs @directus/sdk: latency, recovery, cost,
                          fan-out (prints a table, writes tests/artifacts/bench.json)
  bench cluster [--clients C] [--instances 1,2,3]
                          C clients of our session core in one process on a cluster of each
                          size: delivery latency to all, sustained rate, exactly-once, memory
                          per client, CPU (tests/artifacts/bench-cluster.json)
  bench web [--runs N] [--dist DIR]
                          our release page vs a reference page of the tutorial's shape in
                          headless Chromium: load, resume, login, live, bytes, memory (medians
                          of N runs, default 5; tests/artifacts/bench-web.json)
  web                     bring the local Directus up and serve the web build (trunk serve, :8080)
  web build               release web build into dist/ (prints the wasm size)
  web test                only the browser test (part of `test`)
  directus up             install, bootstrap, start (127.0.0.1:8055) and provision a local Directus
  directus down           stop it
  directus reset          stop it and wipe its database
  directus status         say whether it runs
  directus env            print DIRECTUS_URL, ADMIN_*, ALICE_*, BOB_*, CAROL_* as KEY=VALUE lines
  cluster up [--instances N]
                          PostgreSQL + Redis + N Directus instances (default 2) + HAProxy
                          (127.0.0.1:8060, CLUSTER_PORT moves it), from Debian's packages, under
                          .directus-cluster/; starts what is not running, provisions
  cluster down            stop every part of it
  cluster status          say which parts run
  cluster env             like `directus env` (DIRECTUS_URL = the balancer), plus INSTANCE_URLS
                          and INSTANCE_PIDS
  cluster run             `cluster up`, then open the desktop chat against the balancer
  directus provision [--url URL] [--admin-email E] [--admin-password P] [--user EMAIL:PASSWORD:FIRSTNAME]...
                          provision ANY reachable Directus for the chat (idempotent); the
                          options default to DIRECTUS_URL, ADMIN_EMAIL, ADMIN_PASSWORD

Environment: DIRECTUS_VERSION (default 11.17.4; 12.4.0 is pinned too), DIRECTUS_PORT (default 8055),
DIRECTUS_CHAT_CACHE (install cache, default .cache/ in the repository).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["run", rest @ ..] => run(rest),
        ["test", rest @ ..] => test(rest),
        ["lint"] => lint(),
        ["bench"] => bench(false),
        ["bench", "--smoke"] => bench(true),
        ["bench", "cluster", rest @ ..] => bench_cluster(rest),
        ["bench", "web", rest @ ..] => bench_web(rest),
        // The floor client the bench spawns (not for people).
        ["bench-floor-client", url, email] => xtask::bench::floor::run(
            url,
            email,
            &std::env::var("DIRECTUS_CHAT_PASSWORD").unwrap_or_default(),
        ),
        ["web"] => web_serve(),
        ["web", "test"] => xtask::page_runs::browser_test(),
        ["web", "build"] => WebTools::ensure()
            .and_then(|tools| xtask::web::build_release(&tools, &paths::repo_root().join("dist"))),
        ["directus", "up"] => up().map(|_| ()),
        ["directus", "down"] => down(),
        ["directus", "reset"] => reset(),
        ["directus", "status"] => status(),
        ["directus", "env"] => print_env(),
        ["directus", "provision", rest @ ..] => provision_cmd(rest),
        ["cluster", "up"] => xtask::cluster::local::up_command(None).map(|_| ()),
        ["cluster", "up", "--instances", n] => match n.parse::<usize>() {
            Ok(n) if (1..=16).contains(&n) => {
                xtask::cluster::local::up_command(Some(n)).map(|_| ())
            }
            _ => Err(format!("--instances takes 1 to 16, not {n:?}")),
        },
        ["cluster", "down"] => LocalCluster::load_or_create(None).map(|c| c.down()),
        ["cluster", "status"] => LocalCluster::load_or_create(None).map(|c| {
            for line in c.status() {
                println!("{line}");
            }
        }),
        ["cluster", "env"] => LocalCluster::load_or_create(None).map(|c| {
            for (key, value) in c.env() {
                println!("{key}={value}");
            }
        }),
        ["cluster", "run", rest @ ..] => match xtask::display::missing() {
            Some(why) => Err(why),
            None => xtask::cluster::local::up_command(None)
                .and_then(|c| open_window(&c.config.url(), rest)),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The local server's settings and secrets, made once and kept (owner-only) in its folder.
struct Local {
    config: ServerConfig,
    alice: Member,
    bob: Member,
    carol: Member,
}

impl Local {
    fn credentials_path() -> PathBuf {
        paths::local_server_dir().join("credentials.env")
    }

    fn load_or_create() -> Result<Local> {
        let dir = paths::local_server_dir();
        server::private_dir(&dir)?;
        let mut stored = Settings::read(&Self::credentials_path());
        let token = |n| server::random_token(n);
        let port = std::env::var("DIRECTUS_PORT")
            .ok()
            .filter(|p| !p.is_empty());
        let port_value = stored.get("PORT", &port.clone().unwrap_or_else(|| "8055".into()));
        let port_value = port.unwrap_or(port_value);
        let config = ServerConfig {
            dir: dir.clone(),
            port: port_value
                .parse()
                .map_err(|_| format!("bad port {port_value:?}"))?,
            version: stored.get("DIRECTUS_VERSION", &install::selected_version()),
            admin_email: stored.get("ADMIN_EMAIL", "admin@example.com"),
            admin_password: stored.get("ADMIN_PASSWORD", &token(12)),
            key: stored.get("KEY", &token(16)),
            secret: stored.get("SECRET", &token(32)),
            extra: vec![],
        };
        let mut member = |name: &str, first: &str| Member {
            email: stored.get(
                &format!("{name}_EMAIL"),
                &format!("{}@example.com", first.to_lowercase()),
            ),
            password: stored.get(&format!("{name}_PASSWORD"), &token(8)),
            first_name: first.into(),
        };
        let (alice, bob, carol) = (
            member("ALICE", "Alice"),
            member("BOB", "Bob"),
            member("CAROL", "Carol"),
        );
        stored.write()?;
        Ok(Local {
            config,
            alice,
            bob,
            carol,
        })
    }

    fn pid_path(&self) -> PathBuf {
        self.config.dir.join("directus.pid")
    }

    /// The PID of our running server: the pid file's process, if it runs from our folder
    /// (a PID can be reused by an unrelated process after a reboot).
    fn running_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_path())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
        (process::is_alive(pid) && cwd == self.config.dir).then_some(pid)
    }
}

fn up() -> Result<Local> {
    let local = Local::load_or_create()?;
    let config = &local.config;
    if std::env::var("DIRECTUS_VERSION").is_ok_and(|v| !v.is_empty() && v != config.version) {
        return Err(format!(
            "the local database was made by Directus {}; run `cargo xtask directus reset` first to switch",
            config.version
        ));
    }
    if local.running_pid().is_some() && server::ping(&config.url()) {
        eprintln!("Directus is already running at {}", config.url());
    } else {
        let install = Installation::ensure(&config.version)?;
        install.bootstrap(config)?;
        let child = install.start(config, true)?;
        std::fs::write(local.pid_path(), child.id().to_string()).map_err(|e| e.to_string())?;
        eprintln!(
            "Directus {} started at {} (log: {})",
            config.version,
            config.url(),
            config.log_path().display()
        );
    }
    let report = provision::provision_demo(
        &config.url(),
        &config.admin_email,
        &config.admin_password,
        [&local.alice, &local.bob, &local.carol],
    )?;
    report.print();
    eprintln!(
        "\nChat server:  {url}\n              log in as {} / {}  or  {} / {}  or  {} / {}\n\
         Admin app:    {url}/admin\n              log in as {} / {}\n\
         (`cargo xtask directus env` prints all of this.)",
        local.alice.email,
        local.alice.password,
        local.bob.email,
        local.bob.password,
        local.carol.email,
        local.carol.password,
        config.admin_email,
        config.admin_password,
        url = config.url(),
    );
    Ok(local)
}

fn down() -> Result<()> {
    let local = Local::load_or_create()?;
    match local.running_pid() {
        Some(pid) => {
            process::terminate(pid, Duration::from_secs(10));
            eprintln!("Directus (pid {pid}) stopped");
        }
        None => eprintln!("Directus is not running"),
    }
    let _ = std::fs::remove_file(local.pid_path());
    Ok(())
}

fn reset() -> Result<()> {
    down()?;
    let dir = paths::local_server_dir();
    for name in ["data.db", "uploads", "directus.env"] {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
    }
    // A reset may switch versions: forget the recorded one, keep the passwords.
    let creds = Local::credentials_path();
    if let Ok(text) = std::fs::read_to_string(&creds) {
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with("DIRECTUS_VERSION="))
            .map(|l| format!("{l}\n"))
            .collect();
        server::write_private(&creds, &kept)?;
    }
    eprintln!("local Directus database wiped; `cargo xtask directus up` makes a fresh one");
    Ok(())
}

fn status() -> Result<()> {
    let local = Local::load_or_create()?;
    match local.running_pid() {
        Some(pid) if server::ping(&local.config.url()) => {
            println!(
                "running: Directus {} at {} (pid {pid})",
                local.config.version,
                local.config.url()
            )
        }
        Some(pid) => println!(
            "starting or unhealthy: pid {pid}, {} does not answer",
            local.config.url()
        ),
        None => println!("not running"),
    }
    Ok(())
}

fn print_env() -> Result<()> {
    let l = Local::load_or_create()?;
    println!("DIRECTUS_URL={}", l.config.url());
    println!("ADMIN_EMAIL={}", l.config.admin_email);
    println!("ADMIN_PASSWORD={}", l.config.admin_password);
    println!("ALICE_EMAIL={}", l.alice.email);
    println!("ALICE_PASSWORD={}", l.alice.password);
    println!("BOB_EMAIL={}", l.bob.email);
    println!("BOB_PASSWORD={}", l.bob.password);
    println!("CAROL_EMAIL={}", l.carol.email);
    println!("CAROL_PASSWORD={}", l.carol.password);
    Ok(())
}

fn provision_cmd(args: &[&str]) -> Result<()> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (mut url, mut email, mut password) = (
        env("DIRECTUS_URL"),
        env("ADMIN_EMAIL"),
        env("ADMIN_PASSWORD"),
    );
    let mut members = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .map(|v| v.to_string())
                .ok_or(format!("{flag} needs a value"))
        };
        match *flag {
            "--url" => url = Some(value()?),
            "--admin-email" => email = Some(value()?),
            "--admin-password" => password = Some(value()?),
            "--user" => members.push(value()?.parse::<Member>()?),
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    let missing = |what| format!("{what} is missing (option or environment variable)");
    let url = url.ok_or_else(|| missing("--url / DIRECTUS_URL"))?;
    let email = email.ok_or_else(|| missing("--admin-email / ADMIN_EMAIL"))?;
    let password = password.ok_or_else(|| missing("--admin-password / ADMIN_PASSWORD"))?;
    let report = provision::provision(&url, &email, &password, &members)?;
    report.print();
    Ok(())
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(paths::repo_root());
    cmd
}

fn run(rest: &[&str]) -> Result<()> {
    let stop_after = rest.contains(&"--stop-after");
    let rest: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|a| *a != "--stop-after")
        .collect();
    // Said before anything is installed or started: a window cannot open here.
    if let Some(why) = xtask::display::missing() {
        return Err(why);
    }
    let local = up()?;
    let url = local.config.url();
    let result = open_window(&url, &rest);
    if stop_after {
        eprintln!("The window is closed: stopping Directus.");
        down()?;
    } else {
        eprintln!(
            "The window is closed; Directus keeps running at {url} (the admin app too).\n\
             Stop it with `cargo xtask directus down`, or start with `cargo xtask run \
             --stop-after` next time."
        );
    }
    result
}

/// Build the release app and open its window on `url` (the extra arguments passed on).
fn open_window(url: &str, rest: &[&str]) -> Result<()> {
    if let Some(why) = xtask::display::missing() {
        return Err(why);
    }
    eprintln!("\nBuilding the app (the first time takes about 2 minutes)…");
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "--quiet",
        "--package",
        "directus-chat",
        "--bin",
        "directus-chat",
    ]);
    run_status(build)?;
    eprintln!("Opening the chat window for {url}");
    let mut app = Command::new(target_dir().join("release/directus-chat"));
    app.arg("--server").arg(url).args(rest);
    run_status(app)
}

/// `cargo bench --bench cluster_load` with the options passed on (see benches/cluster_load.rs).
fn bench_cluster(rest: &[&str]) -> Result<()> {
    let mut it = rest.iter();
    let mut args = vec!["bench", "--bench", "cluster_load", "--"];
    while let Some(flag) = it.next() {
        match (*flag, it.next()) {
            ("--clients" | "--instances", Some(value)) => args.extend([*flag, *value]),
            _ => {
                return Err(format!(
                    "bench cluster takes --clients C and --instances LIST\n\n{USAGE}"
                ));
            }
        }
    }
    let mut cmd = cargo();
    cmd.args(args);
    run_status(cmd)
}

/// The package of the one test that renders pixels (tests/screenshot).
const SCREENSHOT: &str = "directus-chat-screenshot";

fn test(rest: &[&str]) -> Result<()> {
    // Install once, before parallel test binaries would all ask for it.
    let started = std::time::Instant::now();
    for version in [install::DEFAULT_DIRECTUS_VERSION, "12.4.0"] {
        Installation::ensure(version)?;
    }
    // The cluster tests' PostgreSQL, Redis and HAProxy (they say SKIPPED where this fails).
    if let Err(why) = xtask::cluster::programs() {
        eprintln!("xtask: no cluster on this machine, its tests will be skipped: {why}");
    }
    eprintln!("xtask: installs ready in {:.0?}", started.elapsed());
    let mut cmd = cargo();
    let faults = paths::repo_root().join("tests/artifacts/faults.txt");
    let _ = std::fs::remove_file(&faults);
    // The screenshot test alone builds with wgpu (its own package; see below).
    cmd.args([
        "test",
        "--workspace",
        "--exclude",
        SCREENSHOT,
        "--all-targets",
    ])
    .args(rest);
    run_status(cmd)?;
    // Arguments pick tests of the workspace's own (`--test files`): the screenshot runs with
    // the whole suite. Rendered on the CPU by Mesa's Vulkan (lavapipe).
    if rest.is_empty() {
        let driver = format!(
            "/usr/share/vulkan/icd.d/lvp_icd.{}.json",
            std::env::consts::ARCH
        );
        xtask::debian::ensure(&[(&driver, "mesa-vulkan-drivers")], "the screenshot test")?;
        let mut shot = cargo();
        shot.args(["test", "-p", SCREENSHOT]);
        run_status(shot)?;
    }
    if let Ok(rows) = std::fs::read_to_string(&faults) {
        eprintln!(
            "\nFault suite (tests/faults.rs):\n| scenario | faults injected | messages sent | lost | duplicated | anonymous | printed out of id order |\n|---|---|---|---|---|---|---|\n{rows}"
        );
    }
    bench_smoke()?;
    xtask::page_runs::browser_test()?;
    // The web bench, once: it cannot pass without every measure of both pages.
    xtask::page_runs::bench(&xtask::page_runs::WebBench {
        runs: 1,
        dist: Some(paths::repo_root().join("dist")), // as the browser test built it
    })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::repo_root().join("target"))
}

/// The full comparison, on the release build.
fn bench(smoke: bool) -> Result<()> {
    if smoke {
        let mut build = cargo();
        build.args([
            "build",
            "--package",
            "directus-chat",
            "--bin",
            "directus-chat",
        ]);
        run_status(build)?;
        return bench_smoke();
    }
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "--package",
        "directus-chat",
        "--bin",
        "directus-chat",
    ]);
    run_status(build)?;
    let programs = xtask::bench::Programs::ensure(target_dir().join("release/directus-chat"))?;
    let report = xtask::bench::run(&programs, &xtask::bench::Plan::full(), false)?;
    let json = paths::repo_root().join("tests/artifacts/bench.json");
    xtask::bench::write_json(&report, &json)?;
    println!("{}", xtask::bench::table(&report));
    println!("(JSON: {})", json.display());
    Ok(())
}

/// A few messages of each measure (debug build, as `cargo test` left it): the bench cannot
/// rot, and every row must show nothing lost for our client.
fn bench_smoke() -> Result<()> {
    let programs = xtask::bench::Programs::ensure(target_dir().join("debug/directus-chat"))?;
    let report = xtask::bench::run(&programs, &xtask::bench::Plan::smoke(), true)?;
    let json = paths::repo_root().join("tests/artifacts/bench-smoke.json");
    xtask::bench::write_json(&report, &json)?;
    eprintln!(
        "\nBench smoke (cargo xtask bench for the real figures):\n{}",
        xtask::bench::table(&report)
    );
    xtask::bench::check_smoke(&report)
}

/// `cargo xtask bench web [--runs N] [--dist DIR]`.
fn bench_web(rest: &[&str]) -> Result<()> {
    let mut plan = xtask::page_runs::WebBench {
        runs: 5,
        dist: None,
    };
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match (*arg, args.next()) {
            ("--runs", Some(n)) => {
                plan.runs = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=50).contains(n))
                    .ok_or_else(|| format!("--runs takes 1 to 50, not {n:?}"))?;
            }
            ("--dist", Some(dir)) => plan.dist = Some(PathBuf::from(dir)),
            _ => {
                return Err(format!(
                    "bench web takes --runs N and --dist DIR\n\n{USAGE}"
                ));
            }
        }
    }
    xtask::page_runs::bench(&plan)
}

fn web_serve() -> Result<()> {
    up()?;
    let tools = WebTools::ensure()?;
    eprintln!(
        "Serving the web build at http://127.0.0.1:8080 (proxying /websocket and /auth to Directus)"
    );
    let mut cmd = tools.trunk();
    cmd.args(["serve", "index.html"]);
    run_status(cmd)
}

fn lint() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run_status(fmt)?;
    let mut native = cargo();
    native.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run_status(native)?;
    xtask::web::ensure_wasm_target()?;
    let mut web = cargo();
    web.args([
        "clippy",
        "--package",
        "directus-chat",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]);
    run_status(web)
}
