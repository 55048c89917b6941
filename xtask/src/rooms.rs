//! Rooms, provisioned: the schema (`rooms`, `room_members`, `messages.room`, and the
//! `chat_rooms` alias on users that read rules go through), the upgrade of a one-room
//! deployment into the public channel `general`, and the demo rooms.
//!
//! Names are fixed: other tools rely on them. Every step looks first, so a second run changes
//! nothing.

use serde_json::{Value, json};

use crate::Result;
use crate::provision::{Member, Report, exists};
use crate::rest::{Rest, encode};

/// The public channel every member is in, and where messages without a room went.
pub const GENERAL: &str = "general";

/// Creates what is missing of the rooms schema.
pub fn ensure_schema(rest: &Rest, report: &mut Report) -> Result<()> {
    ensure_collection(
        rest,
        report,
        "rooms",
        json!({
            "field": "id", "type": "uuid",
            "meta": { "special": ["uuid"], "hidden": true, "readonly": true },
            "schema": { "is_primary_key": true, "length": 36, "has_auto_increment": false }
        }),
        &[
            json!({ "field": "name", "type": "string", "meta": { "interface": "input" },
                    "schema": { "is_nullable": false, "max_length": 80 } }),
            json!({ "field": "kind", "type": "string",
                    "meta": { "interface": "select-dropdown", "note": "channel or dm",
                              "validation": { "_and": [ { "kind": { "_in": ["channel", "dm"] } } ] },
                              "validation_message": "A room is a channel or a dm." },
                    "schema": { "is_nullable": false, "default_value": "channel" } }),
            // A channel made in the admin app without a thought is private, not public.
            json!({ "field": "private", "type": "boolean", "meta": { "interface": "boolean" },
                    "schema": { "is_nullable": false, "default_value": true } }),
            json!({ "field": "user_created", "type": "uuid",
                    "meta": { "special": ["user-created"], "interface": "select-dropdown-m2o",
                              "readonly": true, "hidden": true },
                    "schema": {} }),
            // "<smaller user id>:<larger user id>" of a DM: unique, so one DM per pair.
            json!({ "field": "dm_key", "type": "string",
                    "meta": { "interface": "input", "readonly": true, "hidden": true },
                    "schema": { "is_nullable": true, "is_unique": true, "max_length": 80 } }),
            json!({ "field": "date_created", "type": "timestamp",
                    "meta": { "special": ["date-created"], "interface": "datetime",
                              "readonly": true, "hidden": true },
                    "schema": {} }),
        ],
    )?;
    ensure_relation(
        rest,
        report,
        "rooms",
        "user_created",
        "directus_users",
        None,
        "SET NULL",
    )?;
    ensure_collection(
        rest,
        report,
        "room_members",
        json!({
            "field": "id", "type": "integer",
            "meta": { "hidden": true, "readonly": true },
            "schema": { "is_primary_key": true, "has_auto_increment": true }
        }),
        &[
            json!({ "field": "room", "type": "uuid", "meta": { "interface": "select-dropdown-m2o" },
                    "schema": { "is_nullable": false } }),
            json!({ "field": "user", "type": "uuid", "meta": { "interface": "select-dropdown-m2o" },
                    "schema": { "is_nullable": false } }),
            // "<room>:<user>", filled in by the chat-rooms hook: one row per room and user
            // even against two joins at once.
            json!({ "field": "member_key", "type": "string",
                    "meta": { "interface": "input", "readonly": true, "hidden": true },
                    "schema": { "is_nullable": true, "is_unique": true, "max_length": 80 } }),
            json!({ "field": "last_read", "type": "integer",
                    "meta": { "interface": "input",
                              "note": "id of the newest message the member has read" },
                    "schema": { "is_nullable": true } }),
            // The member's own setting, read by the chat (anything else reads as "mentions").
            json!({ "field": "notify", "type": "string",
                    "meta": { "interface": "input",
                              "note": "notifications: all, mentions (and DMs) or nothing" },
                    "schema": { "is_nullable": true, "max_length": 16 } }),
        ],
    )?;
    ensure_relation(
        rest,
        report,
        "room_members",
        "room",
        "rooms",
        None,
        "CASCADE",
    )?;
    // The alias the read rules go through: a user's memberships, as `chat_rooms.room`.
    if !exists(rest, "/fields/directus_users/chat_rooms")? {
        rest.post(
            "/fields/directus_users",
            &json!({ "field": "chat_rooms", "type": "alias",
                     "meta": { "special": ["o2m"], "interface": "list-o2m", "hidden": true } }),
        )?
        .data("create field directus_users.chat_rooms")?;
        report
            .changes
            .push("created field directus_users.chat_rooms".into());
    }
    ensure_relation(
        rest,
        report,
        "room_members",
        "user",
        "directus_users",
        Some("chat_rooms"),
        "CASCADE",
    )
}

/// The room of every message: created after `general`, whose id is its default (a client
/// that does not name a room posts there).
pub fn ensure_message_room(rest: &Rest, general: &str, report: &mut Report) -> Result<()> {
    let path = "/fields/messages/room";
    if !exists(rest, path)? {
        rest.post(
            "/fields/messages",
            &json!({ "field": "room", "type": "uuid",
                     "meta": { "interface": "select-dropdown-m2o", "special": ["m2o"] },
                     "schema": { "is_nullable": true, "default_value": general } }),
        )?
        .data("create field messages.room")?;
        report.changes.push("created field messages.room".into());
    } else {
        let field = rest.get(path)?.data("read field messages.room")?;
        if field["schema"]["default_value"] != general {
            rest.patch(path, &json!({ "schema": { "default_value": general } }))?
                .data("default messages.room to general")?;
            report
                .changes
                .push("messages.room now defaults to general".into());
        }
    }
    // A room with messages cannot be deleted by mistake (its history would go with it).
    ensure_relation(rest, report, "messages", "room", "rooms", None, "NO ACTION")
}

/// `general`'s id (the public channel of that name), creating it if needed.
pub fn ensure_general(rest: &Rest, report: &mut Report) -> Result<String> {
    let id = match find_general(rest)? {
        Some(id) => id,
        None => {
            let id = create_room(rest, GENERAL, "channel", false)?;
            report.changes.push("created channel general".into());
            id
        }
    };
    Ok(id)
}

/// Messages stored before rooms existed go to `general`; nothing is lost.
pub fn move_roomless_messages(rest: &Rest, general: &str, report: &mut Report) -> Result<()> {
    let roomless = count(rest, "/items/messages?filter[room][_null]=true")?;
    if roomless == 0 {
        return Ok(());
    }
    let before = count(rest, "/items/messages?")?;
    rest.patch(
        "/items/messages",
        &json!({ "query": { "filter": { "room": { "_null": true } }, "limit": -1 },
                 "data": { "room": general } }),
    )?
    .data("move messages without a room into general")?;
    let after = count(rest, "/items/messages?")?;
    let left = count(rest, "/items/messages?filter[room][_null]=true")?;
    // (More after is someone posting meanwhile; fewer would be a loss.)
    if after < before || left != 0 {
        return Err(format!(
            "moving messages into general: {before} messages before, {after} after, {left} \
             still without a room"
        ));
    }
    report
        .changes
        .push(format!("moved {roomless} messages into general"));
    Ok(())
}

/// Every holder of the chat policy, directly or through a role, is a member of `general`.
/// (Someone given the policy later in the admin app joins at the next provisioning.)
pub fn everyone_in_general(
    rest: &Rest,
    policy: &str,
    general: &str,
    report: &mut Report,
) -> Result<()> {
    let holders = rest
        .get(&format!(
            "/access?filter[policy][_eq]={policy}&fields=user,role&limit=-1"
        ))?
        .data("list the chat policy's holders")?;
    let holders = holders.as_array().cloned().unwrap_or_default();
    let mut users: Vec<String> = holders
        .iter()
        .filter_map(|h| h["user"].as_str().map(str::to_owned))
        .collect();
    let roles: Vec<&str> = holders.iter().filter_map(|h| h["role"].as_str()).collect();
    if !roles.is_empty() {
        let in_roles = rest
            .get(&format!(
                "/users?filter[role][_in]={}&fields=id&limit=-1",
                roles.join(",")
            ))?
            .data("list the users of the chat policy's roles")?;
        users.extend(
            in_roles
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u["id"].as_str().map(str::to_owned)),
        );
    }
    users.sort_unstable();
    users.dedup();
    for user in users {
        join(rest, general, &user, report)?;
    }
    Ok(())
}

/// Where rules cannot keep a room private, no room but `general` may exist: refuse before
/// the fallback rules would open them to every member.
pub fn only_general(rest: &Rest) -> Result<()> {
    let rooms = rest
        .get("/items/rooms?fields=name,kind,private&limit=-1")?
        .data("list rooms")?;
    let others: Vec<String> = rooms
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            // (SQLite may hand the boolean back as a number.)
            let public = matches!(&r["private"], Value::Bool(false)) || r["private"] == 0;
            !(r["name"] == GENERAL && r["kind"] == "channel" && public)
        })
        .map(|r| format!("{} {}", r["kind"].as_str().unwrap_or("?"), r["name"]))
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    Err(format!(
        "this server refuses custom permission rules (e.g. Directus 12 without a licence), so it \
         cannot keep rooms private, yet it holds rooms besides general ({}): granting the rules \
         it accepts would show their messages to every member. Nothing was granted; remove \
         those rooms or run a server that takes custom rules",
        others.join(", ")
    ))
}

/// Alice, Bob and Carol's rooms: `random` (public, Alice only), `design` (private, Alice and
/// Bob), and a DM between Alice and Bob. Only where rules can keep a room private.
pub fn ensure_demo(rest: &Rest, alice: &Member, bob: &Member, report: &mut Report) -> Result<()> {
    let alice = user_id(rest, &alice.email)?;
    let bob = user_id(rest, &bob.email)?;
    let rooms: [(&str, &str, bool, &[&str]); 3] = [
        ("random", "channel", false, &[&alice]),
        ("design", "channel", true, &[&alice, &bob]),
        ("", "dm", true, &[&alice, &bob]),
    ];
    for (name, kind, private, members) in rooms {
        let id = match kind {
            "dm" => find_dm(rest, members[0], members[1])?,
            _ => find_room(rest, name, kind)?,
        };
        let id = match id {
            Some(id) => id,
            None => {
                let id = create_room(rest, name, kind, private)?;
                report.changes.push(format!("created {kind} {name}"));
                id
            }
        };
        if kind == "dm" {
            // Keyed by its pair (also one made before DMs had keys): no second DM for it.
            let mut pair = [members[0].to_lowercase(), members[1].to_lowercase()];
            pair.sort_unstable();
            let key = format!("{}:{}", pair[0], pair[1]);
            let found = rest
                .get(&format!("/items/rooms/{id}?fields=dm_key"))?
                .data("read a DM")?;
            if found["dm_key"] != key.as_str() {
                rest.patch(&format!("/items/rooms/{id}"), &json!({ "dm_key": key }))?
                    .data("key the demo DM")?;
                report.changes.push("keyed the demo DM by its pair".into());
            }
        }
        for user in members {
            join(rest, &id, user, report)?;
        }
    }
    Ok(())
}

/// Memberships made before `member_key` existed get theirs (the hook fills it on create).
pub fn key_memberships(rest: &Rest, report: &mut Report) -> Result<()> {
    let unkeyed = rest
        .get("/items/room_members?filter[member_key][_null]=true&fields=id,room,user&limit=-1")?
        .data("list memberships without a key")?;
    for row in unkeyed.as_array().into_iter().flatten() {
        let (Some(room), Some(user)) = (row["room"].as_str(), row["user"].as_str()) else {
            continue;
        };
        let key = format!("{}:{}", room.to_lowercase(), user.to_lowercase());
        let reply = rest.patch(
            &format!("/items/room_members/{}", row["id"]),
            &json!({ "member_key": key }),
        )?;
        if reply.status == 400 {
            // A second row for the same room and user: it goes.
            rest.delete(&format!("/items/room_members/{}", row["id"]))?;
            report
                .changes
                .push(format!("removed a duplicate membership {key}"));
            continue;
        }
        reply.data("key a membership")?;
        report.changes.push(format!("keyed membership {key}"));
    }
    Ok(())
}

/// Is the chat-rooms hook (directus/extensions/chat-rooms) loaded and enabled?
pub fn extension_loaded(rest: &Rest) -> Result<bool> {
    let list = rest.get("/extensions")?.data("list extensions")?;
    Ok(list.as_array().into_iter().flatten().any(|e| {
        e["schema"]["name"] == "directus-extension-chat-rooms" && e["meta"]["enabled"] != false
    }))
}

/// The public channel `general` (a private room of that name is not it).
pub fn find_general(rest: &Rest) -> Result<Option<String>> {
    let found = rest
        .get("/items/rooms?filter[name][_eq]=general&filter[kind][_eq]=channel&filter[private][_eq]=false&fields=id&sort=date_created&limit=1")?
        .data("look up general")?;
    Ok(found[0]["id"].as_str().map(str::to_owned))
}

/// The id of the room called `name` of this kind, if there is one.
pub fn find_room(rest: &Rest, name: &str, kind: &str) -> Result<Option<String>> {
    let found = rest
        .get(&format!(
            "/items/rooms?filter[name][_eq]={}&filter[kind][_eq]={kind}&fields=id&sort=date_created&limit=1",
            encode(name)
        ))?
        .data(&format!("look up room {name}"))?;
    Ok(found[0]["id"].as_str().map(str::to_owned))
}

fn find_dm(rest: &Rest, a: &str, b: &str) -> Result<Option<String>> {
    let mine = rest
        .get(&format!(
            "/items/room_members?filter[user][_eq]={a}&filter[room][kind][_eq]=dm&fields=room&limit=-1"
        ))?
        .data("look up DMs")?;
    for row in mine.as_array().into_iter().flatten() {
        let Some(room) = row["room"].as_str() else {
            continue;
        };
        let theirs = rest
            .get(&format!(
                "/items/room_members?filter[room][_eq]={room}&filter[user][_eq]={b}&fields=id&limit=1"
            ))?
            .data("look up a DM's members")?;
        if theirs.as_array().is_some_and(|r| !r.is_empty()) {
            return Ok(Some(room.to_owned()));
        }
    }
    Ok(None)
}

fn create_room(rest: &Rest, name: &str, kind: &str, private: bool) -> Result<String> {
    let created = rest
        .post(
            "/items/rooms",
            &json!({ "name": name, "kind": kind, "private": private }),
        )?
        .data(&format!("create room {name}"))?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("room {name} created without id: {created}"))
}

/// `user` is a member of `room` (one row per room and user).
pub fn join(rest: &Rest, room: &str, user: &str, report: &mut Report) -> Result<()> {
    let found = rest
        .get(&format!(
            "/items/room_members?filter[room][_eq]={room}&filter[user][_eq]={user}&fields=id&limit=1"
        ))?
        .data("look up a membership")?;
    if found.as_array().is_some_and(|r| !r.is_empty()) {
        return Ok(());
    }
    let reply = rest.post(
        "/items/room_members",
        &json!({ "room": room, "user": user }),
    )?;
    if reply.error_code() == Some("RECORD_NOT_UNIQUE") {
        // The chat-rooms hook added them meanwhile (a new holder of the policy joins general).
        return Ok(());
    }
    reply.data("add a member to a room")?;
    report
        .changes
        .push(format!("added user {user} to room {room}"));
    Ok(())
}

pub fn user_id(rest: &Rest, email: &str) -> Result<String> {
    let found = rest
        .get(&format!(
            "/users?filter[email][_eq]={}&fields=id&limit=1",
            encode(email)
        ))?
        .data(&format!("look up user {email}"))?;
    found[0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no user {email}"))
}

fn count(rest: &Rest, query: &str) -> Result<u64> {
    let reply = rest
        .get(&format!("{query}&aggregate[count]=*"))?
        .data("count messages")?;
    let value = &reply[0]["count"];
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| format!("count messages: {reply}"))
}

fn ensure_collection(
    rest: &Rest,
    report: &mut Report,
    name: &str,
    primary: Value,
    fields: &[Value],
) -> Result<()> {
    if !exists(rest, &format!("/collections/{name}"))? {
        rest.post(
            "/collections",
            &json!({ "collection": name, "meta": { "icon": "forum", "hidden": false },
                     "schema": {}, "fields": [primary] }),
        )?
        .data(&format!("create collection {name}"))?;
        report.changes.push(format!("created collection {name}"));
    }
    for field in fields {
        let field_name = field["field"].as_str().unwrap_or_default();
        if !exists(rest, &format!("/fields/{name}/{field_name}"))? {
            rest.post(&format!("/fields/{name}"), field)?
                .data(&format!("create field {name}.{field_name}"))?;
            report
                .changes
                .push(format!("created field {name}.{field_name}"));
        }
    }
    Ok(())
}

/// A many-to-one from `collection.field` to `related`; `one_field`: the alias on the other
/// side. The whole body is sent on a change (Directus 11.17.4 crashes on a partial PATCH).
fn ensure_relation(
    rest: &Rest,
    report: &mut Report,
    collection: &str,
    field: &str,
    related: &str,
    one_field: Option<&str>,
    on_delete: &str,
) -> Result<()> {
    let path = format!("/relations/{collection}/{field}");
    let body = json!({
        "collection": collection, "field": field, "related_collection": related,
        "meta": { "one_field": one_field },
        "schema": { "on_delete": on_delete },
    });
    if !exists(rest, &path)? {
        rest.post("/relations", &body)?.data(&format!(
            "create relation {collection}.{field} -> {related}"
        ))?;
        report.changes.push(format!(
            "created relation {collection}.{field} -> {related}"
        ));
        return Ok(());
    }
    let found = rest.get(&path)?.data(&format!("read relation {path}"))?;
    if found["meta"]["one_field"].as_str() != one_field
        || found["related_collection"] != related
        || found["schema"]["on_delete"] != on_delete
    {
        rest.patch(&path, &body)?
            .data(&format!("update relation {collection}.{field}"))?;
        report.changes.push(format!(
            "updated relation {collection}.{field} (alias, target, on delete)"
        ));
    }
    Ok(())
}
