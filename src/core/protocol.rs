//! Directus realtime WebSocket frames, both directions (see shared/directus-facts.md).
//!
//! Incoming frames are decoded leniently: Directus leaves out `uid` on several errors, sends ids
//! as numbers or strings and `user_created` as a UUID, an object or null. Anything unexpected
//! becomes [`ServerFrame::Unknown`], never a panic.

use serde::Deserialize;

pub mod rooms;
use serde_json::{Value, json};

use crate::core::attachment::Attachment;

/// The `messages` collection the chat reads and writes.
pub const COLLECTION: &str = "messages";

/// Fields every read and subscription asks for: the author's first name comes expanded.
pub const MESSAGE_FIELDS: &[&str] = &[
    "id",
    "content",
    "date_created",
    "date_updated",
    "client_key",
    "room",
    "files",
    "user_created.id",
    "user_created.first_name",
];

/// A Directus error: `{"code": "...", "message": "..."}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ServerError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl ServerError {
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    /// REQUESTS_EXCEEDED says "... retry after 997ms." in its message.
    pub fn retry_after_ms(&self) -> Option<u64> {
        let rest = self.message.split("retry after ").nth(1)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionEvent {
    Init,
    Create,
    Update,
    Delete,
}

/// Everything the server can say, as far as the chat cares.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerFrame {
    AuthOk {
        uid: Option<String>,
        refresh_token: Option<String>,
    },
    /// AUTH_FAILED (no uid on a failed handshake), TOKEN_EXPIRED, AUTH_TIMEOUT.
    AuthError {
        uid: Option<String>,
        error: ServerError,
    },
    /// A reply to an items request: object, array, or the deleted id(s).
    Items {
        uid: Option<String>,
        data: Value,
    },
    ItemsError {
        uid: Option<String>,
        error: ServerError,
    },
    Subscription {
        uid: Option<String>,
        event: SubscriptionEvent,
        data: Value,
    },
    /// A refused subscribe (validation errors carry no uid).
    SubscribeError {
        uid: Option<String>,
        error: ServerError,
    },
    /// The server's heartbeat; must be answered with a JSON message.
    Ping,
    Pong {
        uid: Option<String>,
    },
    /// Errors not tied to a request: INVALID_PAYLOAD, REQUESTS_EXCEEDED (never with a uid).
    ServerError {
        error: ServerError,
    },
    /// The socket's own access as a bearer token, from the chat-rooms hook: the token and how
    /// many seconds it lasts, or why not.
    Access {
        uid: Option<String>,
        granted: Result<(String, u64), ServerError>,
    },
    /// Valid JSON the chat does not use (unsubscribe acks, future frame types).
    Unknown(Value),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    NotJson(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::NotJson(e) => write!(f, "frame is not JSON: {e}"),
        }
    }
}

fn uid_of(frame: &Value) -> Option<String> {
    match &frame["uid"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn error_of(frame: &Value) -> ServerError {
    serde_json::from_value(frame["error"].clone()).unwrap_or_else(|_| ServerError {
        code: "UNKNOWN".into(),
        message: frame["error"].to_string(),
    })
}

pub fn decode(text: &str) -> Result<ServerFrame, DecodeError> {
    let frame: Value =
        serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    Ok(classify(frame))
}

fn classify(frame: Value) -> ServerFrame {
    let uid = uid_of(&frame);
    let is_error = frame["status"] == "error";
    let kind = frame["type"].as_str().unwrap_or_default();
    match kind {
        "auth" if is_error => ServerFrame::AuthError {
            uid,
            error: error_of(&frame),
        },
        "auth" if frame["status"] == "ok" => ServerFrame::AuthOk {
            uid,
            refresh_token: frame["refresh_token"].as_str().map(str::to_owned),
        },
        "items" if is_error => ServerFrame::ItemsError {
            uid,
            error: error_of(&frame),
        },
        "items" => ServerFrame::Items {
            uid,
            data: frame["data"].clone(),
        },
        "subscribe" if is_error => ServerFrame::SubscribeError {
            uid,
            error: error_of(&frame),
        },
        "subscription" if is_error => ServerFrame::SubscribeError {
            uid,
            error: error_of(&frame),
        },
        "subscription" => {
            let event = match frame["event"].as_str() {
                Some("init") => SubscriptionEvent::Init,
                Some("create") => SubscriptionEvent::Create,
                Some("update") => SubscriptionEvent::Update,
                Some("delete") => SubscriptionEvent::Delete,
                _ => return ServerFrame::Unknown(frame),
            };
            ServerFrame::Subscription {
                uid,
                event,
                data: frame["data"].clone(),
            }
        }
        "ping" => ServerFrame::Ping,
        "pong" => ServerFrame::Pong { uid },
        "chat-access" => ServerFrame::Access {
            uid,
            granted: match (frame["access_token"].as_str(), frame["expires_in"].as_u64()) {
                (Some(token), Some(lasts)) if !is_error => Ok((token.to_owned(), lasts)),
                _ => Err(error_of(&frame)),
            },
        },
        "server" if is_error => ServerFrame::ServerError {
            error: error_of(&frame),
        },
        _ => ServerFrame::Unknown(frame),
    }
}

/// An author as Directus sends `user_created`: expanded object, bare UUID, or nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Author {
    pub id: Option<String>,
    pub first_name: Option<String>,
}

impl Author {
    /// `user_created` as sent: an object, a bare UUID, or null.
    pub fn from_json(value: &Value) -> Author {
        match value {
            Value::String(uuid) => Author {
                id: Some(uuid.clone()),
                first_name: None,
            },
            Value::Object(user) => Author {
                id: user.get("id").and_then(Value::as_str).map(str::to_owned),
                first_name: user
                    .get("first_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            _ => Author::default(),
        }
    }
}

/// One chat message as stored by Directus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageItem {
    pub id: i64,
    pub content: String,
    pub author: Author,
    pub date_created: Option<String>,
    /// Set by Directus when the message was edited.
    pub date_updated: Option<String>,
    pub client_key: Option<String>,
    /// The id of its room.
    pub room: Option<String>,
    /// Its attached files (none for most).
    pub files: Vec<Attachment>,
}

/// An item id, sent as a number or a numeric string.
pub fn parse_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl MessageItem {
    /// None when the value has no usable id (then it is not a message at all).
    pub fn from_json(value: &Value) -> Option<MessageItem> {
        let id = parse_id(&value["id"])?;
        let author = Author::from_json(&value["user_created"]);
        Some(MessageItem {
            id,
            content: match &value["content"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            },
            author,
            date_created: value["date_created"].as_str().map(str::to_owned),
            date_updated: value["date_updated"].as_str().map(str::to_owned),
            client_key: value["client_key"].as_str().map(str::to_owned),
            room: value["room"].as_str().map(str::to_owned),
            files: Attachment::list_from_json(&value["files"]),
        })
    }

    /// Items from a reply or event: an object, an array of them, or garbage (skipped).
    pub fn list_from_json(data: &Value) -> Vec<MessageItem> {
        match data {
            Value::Array(items) => items.iter().filter_map(MessageItem::from_json).collect(),
            Value::Object(_) => MessageItem::from_json(data).into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// Ids of a delete event or reply: numbers or strings, one or many.
pub fn ids_from_json(data: &Value) -> Vec<i64> {
    match data {
        Value::Array(ids) => ids
            .iter()
            .filter_map(|v| parse_id(v).or_else(|| parse_id(&v["id"])))
            .collect(),
        other => parse_id(other).into_iter().collect(),
    }
}

// ---- Client frames ---------------------------------------------------------------------------

pub fn auth_with_password(email: &str, password: &str, uid: &str) -> String {
    json!({"type": "auth", "email": email, "password": password, "uid": uid}).to_string()
}

pub fn auth_with_refresh_token(refresh_token: &str, uid: &str) -> String {
    json!({"type": "auth", "refresh_token": refresh_token, "uid": uid}).to_string()
}

/// A room as a read names it: by id once the user's rooms are known, else the public channel
/// of this name (what a first start opens, before the room list has arrived). Public channel
/// names are unique (the chat-rooms hook); a private room or DM of that name is not it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomRef {
    Id(String),
    PublicChannel(String),
}

impl RoomRef {
    fn filter(&self) -> Value {
        match self {
            RoomRef::Id(id) => json!({ "_eq": id }),
            RoomRef::PublicChannel(name) => json!({
                "name": { "_eq": name }, "kind": { "_eq": "channel" }, "private": { "_eq": false }
            }),
        }
    }
}

/// The room a first start opens.
pub const DEFAULT_ROOM: &str = "general";

/// Every message of every room the user is in (the server's read rule keeps it to those):
/// one subscription, routed by room, instead of one per room (Directus reads once per
/// subscription per event).
pub fn subscribe_messages(uid: &str) -> String {
    json!({
        "type": "subscribe",
        "collection": COLLECTION,
        "query": { "fields": MESSAGE_FIELDS },
        "uid": uid,
    })
    .to_string()
}

/// A read of messages (of one room, or of all the user's): `query` plus the fields every read
/// asks for.
fn read_messages(mut query: Value, room: Option<&RoomRef>, uid: &str) -> String {
    query["fields"] = json!(MESSAGE_FIELDS);
    if let Some(room) = room {
        query["filter"]["room"] = room.filter();
    }
    json!({ "type": "items", "action": "read", "collection": COLLECTION, "query": query, "uid": uid })
        .to_string()
}

/// The newest `limit` messages of a room (newest first).
pub fn read_latest(room: &RoomRef, limit: u32, uid: &str) -> String {
    read_messages(json!({ "sort": ["-id"], "limit": limit }), Some(room), uid)
}

/// Scroll-back: the `limit` messages of a room just before `oldest` (newest first).
pub fn read_before(room: &RoomRef, oldest: i64, limit: u32, uid: &str) -> String {
    let filter = json!({ "id": { "_lt": oldest } });
    read_messages(
        json!({ "sort": ["-id"], "limit": limit, "filter": filter }),
        Some(room),
        uid,
    )
}

/// The `limit` messages of a room just after `newest` (oldest first).
pub fn read_newer(room: &RoomRef, newest: i64, limit: u32, uid: &str) -> String {
    let filter = json!({ "id": { "_gt": newest } });
    read_messages(
        json!({ "sort": ["id"], "limit": limit, "filter": filter }),
        Some(room),
        uid,
    )
}

/// Search the user's rooms (the read rule keeps it to them): messages containing `text` in
/// any case, newest first, `limit` at a time, below `before` for the next page.
pub fn search_messages(text: &str, before: Option<i64>, limit: u32, uid: &str) -> String {
    let contains = json!({ "content": { "_icontains": text } });
    let filter = match before {
        Some(before) => json!({ "_and": [contains, { "id": { "_lt": before } }] }),
        None => contains,
    };
    read_messages(
        json!({ "sort": ["-id"], "limit": limit, "filter": filter }),
        None,
        uid,
    )
}

/// Edit one's own message (the server checks it is one's own).
pub fn update_message(id: i64, content: &str, uid: &str) -> String {
    json!({
        "type": "items", "action": "update", "collection": COLLECTION, "id": id,
        "data": { "content": content },
        "query": { "fields": MESSAGE_FIELDS },
        "uid": uid,
    })
    .to_string()
}

pub fn delete_message(id: i64, uid: &str) -> String {
    json!({
        "type": "items", "action": "delete", "collection": COLLECTION, "id": id,
        "uid": uid,
    })
    .to_string()
}

/// Catch-up: the oldest `limit` messages of all the user's rooms with an id above `newest`
/// (oldest first). Ids are global: one cursor serves every room.
pub fn read_after(newest: i64, limit: u32, uid: &str) -> String {
    let filter = json!({ "id": { "_gt": newest } });
    read_messages(
        json!({ "sort": ["id"], "limit": limit, "filter": filter }),
        None,
        uid,
    )
}

/// Only the ids of the messages after `after` (oldest first): a recheck for events the server
/// never sent (see `session/recheck.rs`).
pub fn read_ids_after(after: i64, limit: u32, uid: &str) -> String {
    json!({
        "type": "items", "action": "read", "collection": COLLECTION, "uid": uid,
        "query": { "fields": ["id"], "filter": { "id": { "_gt": after } }, "sort": ["id"], "limit": limit },
    })
    .to_string()
}

/// A create with the client's own unique key, so a retry can never post twice. Without a
/// room (written before rooms were known) the server files it under `general`. `files`: ids
/// of files uploaded into that room (the server fills in what they are).
pub fn create_message(
    content: &str,
    client_key: &str,
    room: Option<&str>,
    files: &[String],
    uid: &str,
) -> String {
    let mut data = json!({ "content": content, "client_key": client_key });
    if let Some(room) = room {
        data["room"] = json!(room);
    }
    if !files.is_empty() {
        data["files"] = json!(files);
    }
    json!({
        "type": "items", "action": "create", "collection": COLLECTION,
        "data": data,
        "query": { "fields": MESSAGE_FIELDS },
        "uid": uid,
    })
    .to_string()
}

/// Our own message with this client key (after a uniqueness refusal). The server filters by
/// `$CURRENT_USER`: a row someone else posted under our key is not taken for ours.
pub fn read_own_by_client_key(client_key: &str, uid: &str) -> String {
    read_messages(
        json!({ "filter": { "_and": [
            { "client_key": { "_eq": client_key } },
            { "user_created": { "_eq": "$CURRENT_USER" } },
        ] } }),
        None,
        uid,
    )
}

/// These messages again (for authors' names missing from an earlier copy).
pub fn read_ids(ids: &[i64], uid: &str) -> String {
    read_messages(
        json!({ "filter": { "id": { "_in": ids } }, "limit": -1 }),
        None,
        uid,
    )
}

/// The newest message of the logged-in user, for their own id and first name.
pub fn read_own_latest(uid: &str) -> String {
    json!({
        "type": "items", "action": "read", "collection": COLLECTION,
        "query": {
            "fields": ["user_created.id", "user_created.first_name"],
            "filter": { "user_created": { "_eq": "$CURRENT_USER" } },
            "sort": ["-id"], "limit": 1,
        },
        "uid": uid,
    })
    .to_string()
}

/// The logged-in user's own id and first name. Directus refuses reads of its system
/// collections over the socket (INVALID_COLLECTION) but lets a member subscribe to them; the
/// subscription's init carries the row, and it is dropped at once (see `unsubscribe`).
pub fn subscribe_own_profile(uid: &str) -> String {
    json!({
        "type": "subscribe", "collection": "directus_users",
        "query": {
            "fields": ["id", "first_name"],
            "filter": { "id": { "_eq": "$CURRENT_USER" } },
        },
        "uid": uid,
    })
    .to_string()
}

/// Ends one subscription. Never without a uid: Directus would end all of the socket's.
pub fn unsubscribe(uid: &str) -> String {
    json!({"type": "unsubscribe", "uid": uid}).to_string()
}

pub fn ping(uid: &str) -> String {
    json!({"type": "ping", "uid": uid}).to_string()
}

/// Ask for the socket's own access as a bearer token (see `session/access.rs`).
pub fn ask_access(uid: &str) -> String {
    json!({"type": "chat-access", "uid": uid}).to_string()
}

/// The answer to the server's heartbeat (any non-auth JSON keeps the socket alive).
pub fn pong() -> String {
    json!({"type": "pong"}).to_string()
}
