//! What the user typed, once read ([`super::super::input`]): text said to a conversation, commands, a
//! paste (paced), `help`, quitting and logging out.

use super::super::action::ACTION_PREFIX;
use super::super::display::{ClientError, Item};
use super::super::event::{Effect, Exit, show, show_error};
use super::super::input::{
    self, Input, InputError, LinkCommand, OwnCommand, Place, Typed, WindowCommand, check_typed,
    help_for, help_rows,
};
use super::super::outgoing::Outcome;
use super::super::screen::WindowKey;
use super::super::session::Held;
use super::super::split::split_text;
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
                Input::Action { text, .. } => super::super::action::action_text(text),
                Input::Command(cmd) => cmd.to_line(),
                Input::Blank
                | Input::Window(_)
                | Input::Keys(_)
                | Input::Own(_)
                | Input::Link(_) => String::new(),
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
            Input::Action { to, text } => {
                self.say(&to, &super::super::action::action_text(text), out);
            }
            Input::Command(cmd) => self.on_command(cmd, out),
            Input::Keys(cmd) => self.e2e_command(cmd, out),
            Input::Own(cmd) => self.own_command(cmd, out),
            Input::Link(cmd) => self.on_link_command(cmd, out),
        }
    }

    /// One of the client's own commands that the session carries out.
    fn own_command(&mut self, cmd: OwnCommand<'_>, out: &mut Vec<Effect>) {
        match cmd {
            OwnCommand::HelpFor(asked) => match help_for(asked, self.screen.is_some()) {
                Ok(help) => {
                    if let Some(note) = help.note {
                        show(out, Item::Note(note));
                    }
                    for (usage, summary) in help.rows {
                        show(out, Item::Help { usage, summary });
                    }
                }
                Err(e) => show_error(out, e),
            },
            OwnCommand::Join(group) => {
                if let Some(screen) = &mut self.screen {
                    screen.focus(&Conversation::Group(group.clone()));
                }
                if self.conversations.is_member(&group) {
                    if self.screen.is_none() {
                        show(
                            out,
                            Item::Note(format!(
                                "you are in group {group} already: 'message group {group} <text>' talks there"
                            )),
                        );
                    }
                    return;
                }
                // Joined if it is open or the user is invited; created if there is no such group
                // (the answer `no-such-group` is taken up in `lines.rs`).
                self.conversations.joining(group.clone());
                self.sent_command(
                    &Command::GroupJoin {
                        group: &group,
                        key: None,
                    },
                    out,
                );
            }
            OwnCommand::Hilights => {
                let lines: Vec<String> = self
                    .highlights
                    .seen()
                    .map(|(at, to, from, text)| {
                        format!(
                            "{} {from}: {text} ({} ago)",
                            WindowKey::from(to).label(),
                            super::super::display::age(self.now.millis_since(*at) / 1000)
                        )
                    })
                    .collect();
                if lines.is_empty() {
                    show(
                        out,
                        Item::Note(
                            "no line has named you yet this run ('/hilight <word>' adds a word)"
                                .into(),
                        ),
                    );
                }
                for line in lines {
                    show(out, Item::Note(line));
                }
            }
            OwnCommand::Hilight(Some(word)) => {
                let note = if self.highlights.add_word(word) {
                    format!(
                        "lines with '{word}' are highlighted too, until natter ends (natter --hilight {word}: every run)"
                    )
                } else {
                    format!("lines with '{word}' are highlighted already")
                };
                show(out, Item::Note(note));
            }
            OwnCommand::Hilight(None) => {
                let me = self
                    .session
                    .user()
                    .map(|m| m.to_string())
                    .unwrap_or_default();
                let words: Vec<&str> = std::iter::once(me.as_str())
                    .chain(self.highlights.words().iter().map(String::as_str))
                    .collect();
                show(
                    out,
                    Item::Note(format!(
                        "lines in groups and broadcasts that name any of these are highlighted: {}",
                        words.join(", ")
                    )),
                );
            }
            OwnCommand::Ignore(user) | OwnCommand::Unignore(user) if self.is_me(&user) => {
                show_error(out, ClientError::ToYourself(user));
            }
            OwnCommand::Ignore(user) => self.set_ignored(user, true, out),
            OwnCommand::Unignore(user) => self.set_ignored(user, false, out),
            OwnCommand::Ignored => {
                let Some(me) = self.session.user().cloned() else {
                    return;
                };
                let ignored = self.conversations.ignored(&me);
                show(
                    out,
                    Item::Note(if ignored.is_empty() {
                        "you ignore nobody ('/ignore <user>' hides someone's messages on this client)"
                            .to_owned()
                    } else {
                        format!(
                            "you ignore: {} ('/unignore <user>' shows their messages again)",
                            ignored.iter().map(|n| &**n).collect::<Vec<_>>().join(", ")
                        )
                    }),
                );
            }
        }
    }

    /// `/ignore <user>` (`ignore`) or `/unignore <user>`: kept by the shell, said, and nothing sent.
    fn set_ignored(&mut self, user: Name, ignore: bool, out: &mut Vec<Effect>) {
        let Some(me) = self.session.user().cloned() else {
            return;
        };
        let changed = self.conversations.set_ignored(&me, &user, ignore);
        if changed {
            out.push(Effect::SaveIgnored {
                user: me.clone(),
                ignored: self.conversations.ignored(&me),
            });
        }
        let note = match (ignore, changed) {
            (true, true) => format!(
                "ignoring {user}: their messages are hidden on this client, and they are not told ('/unignore {user}' undoes it; 'block {user}' is the server's block, which {user} learns of if they message you)"
            ),
            (true, false) => format!("you ignore {user} already"),
            (false, true) => format!("no longer ignoring {user}: their messages are shown again"),
            (false, false) => format!("you were not ignoring {user}"),
        };
        show(out, Item::Note(note));
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
                if matches!(other, Command::Passwd | Command::Oper { .. }) {
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
    /// A text longer than one message can carry (once encrypted) is split at word boundaries into
    /// as many messages as it takes, sent in order (irssi's split; an action stays one in each).
    /// Returns whether all of it was sent.
    pub(super) fn say(&mut self, to: &Conversation, text: &str, out: &mut Vec<Effect>) -> bool {
        let room = self.text_room(to);
        let (prefix, body) = match text.strip_prefix(ACTION_PREFIX) {
            Some(action) => (ACTION_PREFIX, action),
            None => ("", text),
        };
        let pieces = split_text(body, room.saturating_sub(prefix.len()));
        if pieces.len() == 1 {
            return self.say_one(to, text, out);
        }
        for piece in pieces {
            if !self.say_one(to, &format!("{prefix}{piece}"), out) {
                return false;
            }
        }
        true
    }

    /// The most bytes of text one message to `to` carries: what fits in one of the server's lines
    /// once encrypted (when it would be), or as it is. A private chat's lines are not split.
    fn text_room(&self, to: &Conversation) -> usize {
        let limit = self.outgoing.line_limit();
        let device = self
            .encryption
            .device()
            .filter(|_| self.encryption.enabled());
        let head = |cmd: Command<'_>| cmd.to_line().len();
        match (to, device) {
            (Conversation::Private(_), _) => usize::MAX,
            (Conversation::User(u), Some(e2e)) => e2e.max_direct(u, limit),
            (Conversation::Group(g), Some(e2e)) => e2e.max_group(g, limit),
            (Conversation::User(u), None) => {
                limit.saturating_sub(head(Command::Message { to: u, text: "" }))
            }
            (Conversation::Group(g), None) => {
                limit.saturating_sub(head(Command::MessageGroup { group: g, text: "" }))
            }
            (Conversation::Broadcasts, _) => {
                limit.saturating_sub(head(Command::Broadcast { text: "" }))
            }
        }
    }

    /// Says `text`, which fits one message, to `to`. Refused before sending when the server would
    /// refuse the line as too long. Returns whether it was sent.
    fn say_one(&mut self, to: &Conversation, text: &str, out: &mut Vec<Effect>) -> bool {
        let said = self.say_now(to, text, out);
        if said {
            self.log_said(to, text, out);
        }
        said
    }

    /// [`Self::say_one`], but for its log.
    fn say_now(&mut self, to: &Conversation, text: &str, out: &mut Vec<Effect>) -> bool {
        self.note_protection(to, out);
        let cmd = match to {
            Conversation::Private(peer) => {
                let sent = self.chats.send_private(peer, text, out);
                if sent {
                    self.back_by_typing(out);
                }
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
                if taken {
                    self.back_by_typing(out);
                }
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
        self.back_by_typing(out);
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

    /// The user typed a message while marked away: they are back, as in irssi with
    /// `away_auto_unaway`, and the server is told before the message goes.
    fn back_by_typing(&mut self, out: &mut Vec<Effect>) {
        if self.conversations.me_away() {
            self.conversations.back_by_typing();
            self.sent_command(&Command::Away { reason: None }, out);
        }
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
    /// Ctrl-C in line mode (or a script's SIGINT). At a person's command prompt it does what a
    /// shell's does: the line being typed is dropped (the line editor has), and the client says
    /// how to leave; a second Ctrl-C, with no line typed between, logs out, as `/quit` does. A
    /// script, and every other moment (a login prompt, a logout under way, between servers),
    /// quits at once.
    pub(super) fn on_interrupt(&mut self, out: &mut Vec<Effect>) {
        let at_prompt =
            self.session.online() && self.screen.is_none() && self.reconnect.interactive();
        if at_prompt && !std::mem::replace(&mut self.interrupted, true) {
            self.session.forget_asked();
            show(
                out,
                Item::Note("Press Ctrl-C again (or type /quit) to log out.".into()),
            );
            return self.ask_again(out);
        }
        self.on_user_quit(true, out)
    }

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
