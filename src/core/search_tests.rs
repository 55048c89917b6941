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

#[test]
fn matches_are_found_in_any_case_without_overlaps() {
    assert_eq!(
        matches("Deploy and DEPLOY", "deploy", false),
        [0..6, 11..17]
    );
    assert_eq!(matches("Deploy and DEPLOY", "deploy", true), vec![0..6]);
    assert_eq!(matches("aaaa", "aa", false), [0..2, 2..4]);
    assert_eq!(matches("Ärger ärgert", "ÄR", false), [0..3, 7..10]);
    assert!(matches("nothing", "", false).is_empty());
    // `_` is a character like any other here (the server's LIKE takes it for a wildcard).
    assert!(matches("needle1", "needl_1", false).is_empty());
    // 'İ' lowercases to two characters: a needle of only the first is no match of it.
    assert!(matches("İstanbul", "i", false).is_empty());
    assert_eq!(matches("İstanbul", "i̇s", false), vec![0..3]);
}

#[test]
fn the_hits_kept_are_bounded_and_a_refused_search_can_be_tried_again() {
    let mut rig = Rig::new();
    rig.online(&[]);
    let mut effects = rig.s.search("x", rig.now);
    let mut next_id = 100_000;
    let mut pages = 0;
    while let Some(ask) = frames(&effects).into_iter().find(|f| f["type"] == "items") {
        let page: Vec<Value> = (0..SEARCH_PAGE as i64)
            .map(|i| hit(next_id - i, "x"))
            .collect();
        next_id -= SEARCH_PAGE as i64;
        rig.frame(json!({"type":"items","data":page,"uid":ask["uid"]}));
        pages += 1;
        assert!(
            pages <= SEARCH_KEEP / SEARCH_PAGE as usize,
            "asked on past the bound"
        );
        effects = rig.s.search_more(rig.now);
    }
    let found = rig.s.search_results().unwrap();
    assert_eq!(found.hits.len(), SEARCH_KEEP);
    assert!(!found.done && !found.can_ask_more());

    // Refused: asked again on request (the window's Try again), the same page.
    let mut rig = Rig::new();
    rig.online(&[]);
    let ask = only(&rig.s.search("y", rig.now));
    rig.frame(json!({"type":"items","status":"error","uid":ask["uid"],
        "error":{"code":"INTERNAL_SERVER_ERROR","message":"boom"}}));
    assert!(rig.s.search_results().unwrap().error.is_some());
    let again = only(&rig.s.search_more(rig.now));
    assert_eq!(again["query"], ask["query"]);
    assert!(rig.s.search_results().unwrap().error.is_none());
}
