//! The floor of `cargo xtask bench`: a bare WebSocket client that does only what the chat
//! protocol needs (auth, subscribe, create, pong) and nothing a real client must (no
//! reconnect, no catch-up, no outbox). Same line protocol as `directus-chat --headless`.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::Result;

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// The frames are the ones directus-chat sends (src/core/protocol.rs: same fields, a unique
/// client_key on each create), so Directus does the same work for every client measured.
pub const MESSAGE_FIELDS: [&str; 7] = [
    "id",
    "content",
    "date_created",
    "date_updated",
    "client_key",
    "user_created.id",
    "user_created.first_name",
];

/// Runs until the socket closes (stdin reaching its end only stops the sending).
pub fn run(http: &str, email: &str, password: &str) -> Result<()> {
    let url = format!("{}/websocket", http.replacen("http", "ws", 1));
    let (mut socket, _) = tungstenite::connect(&url).map_err(|e| format!("{url}: {e}"))?;
    send(
        &mut socket,
        json!({"type": "auth", "email": email, "password": password}),
    )?;
    loop {
        let frame = read_json(&mut socket)?;
        if frame["type"] == "auth" {
            if frame["status"] == "ok" {
                break;
            }
            return Err(format!("auth refused: {}", frame["error"]));
        }
    }
    send(
        &mut socket,
        json!({"type": "subscribe", "collection": "messages", "uid": "live",
               "query": {"fields": MESSAGE_FIELDS}}),
    )?;
    let MaybeTlsStream::Plain(tcp) = socket.get_ref() else {
        return Err("plain ws:// only".into());
    };
    tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
    let socket_fd = tcp.as_raw_fd();

    let mut typed = Vec::new();
    let mut stdin_open = true;
    let mut sent = 0u64;
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let stdout = std::io::stdout();
    loop {
        // Sleep until the user types or the server speaks: no polling loop to pay for.
        let mut fds = [
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: socket_fd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfd structs, their count, no timeout.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            continue; // EINTR
        }
        if fds[0].revents != 0 {
            let mut buf = [0u8; 64 * 1024];
            // SAFETY: reading into a buffer of the given length.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                stdin_open = false;
            } else {
                typed.extend_from_slice(&buf[..n as usize]);
            }
            while let Some(end) = typed.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = typed.drain(..=end).collect();
                let content = String::from_utf8_lossy(&line[..end]).into_owned();
                sent += 1;
                send(
                    &mut socket,
                    json!({"type": "items", "collection": "messages", "action": "create",
                           "uid": format!("c{sent}"), "query": {"fields": MESSAGE_FIELDS},
                           "data": {"content": content, "client_key": format!("floor-{run}-{sent}")}}),
                )?;
            }
        }
        if fds[1].revents != 0 {
            loop {
                match socket.read() {
                    Ok(Message::Text(text)) => {
                        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if frame["type"] == "ping" {
                            send(&mut socket, json!({"type": "pong"}))?;
                        } else if frame["type"] == "subscription" && frame["event"] == "create" {
                            let mut out = stdout.lock();
                            for item in frame["data"].as_array().into_iter().flatten() {
                                let line = json!({"id": item["id"], "content": item["content"],
                                    "author": item["user_created"]["first_name"]});
                                writeln!(out, "{line}").map_err(|e| e.to_string())?;
                            }
                            out.flush().map_err(|e| e.to_string())?;
                        }
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(format!("socket: {e}")),
                }
            }
        }
    }
}

fn send(socket: &mut Socket, frame: Value) -> Result<()> {
    match socket.send(Message::text(frame.to_string())) {
        Ok(()) => Ok(()),
        // Non-blocking: the frame is queued and goes with the next write.
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(format!("socket: {e}")),
    }
}

fn read_json(socket: &mut Socket) -> Result<Value> {
    loop {
        match socket.read().map_err(|e| format!("socket: {e}"))? {
            Message::Text(text) => {
                return serde_json::from_str(&text).map_err(|e| e.to_string());
            }
            _ => continue,
        }
    }
}
