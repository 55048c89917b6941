//! A member's WebSocket, as a member calling Directus directly would use it.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

use crate::provision::Member;

pub struct Socket(WebSocket<MaybeTlsStream<TcpStream>>);

impl Socket {
    /// Connected, not authenticated.
    pub fn connect(ws_url: &str) -> Socket {
        let (socket, _) = tungstenite::connect(ws_url).expect("connect websocket");
        Socket(socket)
    }

    /// Connected and authenticated as `member`.
    pub fn as_member(ws_url: &str, member: &Member) -> Socket {
        let mut socket = Socket::connect(ws_url);
        socket.send(json!({"type": "auth", "email": member.email,
                           "password": member.password, "uid": "auth"}));
        let auth = socket.next(Duration::from_secs(10)).expect("auth reply");
        assert_eq!(auth["status"], "ok", "{auth}");
        socket
    }

    pub fn send(&mut self, frame: Value) {
        self.0.send(Message::text(frame.to_string())).unwrap();
    }

    /// The next JSON frame that is not a server ping, within `wait` (None: nothing came).
    pub fn next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            if let MaybeTlsStream::Plain(tcp) = self.0.get_ref() {
                tcp.set_read_timeout(Some(left)).unwrap();
            }
            match self.0.read() {
                Ok(Message::Text(text)) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["type"] != "ping" {
                        return Some(frame);
                    }
                }
                Ok(Message::Close(frame)) => panic!("closed: {frame:?}"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None;
                }
                Err(e) => panic!("socket: {e}"),
            }
        }
    }

    /// The reply carrying `uid` (other frames before it are returned too, in order).
    pub fn until_uid(&mut self, uid: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let frame = self
                .next(Duration::from_secs(10))
                .unwrap_or_else(|| panic!("no reply {uid}; got {before:?}"));
            if frame["uid"] == uid && frame["type"] != "subscription" {
                return (frame, before);
            }
            before.push(frame);
        }
    }
}
