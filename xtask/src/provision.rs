//! Idempotent, least-privilege provisioning of any reachable Directus for the chat.
//!
//! Creates the `messages` collection, a "Chat members" policy and demo users, and leaves the
//! Public policy alone: anonymous visitors can neither read nor post. Every step checks first,
//! because Directus silently duplicates permission rows that are POSTed twice.

use serde_json::{Value, json};

use crate::Result;
use crate::rest::{Rest, encode};
use crate::{files, permissions, rooms};

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

impl Report {
    /// What changed (or that nothing did) and the warnings, to stderr.
    pub fn print(&self) {
        for change in &self.changes {
            eprintln!("provision: {change}");
        }
        if self.changes.is_empty() {
            eprintln!("provision: nothing to change");
        }
        for warning in &self.warnings {
            eprintln!("WARNING: {warning}");
        }
    }
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
        ensure_member(&rest, &policy_id, &general, member, &mut report)?;
    }
    rooms::everyone_in_general(&rest, &policy_id, &general, &mut report)?;
    report.restricted = !permissions::rules_allowed(&rest, &policy_id)?;
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
    files::ensure_schema(&rest, &mut report)?;
    permissions::ensure(&rest, &policy_id, &general, extension, &mut report)?;
    check_public(&rest, &mut report)?;
    Ok(report)
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
    if permissions::restricted(&reply) {
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

/// Never widen Public; warn when someone else did, since it undoes the chat's privacy.
fn check_public(rest: &Rest, report: &mut Report) -> Result<()> {
    let public = rest
        .get(&format!(
            "/permissions?filter[policy][_eq]={PUBLIC_POLICY_ID}\
             &filter[collection][_in]=messages,directus_users,rooms,room_members,directus_files\
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
    general: &str,
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
    rooms::join(rest, general, &user_id, report)
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
}
