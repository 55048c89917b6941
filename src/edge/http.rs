//! The two REST calls the native app makes (logout and the reachability ping), as plain
//! HTTP/1.1 over the connections of `net.rs`: the same TLS trust as the socket, a timeout on
//! every step, and redirects never followed (one could move https:// to http:// before the
//! token is sent).

use std::io::{Read, Write};
use std::time::Duration;

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
    let tcp = net::connect_tcp(host, port, timeout)?;
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
        .map_err(|e| e.to_string())?;
    // Read to the end (Connection: close). A server closing without TLS close_notify still
    // said what it had to say: what arrived counts.
    if let Err(e) = stream.take(MAX_REPLY).read_to_end(reply)
        && reply.is_empty()
    {
        return Err(e.to_string());
    }
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
