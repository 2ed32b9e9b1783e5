//! What goes into the client core and what comes out of it.

use std::net::SocketAddr;

use super::display::{ClientError, Item};
use super::input::Input;
use super::key::Key;
use super::seen::Seen;
use crate::protocol::Name;

/// A peer-to-peer connection. Outgoing ones are numbered by the core (it decides to connect); incoming
/// ones by the shell (it accepts them), so the two never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkId {
    /// A connection this client made to a peer.
    Out(u64),
    /// A connection a peer made to this client's listener.
    In(u64),
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkId::Out(n) => write!(f, "link-out#{n}"),
            LinkId::In(n) => write!(f, "link-in#{n}"),
        }
    }
}

/// What the user is being asked for: the shell picks the prompt and whether to echo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputMode {
    /// The login's first question.
    Username,
    /// Not echoed on a terminal.
    Password,
    /// `--register` on the server: the password for a new account. Not echoed.
    NewPassword {
        /// The account being made.
        user: Name,
    },
    /// The new account's password once more, as `passwd` asks, so a typing mistake nobody saw does
    /// not lock the user out of the account just made. Not echoed.
    ConfirmPassword {
        /// The account being made.
        user: Name,
    },
    /// `passwd`: the account's current password. Not echoed.
    CurrentPassword,
    /// `oper`: the operator's password. Not echoed.
    OperatorPassword,
    /// `passwd`: the new password, asked twice (`again`). Not echoed.
    ChosenPassword {
        /// The second time, to check the first.
        again: bool,
    },
    /// The server's certificate changed while reconnecting: whether to trust the one presented
    /// (`fingerprint`), which only its operator can confirm.
    TrustCertificate {
        /// The server, as the user named it.
        server: String,
        /// The certificate it presents now.
        fingerprint: String,
    },
    /// Logged in: one command (the core asks again for the next).
    Command {
        /// Who is logged in (the prompt names them).
        user: Name,
    },
}

impl InputMode {
    /// Whether what is typed must not be shown.
    pub fn is_secret(&self) -> bool {
        matches!(
            self,
            InputMode::Password
                | InputMode::NewPassword { .. }
                | InputMode::ConfirmPassword { .. }
                | InputMode::CurrentPassword
                | InputMode::OperatorPassword
                | InputMode::ChosenPassword { .. }
        )
    }

    /// The prompt shown on a terminal.
    pub fn prompt(&self) -> String {
        match self {
            InputMode::Username => "Username: ".into(),
            InputMode::Password => "Password: ".into(),
            InputMode::NewPassword { user } => format!("New password for {user}: "),
            InputMode::ConfirmPassword { user } => format!("New password for {user}, again: "),
            InputMode::CurrentPassword => "Current password: ".into(),
            InputMode::OperatorPassword => "Operator password: ".into(),
            InputMode::ChosenPassword { again: false } => "New password: ".into(),
            InputMode::ChosenPassword { again: true } => "New password, again: ".into(),
            InputMode::TrustCertificate { fingerprint, .. } => {
                format!("Trust {fingerprint}? (yes/no) ")
            }
            InputMode::Command { user } => format!("{user}> "),
        }
    }
}

/// From the server connection.
#[derive(Clone, Copy, Debug)]
pub enum ServerEvent<'a> {
    /// The connection is established (the first event, or the answer to [`Effect::ConnectServer`]),
    /// but nothing proved the server is the one the user trusted: plain text, or a certificate met for
    /// the first time. The remembered password is never sent to it by itself.
    Connected,
    /// The connection is established to a server whose certificate was verified: the one pinned at
    /// an earlier connection (or accepted by the user), or one the CA given with `--ca` vouches for.
    ConnectedVerified,
    /// The answer to [`Effect::ConnectServer`] when the server presented a certificate other than the
    /// one pinned (`presented`, its fingerprint), or one the CA does not vouch for (`presented` is
    /// `None`): nothing was sent to it.
    Untrusted {
        /// Why it was refused, for the user.
        error: &'a str,
        /// The fingerprint of the certificate presented, if it was one other than the pinned.
        presented: Option<&'a str>,
    },
    /// The answer to [`Effect::ConnectServer`] when no connection could be made (refused, timed out,
    /// TLS failed, the certificate changed): `error` says which, for the user.
    ConnectFailed {
        /// What went wrong, for the user.
        error: &'a str,
    },
    /// One line, without its ending.
    Line(&'a [u8]),
    /// A line longer than the client's limit; it was dropped.
    LineTooLong,
    /// The connection closed or failed.
    Closed,
}

/// From the person at the keyboard (or the script on stdin).
#[derive(Clone, Debug)]
pub enum UserEvent<'a> {
    /// A line, in line mode (a command) or at a login prompt (its answer): the answer to
    /// [`Effect::Read`].
    Line(&'a [u8]),
    /// Several lines a script's input held already, in order (piped input, read a buffer at a
    /// time): the first answers [`Effect::Read`]; each of the others is taken in where the core
    /// would ask for the next line, exactly as if read then (see `read_ahead`).
    Lines(&'a [Vec<u8>]),
    /// Typed input already read: text to say to a conversation, or a command.
    Input(Input<'a>),
    /// A key pressed in the full-screen client.
    Key(Key),
    /// Text pasted in the full-screen client (the terminal's bracketed paste).
    Paste(&'a str),
    /// The full-screen client's terminal is now `rows` high.
    Resize {
        /// The terminal's height.
        rows: u16,
    },
    /// Ctrl-D, or the end of piped input.
    Eof,
    /// Ctrl-C, SIGTERM or SIGHUP.
    Interrupt,
}

/// From one peer-to-peer connection.
#[derive(Clone, Copy, Debug)]
pub enum PeerEvent<'a> {
    /// The listener accepted a new connection (numbered [`LinkId::In`] by the shell).
    Incoming,
    /// An outgoing connection the core asked for is established.
    Connected,
    /// An outgoing connection could not be made.
    ConnectFailed {
        /// What went wrong, for the user.
        error: &'a str,
    },
    /// One frame (see [`crate::protocol::p2p`]).
    Frame(&'a [u8]),
    /// The stream is not framed as the protocol says; nothing more will come from it.
    Broken,
    /// Closed by the other side, or failed (a write error included).
    Closed,
}

/// An input to [`super::ClientState::handle`].
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// From the server connection.
    Server(ServerEvent<'a>),
    /// From the person at the keyboard, or the script on stdin.
    User(UserEvent<'a>),
    /// From one peer-to-peer connection.
    Peer {
        /// Which one.
        link: LinkId,
        /// What happened on it.
        event: PeerEvent<'a>,
    },
    /// Something the shell found that the user should know (a server's certificate met for the first
    /// time, a state file it could not read): shown with the connection's news.
    Notice(&'a str),
    /// The answer to [`Effect::OpenE2e`]: the user's stored end-to-end state, unlocked (or why it
    /// could not be). Fed before anything else that came after the effect.
    E2eOpened {
        /// Whose state it is.
        user: Name,
        /// Its parts as stored, or why they could not be read or unlocked.
        stored: Result<Vec<(super::e2e::Part, super::e2e::Stored)>, String>,
    },
    /// The answer to [`Effect::CommitE2e`]: everything saved before it is durable, or could not be
    /// made so (why).
    E2eCommitted(Result<(), String>),
    /// The answer to [`Effect::RewrapE2e`]: the stored state's key is locked with the new password
    /// (or why not).
    E2eRewrapped(Result<(), String>),
    /// The answer to [`Effect::LoadWindows`]: the bytes an earlier run kept for `user`
    /// (`Ok(None)`: nothing was kept), or why they could not be read. Fed before anything else that
    /// came after the effect.
    WindowsLoaded {
        /// Whose windows.
        user: Name,
        /// What was kept, as [`Effect::SaveWindows`] handed it over.
        bytes: Result<Option<Vec<u8>>, String>,
    },
}

/// How the client ends; the shell turns it into the process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The user logged out (or left before logging in by choice of the script: end of input).
    LoggedOut,
    /// The connection to the server failed or was lost, or the server broke the protocol.
    ConnectionLost,
    /// The server refused the login: the account is locked, or the user is already logged in.
    LoginRefused,
    /// The server ended the session: idle timeout, login timeout, or shutdown.
    EndedByServer,
    /// The user gave up before logging in (Ctrl-C, Ctrl-D, end of input).
    NotLoggedIn,
}

impl Exit {
    /// The process exit status (documented in `natter --help`).
    pub fn code(self) -> i32 {
        match self {
            Exit::LoggedOut => 0,
            Exit::ConnectionLost => 1,
            Exit::LoginRefused => 3,
            Exit::EndedByServer => 4,
            Exit::NotLoggedIn => 5,
        }
    }
}

/// An output of [`super::ClientState::handle`], to be carried out by the shell in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send one line (without its ending) to the server.
    Send(String),
    /// Show something to the user.
    Show(Item),
    /// Ask the user for input in this mode. In [`InputMode::Command`] the shell keeps reading lines until
    /// the input ends; in the login modes it reads exactly one line.
    Read(InputMode),
    /// Open an outgoing peer connection; answer with `Connected` or `ConnectFailed`.
    Connect {
        /// The number the core gave it.
        link: LinkId,
        /// The peer's address, as the server said.
        addr: SocketAddr,
    },
    /// Send one frame's payload on a peer connection (the shell adds its length).
    PeerSend {
        /// The connection.
        link: LinkId,
        /// The frame's payload.
        frame: Vec<u8>,
    },
    /// Flush what was sent on this connection, then close it. The core has forgotten it; events that still
    /// arrive for it are ignored.
    PeerClose {
        /// The connection.
        link: LinkId,
    },
    /// Remember durably that offline messages up to `seen` were shown to `user` (see [`super::seen`]).
    /// Carried out before the acknowledgement that follows it is sent.
    SaveSeen {
        /// Whose messages.
        user: Name,
        /// The newest shown.
        seen: Seen,
    },
    /// Remember durably whom `user` ignores at this server (`/ignore`, `/unignore`): the whole
    /// list, which replaces the one kept, and is handed back in [`super::Config::ignored`] at the
    /// next start.
    SaveIgnored {
        /// The account.
        user: Name,
        /// Whom it ignores, sorted.
        ignored: Vec<Name>,
    },
    /// Read `user`'s stored end-to-end state, unlocked with the password they logged in with (the
    /// key that encrypts it at rest is derived from it), and answer with [`Event::E2eOpened`] before
    /// feeding anything else (a user with no stored state yet gets none, and a new key).
    OpenE2e {
        /// Whose state.
        user: Name,
        /// The password the user logged in with (the key at rest is derived from it).
        password: String,
        /// With which password, or set aside for a new one.
        how: OpenHow,
    },
    /// Replace one part of `user`'s end-to-end state with `bytes` (encrypted at rest). Need not be
    /// durable before [`Effect::CommitE2e`]; nothing that depends on it is sent before that answers.
    SaveE2e {
        /// Whose state.
        user: Name,
        /// Which part.
        part: super::e2e::Part,
        /// Its whole new content.
        bytes: Vec<u8>,
    },
    /// Append a record to one part of `user`'s end-to-end state, likewise.
    AppendE2e {
        /// Whose state.
        user: Name,
        /// Which part.
        part: super::e2e::Part,
        /// The record to append.
        bytes: Vec<u8>,
    },
    /// Make every end-to-end save so far durable (one sync may cover many saves: the shell may wait
    /// for a burst of events to end first), then answer with [`Event::E2eCommitted`]. The server
    /// lines emitted since the first of those saves are held in the core until then.
    CommitE2e,
    /// The account's password changed from `previous` to `password` (`passwd`): lock `user`'s
    /// stored end-to-end state with the new one (only the small file that wraps its key is written
    /// again; the state itself is not), and answer with [`Event::E2eRewrapped`].
    RewrapE2e {
        /// Whose state.
        user: Name,
        /// The password it is locked with now.
        previous: String,
        /// The one to lock it with.
        password: String,
    },
    /// Drop the server connection, if any, and connect to server number `index` of
    /// [`super::Config::servers`], accepting the certificate `accept_cert` (a fingerprint the user
    /// confirmed) in place of the one pinned; answer with `Connected`, `ConnectedVerified`,
    /// `Untrusted` or `ConnectFailed`. Nothing more is reported about the connection dropped.
    ConnectServer {
        /// Which of the servers the client was given.
        index: usize,
        /// A certificate the user confirmed, trusted in place of the pinned one.
        accept_cert: Option<String>,
    },
    /// Read what an earlier run kept of `user`'s full-screen windows at this server
    /// ([`Effect::SaveWindows`]), and answer with [`Event::WindowsLoaded`] before feeding anything
    /// else. Asked once per run, at the first login; nothing is saved for `user` before.
    LoadWindows {
        /// Whose windows.
        user: Name,
    },
    /// Keep `windows` ([`super::screen::saved::SavedWindows::encode`]d) as `user`'s at this server,
    /// replacing what was kept: written whole and atomically, readable by the user alone. A value,
    /// not bytes, so the shell can encode and write it off its driver (a few megabytes at most).
    /// Nothing waits for it, but saves are written in order and the last before the client exits;
    /// a failure is the shell's to say, once.
    SaveWindows {
        /// Whose windows.
        user: Name,
        /// The whole of what to keep.
        windows: super::screen::saved::SavedWindows,
    },
    /// What [`Event::WindowsLoaded`] handed over could not be restored: put it aside (renamed, for
    /// the user to look at), so that this run's windows do not replace it.
    SetAsideWindows {
        /// Whose windows.
        user: Name,
    },
    /// Append this line to its conversation's log on disk (only when [`super::Config::logs`] is
    /// on). Nothing waits for it.
    Log(super::chatlog::LogLine),
    /// Drop the server connection without a word (a re-login that must be tried again later); nothing
    /// more is reported about it.
    DropServer,
    /// Close everything (flushing what was queued) and exit.
    Exit(Exit),
}

impl Effect {
    /// Whether the shell answers this effect before any other input ([`Event::E2eOpened`],
    /// [`Event::E2eRewrapped`], [`Event::WindowsLoaded`], the notice of windows set aside): a line
    /// read ahead is not taken in before that answer, as a line read when asked never was.
    pub fn answered_at_once(&self) -> bool {
        matches!(
            self,
            Effect::OpenE2e { .. }
                | Effect::RewrapE2e { .. }
                | Effect::LoadWindows { .. }
                | Effect::SetAsideWindows { .. }
        )
    }
}

/// How [`Effect::OpenE2e`] is to open a user's stored end-to-end state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenHow {
    /// With the password just typed (a user with nothing stored yet gets a new key for it).
    Unlock,
    /// With the `previous` password (the user's password was changed since), then wrapping its key
    /// with the current one, so that the next login opens it.
    Rewrap {
        /// The password the state is locked with.
        previous: String,
    },
    /// Set the stored state aside (kept, renamed, for the user to look at) and start a new one.
    Fresh,
}

/// Pushes one thing to show.
pub(super) fn show(out: &mut Vec<Effect>, item: impl Into<Item>) {
    out.push(Effect::Show(item.into()));
}

/// Pushes one of the client's own errors to show.
pub(super) fn show_error(out: &mut Vec<Effect>, e: ClientError) {
    out.push(Effect::Show(Item::Error(e)));
}

/// Pushes news of the connection (lost, trying again, back): a full-screen client keeps it in its
/// status window, where it does not get lost among messages.
pub(super) fn news(out: &mut Vec<Effect>, text: String) {
    out.push(Effect::Show(Item::Connection(text)));
}
