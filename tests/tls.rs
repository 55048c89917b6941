//! wss:// natively: a TLS endpoint of the test's own (its own CA, a certificate for
//! `localhost`) in front of the real Directus. Trusted through SSL_CERT_FILE the client chats
//! over it; without that it says the certificate is not trusted, and keeps nothing half-sent.

mod common;

use std::time::Duration;

use common::tls_endpoint::{certificates, tls_endpoint};
use common::{Client, wait_for};
use xtask::testing::TestDirectus;

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
