//! wss:// natively: a TLS endpoint of the test's own (its own CA, a certificate for
//! `localhost`) in front of the real Directus. Trusted through SSL_CERT_FILE the client chats
//! over it; without that it says the certificate is not trusted, and keeps nothing half-sent.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{Client, wait_for};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use xtask::testing::TestDirectus;

/// A CA and a `localhost` certificate it signed: (server config, CA in PEM).
fn certificates() -> (Arc<rustls::ServerConfig>, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "directus-chat test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca_cert, &ca_key)
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .unwrap();
    (Arc::new(config), ca_cert.pem())
}

/// Terminates TLS on a free port and relays each connection to Directus in plain TCP.
fn tls_endpoint(config: Arc<rustls::ServerConfig>, upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let config = config.clone();
            std::thread::spawn(move || relay(config, client, upstream));
        }
    });
    port
}

fn relay(config: Arc<rustls::ServerConfig>, client: TcpStream, upstream: u16) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    // One thread, both directions: short read timeouts take turns (rustls keeps partial
    // records across them).
    let tick = Some(Duration::from_millis(5));
    let _ = client.set_read_timeout(tick);
    let _ = server.set_read_timeout(tick);
    let connection = rustls::ServerConnection::new(config).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, client);
    let waiting =
        |e: &std::io::Error| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) if server.write_all(&buf[..n]).is_err() => return,
            Ok(_) => {}
            Err(e) if waiting(&e) => {}
            Err(_) => return, // e.g. the client refused our certificate
        }
        match server.read(&mut buf) {
            Ok(0) => return,
            Ok(n) if tls.write_all(&buf[..n]).and_then(|()| tls.flush()).is_err() => return,
            Ok(_) => {}
            Err(e) if waiting(&e) => {}
            Err(_) => return,
        }
    }
}

#[test]
fn chats_over_wss_with_a_trusted_ca_and_says_why_an_untrusted_one_fails() {
    let server = TestDirectus::shared();
    let (config, ca_pem) = certificates();
    let port = tls_endpoint(config, server.config.port);
    let ca_file = std::env::temp_dir().join(format!("dc-tls-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca_pem).unwrap();
    let url = format!("https://localhost:{port}");

    // Not trusted (only the public roots): a clear reason, and it keeps trying.
    let mut untrusted = Client::start_at(&url, &server.bob);
    let said = wait_for(Duration::from_secs(15), || {
        untrusted.stderr.lock().unwrap().contains("not trusted")
    });
    assert!(said, "{}", untrusted.stderr.lock().unwrap());
    assert!(
        untrusted.child.try_wait().unwrap().is_none(),
        "still trying"
    );
    untrusted.child.kill().unwrap();

    // Trusted through SSL_CERT_FILE: a whole chat over wss://.
    let text = format!("over wss {}", std::process::id());
    let ca = ca_file.to_str().unwrap();
    let mut alice = Client::start_with(&url, &server.alice, &[("SSL_CERT_FILE", ca)]);
    alice.send(&text);
    let lines = alice.finish();
    let mine = lines
        .iter()
        .find(|l| l["content"] == text.as_str())
        .unwrap_or_else(|| panic!("not printed back: {lines:?}"));
    assert_eq!(mine["author"], "Alice");
    let _ = std::fs::remove_file(&ca_file);
}
