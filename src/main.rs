//! directus-chat: the desktop window, `--headless` mode, or (on wasm32) the web page.

#[cfg(not(target_arch = "wasm32"))]
const USAGE: &str = "\
directus-chat [--server URL]
    Open the chat window (the login form starts with URL).
directus-chat --headless [--server URL] [--email EMAIL] [--room NAME | --all-rooms]
              [--attach PATH]...
    No window: print messages as JSON lines on stdout, send each stdin line as a message.
    --room: the room for both (a channel's name, or the first name or e-mail of the other
    person of a DM; default general). --all-rooms: print every room's messages.
    --attach: send this file (repeat for several, up to 10) with the next stdin line as its
    caption (no line: no caption).
    The password comes from DIRECTUS_CHAT_PASSWORD; without it the stored session is used.
directus-chat --headless --search TEXT [--server URL] [--email EMAIL]
    Print the messages of your rooms that contain TEXT (any case), newest first, as JSON
    lines, and exit.

Environment: DIRECTUS_CHAT_DATA_DIR (where the session is stored; default: the OS data dir).";

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use directus_chat::edge::store::SessionStore;
    use std::process::ExitCode;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut headless = false;
    let (mut server, mut email, mut room) = (None, None, None);
    let mut all_rooms = false;
    let mut search = None;
    let mut attach = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--headless" => headless = true,
            "--server" => server = it.next(),
            "--email" => email = it.next(),
            "--room" => room = it.next(),
            "--all-rooms" => all_rooms = true,
            "--attach" => match it.next() {
                Some(path) => attach.push(path),
                None => {
                    eprintln!("--attach needs the path of a file\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--search" => match it.next() {
                Some(text) => search = Some(text),
                None => {
                    eprintln!("--search needs the text to look for\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if !attach.is_empty() && (!headless || search.is_some()) {
        eprintln!("--attach goes with --headless (and not with --search)\n\n{USAGE}");
        return ExitCode::from(2);
    }
    if search.is_some() && (!headless || room.is_some() || all_rooms) {
        eprintln!(
            "--search goes with --headless, and searches all your rooms (no --room)\n\n{USAGE}"
        );
        return ExitCode::from(2);
    }
    let mut store = SessionStore::default_location();
    if headless {
        let password = std::env::var("DIRECTUS_CHAT_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty());
        // With a password this run is a fresh login: it neither needs nor overwrites the stored
        // session. Without one it continues the stored session and keeps its rotated token.
        let store = if password.is_some() {
            SessionStore::none()
        } else {
            if let Err(why) = store.lock() {
                eprintln!(
                    "error: {why}; stop it, or log in with a password (DIRECTUS_CHAT_PASSWORD and \
                     --email) to run beside it"
                );
                return ExitCode::FAILURE;
            }
            store
        };
        let options = directus_chat::headless::Options {
            server,
            email,
            password,
            store,
            room,
            all_rooms,
            search,
            attach,
        };
        return match directus_chat::headless::run(options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(why) = directus_chat::app::no_display() {
        eprintln!("error: {why}");
        return ExitCode::FAILURE;
    }
    // A second window on the same data dir logs in on its own and stores nothing: sharing the
    // stored session would rotate the other window's token dead.
    let notice = store.lock().err().map(|why| {
        store = SessionStore::none();
        format!("{why}: this window logs in on its own and keeps nothing on this device.")
    });
    let native_options = directus_chat::app::native_options(&store);
    let startup = directus_chat::app::Startup {
        server,
        store,
        notice,
        notifier: None,
        downloads: None,
        file_dialog: None,
    };
    let result = eframe::run_native(
        "directus-chat",
        native_options,
        Box::new(|cc| {
            Ok(Box::new(directus_chat::app::ChatApp::new(
                &cc.egui_ctx,
                startup,
            )))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    use eframe::wasm_bindgen::JsCast as _;

    eframe::WebLogger::init(log::LevelFilter::Info).ok();
    wasm_bindgen_futures::spawn_local(async {
        let document = web_sys::window()
            .expect("window")
            .document()
            .expect("document");
        let canvas = document
            .get_element_by_id("directus_chat_canvas")
            .expect("the page has a canvas #directus_chat_canvas")
            .dyn_into::<web_sys::HtmlCanvasElement>()
            .expect("#directus_chat_canvas is a canvas");
        // The fonts come as files (fetched by the page while the wasm downloads).
        let fonts = match directus_chat::edge::web_fonts::load().await {
            Ok(fonts) => fonts,
            Err(e) => return cannot_start(&document, &format!("could not load a font: {e}")),
        };
        let result = eframe::WebRunner::new()
            .start(
                canvas,
                eframe::WebOptions::default(),
                Box::new(move |cc| {
                    cc.egui_ctx.set_fonts(fonts);
                    Ok(Box::new(directus_chat::app::ChatApp::new(
                        &cc.egui_ctx,
                        directus_chat::app::Startup::default(),
                    )))
                }),
            )
            .await;
        match result {
            Ok(()) => register_service_worker(),
            Err(e) => cannot_start(&document, &format!("{e:?}")),
        }
    });
}

/// Said where the page's loading indicator was (the canvas stays empty).
#[cfg(target_arch = "wasm32")]
fn cannot_start(document: &web_sys::Document, why: &str) {
    log::error!("failed to start: {why}");
    if let Some(loading) = document.get_element_by_id("loading") {
        loading.set_text_content(Some(&format!("directus-chat could not start: {why}")));
    }
}

/// A release build keeps its shell for an offline start (assets/sw.js), registered once the
/// app runs so it never competes with the start. The development loop (`trunk serve`, a
/// debug build) never registers it: no worker outlives a developer's port.
#[cfg(target_arch = "wasm32")]
fn register_service_worker() {
    use eframe::wasm_bindgen::JsCast as _;
    if cfg!(debug_assertions) {
        return;
    }
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return;
    };
    let Ok(container) = js_sys::Reflect::get(&navigator, &"serviceWorker".into()) else {
        return;
    };
    let register = js_sys::Reflect::get(&container, &"register".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let Some(promise) = register
        .and_then(|register| register.call1(&container, &"sw.js".into()).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return; // no service workers here (an insecure origin, an old browser)
    };
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
            log::warn!("no offline start: the service worker was not registered: {e:?}");
        }
    });
}
