//! The desktop's notifications through the real crate (notify-rust over D-Bus), natively on
//! Linux: the test starts its own session bus (Debian's dbus-daemon) and puts a notification
//! server of its own on it, in place of the desktop's. A notification arrives with the chat's
//! name, its title, and its body escaped (a sender's `<b>` is not markup); the server's
//! "default" action comes back as a click on that room and message.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use directus_chat::core::notifications::Notification;
use directus_chat::edge::notify::platform;

/// What the server was asked to show: id, app name, summary, body, actions.
type Shown = Arc<Mutex<Vec<(u32, String, String, String, Vec<String>)>>>;

struct Server {
    shown: Shown,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock().unwrap();
        let id = shown.len() as u32 + 1;
        shown.push((id, app_name, summary, body, actions));
        id
    }

    async fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into(), "body-markup".into(), "actions".into()]
    }

    async fn get_server_information(&self) -> (String, String, String, String) {
        let info = ["test", "directus-chat", "1", "1.2"];
        info.map(str::to_owned).into()
    }

    async fn close_notification(&self, _id: u32) {}
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_notification_reaches_the_desktop_escaped_and_its_click_comes_back() {
    let daemon = xtask::debian::ensure(
        &[("/usr/bin/dbus-daemon", "dbus-daemon")],
        "the desktop notification test",
    )
    .unwrap()
    .remove(0);
    let mut bus = Command::new(daemon)
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    let address = address.trim().to_owned();
    // Only this test runs in this process: the crate finds the bus where a desktop says.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address) };

    let shown = Shown::default();
    let server = Server {
        shown: shown.clone(),
    };
    let connection = zbus::block_on(
        zbus::connection::Builder::address(address.as_str())
            .name("org.freedesktop.Notifications")
            .serve_at("/org/freedesktop/Notifications", server)
            .build(),
    )
    .unwrap();

    let woken = Arc::new(Mutex::new(0));
    let counter = woken.clone();
    let mut desktop = platform(Arc::new(move || *counter.lock().unwrap() += 1));
    desktop.show(&Notification {
        room: "r-general".into(),
        id: 42,
        title: "Bob in #general".into(),
        body: "@Alice <b>look</b> & see".into(),
    });
    wait_for("the notification", || !shown.lock().unwrap().is_empty());
    let (id, app, summary, body, actions) = shown.lock().unwrap()[0].clone();
    assert_eq!(app, "directus-chat");
    assert_eq!(summary, "Bob in #general");
    assert_eq!(body, "@Alice &lt;b&gt;look&lt;/b&gt; &amp; see");
    assert_eq!(actions, ["default", "Open"]);
    assert!(desktop.clicked().is_empty(), "not clicked yet");

    // The user clicks it: the server says so, and the chat is told (and woken).
    let clicked = || {
        zbus::block_on(connection.emit_signal(
            None::<&str>,
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            &(id, "default"),
        ))
        .unwrap()
    };
    let mut got = Vec::new();
    // The crate subscribes to the signal just after showing: say it until it is heard.
    wait_for("the click", || {
        clicked();
        std::thread::sleep(Duration::from_millis(50));
        got.extend(desktop.clicked());
        !got.is_empty()
    });
    assert_eq!(got[0], ("r-general".to_owned(), 42));
    assert!(*woken.lock().unwrap() >= 1);
    let _ = bus.kill();
    let _ = bus.wait();
}
