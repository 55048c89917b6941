//! The WebSocket. On the web: ewebsock (the browser's own WebSocket). Natively: a thread per
//! socket that sleeps in poll(2) until the server speaks or we have something to say.
//! ewebsock's native loop instead reads with a timeout and sends only between reads: every
//! send waited up to that timeout (10 ms by default), and an idle socket woke up 100 (or, with
//! a 1 ms timeout, 1,000) times a second. Measured with `cargo xtask bench`.

use super::SocketEvent;

/// Called from the socket's thread; returns false when nobody listens any more.
pub type OnEvent = Box<dyn Fn(SocketEvent) -> bool + Send>;

/// Directus accepts ~2 MiB messages; a page of them stays far below this (and the session asks
/// for smaller pages when one does not arrive).
const MAX_INCOMING: usize = 64 * 1024 * 1024;

/// Natively, each step of opening a socket (TCP connect, TLS and WebSocket handshakes) may take
/// this long: a server that accepts and never answers costs a thread for this long, not forever.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(target_arch = "wasm32")]
pub use web::Socket;

#[cfg(not(target_arch = "wasm32"))]
pub use native::Socket;

#[cfg(target_arch = "wasm32")]
mod web {
    use std::ops::ControlFlow;

    use super::{MAX_INCOMING, OnEvent, SocketEvent};

    pub struct Socket(ewebsock::WsSender);

    impl Socket {
        pub fn connect(url: String, on_event: OnEvent) -> Result<Socket, String> {
            let handler = Box::new(move |event: ewebsock::WsEvent| {
                let event = match event {
                    ewebsock::WsEvent::Opened => SocketEvent::Opened,
                    ewebsock::WsEvent::Message(ewebsock::WsMessage::Text(text)) => {
                        SocketEvent::Frame(text)
                    }
                    ewebsock::WsEvent::Message(_) => return ControlFlow::Continue(()),
                    ewebsock::WsEvent::Error(e) => SocketEvent::Closed(e),
                    ewebsock::WsEvent::Closed => {
                        SocketEvent::Closed("the server closed the connection".into())
                    }
                };
                if on_event(event) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            });
            let options = ewebsock::Options {
                max_incoming_frame_size: MAX_INCOMING,
                ..Default::default()
            };
            ewebsock::ws_connect(url, options, handler).map(Socket)
        }

        pub fn send(&mut self, text: String) {
            self.0.send(ewebsock::WsMessage::Text(text));
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpStream;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

    use std::time::Duration;

    use tungstenite::client::IntoClientRequest;
    use tungstenite::handshake::HandshakeError;
    use tungstenite::protocol::WebSocketConfig;
    use tungstenite::stream::MaybeTlsStream;
    use tungstenite::{Connector, Message, WebSocket};

    use super::{HANDSHAKE_TIMEOUT, MAX_INCOMING, OnEvent, SocketEvent};
    use crate::edge::net;

    type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

    /// Dropping it closes the socket (the thread notices and says goodbye to the server).
    pub struct Socket {
        /// None once dropped: the closed channel tells the thread to hang up.
        outgoing: Option<Sender<String>>,
        /// One byte written here wakes the socket's thread from poll(2).
        wake: UnixStream,
    }

    impl Socket {
        pub fn connect(url: String, on_event: OnEvent) -> Result<Socket, String> {
            Self::connect_with_timeout(url, HANDSHAKE_TIMEOUT, on_event)
        }

        /// `connect` with another limit on each step of the opening.
        pub fn connect_with_timeout(
            url: String,
            timeout: Duration,
            on_event: OnEvent,
        ) -> Result<Socket, String> {
            let (outgoing, queued) = channel();
            let (wake, woken) = UnixStream::pair().map_err(|e| e.to_string())?;
            woken.set_nonblocking(true).map_err(|e| e.to_string())?;
            std::thread::Builder::new()
                .name("websocket".into())
                .spawn(move || {
                    if let Err(e) = run(&url, timeout, &on_event, &queued, woken) {
                        on_event(SocketEvent::Closed(e));
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(Socket {
                outgoing: Some(outgoing),
                wake,
            })
        }

        pub fn send(&mut self, text: String) {
            if let Some(outgoing) = &self.outgoing
                && outgoing.send(text).is_ok()
            {
                let _ = self.wake.write(&[1]);
            }
        }
    }

    impl Drop for Socket {
        fn drop(&mut self) {
            drop(self.outgoing.take()); // first close the channel, then wake the thread
            let _ = self.wake.write(&[0]);
        }
    }

    fn tcp(ws: &Ws) -> Option<&TcpStream> {
        match ws.get_ref() {
            MaybeTlsStream::Plain(tcp) => Some(tcp),
            MaybeTlsStream::Rustls(tls) => Some(&tls.sock),
            _ => None,
        }
    }

    /// TCP, TLS and the WebSocket handshake, each step bounded by `timeout`. Redirects are
    /// not followed: one could move wss:// to ws:// before the token is sent.
    fn open(url: &str, timeout: Duration, config: WebSocketConfig) -> Result<Ws, String> {
        let request = url
            .into_client_request()
            .map_err(|e| format!("bad address {url:?}: {e}"))?;
        let uri = request.uri();
        let secure = uri.scheme_str() == Some("wss");
        let host = uri
            .host()
            .ok_or_else(|| format!("no host in {url:?}"))?
            .to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let tcp = net::connect_tcp(&host, port, timeout)?;
        let connector = Connector::Rustls(net::tls_config());
        match tungstenite::client_tls_with_config(request, tcp, Some(config), Some(connector)) {
            Ok((ws, _)) => Ok(ws),
            // A read timed out mid-handshake.
            Err(HandshakeError::Interrupted(_)) => Err(format!(
                "the server accepted the connection but did not answer within {timeout:?}"
            )),
            Err(HandshakeError::Failure(tungstenite::Error::Http(response)))
                if response.status().is_redirection() =>
            {
                let to = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or("elsewhere");
                Err(format!(
                    "the server redirects to {to}; redirects are not followed (use that address)"
                ))
            }
            Err(HandshakeError::Failure(tungstenite::Error::Io(e)))
                if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut =>
            {
                Err(format!(
                    "the server accepted the connection but did not answer within {timeout:?}"
                ))
            }
            // A proxy in front of a Directus that is down or restarting.
            Err(HandshakeError::Failure(tungstenite::Error::Http(response)))
                if response.status().is_server_error() =>
            {
                Err(format!(
                    "the server is unavailable for now (HTTP {})",
                    response.status()
                ))
            }
            // Something answered, but not with a WebSocket: say what it is.
            Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                Err(not_a_websocket(url, response.status().as_u16(), timeout))
            }
            Err(HandshakeError::Failure(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::HttparseError(_),
            ))) => Err(format!(
                "{host}:{port} answers, but does not speak HTTP: is that the right port?"
            )),
            Err(HandshakeError::Failure(e)) => Err(e.to_string()),
        }
    }

    /// The WebSocket was refused with an HTTP status: ask `/server/ping` whether a Directus
    /// is there at all (its WebSockets may just be off).
    fn not_a_websocket(url: &str, status: u16, timeout: Duration) -> String {
        let http = url
            .strip_suffix("/websocket")
            .unwrap_or(url)
            .replacen("ws", "http", 1);
        let directus = crate::edge::http::get(&format!("{http}/server/ping"), timeout)
            .is_ok_and(|reply| reply.status == 200 && reply.body.contains("pong"));
        if directus {
            format!(
                "{http} is a Directus server, but its WebSockets are off (HTTP {status} at \
                 /websocket): its administrator must set WEBSOCKETS_ENABLED=true"
            )
        } else {
            format!(
                "{http} answers, but is not a Directus server (no /server/ping): check the \
                 address"
            )
        }
    }

    fn run(
        url: &str,
        timeout: Duration,
        on_event: &OnEvent,
        queued: &Receiver<String>,
        mut woken: UnixStream,
    ) -> Result<(), String> {
        let config = WebSocketConfig {
            max_message_size: Some(MAX_INCOMING),
            max_frame_size: Some(MAX_INCOMING),
            ..Default::default()
        };
        let mut ws = open(url, timeout, config)?;
        let tcp = tcp(&ws).ok_or("unsupported stream")?;
        tcp.set_read_timeout(None)
            .and_then(|()| tcp.set_write_timeout(None))
            .and_then(|()| tcp.set_nonblocking(true))
            .map_err(|e| e.to_string())?;
        let socket_fd = tcp.as_raw_fd();
        if !on_event(SocketEvent::Opened) {
            return Ok(());
        }
        let mut unflushed = false;
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: socket_fd,
                    events: libc::POLLIN | if unflushed { libc::POLLOUT } else { 0 },
                    revents: 0,
                },
                libc::pollfd {
                    fd: woken.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfd structs and their count; no timeout (sleep until told).
            if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.to_string());
            }
            // Whatever woke us: empty the wake pipe, send what is queued, read what came.
            let mut drain = [0u8; 64];
            while matches!(woken.read(&mut drain), Ok(n) if n > 0) {}
            loop {
                match queued.try_recv() {
                    Ok(text) => match ws.write(Message::text(text)) {
                        Ok(()) => {}
                        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => return Err(format!("send: {e}")),
                    },
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        // The app dropped this socket: a polite close, then done.
                        let _ = ws.close(None);
                        let _ = ws.flush();
                        return Ok(());
                    }
                }
            }
            loop {
                match ws.read() {
                    Ok(Message::Text(text)) => {
                        if !on_event(SocketEvent::Frame(text.to_string())) {
                            return Ok(());
                        }
                    }
                    Ok(Message::Close(_)) => {
                        on_event(SocketEvent::Closed(
                            "the server closed the connection".into(),
                        ));
                        return Ok(());
                    }
                    Ok(_) => {} // a ping: tungstenite queued the pong, flushed below
                    Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(tungstenite::Error::ConnectionClosed) => {
                        on_event(SocketEvent::Closed(
                            "the server closed the connection".into(),
                        ));
                        return Ok(());
                    }
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
            // Once per wake-up: what was sent above and any pong queued by the reads. What the
            // kernel cannot take now goes when poll(2) says the socket is writable.
            unflushed = match ws.flush() {
                Ok(()) => false,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => true,
                Err(e) => return Err(format!("send: {e}")),
            };
        }
    }
}
