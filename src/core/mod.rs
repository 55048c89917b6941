//! The IO-free core: protocol types, the session state machine and the message timeline.

pub mod attachment;
pub mod mention;
pub mod notifications;
pub mod protocol;
pub mod rooms;
pub mod server_url;
pub mod session;
pub mod timeline;
pub mod unread;

#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod connection_tests;
#[cfg(test)]
mod delivery_tests;
#[cfg(test)]
mod everyday_tests;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod mention_tests;
#[cfg(test)]
mod protocol_tests;
#[cfg(test)]
mod recheck_tests;
#[cfg(test)]
mod rooms_tests;
#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod stored_tests;
#[cfg(test)]
mod subscription_tests;
#[cfg(test)]
mod upload_tests;
#[cfg(test)]
mod window_tests;
