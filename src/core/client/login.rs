//! Logging in: the server's prompts and their answers (the user's, or the remembered ones when
//! logging in again after a lost server), a new account's password asked twice, and the welcome.

use super::error::ClientError;
use super::event::{Effect, Exit, InputMode, show, show_error};
use super::state::{ClientState, Phase, Timer};
use crate::protocol::{Command, Name, Prompt, ServerMsg};

impl ClientState {
    /// A connection is up (the first, or one the core asked for); `verified`: the server proved it is
    /// the one trusted.
    pub(super) fn on_connected(&mut self, verified: bool) {
        if matches!(self.phase, Phase::Reconnecting { .. }) {
            self.phase = Phase::Connecting;
        }
        self.verified = verified;
        let at = self.now.plus_secs(self.config.greeting_secs);
        self.timers.set(Timer::ServerGreeting, at);
    }

    pub(super) fn on_greeting_deadline(&mut self, out: &mut Vec<Effect>) {
        if self.phase != Phase::Connecting {
            return;
        }
        let secs = self.config.greeting_secs;
        if self.reconnect.relogin() {
            self.retry_later(
                &format!("it did not ask for a username within {secs} s"),
                out,
            );
        } else {
            show_error(out, ClientError::NoGreeting { secs });
            self.exit(Exit::ConnectionLost, out);
        }
    }

    pub(super) fn on_prompt(&mut self, prompt: Prompt, out: &mut Vec<Effect>) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::Login { asked: None };
            self.timers.cancel(Timer::ServerGreeting);
        }
        if matches!(self.phase, Phase::Online { .. })
            && matches!(prompt, Prompt::CurrentPassword | Prompt::ChosenPassword)
        {
            // `passwd`: the next line typed is a password, not shown and not read as a command.
            let mode = match prompt {
                Prompt::CurrentPassword => InputMode::CurrentPassword,
                _ => InputMode::ChosenPassword { again: false },
            };
            self.passwd_asked = Some(mode.clone());
            self.passwd_waiting = false;
            self.reading = None;
            return self.ask(mode, out);
        }
        if !matches!(self.phase, Phase::Login { .. }) {
            // Any other prompt after login is not in the protocol; nothing sensible to answer.
            return show_error(out, ClientError::BadServerLine("unexpected prompt".into()));
        }
        let mode = match prompt {
            Prompt::Username => InputMode::Username,
            Prompt::Password => InputMode::Password,
            Prompt::NewPassword { user } => InputMode::NewPassword { user },
            // `passwd`'s prompts come once logged in (`on_passwd_prompt`), never here.
            Prompt::CurrentPassword | Prompt::ChosenPassword => InputMode::Password,
        };
        // Logging in again after a loss: answer from what the user typed the first time, but the
        // password only to a server that proved it is the one trusted.
        if self.reconnect.relogin()
            && let Some(c) = self.reconnect.credentials().cloned()
        {
            match mode {
                InputMode::Username => return out.push(Effect::Send(c.user.to_string())),
                InputMode::Password if self.verified => {
                    return out.push(Effect::Send(c.password.clone()));
                }
                InputMode::Password if !self.config.interactive => {
                    let server = self.reconnect.current().to_owned();
                    show_error(out, ClientError::ReloginNeedsUser { server });
                    return self.exit(Exit::ConnectionLost, out);
                }
                InputMode::Password => {
                    self.reconnect.stop_relogin();
                    let server = self.reconnect.current().to_owned();
                    self.connection_news(
                        out,
                        format!(
                            "{server} has not proved it is the server you trust (it speaks plain text, \
                             or its certificate is new to this client: see above), so your password \
                             is not sent to it by itself. Type it to log in again as {}, or press \
                             Ctrl-C to quit.",
                            c.user
                        ),
                    );
                }
                // The account is unknown here: only the user can decide what to do.
                _ => {
                    self.reconnect.stop_relogin();
                    let server = self.reconnect.current().to_owned();
                    self.connection_news(
                        out,
                        format!(
                            "{server} does not know the account {}; answer its questions to go on.",
                            c.user
                        ),
                    );
                }
            }
        }
        if let Phase::Login { asked } = &mut self.phase {
            *asked = Some(mode.clone());
        }
        self.reading = None;
        self.ask(mode, out);
    }

    /// A line typed at a login prompt: sent as the answer (the server trims and checks it, and asks
    /// again if it is wrong), except a new password, which is asked twice first.
    pub(super) fn answer_prompt(&mut self, line: &str, out: &mut Vec<Effect>) {
        let Phase::Login { asked } = &mut self.phase else {
            return;
        };
        match asked.take() {
            Some(InputMode::Username) => self.reconnect.typed_username(line),
            Some(InputMode::Password) => {
                self.reconnect.typed_password(line);
                self.e2e_password = Some(line.to_owned());
            }
            Some(InputMode::NewPassword { user }) => {
                self.new_password = Some(line.to_owned());
                let again = InputMode::ConfirmPassword { user };
                *asked = Some(again.clone());
                return self.ask(again, out);
            }
            Some(InputMode::ConfirmPassword { user }) => {
                if self.new_password.take().as_deref() != Some(line) {
                    show_error(out, ClientError::PasswordsDiffer);
                    let first = InputMode::NewPassword { user };
                    *asked = Some(first.clone());
                    return self.ask(first, out);
                }
                self.reconnect.typed_password(line);
                self.e2e_password = Some(line.to_owned());
            }
            Some(
                InputMode::Command { .. }
                | InputMode::TrustCertificate { .. }
                | InputMode::CurrentPassword
                | InputMode::ChosenPassword { .. },
            )
            | None => return,
        }
        out.push(Effect::Send(line.to_owned()));
    }

    /// A password typed for `passwd` (`asked`): the current one goes to the server as typed; a new
    /// one is asked twice, so a typing mistake nobody saw does not lock the user out, then sent.
    /// The next line is read once the server has answered (its next prompt, `PASSWORD-CHANGED` or
    /// an error that ends it), so a script's next line is never taken for a command too early.
    pub(super) fn answer_passwd(&mut self, asked: InputMode, line: &str, out: &mut Vec<Effect>) {
        match asked {
            InputMode::ChosenPassword { again: false } => {
                self.new_password = Some(line.to_owned());
                let again = InputMode::ChosenPassword { again: true };
                self.passwd_asked = Some(again.clone());
                return self.ask(again, out);
            }
            InputMode::ChosenPassword { again: true }
                if self.new_password.take().as_deref() != Some(line) =>
            {
                show_error(out, ClientError::PasswordsDiffer);
                let first = InputMode::ChosenPassword { again: false };
                self.passwd_asked = Some(first.clone());
                return self.ask(first, out);
            }
            InputMode::ChosenPassword { again: true } => {
                // Kept until the server says it is the account's (`PASSWORD-CHANGED`).
                self.passwd_chosen = Some(line.to_owned());
            }
            _ => {}
        }
        out.push(Effect::Send(line.to_owned()));
        self.passwd_waiting = true;
    }

    /// `passwd` is over (done, or refused for good): commands are read again.
    pub(super) fn passwd_over(&mut self, out: &mut Vec<Effect>) {
        if !std::mem::take(&mut self.passwd_waiting) {
            return;
        }
        if let Phase::Online { user } = &self.phase {
            let user = user.clone();
            self.ask(InputMode::Command { user }, out);
        }
    }

    /// `PASSWORD-CHANGED`: the password chosen with `passwd` is the account's now. A login again
    /// after a lost server uses it, and the stored end-to-end keys are locked with it.
    pub(super) fn on_password_changed(&mut self, out: &mut Vec<Effect>) {
        self.passwd_over(out);
        let Some(new) = self.passwd_chosen.take() else {
            return;
        };
        self.reconnect.password_changed(&new);
        self.rewrap_e2e(new, out);
    }

    pub(super) fn on_welcome(&mut self, user: Name, out: &mut Vec<Effect>) {
        if !self.logging_in() {
            return;
        }
        self.known.remove(&user);
        self.phase = Phase::Online { user: user.clone() };
        self.new_password = None;
        self.passwd_waiting = false;
        self.passwd_asked = None;
        self.passwd_chosen = None;
        self.last_failure = None;
        let moved = self.reconnect.was_lost();
        self.reconnect.logged_in(&user);
        if moved {
            let server = self.reconnect.current().to_owned();
            self.connection_news(
                out,
                format!("Reconnected to {server}; logged in again as {user}."),
            );
        } else {
            show(out, ServerMsg::Welcome { user: user.clone() });
        }
        if let Some(screen) = &mut self.screen {
            screen.set_link(self.reconnect.current(), super::screen::Link::Up);
        }
        // First of all: this client acknowledges what it shows, so the server keeps each message until
        // it has (and never tells a sender it was delivered before).
        self.unacked = None;
        out.push(Effect::Send(Command::Acks { on: true }.to_line()));
        out.push(Effect::Send(
            Command::P2pPort {
                port: self.config.p2p_port,
            }
            .to_line(),
        ));
        if self.config.echo_own || self.config.e2e.is_some() {
            // Answers to settle the user's own messages with (see `outgoing`); with encryption, every
            // line's answer is followed, so one refused as encrypted for a device its recipient no
            // longer has is encrypted again rather than lost.
            out.push(Effect::Send(Command::Receipts { on: true }.to_line()));
        }
        if self.screen.is_some() {
            // Who is online fills the list beside the conversations; the groups' members, the list
            // beside each group's window (learnt, not shown).
            out.push(Effect::Send(Command::WhoElse.to_line()));
            out.push(Effect::Send(Command::GroupList.to_line()));
            self.quiet_grouplists += 1;
        }
        self.ask(InputMode::Command { user: user.clone() }, out);
        // After the prompt: a new device's keys take a moment to make and to write, and the user can
        // type meanwhile (what they send waits for the keys in order anyway).
        self.open_e2e(&user, out);
    }
}
