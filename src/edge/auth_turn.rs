//! One tab of the page at a time authenticates (web). Directus rotates the refresh token on
//! every use, but not atomically: two tabs sending the same token at once are both answered ok,
//! one of them with a token its update never stored (it matched no row, 11.17.4's
//! `AuthenticationService.refresh`). The tab that saves that one last leaves a dead token, and
//! the next start of every tab is refused. A Web Lock shared by the page's tabs
//! (`navigator.locks`) makes the handshakes take turns: each starts after the previous one was
//! answered and its new token stored, and reads the stored token first (see
//! `Edge::authenticate_with_newest_token`). Should this tab's copy of localStorage lag that
//! write, its spent token is refused and it continues with the newer one (`Session::rejoin`);
//! what the turns rule out is two handshakes with one token at once. Natively one process
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
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use eframe::wasm_bindgen::closure::Closure;
    use eframe::wasm_bindgen::{JsCast as _, JsValue};

    use crate::edge::Wake;

    const LOCK: &str = "directus-chat.auth";
    /// A turn ends by itself after this long, whatever this tab does (a frozen or throttled
    /// tab might not get round to ending it). As long as the session waits for a socket to
    /// open and authenticate (CONNECT_TIMEOUT): a turn never ends under a handshake still
    /// waited for.
    const LONGEST_TURN_MS: i32 = 15_000;

    #[derive(Default)]
    enum Turn {
        #[default]
        Idle,
        Asked,
        /// `end` resolves the promise the lock waits for; `number` tells this turn's timer
        /// from an older one's.
        Held {
            end: js_sys::Function,
            number: u64,
        },
    }

    #[derive(Default)]
    pub struct AuthTurn {
        turn: Rc<RefCell<Turn>>,
        /// The browser refused the lock request (e.g. an opaque origin): go without.
        refused: Rc<Cell<bool>>,
        turns: Rc<Cell<u64>>,
        on_refusal: Option<Closure<dyn FnMut(JsValue)>>,
    }

    impl AuthTurn {
        /// True: authenticate now (this tab's turn, or the browser has no Web Locks, e.g. a
        /// page served over plain http from another host). False: asked; `held` says when.
        pub fn ask(&mut self, wake: Wake) -> bool {
            match *self.turn.borrow() {
                Turn::Held { .. } => return true,
                Turn::Asked => return false,
                Turn::Idle => {}
            }
            if self.refused.get() {
                return true;
            }
            let Some((locks, request)) = lock_manager() else {
                return true;
            };
            let (turn, turns, woken) = (self.turn.clone(), self.turns.clone(), wake.clone());
            let granted = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
                let number = turns.get() + 1;
                turns.set(number);
                let promise = js_sys::Promise::new(&mut |end: js_sys::Function, _| {
                    *turn.borrow_mut() = Turn::Held { end, number };
                });
                end_later(turn, number, woken.clone());
                woken();
                promise
            });
            *self.turn.borrow_mut() = Turn::Asked;
            let asked = request
                .call2(&locks, &JsValue::from_str(LOCK), &granted)
                .ok()
                .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
            let Some(asked) = asked else {
                *self.turn.borrow_mut() = Turn::Idle;
                self.refused.set(true);
                return true;
            };
            // Refused (the promise rejects rather than throws): go without from now on.
            let (turn, refused) = (self.turn.clone(), self.refused.clone());
            let on_refusal = Closure::<dyn FnMut(JsValue)>::new(move |_why: JsValue| {
                if matches!(*turn.borrow(), Turn::Asked) {
                    *turn.borrow_mut() = Turn::Idle;
                }
                refused.set(true);
                wake();
            });
            let _ = asked.catch(&on_refusal);
            // Kept until the next request: by then this one has settled (its turn ended).
            self.on_refusal = Some(on_refusal);
            false
        }

        pub fn held(&self) -> bool {
            matches!(*self.turn.borrow(), Turn::Held { .. })
        }

        /// The next tab's turn. (A turn asked for and no longer needed stays asked: when it
        /// is given, `Edge::use_or_end_turn` finds nothing waiting and ends it.)
        pub fn release(&mut self) {
            end(&self.turn, None);
        }
    }

    /// End the turn held (only turn `number`, if given).
    fn end(turn: &RefCell<Turn>, number: Option<u64>) {
        let mut held = turn.borrow_mut();
        let ours = matches!(*held, Turn::Held { number: n, .. } if number.is_none_or(|m| m == n));
        if ours && let Turn::Held { end, .. } = std::mem::take(&mut *held) {
            let _ = end.call0(&JsValue::NULL);
        }
    }

    /// Turn `number` ends after LONGEST_TURN_MS if it has not ended before (a socket still
    /// waiting asks again).
    fn end_later(turn: Rc<RefCell<Turn>>, number: u64, wake: Wake) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let timeout = Closure::once_into_js(move || {
            end(&turn, Some(number));
            wake();
        });
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            timeout.unchecked_ref(),
            LONGEST_TURN_MS,
        );
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
