//! How files reach the composer: dropped on the window, picked in the file dialog ("Attach
//! files…": the platform's own through rfd, the browser's file picker on the web), or pasted
//! (a picture on the clipboard, sent as PNG). Natively a file goes by its path and is read when
//! it goes out; a pasted picture is written as a PNG file of its own (owner-only, in the
//! session's folder) so that it too survives a restart, and is removed once no post needs
//! it. In the browser files go as bytes, read asynchronously, and none over the upload limit
//! is read at all.

use std::sync::Arc;

use poll_promise::Promise;

use super::Wake;
use crate::core::session::{FileSource, NewFile};

/// Files arrived (or why one could not be taken).
type Arrived = Vec<Result<NewFile, String>>;

/// A pasted picture of more pixels is refused (its PNG would be over the limit anyway, and
/// encoding it would hold hundreds of MB).
const MAX_PASTED_PIXELS: usize = 40_000_000;

/// Stands in for the platform's file dialog (natively; tests pick their files this way).
/// `None`: the dialog was closed without a pick.
#[cfg(not(target_arch = "wasm32"))]
pub type FileDialog = Arc<dyn Fn() -> Option<Vec<std::path::PathBuf>> + Send + Sync>;

/// The platform's own dialog (rfd: the XDG portal, or zenity, on Linux).
#[cfg(not(target_arch = "wasm32"))]
pub fn platform_dialog() -> FileDialog {
    Arc::new(|| {
        rfd::FileDialog::new()
            .set_title("Attach files")
            .pick_files()
    })
}

/// Files on their way to the composer.
pub struct Attaching {
    reading: Vec<Promise<Arrived>>,
    /// A dialog is open (one at a time: a second click does nothing meanwhile).
    picking: Option<Promise<Arrived>>,
    #[cfg(not(target_arch = "wasm32"))]
    dialog: FileDialog,
    /// Where pasted pictures are written (None: no folder of our own; kept in memory).
    #[cfg(not(target_arch = "wasm32"))]
    pasted_dir: Option<std::path::PathBuf>,
    /// A paste is being encoded (a held Ctrl+V repeats: one at a time).
    encoding: Option<Promise<Arrived>>,
    /// Files pasted into the page (its own listener, since eframe passes on only text).
    #[cfg(target_arch = "wasm32")]
    pasted: web::Pasted,
}

impl Attaching {
    /// `pasted_dir`: the session's own folder for pasted pictures.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(dialog: Option<FileDialog>, pasted_dir: Option<std::path::PathBuf>) -> Self {
        Attaching {
            reading: Vec::new(),
            picking: None,
            dialog: dialog.unwrap_or_else(platform_dialog),
            pasted_dir,
            encoding: None,
        }
    }

    #[cfg(target_arch = "wasm32")]
    pub fn new(wake: Wake) -> Self {
        Attaching {
            reading: Vec::new(),
            picking: None,
            pasted: web::listen_for_pastes(wake),
            encoding: None,
        }
    }

    pub fn dropped(&mut self, files: Vec<crate::views::Dropped>, wake: &Wake) {
        for file in files {
            self.reading.push(dropped_file(file, wake.clone()));
        }
    }

    /// Opens the file dialog, unless one is open already.
    pub fn pick(&mut self, wake: &Wake) {
        if self.picking.is_none() {
            self.picking = Some(self.open_dialog(wake.clone()));
        }
    }

    pub fn is_picking(&self) -> bool {
        self.picking.is_some()
    }

    /// A picture pasted from the clipboard: encoded as PNG off the UI thread (natively into
    /// a file of its own). Another paste meanwhile is ignored (a held Ctrl+V repeats).
    pub fn pasted_picture(&mut self, picture: Arc<egui::ColorImage>, wake: &Wake) {
        if self.encoding.is_some() {
            return;
        }
        let [width, height] = picture.size;
        if width.saturating_mul(height) > MAX_PASTED_PIXELS {
            let why = format!("The pasted picture is too large ({width}×{height}).");
            self.reading.push(Promise::from_ready(vec![Err(why)]));
            return;
        }
        let name = chrono::Local::now()
            .format("Pasted %Y-%m-%d %H-%M-%S.png")
            .to_string();
        #[cfg(not(target_arch = "wasm32"))]
        {
            let dir = self.pasted_dir.clone();
            let (sender, promise) = Promise::new();
            let wake = wake.clone();
            std::thread::spawn(move || {
                let png = png_of(&picture);
                drop(picture);
                sender.send(vec![png.and_then(|png| match dir {
                    Some(dir) => pasted_file(&dir, name, &png),
                    None => Ok(bytes_file(name, png)),
                })]);
                wake();
            });
            self.encoding = Some(promise);
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = wake;
            let png = png_of(&picture).map(|png| bytes_file(name, png));
            self.encoding = Some(Promise::from_ready(vec![png]));
        }
    }

    /// A pasted picture is being encoded (and written).
    pub fn is_encoding(&self) -> bool {
        self.encoding.is_some()
    }

    /// Pasted pictures no longer needed (sent, cancelled, removed) are deleted: `needed` says
    /// which file names a post or the composer still holds.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn sweep_pasted(&self, needed: impl Fn(&str) -> bool) {
        let Some(entries) = self
            .pasted_dir
            .as_ref()
            .and_then(|d| std::fs::read_dir(d).ok())
        else {
            return;
        };
        for entry in entries.flatten() {
            if !needed(&entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The files read since the last call (or why one could not be): picked ones first, then
    /// dropped and pasted ones.
    pub fn ready(&mut self) -> Arrived {
        let mut files = Vec::new();
        if self.encoding.as_ref().is_some_and(|p| p.ready().is_some())
            && let Some(encoded) = self.encoding.take()
        {
            self.reading.push(encoded);
        }
        if self.picking.as_ref().is_some_and(|p| p.ready().is_some())
            && let Some(picked) = self.picking.take()
        {
            files.extend(picked.block_and_take());
        }
        while let Some(at) = self.reading.iter().position(|p| p.ready().is_some()) {
            files.extend(self.reading.remove(at).block_and_take());
        }
        #[cfg(target_arch = "wasm32")]
        files.extend(
            self.pasted
                .lock()
                .map(|mut p| std::mem::take(&mut *p))
                .unwrap_or_default(),
        );
        files
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn open_dialog(&self, wake: Wake) -> Promise<Arrived> {
        let (sender, promise) = Promise::new();
        let dialog = self.dialog.clone();
        // The dialog blocks until it is closed: never on the UI thread.
        std::thread::spawn(move || {
            let picked = dialog().unwrap_or_default();
            sender.send(
                picked
                    .iter()
                    .map(|path| file_at(&path.to_string_lossy()))
                    .collect(),
            );
            wake();
        });
        promise
    }

    #[cfg(target_arch = "wasm32")]
    fn open_dialog(&self, wake: Wake) -> Promise<Arrived> {
        let (sender, promise) = Promise::new();
        wasm_bindgen_futures::spawn_local(async move {
            let mut read = Vec::new();
            let picked = rfd::AsyncFileDialog::new()
                .set_title("Attach files")
                .pick_files()
                .await;
            for file in picked.unwrap_or_default() {
                let size = file.inner().size() as u64;
                read.push(match too_large(&file.file_name(), size) {
                    Some(why) => Err(why),
                    None => Ok(bytes_file(file.file_name(), file.read().await)),
                });
            }
            sender.send(read);
            wake();
        });
        promise
    }
}

/// A file on disk, as the session sends it (read when it goes out).
pub fn file_at(path: &str) -> Result<NewFile, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{path}: not a file"));
    }
    let name = std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(NewFile {
        mime: crate::core::attachment::mime_for(&name).to_owned(),
        name,
        size: meta.len(),
        source: FileSource::Path(path.to_owned()),
    })
}

/// Files of stored posts, checked again at the start: one missing, changed since it was
/// attached, or over the limit waits for the user's Retry or Cancel instead of going up.
#[cfg(not(target_arch = "wasm32"))]
pub fn recheck_stored(outbox: &mut [crate::core::session::Unsent]) {
    for upload in outbox
        .iter_mut()
        .flat_map(|u| u.uploads.iter_mut())
        .filter(|u| !u.stored && u.failed.is_none())
    {
        upload.failed = match file_at(&upload.path) {
            Err(why) => Some(why),
            Ok(file) if file.size != upload.size => {
                Some(format!("{} changed since it was attached.", upload.name))
            }
            Ok(file) => too_large(&upload.name, file.size),
        };
    }
}

/// Why a file of `size` bytes is not even read (the web page holds files in memory).
fn too_large(name: &str, size: u64) -> Option<String> {
    let limit = crate::core::session::MAX_UPLOAD_BYTES;
    (size > limit).then(|| {
        format!(
            "{name} is {}; the server takes files up to {} MiB.",
            crate::core::attachment::size_text(size),
            limit / (1024 * 1024)
        )
    })
}

/// A pasted picture's PNG written to a file of its own (owner-only), sent by its path.
#[cfg(not(target_arch = "wasm32"))]
fn pasted_file(dir: &std::path::Path, name: String, png: &[u8]) -> Result<NewFile, String> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let failed = |e: std::io::Error| format!("The pasted picture could not be kept: {e}");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(failed)?;
    let path = dir.join(format!("{}.png", crate::core::session::new_file_id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(png))
        .map_err(failed)?;
    Ok(NewFile {
        mime: "image/png".into(),
        name,
        size: png.len() as u64,
        source: FileSource::Path(path.to_string_lossy().into_owned()),
    })
}

fn bytes_file(name: String, bytes: Vec<u8>) -> NewFile {
    NewFile {
        mime: crate::core::attachment::mime_for(&name).to_owned(),
        size: bytes.len() as u64,
        name,
        source: FileSource::Bytes(bytes.into()),
    }
}

/// The picture as PNG (its colours as they look: egui's are premultiplied).
fn png_of(picture: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [width, height] = picture.size;
    let rgba = picture
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let image = image::RgbaImage::from_raw(width as u32, height as u32, rgba)
        .ok_or("the pasted picture is malformed")?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| format!("the pasted picture could not be encoded: {e}"))?;
    Ok(png.into_inner())
}

/// A file dropped on the window: natively by its path, in the browser its bytes (read now,
/// asynchronously).
fn dropped_file(dropped: crate::views::Dropped, wake: Wake) -> Promise<Arrived> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = wake;
        Promise::from_ready(vec![file_at(&dropped.0.path().to_string_lossy())])
    }
    #[cfg(target_arch = "wasm32")]
    {
        let (sender, promise) = Promise::new();
        let file = dropped.0;
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.path().to_string_lossy().into_owned();
            let read = file
                .bytes_async()
                .await
                .map(|bytes| bytes_file(name.clone(), bytes));
            sender.send(vec![read.map_err(|e| format!("{name}: {e}"))]);
            wake();
        });
        promise
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::sync::{Arc, Mutex};

    use eframe::wasm_bindgen::JsCast as _;
    use eframe::wasm_bindgen::closure::Closure;

    use super::{Arrived, Wake, bytes_file, too_large};

    pub type Pasted = Arc<Mutex<Arrived>>;

    /// Files (a screenshot, a copied file) pasted anywhere on the page. eframe's own listener
    /// passes on only the text; both run, since they share the document.
    pub fn listen_for_pastes(wake: Wake) -> Pasted {
        let pasted: Pasted = Arc::default();
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return pasted;
        };
        let queue = pasted.clone();
        let on_paste = Closure::<dyn FnMut(web_sys::ClipboardEvent)>::new(
            move |event: web_sys::ClipboardEvent| {
                let Some(files) = event.clipboard_data().and_then(|d| d.files()) else {
                    return;
                };
                for at in 0..files.length() {
                    let Some(file) = files.get(at) else { continue };
                    let (queue, wake) = (queue.clone(), wake.clone());
                    if let Some(why) = too_large(&file.name(), file.size() as u64) {
                        if let Ok(mut queue) = queue.lock() {
                            queue.push(Err(why));
                        }
                        wake();
                        continue;
                    }
                    wasm_bindgen_futures::spawn_local(async move {
                        let name = file.name();
                        let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
                            .await
                            .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec())
                            .map(|bytes| bytes_file(name.clone(), bytes))
                            .map_err(|_| format!("{name}: could not be read"));
                        if let Ok(mut queue) = queue.lock() {
                            queue.push(read);
                        }
                        wake();
                    });
                }
            },
        );
        let _ =
            document.add_event_listener_with_callback("paste", on_paste.as_ref().unchecked_ref());
        // The page's listener lives as long as the page.
        on_paste.forget();
        pasted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_picture_goes_as_the_png_of_its_colours() {
        let red = egui::Color32::from_rgba_unmultiplied(200, 0, 0, 255);
        let picture = egui::ColorImage::new([3, 2], vec![red; 6]);
        let png = png_of(&picture).unwrap();
        let back = image::load_from_memory(&png).unwrap().to_rgba8();
        assert_eq!(back.dimensions(), (3, 2));
        assert!(back.pixels().all(|p| p.0 == [200, 0, 0, 255]));
    }

    #[test]
    fn a_stored_posts_file_that_is_gone_or_changed_waits_for_the_user() {
        let dir = std::env::temp_dir().join(format!("dc-recheck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let same = dir.join("same.txt");
        std::fs::write(&same, b"12345").unwrap();
        let grown = dir.join("grown.txt");
        std::fs::write(&grown, b"123456789").unwrap();
        let upload = |path: &std::path::Path, size, stored| crate::core::session::SavedUpload {
            id: crate::core::session::new_file_id(),
            name: "f.txt".into(),
            mime: "text/plain".into(),
            size,
            path: path.to_string_lossy().into_owned(),
            stored,
            failed: None,
        };
        let mut outbox = vec![crate::core::session::Unsent {
            client_key: "k".into(),
            content: String::new(),
            failed: None,
            owner: None,
            room: None,
            files: Vec::new(),
            uploads: vec![
                upload(&same, 5, false),
                upload(&grown, 5, false),
                upload(&dir.join("gone.txt"), 5, false),
                // Stored already: nothing to read again.
                upload(&dir.join("gone.txt"), 5, true),
            ],
        }];
        recheck_stored(&mut outbox);
        let failed: Vec<_> = outbox[0]
            .uploads
            .iter()
            .map(|u| u.failed.is_some())
            .collect();
        assert_eq!(failed, [false, true, true, false]);
        assert!(
            outbox[0].uploads[1]
                .failed
                .as_ref()
                .unwrap()
                .contains("changed")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_directory_is_no_file_to_attach() {
        let why = file_at(&std::env::temp_dir().to_string_lossy()).unwrap_err();
        assert!(why.ends_with("not a file"), "{why}");
    }
}
