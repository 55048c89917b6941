//! The frames a session asked to send, as JSON (what the benches answer).

use directus_chat::core::session::Effect;
use serde_json::Value;

pub fn sent(effects: &[Effect]) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(text) => serde_json::from_str(text).ok(),
            _ => None,
        })
        .collect()
}
