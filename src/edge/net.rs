//! Native connections, shared by the WebSocket and the two REST calls (logout, ping): TCP
//! with a connect timeout, and one TLS trust decision for both (the WebPKI roots plus the
//! system's trust store, which honours SSL_CERT_FILE), so a private CA that lets the socket
//! in also lets the logout through.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore};

/// Connect to `host:port`, trying each address for at most `timeout`; reads and writes on the
/// stream time out after `timeout` too (until the caller changes that).
pub fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    // IPv6 literals come bracketed in URLs.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(|_| format!("there is no such host as \"{host}\": check the address"))?;
    let mut last = format!("no address for {host:?}");
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(timeout))
                    .and_then(|()| stream.set_write_timeout(Some(timeout)))
                    .map_err(|e| e.to_string())?;
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("{address} did not answer within {timeout:?}");
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("Nothing answers at {host}:{port}: is Directus running there?");
            }
            Err(e) => last = format!("{address}: {e}"),
        }
    }
    Err(last)
}

/// The TLS settings of every native connection (built once: loading the system store is slow).
pub fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            match rustls_native_certs::load_native_certs() {
                Ok(certs) => {
                    let (added, ignored) = roots.add_parsable_certificates(certs);
                    log::debug!("trusting {added} system certificates ({ignored} unreadable)");
                }
                Err(e) => log::warn!("the system trust store could not be read: {e}"),
            }
            Arc::new(
                ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}
