//! A WebSocket proxy of the tests' own between a client and the real Directus, which sees
//! every frame: it can cut clients off (and keep them off), answer a chosen request itself
//! (an error frame, as a refusing server would), or hold a frame back. Everything else passes
//! unchanged both ways.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// What to do with a client's frame.
pub enum Verdict {
    Forward,
    /// Do not forward; send this frame back to the client instead.
    Answer(String),
    /// Do not forward; say nothing (a frame lost in transit).
    Swallow,
}

type Rule = Box<dyn FnMut(&Value) -> Option<Verdict> + Send>;

#[derive(Default)]
struct Shared {
    /// Clients are cut off and new connections refused while set.
    offline: AtomicBool,
    /// One-shot rules, tried in order on each client frame; a rule that answers is dropped.
    rules: Mutex<Vec<Rule>>,
    /// Connections made through the proxy (not counting refused ones).
    connections: AtomicUsize,
}

pub struct FrameProxy {
    pub port: u16,
    shared: Arc<Shared>,
}

impl FrameProxy {
    pub fn start(upstream_port: u16) -> FrameProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let accept_shared = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if accept_shared.offline.load(Ordering::SeqCst) {
                    drop(client); // nothing there: the client sees a closed connection
                    continue;
                }
                let shared = accept_shared.clone();
                std::thread::spawn(move || {
                    let _ = relay(client, upstream_port, &shared);
                });
            }
        });
        FrameProxy { port, shared }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Cut every client off and refuse new connections until `online`.
    pub fn offline(&self) {
        self.shared.offline.store(true, Ordering::SeqCst);
    }

    pub fn online(&self) {
        self.shared.offline.store(false, Ordering::SeqCst);
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The first client frame for which `rule` returns a verdict gets it; the rule is then
    /// spent. Frames before it pass unchanged.
    pub fn once(&self, rule: impl FnMut(&Value) -> Option<Verdict> + Send + 'static) {
        self.shared.rules.lock().unwrap().push(Box::new(rule));
    }
}

fn websocket_config() -> WebSocketConfig {
    WebSocketConfig {
        max_message_size: None,
        max_frame_size: None,
        ..Default::default()
    }
}

fn relay(client: TcpStream, upstream_port: u16, shared: &Shared) -> Result<(), String> {
    let mut client = tungstenite::accept_with_config(client, Some(websocket_config()))
        .map_err(|e| e.to_string())?;
    let server_tcp = TcpStream::connect(("127.0.0.1", upstream_port)).map_err(|e| e.to_string())?;
    let url = format!("ws://127.0.0.1:{upstream_port}/websocket");
    let (mut server, _) =
        tungstenite::client::client_with_config(url, server_tcp, Some(websocket_config()))
            .map_err(|e| e.to_string())?;
    shared.connections.fetch_add(1, Ordering::SeqCst);
    // Short read timeouts on both sides: one thread takes turns (tungstenite resumes a frame
    // cut by a timeout where it left off).
    for ws in [&client, &server] {
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(2)))
            .map_err(|e| e.to_string())?;
    }
    loop {
        if shared.offline.load(Ordering::SeqCst) {
            let _ = client.get_mut().shutdown(std::net::Shutdown::Both);
            let _ = server.get_mut().shutdown(std::net::Shutdown::Both);
            return Ok(());
        }
        if let Some(message) = read(&mut client)? {
            let verdict = match &message {
                Message::Text(text) => judge(shared, text),
                _ => Verdict::Forward,
            };
            match verdict {
                Verdict::Forward => server.send(message).map_err(|e| e.to_string())?,
                Verdict::Answer(frame) => client
                    .send(Message::text(frame))
                    .map_err(|e| e.to_string())?,
                Verdict::Swallow => {}
            }
        }
        if let Some(message) = read(&mut server)? {
            client.send(message).map_err(|e| e.to_string())?;
        }
    }
}

fn judge(shared: &Shared, text: &str) -> Verdict {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return Verdict::Forward;
    };
    let mut rules = shared.rules.lock().unwrap();
    for at in 0..rules.len() {
        if let Some(verdict) = rules[at](&frame) {
            drop(rules.remove(at));
            return verdict;
        }
    }
    Verdict::Forward
}

/// One message if one came within the read timeout.
fn read(ws: &mut WebSocket<TcpStream>) -> Result<Option<Message>, String> {
    match ws.read() {
        Ok(Message::Close(_)) => Err("closed".into()),
        Ok(message) => Ok(Some(message)),
        Err(tungstenite::Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}
