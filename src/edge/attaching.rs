//! How files reach the composer: dropped on the window, picked in the file dialog ("Attach
//! files…": the platform's own through rfd, the browser's file picker on the web), or pasted
//! (a picture on the clipboard, sent as PNG). Natively a file goes by its path and is read when
//! it goes out; a pasted picture and anything in the browser go as bytes, read here off the
//! UI thread (or asynchronously).

use std::sync::Arc;

use poll_promise::Promise;

use super::Wake;
use crate::core::session::{FileSource, NewFile};

type Read = Vec<Result<NewFile, String>>;

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
    reading: Vec<Promise<Read>>,
    /// A dialog is open (one at a time: a second click does nothing meanwhile).
    picking: Option<Promise<Read>>,
    #[cfg(not(target_arch = "wasm32"))]
    dialog: FileDialog,
    /// Files pasted into the page (its own listener, since eframe passes on only text).
    #[cfg(target_arch = "wasm32")]
    pasted: web::Pasted,
}

impl Attaching {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(dialog: Option<FileDialog>, _wake: Wake) -> Self {
        Attaching {
            reading: Vec::new(),
            picking: None,
            dialog: dialog.unwrap_or_else(platform_dialog),
        }
    }

    #[cfg(target_arch = "wasm32")]
    pub fn new(wake: Wake) -> Self {
        Attaching {
            reading: Vec::new(),
            picking: None,
            pasted: web::listen_for_pastes(wake),
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

    /// A picture pasted from the clipboard: encoded as PNG (off the UI thread natively).
    pub fn pasted_picture(&mut self, picture: Arc<egui::ColorImage>, wake: &Wake) {
        let name = chrono::Local::now()
            .format("Pasted %Y-%m-%d %H-%M-%S.png")
            .to_string();
        let encode = move || vec![png_of(&picture).map(|bytes| bytes_file(name, bytes))];
        #[cfg(not(target_arch = "wasm32"))]
        {
            let (sender, promise) = Promise::new();
            let wake = wake.clone();
            std::thread::spawn(move || {
                sender.send(encode());
                wake();
            });
            self.reading.push(promise);
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = wake;
            self.reading.push(Promise::from_ready(encode()));
        }
    }

    /// The files read since the last call (or why one could not be), in the order they came.
    pub fn ready(&mut self) -> Read {
        let mut files = Vec::new();
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
    fn open_dialog(&self, wake: Wake) -> Promise<Read> {
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
    fn open_dialog(&self, wake: Wake) -> Promise<Read> {
        let (sender, promise) = Promise::new();
        wasm_bindgen_futures::spawn_local(async move {
            let mut read = Vec::new();
            let picked = rfd::AsyncFileDialog::new()
                .set_title("Attach files")
                .pick_files()
                .await;
            for file in picked.unwrap_or_default() {
                read.push(Ok(bytes_file(file.file_name(), file.read().await)));
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
fn dropped_file(dropped: crate::views::Dropped, wake: Wake) -> Promise<Read> {
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

    use super::{Read, Wake, bytes_file};

    pub type Pasted = Arc<Mutex<Read>>;

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
    fn a_directory_is_no_file_to_attach() {
        let why = file_at(&std::env::temp_dir().to_string_lossy()).unwrap_err();
        assert!(why.ends_with("not a file"), "{why}");
    }
}
