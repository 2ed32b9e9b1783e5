//! What the user typed, once read ([`super::super::input`]): text said to a conversation, commands, a
//! paste (paced), `help`, quitting and logging out.

use super::super::display::{ClientError, Item};
use super::super::event::{Effect, Exit, show, show_error};
use super::super::input::{
    self, Input, InputError, LinkCommand, Place, Typed, WindowCommand, check_typed, help_rows,
};
use super::super::outgoing::Outcome;
use super::super::session::Held;
use super::ClientState;
use crate::protocol::p2p::PeerBye;
use crate::protocol::{Command, Conversation, Name};

impl ClientState {
    /// One line typed in line mode (or a script's), or at a prompt of the full-screen client that
    /// is not for commands: checked, then taken as what the session waits for. A command typed in
    /// line mode is read at the prompt.
    pub(super) fn on_user_line(&mut self, bytes: &[u8], out: &mut Vec<Effect>) {
        match check_typed(bytes) {
            Ok(line) => self.on_line(Line::Prompt(line), out),
            Err(e) => self.refused(e, out),
        }
    }

    /// A line typed in a window of the full-screen client, checked already.
    pub(super) fn on_typed(&mut self, typed: &Typed, out: &mut Vec<Effect>) {
        self.on_line(Line::Window(typed), out);
    }

    /// A line that no line may be: said, and what was asked is asked again.
    pub(super) fn refused(&mut self, e: ClientError, out: &mut Vec<Effect>) {
        show_error(out, e);
        self.ask_again(out);
    }

    /// A line typed, taken as what the session waits for: the answer to a changed certificate, to
    /// `passwd`'s or the login's prompt, or a command (or text said) once logged in.
    fn on_line(&mut self, line: Line<'_>, out: &mut Vec<Effect>) {
        let text = line.text();
        if let Some(fingerprint) = self.session.distrusted_fingerprint() {
            let fingerprint = fingerprint.to_owned();
            return self.on_trust_answer(text, fingerprint, out);
        }
        if self.session.is_offline().is_some() || self.moving() {
            return self.on_line_offline(line, out);
        }
        if self.session.answer_passwd(text, out) {
            return;
        }
        if self.session.online() {
            let read = match line {
                Line::Prompt(text) => input::read(text, Place::Prompt, self.screen.is_some()),
                Line::Window(typed) => typed.read(),
            };
            match read {
                Ok(input) => self.on_input(input, out),
                Err(InputError::Server(e)) => show(out, e),
                Err(InputError::Client(e)) => show_error(out, e),
            }
            return self.ask_again(out);
        }
        if self.session.logging_in() {
            return self.answer_prompt(text, out);
        }
        if self.session.logging_out_now() {
            show_error(out, ClientError::LoggingOut(text.trim().to_owned()));
        }
    }

    /// A line typed with no session up: between servers, or logged out with the client open. The
    /// words about the connection (`reconnect`, `disconnect`) and quitting work; after an idle
    /// logout anything else logs in again and is kept to be taken once it has (as it is while that
    /// login is under way); otherwise it is refused, said not sent.
    fn on_line_offline(&mut self, line: Line<'_>, out: &mut Vec<Effect>) {
        let text = line.text();
        let read = match line {
            Line::Prompt(text) => input::read(text, Place::Prompt, self.screen.is_some()),
            Line::Window(typed) => typed.read(),
        };
        match read {
            Ok(Input::Link(cmd)) => self.on_link_command(cmd, out),
            Ok(Input::Command(Command::Logout)) => return self.on_user_quit(false, out),
            _ if self.session.is_offline() == Some(true) || self.session.waking() => {
                if self.session.is_offline() == Some(true) {
                    self.wake(out);
                }
                let held = match line {
                    _ if text.trim().is_empty() => true,
                    Line::Prompt(text) => self.session.hold(Held::Prompt(text.to_owned())),
                    Line::Window(typed) => self.session.hold(Held::Window(typed.clone())),
                };
                if !held {
                    show_error(out, ClientError::NotConnected(text.trim().to_owned()));
                }
            }
            _ if text.trim().is_empty() => {}
            _ if self.session.is_offline() == Some(false) => {
                show_error(out, ClientError::Disconnected(text.trim().to_owned()))
            }
            _ => show_error(out, ClientError::NotConnected(text.trim().to_owned())),
        }
        self.ask_again(out);
    }

    /// `reconnect` or `disconnect`.
    fn on_link_command(&mut self, cmd: LinkCommand, out: &mut Vec<Effect>) {
        match cmd {
            LinkCommand::Reconnect => self.on_reconnect_word(out),
            LinkCommand::Disconnect => self.on_disconnect_word(out),
        }
    }

    /// Asks again for what the user was answering, after a line that did not answer it.
    pub(super) fn ask_again(&mut self, out: &mut Vec<Effect>) {
        let between_servers_as = if self.moving() || self.session.is_offline().is_some() {
            self.reconnect.credentials().map(|c| c.user.clone())
        } else {
            None
        };
        self.session.ask_again(between_servers_as, out);
    }

    /// Typed input, read: said, run, or handed to the windows.
    pub(super) fn on_input(&mut self, input: Input<'_>, out: &mut Vec<Effect>) {
        if let Input::Link(cmd) = input {
            return self.on_link_command(cmd, out);
        }
        if !self.session.online() {
            let what = match &input {
                Input::Say { text, .. } => (*text).to_owned(),
                Input::Command(cmd) => cmd.to_line(),
                Input::Blank | Input::Window(_) | Input::Keys(_) | Input::Link(_) => String::new(),
            };
            if !what.is_empty() {
                show_error(out, ClientError::NotConnected(what));
            }
            return;
        }
        match input {
            Input::Blank => {}
            Input::Say { to, text } => {
                self.say(&to, text, out);
            }
            Input::Window(WindowCommand::Query(user)) if self.is_me(user) => {
                show_error(out, ClientError::ToYourself(user.into()));
            }
            Input::Window(cmd) => match &mut self.screen {
                Some(screen) => screen.window_command(cmd, self.now),
                None => show_error(out, ClientError::FullScreenOnly("win")),
            },
            Input::Command(cmd) => self.on_command(cmd, out),
            Input::Keys(cmd) => self.e2e_command(cmd, out),
            Input::Link(cmd) => self.on_link_command(cmd, out),
        }
    }

    fn on_command(&mut self, cmd: Command<'_>, out: &mut Vec<Effect>) {
        match cmd {
            Command::Help => {
                for (usage, summary) in help_rows(self.screen.is_some()) {
                    show(out, Item::Help { usage, summary });
                }
            }
            Command::Logout => self.begin_logout(out),
            Command::StopPrivate { user } => {
                let cx = self.cx();
                self.chats.stop_private(&cx, user, out)
            }
            Command::Message { to, text } => {
                self.say(&Conversation::User(to.into()), text, out);
            }
            Command::MessageGroup { group, text } => {
                self.say(&Conversation::Group(group.into()), text, out);
            }
            Command::Broadcast { text } => {
                self.say(&Conversation::Broadcasts, text, out);
            }
            other => {
                if let (Some(screen), Command::StartPrivate { user } | Command::Accept { user }) =
                    (&mut self.screen, &other)
                {
                    // Starting or accepting a private chat is asking to talk in it: its window
                    // comes up at once, and what becomes of it shows there.
                    screen.focus(&Conversation::Private((*user).into()));
                }
                if let Command::StartPrivate { user } | Command::Accept { user } = &other
                    && !self.chats.can_prove()
                {
                    // Without keys the chat could not be proven, and an unproven one is one a
                    // server in the middle could read: refused here, before the server is asked.
                    let user = Name::from(*user);
                    return show_error(out, ClientError::PrivateNeedsKeys { user });
                }
                if matches!(other, Command::Passwd) {
                    self.session.passwd_started();
                }
                self.sent_command(&other, out);
            }
        }
    }

    /// Whether `user` is the one logged in here.
    fn is_me(&self, user: &str) -> bool {
        self.session.user().is_some_and(|me| **me == *user)
    }

    /// Sends `cmd` to the server, noting the activity the server will count.
    fn sent_command(&mut self, cmd: &Command<'_>, out: &mut Vec<Effect>) {
        if cmd.is_activity() {
            self.session.active_again();
        }
        out.push(Effect::Send(cmd.to_line()));
    }

    /// Says `text` to `to`: a message, a group message, a broadcast, or a line of a private chat.
    /// Refused before sending when the server would refuse the line as too long. Returns whether it
    /// was sent.
    pub(super) fn say(&mut self, to: &Conversation, text: &str, out: &mut Vec<Effect>) -> bool {
        let said = self.say_now(to, text, out);
        if said {
            self.log_said(to, text, out);
        }
        said
    }

    /// [`Self::say`], but for its log.
    fn say_now(&mut self, to: &Conversation, text: &str, out: &mut Vec<Effect>) -> bool {
        self.note_protection(to, out);
        let cmd = match to {
            Conversation::Private(peer) => {
                let sent = self.chats.send_private(peer, text, out);
                if sent && self.outgoing.echo_own() {
                    let seq = self.outgoing.sent(to, false);
                    show(
                        out,
                        Item::Outgoing {
                            seq,
                            to: to.clone(),
                            text: text.to_owned(),
                        },
                    );
                    show(
                        out,
                        Item::Outcome {
                            seq,
                            outcome: Outcome::Sent,
                        },
                    );
                }
                return sent;
            }
            Conversation::User(user) if self.is_me(user) => {
                show_error(out, ClientError::ToYourself(user.clone()));
                return false;
            }
            Conversation::User(_) | Conversation::Group(_)
                if let Some(taken) = self.say_encrypted(to, text, out) =>
            {
                return taken;
            }
            Conversation::User(user) => Command::Message { to: user, text },
            Conversation::Group(group) => Command::MessageGroup { group, text },
            Conversation::Broadcasts => Command::Broadcast { text },
        };
        let line = cmd.to_line();
        let limit = self.outgoing.line_limit();
        if line.len() > limit {
            show_error(
                out,
                ClientError::MessageTooLong {
                    limit,
                    len: line.len(),
                },
            );
            return false;
        }
        if self.outgoing.echo_own() {
            let seq = self.outgoing.sent(to, true);
            show(
                out,
                Item::Outgoing {
                    seq,
                    to: to.clone(),
                    text: text.to_owned(),
                },
            );
        }
        self.sent_command(&cmd, out);
        true
    }

    /// Lines pasted into `to`'s window (and confirmed if there were many): each is said, never run
    /// as a command; the first few at once, the rest paced.
    pub(super) fn on_paste(&mut self, to: Conversation, lines: Vec<String>, out: &mut Vec<Effect>) {
        if !self.session.online() {
            let n = lines.len();
            return show_error(
                out,
                ClientError::NotConnected(format!(
                    "{n} pasted line{}",
                    if n == 1 { "" } else { "s" }
                )),
            );
        }
        if let Some(first) = self.paste.queue(to, lines) {
            for (to, line) in first {
                self.say(&to, &line, out);
            }
            self.paste.pace(self.now, &mut self.timers);
        }
    }

    /// The next line of a paste, when its time has come.
    pub(super) fn send_paste(&mut self, out: &mut Vec<Effect>) {
        if !self.session.online() {
            return;
        }
        if let Some((to, line)) = self.paste.next() {
            self.say(&to, &line, out);
        }
        self.paste.pace(self.now, &mut self.timers);
    }

    /// The input ended, or the user pressed Ctrl-C (`interrupt`).
    pub(super) fn on_user_quit(&mut self, interrupt: bool, out: &mut Vec<Effect>) {
        self.session.forget_asked();
        if self.session.is_offline().is_some() {
            // Logged out already (by the server, or `disconnect`): nothing is lost by leaving.
            show(out, Item::Warning("Not logged in; quit.".into()));
            return self.exit(Exit::LoggedOut, out);
        }
        if self.moving() || self.reconnect.was_lost() && self.session.logging_in() {
            // The session was lost and is not back: quitting now ends it as the loss would have.
            show(
                out,
                Item::Warning("Not connected; stopped trying and quit.".into()),
            );
            return self.exit(Exit::ConnectionLost, out);
        }
        if self.session.online() {
            return self.begin_logout(out);
        }
        if self.session.logging_out_now() {
            // Ctrl-C a second time: stop waiting for the server. (The input of a script that ended
            // with `logout`: the answers to its last commands and the goodbye are still on their
            // way, and the logout timer bounds the wait.)
            if interrupt {
                self.exit(Exit::LoggedOut, out);
            }
            return;
        }
        if !self.session.is_done() {
            show(out, Item::Warning("Not logged in; disconnected.".into()));
            self.exit(Exit::NotLoggedIn, out);
        }
    }

    /// Tells the peers, asks the server to log out, and waits (boundedly) for its goodbye; then
    /// the client ends.
    pub(super) fn begin_logout(&mut self, out: &mut Vec<Effect>) {
        self.begin_logout_to(false, out);
    }

    /// As [`Self::begin_logout`]; `stay`: the client stays open after the goodbye (`disconnect`).
    pub(super) fn begin_logout_to(&mut self, stay: bool, out: &mut Vec<Effect>) {
        // Acknowledged first: what was shown must not come again at the next login.
        self.acknowledge(out);
        let n = self.paste.drop_all();
        if n > 0 {
            show(
                out,
                Item::Warning(format!(
                    "{n} pasted line{} not sent yet: logging out.",
                    if n == 1 { " was" } else { "s were" }
                )),
            );
        }
        self.chats.end_all(PeerBye::Logout, out);
        out.push(Effect::Send(Command::Logout.to_line()));
        self.session.logging_out(stay, self.now, &mut self.timers);
    }
}

/// A line typed, and where: at the prompt (line mode, a script, or a full-screen prompt that is not
/// for commands), or in a window of the full-screen client.
#[derive(Clone, Copy)]
enum Line<'a> {
    Prompt(&'a str),
    Window(&'a Typed),
}

impl<'a> Line<'a> {
    fn text(self) -> &'a str {
        match self {
            Line::Prompt(text) => text,
            Line::Window(typed) => typed.text(),
        }
    }
}
