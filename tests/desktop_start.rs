//! Starting the desktop app: without a display it says so in words (not winit's error), and
//! the window keeps its size and place in the session's own data folder.

#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::{Duration, Instant};

use directus_chat::edge::store::SessionStore;

#[test]
fn without_a_display_the_app_says_so_and_points_to_the_browser_and_headless() {
    let data = std::env::temp_dir().join(format!("dc-no-display-{}", std::process::id()));
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_directus-chat"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("DIRECTUS_CHAT_DATA_DIR", &data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("there is no display"), "{stderr}");
    assert!(
        stderr.contains("cargo xtask web") && stderr.contains("--headless"),
        "{stderr}"
    );
    assert!(!stderr.contains("EventLoopError"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn the_window_remembers_its_size_and_place_in_the_data_folder() {
    let dir = std::env::temp_dir().join("dc-window-place");
    let options = directus_chat::app::native_options(&SessionStore::in_dir(&dir));
    assert!(options.persist_window);
    assert_eq!(options.persistence_path, Some(dir.join("window.ron")));
    // A second window without a stored session keeps nothing on this device.
    let options = directus_chat::app::native_options(&SessionStore::none());
    assert!(!options.persist_window && options.persistence_path.is_none());
}
