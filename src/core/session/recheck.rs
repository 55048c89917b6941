//! Events the server never sent. Directus drops a subscription event without a word when the
//! read behind it fails (its database restarting: it logs "WebSocket unhandled exception" and
//! sends nothing), and on a cluster an event crosses Redis pub/sub, which has no replay. The
//! socket stays up, so no reconnect catch-up follows (see `settled_cursor` in `reads.rs` for
//! that one, with its own finer cursor log), and later events move the cursor past the gap. So
//! every `RECHECK_EVERY` (and soon after a request of ours went unanswered, a sign of such
//! trouble) the ids of the messages after where the cursor stood `RECHECK_SPAN` ago are read,
//! ids only; those never seen are read whole.
//!
//! Bounded against a member who posts thousands of messages (REST `createMany`): at most
//! `RECHECK_PAGES` pages of ids per recheck, whole messages read `MISSING_CHUNK` at a time, and
//! at most `SEEN_MAX` ids remembered (under such a flood the oldest are forgotten and the
//! recheck starts above them).

use std::collections::{BTreeSet, VecDeque};

use web_time::{Duration, Instant};

use super::requests::Request;
use super::{Effect, Phase, Session};
use crate::core::protocol as proto;

pub const RECHECK_EVERY: Duration = Duration::from_secs(60);
/// How far back each recheck looks: a gap is looked for by three rechecks.
pub const RECHECK_SPAN: Duration = Duration::from_secs(180);
/// Ids per read; a full page is followed by the next, up to `RECHECK_PAGES`.
const RECHECK_PAGE: u32 = 500;
const RECHECK_PAGES: u32 = 4;
/// Whole messages per read (a message is at most 65,536 characters, see provisioning).
const MISSING_CHUNK: usize = 50;
const SEEN_MAX: usize = 20_000;
/// The cursor's history is kept at this granularity (a handful of entries per span).
const NOTE_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub(super) struct Recheck {
    /// When the next recheck is due (None until the first sync).
    at: Option<Instant>,
    /// Where the cursor stood when, oldest first, back to just past `RECHECK_SPAN`.
    log: VecDeque<(Instant, i64)>,
    /// Ids seen (live, read or sent) above the floor.
    seen: BTreeSet<i64>,
    /// Ids at or below this were forgotten under a flood (see `SEEN_MAX`).
    forgotten: Option<i64>,
    /// Pages of ids this recheck may still read.
    pages_left: u32,
}

impl Recheck {
    /// Where a recheck starts: the oldest cursor noted, or above what a flood made us forget.
    fn floor(&self) -> Option<i64> {
        let logged = self.log.front().map(|(_, id)| *id)?;
        Some(logged.max(self.forgotten.unwrap_or(i64::MIN)))
    }

    pub(super) fn saw(&mut self, id: i64) {
        if self.floor().is_none_or(|floor| id > floor) {
            self.seen.insert(id);
        }
        while self.seen.len() > SEEN_MAX {
            self.forgotten = self.seen.pop_first().max(self.forgotten);
        }
    }

    /// Note the cursor (after each frame), forgetting what no recheck will look at again.
    pub(super) fn note_cursor(&mut self, now: Instant, cursor: i64) {
        match self.log.back() {
            Some((_, id)) if *id == cursor => {}
            Some((at, _)) if now.saturating_duration_since(*at) < NOTE_EVERY => {}
            _ => self.log.push_back((now, cursor)),
        }
        if self.at.is_none() {
            self.at = Some(now + RECHECK_EVERY);
        }
        // The newest entry at least RECHECK_SPAN old is the oldest one needed.
        while self
            .log
            .get(1)
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= RECHECK_SPAN)
        {
            self.log.pop_front();
        }
        if let Some(floor) = self.floor() {
            while self.seen.first().is_some_and(|id| *id <= floor) {
                self.seen.pop_first();
            }
        }
    }

    /// A request went unanswered: the server may be dropping events too.
    pub(super) fn soon(&mut self, now: Instant) {
        self.at = Some(self.at.map_or(now, |at| at.min(now)));
    }

    pub(super) fn due(&self) -> Option<Instant> {
        self.at
    }
}

impl Session {
    /// Time for a recheck: ask for the ids after the floor. Due while it cannot be sent
    /// (offline: the reconnect's catch-up covers that; one still unanswered), it waits a
    /// whole period, so that the deadline never stays in the past.
    pub(super) fn recheck_due(&mut self, now: Instant) -> Vec<Effect> {
        let Some(at) = self.recheck.at.filter(|at| now >= *at) else {
            return Vec::new();
        };
        self.recheck.at = Some(now.max(at) + RECHECK_EVERY);
        let asking = self
            .pending(|r| matches!(r, Request::Recheck(_) | Request::Missing(_)))
            .is_some();
        match self.recheck.floor() {
            Some(floor) if self.phase == Phase::Online && self.history_loaded && !asking => {
                self.recheck.pages_left = RECHECK_PAGES - 1;
                vec![self.ask_ids_after(floor, now)]
            }
            _ => Vec::new(),
        }
    }

    fn ask_ids_after(&mut self, after: i64, now: Instant) -> Effect {
        self.request(
            Request::Recheck(after),
            |uid| proto::read_ids_after(after, RECHECK_PAGE, uid),
            now,
        )
    }

    /// The ids after `after`: those never seen are read whole, a chunk at a time.
    pub(super) fn on_recheck(&mut self, ids: Vec<i64>, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let missing: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.recheck.seen.contains(id) && self.rooms.message(*id).is_none())
            .collect();
        if !missing.is_empty() {
            log::warn!(
                "{} message(s) the server never sent live: read now",
                missing.len()
            );
        }
        for chunk in missing.chunks(MISSING_CHUNK) {
            let asked = chunk.to_vec();
            effects.push(self.request(
                Request::Missing(asked.clone()),
                |uid| proto::read_ids(&asked, uid),
                now,
            ));
        }
        if ids.len() as u32 >= RECHECK_PAGE
            && let Some(last) = ids.iter().max()
        {
            if self.recheck.pages_left == 0 {
                // More than the recheck looks at in a span (a flood): the rest goes unchecked.
                log::warn!(
                    "recheck: more than {} ids in its span; stopped at {last}",
                    RECHECK_PAGE * RECHECK_PAGES
                );
            } else {
                self.recheck.pages_left -= 1;
                effects.push(self.ask_ids_after(*last, now));
            }
        }
        effects
    }
}
