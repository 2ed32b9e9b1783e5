//! One IRC connection's front: what IRC needs that natter's core does not keep (the nick asked for,
//! the password given with `PASS`, the registration under way, the capabilities the client asked
//! for), and the two translations, IRC lines into natter lines for the core (`incoming.rs`) and the
//! core's lines into IRC lines (`outgoing.rs`). A plain value with no clock: the composed server
//! owns one per IRC connection and carries out its [`Step`]s in order.

use std::sync::Arc;

use super::settings::IrcSettings;
use crate::protocol::Name;
use crate::time::Timestamp;

pub use super::settings::SERVER_NAME;

pub use super::steps::Step;

/// Where a connection's registration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Gathering `PASS`, `NICK`, `USER` (and the capability negotiation's end).
    Registering,
    /// The nick was fed to the core as the username; waiting for its welcome. `pass_fed`: the
    /// password was fed too (so another password prompt means it was refused).
    LoggingIn {
        /// The password was fed.
        pass_fed: bool,
    },
    /// The core logged in the account SASL named; the IRC registration (`NICK`, `USER`, `CAP END`)
    /// is not over, so the welcome, and what the core sends meanwhile, wait.
    Authenticated,
    /// Logged in as the nick.
    Online,
}

/// The IRCv3 capabilities natter honours, and those a connection enabled (`caps.rs` maps their
/// names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Caps {
    /// `server-time`: messages carry the time the server accepted them (`@time=…`).
    pub(super) server_time: bool,
    /// `sasl`: the account may log in with `AUTHENTICATE PLAIN`.
    pub(super) sasl: bool,
    /// `message-tags`: messages carry their `msgid` and their sender's client-only tags (`+…`).
    pub(super) message_tags: bool,
    /// `echo-message`: the client's own messages come back to it once the core took them.
    pub(super) echo_message: bool,
    /// `batch`: replies may be grouped in `BATCH` lines.
    pub(super) batch: bool,
    /// `labeled-response`: the replies to a command sent with `@label=` carry the label.
    pub(super) labeled_response: bool,
    /// `cap-notify`: the client would be told of caps added or removed (natter's never change).
    pub(super) cap_notify: bool,
    /// `multi-prefix`: every prefix of a member in `NAMES` (natter's members have one at most).
    pub(super) multi_prefix: bool,
    /// `userhost-in-names`: `NAMES` lists `nick!user@host`.
    pub(super) userhost_in_names: bool,
    /// `away-notify`: others' away changes are said as `AWAY` lines.
    pub(super) away_notify: bool,
    /// `extended-monitor`: what natter says of a user is said to those who monitor them (natter
    /// tells whoever sees a user's presence, so this asks for nothing more).
    pub(super) extended_monitor: bool,
    /// `setname`: real-name changes are said as `SETNAME` lines.
    pub(super) setname: bool,
    /// `account-tag`: a message from an account carries `account=<name>` (none from a guest).
    pub(super) account_tag: bool,
    /// `extended-join`: `JOIN` says the joiner's account (`*` for a guest) and real name.
    pub(super) extended_join: bool,
}

/// The capabilities offered in `CAP LS`, in that order.
pub(super) const OFFERED: &[&str] = &[
    "sasl",
    "server-time",
    "message-tags",
    "echo-message",
    "batch",
    "labeled-response",
    "cap-notify",
    "multi-prefix",
    "userhost-in-names",
    "away-notify",
    "extended-monitor",
    "setname",
    "account-tag",
    "extended-join",
];

/// One IRC connection's state: what IRC needs that the core does not keep, and the two
/// translations (IRC lines to natter lines for the core, the core's lines to IRC lines).
#[derive(Debug)]
pub struct IrcSession {
    pub(super) phase: Phase,
    /// The nick asked for (before the welcome), then the account's name.
    pub(super) nick: Option<String>,
    /// `USER` was given.
    pub(super) user_given: bool,
    /// The password given with `PASS`, until it is fed to the core.
    pub(super) pass: Option<String>,
    /// A `CAP LS` or `CAP REQ` opened a negotiation that `CAP END` has not closed: registration waits.
    pub(super) negotiating: bool,
    pub(super) caps: Caps,
    /// Why the login failed, once the core said so: the next prompt closes the connection with it.
    pub(super) failed: Option<String>,
    /// The core refused the nick as already online: the next prompt waits for another `NICK`.
    pub(super) retry_nick: bool,
    /// The login under way (or done) is a guest's: no `PASS` was given.
    pub(super) guest: bool,
    /// The first prompt was answered with the greeting notice.
    pub(super) greeted: bool,
    /// The reason given with `QUIT`, for the closing line.
    pub(super) quit: Option<String>,
    /// The SASL exchange.
    pub(super) sasl: Sasl,
    /// The account SASL named.
    pub(super) account: Option<String>,
    /// The client said `CAP LS 302`: capabilities are listed with their values.
    pub(super) cap_302: bool,
    /// What the core sent after a SASL login and before the registration was over, in order.
    pub(super) held: Vec<Step>,
    /// What IRC's channel replies need that the core's group lines do not say.
    pub(super) channels: super::channel_book::Channels,
    /// The labeled response under way: the label of the command being answered, and its lines.
    pub(super) label: Option<super::label_book::Labeled>,
    /// Batches opened on this connection so far (their ids).
    pub(super) batches: u64,
    /// How the line being made from the core's is decorated: set by the front while the core
    /// handles a message an IRC client of this server sent.
    pub(super) decor: Option<super::relay_book::Decor>,
    /// The client set the bot mode (`+B`) on itself.
    pub(super) bot: bool,
    /// The modes the client set on itself that natter accepts and shows but that change nothing
    /// (`i`, `w`), in the order set: clients set `+i` at every connection.
    pub(super) quiet_modes: String,
    /// The session is the server's operator's (the core said `OPERATOR`): `+o` in its modes.
    pub(super) oper: bool,
    /// The `OPER`s being checked (password jobs in the core), and the `PONG`s owed meanwhile, each
    /// with how many of them it follows: said once those are answered, so that a client's `PING`
    /// does not overtake an `OPER`'s answer.
    pub(super) oper_pending: super::oper_book::PendingOpers,
    /// Others' presence as far as IRC needs it: the nicks monitored, who is away.
    pub(super) watch: super::presence_book::Watch,
    /// The operator's settings: the server's name, the message of the day.
    pub(super) settings: Arc<IrcSettings>,
    /// The time of the line being read (for `TIME`), as the composed server gives it.
    pub(super) now: Timestamp,
    /// The queries asked of the core and not answered yet, and what `USER` said.
    pub(super) queries: super::query_book::Queries,
    /// Whether the user the core's line being translated is from is an account (set by the
    /// front for each line: `account-tag`, `extended-join`).
    pub(super) sender_account: bool,
    /// What the service nick keeps (a `passwd` under way).
    pub(super) service: super::service_book::ServiceState,
    /// What `SILENCE` keeps (the blocks seen, the changes asked).
    pub(super) silences: super::silence_book::Silences,
}

impl Default for IrcSession {
    fn default() -> Self {
        Self::new()
    }
}

impl IrcSession {
    /// A connection that has just arrived on the IRC listener.
    pub fn new() -> Self {
        Self::with_settings(Arc::default())
    }

    /// The same, under the operator's `settings`.
    pub fn with_settings(settings: Arc<IrcSettings>) -> Self {
        IrcSession {
            phase: Phase::Registering,
            nick: None,
            user_given: false,
            pass: None,
            negotiating: false,
            caps: Caps::default(),
            failed: None,
            retry_nick: false,
            guest: false,
            greeted: false,
            quit: None,
            sasl: Sasl::Idle,
            account: None,
            cap_302: false,
            held: Vec::new(),
            channels: super::channel_book::Channels::default(),
            label: None,
            batches: 0,
            decor: None,
            bot: false,
            quiet_modes: String::new(),
            oper: false,
            oper_pending: Default::default(),
            watch: super::presence_book::Watch::default(),
            settings,
            now: Timestamp::ZERO,
            queries: super::query_book::Queries::default(),
            sender_account: false,
            service: Default::default(),
            silences: Default::default(),
        }
    }

    /// The server's name, as the operator set it.
    pub(super) fn server_name(&self) -> &str {
        &self.settings.server_name
    }

    /// Whether the core welcomed it.
    pub fn is_online(&self) -> bool {
        self.phase == Phase::Online
    }

    /// Whom replies are addressed to: the nick once logged in, `*` before (as IRC servers do for a
    /// client not yet registered).
    pub(super) fn target(&self) -> &str {
        match self.phase {
            Phase::Online => self.nick.as_deref().unwrap_or("*"),
            // What waits for the welcome is addressed as the welcome will be: to the account.
            Phase::Authenticated => self.account.as_deref().unwrap_or("*"),
            _ => "*",
        }
    }

    /// The nick asked for, or `*` before any.
    pub(super) fn asked_nick(&self) -> &str {
        self.nick.as_deref().unwrap_or("*")
    }

    /// A numeric reply to the client: `:natter CODE <nick> params… :text`.
    pub(super) fn numeric(&self, code: &str, params: &[&str], text: &str) -> Vec<u8> {
        let mut all = Vec::with_capacity(params.len() + 2);
        all.push(self.target());
        all.extend_from_slice(params);
        all.push(text);
        line(None, Some(self.server_name()), code, &all, true)
    }

    /// `461`: `command` came without the parameters it needs.
    pub(super) fn not_enough_params(&self, command: &str) -> Vec<u8> {
        self.numeric("461", &[command], "Not enough parameters")
    }

    /// `403`: `channel` names no channel natter serves.
    pub(super) fn no_such_channel(&self, channel: &str) -> Vec<u8> {
        self.numeric("403", &[channel], "No such channel")
    }

    /// A notice from the server to the client.
    pub(super) fn notice(&self, text: &str) -> Vec<u8> {
        line(
            None,
            Some(self.server_name()),
            "NOTICE",
            &[self.target(), text],
            true,
        )
    }
}

/// `nick!nick@natter`: the mask a natter user is shown under.
pub(super) fn mask(user: &Name) -> String {
    format!("{user}!{user}@{SERVER_NAME}")
}

/// One IRC line, `\r\n` included. With `trailing`, the last parameter is always written after ` :`
/// (as servers do for text), else only when it must be.
pub(super) fn line(
    tags: Option<&str>,
    source: Option<&str>,
    command: &str,
    params: &[&str],
    trailing: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    if let Some(tags) = tags {
        out.push(b'@');
        out.extend_from_slice(tags.as_bytes());
        out.push(b' ');
    }
    super::message::write_body(&mut out, source, command, params, trailing);
    out
}

/// Where a SASL exchange stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Sasl {
    /// None under way.
    #[default]
    Idle,
    /// `AUTHENTICATE PLAIN` was answered `+`: the payload comes next, `so_far` of it received.
    Plain {
        /// The base64 received in 400-byte lines so far.
        so_far: String,
    },
    /// The core is logging the account in.
    Pending,
    /// The account is logged in.
    Done,
    /// The core refused the account: the registration may go on (another attempt, or `PASS`).
    Failed,
}
