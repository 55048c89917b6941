//! Events the server never sent. Directus drops a subscription event without a word when the
//! read behind it fails (its database restarting: it logs "WebSocket unhandled exception" and
//! sends nothing), and on a cluster an event crosses Redis pub/sub, which has no replay. The
//! socket stays up, so no reconnect catch-up follows, and later events move the cursor past
//! the gap. So every `RECHECK_EVERY` (and soon after a request of ours went unanswered, a sign
//! of such trouble) the ids of every message after where the cursor stood `RECHECK_SPAN` ago
//! are read, ids only; those never seen are read whole.

use std::collections::{BTreeSet, VecDeque};

use web_time::{Duration, Instant};

use super::requests::Request;
use super::{Effect, Phase, Session};
use crate::core::protocol as proto;

pub const RECHECK_EVERY: Duration = Duration::from_secs(60);
/// How far back each recheck looks: a gap is looked for by three rechecks.
pub const RECHECK_SPAN: Duration = Duration::from_secs(180);
/// Ids per read; a full page is followed by the next at once.
const RECHECK_PAGE: u32 = 500;
/// The cursor's history is kept at this granularity (a handful of entries per span).
const NOTE_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub(super) struct Recheck {
    /// When the next recheck is due (None until the first sync).
    at: Option<Instant>,
    /// Where the cursor stood when, oldest first, back to just past `RECHECK_SPAN`.
    log: VecDeque<(Instant, i64)>,
    /// Ids seen (live, read or sent) above the oldest cursor in `log`.
    seen: BTreeSet<i64>,
}

impl Recheck {
    fn floor(&self) -> Option<i64> {
        self.log.front().map(|(_, id)| *id)
    }

    pub(super) fn saw(&mut self, id: i64) {
        if self.floor().is_none_or(|floor| id > floor) {
            self.seen.insert(id);
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
            self.seen = self.seen.split_off(&(floor + 1));
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
    /// Time for a recheck: ask for the ids after the oldest cursor noted.
    pub(super) fn recheck_due(&mut self, now: Instant) -> Vec<Effect> {
        let asking = self.pending(|r| matches!(r, Request::Recheck(_))).is_some();
        let ready = self.phase == Phase::Online && self.history_loaded && !asking;
        match (self.recheck.at, self.recheck.floor()) {
            (Some(at), Some(floor)) if ready && now >= at => {
                self.recheck.at = Some(now + RECHECK_EVERY);
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

    /// The ids after `after`: those never seen are read whole (as a read by ids).
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
            let asked = missing.clone();
            effects.push(self.request(
                Request::Resolve(missing),
                |uid| proto::read_ids(&asked, uid),
                now,
            ));
        }
        if ids.len() as u32 >= RECHECK_PAGE
            && let Some(last) = ids.iter().max()
        {
            effects.push(self.ask_ids_after(*last, now));
        }
        effects
    }
}
