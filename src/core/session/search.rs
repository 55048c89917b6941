//! Searching the messages of the user's rooms on the server: newest first, a page at a time.
//! The read rule keeps the answers to the user's own rooms; hits never enter a room's timeline
//! (they are not contiguous history).

use web_time::Instant;

use super::requests::Request;
use super::{Effect, Phase, Session, describe};
use crate::core::protocol::{self as proto, MessageItem, ServerError};

/// Hits asked for at a time.
pub const SEARCH_PAGE: u32 = 50;

/// One search and what it found so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Search {
    pub text: String,
    /// Newest first; `take_hits` empties it (a script prints them and lets them go).
    pub hits: Vec<MessageItem>,
    /// The oldest hit so far: the next page starts below it.
    oldest: Option<i64>,
    /// Every match has been found.
    pub done: bool,
    /// A page is asked for and not answered yet.
    pub loading: bool,
    pub error: Option<String>,
}

impl Search {
    /// The whole text, any case: the server's `_icontains` also treats `%` and `_` as
    /// wildcards, and a hit must really contain what was typed.
    fn matches(&self, message: &MessageItem) -> bool {
        message
            .content
            .to_lowercase()
            .contains(&self.text.to_lowercase())
    }
}

impl Session {
    /// Search for `text` (replacing any earlier search); the first page is asked for now, or
    /// once online.
    pub fn search(&mut self, text: &str, now: Instant) -> Vec<Effect> {
        self.forget_search();
        let text = text.trim();
        if text.is_empty() {
            return Vec::new();
        }
        self.search = Some(Search {
            text: text.to_owned(),
            loading: true,
            ..Search::default()
        });
        self.ask_search_page(now)
    }

    /// The next page of the current search.
    pub fn search_more(&mut self, now: Instant) -> Vec<Effect> {
        match &mut self.search {
            Some(search) if !search.done && !search.loading => {
                search.loading = true;
                search.error = None;
                self.ask_search_page(now)
            }
            _ => Vec::new(),
        }
    }

    pub fn search_results(&self) -> Option<&Search> {
        self.search.as_ref()
    }

    /// The hits found so far, handed over (the search goes on from where they end).
    pub fn take_search_hits(&mut self) -> Vec<MessageItem> {
        self.search
            .as_mut()
            .map(|s| std::mem::take(&mut s.hits))
            .unwrap_or_default()
    }

    pub fn forget_search(&mut self) {
        self.search = None;
        self.requests
            .retain(|_, r| !matches!(r.request, Request::Search(_)));
    }

    /// The page a search waits for, if the socket can carry it now (after a reconnect too:
    /// what was in flight was forgotten with the old socket).
    pub(super) fn ask_search_page(&mut self, now: Instant) -> Vec<Effect> {
        let Some(search) = &self.search else {
            return Vec::new();
        };
        let asked = self
            .requests
            .values()
            .any(|r| matches!(r.request, Request::Search(_)));
        if !search.loading || asked || self.phase != Phase::Online {
            return Vec::new();
        }
        let (text, before) = (search.text.clone(), search.oldest);
        vec![self.request(
            Request::Search(text.clone()),
            |uid| proto::search_messages(&text, before, SEARCH_PAGE, uid),
            now,
        )]
    }

    pub(super) fn on_search_page(&mut self, text: &str, items: Vec<MessageItem>) {
        let Some(search) = self.search.as_mut().filter(|s| s.text == text) else {
            return; // an earlier search's page
        };
        search.loading = false;
        search.done = (items.len() as u32) < SEARCH_PAGE;
        let oldest = items.iter().map(|m| m.id).min();
        search.oldest = match (search.oldest, oldest) {
            (Some(before), Some(now)) => Some(before.min(now)),
            (before, now) => before.or(now),
        };
        let known = |id| search.hits.iter().any(|h: &MessageItem| h.id == id);
        let fresh: Vec<MessageItem> = items
            .into_iter()
            .filter(|m| search.matches(m) && !known(m.id))
            .collect();
        search.hits.extend(fresh);
    }

    pub(super) fn on_search_refused(&mut self, text: &str, error: &ServerError) {
        if let Some(search) = self.search.as_mut().filter(|s| s.text == text) {
            search.loading = false;
            search.error = Some(format!("Search failed: {}", describe(error)));
        }
    }
}
