//! Logout revokes the refresh token on a server behind a private CA too: the REST call trusts
//! what the socket trusts (SSL_CERT_FILE here). Alone in its test binary: it sets SSL_CERT_FILE
//! for the whole process before anything reads it.

mod common;

use std::sync::Arc;

use common::tls_endpoint::{certificates, tls_endpoint};
use serde_json::json;
use xtask::rest::Rest;
use xtask::testing::TestDirectus;

#[test]
fn logout_through_a_private_ca_kills_the_refresh_token() {
    let server = TestDirectus::shared();
    let (config, ca_pem) = certificates();
    let port = tls_endpoint(config, server.config.port);
    let ca_file = std::env::temp_dir().join(format!("dc-logout-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca_pem).unwrap();
    // SAFETY: set before any other thread of this test binary reads the environment.
    unsafe { std::env::set_var("SSL_CERT_FILE", &ca_file) };

    let plain = Rest::new(&server.url());
    let login = plain
        .post(
            "/auth/login",
            &json!({ "email": server.alice.email, "password": server.alice.password,
                     "mode": "json" }),
        )
        .unwrap()
        .data("log in")
        .unwrap();
    let token = login["refresh_token"].as_str().unwrap().to_owned();
    let revoked = directus_chat::edge::rest::revoke(
        &format!("https://localhost:{port}"),
        &token,
        Arc::new(|| {}),
    )
    .block_and_take();
    assert_eq!(revoked, Ok(()), "the logout went through the private CA");
    let refresh = plain
        .post(
            "/auth/refresh",
            &json!({ "refresh_token": token, "mode": "json" }),
        )
        .unwrap();
    assert_eq!(refresh.status, 401, "the token is dead on the server");
    let _ = std::fs::remove_file(&ca_file);
}
