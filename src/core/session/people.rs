//! Who is who, for mentions: people's names (a mention stores an id and is shown by name),
//! the members of the shown room (whom the composer's @ offers), and how many messages
//! mention the user in each room (counted by the server like unread ones, then live; see
//! `rooms.rs`). Names come from what the chat reads anyway (authors, DMs, the directory)
//! and, for a mention of someone not seen yet, from the memberships of the user's rooms.

use std::collections::BTreeSet;

use serde_json::Value;
use web_time::Instant;

use super::requests::Request;
use super::{Effect, Phase, Session};
use crate::core::mention::{self, Names};
use crate::core::protocol::rooms::{self as frames, Person};
use crate::core::protocol::{Author, MessageItem};

/// People asked for by id in one read.
const NAMES_PER_READ: usize = 100;
/// Ids mentioned but not known yet that wait to be asked for (more wait for later messages).
const UNKNOWN_KEPT: usize = 1_000;

#[derive(Debug, Default)]
pub struct People {
    names: Names,
    /// The members of a room as last read: room id, people.
    members: Option<(String, Vec<Person>)>,
    /// Mentioned, not known, not asked yet.
    unknown: BTreeSet<String>,
    /// Asked once each (someone in none of the user's rooms stays "someone").
    asked: BTreeSet<String>,
    /// Mention counts wait for the user's id.
    counts_due: bool,
}

impl Session {
    /// People's names, by id.
    pub fn names(&self) -> &Names {
        &self.people.names
    }

    /// The members of this room, once read (see [`Session::list_members`]), the user too.
    pub fn members(&self, room: &str) -> Option<&[Person]> {
        match &self.people.members {
            Some((id, people)) if id == room => Some(people),
            _ => None,
        }
    }

    /// Read who is in this room (the composer's @ is being typed). Once per opening of the
    /// picker: members come and go.
    pub fn list_members(&mut self, room: &str, now: Instant) -> Vec<Effect> {
        let asking = self.pending(|r| matches!(r, Request::Members(_))).is_some();
        if asking || self.phase != Phase::Online || room.is_empty() {
            return Vec::new();
        }
        let room = room.to_owned();
        vec![self.request(
            Request::Members(room.clone()),
            |uid| frames::read_members(Some(&room), &[], uid),
            now,
        )]
    }

    /// Does the message mention the logged-in user?
    pub fn mentions_me(&self, message: &MessageItem) -> bool {
        let me = self.me.as_ref().and_then(|m| m.id.as_deref());
        me.is_some_and(|me| mention::mentions(&message.content, me))
    }

    /// An author's name (the user's own too: mentions of oneself read by name).
    pub(super) fn learn_author(&mut self, author: &Author) {
        if let (Some(id), Some(name)) = (&author.id, &author.first_name) {
            self.people.names.learn(id, name);
        }
    }

    /// Names of the messages' authors, and who they mention that is not known yet.
    pub(super) fn learn_names(&mut self, items: &[MessageItem]) {
        for item in items {
            self.learn_author(&item.author);
            for id in mention::mentioned(&item.content) {
                let known = self.people.names.knows(&id) || self.people.asked.contains(&id);
                if !known && self.people.unknown.len() < UNKNOWN_KEPT {
                    self.people.unknown.insert(id);
                }
            }
        }
    }

    pub(super) fn learn_people<'a>(&mut self, people: impl IntoIterator<Item = &'a Person>) {
        for person in people {
            self.people.names.learn(&person.id, person.name());
            self.people.unknown.remove(&person.id);
        }
    }

    /// Ask for the names of people mentioned but not known (one read at a time).
    pub(super) fn ask_names(&mut self, now: Instant) -> Option<Effect> {
        let asking = self.pending(|r| matches!(r, Request::Names(_))).is_some();
        if asking || self.phase != Phase::Online || self.people.unknown.is_empty() {
            return None;
        }
        let ids: Vec<String> = std::iter::from_fn(|| self.people.unknown.pop_first())
            .take(NAMES_PER_READ)
            .collect();
        if self.people.asked.len() > mention::NAMES_KEPT {
            self.people.asked.clear(); // bounded: at worst someone is asked for again
        }
        self.people.asked.extend(ids.iter().cloned());
        Some(self.request(
            Request::Names(ids.clone()),
            |uid| frames::read_members(None, &ids, uid),
            now,
        ))
    }

    /// The reply to [`Request::Members`] or [`Request::Names`].
    pub(super) fn on_members(&mut self, request: &Request, data: &Value) {
        let mut people: Vec<Person> = frames::dm_people_from_json(data)
            .into_iter()
            .map(|(_, person)| person)
            .collect();
        people.sort_by(|a, b| {
            (a.name().to_lowercase(), &a.id).cmp(&(b.name().to_lowercase(), &b.id))
        });
        people.dedup_by(|a, b| a.id == b.id);
        self.learn_people(&people);
        if let Request::Members(room) = request {
            self.people.members = Some((room.clone(), people));
        }
    }

    /// Ask the server how many messages mention the user in these rooms (None: in all of
    /// them); once the user's id is known.
    pub(super) fn ask_mention_counts(
        &mut self,
        rooms: Option<Vec<String>>,
        now: Instant,
    ) -> Option<Effect> {
        let Some(me) = self.me.as_ref().and_then(|m| m.id.clone()) else {
            self.people.counts_due = true;
            return None;
        };
        if !mention::is_user_id(&me) {
            return None; // nobody can mention such an id
        }
        let markers = self.rooms.markers(rooms.as_deref());
        if markers.is_empty() {
            return None;
        }
        let asked: Vec<String> = markers.iter().map(|(room, _)| room.clone()).collect();
        Some(self.request(
            Request::Mentions(asked),
            |uid| frames::read_unread(&markers, Some(&me), uid),
            now,
        ))
    }

    /// Counts that waited for the user's id, and names that wait to be asked for.
    pub(super) fn ask_about_people(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.people.counts_due && self.me.as_ref().is_some_and(|m| m.id.is_some()) {
            self.people.counts_due = false;
            effects.extend(self.ask_mention_counts(None, now));
        }
        effects.extend(self.ask_names(now));
        effects
    }

    /// Another account logs in on this device: nobody is known.
    pub(super) fn forget_people(&mut self) {
        self.people = People::default();
    }
}
