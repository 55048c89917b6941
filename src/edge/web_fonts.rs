//! The web page's fonts are files beside it (`fonts/`, copied by trunk, fetched by a script
//! in index.html as soon as the page loads) rather than bytes inside the wasm: they download
//! alongside the code, and a new release that changes only the code leaves them cached.
//! Natively egui's own fonts are compiled in (the `default_fonts` feature), and only this
//! module's pure parts are built, for their tests.

use std::sync::Arc;

use egui::{FontData, FontDefinitions, FontFamily, FontTweak};

/// Every letter of the chat (egui's default proportional font).
pub const TEXT: &str = "fonts/Ubuntu-Light.ttf";
/// The few icons egui's widgets draw.
pub const ICONS: &str = "fonts/egui-icons.ttf";

/// Both fonts, arranged as egui's defaults arrange them; the chat uses no monospace text, so
/// that family falls back to the text font instead of costing a third download. index.html
/// starts reading them before the wasm has arrived; without its promise they are fetched here.
#[cfg(target_arch = "wasm32")]
pub async fn load() -> Result<FontDefinitions, String> {
    let (text, icons) = match from_page().await {
        Some(fonts) => fonts?,
        None => (fetch(TEXT).await?, fetch(ICONS).await?),
    };
    // egui panics on a font it cannot parse, and a panic in wasm ends the page without a
    // word: an HTML error page served in a font's place is refused here, with its name.
    for (url, bytes) in [(TEXT, &text), (ICONS, &icons)] {
        if !is_font(bytes) {
            return Err(format!("{url} is not a font ({} bytes)", bytes.len()));
        }
    }
    Ok(definitions(text, icons))
}

/// TrueType or OpenType, by the first four bytes.
pub fn is_font(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some([0, 1, 0, 0] | b"true" | b"OTTO" | b"ttcf")
    )
}

/// `window.directusChatFonts`: a promise of the two files' ArrayBuffers, in that order.
#[cfg(target_arch = "wasm32")]
async fn from_page() -> Option<Result<(Vec<u8>, Vec<u8>), String>> {
    use wasm_bindgen::JsCast as _;
    let window = web_sys::window()?;
    let promise = js_sys::Reflect::get(&window, &"directusChatFonts".into())
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let files = match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(files) => js_sys::Array::from(&files),
        Err(e) => return Some(Err(format!("{e:?}"))),
    };
    if files.length() != 2 {
        return Some(Err("window.directusChatFonts must hold two files".into()));
    }
    let bytes = |i| js_sys::Uint8Array::new(&files.get(i)).to_vec();
    Some(Ok((bytes(0), bytes(1))))
}

pub fn definitions(text: Vec<u8>, icons: Vec<u8>) -> FontDefinitions {
    let mut fonts = FontDefinitions::empty();
    fonts
        .font_data
        .insert("Ubuntu-Light".into(), Arc::new(FontData::from_owned(text)));
    let icons = FontData::from_owned(icons).tweak(FontTweak {
        scale: 0.90, // as egui sizes them
        ..Default::default()
    });
    fonts.font_data.insert("egui-icons".into(), Arc::new(icons));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .insert(family, vec!["Ubuntu-Light".into(), "egui-icons".into()]);
    }
    fonts
}

#[cfg(target_arch = "wasm32")]
async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    // Credentials as a same-origin `fetch()` sends them (ehttp's default omits them), so the
    // HTTP cache serves what the page's own requests stored.
    let request = ehttp::Request::get(url).with_credentials(ehttp::Credentials::SameOrigin);
    match ehttp::fetch_async(request).await {
        Ok(response) if response.ok => Ok(response.bytes),
        Ok(response) => Err(format!(
            "{url}: {} {}",
            response.status, response.status_text
        )),
        Err(e) => Err(format!("{url}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_truetype_and_opentype_files_pass_for_fonts() {
        let ubuntu = include_bytes!("../../assets/fonts/Ubuntu-Light.ttf");
        let icons = include_bytes!("../../assets/fonts/egui-icons.ttf");
        assert!(is_font(ubuntu) && is_font(icons));
        assert!(is_font(b"OTTO....") && is_font(b"ttcf...."));
        // What a server or a portal answers in a font's place.
        for not_a_font in [
            &b"<!DOCTYPE html><html>"[..],
            b"{\"errors\":[]}",
            b"",
            b"\0\x01\0",
        ] {
            assert!(!is_font(not_a_font), "{not_a_font:?}");
        }
    }

    #[test]
    fn every_family_draws_with_the_shipped_fonts_and_icons() {
        let fonts = definitions(vec![1], vec![2]);
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            assert_eq!(fonts.families[&family], ["Ubuntu-Light", "egui-icons"]);
        }
        assert_eq!(fonts.font_data.len(), 2);
    }
}
