//! Bob sees Alice's picture live, rendered: his window (egui_kittest drawing with wgpu on
//! lavapipe) shows the thumbnail with the picture's own pixels, where the list put it. The
//! screenshot is kept in tests/artifacts/thumbnail.png.

#[allow(dead_code)] // a part of the UI tests' helpers
#[path = "../common/ui.rs"]
mod ui;

use egui_kittest::kittest::Queryable;
use serde_json::json;
use ui::*;
use xtask::files::CHAT_FOLDER;
use xtask::testing::TestDirectus;

const PICTURE: &[u8] = include_bytes!("../fixtures/gradient.png");

#[test]
fn bob_sees_alices_picture_live_in_his_window() {
    let server = TestDirectus::shared();
    assert!(
        !server.report.restricted,
        "the default Directus runs unrestricted"
    );
    let mut bob = app(&server.url(), &temp_store("screenshot-bob"));
    log_in(&mut bob, &server.bob.email, &server.bob.password);
    wait_until(&mut bob, "general shown", |h| shows(h, "Online"));

    // Alice sends it into general over REST, as any client could.
    let alice = server.as_member(&server.alice);
    let general = alice
        .get("/items/rooms?filter[name][_eq]=general&fields=id")
        .unwrap()
        .data("rooms")
        .unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = alice
        .upload(
            &[("room", &general), ("folder", CHAT_FOLDER)],
            "gradient.png",
            "image/png",
            PICTURE,
        )
        .unwrap()
        .data("upload")
        .unwrap()["id"]
        .clone();
    let caption = format!("a picture to render {}", std::process::id());
    alice
        .post(
            "/items/messages",
            &json!({"content": caption, "room": general, "files": [file]}),
        )
        .unwrap();

    let label = "Picture gradient.png (20 KB)";
    wait_until(&mut bob, "the thumbnail drawn", |h| {
        shows(h, &caption) && h.query_by_label(label).is_some()
    });
    // The texture is uploaded with the frame that draws it: a few more frames settle it.
    bob.run_steps(4);
    let shot = bob.render().expect("rendered with wgpu");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    shot.save(dir.join("thumbnail.png")).unwrap();

    // Where the list put it, the picture's own pixels (120×80, drawn 1:1).
    let rect = bob.get_by_label(label).rect();
    let picture = image::load_from_memory(PICTURE).unwrap().to_rgba8();
    assert_eq!(
        (rect.width() as u32, rect.height() as u32),
        picture.dimensions()
    );
    let (x0, y0) = (rect.min.x.round() as u32, rect.min.y.round() as u32);
    let mut total = 0u64;
    for (x, y, expected) in picture.enumerate_pixels() {
        let drawn = shot.get_pixel(x0 + x, y0 + y);
        total += (0..3)
            .map(|c| u64::from(drawn[c].abs_diff(expected[c])))
            .sum::<u64>();
    }
    let mean = total as f64 / f64::from(picture.width() * picture.height() * 3);
    eprintln!("thumbnail: mean difference from the picture {mean:.2} of 255");
    assert!(
        mean < 6.0,
        "the thumbnail's pixels differ from the picture's by {mean:.1} on average (see tests/artifacts/thumbnail.png)"
    );
    // And it is no blank: the gradient's corners differ.
    let corner = |x, y| *shot.get_pixel(x0 + x, y0 + y);
    assert_ne!(corner(2, 2), corner(117, 77));
}
