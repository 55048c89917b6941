//! One tab of the page at a time authenticates (web). Directus rotates the refresh token on
//! every use, but not atomically: two tabs sending the same token at once are both answered ok,
//! one of them with a token its update never stored (it matched no row, 11.17.4's
//! `AuthenticationService.refresh`). The tab that saves that one last leaves a dead token, and
//! the next start of every tab is refused. A Web Lock shared by the page's tabs
//! (`navigator.locks`) makes the handshakes take turns: each starts after the previous one has
//! stored its new token, and reads that token first (see `Edge::drive`). Natively one process
//! holds the stored session (see `SessionStore::lock`): there is nobody to take turns with.

#[cfg(target_arch = "wasm32")]
pub use web::AuthTurn;

#[cfg(not(target_arch = "wasm32"))]
#[derive(Default)]
pub struct AuthTurn;

#[cfg(not(target_arch = "wasm32"))]
impl AuthTurn {
    /// Go ahead at once.
    pub fn ask(&mut self, _wake: crate::edge::Wake) -> bool {
        true
    }

    pub fn held(&self) -> bool {
        false
    }

    pub fn release(&mut self) {}
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::RefCell;
    use std::rc::Rc;

    use eframe::wasm_bindgen::closure::Closure;
    use eframe::wasm_bindgen::{JsCast as _, JsValue};

    const LOCK: &str = "directus-chat.auth";
    /// A turn ends by itself after this long: a hidden tab draws no frames, so it might not get
    /// round to ending it (a handshake takes tens of milliseconds).
    const LONGEST_TURN_MS: i32 = 5_000;

    #[derive(Default)]
    enum Turn {
        #[default]
        Idle,
        Asked,
        /// Calling it ends the turn (it resolves the promise the lock waits for).
        Held(js_sys::Function),
    }

    #[derive(Default)]
    pub struct AuthTurn {
        turn: Rc<RefCell<Turn>>,
    }

    impl AuthTurn {
        /// True: authenticate now (this tab's turn, or the browser has no Web Locks, e.g. a
        /// page served over plain http from another host). False: asked; `held` says when.
        pub fn ask(&mut self, wake: crate::edge::Wake) -> bool {
            match *self.turn.borrow() {
                Turn::Held(_) => return true,
                Turn::Asked => return false,
                Turn::Idle => {}
            }
            let Some((locks, request)) = lock_manager() else {
                return true;
            };
            let turn = self.turn.clone();
            let granted = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
                let promise = js_sys::Promise::new(&mut |end: js_sys::Function, _| {
                    if let Some(window) = web_sys::window() {
                        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                            &end,
                            LONGEST_TURN_MS,
                        );
                    }
                    *turn.borrow_mut() = Turn::Held(end);
                });
                wake();
                promise
            });
            if request
                .call2(&locks, &JsValue::from_str(LOCK), &granted)
                .is_err()
            {
                return true;
            }
            *self.turn.borrow_mut() = Turn::Asked;
            false
        }

        pub fn held(&self) -> bool {
            matches!(*self.turn.borrow(), Turn::Held(_))
        }

        /// The next tab's turn (a turn asked for and not yet given stays asked: it is ended
        /// when given, if nothing waits for it then).
        pub fn release(&mut self) {
            let mut turn = self.turn.borrow_mut();
            if matches!(*turn, Turn::Held(_))
                && let Turn::Held(end) = std::mem::take(&mut *turn)
            {
                let _ = end.call0(&JsValue::NULL);
            }
        }
    }

    /// `navigator.locks` and its `request` (web-sys has them only behind its unstable flag).
    fn lock_manager() -> Option<(JsValue, js_sys::Function)> {
        let navigator = web_sys::window()?.navigator();
        let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks"))
            .ok()
            .filter(JsValue::is_object)?;
        let request = js_sys::Reflect::get(&locks, &JsValue::from_str("request"))
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        Some((locks, request))
    }
}
