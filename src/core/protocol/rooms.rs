//! Frames about rooms: the user's memberships (live), the other person of each DM, unread
//! counts and read markers. Which rows a member gets is the server's read rule (their own
//! rooms only); these queries only narrow it down.

use serde_json::{Value, json};

use super::{COLLECTION, parse_id};

/// The memberships collection: one row per room and user, carrying the user's read marker.
pub const MEMBERSHIPS: &str = "room_members";

/// What the room list needs of each of the user's own memberships.
const MEMBERSHIP_FIELDS: &[&str] = &[
    "id",
    "last_read",
    "room.id",
    "room.name",
    "room.kind",
    "room.private",
];

/// The user's own memberships, live: joins, leaves, new DMs and read markers from other
/// devices.
pub fn subscribe_my_rooms(uid: &str) -> String {
    json!({
        "type": "subscribe", "collection": MEMBERSHIPS,
        "query": { "fields": MEMBERSHIP_FIELDS, "filter": { "user": { "_eq": "$CURRENT_USER" } } },
        "uid": uid,
    })
    .to_string()
}

/// The other person of each of the user's DMs (whose name the DM goes by).
pub fn read_dm_people(uid: &str) -> String {
    json!({
        "type": "items", "action": "read", "collection": MEMBERSHIPS,
        "query": {
            "fields": ["room", "user.id", "user.first_name", "user.last_name", "user.email"],
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
pub fn read_unread(markers: &[(String, i64)], uid: &str) -> String {
    let rooms: Vec<Value> = markers
        .iter()
        .map(|(room, last_read)| {
            json!({ "_and": [ { "room": { "_eq": room } }, { "id": { "_gt": last_read } } ] })
        })
        .collect();
    json!({
        "type": "items", "action": "read", "collection": COLLECTION,
        "query": {
            "aggregate": { "count": ["id"], "max": ["id"] },
            "groupBy": ["room"],
            "filter": { "_and": [
                { "_or": rooms },
                { "user_created": { "_neq": "$CURRENT_USER" } },
            ] },
            "limit": -1,
        },
        "uid": uid,
    })
    .to_string()
}

/// Move the user's read marker in one room (the rule lets members move only their own).
pub fn mark_read(membership: &str, last_read: i64, uid: &str) -> String {
    json!({
        "type": "items", "action": "update", "collection": MEMBERSHIPS, "id": membership,
        "data": { "last_read": last_read },
        "query": { "fields": MEMBERSHIP_FIELDS },
        "uid": uid,
    })
    .to_string()
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
            private: room["private"].as_bool().unwrap_or(true),
            last_read: parse_id(&value["last_read"]),
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
            let user = &row["user"];
            let text = |v: &Value| v.as_str().map(str::to_owned);
            Some((
                row["room"].as_str()?.to_owned(),
                Person {
                    id: user["id"].as_str()?.to_owned(),
                    first_name: text(&user["first_name"]),
                    last_name: text(&user["last_name"]),
                    email: text(&user["email"]),
                },
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

/// A row id as text (membership ids are integers, but compared as sent in delete events).
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}
