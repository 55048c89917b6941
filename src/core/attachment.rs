//! Files attached to a message (`messages.files`). The chat-rooms hook writes them from the
//! uploaded files' own records (name, type, size, pixels), but a server without the hook lets
//! any member write anything there: they are read leniently and bounded, and a file is
//! fetched only by its id, under the reader's own rights.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// At most this many files per message (the hook's limit too); more are not shown.
pub const MAX_FILES: usize = 10;
/// A name is cut to this many characters.
const MAX_NAME: usize = 120;
/// A picture's side past this many pixels is taken as unknown (nobody sends a 100k-pixel
/// screenshot; a member who writes one must not make rows that tall).
const MAX_SIDE: u32 = 50_000;

/// One attached file, as the message tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub mime: String,
    pub size: u64,
    /// Pixels, for pictures (their space is kept before they load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Attachment {
    /// The files of a message: anything that is not a list of files gives none; entries
    /// without a usable id are skipped.
    pub fn list_from_json(value: &Value) -> Vec<Attachment> {
        let Value::Array(items) = value else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(Attachment::from_json)
            .take(MAX_FILES)
            .collect()
    }

    fn from_json(value: &Value) -> Option<Attachment> {
        let id = value["id"].as_str().filter(|id| is_file_id(id))?;
        let side = |v: &Value| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=MAX_SIDE).contains(n))
        };
        let (width, height) = match (side(&value["width"]), side(&value["height"])) {
            (Some(w), Some(h)) => (Some(w), Some(h)),
            _ => (None, None),
        };
        Some(Attachment {
            id: id.to_ascii_lowercase(),
            name: clean(value["name"].as_str().unwrap_or_default(), MAX_NAME),
            mime: clean(value["type"].as_str().unwrap_or_default(), 100),
            size: value["size"]
                .as_u64()
                .or_else(|| value["size"].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0),
            width,
            height,
        })
    }

    /// A picture the server makes thumbnails of (Directus transforms these; a GIF or SVG it
    /// would send whole, so those show as files).
    pub fn is_picture(&self) -> bool {
        matches!(
            self.mime.as_str(),
            "image/png" | "image/jpeg" | "image/webp" | "image/tiff" | "image/avif"
        )
    }

    /// How big a picture shows: within `max_width` × `max_height`, its shape kept, never
    /// enlarged (as the server scales its thumbnail). None: not a picture, or its size is not
    /// known (then it shows as a file).
    pub fn fitted(&self, max_width: f32, max_height: f32) -> Option<(f32, f32)> {
        if !self.is_picture() {
            return None;
        }
        let (width, height) = (self.width? as f32, self.height? as f32);
        let scale = (max_width / width).min(max_height / height).min(1.0);
        Some((
            (width * scale).round().max(1.0),
            (height * scale).round().max(1.0),
        ))
    }

    /// "photo.png (1.2 MB)".
    pub fn label(&self) -> String {
        let name = if self.name.is_empty() {
            "file"
        } else {
            &self.name
        };
        format!("{name} ({})", size_text(self.size))
    }
}

/// The type a file of this name is sent as (the server stores what it is told).
pub fn mime_for(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        Some("tif" | "tiff") => "image/tiff",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("txt" | "log" | "md") => "text/plain",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A file id is a UUID: nothing else goes into an address.
fn is_file_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One line of at most `max` characters, without control or bidirectional characters.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !crate::core::notifications::is_bidi_control(*c))
        .take(max)
        .collect()
}

/// Bytes as people read them: "512 B", "12 KB", "3.4 MB" (1000s, as file managers do).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ID: &str = "0b6e8a43-1d2c-4f5e-9a7b-3c4d5e6f7a8b";

    #[test]
    fn files_are_read_leniently_and_bounded() {
        let files = Attachment::list_from_json(&json!([
            { "id": ID, "name": "pic\u{202e}gnp.exe\n", "type": "image/png",
              "size": "20259", "width": 120, "height": 80 },
            { "id": "../../auth/logout", "name": "x" },
            { "id": 5 },
            "junk",
            { "id": ID.to_uppercase(), "width": 4_000_000_000u64, "height": 10 },
        ]));
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(files[0].name, "picgnp.exe");
        assert_eq!(files[0].size, 20259);
        assert_eq!((files[0].width, files[0].height), (Some(120), Some(80)));
        assert!(files[0].is_picture());
        // A side out of bounds: no size known, and the id is normalised.
        assert_eq!(files[1].id, ID);
        assert_eq!((files[1].width, files[1].height), (None, None));
        assert!(!files[1].is_picture());
        assert_eq!(Attachment::list_from_json(&json!("nope")), []);
        let many: Vec<Value> = (0..50).map(|_| json!({ "id": ID })).collect();
        assert_eq!(Attachment::list_from_json(&json!(many)).len(), MAX_FILES);
        let long = "n".repeat(5000);
        let named = Attachment::list_from_json(&json!([{ "id": ID, "name": long }]));
        assert_eq!(named[0].name.chars().count(), MAX_NAME);
    }

    #[test]
    fn pictures_fit_their_box_keeping_their_shape() {
        let picture = |w, h| Attachment {
            id: ID.into(),
            name: "p.png".into(),
            mime: "image/png".into(),
            size: 1,
            width: Some(w),
            height: Some(h),
        };
        assert_eq!(picture(120, 80).fitted(320.0, 240.0), Some((120.0, 80.0)));
        assert_eq!(
            picture(4000, 3000).fitted(320.0, 240.0),
            Some((320.0, 240.0))
        );
        assert_eq!(picture(1000, 100).fitted(320.0, 240.0), Some((320.0, 32.0)));
        assert_eq!(picture(1, 50_000).fitted(320.0, 240.0), Some((1.0, 240.0)));
        let unknown = Attachment {
            width: None,
            ..picture(1, 1)
        };
        assert_eq!(unknown.fitted(320.0, 240.0), None);
        let document = Attachment {
            mime: "application/pdf".into(),
            ..picture(100, 100)
        };
        assert_eq!(document.fitted(320.0, 240.0), None);
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(0), "0 B");
        assert_eq!(size_text(999), "999 B");
        assert_eq!(size_text(1000), "1.0 KB");
        assert_eq!(size_text(20259), "20 KB");
        assert_eq!(size_text(3_400_000), "3.4 MB");
        assert_eq!(size_text(999_999), "1.0 MB");
        assert_eq!(size_text(25 * 1024 * 1024), "26 MB");
        assert_eq!(size_text(u64::MAX), "18446744 TB");
    }
}
