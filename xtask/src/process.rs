//! Child processes by PID: started in their own session (`up`) or tied to our life (tests).

use std::process::Command;
use std::time::{Duration, Instant};

/// Make the child die with the thread that spawned it (tests: no leftover server even when the
/// test binary panics or is killed). The caller must spawn from a thread that lives as long as
/// the process, because Linux sends the signal when the spawning *thread* ends.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl and getppid are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Detach the child into a session of its own so it outlives `cargo xtask directus up`.
pub fn detach(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

pub fn is_alive(pid: u32) -> bool {
    // A zombie still answers kill(0); /proc tells them apart.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// SIGTERM, then SIGKILL after `grace`. Returns once the process is gone.
pub fn terminate(pid: u32, grace: Duration) {
    terminate_with(pid, libc::SIGTERM, grace);
}

/// `first`, then SIGKILL after `grace`. Returns once the process is gone.
pub fn terminate_with(pid: u32, first: i32, grace: Duration) {
    let signal = |sig| unsafe { libc::kill(pid as libc::pid_t, sig) };
    signal(first);
    let deadline = Instant::now() + grace;
    while is_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if is_alive(pid) {
        signal(libc::SIGKILL);
        while is_alive(pid) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs `cmd` to its end. Errors name the program and arguments only: the environment may
/// hold passwords (the browser test passes the test accounts that way).
pub fn run_status(mut cmd: Command) -> crate::Result<()> {
    let shown = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let status = cmd.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}
