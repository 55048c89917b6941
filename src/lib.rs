//! directus-chat: a realtime chat client for Directus, native and in the browser.
//!
//! - [`core`]: protocol, session state machine, timeline (no IO, no egui);
//! - [`edge`]: sockets, REST, storage;
//! - [`views`]: egui panels that draw state and return actions;
//! - [`app`]: the eframe app tying them together; `headless` the same without a window.

pub mod app;
pub mod core;
pub mod edge;
#[cfg(not(target_arch = "wasm32"))]
pub mod headless;
pub mod views;
