//! Files saved from the chat (those that are no picture): fetched from `/assets/:id?download`
//! with the REST token in a header, natively written into the Downloads folder (under a name
//! of its own when one is taken, never outside it), in the browser handed over as a download.

use std::path::PathBuf;

use poll_promise::Promise;
use web_time::Instant;

use super::Wake;
use crate::core::attachment::Attachment;
use crate::core::session::{Effect, RestAccess, Session};

#[cfg(not(target_arch = "wasm32"))]
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Default)]
pub struct Downloads {
    /// Where files go natively (None: the OS's Downloads folder).
    folder: Option<PathBuf>,
    wanted: Vec<Attachment>,
    running: Vec<Promise<Result<String, String>>>,
}

impl Downloads {
    /// Saving natively into `folder` (None: the OS's Downloads folder).
    pub fn saving_into(folder: Option<PathBuf>) -> Self {
        Downloads {
            folder,
            ..Default::default()
        }
    }

    pub fn want(&mut self, file: Attachment) {
        self.wanted.push(file);
    }

    /// Starts what was asked for (with the session's REST token, asked for if need be: the
    /// effects); returns what ended, in words.
    pub fn drive(
        &mut self,
        session: &mut Session,
        wake: &Wake,
        now: Instant,
    ) -> (Vec<Effect>, Vec<Result<String, String>>) {
        let mut ended = Vec::new();
        while let Some(at) = self.running.iter().position(|p| p.ready().is_some()) {
            ended.push(self.running.remove(at).block_and_take());
        }
        if self.wanted.is_empty() {
            return (Vec::new(), ended);
        }
        let (access, effects) = session.rest_access(now);
        match access {
            RestAccess::Ready(token) => {
                let Some(http) = session.server().map(|s| s.http.clone()) else {
                    return (effects, ended);
                };
                for file in self.wanted.drain(..) {
                    let url = format!("{http}/assets/{}?download", file.id);
                    let folder = self.folder.clone();
                    self.running
                        .push(fetch(url, token.clone(), file, folder, wake.clone()));
                }
            }
            RestAccess::Unavailable(why) => {
                ended.extend(
                    self.wanted
                        .drain(..)
                        .map(|f| Err(format!("{}: {why}", f.name))),
                );
            }
            RestAccess::Waiting => {}
        }
        (effects, ended)
    }
}

/// A name to save under: the file's own, without any folder in it.
fn safe_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let name = name.trim_start_matches('.').trim();
    if name.is_empty() {
        "file".into()
    } else {
        name.to_owned()
    }
}

/// What an answer to the download means (the whole file, or why not).
fn bytes_of(status: u16, body: Vec<u8>, file: &Attachment) -> Result<Vec<u8>, String> {
    let outcome = match status {
        200 if body.len() as u64 == file.size => return Ok(body),
        200 => "the download was cut short".to_owned(),
        403 => "you cannot see this file".into(),
        404 => "the file is gone".into(),
        _ => format!("the server answered HTTP {status}"),
    };
    Err(format!("{} not saved: {outcome}", file.name))
}

#[cfg(not(target_arch = "wasm32"))]
fn fetch(
    url: String,
    token: String,
    file: Attachment,
    folder: Option<PathBuf>,
    wake: Wake,
) -> Promise<Result<String, String>> {
    let (sender, promise) = Promise::new();
    std::thread::spawn(move || {
        let saved = (|| {
            // A little over the file's size: a longer answer is not this file.
            let max = file.size.saturating_add(1);
            let reply = super::http::get_bytes(&url, &token, TIMEOUT, max)
                .map_err(|e| format!("{} not saved: {e}", file.name))?;
            let bytes = bytes_of(reply.status, reply.body, &file)?;
            let folder = folder
                .or_else(|| {
                    directories::UserDirs::new().and_then(|d| d.download_dir().map(PathBuf::from))
                })
                .ok_or_else(|| format!("{} not saved: no Downloads folder", file.name))?;
            std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
            let name = safe_name(&file.name);
            let (stem, extension) = match name.rsplit_once('.') {
                Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
                _ => (name.clone(), String::new()),
            };
            // Never over a file already there: "name (1).ext", "name (2).ext", …
            for n in 0..1000 {
                let candidate = match n {
                    0 => folder.join(&name),
                    n => folder.join(format!("{stem} ({n}){extension}")),
                };
                let created = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&candidate);
                match created {
                    Ok(mut out) => {
                        use std::io::Write;
                        out.write_all(&bytes)
                            .map_err(|e| format!("{}: {e}", candidate.display()))?;
                        return Ok(format!("Saved {}", candidate.display()));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(format!("{}: {e}", candidate.display())),
                }
            }
            Err(format!(
                "{} not saved: too many files of that name",
                file.name
            ))
        })();
        sender.send(saved);
        wake();
    });
    promise
}

#[cfg(target_arch = "wasm32")]
fn fetch(
    url: String,
    token: String,
    file: Attachment,
    _folder: Option<PathBuf>,
    wake: Wake,
) -> Promise<Result<String, String>> {
    let (sender, promise) = Promise::new();
    let request = super::rest::with_bearer(ehttp::Method::GET, url, &token);
    ehttp::fetch(request, move |result| {
        let saved = result
            .map_err(|e| format!("{} not saved: {e}", file.name))
            .and_then(|reply| bytes_of(reply.status, reply.bytes, &file))
            .and_then(|bytes| hand_over(&bytes, &safe_name(&file.name)))
            .map(|()| format!("Downloaded {}", file.name));
        sender.send(saved);
        wake();
    });
    promise
}

/// The browser saves `bytes` as `name`, as a download it started itself.
#[cfg(target_arch = "wasm32")]
fn hand_over(bytes: &[u8], name: &str) -> Result<(), String> {
    use eframe::wasm_bindgen::JsCast as _;
    let failed = |e: eframe::wasm_bindgen::JsValue| format!("{name} not saved: {e:?}");
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(failed)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(failed)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| "no link".to_owned())?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_in_the_folder_and_answers_are_checked_whole() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name("  "), "file");
        assert_eq!(safe_name("notes.txt"), "notes.txt");
        let file = Attachment {
            id: "x".into(),
            name: "n.txt".into(),
            mime: "text/plain".into(),
            size: 3,
            width: None,
            height: None,
        };
        assert_eq!(bytes_of(200, b"abc".to_vec(), &file), Ok(b"abc".to_vec()));
        assert!(
            bytes_of(200, b"ab".to_vec(), &file)
                .unwrap_err()
                .contains("cut short")
        );
        assert!(
            bytes_of(403, Vec::new(), &file)
                .unwrap_err()
                .contains("cannot see")
        );
    }
}
