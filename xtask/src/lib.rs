//! Project automation for directus-chat, shared by the `cargo xtask` command and by the
//! integration tests (which need a real, provisioned Directus of their own).

pub mod bench;
pub mod cluster;
pub mod debian;
pub mod display;
pub mod files;
pub mod install;
pub mod page_runs;
pub mod paths;
pub mod permissions;
pub mod process;
pub mod provision;
pub mod rest;
pub mod rooms;
pub mod server;
pub mod settings;
pub mod testing;
pub mod web;

/// Errors here end up in front of a person at a terminal: a sentence is enough.
pub type Result<T> = std::result::Result<T, String>;
