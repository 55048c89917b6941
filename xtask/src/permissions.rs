//! The chat policy's permission rows: what members may read and write, each as narrow as the
//! server accepts, with a named fallback (and a warning) where it refuses custom rules.
//! Directus silently duplicates rows POSTed twice, and merges every row of a policy: rows are
//! compared before anything is written, and a wider leftover row is removed.

use serde_json::{Value, json};

use crate::Result;
use crate::provision::Report;
use crate::rest::Rest;

/// One permission row the policy should have, with the fallback for servers that refuse
/// custom rules (Directus 12 without a licence accepts only `fields: ["*"]` and no filters).
struct Rule {
    collection: &'static str,
    action: &'static str,
    fields: &'static [&'static str],
    /// Which rows (a filter, as JSON); None: every row.
    rows: Option<&'static str>,
    /// What a created or changed row must satisfy (as JSON), checked by Directus on the payload.
    validation: Option<&'static str>,
    /// A create that names no room is one for `general` (checked by the validation like any).
    room_preset: bool,
    /// Safe only with the chat-rooms extension loaded (its hook checks what rules cannot):
    /// never granted without it.
    needs_extension: bool,
    fallback: Fallback,
}

enum Fallback {
    /// Grant all fields instead, and warn with this text.
    AllFields(&'static str),
    /// Grant nothing, and warn with this text.
    Omit(&'static str),
}

/// Messages of the member's rooms (`chat_rooms`: the alias on users over `room_members.user`).
const IN_MY_ROOMS: &str = r#"{"room":{"_in":"$CURRENT_USER.chat_rooms.room"}}"#;
/// A room is named, and it is one of the member's (`_in` alone lets a missing room through).
const INTO_MY_ROOMS: &str =
    r#"{"_and":[{"room":{"_nnull":true}},{"room":{"_in":"$CURRENT_USER.chat_rooms.room"}}]}"#;
/// The member's own messages in their rooms.
const OWN_IN_MY_ROOMS: &str = r#"{"_and":[{"user_created":{"_eq":"$CURRENT_USER"}},{"room":{"_in":"$CURRENT_USER.chat_rooms.room"}}]}"#;
/// Public channels (to find and join) and the member's own rooms.
/// (And those one created, even before one is in them: a create's members come just after.)
const VISIBLE_ROOMS: &str = r#"{"_or":[{"_and":[{"kind":{"_eq":"channel"}},{"private":{"_eq":false}}]},{"id":{"_in":"$CURRENT_USER.chat_rooms.room"}},{"user_created":{"_eq":"$CURRENT_USER"}}]}"#;
/// The member's own memberships.
const OWN_MEMBERSHIP: &str = r#"{"user":{"_eq":"$CURRENT_USER"}}"#;
/// Files sent in the member's rooms (an upload no message took yet is its uploader's alone),
/// and their own uploads.
/// (A claim commits only with its message: a file with `chat_message` set was sent.)
const FILES_OF_MY_ROOMS: &str = r#"{"_or":[{"uploaded_by":{"_eq":"$CURRENT_USER"}},{"_and":[{"room":{"_in":"$CURRENT_USER.chat_rooms.room"}},{"chat_message":{"_nnull":true}}]}]}"#;
/// The member's own uploads that no message took (an upload cut short or refused, cleaned up
/// by Directus under the uploader's rights).
const OWN_LOOSE_UPLOADS: &str =
    r#"{"_and":[{"uploaded_by":{"_eq":"$CURRENT_USER"}},{"chat_message":{"_null":true}}]}"#;
/// An upload names one of the member's rooms and goes into the chat's folder
/// (`files::CHAT_FOLDER`: a test checks they agree). `_submitted`: a field left out is not
/// validated at all otherwise (and a file has no preset room).
const UPLOAD_INTO_MY_ROOMS: &str = r#"{"_and":[{"room":{"_submitted":true}},{"room":{"_nnull":true}},{"room":{"_in":"$CURRENT_USER.chat_rooms.room"}},{"folder":{"_submitted":true}},{"folder":{"_eq":"c4a7f01d-e5a1-4c0b-9a7e-0c4a7f01de5a"}}]}"#;

const RULES: &[Rule] = &[
    Rule {
        collection: "messages",
        action: "create",
        fields: &["content", "client_key", "room", "files"],
        rows: None,
        // Only into one's own rooms; one without a room is for general, so only for its members.
        validation: Some(INTO_MY_ROOMS),
        room_preset: true,
        needs_extension: false,
        fallback: Fallback::AllFields(
            "chat members may set any field of a message they create, not only its content \
             (the author is still set by Directus, and a validation keeps the id the server's), \
             and post into any room: this server keeps one shared room",
        ),
    },
    // Two reads: every message without its client key, and the key of one's own messages
    // only (Directus merges them per row: another member's key reads as null), so nobody
    // learns a key someone else has not used yet... or has.
    Rule {
        collection: "messages",
        action: "read",
        fields: &[
            "id",
            "content",
            "date_created",
            "date_updated",
            "user_created",
            "room",
            "files",
        ],
        rows: Some(IN_MY_ROOMS),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::AllFields(
            "chat members can read every message's client_key too (harmless for delivery: keys \
             are unguessable and a row counts as one's own only by its author)",
        ),
    },
    Rule {
        collection: "messages",
        action: "read",
        fields: &["client_key"],
        rows: Some(OWN_IN_MY_ROOMS),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::Omit("(the all-fields read above covers client_key)"),
    },
    Rule {
        collection: "messages",
        action: "update",
        fields: &["content"],
        rows: Some(OWN_IN_MY_ROOMS),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::Omit(
            "chat members cannot edit messages (an unfiltered rule would let anyone edit anyone's)",
        ),
    },
    Rule {
        collection: "messages",
        action: "delete",
        fields: &["*"],
        rows: Some(OWN_IN_MY_ROOMS),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::Omit(
            "chat members cannot delete messages (an unfiltered rule would let anyone delete anyone's)",
        ),
    },
    Rule {
        collection: "directus_users",
        action: "read",
        fields: &["id", "first_name", "last_name"],
        rows: None,
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::AllFields(
            "chat members (not anonymous visitors) can read EVERY field of every user: e-mail, \
             role, last access and more, not only first and last names",
        ),
    },
    Rule {
        collection: "rooms",
        action: "read",
        fields: &[
            "id",
            "name",
            "kind",
            "private",
            "dm_key",
            "user_created",
            "date_created",
        ],
        rows: Some(VISIBLE_ROOMS),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::AllFields(
            "chat members can read every room; this server keeps one shared room (general), \
             since it cannot keep a room private",
        ),
    },
    Rule {
        collection: "room_members",
        action: "read",
        fields: &["id", "room", "user", "last_read"],
        rows: Some(IN_MY_ROOMS),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::AllFields(
            "chat members can read every membership (of the one shared room), read markers and \
             notification settings included",
        ),
    },
    // Whether someone muted a room is theirs to know: the setting of one's own memberships
    // only (merged per row with the read above: another member's reads as null).
    Rule {
        collection: "room_members",
        action: "read",
        fields: &["notify"],
        rows: Some(OWN_MEMBERSHIP),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::Omit("(the all-fields read above covers notify)"),
    },
    Rule {
        collection: "room_members",
        action: "update",
        fields: &["last_read", "notify"],
        rows: Some(OWN_MEMBERSHIP),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::Omit(
            "read markers and notification settings are not kept on the server (an unfiltered \
             rule would let anyone change anyone's)",
        ),
    },
    Rule {
        collection: "rooms",
        action: "create",
        fields: &["name", "kind", "private", "dm_key"],
        rows: None,
        validation: None,
        room_preset: false,
        needs_extension: true,
        fallback: Fallback::Omit("members cannot create rooms: this server keeps one shared room"),
    },
    Rule {
        collection: "room_members",
        action: "create",
        // member_key: whatever is sent, the hook sets it.
        fields: &["room", "user", "member_key"],
        rows: None,
        validation: None,
        room_preset: false,
        needs_extension: true,
        fallback: Fallback::Omit("members cannot join rooms: this server keeps one shared room"),
    },
    // Files: uploaded into one's rooms, read by the members of the room (and the uploader).
    // With the hook only: it keeps a message's files to its author's uploads of its room.
    Rule {
        collection: "directus_files",
        action: "create",
        // id: chosen by the chat, so an upload retried after a lost reply is refused as a
        // duplicate instead of stored twice.
        fields: &[
            "id",
            "title",
            "filename_download",
            "type",
            "storage",
            "room",
            "folder",
        ],
        rows: None,
        validation: Some(UPLOAD_INTO_MY_ROOMS),
        room_preset: false,
        needs_extension: true,
        fallback: Fallback::Omit(
            "members cannot share files (this server cannot keep a room's files to its members)",
        ),
    },
    Rule {
        collection: "directus_files",
        action: "read",
        fields: &[
            "id",
            "filename_download",
            "title",
            "type",
            "filesize",
            "width",
            "height",
            "room",
            "uploaded_by",
            "folder",
        ],
        rows: Some(FILES_OF_MY_ROOMS),
        validation: None,
        room_preset: false,
        needs_extension: true,
        fallback: Fallback::Omit(
            "members cannot read shared files (an unfiltered rule would show every room's files to everyone)",
        ),
    },
    Rule {
        collection: "directus_files",
        action: "delete",
        fields: &["*"],
        rows: Some(OWN_LOOSE_UPLOADS),
        validation: None,
        room_preset: false,
        needs_extension: true,
        fallback: Fallback::Omit("(members cannot upload on this server)"),
    },
    Rule {
        collection: "room_members",
        action: "delete",
        fields: &["*"],
        rows: Some(OWN_MEMBERSHIP),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::Omit(
            "members cannot leave rooms (an unfiltered rule would let anyone remove anyone)",
        ),
    },
];

/// Fields only the hook checks (a message's `files`): written only where it is loaded. (Read
/// everywhere: the chat asks for them, and without the hook nobody can write them.)
const EXTENSION_FIELDS: &[&str] = &["files"];

impl Rule {
    /// The fields granted on this server (`extension`: the chat-rooms hook is loaded).
    fn fields(&self, extension: bool) -> Vec<&'static str> {
        self.fields
            .iter()
            .copied()
            .filter(|f| extension || self.action == "read" || !EXTENSION_FIELDS.contains(f))
            .collect()
    }

    /// The row as Directus stores it; `narrow`: with its filter and validation (a server that
    /// refuses custom rules gets neither).
    fn body(&self, policy: &str, general: &str, fields: &[&str], narrow: bool) -> Value {
        let parse = |json: Option<&str>| {
            json.filter(|_| narrow)
                .map_or(Value::Null, |j| serde_json::from_str(j).expect("rule JSON"))
        };
        let presets = if self.room_preset && narrow {
            json!({ "room": general })
        } else {
            Value::Null
        };
        json!({
            "policy": policy,
            "collection": self.collection,
            "action": self.action,
            "fields": fields,
            "permissions": parse(self.rows),
            "validation": parse(self.validation),
            "presets": presets,
        })
    }
}

/// Does an existing permission row grant exactly what `wanted` says?
fn same_grant(existing: &Value, wanted: &Value) -> bool {
    let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(|o| o.is_empty());
    let same = |key: &str| {
        let (a, b) = (&existing[key], &wanted[key]);
        a == b || (empty(a) && empty(b))
    };
    let mut have: Vec<&str> = existing["fields"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut want: Vec<&str> = wanted["fields"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    have.sort_unstable();
    want.sort_unstable();
    have == want && same("permissions") && same("validation") && same("presets")
}

pub fn restricted(reply: &crate::rest::Reply) -> bool {
    reply.status == 403 && reply.error_code() == Some("RESOURCE_RESTRICTED")
}

/// Does this server take filtered permission rules (Directus 12 without a licence does not)?
/// Asked with a rule that matches no row, removed at once.
pub fn rules_allowed(rest: &Rest, policy: &str) -> Result<bool> {
    let probe = json!({ "policy": policy, "collection": "rooms", "action": "read",
                        "fields": ["id"], "permissions": { "id": { "_null": true } } });
    let reply = rest.post("/permissions", &probe)?;
    if restricted(&reply) {
        return Ok(false);
    }
    let row = reply.data("probe for custom permission rules")?;
    delete_permission(rest, &row["id"])?;
    Ok(true)
}

pub fn ensure(
    rest: &Rest,
    policy: &str,
    general: &str,
    extension: bool,
    report: &mut Report,
) -> Result<()> {
    let wanted: Vec<&Rule> = RULES
        .iter()
        .filter(|r| extension || !r.needs_extension)
        .collect();
    let existing = rest
        .get(&format!(
            "/permissions?filter[policy][_eq]={policy}&limit=-1\
             &fields=id,collection,action,fields,permissions,validation,presets"
        ))?
        .data("list the chat policy's permissions")?;
    let existing = existing.as_array().cloned().unwrap_or_default();
    // Rows this policy should not have at all (e.g. added by hand) widen what members may do.
    for row in &existing {
        let known = wanted
            .iter()
            .any(|r| row["collection"] == r.collection && row["action"] == r.action);
        if !known {
            delete_permission(rest, &row["id"])?;
            report.changes.push(format!(
                "removed an unexpected permission: {} {}",
                row["collection"].as_str().unwrap_or("?"),
                row["action"].as_str().unwrap_or("?")
            ));
        }
    }
    let mut groups: Vec<(&str, &str)> = wanted.iter().map(|r| (r.collection, r.action)).collect();
    groups.sort_unstable();
    groups.dedup();
    for (collection, action) in groups {
        let rules: Vec<&Rule> = wanted
            .iter()
            .copied()
            .filter(|r| r.collection == collection && r.action == action)
            .collect();
        let mut unclaimed: Vec<&Value> = existing
            .iter()
            .filter(|p| p["collection"] == collection && p["action"] == action)
            .collect();
        // First the rows that already grant exactly what a rule wants...
        let mut pending = Vec::new();
        for rule in rules {
            let wanted = rule.body(policy, general, &rule.fields(extension), true);
            match unclaimed.iter().position(|row| same_grant(row, &wanted)) {
                Some(at) => drop(unclaimed.remove(at)),
                None => pending.push(rule),
            }
        }
        // ...then the rest, each changing a row that fits no rule (or a new one).
        for rule in pending {
            let row = (!unclaimed.is_empty()).then(|| unclaimed.remove(0));
            grant(rest, policy, general, (rule, extension), row, report)?;
        }
        // Directus merges every row of a policy: a leftover, wider row would undo the narrow
        // ones.
        for extra in unclaimed {
            delete_permission(rest, &extra["id"])?;
            report.changes.push(format!(
                "removed a second permission row for {collection} {action}"
            ));
        }
    }
    Ok(())
}

/// Put `rule` in place, in `row` if there is one, else as a new row; where the server refuses
/// the narrow rule, the least-exposing one it accepts (and a warning).
fn grant(
    rest: &Rest,
    policy: &str,
    general: &str,
    (rule, extension): (&Rule, bool),
    row: Option<&Value>,
    report: &mut Report,
) -> Result<()> {
    let fields = rule.fields(extension);
    let wanted = rule.body(policy, general, &fields, true);
    let label = format!("{} {}", rule.collection, rule.action);
    let reply = match row {
        Some(row) => rest.patch(&format!("/permissions/{}", row["id"]), &wanted)?,
        None => rest.post("/permissions", &wanted)?,
    };
    if !restricted(&reply) {
        reply.data(&format!("grant {label}"))?;
        report
            .changes
            .push(format!("granted {label} ({})", fields.join(", ")));
        return Ok(());
    }
    let text = match rule.fallback {
        Fallback::AllFields(text) => {
            let wider = rule.body(policy, general, &["*"], false);
            match row {
                Some(row) if same_grant(row, &wider) => {}
                Some(row) => {
                    rest.patch(&format!("/permissions/{}", row["id"]), &wider)?
                        .data(&format!("grant {label} (all fields)"))?;
                }
                None => {
                    rest.post("/permissions", &wider)?
                        .data(&format!("grant {label} (all fields)"))?;
                }
            }
            text
        }
        Fallback::Omit(text) => {
            if let Some(row) = row {
                delete_permission(rest, &row["id"])?;
            }
            text
        }
    };
    report.warnings.push(format!(
        "this server refuses custom permission rules (RESOURCE_RESTRICTED, e.g. Directus 12 \
         without a licence) for {label}: {text}. The Public policy was left untouched."
    ));
    Ok(())
}

fn delete_permission(rest: &Rest, id: &Value) -> Result<()> {
    let reply = rest.delete(&format!("/permissions/{id}"))?;
    if reply.ok() {
        Ok(())
    } else {
        Err(format!(
            "remove permission {id}: HTTP {} {}",
            reply.status,
            reply.error_message()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_compare_fields_as_sets_and_null_as_empty() {
        let wanted = json!({"fields": ["id", "first_name"], "permissions": null,
                            "validation": null, "presets": null});
        let existing = json!({"fields": ["first_name", "id"], "permissions": {},
                              "validation": {}, "presets": null});
        assert!(same_grant(&existing, &wanted));
        let wider =
            json!({"fields": ["*"], "permissions": null, "validation": null, "presets": null});
        assert!(!same_grant(&wider, &wanted));
    }

    #[test]
    fn uploads_go_into_the_chat_folder() {
        let rule: Value = serde_json::from_str(UPLOAD_INTO_MY_ROOMS).unwrap();
        assert_eq!(
            rule["_and"][4]["folder"]["_eq"],
            crate::files::CHAT_FOLDER,
            "{rule}"
        );
    }
}
