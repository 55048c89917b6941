//! Desktop notifications, shown by the edge: natively through notify-rust (D-Bus on Linux,
//! the same crate on macOS and Windows), on the web through the Notifications API, whose
//! permission is asked only when the user clicks for it. A click on a notification (where the
//! platform tells) opens its room at its message. What to notify is decided in the core
//! (`core::notifications`); tests put a recording [`Notify`] in place of the platform's.

use crate::core::notifications::Notification;
pub use crate::core::notifications::Permission;

pub trait Notify {
    /// Show it (best effort: a desktop without a notification service shows nothing).
    fn show(&mut self, notification: &Notification);
    /// Notifications clicked since the last call: (room, message id).
    fn clicked(&mut self) -> Vec<(String, i64)>;
    fn permission(&self) -> Permission {
        Permission::Granted
    }
    /// Ask the user (on the web: call only from a click).
    fn ask_permission(&mut self) {}
}

/// The platform's notifications.
pub fn platform(wake: super::Wake) -> Box<dyn Notify> {
    #[cfg(not(target_arch = "wasm32"))]
    return Box::new(native::Desktop::new(wake));
    #[cfg(target_arch = "wasm32")]
    return Box::new(web::Browser::new(wake));
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{Receiver, Sender, channel};

    use super::{Notification, Notify};
    use crate::edge::Wake;

    /// Notifications waited on for a click at most (each holds a thread until it closes).
    const WAITING_MAX: usize = 8;

    pub struct Desktop {
        wake: Wake,
        tx: Sender<(String, i64)>,
        rx: Receiver<(String, i64)>,
        waiting: Arc<AtomicUsize>,
    }

    impl Desktop {
        pub fn new(wake: Wake) -> Desktop {
            let (tx, rx) = channel();
            Desktop {
                wake,
                tx,
                rx,
                waiting: Arc::default(),
            }
        }
    }

    /// Freedesktop servers may read the body as markup: it is the sender's text, not ours.
    /// (macOS shows it as it is; Windows escapes it itself.)
    fn escaped(text: &str) -> String {
        if cfg!(all(unix, not(target_os = "macos"))) {
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        } else {
            text.to_owned()
        }
    }

    impl Notify for Desktop {
        fn show(&mut self, notification: &Notification) {
            let shown = notification.clone();
            let (tx, wake, waiting) = (self.tx.clone(), self.wake.clone(), self.waiting.clone());
            // D-Bus calls can block: never on the UI thread.
            let spawned = std::thread::Builder::new()
                .name("notification".into())
                .spawn(move || {
                    let mut note = notify_rust::Notification::new();
                    note.appname("directus-chat")
                        .summary(&shown.title)
                        .body(&escaped(&shown.body))
                        .action("default", "Open");
                    let handle = match note.show() {
                        Ok(handle) => handle,
                        Err(e) => return log::warn!("could not show a notification: {e}"),
                    };
                    // Only the freedesktop servers tell of a click.
                    #[cfg(all(unix, not(target_os = "macos")))]
                    {
                        if waiting.fetch_add(1, Ordering::SeqCst) < WAITING_MAX {
                            handle.wait_for_action(|action| {
                                if action == "default" {
                                    let _ = tx.send((shown.room.clone(), shown.id));
                                    wake();
                                }
                            });
                        }
                        waiting.fetch_sub(1, Ordering::SeqCst);
                    }
                    #[cfg(not(all(unix, not(target_os = "macos"))))]
                    let _ = (handle, tx, wake, waiting);
                });
            if let Err(e) = spawned {
                log::warn!("could not show a notification: {e}");
            }
        }

        fn clicked(&mut self) -> Vec<(String, i64)> {
            self.rx.try_iter().collect()
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::RefCell;
    use std::rc::Rc;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::NotificationPermission;

    use super::{Notification, Notify, Permission};
    use crate::edge::Wake;

    pub struct Browser {
        wake: Wake,
        clicked: Rc<RefCell<Vec<(String, i64)>>>,
    }

    impl Browser {
        pub fn new(wake: Wake) -> Browser {
            Browser {
                wake,
                clicked: Rc::default(),
            }
        }
    }

    /// A browser without the API (or a page without a secure context) has none.
    fn supported() -> bool {
        web_sys::window()
            .is_some_and(|w| js_sys::Reflect::has(&w, &"Notification".into()).unwrap_or(false))
    }

    impl Notify for Browser {
        fn show(&mut self, notification: &Notification) {
            if self.permission() != Permission::Granted {
                return;
            }
            let options = web_sys::NotificationOptions::new();
            options.set_body(&notification.body);
            // One per room on screen: a newer one replaces it.
            options.set_tag(&notification.room);
            let Ok(shown) = web_sys::Notification::new_with_options(&notification.title, &options)
            else {
                return;
            };
            let (clicked, wake) = (self.clicked.clone(), self.wake.clone());
            let target = (notification.room.clone(), notification.id);
            let on_click = Closure::<dyn FnMut()>::new(move || {
                clicked.borrow_mut().push(target.clone());
                if let Some(window) = web_sys::window() {
                    let _ = window.focus();
                }
                wake();
            });
            shown.set_onclick(Some(on_click.as_ref().unchecked_ref()));
            on_click.forget(); // lives as long as the notification
        }

        fn clicked(&mut self) -> Vec<(String, i64)> {
            std::mem::take(&mut self.clicked.borrow_mut())
        }

        fn permission(&self) -> Permission {
            if !supported() {
                return Permission::Denied;
            }
            match web_sys::Notification::permission() {
                NotificationPermission::Granted => Permission::Granted,
                NotificationPermission::Denied => Permission::Denied,
                _ => Permission::Ask,
            }
        }

        fn ask_permission(&mut self) {
            if supported() {
                let wake = self.wake.clone();
                if let Ok(asked) = web_sys::Notification::request_permission() {
                    wasm_bindgen_futures::spawn_local(async move {
                        let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
                        wake();
                    });
                }
            }
        }
    }
}

/// The notifications of one window: the core's policy, shown by the platform (or a test's
/// [`Notify`]).
pub struct Notifications {
    policy: crate::core::notifications::Notifier,
    pub platform: Box<dyn Notify>,
}

impl Notifications {
    pub fn new(platform: Box<dyn Notify>) -> Notifications {
        Notifications {
            policy: Default::default(),
            platform,
        }
    }

    /// Once per frame: what arrived is notified (or held for a summary) per its room's
    /// setting; `focused`: the window has the keyboard (the room shown is being looked at).
    /// Returns the notifications clicked: (room, message id) to open.
    pub fn update(
        &mut self,
        session: &mut crate::core::session::Session,
        focused: bool,
        now: web_time::Instant,
    ) -> Vec<(String, i64)> {
        if session.phase() == crate::core::session::Phase::LoggedOut {
            // Nothing held for the last account is told (another may log in next).
            self.policy.forget();
            let _ = self.platform.clicked();
            return Vec::new();
        }
        let shown = session.rooms().shown_id().map(str::to_owned);
        for arrival in session.take_arrivals() {
            let level = session
                .rooms()
                .get(&arrival.room)
                .map(|r| r.notify)
                .unwrap_or_default();
            let looking = focused && shown.as_deref() == Some(arrival.room.as_str());
            if let Some(shown) = self.policy.arrived(arrival, level, looking, now) {
                self.platform.show(&shown);
            }
        }
        if focused && let Some(room) = &shown {
            self.policy.seen(room);
        }
        for due in self.policy.due(now) {
            self.platform.show(&due);
        }
        self.platform.clicked()
    }

    /// When a held summary is due.
    pub fn next_deadline(&self) -> Option<web_time::Instant> {
        self.policy.next_deadline()
    }
}
