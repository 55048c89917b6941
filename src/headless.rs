//! `directus-chat --headless`: the same session core without a window, for bots and scripts.
//!
//! stdout: every message once, as a JSON line {"id","author","mine","content","date_created",
//! "room","room_id"} (the room by name: a channel's, or the other person's for a DM), history
//! first, then live ("mine": written by the logged-in user), of the room `--room` names
//! (default `general`) or of every room (`--all-rooms`). stdin: each line is sent as a message
//! into that room (into `general` with `--all-rooms`). stderr: status. At the end of stdin it exits once every queued message is
//! confirmed or refused: 0 when all were sent, 1 (naming them) when the server refused any.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use web_time::Instant;

use crate::app::time_seed;
use crate::core::protocol::MessageItem;
use crate::core::server_url::ServerUrl;
use crate::core::session::{KEEP_MESSAGES, Phase, Session};
use crate::edge::Edge;
use crate::edge::store::{SessionStore, StoredSession};
use crate::views::chat::status_text;

pub struct Options {
    pub server: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub store: SessionStore,
    /// The room to read and write (None: `general`).
    pub room: Option<String>,
    /// Print every room's messages.
    pub all_rooms: bool,
    /// Print the messages of the user's rooms that contain this, newest first, and exit.
    pub search: Option<String>,
    /// Files to send with the first stdin line as their caption.
    pub attach: Vec<String>,
}

enum Input {
    Wake,
    Line(String),
    Eof,
}

/// The JSON line printed for a message (`mine`: the logged-in user wrote it; `room`: the name
/// of its room; `mentions_me`: it mentions the logged-in user). The content is as stored
/// (mentions as `<@id>`); `mentions` lists the ids it mentions; `files` its attached files
/// (`id`, `name`, `type`, `size`, and `width`/`height` of pictures).
pub fn message_line(message: &MessageItem, mine: bool, mentions_me: bool, room: &str) -> String {
    serde_json::json!({
        "id": message.id,
        "author": message.author.first_name,
        "mine": mine,
        "content": message.content,
        "mentions": crate::core::mention::mentioned(&message.content),
        "mentions_me": mentions_me,
        "date_created": message.date_created,
        "room": room,
        "room_id": message.room,
        "files": message.files,
    })
    .to_string()
}

/// A stored session is bound to its server and account: its token is never sent to another
/// server, nor used when another account was asked for.
fn check_stored_session(
    stored: &StoredSession,
    server: &ServerUrl,
    options: &Options,
) -> Result<(), String> {
    if let Some(asked) = &options.server
        && ServerUrl::parse(asked)?.http != server.http
    {
        return Err(format!(
            "the stored session belongs to {}, not {asked}: its token is not sent there. \
             Log in to {asked} with a password (DIRECTUS_CHAT_PASSWORD and --email).",
            server.http
        ));
    }
    if let (Some(asked), Some(owner)) = (&options.email, &stored.email)
        && !asked.eq_ignore_ascii_case(owner)
    {
        return Err(format!(
            "the stored session is {owner}'s, not {asked}'s. Log in as {asked} with a password \
             (DIRECTUS_CHAT_PASSWORD)."
        ));
    }
    Ok(())
}

/// `--search TEXT`: every message of the user's rooms containing TEXT (any case), newest
/// first, as JSON lines; then exit (0, or 1 saying why the server refused).
fn print_search(
    mut edge: Edge,
    mut session: Session,
    rx: mpsc::Receiver<Input>,
    text: &str,
) -> Result<(), String> {
    let effects = session.search(text, Instant::now());
    if session.search_results().is_none() {
        return Err("--search needs some text to look for".into());
    }
    edge.apply(effects);
    let stdout = std::io::stdout();
    let mut last_phase = None;
    loop {
        edge.drive(&mut session);
        // Said when the state changes (not at every tick of a countdown).
        let phase = std::mem::discriminant(&session.phase());
        if last_phase != Some(phase) {
            last_phase = Some(phase);
            eprintln!("status: {}", status_text(&session));
        }
        if session.phase() == Phase::LoggedOut {
            return Err(session.error().unwrap_or("logged out").to_owned());
        }
        if let Some(error) = session.search_results().and_then(|s| s.error.clone()) {
            return Err(error);
        }
        // Printed once the rooms' names and who we are ("mine") are known.
        if session.rooms_named() && session.identity_settled() {
            let mut out = stdout.lock();
            for message in session.take_search_hits() {
                let room = session.room_name(message.room.as_deref());
                let line = message_line(
                    &message,
                    session.is_mine(&message),
                    session.mentions_me(&message),
                    &room,
                );
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
            out.flush().map_err(|e| e.to_string())?;
            match session.search_results() {
                Some(search) if search.done => return Ok(()),
                Some(search) if !search.loading => {
                    let effects = session.search_more(Instant::now());
                    edge.apply(effects);
                }
                _ => {}
            }
        }
        let wait = session
            .next_deadline()
            .map_or(Duration::from_secs(1), |d| {
                d.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_secs(1));
        let _ = rx.recv_timeout(wait);
        while rx.try_recv().is_ok() {}
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let (tx, rx) = mpsc::channel::<Input>();
    let wake_tx = tx.clone();
    let mut edge = Edge::new(
        options.store.clone(),
        Arc::new(move || {
            let _ = wake_tx.send(Input::Wake);
        }),
    );
    // A bot may start before its server: keep trying instead of giving up on the first login.
    // A search is asked once: a server that cannot be reached is said, not waited for.
    let mut session = Session::new(time_seed());
    if options.search.is_none() {
        session = session.persistent();
    }
    if let Some(room) = &options.room {
        session.want_room(room);
    }
    if options.all_rooms {
        session.open_all_rooms();
    }
    // Every file is there before anything is sent.
    let mut attach = options
        .attach
        .iter()
        .map(|path| crate::edge::attaching::file_at(path))
        .collect::<Result<Vec<_>, _>>()?;
    let now = Instant::now();
    let effects = match (&options.email, &options.password) {
        (Some(email), Some(password)) => {
            let server = options
                .server
                .as_deref()
                .ok_or("--server URL is required with a password")?;
            session.login(ServerUrl::parse(server)?, email, password, now)
        }
        _ => {
            let stored = options.store.load().ok_or(
                "no password (set DIRECTUS_CHAT_PASSWORD and pass --email) and no stored session",
            )?;
            let server = ServerUrl::parse(&stored.server)?;
            check_stored_session(&stored, &server, &options)?;
            let token = stored
                .refresh_token
                .ok_or("the stored session has expired: log in with a password")?;
            session.resume(server, stored.email, &token, stored.outbox, now)
        }
    };
    edge.apply(effects);
    if let Some(text) = &options.search {
        return print_search(edge, session, rx, text);
    }

    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(line) => {
                    if tx.send(Input::Line(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Input::Eof);
    });

    // Printed ids at or above the timeline's oldest (older ones cannot come back: the timeline
    // evicts its oldest under a flood, and headless never scrolls back).
    let mut printed = BTreeSet::new();
    // Arrived but not printed yet: held until everything before them is known (id order). A
    // copy is held too: under a flood the timeline may evict a message before it is printed.
    let mut held: BTreeMap<i64, MessageItem> = BTreeMap::new();
    let mut stdin_done = false;
    // Lines read before the room they go to is known.
    let mut lines: std::collections::VecDeque<String> = Default::default();
    let mut last_phase = None;
    let mut last_error = None;
    let stdout = std::io::stdout();
    loop {
        edge.drive(&mut session);
        // Said when the state changes (not at every tick of the reconnect countdown).
        let phase = (
            std::mem::discriminant(&session.phase()),
            session.history_loaded(),
        );
        if last_phase != Some(phase) {
            last_phase = Some(phase);
            eprintln!("status: {}", status_text(&session));
        }
        if session.error() != last_error.as_deref() {
            last_error = session.error().map(str::to_owned);
            if let Some(error) = &last_error {
                eprintln!("status: {error}");
            }
        }
        if session.phase() == Phase::LoggedOut {
            return Err(session.error().unwrap_or("logged out").to_owned());
        }
        if let Some(missing) = session.missing_room() {
            if session.rooms().ambiguous() {
                return Err(format!(
                    "more than one of your rooms answers to {missing:?}: use the channel's name, \
                     or the other person's e-mail for a DM"
                ));
            }
            return Err(format!(
                "you are in no room called {missing:?} (a channel's name, or the first name or \
                 e-mail of the other person of a DM)"
            ));
        }
        // The files go with the first line (or alone, when stdin ends without one).
        if session.room_ready() && !attach.is_empty() && (!lines.is_empty() || stdin_done) {
            let caption = lines.pop_front().unwrap_or_default();
            match session.send_files(&caption, std::mem::take(&mut attach), Instant::now()) {
                Ok(effects) => edge.apply(effects),
                Err(why) => return Err(format!("not sent: {why}")),
            }
        }
        while session.room_ready()
            && attach.is_empty()
            && let Some(line) = lines.pop_front()
        {
            match session.send(&line, Instant::now()) {
                Ok(effects) => edge.apply(effects),
                Err(why) => eprintln!("not sent: {why}"),
            }
        }
        let mut out = stdout.lock();
        for id in session.take_fresh() {
            if let Some(message) = session.message(id)
                && !printed.contains(&id)
            {
                held.insert(id, message.clone());
            }
        }
        // A post whose file the server refused waits for nobody here: it is told below.
        let uploading = session.posts().iter().any(|p| p.failed().is_none());
        let finishing = stdin_done
            && lines.is_empty()
            && attach.is_empty()
            && !uploading
            && session.outbox_settled()
            && session.history_loaded()
            && session.rooms_settled();
        // On the way out nothing stays held.
        let through = if finishing {
            i64::MAX
        } else {
            session.complete_through().unwrap_or(i64::MIN)
        };
        // A message whose author's name is being asked for again waits for the answer; so does
        // one whose "mine" is not known yet (who we are, or whether a row under one of our keys
        // is really ours).
        let settled = |message: &MessageItem| {
            // Its room's name is known too.
            session.rooms_named()
                && !session.author_pending(message.id)
                && session.identity_settled()
                && !session.awaiting_confirmation(message)
        };
        let ready = |(id, message): &(&i64, &MessageItem)| {
            **id <= through && (finishing || settled(message))
        };
        while let Some((id, copy)) = held.first_key_value().filter(ready) {
            let id = *id;
            // The newest copy; the held one if the timeline evicted it; none if it was deleted.
            let oldest_kept = session
                .rooms()
                .history(copy.room.as_deref().unwrap_or_default())
                .and_then(|h| h.timeline.oldest_id())
                .unwrap_or(i64::MAX);
            let message = session
                .message(id)
                .or((id < oldest_kept).then_some(copy))
                .cloned();
            held.remove(&id);
            printed.insert(id);
            if let Some(message) = message {
                let room = session.room_name(message.room.as_deref());
                let line = message_line(
                    &message,
                    session.is_mine(&message),
                    session.mentions_me(&message),
                    &room,
                );
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
        }
        out.flush().map_err(|e| e.to_string())?;
        drop(out);
        if printed.len() > KEEP_MESSAGES
            && let Some(oldest) = session
                .rooms()
                .histories()
                .filter_map(|(_, h)| h.timeline.oldest_id())
                .min()
        {
            printed = printed.split_off(&oldest);
        }
        if finishing {
            let mut refused = 0;
            for (message, why) in session.failed() {
                refused += 1;
                eprintln!("not sent: {:?} ({why})", message.content);
            }
            for post in session.posts() {
                refused += 1;
                let why = post.failed().unwrap_or("not stored");
                eprintln!("not sent: {:?} with its files ({why})", post.caption);
            }
            return match refused {
                0 => Ok(()),
                n => Err(format!(
                    "the server refused {n} message(s); see \"not sent\" above"
                )),
            };
        }
        let wait = session
            .next_deadline()
            .map_or(Duration::from_secs(1), |d| {
                d.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_secs(1));
        let first = match rx.recv_timeout(wait) {
            Ok(input) => Some(input),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Input::Eof),
        };
        for input in first
            .into_iter()
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
        {
            match input {
                Input::Wake => {}
                Input::Line(line) => lines.push_back(line),
                Input::Eof => stdin_done = true,
            }
        }
    }
}
