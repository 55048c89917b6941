//! A TLS endpoint of the tests' own: its own CA and a `localhost` certificate, terminating TLS
//! in front of the real Directus (plain TCP behind it).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

/// A CA and a `localhost` certificate it signed: (server config, CA in PEM).
pub fn certificates() -> (Arc<rustls::ServerConfig>, String) {
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
pub fn tls_endpoint(config: Arc<rustls::ServerConfig>, upstream: u16) -> u16 {
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
