//! The login panel: server address, e-mail, password.

use egui::{Key, RichText, TextEdit};

use super::{Action, labelled_field};

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8055";

/// What the user typed. The password lives here only until it is submitted.
#[derive(Clone, Debug)]
pub struct LoginForm {
    pub server: String,
    pub email: String,
    pub password: String,
    /// The e-mail field got the keyboard when the panel appeared (once: Tab must still work).
    focused: bool,
}

impl Default for LoginForm {
    fn default() -> Self {
        LoginForm {
            server: DEFAULT_SERVER.into(),
            email: String::new(),
            password: String::new(),
            focused: false,
        }
    }
}

/// `busy`: a login is under way. `error`: why the last one failed. `unsent`: messages kept on
/// this device, by who wrote them ("email at server"; None: not recorded).
pub fn show(
    ui: &mut egui::Ui,
    form: &mut LoginForm,
    busy: bool,
    error: Option<&str>,
    unsent: &[(Option<String>, usize)],
) -> Option<Action> {
    let mut submit = false;
    ui.vertical_centered(|ui| {
        ui.set_max_width(420.0);
        ui.add_space(40.0);
        ui.heading("directus-chat");
        ui.add_space(16.0);
        let fields = [
            labelled_field(ui, "Server", TextEdit::singleline(&mut form.server)),
            labelled_field(ui, "Email", TextEdit::singleline(&mut form.email)),
            labelled_field(
                ui,
                "Password",
                TextEdit::singleline(&mut form.password).password(true),
            ),
        ];
        // Ready to type: the e-mail field takes the keyboard when the panel appears, or the
        // password after a refused login (the e-mail is usually right).
        if !busy && !form.focused {
            let retry = error.is_some() && !form.email.is_empty();
            fields[if retry { 2 } else { 1 }].request_focus();
            form.focused = true;
        }
        let entered =
            fields.iter().any(|f| f.lost_focus()) && ui.input(|i| i.key_pressed(Key::Enter));
        ui.add_space(8.0);
        let button = ui.add_enabled(
            !busy,
            egui::Button::new(if busy { "Logging in…" } else { "Log in" }),
        );
        submit = !busy && (button.clicked() || entered);
        if let Some(error) = error {
            ui.add_space(8.0);
            ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
        }
        for (owner, n) in unsent {
            let plural = if *n == 1 { "" } else { "s" };
            ui.add_space(8.0);
            ui.label(match owner {
                None => format!("{n} unsent message{plural} will be sent after you log in."),
                Some(owner) => format!(
                    "{n} unsent message{plural} of {owner} will be sent when that account logs \
                     in here."
                ),
            });
        }
    });
    if submit {
        form.focused = false; // back on this panel after a failed login: ready to type again
    }
    submit.then(|| Action::LogIn {
        server: form.server.trim().to_owned(),
        email: form.email.trim().to_owned(),
        password: std::mem::take(&mut form.password),
    })
}
