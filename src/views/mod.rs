//! Views draw state and return what the user asked for; they never do IO.

pub mod chat;
pub mod composer;
pub mod login;
pub mod message_list;
pub mod message_row;
pub mod picture_viewer;
pub mod room_dialogs;
pub mod room_list;
pub mod row_heights;
pub mod search_results;

/// What an attached picture shows now.
pub enum Thumbnail<'a> {
    Ready(&'a egui::TextureHandle),
    Loading,
    /// Why it is not shown, in words.
    Failed(&'a str),
}

/// Where the message list gets pictures from: the app's cache (`edge::pictures`), which
/// fetches what was asked for after the frame.
pub trait Thumbnails {
    /// The picture at the row's size.
    fn thumbnail(&mut self, file_id: &str) -> Thumbnail<'_>;
    /// The picture at the viewer's size.
    fn large(&mut self, file_id: &str) -> Thumbnail<'_>;
}

/// A file dropped on the window (read by the app: natively by its path, on the web its bytes).
#[derive(Clone, Debug)]
pub struct Dropped(pub egui::DroppedFileHandle);

impl PartialEq for Dropped {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Dropped {}

/// A picture pasted from the clipboard.
#[derive(Clone, Debug)]
pub struct Pasted(pub std::sync::Arc<egui::ColorImage>);

impl PartialEq for Pasted {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Pasted {}

/// What a view asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    LogIn {
        server: String,
        email: String,
        password: String,
    },
    /// Send the composer's text (with the files attached to it, if any).
    Send(String),
    /// Save this file (natively into the Downloads folder; the browser downloads it).
    SaveFile(crate::core::attachment::Attachment),
    /// Show this picture large (handled by the chat view itself).
    ViewPicture(crate::core::attachment::Attachment),
    /// Files dropped on the window: attached to the composer's next message.
    Attach(Vec<Dropped>),
    /// "Attach files…": the file dialog opens; what is picked is attached like a drop.
    PickFiles,
    /// A picture pasted: attached as a PNG.
    PastePicture(Pasted),
    /// Give up on a message with files (by its client key): what was uploaded is removed.
    CancelPost(String),
    /// Upload a message's refused files again.
    RetryPost(String),
    LogOut,
    RetryNow,
    /// Scroll-back reached the top.
    LoadOlder,
    /// The bottom of a window around a message far back came near: the page after it.
    LoadNewer,
    /// Leave the window: show the room at its newest message.
    ToPresent,
    /// Put this message in the composer for editing (handled by the chat view itself).
    StartEdit(i64),
    Edit {
        id: i64,
        content: String,
    },
    /// Delete this message once the few seconds to undo it are over (`UNDO_DELETE`).
    Delete(i64),
    /// Keep the message whose delete is waiting.
    UndoDelete,
    /// Send a refused message again (by its client key).
    RetrySend(String),
    /// Give up on a refused message.
    Discard(String),
    /// Show this room (by id).
    ShowRoom(String),
    /// Search the messages of my rooms on the server.
    Search(String),
    /// The next page of the search.
    SearchMore,
    /// Show this room at this message (a search hit).
    OpenMessage {
        room: String,
        id: i64,
    },
    /// Read the public channels (the Browse dialog lists them).
    BrowseChannels,
    Join(String),
    Leave(String),
    CreateChannel {
        name: String,
        private: bool,
    },
    /// Read who is there (the people dialog lists them).
    ListPeople,
    /// Read who is in this room (the composer's @ offers them).
    ListMembers(String),
    /// The user's notification setting for a room.
    SetNotify {
        room: String,
        level: crate::core::notifications::NotifyLevel,
    },
    /// Ask the browser to let the page notify (only from a click).
    AllowNotifications,
    /// Show the DM with this person (started if there is none).
    StartDm(String),
    AddToRoom {
        room: String,
        person: String,
    },
}

/// The app's look. The text cursor does not blink: a blinking cursor repaints the window
/// twice a second forever, and an idle chat should cost nothing.
pub fn apply_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| style.visuals.text_cursor.blink = false);
}

/// The label + field pair every input uses, so tests and screen readers find it by name.
pub(crate) fn labelled_field(
    ui: &mut egui::Ui,
    label: &str,
    edit: egui::TextEdit<'_>,
) -> egui::Response {
    ui.horizontal(|ui| {
        let label = ui.add_sized([90.0, 20.0], egui::Label::new(label));
        ui.add(edit.desired_width(f32::INFINITY))
            .labelled_by(label.id)
    })
    .inner
}
