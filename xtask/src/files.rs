//! Files in the chat: the fields that tie an upload to its room and to the message it went
//! with, the folder members upload into, and the limit on a file's size. The rules on them are
//! in `permissions.rs`; what rules cannot check (a message's files are its author's uploads of
//! its room) is the chat-rooms hook's.

use serde_json::json;

use crate::Result;
use crate::provision::{Report, exists};
use crate::rest::Rest;

/// The folder members upload into (fixed, so the create rule can name it).
pub const CHAT_FOLDER: &str = "c4a7f01d-e5a1-4c0b-9a7e-0c4a7f01de5a";

/// What the test servers and `cargo xtask run` accept per file (FILES_MAX_UPLOAD_SIZE).
pub const MAX_UPLOAD: &str = "25mb";

pub fn ensure_schema(rest: &Rest, report: &mut Report) -> Result<()> {
    let fields = [
        (
            "directus_files",
            json!({ "field": "room", "type": "uuid",
                    "meta": { "interface": "input", "readonly": true,
                              "note": "directus-chat: the room whose members may read this file" },
                    "schema": { "is_nullable": true } }),
        ),
        (
            "directus_files",
            json!({ "field": "chat_message", "type": "integer",
                    "meta": { "interface": "input", "readonly": true, "hidden": true,
                              "note": "directus-chat: the message it went with (deleted with it)" },
                    "schema": { "is_nullable": true } }),
        ),
        (
            "messages",
            json!({ "field": "files", "type": "json",
                    "meta": { "interface": "input-code", "readonly": true,
                              "note": "the attached files, as the chat-rooms hook read them" },
                    "schema": { "is_nullable": true } }),
        ),
    ];
    for (collection, field) in fields {
        let name = field["field"].as_str().unwrap_or_default();
        if !exists(rest, &format!("/fields/{collection}/{name}"))? {
            rest.post(&format!("/fields/{collection}"), &field)?
                .data(&format!("create field {collection}.{name}"))?;
            report
                .changes
                .push(format!("created field {collection}.{name}"));
        }
    }
    if !exists(rest, &format!("/folders/{CHAT_FOLDER}"))? {
        rest.post("/folders", &json!({ "id": CHAT_FOLDER, "name": "chat" }))?
            .data("create the chat's folder")?;
        report.changes.push("created folder chat".into());
    }
    Ok(())
}
