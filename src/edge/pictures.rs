//! Thumbnails of attached pictures: fetched from Directus's `/assets/:id` as a PNG the server
//! scales down (`fit=inside`), with the REST token in a header (never in the address, where
//! proxies and logs would keep it), decoded off the UI thread natively, kept as textures in a
//! bounded cache. The message list asks for what it draws (through [`Thumbnails`]); the
//! app's `logic` fetches it ([`Pictures::load`]).

use std::collections::HashMap;
use std::time::Duration;

use poll_promise::Promise;
use web_time::Instant;

use super::Wake;
use crate::core::session::{Effect, RestAccess, Session};
use crate::views::{Thumbnail, Thumbnails};

/// The largest thumbnail, in pixels (the row shows it at most this big).
pub const THUMB_WIDTH: u32 = 320;
pub const THUMB_HEIGHT: u32 = 240;
/// Textures kept at most: the least recently drawn go first. At most 320×240 RGBA each, so
/// at most 48 × 300 KiB = 14 MiB however long the history scrolled through.
pub const KEEP: usize = 48;
/// Fetches under way at once.
const AT_ONCE: usize = 4;
/// A thumbnail's reply past this size is refused (a PNG of 320×240 is far smaller).
const MAX_BYTES: u64 = 4 * 1024 * 1024;
#[cfg(not(target_arch = "wasm32"))]
const TIMEOUT: Duration = Duration::from_secs(30);
/// A failed fetch is tried again after this (the server may be back; not for refusals).
const RETRY_AFTER: Duration = Duration::from_secs(30);

type Fetched = Result<egui::ColorImage, Failure>;

#[derive(Clone, Debug)]
struct Failure {
    why: String,
    retry: Retry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// A refusal, or not a picture: asking again would get the same.
    Never,
    /// The server or the line failed: in a while.
    Later,
    /// The token was not taken (HTTP 401): with a new one, soon.
    NewToken,
}

#[derive(Default)]
pub struct Pictures {
    kept: HashMap<String, (egui::TextureHandle, u64)>,
    failed: HashMap<String, (String, Option<Instant>)>,
    loading: HashMap<String, Promise<Fetched>>,
    /// Asked for while drawn and not here: fetched by the next `load`, in this order.
    wanted: Vec<String>,
    /// Counts `load`s: when a texture was last drawn.
    frame: u64,
}

impl Thumbnails for Pictures {
    /// What to draw for the picture `id`; one that is not here is fetched after the frame.
    fn thumbnail(&mut self, id: &str) -> Thumbnail<'_> {
        if let Some((texture, drawn)) = self.kept.get_mut(id) {
            *drawn = self.frame;
            return Thumbnail::Ready(texture);
        }
        if let Some((why, _)) = self.failed.get(id) {
            return Thumbnail::Failed(why);
        }
        if !self.loading.contains_key(id) && !self.wanted.iter().any(|w| w == id) {
            self.wanted.push(id.to_owned());
        }
        Thumbnail::Loading
    }
}

impl Pictures {
    /// Textures held now.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    /// Pictures asked for and not fetched yet (what the next `load` fetches).
    pub fn wanted(&self) -> &[String] {
        &self.wanted
    }

    /// A decoded picture, as a fetch brings it (the benches put theirs in directly).
    pub fn put(&mut self, ctx: &egui::Context, id: &str, image: egui::ColorImage) {
        let texture = ctx.load_texture(format!("picture {id}"), image, Default::default());
        self.kept.insert(id.to_owned(), (texture, self.frame));
        self.wanted.retain(|w| w != id);
    }

    /// A frame is over without fetching (as `load` ends one): past [`KEEP`], the least
    /// recently drawn go.
    pub fn end_frame(&mut self) {
        self.frame += 1;
        self.evict();
    }

    /// Takes in what arrived, starts what was asked for (with the session's REST token, asked
    /// for if need be: the effects), and drops the least recently drawn past [`KEEP`].
    pub fn load(
        &mut self,
        ctx: &egui::Context,
        session: &mut Session,
        wake: &Wake,
        now: Instant,
    ) -> Vec<Effect> {
        self.frame += 1;
        if self.take_arrived(ctx, now) {
            session.rest_access_refused();
        }
        self.failed
            .retain(|_, (_, retry)| retry.is_none_or(|at| now < at));
        let mut effects = Vec::new();
        if !self.wanted.is_empty() && self.loading.len() < AT_ONCE {
            let (access, asked) = session.rest_access(now);
            effects = asked;
            match access {
                RestAccess::Ready(token) => {
                    let http = session.server().map(|s| s.http.clone());
                    while self.loading.len() < AT_ONCE && !self.wanted.is_empty() {
                        let id = self.wanted.remove(0);
                        let Some(http) = &http else { break };
                        let url = format!(
                            "{http}/assets/{id}?width={THUMB_WIDTH}&height={THUMB_HEIGHT}\
                             &fit=inside&withoutEnlargement=true&format=png"
                        );
                        self.loading
                            .insert(id, fetch(url, token.clone(), wake.clone()));
                    }
                }
                RestAccess::Unavailable(why) => {
                    for id in self.wanted.drain(..) {
                        self.failed
                            .insert(id, (why.clone(), Some(now + RETRY_AFTER)));
                    }
                }
                RestAccess::Waiting => {}
            }
        }
        self.evict();
        effects
    }

    /// Takes in the fetches that ended; true when the server did not take the token.
    fn take_arrived(&mut self, ctx: &egui::Context, now: Instant) -> bool {
        let mut unauthorized = false;
        let done: Vec<String> = self
            .loading
            .iter()
            .filter(|(_, p)| p.ready().is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for id in done {
            let Some(promise) = self.loading.remove(&id) else {
                continue;
            };
            match promise.block_and_take() {
                Ok(image) => self.put(ctx, &id, image),
                Err(failure) => {
                    let retry = match failure.retry {
                        Retry::Never => None,
                        Retry::Later => Some(now + RETRY_AFTER),
                        Retry::NewToken => {
                            unauthorized = true;
                            Some(now)
                        }
                    };
                    self.failed.insert(id, (failure.why, retry));
                }
            }
        }
        unauthorized
    }

    /// The least recently drawn textures go, down to [`KEEP`] (dropping a handle frees it).
    fn evict(&mut self) {
        if self.kept.len() <= KEEP {
            return;
        }
        let mut by_age: Vec<(u64, String)> = self
            .kept
            .iter()
            .map(|(id, (_, drawn))| (*drawn, id.clone()))
            .collect();
        by_age.sort_unstable();
        let excess = self.kept.len() - KEEP;
        for (_, id) in by_age.into_iter().take(excess) {
            self.kept.remove(&id);
        }
    }
}

/// What the reply to a thumbnail's fetch means.
fn picture_of(status: u16, content_type: &str, body: &[u8]) -> Fetched {
    let refused = |why: &str| Failure {
        why: why.to_owned(),
        retry: Retry::Never,
    };
    match status {
        200 => {}
        401 => {
            return Err(Failure {
                why: "Loading…".into(),
                retry: Retry::NewToken,
            });
        }
        403 => return Err(refused("You cannot see this file.")),
        404 => return Err(refused("The file is gone.")),
        429 | 500.. => {
            return Err(Failure {
                why: format!("The server answered HTTP {status}."),
                retry: Retry::Later,
            });
        }
        _ => return Err(refused(&format!("The server answered HTTP {status}."))),
    }
    if content_type != "image/png" {
        return Err(refused("The server sent no picture."));
    }
    // The server was asked for at most this size: a larger picture is not decoded at all (a
    // small file can claim a huge one).
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(THUMB_WIDTH);
    limits.max_image_height = Some(THUMB_HEIGHT);
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(body), image::ImageFormat::Png);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| refused(&format!("The picture cannot be read: {e}")))?
        .to_rgba8();
    let size = [image.width() as usize, image.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(
        size,
        image.as_raw(),
    ))
}

#[cfg(not(target_arch = "wasm32"))]
fn fetch(url: String, token: String, wake: Wake) -> Promise<Fetched> {
    let (sender, promise) = Promise::new();
    std::thread::spawn(move || {
        let fetched = match super::http::get_bytes(&url, &token, TIMEOUT, MAX_BYTES) {
            Ok(reply) => picture_of(reply.status, &reply.content_type, &reply.body),
            Err(why) => Err(Failure {
                why: format!("The picture could not be fetched: {why}"),
                retry: Retry::Later,
            }),
        };
        sender.send(fetched);
        wake();
    });
    promise
}

#[cfg(target_arch = "wasm32")]
fn fetch(url: String, token: String, wake: Wake) -> Promise<Fetched> {
    let (sender, promise) = Promise::new();
    let bearer = format!("Bearer {token}");
    let request = ehttp::Request {
        headers: ehttp::Headers::new(&[("Authorization", &bearer)]),
        ..ehttp::Request::get(url)
    };
    ehttp::fetch(request, move |result| {
        let fetched = match result {
            Ok(reply) if reply.bytes.len() as u64 > MAX_BYTES => Err(Failure {
                why: "the picture is larger than the chat takes".into(),
                retry: Retry::Never,
            }),
            Ok(reply) => picture_of(
                reply.status,
                reply.content_type().unwrap_or_default(),
                &reply.bytes,
            ),
            Err(why) => Err(Failure {
                why: format!("The picture could not be fetched: {why}"),
                retry: Retry::Later,
            }),
        };
        sender.send(fetched);
        wake();
    });
    promise
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_pixel(width, height, image::Rgba([9, 8, 7, 255]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn replies_become_pictures_or_reasons() {
        let ok = picture_of(200, "image/png", &png(120, 80)).unwrap();
        assert_eq!(ok.size, [120, 80]);
        let refused = picture_of(403, "application/json", b"{}").unwrap_err();
        assert!(refused.retry == Retry::Never && refused.why.contains("cannot see"));
        assert_eq!(
            picture_of(503, "text/html", b"").unwrap_err().retry,
            Retry::Later
        );
        assert_eq!(picture_of(401, "", b"").unwrap_err().retry, Retry::NewToken);
        assert_eq!(picture_of(400, "", b"").unwrap_err().retry, Retry::Never);
        assert_eq!(
            picture_of(200, "text/html", b"<html>").unwrap_err().retry,
            Retry::Never
        );
        assert!(picture_of(200, "image/png", b"not a png").is_err());
        // A server sending a huge picture instead of a thumbnail is not believed.
        assert!(picture_of(200, "image/png", &png(4000, 10)).is_err());
    }
}
