//! The login as it reaches beyond its rule (`client::login`): the server's greeting and prompts, the
//! password typed (which also unlocks the stored end-to-end keys), `passwd`'s new password (which
//! locks them again), and the welcome, which starts the session in every part.

use super::super::error::ClientError;
use super::super::event::{Effect, Exit, InputMode, news, show};
use super::ClientState;
use crate::protocol::{Command, Name, Prompt, ServerMsg};

impl ClientState {
    /// A connection is up (the first, or one the core asked for); `verified`: the server proved it is
    /// the one trusted.
    pub(super) fn on_connected(&mut self, verified: bool) {
        self.session.connected(verified, self.now, &mut self.timers);
    }

    /// The server has not asked for a username in time: it is not a natter server (or not a working
    /// one). When logging in again after a loss, the next server is tried; otherwise the client ends.
    pub(super) fn on_greeting_deadline(&mut self, out: &mut Vec<Effect>) {
        if !self.session.greeting_due() {
            return;
        }
        let secs = self.session.greeting_secs();
        if self.reconnect.relogin() {
            self.retry_later(
                &format!("it did not ask for a username within {secs} s"),
                out,
            );
        } else {
            super::super::event::show_error(out, ClientError::NoGreeting { secs });
            self.exit(Exit::ConnectionLost, out);
        }
    }

    /// A prompt of the server.
    pub(super) fn on_prompt(&mut self, prompt: Prompt, out: &mut Vec<Effect>) {
        let step = self.login().prompt(prompt, out);
        self.step(step, out);
    }

    /// A line typed at a login prompt; the password also unlocks the stored end-to-end keys.
    pub(super) fn answer_prompt(&mut self, line: &str, out: &mut Vec<Effect>) {
        if self.login().answer(line, out) {
            self.encryption.typed_password(line);
        }
    }

    /// `PASSWORD-CHANGED`: the password chosen with `passwd` is the account's now. A login again
    /// after a lost server uses it, and the stored end-to-end keys are locked with it (the shell
    /// wraps their key again; the state itself is not touched).
    pub(super) fn on_password_changed(&mut self, out: &mut Vec<Effect>) {
        let Some(new) = self.login().password_changed(out) else {
            return;
        };
        let previous = self.encryption.password_changed(&new);
        if let (Some(user), Some(previous)) = (self.session.user().cloned(), previous) {
            out.push(Effect::RewrapE2e {
                user,
                previous,
                password: new,
            });
        }
    }

    /// The server welcomed `user`: the session starts in every part.
    pub(super) fn on_welcome(&mut self, user: Name, out: &mut Vec<Effect>) {
        if !self.session.logging_in() {
            return;
        }
        self.conversations.logged_in(&user);
        self.session.welcomed(user.clone());
        let moved = self.reconnect.was_lost();
        self.reconnect.logged_in(&user);
        if moved {
            let server = self.reconnect.current().to_owned();
            news(
                out,
                format!("Reconnected to {server}; logged in again as {user}."),
            );
        } else {
            show(out, ServerMsg::Welcome { user: user.clone() });
        }
        // First of all: this client acknowledges what it shows, so the server keeps each message until
        // it has (and never tells a sender it was delivered before).
        self.inbox.logged_in();
        out.push(Effect::Send(Command::Acks { on: true }.to_line()));
        out.push(Effect::Send(
            Command::P2pPort {
                port: self.session.p2p_port(),
            }
            .to_line(),
        ));
        if self.outgoing.echo_own() || self.encryption.enabled() {
            // Answers to settle the user's own messages with (see `outgoing`); with encryption, every
            // line's answer is followed, so one refused as encrypted for a device its recipient no
            // longer has is encrypted again rather than lost.
            out.push(Effect::Send(Command::Receipts { on: true }.to_line()));
        }
        if self.screen.is_some() {
            // Who is online fills the list beside the conversations; the groups' members, the list
            // beside each group's window (learnt, not shown).
            out.push(Effect::Send(Command::WhoElse.to_line()));
            if moved {
                // Logging in again: the list beside the windows is filled again, and the window
                // the user is reading is not interrupted with it.
                self.conversations.asked_whoelse();
            }
            out.push(Effect::Send(Command::GroupList.to_line()));
            self.conversations.asked_grouplist();
        } else if self.reconnect.interactive() && !moved {
            // A person at a line-mode terminal reads who is online at once, as the full-screen
            // client's nick list shows it (a script asks when it wants to know; logging in again
            // after a lost server, the person knows already).
            out.push(Effect::Send(Command::WhoElse.to_line()));
        }
        self.session
            .ask(InputMode::Command { user: user.clone() }, out);
        // After the prompt: a new device's keys take a moment to make and to write, and the user can
        // type meanwhile (what they send waits for the keys in order anyway).
        self.open_e2e(&user, out);
        // What an earlier run kept of this account's windows, brought back before what comes next.
        self.keeper.welcomed(&user, out);
        // What was typed to log in again after an idle logout, now that the client has.
        self.replay_held(out);
    }
}
