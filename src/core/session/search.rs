//! Searching the messages of the user's rooms on the server: newest first, a page at a time.
//! The read rule keeps the answers to the user's own rooms; hits never enter a room's timeline
//! (they are not contiguous history).

use web_time::Instant;

use super::requests::Request;
use super::{Effect, Phase, Session, describe};
use crate::core::protocol::{self as proto, MessageItem, ServerError};

/// Hits asked for at a time.
pub const SEARCH_PAGE: u32 = 50;
/// Hits kept at most (the window asks for more page by page; a script takes them as they
/// come, see `take_search_hits`): bounded whatever a member posts.
pub const SEARCH_KEEP: usize = 500;

/// One search and what it found so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Search {
    pub text: String,
    /// Newest first; `Session::take_search_hits` empties it (a script prints them and lets
    /// them go).
    pub hits: Vec<MessageItem>,
    /// The oldest row the server returned so far (a hit or not): the next page starts below.
    oldest: Option<i64>,
    /// Every match has been found.
    pub done: bool,
    /// A page is asked for and not answered yet.
    pub loading: bool,
    pub error: Option<String>,
}

impl Search {
    /// The whole text, in any case: the server's `_icontains` also treats `%` and `_` as
    /// wildcards, and a hit must really contain what was typed.
    fn matches(&self, message: &MessageItem) -> bool {
        !matches(&message.content, &self.text, true).is_empty()
    }

    /// More pages can be asked for: the server has more, and fewer than SEARCH_KEEP are held.
    pub fn can_ask_more(&self) -> bool {
        !self.done && !self.loading && self.hits.len() < SEARCH_KEEP
    }
}

/// Where `needle` occurs in `text`, in any case (character by character), without overlaps:
/// byte ranges of `text`. `first_only`: stop at the first. (The server's own comparison is the
/// database's LOWER: SQLite's folds ASCII letters only.)
pub fn matches(text: &str, needle: &str, first_only: bool) -> Vec<std::ops::Range<usize>> {
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    let mut found = Vec::new();
    if needle.is_empty() {
        return found;
    }
    let mut from = 0;
    let mut lowered = Vec::new();
    for (start, _) in text.char_indices() {
        if start < from {
            continue;
        }
        let mut wanted = needle.iter();
        let mut end = None;
        for (at, c) in text[start..].char_indices() {
            lowered.clear();
            lowered.extend(c.to_lowercase());
            // A character whose lowercase runs past the needle's end is no match.
            if !lowered.iter().all(|l| wanted.next() == Some(l)) {
                break;
            }
            if wanted.len() == 0 {
                end = Some(start + at + c.len_utf8());
                break;
            }
        }
        if let Some(end) = end {
            found.push(start..end);
            if first_only {
                break;
            }
            from = end;
        }
    }
    found
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
            Some(search) if search.can_ask_more() => {
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
            return; // a safety net: `forget_search` drops an earlier search's requests
        };
        search.loading = false;
        search.done = (items.len() as u32) < SEARCH_PAGE;
        let page_oldest = items.iter().map(|m| m.id).min();
        search.oldest = match (search.oldest, page_oldest) {
            (Some(before), Some(page)) => Some(before.min(page)),
            (before, page) => before.or(page),
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
