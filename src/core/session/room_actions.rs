//! What the user does to rooms: browse and join public channels, leave a room, create a
//! channel, add people to a private channel they created, start a DM. The server decides
//! (permission rules and the chat-rooms hook); the change itself comes back through the
//! memberships subscription, like one made on another device, and a room the user just
//! created or started is shown once it is there.

use serde_json::Value;
use web_time::Instant;

use super::requests::Request;
use super::{Effect, Phase, Session, describe};
use crate::core::protocol::rooms::{self as frames, Person, RoomKind};
use crate::core::protocol::{DEFAULT_ROOM, ServerError};

/// People and channels as last read, and which room to show once it arrives.
#[derive(Debug, Default)]
pub struct Directory {
    /// Everybody else (to start a DM with), once read.
    people: Option<Vec<Person>>,
    /// The people subscription whose first answer is awaited.
    pub(super) people_uid: Option<String>,
    /// Public channels (id, name), once read.
    channels: Option<Vec<(String, String)>>,
    show_next: Option<ShowNext>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ShowNext {
    Room(String),
    DmWith(String),
}

impl Session {
    /// Everybody else, once read (see [`Session::list_people`]).
    pub fn people(&self) -> Option<&[Person]> {
        self.directory.people.as_deref()
    }

    /// Read who is there (to start a DM with).
    pub fn list_people(&mut self, now: Instant) -> Vec<Effect> {
        if self.directory.people_uid.is_some() || self.phase != Phase::Online {
            return Vec::new();
        }
        let effect = self.request(Request::Directory, frames::subscribe_people, now);
        self.directory.people_uid = self.pending(|r| *r == Request::Directory).cloned();
        vec![effect]
    }

    /// Public channels the user is not in, once read (see [`Session::browse_channels`]).
    pub fn channels_to_join(&self) -> Option<Vec<(&str, &str)>> {
        let channels = self.directory.channels.as_ref()?;
        Some(
            channels
                .iter()
                .filter(|(id, _)| self.rooms.get(id).is_none())
                .map(|(id, name)| (id.as_str(), name.as_str()))
                .collect(),
        )
    }

    /// Read the public channels (to join).
    pub fn browse_channels(&mut self, now: Instant) -> Vec<Effect> {
        if self.pending(|r| *r == Request::Channels).is_some() || self.phase != Phase::Online {
            return Vec::new();
        }
        vec![self.request(Request::Channels, frames::read_public_channels, now)]
    }

    /// Join a public channel (shown once the membership is there).
    pub fn join(&mut self, room: &str, now: Instant) -> Result<Vec<Effect>, String> {
        let me = self.my_id("join a channel")?;
        self.directory.show_next = Some(ShowNext::Room(room.to_owned()));
        let room = room.to_owned();
        Ok(vec![self.request(
            Request::RoomChange("join the channel"),
            |uid| frames::add_member(&room, &me, uid),
            now,
        )])
    }

    /// Leave a room (never `general`: everybody is in it).
    pub fn leave(&mut self, room: &str, now: Instant) -> Result<Vec<Effect>, String> {
        self.online_for("leave a room")?;
        let Some(room) = self.rooms.get(room) else {
            return Err("You are not in that room.".into());
        };
        if room.kind == RoomKind::Channel && !room.private && room.name == DEFAULT_ROOM {
            return Err(format!(
                "Everybody is in {DEFAULT_ROOM}: it cannot be left."
            ));
        }
        let membership = room.membership.clone();
        Ok(vec![self.request(
            Request::RoomChange("leave the room"),
            |uid| frames::leave(&membership, uid),
            now,
        )])
    }

    /// Create a channel; the user is its first member and it is shown once there.
    pub fn create_channel(
        &mut self,
        name: &str,
        private: bool,
        now: Instant,
    ) -> Result<Vec<Effect>, String> {
        self.online_for("create a channel")?;
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err("A channel needs a name.".into());
        }
        Ok(vec![self.request(
            Request::CreateRoom,
            |uid| frames::create_channel(&name, private, uid),
            now,
        )])
    }

    /// Add someone to a private channel the user created.
    pub fn add_to_room(
        &mut self,
        room: &str,
        person: &str,
        now: Instant,
    ) -> Result<Vec<Effect>, String> {
        self.online_for("add people")?;
        let (room, person) = (room.to_owned(), person.to_owned());
        Ok(vec![self.request(
            Request::RoomChange("add them"),
            |uid| frames::add_member(&room, &person, uid),
            now,
        )])
    }

    /// Show the DM with this person: the one there is, or a new one.
    pub fn start_dm(&mut self, person: &str, now: Instant) -> Result<Vec<Effect>, String> {
        let existing = self
            .rooms
            .list()
            .iter()
            .find(|r| r.kind == RoomKind::Dm && r.other.as_ref().is_some_and(|o| o.id == person))
            .map(|r| r.id.clone());
        if let Some(room) = existing {
            return Ok(self.show_room(&room, now));
        }
        let me = self.my_id("start a conversation")?;
        self.directory.show_next = Some(ShowNext::DmWith(person.to_owned()));
        let person = person.to_owned();
        Ok(vec![self.request(
            Request::CreateRoom,
            |uid| frames::create_dm(&me, &person, uid),
            now,
        )])
    }

    pub(super) fn online_for(&self, what: &str) -> Result<(), String> {
        if self.phase != Phase::Online {
            return Err(format!(
                "You are offline: to {what}, wait for the connection."
            ));
        }
        Ok(())
    }

    fn my_id(&self, what: &str) -> Result<String, String> {
        self.online_for(what)?;
        self.me.as_ref().and_then(|m| m.id.clone()).ok_or_else(|| {
            format!("Still finding out who you are: try to {what} again in a moment.")
        })
    }

    /// The people subscription's first answer: the list (the subscription goes at once).
    pub(super) fn on_people(&mut self, uid: &str, data: &Value) -> Vec<Effect> {
        let people = frames::people_from_json(data);
        self.learn_people(&people);
        self.directory.people = Some(people);
        vec![Effect::Send(crate::core::protocol::unsubscribe(uid))]
    }

    pub(super) fn on_room_reply(
        &mut self,
        request: &Request,
        data: &Value,
        now: Instant,
    ) -> Vec<Effect> {
        match request {
            Request::Channels => {
                let channels = match data {
                    Value::Array(rows) => rows
                        .iter()
                        .filter_map(|r| {
                            Some((frames::id_text(&r["id"])?, r["name"].as_str()?.to_owned()))
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                self.directory.channels = Some(channels);
                Vec::new()
            }
            Request::CreateRoom => {
                // The new room, by its id (a DM's person may never be read).
                if let Some(id) = frames::id_text(&data["id"]) {
                    self.directory.show_next = Some(ShowNext::Room(id));
                }
                self.show_next(now)
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn on_room_refused(&mut self, request: &Request, error: &ServerError) {
        let what = match request {
            Request::RoomChange(what) => what,
            Request::CreateRoom => "create it",
            Request::Channels => "list the channels",
            _ => return,
        };
        self.directory.show_next = None;
        self.notice = Some(format!("Could not {what}: {}", describe(error)));
    }

    /// The room the user just joined, created or started is there: show it.
    pub(super) fn show_next(&mut self, now: Instant) -> Vec<Effect> {
        let found = match &self.directory.show_next {
            Some(ShowNext::Room(id)) => self.rooms.get(id).map(|r| r.id.clone()),
            Some(ShowNext::DmWith(person)) => self
                .rooms
                .list()
                .iter()
                .find(|r| {
                    r.kind == RoomKind::Dm && r.other.as_ref().is_some_and(|o| o.id == *person)
                })
                .map(|r| r.id.clone()),
            None => None,
        };
        match found {
            Some(room) => {
                self.directory.show_next = None;
                self.switch_to(&room, now)
            }
            None => Vec::new(),
        }
    }

    /// The user went elsewhere: nothing is shown later by itself.
    pub(super) fn forget_show_next(&mut self) {
        self.directory.show_next = None;
    }

    /// A new connection: the people subscription asked on the old one is gone with it.
    pub(super) fn forget_directory_asks(&mut self) {
        self.directory.people_uid = None;
    }
}
