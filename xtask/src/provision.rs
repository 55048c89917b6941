//! Idempotent, least-privilege provisioning of any reachable Directus for the chat.
//!
//! Creates the `messages` collection, a "Chat members" policy and demo users, and leaves the
//! Public policy alone: anonymous visitors can neither read nor post. Every step checks first,
//! because Directus silently duplicates permission rows that are POSTed twice.

use serde_json::{Value, json};

use crate::Result;
use crate::rest::{Rest, encode};
use crate::rooms;

pub const POLICY_NAME: &str = "Chat members";
/// The Public policy's fixed id in Directus 11 and 12.
pub const PUBLIC_POLICY_ID: &str = "abf8a154-5b1c-4a46-ac9c-7300570f4f17";

/// A chat member to create: `--user EMAIL:PASSWORD:FIRSTNAME`.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub email: String,
    pub password: String,
    pub first_name: String,
}

impl std::str::FromStr for Member {
    type Err = String;
    /// The password may contain colons; the e-mail and first name cannot.
    fn from_str(spec: &str) -> Result<Self> {
        let parsed = spec.split_once(':').and_then(|(email, rest)| {
            let (password, first_name) = rest.rsplit_once(':')?;
            let ok = email.contains('@') && !password.is_empty() && !first_name.is_empty();
            ok.then(|| Member {
                email: email.to_owned(),
                password: password.to_owned(),
                first_name: first_name.to_owned(),
            })
        });
        parsed.ok_or_else(|| format!("expected EMAIL:PASSWORD:FIRSTNAME, got {spec:?}"))
    }
}

/// What provisioning did, and what the server forced it to expose.
#[derive(Debug, Default)]
pub struct Report {
    pub changes: Vec<String>,
    pub warnings: Vec<String>,
    pub policy_id: String,
    /// The channel every member is in.
    pub general: String,
    /// The server refused custom permission rules: rooms cannot be kept private there.
    pub restricted: bool,
}

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

/// Messages of the member's rooms (see `rooms::MY_ROOMS`).
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

const RULES: &[Rule] = &[
    Rule {
        collection: "messages",
        action: "create",
        fields: &["content", "client_key", "room"],
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
            "chat members can read every membership (of the one shared room)",
        ),
    },
    Rule {
        collection: "room_members",
        action: "update",
        fields: &["last_read"],
        rows: Some(OWN_MEMBERSHIP),
        validation: None,
        room_preset: false,
        needs_extension: false,
        fallback: Fallback::Omit(
            "read markers are not kept on the server (an unfiltered rule would let anyone move \
             anyone's)",
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

impl Rule {
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

fn restricted(reply: &crate::rest::Reply) -> bool {
    reply.status == 403 && reply.error_code() == Some("RESOURCE_RESTRICTED")
}

pub fn provision(
    url: &str,
    admin_email: &str,
    admin_password: &str,
    members: &[Member],
) -> Result<Report> {
    let rest = Rest::login(url, admin_email, admin_password)?;
    let mut report = Report::default();
    ensure_messages_collection(&rest, &mut report)?;
    rooms::ensure_schema(&rest, &mut report)?;
    let general = rooms::ensure_general(&rest, &mut report)?;
    rooms::ensure_message_room(&rest, &general, &mut report)?;
    rooms::move_roomless_messages(&rest, &general, &mut report)?;
    report.general = general.clone();
    report.policy_id = ensure_policy(&rest, &mut report)?;
    let policy_id = report.policy_id.clone();
    // Members join general before the rules narrow reads to one's rooms: an upgrade never
    // shows anyone an empty chat.
    for member in members {
        ensure_member(&rest, &policy_id, member, &mut report)?;
    }
    rooms::everyone_in_general(&rest, &policy_id, &general, &mut report)?;
    report.restricted = !rules_allowed(&rest, &policy_id)?;
    if report.restricted {
        rooms::only_general(&rest)?;
    }
    let extension = rooms::extension_loaded(&rest)?;
    if !extension && !report.restricted {
        report.warnings.push(
            "the chat-rooms extension is not loaded on this server (copy directus/extensions/ \
             into its EXTENSIONS_PATH and restart it): members cannot create or join rooms"
                .into(),
        );
    }
    rooms::key_memberships(&rest, &mut report)?;
    ensure_permissions(&rest, &policy_id, &general, extension, &mut report)?;
    check_public(&rest, &mut report)?;
    Ok(report)
}

/// Does this server take filtered permission rules (Directus 12 without a licence does not)?
/// Asked with a rule that matches no row, removed at once.
fn rules_allowed(rest: &Rest, policy: &str) -> Result<bool> {
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

/// `provision`, then the demo rooms of Alice, Bob and Carol (see `rooms::ensure_demo`), where
/// the server can keep a room private.
pub fn provision_demo(
    url: &str,
    admin_email: &str,
    admin_password: &str,
    [alice, bob, carol]: [&Member; 3],
) -> Result<Report> {
    let mut report = provision(
        url,
        admin_email,
        admin_password,
        &[alice.clone(), bob.clone(), carol.clone()],
    )?;
    if report.restricted {
        report.warnings.push(
            "this server cannot keep a room private (no custom permission rules): the demo \
             rooms random, design and the Alice-Bob DM were not created; everyone shares general"
                .into(),
        );
        return Ok(report);
    }
    let rest = Rest::login(url, admin_email, admin_password)?;
    rooms::ensure_demo(&rest, alice, bob, &mut report)?;
    Ok(report)
}

pub(crate) fn exists(rest: &Rest, path: &str) -> Result<bool> {
    // Directus answers 403 (not 404) for a missing collection, field or relation, even to admins.
    let reply = rest.get(path)?;
    match reply.status {
        200 => Ok(true),
        403 | 404 => Ok(false),
        _ => Err(format!(
            "GET {path}: HTTP {} {}",
            reply.status,
            reply.error_message()
        )),
    }
}

fn ensure_messages_collection(rest: &Rest, report: &mut Report) -> Result<()> {
    if !exists(rest, "/collections/messages")? {
        rest.post(
            "/collections",
            &json!({
                "collection": "messages",
                "meta": { "icon": "chat", "note": "directus-chat messages" },
                "schema": {},
                "fields": [
                    {
                        "field": "id",
                        "type": "integer",
                        "meta": { "hidden": true, "interface": "input", "readonly": true },
                        "schema": { "is_primary_key": true, "has_auto_increment": true }
                    },
                    {
                        "field": "user_created",
                        "type": "uuid",
                        "meta": { "special": ["user-created"], "interface": "select-dropdown-m2o",
                                  "readonly": true, "hidden": true },
                        "schema": {}
                    },
                    {
                        "field": "date_created",
                        "type": "timestamp",
                        "meta": { "special": ["date-created"], "interface": "datetime",
                                  "readonly": true, "hidden": true },
                        "schema": {}
                    }
                ]
            }),
        )?
        .data("create collection messages")?;
        report.changes.push("created collection messages".into());
    }
    if !exists(rest, "/relations/messages/user_created")? {
        rest.post(
            "/relations",
            &json!({
                "collection": "messages",
                "field": "user_created",
                "related_collection": "directus_users",
                "schema": { "on_delete": "SET NULL" }
            }),
        )?
        .data("create relation messages.user_created -> directus_users")?;
        report
            .changes
            .push("created relation messages.user_created -> directus_users".into());
    }
    ensure_message_field(
        rest,
        report,
        json!({
            "field": "content",
            "type": "text",
            "meta": { "interface": "input-multiline" },
            "schema": {}
        }),
    )?;
    ensure_content_limit(rest, report)?;
    ensure_id_not_chosen(rest, report)?;
    // Set by Directus on every edit: clients show "edited".
    ensure_message_field(
        rest,
        report,
        json!({
            "field": "date_updated",
            "type": "timestamp",
            "meta": { "special": ["date-updated"], "interface": "datetime",
                      "readonly": true, "hidden": true },
            "schema": {}
        }),
    )?;
    // The client's own unique key per message: a create retried after a lost reply is refused
    // as a duplicate instead of posting twice.
    ensure_message_field(
        rest,
        report,
        json!({
            "field": "client_key",
            "type": "string",
            "meta": { "interface": "input", "hidden": true, "readonly": true,
                      "note": "set by directus-chat so that retries never post twice" },
            "schema": { "is_unique": true, "is_nullable": true, "max_length": 64 }
        }),
    )?;
    check_message_schema(rest, report)
}

/// What exactly-once and attribution rest on, checked in what is there (a `messages` made by
/// hand or by an older tool may lack it): an auto-increment integer id (the catch-up cursor),
/// `user_created` filled by Directus, and `client_key` a unique string. A missing unique index
/// is added; anything that cannot be repaired safely is refused, loudly.
fn check_message_schema(rest: &Rest, report: &mut Report) -> Result<()> {
    let field = |name: &str| {
        rest.get(&format!("/fields/messages/{name}"))?
            .data(&format!("read field messages.{name}"))
    };
    let refuse = |what: &str| {
        Err(format!(
            "the existing collection `messages` does not fit the chat: {what}. Fix it in the \
             Directus admin app (Settings > Data Model) or provision a fresh server; nothing was \
             changed"
        ))
    };
    let id = field("id")?;
    if id["type"] != "integer"
        || id["schema"]["is_primary_key"] != true
        || id["schema"]["has_auto_increment"] != true
    {
        return refuse("`id` must be an auto-increment integer primary key (the catch-up cursor)");
    }
    let author = field("user_created")?;
    let specials = author["meta"]["special"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // Created as uuid; SQLite has no such type and Directus reads it back as "string".
    let uuid_like = author["type"] == "uuid" || author["type"] == "string";
    if !uuid_like || !specials.iter().any(|s| s == "user-created") {
        return refuse(&format!(
            "`user_created` must be a uuid that Directus fills (special user-created), found \
             type {} with special {}: messages would carry no trustworthy author",
            author["type"], author["meta"]["special"]
        ));
    }
    let key = field("client_key")?;
    if key["type"] != "string" {
        return refuse("`client_key` must be a string (exactly-once depends on it)");
    }
    if key["schema"]["is_unique"] != true {
        // Adding the index fails if duplicates exist already: then it is refused, not forced.
        rest.patch(
            "/fields/messages/client_key",
            &json!({ "schema": { "is_unique": true } }),
        )?
        .data("add the unique index on messages.client_key (duplicates already stored?)")?;
        report
            .changes
            .push("made messages.client_key unique (it was not)".into());
    }
    Ok(())
}

/// The longest message the server accepts, in characters (UTF-16 code units, as JavaScript
/// counts): the composer's limit is 64 KiB of UTF-8, which is never more characters than this.
pub const MAX_CONTENT_CHARS: usize = 65_536;

/// Bound `content` at the server, for every writer (REST or WebSocket, any client): without
/// it any member could post messages too large for another member's socket or memory.
fn ensure_content_limit(rest: &Rest, report: &mut Report) -> Result<()> {
    let rule = json!({ "_and": [ { "content": {
        "_regex": format!("^[\\s\\S]{{0,{MAX_CONTENT_CHARS}}}$")
    } } ] });
    ensure_validation(
        rest,
        report,
        "content",
        rule,
        &format!("A message holds at most {MAX_CONTENT_CHARS} characters."),
        "message length is not bounded at the server, so a member posting huge messages over \
         REST can slow others' clients",
    )
}

/// Nobody chooses a message's id (where permissions cannot say so, as on Directus 12 without
/// a licence): an id set far ahead, or in a gap of the past, would make clients' catch-ups
/// miss messages.
fn ensure_id_not_chosen(rest: &Rest, report: &mut Report) -> Result<()> {
    ensure_validation(
        rest,
        report,
        "id",
        json!({ "_and": [ { "id": { "_null": true } } ] }),
        "Message ids are given by the server.",
        "members can choose a message's id where the create permission allows every field",
    )
}

/// A field validation Directus applies to every create and update, whoever writes.
fn ensure_validation(
    rest: &Rest,
    report: &mut Report,
    field: &str,
    rule: Value,
    message: &str,
    without_it: &str,
) -> Result<()> {
    let path = format!("/fields/messages/{field}");
    let found = rest
        .get(&path)?
        .data(&format!("read field messages.{field}"))?;
    if found["meta"]["validation"] == rule {
        return Ok(());
    }
    let reply = rest.patch(
        &path,
        &json!({ "meta": { "validation": rule, "validation_message": message } }),
    )?;
    if restricted(&reply) {
        report.warnings.push(format!(
            "this server refuses field validation (RESOURCE_RESTRICTED): {without_it}"
        ));
        return Ok(());
    }
    reply.data(&format!("validate messages.{field}"))?;
    report
        .changes
        .push(format!("validated messages.{field}: {message}"));
    Ok(())
}

/// Adds the field `body` describes to `messages` unless it is there already.
fn ensure_message_field(rest: &Rest, report: &mut Report, body: Value) -> Result<()> {
    let name = body["field"].as_str().unwrap_or_default().to_owned();
    if exists(rest, &format!("/fields/messages/{name}"))? {
        return Ok(());
    }
    rest.post("/fields/messages", &body)?
        .data(&format!("create field messages.{name}"))?;
    report
        .changes
        .push(format!("created field messages.{name}"));
    Ok(())
}

fn ensure_policy(rest: &Rest, report: &mut Report) -> Result<String> {
    let found = rest
        .get(&format!(
            "/policies?filter[name][_eq]={}&fields=id,admin_access,app_access&limit=1",
            encode(POLICY_NAME)
        ))?
        .data("look up the chat policy")?;
    if let Some(id) = found[0]["id"].as_str() {
        // A policy of that name made by someone else is not trusted blindly: every member
        // gets it.
        if found[0]["admin_access"] == true || found[0]["app_access"] == true {
            return Err(format!(
                "a policy named {POLICY_NAME:?} exists with admin or app access; every chat \
                 member would get it. Remove that access (or rename the policy) and provision \
                 again; nothing was changed"
            ));
        }
        return Ok(id.to_owned());
    }
    let created = rest
        .post(
            "/policies",
            &json!({
                "name": POLICY_NAME,
                "icon": "forum",
                "description": "Members of directus-chat: read and post messages, edit and delete their own, see others' names",
                "admin_access": false,
                "app_access": false,
                "enforce_tfa": false
            }),
        )?
        .data("create the chat policy")?;
    report
        .changes
        .push(format!("created policy {POLICY_NAME:?}"));
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("policy created without id: {created}"))
}

fn ensure_permissions(
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
            let wanted = rule.body(policy, general, rule.fields, true);
            match unclaimed.iter().position(|row| same_grant(row, &wanted)) {
                Some(at) => drop(unclaimed.remove(at)),
                None => pending.push(rule),
            }
        }
        // ...then the rest, each changing a row that fits no rule (or a new one).
        for rule in pending {
            let row = (!unclaimed.is_empty()).then(|| unclaimed.remove(0));
            grant(rest, policy, general, rule, row, report)?;
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
    rule: &Rule,
    row: Option<&Value>,
    report: &mut Report,
) -> Result<()> {
    let wanted = rule.body(policy, general, rule.fields, true);
    let label = format!("{} {}", rule.collection, rule.action);
    let reply = match row {
        Some(row) => rest.patch(&format!("/permissions/{}", row["id"]), &wanted)?,
        None => rest.post("/permissions", &wanted)?,
    };
    if !restricted(&reply) {
        reply.data(&format!("grant {label}"))?;
        report
            .changes
            .push(format!("granted {label} ({})", rule.fields.join(", ")));
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

/// Never widen Public; warn when someone else did, since it undoes the chat's privacy.
fn check_public(rest: &Rest, report: &mut Report) -> Result<()> {
    let public = rest
        .get(&format!(
            "/permissions?filter[policy][_eq]={PUBLIC_POLICY_ID}\
             &filter[collection][_in]=messages,directus_users,rooms,room_members\
             &fields=collection,action&limit=-1"
        ))?
        .data("list the Public policy's permissions")?;
    for row in public.as_array().into_iter().flatten() {
        report.warnings.push(format!(
            "the Public policy grants {} on {}: ANONYMOUS visitors can do that (left as it is; \
             remove it in the Directus admin app under Access Policies > Public)",
            row["action"].as_str().unwrap_or("?"),
            row["collection"].as_str().unwrap_or("?"),
        ));
    }
    Ok(())
}

/// `member` exists, holds the chat policy and is in `general`.
pub fn ensure_member(
    rest: &Rest,
    policy: &str,
    member: &Member,
    report: &mut Report,
) -> Result<()> {
    let found = rest
        .get(&format!(
            "/users?filter[email][_eq]={}&fields=id&limit=1",
            encode(&member.email)
        ))?
        .data(&format!("look up user {}", member.email))?;
    let user_id = match found[0]["id"].as_str() {
        Some(id) => {
            ensure_access(rest, policy, id, member, report)?;
            id.to_owned()
        }
        None => {
            let created = rest
                .post(
                    "/users",
                    &json!({
                        "email": member.email,
                        "password": member.password,
                        "first_name": member.first_name,
                        "status": "active",
                        "policies": { "create": [ { "policy": policy } ] }
                    }),
                )?
                .data(&format!("create user {}", member.email))?;
            report
                .changes
                .push(format!("created user {}", member.email));
            created["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("user {} created without id", member.email))?
        }
    };
    let general = rooms::find_room(rest, rooms::GENERAL, "channel")?
        .ok_or("no channel general: provision first")?;
    rooms::join(rest, &general, &user_id, report)
}

fn ensure_access(
    rest: &Rest,
    policy: &str,
    user_id: &str,
    member: &Member,
    report: &mut Report,
) -> Result<()> {
    let access = rest
        .get(&format!(
            "/access?filter[user][_eq]={user_id}&filter[policy][_eq]={policy}&fields=id&limit=1"
        ))?
        .data(&format!("look up {}'s policies", member.email))?;
    if access.as_array().is_none_or(|a| a.is_empty()) {
        rest.post("/access", &json!({ "user": user_id, "policy": policy }))?
            .data(&format!("attach {} to {POLICY_NAME}", member.email))?;
        report
            .changes
            .push(format!("added {} to {POLICY_NAME:?}", member.email));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_spec_parses_and_rejects() {
        let m: Member = "carol@example.com:pa:ss:Carol".parse().unwrap();
        assert_eq!(m.email, "carol@example.com");
        assert_eq!(m.password, "pa:ss");
        assert_eq!(m.first_name, "Carol");
        assert!("nobody".parse::<Member>().is_err());
        assert!("a@b::Name".parse::<Member>().is_err());
    }

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
}
