//! The two REST calls the native app makes (logout and the reachability ping), as plain
//! HTTP/1.1 over the connections of `net.rs`: the same TLS trust as the socket, one deadline
//! for the whole call (a server trickling its answer cannot hold it), and redirects never
//! followed (one could move https:// to http:// before the token is sent).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::net;

/// A reply: its status and (the start of) its body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Replies longer than this are cut: neither call needs more.
const MAX_REPLY: u64 = 64 * 1024;

pub fn post_json(url: &str, body: &str, timeout: Duration) -> Result<Reply, String> {
    request("POST", url, Some(body), timeout)
}

pub fn get(url: &str, timeout: Duration) -> Result<Reply, String> {
    request("GET", url, None, timeout)
}

fn request(
    method: &str,
    url: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Reply, String> {
    let uri: tungstenite::http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{url}: not an http(s) address")),
    };
    let host = uri.host().ok_or_else(|| format!("{url}: no host"))?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Accept: application/json\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    // The whole call (connect, TLS, request, reply) ends within `timeout`, however slowly the
    // server answers: every read and write on the socket waits only for what is left.
    let at = Instant::now() + timeout;
    let tcp = Timed {
        tcp: net::connect_tcp(host, port, timeout)?,
        at,
    };
    let mut reply = Vec::new();
    if secure {
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| format!("{host}: {e}"))?;
        let tls =
            rustls::ClientConnection::new(net::tls_config(), name).map_err(|e| e.to_string())?;
        let mut stream = rustls::StreamOwned::new(tls, tcp);
        exchange(&mut stream, &head, body, &mut reply)?;
    } else {
        let mut stream = tcp;
        exchange(&mut stream, &head, body, &mut reply)?;
    }
    parse(&reply)
}

/// A socket whose every read and write waits at most until `at` (then: TimedOut).
struct Timed {
    tcp: TcpStream,
    at: Instant,
}

impl Timed {
    fn arm(&self) -> std::io::Result<()> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.set_write_timeout(Some(left))
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

const TOO_SLOW: &str = "the server did not answer in time";

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn exchange(
    stream: &mut (impl Read + Write),
    head: &str,
    body: &str,
    reply: &mut Vec<u8>,
) -> Result<(), String> {
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .and_then(|()| stream.flush())
        .map_err(|e| {
            if timed_out(&e) {
                TOO_SLOW.to_owned()
            } else {
                e.to_string()
            }
        })?;
    // Read to the end (Connection: close). A server closing without TLS close_notify still
    // said what it had to say: what arrived counts. One that has not finished in time has not
    // answered.
    let mut chunk = [0u8; 8192];
    while (reply.len() as u64) < MAX_REPLY {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            Err(e) if timed_out(&e) => return Err(TOO_SLOW.to_owned()),
            Err(_) if !reply.is_empty() => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    reply.truncate(MAX_REPLY as usize);
    Ok(())
}

fn parse(reply: &[u8]) -> Result<Reply, String> {
    let text = String::from_utf8_lossy(reply);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "the server's answer is not HTTP".to_owned())?;
    Ok(Reply {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    /// A server that answers one byte at a time, each just within the read timeout.
    fn trickling_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let reply = format!("HTTP/1.1 200 OK\r\n\r\n{}", "p".repeat(10_000));
            for byte in reply.bytes() {
                if stream.write_all(&[byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        port
    }

    #[test]
    fn a_reply_that_trickles_in_ends_at_the_timeout() {
        let port = trickling_server();
        let (done, waited) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let started = Instant::now();
            let reply = super::get(
                &format!("http://127.0.0.1:{port}/server/ping"),
                Duration::from_secs(1),
            );
            let _ = done.send((reply.map(|r| r.status), started.elapsed()));
        });
        let (reply, took) = waited
            .recv_timeout(Duration::from_secs(10))
            .expect("the call ends, however slowly the server answers");
        assert!(took < Duration::from_secs(3), "took {took:?}");
        assert!(reply.is_err(), "{reply:?}");
    }
}
