//! Uploads carried out: a multipart `POST /files` (form fields first, then the file, as
//! Directus reads them) under the id the session chose, into the room and the chat's folder.
//! Natively the file is streamed from its path on a thread of its own, its progress counted
//! and Cancel honoured; on the web the page's bytes go out with fetch. A duplicate-id refusal
//! means an earlier attempt got through and its reply was lost: the stored copy is checked
//! for its size, and counts as this upload if whole.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use poll_promise::Promise;
use serde_json::Value;
use web_time::Instant;

use super::Wake;
use crate::core::session::{Effect, FileSource, NewFile, Session, UploadOutcome};

/// The folder uploads go into (the server's create rule names it; see xtask/src/files.rs).
pub const CHAT_FOLDER: &str = "c4a7f01d-e5a1-4c0b-9a7e-0c4a7f01de5a";
#[cfg(not(target_arch = "wasm32"))]
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

struct Running {
    sent: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    done: Promise<UploadOutcome>,
    /// Cancelled: what it stored is deleted once it ends (with this address and token).
    cancelled: Option<(String, Option<String>)>,
}

#[derive(Default)]
pub struct Uploads {
    running: HashMap<String, Running>,
    /// Deletes of what cancelled uploads left (waited for only so the thread is not lost).
    dropping: Vec<Promise<()>>,
}

/// One upload, as the thread (or the page's fetch) needs it.
pub struct Job {
    pub http: String,
    pub token: String,
    pub id: String,
    pub room: String,
    pub file: NewFile,
}

impl Uploads {
    pub fn start(&mut self, job: Job, wake: Wake) {
        let sent = Arc::new(AtomicU64::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let id = job.id.clone();
        let done = run(job, sent.clone(), cancel.clone(), wake);
        let running = Running {
            sent,
            cancel,
            done,
            cancelled: None,
        };
        self.running.insert(id, running);
    }

    /// Stop `id` and delete what it stored (when a token is held): at once if it is not
    /// running, else once it ended (the server may store it after the stop was asked).
    pub fn drop_upload(&mut self, http: &str, token: Option<String>, id: &str, wake: Wake) {
        match self.running.get_mut(id) {
            Some(running) => {
                running.cancel.store(true, Ordering::Relaxed);
                running.cancelled = Some((http.to_owned(), token));
            }
            None => {
                if let Some(token) = token {
                    self.dropping
                        .push(remove(format!("{http}/files/{id}"), token, wake));
                }
            }
        }
    }

    /// Progress and endings, to the session; what it asks next comes back.
    pub fn poll(&mut self, session: &mut Session, now: Instant, wake: &Wake) -> Vec<Effect> {
        self.dropping.retain(|p| p.ready().is_none());
        let mut effects = Vec::new();
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in ids {
            let Some(running) = self.running.get(&id) else {
                continue;
            };
            session.upload_progress(&id, running.sent.load(Ordering::Relaxed));
            if running.done.ready().is_some()
                && let Some(running) = self.running.remove(&id)
            {
                let outcome = running.done.block_and_take();
                match running.cancelled {
                    // Whatever it says, a copy may be there: removed (not found is fine).
                    Some((http, Some(token))) => self.dropping.push(remove(
                        format!("{http}/files/{id}"),
                        token,
                        wake.clone(),
                    )),
                    Some((_, None)) => {}
                    None => effects.extend(session.upload_finished(&id, outcome, now)),
                }
            }
        }
        effects
    }
}

/// The multipart form around a file's bytes: the fields first (Directus reads them before the
/// file), then the file's header; and the closing boundary. Returns the content type too.
fn multipart(job: &Job) -> (String, String, String) {
    let boundary = format!("directus-chat-{}", crate::core::session::new_client_key());
    let mut before = String::new();
    for (name, value) in [
        ("id", job.id.as_str()),
        ("room", job.room.as_str()),
        ("folder", CHAT_FOLDER),
    ] {
        before.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    // One line without quotes: nothing in a name or type can end its header early.
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c == '"' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    };
    before.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
         Content-Type: {}\r\n\r\n",
        clean(&job.file.name),
        clean(&job.file.mime)
    ));
    let after = format!("\r\n--{boundary}--\r\n");
    (
        format!("multipart/form-data; boundary={boundary}"),
        before,
        after,
    )
}

/// What Directus's answer to the upload means (`stored_size`: asks for the stored copy's size
/// after a duplicate refusal).
fn outcome_of(
    status: u16,
    body: &str,
    expected: u64,
    stored_size: impl FnOnce() -> Result<Option<u64>, String>,
) -> UploadOutcome {
    if (200..300).contains(&status) {
        return UploadOutcome::Stored;
    }
    let reply: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = reply["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("");
    let message = reply["errors"][0]["message"].as_str().unwrap_or("");
    match (status, code) {
        (400, "RECORD_NOT_UNIQUE") => match stored_size() {
            Ok(Some(size)) if size == expected => UploadOutcome::Stored,
            // An earlier try still being stored (or one that died half-way): later.
            Ok(_) => UploadOutcome::Passing("an earlier try is not stored whole yet".into()),
            Err(why) => UploadOutcome::Passing(why),
        },
        (413, _) => UploadOutcome::Refused(format!(
            "The server refused the file: {}",
            if message.is_empty() {
                "it is too large"
            } else {
                message
            }
        )),
        (401, _) => UploadOutcome::Unauthorized,
        (500.., _) | (429, _) => UploadOutcome::Passing(format!("HTTP {status} {message}")),
        _ => UploadOutcome::Refused(format!(
            "The server refused the file: {}",
            if message.is_empty() {
                format!("HTTP {status}")
            } else {
                message.to_owned()
            }
        )),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn run(
    job: Job,
    sent: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    wake: Wake,
) -> Promise<UploadOutcome> {
    use crate::edge::http;
    let (sender, promise) = Promise::new();
    std::thread::spawn(move || {
        let url = format!("{}/files", job.http);
        let (content_type, before, after) = multipart(&job);
        let opened: Result<Box<dyn std::io::Read>, String> = match &job.file.source {
            FileSource::Path(path) => std::fs::File::open(path)
                .map(|f| Box::new(std::io::BufReader::new(f)) as Box<dyn std::io::Read>)
                .map_err(|e| format!("{path}: {e}")),
            FileSource::Bytes(bytes) => Ok(Box::new(std::io::Cursor::new(bytes.clone()))),
        };
        let outcome = match opened {
            Err(why) => UploadOutcome::Refused(format!("The file cannot be read: {why}")),
            Ok(mut bytes) => {
                let body = http::Body {
                    content_type: &content_type,
                    before: &before,
                    bytes: &mut bytes,
                    len: job.file.size,
                    after: &after,
                };
                let watch = http::Watch {
                    sent: &sent,
                    cancel: &cancel,
                };
                match http::post_stream(&url, &job.token, body, &watch) {
                    Ok(reply) => outcome_of(reply.status, &reply.body, job.file.size, || {
                        let url = format!("{}/files/{}?fields=filesize", job.http, job.id);
                        let reply = http::get_bytes(&url, &job.token, CALL_TIMEOUT, 64 * 1024)?;
                        Ok(stored_size(reply.status, &reply.body))
                    }),
                    Err(http::PostError::File(why)) => {
                        UploadOutcome::Refused(format!("The file cannot be read: {why}"))
                    }
                    Err(http::PostError::Line(why)) => UploadOutcome::Passing(why),
                }
            }
        };
        sender.send(outcome);
        wake();
    });
    promise
}

#[cfg(not(target_arch = "wasm32"))]
fn remove(url: String, token: String, wake: Wake) -> Promise<()> {
    let (sender, promise) = Promise::new();
    std::thread::spawn(move || {
        if let Err(e) = crate::edge::http::delete(&url, &token, CALL_TIMEOUT) {
            log::warn!("could not remove a cancelled upload: {e}");
        }
        sender.send(());
        wake();
    });
    promise
}

/// The `filesize` of a `GET /files/:id` reply (None: not there, or not readable).
fn stored_size(status: u16, body: &[u8]) -> Option<u64> {
    if status != 200 {
        return None;
    }
    let reply: Value = serde_json::from_slice(body).ok()?;
    let size = &reply["data"]["filesize"];
    size.as_u64()
        .or_else(|| size.as_str().and_then(|s| s.parse().ok()))
}

/// The page's upload: an XMLHttpRequest, the one browser API that reports an upload's
/// progress (fetch does not). Cancel aborts it at its next progress event; one that already
/// got through is deleted once it ends (see `Uploads::poll`).
#[cfg(target_arch = "wasm32")]
fn run(
    job: Job,
    sent: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    wake: Wake,
) -> Promise<UploadOutcome> {
    use eframe::wasm_bindgen::JsCast as _;
    use eframe::wasm_bindgen::closure::Closure;

    let (sender, promise) = Promise::new();
    let FileSource::Bytes(bytes) = &job.file.source else {
        sender.send(UploadOutcome::Refused(
            "The page holds no bytes of this file.".into(),
        ));
        return promise;
    };
    let (content_type, before, after) = multipart(&job);
    let mut body = Vec::with_capacity(before.len() + bytes.len() + after.len());
    body.extend_from_slice(before.as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(after.as_bytes());
    let size = job.file.size;
    let started = (|| {
        let xhr = web_sys::XmlHttpRequest::new()?;
        xhr.open_with_async("POST", &format!("{}/files", job.http), true)?;
        xhr.set_request_header("Authorization", &format!("Bearer {}", job.token))?;
        xhr.set_request_header("Accept", "application/json")?;
        xhr.set_request_header("Content-Type", &content_type)?;
        Ok::<_, eframe::wasm_bindgen::JsValue>(xhr)
    })();
    let xhr = match started {
        Ok(xhr) => xhr,
        Err(e) => {
            sender.send(UploadOutcome::Passing(format!("{e:?}")));
            return promise;
        }
    };
    // Progress counts the file's bytes (the form's own lines around them are not).
    let header = before.len() as f64;
    let on_progress = {
        let (xhr, wake) = (xhr.clone(), wake.clone());
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if cancel.load(Ordering::Relaxed) {
                let _ = xhr.abort();
                return;
            }
            sent.store(
                ((e.loaded() - header).max(0.0) as u64).min(size),
                Ordering::Relaxed,
            );
            wake();
        })
    };
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let check = format!("{}/files/{}?fields=filesize", job.http, job.id);
    let token = job.token.clone();
    // Answered once: by the request's end, or at once if it cannot be sent at all.
    let sender = std::rc::Rc::new(std::cell::RefCell::new(Some(sender)));
    let ended = {
        let (xhr, sender, wake) = (xhr.clone(), sender.clone(), wake.clone());
        Closure::once_into_js(move || {
            drop(on_progress); // the request is over: its listener goes with it
            let Some(sender) = sender.borrow_mut().take() else {
                return;
            };
            let status = xhr.status().unwrap_or(0);
            let text = xhr.response_text().ok().flatten().unwrap_or_default();
            if status == 0 {
                // No answer at all (offline, aborted, CORS): tried again later.
                sender.send(UploadOutcome::Passing("the upload got no answer".into()));
                wake();
                return;
            }
            match outcome_of(status, &text, size, || Err(String::new())) {
                // The size check needs a second request: a duplicate counts as stored
                // only once the stored copy is seen whole.
                UploadOutcome::Passing(why) if why.is_empty() => {
                    let request = super::rest::with_bearer(ehttp::Method::GET, check, &token);
                    ehttp::fetch(request, move |result| {
                        let outcome = match result {
                            Ok(r) if stored_size(r.status, &r.bytes) == Some(size) => {
                                UploadOutcome::Stored
                            }
                            Ok(_) => UploadOutcome::Passing(
                                "an earlier try is not stored whole yet".into(),
                            ),
                            Err(why) => UploadOutcome::Passing(why),
                        };
                        sender.send(outcome);
                        wake();
                    });
                }
                outcome => {
                    sender.send(outcome);
                    wake();
                }
            }
        })
    };
    xhr.set_onloadend(Some(ended.unchecked_ref()));
    // A stalled connection ends it too (status 0: tried again later); 25 MiB at 50 kB/s fits.
    xhr.set_timeout(10 * 60 * 1000);
    if let Err(e) = xhr.send_with_opt_u8_array(Some(&body))
        && let Some(sender) = sender.borrow_mut().take()
    {
        sender.send(UploadOutcome::Passing(format!(
            "the upload could not start: {e:?}"
        )));
        wake();
    }
    promise
}

#[cfg(target_arch = "wasm32")]
fn remove(url: String, token: String, wake: Wake) -> Promise<()> {
    let (sender, promise) = Promise::new();
    let request = super::rest::with_bearer(ehttp::Method::DELETE, url, &token);
    ehttp::fetch(request, move |_| {
        sender.send(());
        wake();
    });
    promise
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_outcomes() {
        let never = || -> Result<Option<u64>, String> { panic!("not asked") };
        assert_eq!(outcome_of(200, "{}", 5, never), UploadOutcome::Stored);
        let too_large = r#"{"errors":[{"message":"Uploaded content is too large.","extensions":{"code":"CONTENT_TOO_LARGE"}}]}"#;
        assert_eq!(
            outcome_of(413, too_large, 5, never),
            UploadOutcome::Refused(
                "The server refused the file: Uploaded content is too large.".into()
            )
        );
        let invalid = r#"{"errors":[{"message":"Validation failed","extensions":{"code":"FAILED_VALIDATION"}}]}"#;
        assert!(matches!(
            outcome_of(400, invalid, 5, never),
            UploadOutcome::Refused(_)
        ));
        assert!(matches!(
            outcome_of(503, "", 5, never),
            UploadOutcome::Passing(_)
        ));
        // A duplicate: ours if the stored copy is whole.
        let duplicate =
            r#"{"errors":[{"message":"taken","extensions":{"code":"RECORD_NOT_UNIQUE"}}]}"#;
        assert_eq!(
            outcome_of(400, duplicate, 5, || Ok(Some(5))),
            UploadOutcome::Stored
        );
        assert!(matches!(
            outcome_of(400, duplicate, 5, || Ok(Some(3))),
            UploadOutcome::Passing(_)
        ));
        assert_eq!(outcome_of(401, "{}", 5, never), UploadOutcome::Unauthorized);
        assert!(matches!(
            outcome_of(400, duplicate, 5, || Err("offline".into())),
            UploadOutcome::Passing(_)
        ));
        assert_eq!(
            stored_size(200, br#"{"data":{"filesize":"20259"}}"#),
            Some(20259)
        );
        assert_eq!(stored_size(403, b"{}"), None);
    }
}
