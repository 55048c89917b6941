//! The REST calls beside the socket, each answered through a promise: logout (the refresh token
//! dies on the server, not only here) and the ping that notices a server coming back.
//! Natively over `http.rs` (the socket's TLS trust, no redirects); in the browser with ehttp.

use std::time::Duration;

use poll_promise::Promise;

use super::Wake;

/// How long a logout may take before we say the server could not be told.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(10);
/// A ping that takes longer than this is as good as none.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// POST {http}/auth/logout with the refresh token.
pub fn revoke(http: &str, refresh_token: &str, wake: Wake) -> Promise<Result<(), String>> {
    let url = format!("{http}/auth/logout");
    let body = serde_json::json!({ "refresh_token": refresh_token, "mode": "json" }).to_string();
    call(url, Some(body), LOGOUT_TIMEOUT, wake, |outcome| {
        let outcome = match outcome {
            Ok((status, _)) if (200..300).contains(&status) => Ok(()),
            Ok((status, _)) => Err(format!("logout answered HTTP {status}")),
            Err(e) => Err(e),
        };
        if let Err(e) = &outcome {
            log::warn!("could not revoke the refresh token: {e}");
        }
        outcome
    })
}

/// GET {http}/server/ping: true when Directus answers "pong".
pub fn ping(http: &str, wake: Wake) -> Promise<bool> {
    let url = format!("{http}/server/ping");
    call(
        url,
        None,
        PING_TIMEOUT,
        wake,
        |outcome| matches!(outcome, Ok((200, body)) if body.contains("pong")),
    )
}

type Outcome = Result<(u16, String), String>;

/// A request of the browser's fetch with the REST token in its `Authorization` header (never
/// in the address): pictures, downloads, the upload's checks and removal.
#[cfg(target_arch = "wasm32")]
pub fn with_bearer(method: ehttp::Method, url: String, token: &str) -> ehttp::Request {
    ehttp::Request {
        method,
        headers: ehttp::Headers::new(&[("Authorization", &format!("Bearer {token}"))]),
        ..ehttp::Request::get(url)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn call<T: Send + 'static>(
    url: String,
    body: Option<String>,
    timeout: Duration,
    wake: Wake,
    finish: impl FnOnce(Outcome) -> T + Send + 'static,
) -> Promise<T> {
    let (sender, promise) = Promise::new();
    std::thread::spawn(move || {
        let reply = match &body {
            Some(body) => super::http::post_json(&url, body, timeout),
            None => super::http::get(&url, timeout),
        };
        sender.send(finish(reply.map(|r| (r.status, r.body))));
        wake();
    });
    promise
}

#[cfg(target_arch = "wasm32")]
fn call<T: Send + 'static>(
    url: String,
    body: Option<String>,
    _timeout: Duration,
    wake: Wake,
    finish: impl FnOnce(Outcome) -> T + Send + 'static,
) -> Promise<T> {
    let (sender, promise) = Promise::new();
    // Request::post would add a text/plain Content-Type that Directus answers with HTTP 400.
    let request = match body {
        Some(body) => {
            ehttp::Request::post(url, body.into_bytes()).with_headers(ehttp::Headers::new(&[
                ("Accept", "application/json"),
                ("Content-Type", "application/json"),
            ]))
        }
        None => ehttp::Request::get(url),
    };
    ehttp::fetch(request, move |result| {
        let outcome = result.map(|r| {
            let text = r.text().unwrap_or_default().to_owned();
            (r.status, text)
        });
        sender.send(finish(outcome));
        wake();
    });
    promise
}
