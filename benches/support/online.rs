//! A session as the benches start it: logged in, authenticated, subscribed, and its first
//! history read answered with the given rows (newest first), with no server behind it.

use std::time::Instant;

use directus_chat::core::server_url::ServerUrl;
use directus_chat::core::session::Session;
use serde_json::{Value, json};

use super::frames::sent;

/// A session online with `rows` read, and the uid its live events carry.
pub fn online_with(rows: Vec<Value>) -> (Session, String) {
    let now = Instant::now();
    let mut s = Session::new(7);
    let server = ServerUrl::parse("http://127.0.0.1:8055").unwrap();
    s.login(server, "alice@example.com", "pw", now);
    let auth = sent(&s.opened(now)).remove(0);
    let subscribe = sent(&s.frame(
        &json!({"type":"auth","status":"ok","uid":auth["uid"],"refresh_token":"r"}).to_string(),
        now,
    ))
    .remove(0);
    let read = sent(&s.frame(
        &json!({"type":"subscription","event":"init","uid":subscribe["uid"]}).to_string(),
        now,
    ))
    .remove(0);
    let after = sent(&s.frame(
        &json!({"type":"items","data":rows,"uid":read["uid"]}).to_string(),
        now,
    ));
    for who in after {
        s.frame(
            &json!({"type":"subscription","event":"init","data":[{"id":"u-Alice","first_name":"Alice"}],"uid":who["uid"]}).to_string(),
            now,
        );
    }
    s.take_fresh();
    (s, subscribe["uid"].as_str().unwrap().to_owned())
}
