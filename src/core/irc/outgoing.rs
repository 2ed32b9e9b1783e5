//! The core's lines for an IRC connection, as IRC lines: the login's prompts and errors become
//! registration (the password fed when asked for, numerics for a refusal, the welcome's 001–005 and
//! 422), messages become `PRIVMSG` from the sender's mask (with `@time` for a client that asked for
//! `server-time`), a goodbye becomes IRC's closing `ERROR`, and every line with no IRC form yet
//! reaches the user as a notice carrying natter's own line, so nothing the core says is lost.

use crate::protocol::{ErrorReply, Name, Prompt, ServerMsg};
use crate::time::{Timestamp, utc};

use super::message::MAX_BODY;
use super::server_info::VERSION;
use super::session::{IrcSession, Phase, Step, line, mask};

/// What `RPL_ISUPPORT` (005) advertises. natter's names are case-sensitive, but no two accounts
/// differ only in case, so ASCII case mapping finds no two users as one. Channels are groups
/// (`#team`), whose owner is the operator (`@`).
const ISUPPORT: &[&str] = &[
    "CASEMAPPING=ascii",
    "CHANTYPES=#",
    "PREFIX=(ov)@+",
    "CHANMODES=Ibe,k,l,Cimnst",
    "ELIST=MNU",
    "INVEX",
    "EXCEPTS",
    "EXTBAN=,m",
    "NETWORK=natter",
    "NICKLEN=32",
    "UTF8ONLY",
    "MONITOR=100",
    "BOT=B",
    "WHOX",
    "TARGMAX=JOIN:,PART:,PRIVMSG:4,NOTICE:4,NAMES:1,KICK:4,WHOIS:4",
    "SILENCE",
];

/// At most this many ISUPPORT tokens in one `005` (IRC allows 15 parameters: the nick, the
/// tokens and the closing text).
const ISUPPORT_PER_LINE: usize = 12;

impl IrcSession {
    /// One line the core sent this connection: what to do, appended to `out` in order.
    pub fn from_core(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) {
        match self.phase {
            Phase::Registering => self.before_login(msg, out),
            Phase::LoggingIn { pass_fed } => self.logging_in(msg, pass_fed, out),
            Phase::Authenticated => {
                if matches!(msg, ServerMsg::Bye(_)) {
                    // The session ends before the welcome: what was held is not said. The core
                    // keeps it (the session never said acks off, and kept messages were not
                    // acknowledged), so it comes at the next login, once.
                    self.held.clear();
                    self.online(msg, out);
                } else {
                    let mut held = std::mem::take(&mut self.held);
                    self.online(msg, &mut held);
                    self.held = held;
                }
            }
            Phase::Online => self.online(msg, out),
        }
    }

    /// Before the nick was fed: the core's first prompt is the greeting; anything else is said.
    fn before_login(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) {
        match msg {
            ServerMsg::Prompt(Prompt::Username) => {
                if !std::mem::replace(&mut self.greeted, true) {
                    out.push(Step::Say(self.notice(
                        "*** natter: log in with your natter account: its name as your nick, its password with PASS",
                    )));
                }
            }
            _ => self.anything(msg, out),
        }
    }

    /// While the core logs the nick in.
    fn logging_in(&mut self, msg: &ServerMsg, pass_fed: bool, out: &mut Vec<Step>) {
        match msg {
            ServerMsg::Prompt(Prompt::Password | Prompt::NewPassword { .. }) if !pass_fed => {
                self.phase = Phase::LoggingIn { pass_fed: true };
                // Kept until the welcome: a nick refused as online may be tried again with it.
                let pass = self.pass.clone().unwrap_or_default();
                out.push(Step::Feed(pass.into_bytes()));
            }
            ServerMsg::Prompt(Prompt::Username) if self.retry_nick => {
                // The nick was refused as already online (433 said so): another NICK tries again.
                self.phase = Phase::Registering;
                self.nick = None;
            }
            ServerMsg::Prompt(Prompt::Username) if self.account.is_none() && self.sasl_tried() => {
                // A SASL login refused at the account (904 said so): the registration goes on.
                self.phase = Phase::Registering;
                self.failed = None;
            }
            ServerMsg::Prompt(_) => {
                let why = self
                    .failed
                    .take()
                    .unwrap_or_else(|| "Login refused".to_owned());
                self.close(why, out);
            }
            ServerMsg::Error(e) if self.sasl == super::session::Sasl::Pending => {
                let text = e.text();
                self.sasl_refused(&text, out);
                self.sasl = super::session::Sasl::Failed;
                self.failed = Some(text);
            }
            ServerMsg::Error(e) => self.login_error(e, out),
            ServerMsg::Registered { user } => out.push(Step::Say(
                self.notice(&format!("Account '{user}' created.")),
            )),
            ServerMsg::Welcome { user } if self.sasl == super::session::Sasl::Pending => {
                self.pass = None;
                self.account = Some(user.to_string());
                // `acks off` waits for the IRC welcome: until then the session's lines are held
                // here, and a live message held when the connection drops must be kept.
                self.sasl_welcomed(user, out);
            }
            ServerMsg::Welcome { user } => self.welcome(user, out),
            _ => self.anything(msg, out),
        }
    }

    /// A refusal of the login, as its numeric; the prompt that follows it closes the connection
    /// (IRC has no prompt to answer again), but for a nick already online, which waits for another.
    fn login_error(&mut self, e: &ErrorReply, out: &mut Vec<Step>) {
        let text = e.text();
        let (code, params): (&str, Vec<&str>) = match e {
            ErrorReply::AlreadyOnline
            | ErrorReply::NameIsAccount
            | ErrorReply::NameTooSimilar { .. } => {
                // The nick is held (online, or an account's that a guest may not take): another
                // NICK tries again.
                self.retry_nick = true;
                let nick = self.asked_nick().to_owned();
                out.push(Step::Say(self.numeric("433", &[&nick], &text)));
                return;
            }
            ErrorReply::InvalidUsername(_) if self.guest => {
                // As IRC servers do: another NICK may follow.
                self.retry_nick = true;
                let nick = self.asked_nick().to_owned();
                out.push(Step::Say(self.numeric("432", &[&nick], &text)));
                return;
            }
            ErrorReply::GuestsOff => {
                let text = "Password required: give your natter account's password with PASS (this server admits its accounts only)";
                out.push(Step::Say(self.numeric("464", &[], text)));
                self.failed = Some("Password required: natter admits its accounts only".to_owned());
                return;
            }
            ErrorReply::WrongPassword { .. }
            | ErrorReply::UnknownUser
            | ErrorReply::InvalidPassword(_) => ("464", vec![]),
            ErrorReply::Locked { .. }
            | ErrorReply::LockedNow { .. }
            | ErrorReply::Banned { .. } => ("465", vec![]),
            ErrorReply::InvalidUsername(_) => ("432", vec![self.asked_nick()]),
            _ => ("NOTICE", vec![]),
        };
        let said = if code == "NOTICE" {
            self.notice(&text)
        } else {
            let params: Vec<String> = params.into_iter().map(str::to_owned).collect();
            let params: Vec<&str> = params.iter().map(String::as_str).collect();
            self.numeric(code, &params, &text)
        };
        out.push(Step::Say(said));
        self.failed = Some(text);
    }

    /// The core's welcome: the registration numerics, and the session acknowledges nothing itself
    /// (live messages are delivered once written; stored ones the front acknowledges once written).
    fn welcome(&mut self, user: &Name, out: &mut Vec<Step>) {
        self.pass = None;
        self.welcome_lines(user, out);
        out.push(Step::Feed(b"acks off".to_vec()));
        self.after_welcome(out);
    }

    /// The registration's numerics, for `user`, who is online from now on.
    pub(super) fn welcome_lines(&mut self, user: &str, out: &mut Vec<Step>) {
        self.phase = Phase::Online;
        self.nick = Some(user.to_owned());
        self.failed = None;
        let user = &Name::from(user);
        let mut lines = Vec::new();
        lines.extend(self.numeric("001", &[], &format!("Welcome to natter, {}", mask(user))));
        lines.extend(self.numeric(
            "002",
            &[],
            &format!(
                "Your host is {}, running version {VERSION}",
                self.server_name()
            ),
        ));
        lines.extend(self.numeric(
            "003",
            &[],
            "This server keeps your messages while you are away",
        ));
        lines.extend(line(
            None,
            Some(self.server_name()),
            "004",
            &[self.target(), self.server_name(), VERSION, "i", "o"],
            false,
        ));
        lines.extend(self.isupport_lines());
        out.push(Step::Say(lines));
    }

    /// `005` (RPL_ISUPPORT): as many lines as the tokens take.
    pub(super) fn isupport_lines(&self) -> Vec<u8> {
        let mut lines = Vec::new();
        for tokens in ISUPPORT.chunks(ISUPPORT_PER_LINE) {
            lines.extend(self.numeric("005", tokens, "are supported by this server"));
        }
        lines
    }

    /// A logged-in user's line.
    fn online(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) {
        if self.service_line(msg, out)
            || self.silence_line(msg, out)
            || self.query_line(msg, out)
            || self.away_line(msg, out)
            || self.presence_line(msg, out)
            || self.nick_line(msg, out)
            || self.real_name_line(msg, out)
            || self.oper_line(msg, out)
        {
            return;
        }
        if self.group_line(msg, out) {
            self.after_line(msg, out);
            return;
        }
        match msg {
            ServerMsg::Message {
                id,
                sent_at,
                from,
                text,
            } => {
                let me = self.target().to_owned();
                out.push(Step::Say(self.privmsg(from, &me, text, *sent_at, *id)));
            }
            ServerMsg::OfflineMessage {
                id,
                sent_at,
                from,
                group,
                text,
            } => {
                let target = match group {
                    Some(g) => format!("#{g}"),
                    None => self.target().to_owned(),
                };
                let bytes = self.privmsg(from, &target, text, *sent_at, *id);
                out.push(Step::SayStored { bytes, id: *id });
            }
            ServerMsg::Broadcast { from, text } => {
                // A broadcast is a notice from its sender to each user online.
                let me = self.target().to_owned();
                let source = mask(from);
                out.push(Step::Say(split_into(
                    text,
                    &source,
                    "NOTICE",
                    &me,
                    0,
                    |s, chunk| line(None, Some(s), "NOTICE", &[&me, chunk], true),
                )));
            }
            ServerMsg::Signal {
                id,
                sent_at,
                from,
                tags,
            } => {
                let me = self.target().to_owned();
                self.signal_line(from, &me, tags, *sent_at, *id, out);
            }
            ServerMsg::GroupSignal {
                id,
                sent_at,
                group,
                from,
                tags,
            } => self.signal_line(from, &format!("#{group}"), tags, *sent_at, *id, out),
            ServerMsg::Error(ErrorReply::NoSuchUser { user }) => out.push(Step::Say(self.numeric(
                "401",
                &[user],
                "No such nick/channel",
            ))),
            _ => self.anything(msg, out),
        }
    }

    /// A line with no IRC form of its own: a goodbye is IRC's closing `ERROR`; a notice or error is
    /// a notice with its text; anything else a notice with natter's line as it is.
    fn anything(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) {
        let said = match msg {
            ServerMsg::Bye(reason) => {
                let why = match self.quit.take() {
                    Some(q) => format!("Quit: {q}"),
                    None => reason.text(),
                };
                let text = format!("Closing link: {} ({why})", self.asked_nick());
                line(None, None, "ERROR", &[&text], true)
            }
            ServerMsg::Notice { text } => self.notice(text),
            ServerMsg::Error(ErrorReply::LineTooLong { .. }) => {
                self.numeric("417", &[], "Input line was too long")
            }
            // natter's answers with no IRC form come from the service nick, as the natter client
            // shows them (`/msg natter whoelse` is answered `* Online: bob, carol`).
            ServerMsg::Error(e) => self.service_notices(&e.text()),
            ServerMsg::Prompt(_) => return,
            other => {
                let item = crate::client::display::Item::Server(other.clone());
                self.service_notices(&crate::client::display::render(&item, false))
            }
        };
        out.push(Step::Say(said));
    }

    /// Message `id`, `text` from `from` to `target`, as `PRIVMSG` lines (`NOTICE` when an IRC
    /// client here sent it as one): as many as it takes to keep each within IRC's 512 bytes (cut
    /// between characters), each with the time it was sent when the client asked for `server-time`,
    /// and its `msgid` (and its sender's client-only tags) when it asked for `message-tags`.
    pub(super) fn privmsg(
        &self,
        from: &Name,
        target: &str,
        text: &str,
        sent_at: Timestamp,
        id: u64,
    ) -> Vec<u8> {
        let (command, client_tags) = match &self.decor {
            Some(d) => (
                if d.notice { "NOTICE" } else { "PRIVMSG" },
                d.client_tags.as_str(),
            ),
            None => ("PRIVMSG", ""),
        };
        let msgid = id.to_string();
        if text.starts_with(crate::protocol::keys::E2E_PREFIX) {
            // End-to-end encrypted between natter clients (a group's message reaches every
            // member, and its key only those with keys): an IRC client has no keys, so it is told
            // that something was said, and by whom, rather than shown the ciphertext.
            let note = format!(
                "(an end-to-end encrypted message from {from}: only natter's own client can read it)"
            );
            return self.message_lines(
                "NOTICE",
                &mask(from),
                target,
                &note,
                sent_at,
                Some(&msgid),
                "",
                self.sender_account,
            );
        }
        self.message_lines(
            command,
            &mask(from),
            target,
            text,
            sent_at,
            Some(&msgid),
            client_tags,
            self.sender_account,
        )
    }
}

/// Cuts `text` into pieces that fit one line each (`:source COMMAND target :piece\r\n` within 512
/// bytes, with `wrapped` bytes more around each piece), at character boundaries, and writes each
/// with `write`.
pub(super) fn split_into(
    text: &str,
    source: &str,
    command: &str,
    target: &str,
    wrapped: usize,
    write: impl Fn(&str, &str) -> Vec<u8>,
) -> Vec<u8> {
    // `:` source ` ` command ` ` target ` :` … `\r\n`
    let overhead = 1 + source.len() + 1 + command.len() + 1 + target.len() + 2 + 2 + wrapped;
    let room = MAX_BODY.saturating_sub(overhead).max(16);
    let mut out = Vec::with_capacity(text.len() + overhead);
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(room);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, after) = rest.split_at(cut);
        out.extend(write(source, piece));
        rest = after;
    }
    out
}

/// A time as IRCv3 `server-time` writes it: UTC, ISO 8601, to the millisecond.
pub(super) fn server_time(t: Timestamp) -> String {
    let secs = utc(Timestamp(t.as_millis() / 1000 * 1000));
    let ms = t.as_millis() % 1000;
    match secs.strip_suffix('Z') {
        Some(s) => format!("{s}.{ms:03}Z"),
        None => secs,
    }
}
