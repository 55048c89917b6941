//! Frames about rooms: the user's memberships (live), the other person of each DM, unread
//! counts and read markers. Which rows a member gets is the server's read rule (their own
//! rooms only); these queries only narrow it down.

use serde_json::{Value, json};

use super::{COLLECTION, parse_id};
use crate::core::notifications::NotifyLevel;

/// The memberships collection: one row per room and user, carrying the user's read marker.
pub const MEMBERSHIPS: &str = "room_members";

/// What the room list needs of each of the user's own memberships.
const MEMBERSHIP_FIELDS: &[&str] = &[
    "id",
    "last_read",
    "notify",
    "room.id",
    "room.name",
    "room.kind",
    "room.private",
    "room.user_created",
];

/// The user's own memberships, live: joins, leaves, new DMs and read markers from other
/// devices.
pub fn subscribe_my_rooms(uid: &str) -> String {
    json!({
        "type": "subscribe", "collection": MEMBERSHIPS,
        // Every one: Directus answers 100 rows unless told otherwise, and a room missing from
        // the first answer counts as left.
        "query": {
            "fields": MEMBERSHIP_FIELDS,
            "filter": { "user": { "_eq": "$CURRENT_USER" } },
            "limit": -1,
        },
        "uid": uid,
    })
    .to_string()
}

/// The other person of each of the user's DMs (whose name the DM goes by).
pub fn read_dm_people(uid: &str) -> String {
    json!({
        "type": "items", "action": "read", "collection": MEMBERSHIPS,
        "query": {
            // No e-mail: members never read each other's (where a server lets them, a DM
            // still goes by name).
            "fields": ["room", "user.id", "user.first_name", "user.last_name"],
            "filter": { "_and": [
                { "room": { "kind": { "_eq": "dm" } } },
                { "user": { "_neq": "$CURRENT_USER" } },
            ] },
            "limit": -1,
        },
        "uid": uid,
    })
    .to_string()
}

/// How many messages of others each room holds after its read marker, and the newest of them:
/// one aggregate read for any number of rooms. Rooms with nothing unread are not in the reply.
/// `mentioning`: only those that mention this user (as `mention::mentions` sees it: any case).
pub fn read_unread(markers: &[(String, i64)], mentioning: Option<&str>, uid: &str) -> String {
    let rooms: Vec<Value> = markers
        .iter()
        .map(|(room, last_read)| {
            json!({ "_and": [ { "room": { "_eq": room } }, { "id": { "_gt": last_read } } ] })
        })
        .collect();
    let mut filter = vec![
        json!({ "_or": rooms }),
        json!({ "user_created": { "_neq": "$CURRENT_USER" } }),
    ];
    if let Some(me) = mentioning {
        filter.push(json!({ "content": { "_icontains": crate::core::mention::token(me) } }));
    }
    json!({
        "type": "items", "action": "read", "collection": COLLECTION,
        "query": {
            "aggregate": { "count": ["id"], "max": ["id"] },
            "groupBy": ["room"],
            "filter": { "_and": filter },
            "limit": -1,
        },
        "uid": uid,
    })
    .to_string()
}

/// People a mention may name: the members of one of the user's rooms (`room`), or (`users`)
/// these people as the user's rooms show them. Names only; the read rule keeps it to rooms
/// the user is in.
pub fn read_members(room: Option<&str>, users: &[String], uid: &str) -> String {
    let filter = match room {
        Some(room) => json!({ "room": { "_eq": room } }),
        None => json!({ "user": { "_in": users } }),
    };
    json!({
        "type": "items", "action": "read", "collection": MEMBERSHIPS,
        "query": {
            "fields": ["room", "user.id", "user.first_name", "user.last_name"],
            "filter": filter,
            "limit": MEMBERS_MAX,
        },
        "uid": uid,
    })
    .to_string()
}

/// Members read at most for the composer's @ (a room of thousands offers its first ones).
pub const MEMBERS_MAX: u32 = 2_000;

/// Move the user's read marker in one room (the rule lets members move only their own).
pub fn mark_read(membership: &str, last_read: i64, uid: &str) -> String {
    update_membership(membership, json!({ "last_read": last_read }), uid)
}

/// A change of the user's own membership; the reply is the row as the room list reads it.
fn update_membership(membership: &str, data: Value, uid: &str) -> String {
    json!({
        "type": "items", "action": "update", "collection": MEMBERSHIPS, "id": membership,
        "data": data,
        "query": { "fields": MEMBERSHIP_FIELDS },
        "uid": uid,
    })
    .to_string()
}

/// The user's notification setting for a room (the rule lets members change only their own).
pub fn set_notify(membership: &str, level: &str, uid: &str) -> String {
    update_membership(membership, json!({ "notify": level }), uid)
}

/// Public channels, to browse and join (the read rule shows them to every member).
pub fn read_public_channels(uid: &str) -> String {
    json!({
        "type": "items", "action": "read", "collection": "rooms",
        "query": {
            "fields": ["id", "name"],
            "filter": { "kind": { "_eq": "channel" }, "private": { "_eq": false } },
            "sort": ["name"], "limit": -1,
        },
        "uid": uid,
    })
    .to_string()
}

/// Everybody else, to start a DM with. Directus refuses reads of `directus_users` over the
/// socket but not a subscription: its first answer is the list (then it is dropped).
pub fn subscribe_people(uid: &str) -> String {
    json!({
        "type": "subscribe", "collection": "directus_users",
        "query": {
            "fields": ["id", "first_name", "last_name"],
            "filter": { "id": { "_neq": "$CURRENT_USER" } },
            "sort": ["first_name"], "limit": -1,
        },
        "uid": uid,
    })
    .to_string()
}

/// `user` joins `room` (oneself into a public channel, or a private channel's creator adding
/// someone: the chat-rooms hook checks which).
pub fn add_member(room: &str, user: &str, uid: &str) -> String {
    json!({
        "type": "items", "action": "create", "collection": MEMBERSHIPS,
        "data": { "room": room, "user": user },
        "uid": uid,
    })
    .to_string()
}

/// Leave a room: one's own membership goes.
pub fn leave(membership: &str, uid: &str) -> String {
    json!({
        "type": "items", "action": "delete", "collection": MEMBERSHIPS, "id": membership,
        "uid": uid,
    })
    .to_string()
}

/// A new channel (its creator becomes its first member).
pub fn create_channel(name: &str, private: bool, uid: &str) -> String {
    json!({
        "type": "items", "action": "create", "collection": "rooms",
        "data": { "name": name, "kind": "channel", "private": private },
        "query": { "fields": ["id"] },
        "uid": uid,
    })
    .to_string()
}

/// A DM between two people, keyed by the pair (one per pair: the key is unique).
pub fn create_dm(me: &str, other: &str, uid: &str) -> String {
    let mut pair = [me, other];
    pair.sort_unstable();
    json!({
        "type": "items", "action": "create", "collection": "rooms",
        "data": { "kind": "dm", "dm_key": format!("{}:{}", pair[0], pair[1]) },
        "query": { "fields": ["id"] },
        "uid": uid,
    })
    .to_string()
}

/// Rows of people (the reply of [`subscribe_people`]).
pub fn people_from_json(data: &Value) -> Vec<Person> {
    let Value::Array(rows) = data else {
        return Vec::new();
    };
    rows.iter().filter_map(person_from_json).collect()
}

fn person_from_json(user: &Value) -> Option<Person> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Some(Person {
        id: user["id"].as_str()?.to_owned(),
        first_name: text(&user["first_name"]),
        last_name: text(&user["last_name"]),
        email: text(&user["email"]),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoomKind {
    Channel,
    Dm,
}

/// One of the user's memberships, with its room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The membership row's id (what a delete event names).
    pub id: String,
    pub room: String,
    pub name: String,
    pub kind: RoomKind,
    pub private: bool,
    pub last_read: Option<i64>,
    /// Who created the room (a private channel's creator adds its members).
    pub creator: Option<String>,
    /// The user's notification setting for the room.
    pub notify: NotifyLevel,
}

impl Membership {
    /// None when the row lacks what the room list needs (then it is not shown).
    pub fn from_json(value: &Value) -> Option<Membership> {
        let id = id_text(&value["id"])?;
        let room = &value["room"];
        Some(Membership {
            id,
            room: room["id"].as_str()?.to_owned(),
            name: room["name"].as_str().unwrap_or_default().to_owned(),
            kind: match room["kind"].as_str() {
                Some("dm") => RoomKind::Dm,
                _ => RoomKind::Channel,
            },
            // A boolean, or 0/1 where the database stores it so.
            private: room["private"]
                .as_bool()
                .or(room["private"].as_i64().map(|n| n != 0))
                .unwrap_or(true),
            last_read: parse_id(&value["last_read"]),
            creator: room["user_created"].as_str().map(str::to_owned),
            notify: NotifyLevel::from_stored(value["notify"].as_str()),
        })
    }

    pub fn list_from_json(data: &Value) -> Vec<Membership> {
        match data {
            Value::Array(rows) => rows.iter().filter_map(Membership::from_json).collect(),
            Value::Object(_) => Membership::from_json(data).into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// Somebody as a DM shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

impl Person {
    /// The name to show: first name, else last name, else e-mail.
    pub fn name(&self) -> &str {
        [&self.first_name, &self.last_name, &self.email]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|n| !n.trim().is_empty())
            .unwrap_or("someone")
    }

    /// Does `wanted` name this person (first name or e-mail, any case)?
    pub fn answers_to(&self, wanted: &str) -> bool {
        [&self.first_name, &self.email]
            .into_iter()
            .flatten()
            .any(|n| n.eq_ignore_ascii_case(wanted))
    }
}

/// The reply of [`read_dm_people`]: (room id, the other person).
pub fn dm_people_from_json(data: &Value) -> Vec<(String, Person)> {
    let Value::Array(rows) = data else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            Some((
                row["room"].as_str()?.to_owned(),
                person_from_json(&row["user"])?,
            ))
        })
        .collect()
}

/// One row of [`read_unread`]'s reply: room, how many, the newest of them. Directus sends the
/// aggregates as numbers or numeric strings (PostgreSQL counts are strings).
pub fn unread_from_json(data: &Value) -> Vec<(String, u32, i64)> {
    let Value::Array(rows) = data else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            let room = row["room"].as_str()?.to_owned();
            let count = parse_id(&row["count"]["id"])?;
            let newest = parse_id(&row["max"]["id"])?;
            Some((room, u32::try_from(count).unwrap_or(u32::MAX), newest))
        })
        .collect()
}

/// A row id as text, the same however it is sent (membership ids are integers, sent as
/// numbers or strings; room ids are UUIDs).
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => Some(n.to_string()),
            Err(_) if !s.is_empty() => Some(s.clone()),
            Err(_) => None,
        },
        _ => None,
    }
}
