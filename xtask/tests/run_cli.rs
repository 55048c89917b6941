//! `cargo xtask run` on a machine without a display says so before installing or starting
//! anything, and points to the browser and headless ways.

#![cfg(target_os = "linux")]

use std::process::Command;

#[test]
fn run_without_a_display_says_so_before_starting_directus() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("run")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("there is no display"), "{stderr}");
    assert!(stderr.contains("cargo xtask web") && stderr.contains("--headless"));
    assert!(
        !stderr.contains("started at"),
        "nothing was started: {stderr}"
    );
}
