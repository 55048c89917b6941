//! Whether a window can open here: on Linux a window needs an X11 or Wayland display.

/// Why no window can open (with what to do instead), or None.
pub fn missing() -> Option<String> {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if !cfg!(target_os = "linux") || set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return None;
    }
    Some(
        "there is no display here to open the chat window on (neither DISPLAY nor \
         WAYLAND_DISPLAY is set). Use the chat in a browser: `cargo xtask web`, or without a \
         window: `cargo run --release -- --headless --server URL` (see the README)."
            .into(),
    )
}
