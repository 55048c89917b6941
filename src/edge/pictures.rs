//! Attached pictures, in two sizes (a thumbnail in the row, a large one in the viewer):
//! fetched from Directus's `/assets/:id` as a PNG the server scales down (`fit=inside`), with
//! the REST token in a header (never in the address, where proxies and logs would keep it),
//! decoded off the UI thread natively, kept as textures in a bounded cache per size. The views
//! ask for what they draw (through [`Thumbnails`]); the app's `logic` fetches it
//! ([`Pictures::load`]).

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
/// Thumbnails kept at most: the least recently drawn go first. At most 320×240 RGBA each, so
/// at most 48 × 300 KiB = 14 MiB however long the history scrolled through.
pub const KEEP: usize = 48;
/// Fetches under way at once.
const AT_ONCE: usize = 4;

/// The sizes a picture is fetched in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// In the message's row.
    Thumbnail,
    /// In the viewer (two kept: 2 × 1600 × 1200 × 4 bytes = 15 MiB).
    Large,
}

impl Size {
    /// The box the server scales the picture into.
    pub fn pixels(self) -> (u32, u32) {
        match self {
            Size::Thumbnail => (THUMB_WIDTH, THUMB_HEIGHT),
            Size::Large => (1600, 1200),
        }
    }

    fn keep(self) -> usize {
        match self {
            Size::Thumbnail => KEEP,
            Size::Large => 2,
        }
    }

    /// A reply past this size is refused (a PNG of that box is far smaller).
    fn max_bytes(self) -> u64 {
        match self {
            Size::Thumbnail => 4 * 1024 * 1024,
            Size::Large => 24 * 1024 * 1024,
        }
    }
}

/// A picture in one size: its file's id and the size.
pub type Key = (String, Size);
#[cfg(not(target_arch = "wasm32"))]
const TIMEOUT: Duration = Duration::from_secs(30);
/// A failed fetch is tried again after this (the server may be back; not for refusals).
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// A picture that came cut short is asked for again after this.
const RETRY_SOON: Duration = Duration::from_secs(2);

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
    /// Cut short (Directus serves a thumbnail another request is still writing): in a moment.
    Soon,
    /// The token was not taken (HTTP 401): with a new one, soon.
    NewToken,
}

#[derive(Default)]
pub struct Pictures {
    kept: HashMap<Key, (egui::TextureHandle, u64)>,
    failed: HashMap<Key, (String, Option<Instant>)>,
    loading: HashMap<Key, Promise<Fetched>>,
    /// Asked for while drawn and not here: fetched by the next `load`, in this order.
    wanted: Vec<Key>,
    /// Counts `load`s: when a texture was last drawn.
    frame: u64,
    /// Pictures that came cut short, and how often (asked again soon, three times at most).
    cut: HashMap<Key, u8>,
}

impl Thumbnails for Pictures {
    fn thumbnail(&mut self, id: &str) -> Thumbnail<'_> {
        self.get(id, Size::Thumbnail)
    }

    fn large(&mut self, id: &str) -> Thumbnail<'_> {
        self.get(id, Size::Large)
    }
}

impl Pictures {
    /// What to draw for the picture `id` in this size; one that is not here is fetched after
    /// the frame.
    fn get(&mut self, id: &str, size: Size) -> Thumbnail<'_> {
        let key = (id.to_owned(), size);
        if self.kept.contains_key(&key) {
            let (texture, drawn) = self.kept.get_mut(&key).expect("just seen");
            *drawn = self.frame;
            return Thumbnail::Ready(texture);
        }
        if self.failed.contains_key(&key) {
            return Thumbnail::Failed(&self.failed[&key].0);
        }
        if !self.loading.contains_key(&key) && !self.wanted.contains(&key) {
            self.wanted.push(key);
        }
        Thumbnail::Loading
    }

    /// Textures held now.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    /// Pictures asked for and not fetched yet (what the next `load` fetches).
    pub fn wanted(&self) -> &[Key] {
        &self.wanted
    }

    /// A decoded picture, as a fetch brings it (the benches put theirs in directly).
    pub fn put(&mut self, ctx: &egui::Context, key: Key, image: egui::ColorImage) {
        let name = format!("picture {} {:?}", key.0, key.1);
        let texture = ctx.load_texture(name, image, Default::default());
        self.wanted.retain(|w| *w != key);
        self.kept.insert(key, (texture, self.frame));
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
                        let (id, size) = self.wanted.remove(0);
                        let Some(http) = &http else { break };
                        let (width, height) = size.pixels();
                        let url = format!(
                            "{http}/assets/{id}?width={width}&height={height}\
                             &fit=inside&withoutEnlargement=true&format=png"
                        );
                        let fetched = fetch(url, token.clone(), size, wake.clone());
                        self.loading.insert((id, size), fetched);
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
        let done: Vec<Key> = self
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
                Ok(image) => self.put(ctx, id, image),
                Err(failure) => {
                    let retry = match failure.retry {
                        Retry::Never => None,
                        Retry::Later => Some(now + RETRY_AFTER),
                        Retry::Soon => {
                            let tries = self.cut.entry(id.clone()).or_default();
                            *tries += 1;
                            (*tries <= 3).then(|| now + RETRY_SOON)
                        }
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

    /// The least recently drawn textures of each size go, down to what that size keeps
    /// (dropping a handle frees it).
    fn evict(&mut self) {
        for size in [Size::Thumbnail, Size::Large] {
            let mut by_age: Vec<(u64, Key)> = self
                .kept
                .iter()
                .filter(|(key, _)| key.1 == size)
                .map(|(key, (_, drawn))| (*drawn, key.clone()))
                .collect();
            let Some(excess) = by_age.len().checked_sub(size.keep()) else {
                continue;
            };
            by_age.sort_unstable_by_key(|(drawn, _)| *drawn);
            for (_, key) in by_age.into_iter().take(excess) {
                self.kept.remove(&key);
            }
        }
    }
}

/// What the reply to a picture's fetch in `size` means.
fn picture_of(status: u16, content_type: &str, body: &[u8], size: Size) -> Fetched {
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
        // (Asked again in a while: the reader may join the room.)
        403 => {
            return Err(Failure {
                why: "You cannot see this file.".into(),
                retry: Retry::Later,
            });
        }
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
    let (width, height) = size.pixels();
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(body), image::ImageFormat::Png);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| match e {
            // Cut short: the first readers of a new thumbnail can get the file Directus is
            // still writing (seen with two windows at once).
            image::ImageError::IoError(_) | image::ImageError::Decoding(_) => Failure {
                why: "Loading…".into(),
                retry: Retry::Soon,
            },
            other => refused(&format!("The picture cannot be read: {other}")),
        })?
        .to_rgba8();
    let size = [image.width() as usize, image.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(
        size,
        image.as_raw(),
    ))
}

#[cfg(not(target_arch = "wasm32"))]
fn fetch(url: String, token: String, size: Size, wake: Wake) -> Promise<Fetched> {
    let (sender, promise) = Promise::new();
    std::thread::spawn(move || {
        let fetched = match super::http::get_bytes(&url, &token, TIMEOUT, size.max_bytes()) {
            Ok(reply) => picture_of(reply.status, &reply.content_type, &reply.body, size),
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
fn fetch(url: String, token: String, size: Size, wake: Wake) -> Promise<Fetched> {
    let (sender, promise) = Promise::new();
    let request = super::rest::with_bearer(ehttp::Method::GET, url, &token);
    ehttp::fetch(request, move |result| {
        let fetched = match result {
            Ok(reply) if reply.bytes.len() as u64 > size.max_bytes() => Err(Failure {
                why: "the picture is larger than the chat takes".into(),
                retry: Retry::Never,
            }),
            Ok(reply) => picture_of(
                reply.status,
                reply.content_type().unwrap_or_default(),
                &reply.bytes,
                size,
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
    fn each_size_keeps_its_own_few_textures() {
        let ctx = egui::Context::default();
        let mut pictures = Pictures::default();
        let image = || egui::ColorImage::new([2, 2], vec![egui::Color32::RED; 4]);
        for n in 0..60 {
            let id = format!("t{n}");
            let _ = pictures.thumbnail(&id);
            pictures.put(&ctx, (id, Size::Thumbnail), image());
            pictures.end_frame();
        }
        for n in 0..3 {
            let id = format!("l{n}");
            let _ = pictures.large(&id);
            pictures.put(&ctx, (id, Size::Large), image());
            pictures.end_frame();
        }
        assert_eq!(pictures.kept(), KEEP + 2);
        // The most recently drawn stay.
        assert!(matches!(pictures.thumbnail("t59"), Thumbnail::Ready(_)));
        assert!(matches!(pictures.large("l2"), Thumbnail::Ready(_)));
        assert!(matches!(pictures.large("l0"), Thumbnail::Loading));
        assert!(pictures.wanted().contains(&("l0".to_owned(), Size::Large)));
    }

    #[test]
    fn replies_become_pictures_or_reasons() {
        let ok = picture_of(200, "image/png", &png(120, 80), Size::Thumbnail).unwrap();
        assert_eq!(ok.size, [120, 80]);
        let refused = picture_of(403, "application/json", b"{}", Size::Thumbnail).unwrap_err();
        assert!(refused.retry == Retry::Later && refused.why.contains("cannot see"));
        assert_eq!(
            picture_of(503, "text/html", b"", Size::Thumbnail)
                .unwrap_err()
                .retry,
            Retry::Later
        );
        assert_eq!(
            picture_of(401, "", b"", Size::Thumbnail).unwrap_err().retry,
            Retry::NewToken
        );
        assert_eq!(
            picture_of(400, "", b"", Size::Thumbnail).unwrap_err().retry,
            Retry::Never
        );
        assert_eq!(
            picture_of(200, "text/html", b"<html>", Size::Thumbnail)
                .unwrap_err()
                .retry,
            Retry::Never
        );
        assert!(picture_of(200, "image/png", b"not a png", Size::Thumbnail).is_err());
        let whole = png(120, 80);
        let cut = picture_of(200, "image/png", &whole[..whole.len() / 2], Size::Thumbnail);
        assert_eq!(cut.unwrap_err().retry, Retry::Soon, "a picture cut short");
        // The viewer's size takes larger ones.
        assert!(picture_of(200, "image/png", &png(1600, 900), Size::Large).is_ok());
        // A server sending a huge picture instead of a thumbnail is not believed.
        assert!(picture_of(200, "image/png", &png(4000, 10), Size::Thumbnail).is_err());
    }
}
