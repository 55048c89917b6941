//! Server search: pages newest first, hits kept apart from the timeline, exact matches only,
//! a search in flight survives a reconnect, a refusal is said.

use serde_json::{Value, json};

use super::session::*;
use super::session_tests::*;

fn hit(id: i64, content: &str) -> Value {
    json!({"id": id, "content": content, "date_created": "2026-11-30T10:00:00.000Z",
           "room": "r-general", "user_created": {"id": "u-bob", "first_name": "Bob"}})
}

#[test]
fn a_search_pages_newest_first_and_keeps_hits_out_of_the_timeline() {
    let mut rig = Rig::new();
    rig.online(&[1, 2]);
    let ask = only(&rig.s.search("  Deploy ", rig.now));
    assert_eq!(ask["action"], "read");
    assert_eq!(
        ask["query"]["filter"],
        json!({"content": {"_icontains": "Deploy"}})
    );
    assert_eq!(ask["query"]["sort"], json!(["-id"]));
    let page: Vec<Value> = (0..SEARCH_PAGE as i64)
        .map(|i| hit(1000 - i, "we deploy today"))
        .collect();
    rig.frame(json!({"type":"items","data":page,"uid":ask["uid"]}));
    let found = rig.s.search_results().unwrap();
    assert_eq!(found.hits.len(), SEARCH_PAGE as usize);
    assert!(!found.done && !found.loading);
    assert!(rig.s.timeline().get(1000).is_none(), "a hit is not history");
    // The next page starts below the oldest hit; a short page ends the search.
    let more = only(&rig.s.search_more(rig.now));
    let oldest = 1000 - SEARCH_PAGE as i64 + 1;
    assert_eq!(
        more["query"]["filter"],
        json!({"_and": [{"content": {"_icontains": "Deploy"}}, {"id": {"_lt": oldest}}]})
    );
    // `%` is a wildcard to the server: a row that does not really contain the text is no hit.
    rig.frame(
        json!({"type":"items","data":[hit(7, "DEPLOY!"), hit(6, "deplxy")],"uid":more["uid"]}),
    );
    let found = rig.s.search_results().unwrap();
    assert!(found.done);
    assert_eq!(found.hits.last().unwrap().id, 7);
    assert_eq!(found.hits.len(), SEARCH_PAGE as usize + 1);
    assert!(rig.s.search_more(rig.now).is_empty(), "nothing more to ask");
    // Handed over, the hits leave the session.
    assert_eq!(rig.s.take_search_hits().len(), SEARCH_PAGE as usize + 1);
    assert!(rig.s.search_results().unwrap().hits.is_empty());
}

#[test]
fn a_new_search_drops_the_old_one_and_its_late_page() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let first = only(&rig.s.search("alpha", rig.now));
    let second = only(&rig.s.search("beta", rig.now));
    rig.frame(json!({"type":"items","data":[hit(5, "alpha")],"uid":first["uid"]}));
    assert!(rig.s.search_results().unwrap().hits.is_empty());
    rig.frame(json!({"type":"items","data":[hit(6, "beta")],"uid":second["uid"]}));
    assert_eq!(rig.s.search_results().unwrap().hits[0].id, 6);
}

#[test]
fn a_search_cut_by_a_reconnect_is_asked_again_and_a_refusal_is_said() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let ask = only(&rig.s.search("lost", rig.now));
    let auth = rig.reconnect();
    let sent = rig.auth_ok(&auth, "r2");
    let again = find_uid(&sent, "search").expect("asked again after the reconnect");
    assert_eq!(again["query"]["filter"], ask["query"]["filter"]);
    rig.frame(json!({"type":"items","status":"error","uid":again["uid"],
        "error":{"code":"FORBIDDEN","message":"You don't have permission to access this."}}));
    let found = rig.s.search_results().unwrap();
    assert!(!found.loading);
    assert!(found.error.as_deref().unwrap().contains("Search failed"));
}
