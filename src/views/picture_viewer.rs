//! A picture shown large, over the chat: fitted to the window, zoomed with Ctrl+wheel (or a
//! pinch), `+` and `-`, back to fit with `0`; Esc, a click outside or Close ends it. The large
//! size is fetched like a thumbnail (see `edge::pictures`).

use egui::RichText;

use super::{Thumbnail, Thumbnails};
use crate::core::attachment::{Attachment, size_text};

const ZOOM_MIN: f32 = 0.25;
const ZOOM_MAX: f32 = 8.0;

/// The picture being viewed, and how far it is zoomed (1: fitted to the window).
pub struct Viewing {
    pub file: Attachment,
    zoom: f32,
}

impl Viewing {
    pub fn new(file: Attachment) -> Self {
        Viewing { file, zoom: 1.0 }
    }
}

/// Draws the viewer; false once it is closed.
pub fn show(ctx: &egui::Context, viewing: &mut Viewing, pictures: &mut dyn Thumbnails) -> bool {
    let (plus, minus, fit, pinch) = ctx.input(|i| {
        let plain = !i.modifiers.command;
        (
            plain && (i.key_pressed(egui::Key::Plus) || i.key_pressed(egui::Key::Equals)),
            plain && i.key_pressed(egui::Key::Minus),
            plain && i.key_pressed(egui::Key::Num0),
            i.zoom_delta(),
        )
    });
    let mut zoom = viewing.zoom * pinch;
    if plus {
        zoom *= 1.25;
    }
    if minus {
        zoom /= 1.25;
    }
    if fit {
        zoom = 1.0;
    }
    viewing.zoom = zoom.clamp(ZOOM_MIN, ZOOM_MAX);
    let file = &viewing.file;
    let screen = ctx.content_rect().size();
    let room = egui::vec2(screen.x * 0.85, screen.y * 0.75);
    let modal = egui::Modal::new(egui::Id::unique("picture-viewer")).show(ctx, |ui| {
        let mut close = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new(&file.name).strong());
            ui.weak(size_text(file.size));
            ui.weak(format!("{:.0}%", viewing.zoom * 100.0));
            if ui.small_button("−").on_hover_text("Smaller (-)").clicked() {
                viewing.zoom = (viewing.zoom / 1.25).max(ZOOM_MIN);
            }
            if ui.small_button("+").on_hover_text("Larger (+)").clicked() {
                viewing.zoom = (viewing.zoom * 1.25).min(ZOOM_MAX);
            }
            if ui
                .small_button("Fit")
                .on_hover_text("Fit the window (0)")
                .clicked()
            {
                viewing.zoom = 1.0;
            }
            close = ui.button("Close").clicked();
        });
        let fitted = file.fitted(room.x, room.y).unwrap_or((room.x, room.y));
        let shown = egui::vec2(fitted.0, fitted.1) * viewing.zoom;
        match pictures.large(&file.id) {
            Thumbnail::Ready(texture) => {
                egui::ScrollArea::both()
                    .max_width(room.x)
                    .max_height(room.y)
                    .show(ui, |ui| {
                        let image = egui::Image::from_texture((texture.id(), shown));
                        let label = format!("Viewing {}", file.label());
                        ui.add(image).widget_info(|| {
                            egui::WidgetInfo::labeled(egui::Role::Image, true, &label)
                        });
                    });
            }
            Thumbnail::Loading => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Loading {}…", file.name));
                });
            }
            Thumbnail::Failed(why) => {
                ui.label(RichText::new(why).color(ui.visuals().error_fg_color));
            }
        }
        close
    });
    !(modal.inner || modal.should_close())
}
