//! The REST calls the native app makes (logout, the reachability ping, pictures, uploads and
//! their removal), as plain HTTP/1.1 over the connections of `net.rs`: the same TLS trust as
//! the socket, one deadline for the whole call (a server trickling its answer cannot hold it;
//! an upload has one per write instead), and redirects never followed (one could move
//! https:// to http:// before the token is sent).

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

/// A reply whose body is bytes (a picture), with its type.
#[derive(Debug)]
pub struct BytesReply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Replies longer than this are cut: neither JSON call needs more.
const MAX_REPLY: u64 = 64 * 1024;

pub fn post_json(url: &str, body: &str, timeout: Duration) -> Result<Reply, String> {
    let reply = request(
        "POST",
        url,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
        timeout,
        MAX_REPLY,
    )?;
    Ok(reply.into_text())
}

pub fn get(url: &str, timeout: Duration) -> Result<Reply, String> {
    Ok(request("GET", url, &[], &[], timeout, MAX_REPLY)?.into_text())
}

/// GET with a bearer token, the body as bytes (at most `max`: a longer one is an error).
pub fn get_bytes(
    url: &str,
    token: &str,
    timeout: Duration,
    max: u64,
) -> Result<BytesReply, String> {
    let bearer = format!("Bearer {token}");
    request("GET", url, &[("Authorization", &bearer)], &[], timeout, max)
}

impl BytesReply {
    fn into_text(self) -> Reply {
        Reply {
            status: self.status,
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }
    }
}

fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
    max: u64,
) -> Result<BytesReply, String> {
    // The whole call (connect, TLS, request, reply) ends within `timeout`, however slowly the
    // server answers: every read and write on the socket waits only for what is left.
    let (mut stream, target) = open(url, timeout, Instant::now() + timeout)?;
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Accept: application/json, image/*\r\nContent-Length: {}\r\n",
        target.path,
        target.authority,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut reply = Vec::new();
    // The head's size on top of the body's limit.
    let limit = max.saturating_add(16 * 1024);
    exchange(&mut stream, &head, body, &mut reply, limit)?;
    parse(&reply, max)
}

/// What a request line and its Host header name.
struct Target {
    path: String,
    authority: String,
}

/// A connection to `url`'s server (TLS for https://, with the socket's trust), each read and
/// write waiting at most until `until`.
fn open(url: &str, connect: Duration, until: Instant) -> Result<(Stream, Target), String> {
    let uri: tungstenite::http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{url}: not an http(s) address")),
    };
    let host = uri.host().ok_or_else(|| format!("{url}: no host"))?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let target = Target {
        path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        authority: uri.authority().map_or(host, |a| a.as_str()).to_owned(),
    };
    let tcp = Timed {
        tcp: net::connect_tcp(host, port, connect)?,
        at: until.into(),
    };
    if !secure {
        return Ok((Stream::Plain(tcp), target));
    }
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host}: {e}"))?;
    let tls = rustls::ClientConnection::new(net::tls_config(), name).map_err(|e| e.to_string())?;
    let stream = rustls::StreamOwned::new(tls, tcp);
    Ok((Stream::Tls(Box::new(stream)), target))
}

enum Stream {
    Plain(Timed),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Timed>>),
}

impl Stream {
    /// Reads and writes may wait `for_` more from now (an upload pushes this on as it goes).
    fn extend(&self, for_: Duration) {
        let timed = match self {
            Stream::Plain(timed) => timed,
            Stream::Tls(tls) => &tls.sock,
        };
        timed.at.set(Instant::now() + for_);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A body streamed by [`post_stream`]: what goes before the bytes, the bytes (and how many),
/// what goes after.
pub struct Body<'a> {
    pub content_type: &'a str,
    pub before: &'a str,
    pub bytes: &'a mut dyn Read,
    pub len: u64,
    pub after: &'a str,
}

/// How an upload is watched: bytes sent so far, and a flag that stops it.
pub struct Watch<'a> {
    pub sent: &'a std::sync::atomic::AtomicU64,
    pub cancel: &'a std::sync::atomic::AtomicBool,
}

/// No byte going out (or no answer once all went) for this long: the upload has stalled.
const STALL: Duration = Duration::from_secs(60);

/// `POST {url}` with a bearer token and a body streamed from a reader (a file's upload). No
/// deadline for the whole call (a large file on a slow line takes what it takes), but one per
/// write and for the answer: a stalled upload ends. The server may answer before it has read
/// everything (a refusal) and close: then what it said is the answer, not the broken write.
/// Why a [`post_stream`] ended without an answer.
#[derive(Debug)]
pub enum PostError {
    /// The file could not be read (gone, shorter than it was): sending again will not help.
    File(String),
    /// The line or the server failed, or the user cancelled.
    Line(String),
}

pub fn post_stream(url: &str, token: &str, body: Body, watch: &Watch) -> Result<Reply, PostError> {
    use std::sync::atomic::Ordering;
    let (mut stream, target) = open(url, STALL, Instant::now() + STALL).map_err(PostError::Line)?;
    let length = body.before.len() as u64 + body.len + body.after.len() as u64;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Type: {}\r\nContent-Length: {length}\r\n\r\n",
        target.path, target.authority, body.content_type
    );
    let failed = |e: std::io::Error| {
        if timed_out(&e) {
            "the upload stalled".to_owned()
        } else {
            e.to_string()
        }
    };
    // Writes until one fails (then the answer is read all the same).
    let mut write_failed = None;
    let mut write = |stream: &mut Stream, bytes: &[u8]| {
        if write_failed.is_none() {
            stream.extend(STALL);
            write_failed = stream.write_all(bytes).err().map(failed);
        }
        write_failed.is_none()
    };
    if write(&mut stream, head.as_bytes()) && write(&mut stream, body.before.as_bytes()) {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut sent = 0u64;
        while sent < body.len {
            if watch.cancel.load(Ordering::Relaxed) {
                return Err(PostError::Line("cancelled".into()));
            }
            let want = chunk.len().min((body.len - sent) as usize);
            let n = body
                .bytes
                .read(&mut chunk[..want])
                .map_err(|e| PostError::File(format!("reading the file: {e}")))?;
            if n == 0 {
                return Err(PostError::File(
                    "the file got shorter while it was sent".into(),
                ));
            }
            if !write(&mut stream, &chunk[..n]) {
                break;
            }
            sent += n as u64;
            watch.sent.store(sent, Ordering::Relaxed);
        }
        if write(&mut stream, body.after.as_bytes()) {
            let _ = stream.flush();
        }
    }
    stream.extend(STALL);
    let mut reply = Vec::new();
    let mut chunk = [0u8; 8192];
    while (reply.len() as u64) < MAX_REPLY {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            Err(_) if !reply.is_empty() => break,
            Err(e) => return Err(PostError::Line(write_failed.unwrap_or_else(|| failed(e)))),
        }
    }
    match write_failed {
        Some(why) if reply.is_empty() => Err(PostError::Line(why)),
        _ => Ok(parse(&reply, MAX_REPLY)
            .map_err(PostError::Line)?
            .into_text()),
    }
}

/// DELETE with a bearer token (a file an upload left behind).
pub fn delete(url: &str, token: &str, timeout: Duration) -> Result<Reply, String> {
    let bearer = format!("Bearer {token}");
    Ok(request(
        "DELETE",
        url,
        &[("Authorization", &bearer)],
        &[],
        timeout,
        MAX_REPLY,
    )?
    .into_text())
}

/// A socket whose every read and write waits at most until `at` (then: TimedOut).
struct Timed {
    tcp: TcpStream,
    /// Pushed on by an upload as its bytes go out (see `upload`).
    at: std::cell::Cell<Instant>,
}

impl Timed {
    fn arm(&self) -> std::io::Result<()> {
        let left = self.at.get().saturating_duration_since(Instant::now());
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
    body: &[u8],
    reply: &mut Vec<u8>,
    limit: u64,
) -> Result<(), String> {
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
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
    while (reply.len() as u64) < limit {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            Err(e) if timed_out(&e) => return Err(TOO_SLOW.to_owned()),
            Err(_) if !reply.is_empty() => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    reply.truncate(limit as usize);
    Ok(())
}

/// Status, type and body of a reply read to its end; a chunked body is put back together.
/// A body past `max` is cut (JSON calls read only the start), except a picture's: half a
/// picture is no picture.
fn parse(reply: &[u8], max: u64) -> Result<BytesReply, String> {
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(at) => (&reply[..at], &reply[at + 4..]),
        None => (reply, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "the server's answer is not HTTP".to_owned())?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let chunked = header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    let mut body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    let content_type = header("content-type").unwrap_or_default();
    if body.len() as u64 > max {
        if content_type.starts_with("image/") {
            return Err("the picture is larger than the chat takes".into());
        }
        body.truncate(max as usize);
    }
    Ok(BytesReply {
        status,
        content_type,
        body,
    })
}

/// The body of a `Transfer-Encoding: chunked` reply (sizes in hex, each chunk then CRLF; a
/// reply cut short keeps what arrived whole).
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(data.len());
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(body);
        };
        let line = String::from_utf8_lossy(&data[..end]);
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| "the server's chunked answer is garbled".to_owned())?;
        data = &data[end + 2..];
        if size == 0 || data.len() < size {
            return Ok(body);
        }
        body.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
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
    fn a_chunked_body_is_put_back_together_and_a_picture_is_never_cut() {
        let reply =
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n\
                      4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n";
        let parsed = super::parse(reply, 100).unwrap();
        assert_eq!(
            (parsed.status, parsed.body.as_slice()),
            (200, &b"abcdefg"[..])
        );
        assert_eq!(parsed.content_type, "image/png");
        assert!(super::parse(reply, 5).is_err(), "half a picture");
        let json =
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n\r\n{\"errors\":[]}";
        let parsed = super::parse(json, 4).unwrap();
        assert_eq!(
            (parsed.status, parsed.body.as_slice()),
            (403, &b"{\"er"[..])
        );
        assert!(super::dechunk(b"zz\r\nabc").is_err());
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
