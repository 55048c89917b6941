//! Search in the window, against a real Directus: Ctrl+F, type, Enter, pick a hit 5,000
//! messages back; its room opens at it (marked) in a window around it, and scrolling down
//! from there joins the live end with every message once and none missing.

mod common;

use std::time::{Duration, Instant};

use common::ui::*;
use egui_kittest::kittest::Queryable;
use serde_json::json;
use xtask::testing::TestDirectus;

fn timeline_ids(h: &App) -> Vec<i64> {
    h.state()
        .session()
        .timeline()
        .iter()
        .map(|m| m.id)
        .collect()
}

#[test]
fn a_hit_5000_messages_back_opens_its_room_there_and_scrolling_down_joins_the_live_end() {
    let server = TestDirectus::shared();
    let pid = std::process::id();
    let alice = server.as_member(&server.alice);
    let needle = format!("findme{pid}");
    let text = format!("the {needle} here");
    let row = alice
        .post("/items/messages", &json!({ "content": text }))
        .unwrap()
        .data("the needle")
        .unwrap();
    let needle_id = row["id"].as_i64().unwrap();
    for chunk in 0..5 {
        post_many(&alice, &format!("after {pid}-{chunk}"), 1000);
    }

    let store = temp_store("search");
    let mut h = app(&server.url(), &store);
    log_in(&mut h, &server.bob.email, &server.bob.password);
    wait_until(&mut h, "history and rooms", |h| {
        h.state().session().history_loaded() && h.state().session().rooms().known()
    });
    assert!(
        timeline_ids(&h).iter().all(|&id| id != needle_id),
        "not loaded yet"
    );

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    fill(&mut h, "Search messages", &needle.to_uppercase());
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the hit", |h| shows(h, &text));
    assert!(shows(&h, "general · Alice ·"), "room and author of the hit");
    h.run_steps(3);
    h.query_all_by_label_contains(&text).next().unwrap().click();

    // The room opens at the hit, in view.
    let picked = Instant::now();
    let mut frames = 0;
    loop {
        h.step();
        frames += 1;
        let loaded = timeline_ids(&h).contains(&needle_id);
        if loaded && shows(&h, &text) && !shows(&h, "Search messages") {
            break;
        }
        assert!(
            picked.elapsed() < Duration::from_secs(90),
            "the hit never came into view; the window shows:\n{:#?}",
            h.root()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "search hit 5,000 messages back on screen after {frames} frames ({} ms)",
        picked.elapsed().as_millis()
    );
    h.run_steps(10);
    assert!(
        shows(&h, &text),
        "it stays in view once older pages stop coming"
    );

    // The room opened in a window around the hit, not at the present: scrolling down reads
    // the pages after it until one reaches the room's newest messages, and the window joins
    // them.
    assert!(h.state().session().detached(), "a window around the hit");
    let scrolling = Instant::now();
    let mut pages = 0;
    while h.state().session().detached() {
        wheel(&mut h, -4000.0);
        if h.state().session().loading_newer() {
            pages += 1;
        }
        while h.state().session().loading_newer() {
            h.step();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            scrolling.elapsed() < Duration::from_secs(120),
            "never joined the present"
        );
    }
    println!(
        "scrolled down to the present in {} ms ({pages} pages of 50 read)",
        scrolling.elapsed().as_millis()
    );
    // At the live end: a message posted now arrives below, and from the hit to the newest
    // every message of general is there once.
    h.key_press(egui::Key::End);
    h.run_steps(10);
    let live = format!("live after the search {pid}");
    alice
        .post("/items/messages", &json!({ "content": live }))
        .unwrap()
        .data("live")
        .unwrap();
    wait_until(&mut h, "the live message", |h| shows(h, &live));
    let ids = timeline_ids(&h);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, once each");
    let general = h.state().session().rooms().shown_id().unwrap().to_owned();
    let stored = alice
        .get(&format!(
            "/items/messages?filter[room][_eq]={general}&filter[id][_gte]={needle_id}&fields=id&limit=-1&sort=id"
        ))
        .unwrap()
        .data("general since the hit")
        .unwrap();
    let stored: Vec<i64> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(stored.len() > 5000);
    let shown: Vec<i64> = ids.into_iter().filter(|&id| id >= needle_id).collect();
    let missing: Vec<&i64> = stored.iter().filter(|id| !shown.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}
