//! Logging in: the server's prompts and their answers, the user's or, when logging in again after a
//! lost server, the ones remembered (the password only to a server that proved it is the one
//! trusted), and `passwd`'s new password once the server took it. A rule handed only the session and
//! the way back to a server; what reaches further (the device the password unlocks, the welcome) is
//! the state's (`state/login.rs`).

use super::error::ClientError;
use super::event::{Effect, Exit, InputMode, news, show_error};
use super::reconnect::Reconnect;
use super::session::{Answered, Session, Step};
use super::timer::Timer;
use crate::protocol::Prompt;
use crate::timers::Timers;

/// The login rule, with the parts it touches.
pub(super) struct Login<'a> {
    /// Where the client is, and what the user is asked.
    pub(super) session: &'a mut Session,
    /// The login to repeat after a lost server.
    pub(super) reconnect: &'a mut Reconnect,
    /// The session's deadlines (the greeting's).
    pub(super) timers: &'a mut Timers<Timer>,
}

impl Login<'_> {
    /// A prompt of the server: asked of the user, or answered from what the user typed the first
    /// time when logging in again after a loss.
    pub(super) fn prompt(&mut self, prompt: Prompt, out: &mut Vec<Effect>) -> Step {
        let Some(mode) = self.session.prompted(prompt, self.timers, out) else {
            return Step::On;
        };
        if self.reconnect.relogin()
            && let Some(c) = self.reconnect.credentials().cloned()
        {
            match mode {
                InputMode::Username => {
                    out.push(Effect::Send(c.user.to_string()));
                    return Step::On;
                }
                InputMode::Password if self.session.verified() => {
                    out.push(Effect::Send(c.password.clone()));
                    return Step::On;
                }
                InputMode::Password if !self.reconnect.interactive() => {
                    let server = self.reconnect.current().to_owned();
                    show_error(out, ClientError::ReloginNeedsUser { server });
                    return Step::End(Exit::ConnectionLost);
                }
                InputMode::Password => {
                    self.reconnect.stop_relogin();
                    let server = self.reconnect.current().to_owned();
                    news(
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
                    news(
                        out,
                        format!(
                            "{server} does not know the account {}; answer its questions to go on.",
                            c.user
                        ),
                    );
                }
            }
        }
        self.session.ask_login(mode, out);
        Step::On
    }

    /// A line typed at a login prompt: sent as the answer (the server trims and checks it, and asks
    /// again if it is wrong), and remembered for a login again after a loss. Returns whether it was
    /// the password (which also unlocks the stored end-to-end keys).
    pub(super) fn answer(&mut self, line: &str, out: &mut Vec<Effect>) -> bool {
        let password = match self.session.answer_prompt(line, out) {
            None => return false,
            Some(Answered::Username) => {
                self.reconnect.typed_username(line);
                false
            }
            Some(Answered::Password) => {
                self.reconnect.typed_password(line);
                true
            }
        };
        out.push(Effect::Send(line.to_owned()));
        password
    }

    /// `PASSWORD-CHANGED`: the password chosen with `passwd` (returned) is the account's now, and a
    /// login again after a lost server uses it.
    pub(super) fn password_changed(&mut self, out: &mut Vec<Effect>) -> Option<String> {
        let new = self.session.password_changed(out)?;
        self.reconnect.password_changed(&new);
        Some(new)
    }
}
