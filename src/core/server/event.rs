//! What goes into the core and what comes out of it, and the numbers it knows connections and
//! accounts by.

use std::net::SocketAddr;

use super::record::Record;
pub use crate::password::Cleartext;
use crate::protocol::ServerMsg;

pub use crate::conn::{ConnId, NODE_SHIFT};

/// An account, by its creation number (`login::accounts`). Accounts are never deleted, so ids stay
/// valid, and every part keeps its per-user data in a `Vec` indexed by it. Beside [`ConnId`] rather
/// than with the accounts, since every part below the login keys on it.
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub(crate) struct UserId(pub(crate) u32);

impl UserId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A deadline the core keeps (see [`super::ServerState::poll_timeout`]). Each id has at most one:
/// setting it again moves it.
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum TimerId {
    /// The connection's current deadline: finishing login, or (once logged in) the idle timeout.
    Conn(ConnId),
    /// A private-chat request waiting for an answer.
    Offer(u64),
    /// The connection's held lines may be handled again (flood control).
    Flow(ConnId),
    /// A user's presence, held back because it changed too often, may be told (by account number).
    Presence(u32),
}

/// An input to [`super::ServerState::handle`].
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A client connected from `peer`.
    Connected {
        /// The shell's number for the new connection.
        conn: ConnId,
        /// The client's address and port, as the socket reports them: per-address limits and bans go by
        /// its IP.
        peer: SocketAddr,
    },
    /// One complete line from a client, without its line ending (see [`crate::protocol::LineDecoder`]).
    Line {
        /// The connection it came on.
        conn: ConnId,
        /// The line's bytes, not yet checked to be text (the core checks them).
        line: &'a [u8],
    },
    /// The client sent a line longer than the limit; the decoder is dropping it.
    LineTooLong {
        /// The connection it came on.
        conn: ConnId,
    },
    /// A password line whose text the core is not given, only its shape: the connection's node keeps
    /// the text for the password job (see `cluster::gates`). A cluster node sends these, so that no
    /// password enters the shared log.
    SecretLine {
        /// The connection it came on.
        conn: ConnId,
        /// What the core may know of the password (which checks it passes), without its text.
        shape: super::secret_shape::SecretShape,
    },
    /// The connection is gone: the client closed it, it failed, or the shell dropped it (for instance
    /// because the client stopped reading and its outbound queue overflowed).
    Disconnected {
        /// The connection that is gone.
        conn: ConnId,
    },
    /// The answer to [`Effect::CheckPassword`] `job` (for `conn`): whether the password matched.
    PasswordChecked {
        /// The connection the check was for.
        conn: ConnId,
        /// The job's number, from the effect.
        job: u64,
        /// Whether the password matched.
        ok: bool,
    },
    /// The answer to [`Effect::HashPassword`] `job` (for `conn`): the hash (a PHC string) to store.
    PasswordHashed {
        /// The connection the hash is for.
        conn: ConnId,
        /// The job's number, from the effect.
        job: u64,
        /// The new password's hash, a PHC string.
        hash: &'a str,
    },
    /// The answer to a password job (`job`, for `conn`) the shell could not do: no randomness from the
    /// system for a new hash's salt, or a job without the password's text. Every job is answered once,
    /// this way or the other: the core frees the job's place (one of `max_password_jobs`) only on an
    /// answer, and the connection waits for one.
    PasswordJobFailed {
        /// The connection the job was for.
        conn: ConnId,
        /// The job's number, from the effect.
        job: u64,
    },
    /// Everything sent to the connection before the [`Effect::WatchDrain`] was handed to the kernel.
    Drained {
        /// The connection whose queue drained.
        conn: ConnId,
    },
    /// The server is stopping: tell everyone and close every connection.
    Shutdown,
    /// The server's operator asks for `action` (see `admin`); `request` is whom to answer
    /// ([`Effect::AdminAnswer`]). In a cluster, its high bits are the asking node's number, as a
    /// connection's are.
    Admin {
        /// The number the answer goes back under; in a cluster, its high bits are the asking node's.
        request: u64,
        /// What the operator asks.
        action: &'a super::admin::Admin,
    },
}

/// An output of [`super::ServerState::handle`], to be carried out by the shell in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send one line to one connection.
    Send {
        /// The connection to send it to.
        to: ConnId,
        /// The line.
        msg: ServerMsg,
    },
    /// Send the same line to many connections: rendered once, shared by all.
    SendMany {
        /// The connections to send it to.
        to: Vec<ConnId>,
        /// The line, rendered once for all of them.
        msg: ServerMsg,
    },
    /// Send lines already written in the connection's own dialect (an IRC connection's, by its
    /// front: `crate::irc`), line endings included. Made by the composed server, never by the core.
    SendRaw {
        /// The connection to send them to.
        to: ConnId,
        /// The lines' bytes.
        bytes: Vec<u8>,
        /// The stored message these lines hand over to a client that cannot acknowledge it: its
        /// front acknowledges it to the core once they are written (see
        /// [`Output::WatchDrain`](crate::server::composed::Output::WatchDrain)).
        delivers: Option<u64>,
    },
    /// Flush what was sent to this connection, then close it. The core has already forgotten it; no
    /// `Disconnected` event is needed (one that arrives anyway is ignored).
    Close {
        /// The connection to close.
        conn: ConnId,
    },
    /// Make this change durable. Replies produced by the same batch of events must not be sent before it is.
    Persist(Record),
    /// Check `password` against what is stored (`hash`: a hash, or for a password the core was not
    /// given, possibly the password in the clear) away from the core's thread (it is slow on purpose);
    /// answer with [`Event::PasswordChecked`]. The core bounds how many are outstanding. `password` is
    /// `None` when it came as [`Event::SecretLine`]: the connection's node holds it, and only that node
    /// can do the job. (`conn` is whom it is for; the core goes by `job`.) A job the shell cannot do
    /// is answered with [`Event::PasswordJobFailed`].
    CheckPassword {
        /// The connection the check is for.
        conn: ConnId,
        /// The job's number, which the answer names.
        job: u64,
        /// What is stored for the account: a PHC hash, or a password in the clear (the original plain
        /// format of the credentials).
        hash: String,
        /// The password typed, or `None` when the connection's node holds it.
        password: Option<Cleartext>,
    },
    /// Hash a new account's `password` (with fresh random salt), away from the core's thread; answer
    /// with [`Event::PasswordHashed`] (or [`Event::PasswordJobFailed`]). `None` as for
    /// [`Effect::CheckPassword`].
    HashPassword {
        /// The connection the new account is being made on.
        conn: ConnId,
        /// The job's number, which the answer names.
        job: u64,
        /// The new password, or `None` when the connection's node holds it.
        password: Option<Cleartext>,
    },
    /// Stop reading from the connection until [`Effect::ResumeReading`]: its lines are being held.
    PauseReading {
        /// The connection to stop reading from.
        conn: ConnId,
    },
    /// Read from the connection again: the lines held for it (flood control) have been handled.
    ResumeReading {
        /// The connection to read from again.
        conn: ConnId,
    },
    /// Answer [`Event::Drained`] once everything sent to the connection so far has left the server's
    /// queue for it (the kernel has it).
    WatchDrain {
        /// The connection to watch.
        conn: ConnId,
    },
    /// A login attempt on `conn` failed, for the operator's log (a line per failure, which fail2ban
    /// reads) and the metrics: `user` is the account when there is one (never a name that is not an
    /// account: it may be a mistyped password).
    LoginFailed {
        /// The connection the attempt came on.
        conn: ConnId,
        /// The account tried, if the name typed is one.
        user: Option<crate::protocol::Name>,
        /// Why it failed.
        reason: LoginFailure,
    },
    /// What a session made the server's operator's did, for the operator's log (its audit trail:
    /// the control socket's actions are logged by the shell that takes them, these happen in
    /// sessions): `user` is the session's account.
    OperatorDid {
        /// The session's connection.
        conn: ConnId,
        /// The session's account.
        user: crate::protocol::Name,
        /// What it did.
        act: OperatorAct,
    },
    /// The answer to [`Event::Admin`] `request`, for the operator who asked. Like a line, it leaves
    /// only once the batch's records are durable.
    AdminAnswer {
        /// The number of the [`Event::Admin`] it answers.
        request: u64,
        /// The answer, for the operator.
        answer: super::admin::AdminAnswer,
    },
}

/// What a session did as (or to become) the server's operator, for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorAct {
    /// `oper`: the session is the operator `operator`'s now.
    Became {
        /// The operator's name in the configuration.
        operator: String,
    },
    /// `oper` refused: a wrong password, or a name no operator has (`operator` names only one an
    /// operator has: a name that is none may be a password typed in the wrong place).
    Refused {
        /// The operator's name typed, if an operator has it.
        operator: Option<String>,
    },
    /// `kill`: `target`'s session was ended.
    Killed {
        /// The account whose session ended.
        target: crate::protocol::Name,
    },
    /// `wallops`: a word to every operator online (what it said is not the log's).
    Wallops,
}

/// Why a login failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    /// No account has the name typed.
    UnknownUser,
    /// The password did not match the account's.
    WrongPassword,
    /// The account is locked (or this failure locked it).
    Locked,
    /// The account is banned.
    Banned,
    /// A logged-in user's `oper` with a wrong password (or a name no operator has): someone
    /// guessing the operator's password, an attack on the whole server.
    OperatorPassword,
}

impl LoginFailure {
    /// The word the operator's log says.
    pub fn word(self) -> &'static str {
        match self {
            LoginFailure::UnknownUser => "unknown-user",
            LoginFailure::WrongPassword => "wrong-password",
            LoginFailure::Locked => "locked",
            LoginFailure::Banned => "banned",
            LoginFailure::OperatorPassword => "operator-password",
        }
    }
}

impl Effect {
    /// A record to store or a password job: what a cluster node does more with than hand it to its
    /// shell or drop it.
    pub fn is_job_or_record(&self) -> bool {
        matches!(
            self,
            Effect::Persist(_) | Effect::CheckPassword { .. } | Effect::HashPassword { .. }
        )
    }

    /// Effects that act at once rather than with their batch's lines: they make no claim about what
    /// is stored, so they never wait for a commit (a password check, slowing a reader, watching a
    /// queue).
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            Effect::CheckPassword { .. }
                | Effect::HashPassword { .. }
                | Effect::PauseReading { .. }
                | Effect::ResumeReading { .. }
                | Effect::WatchDrain { .. }
                | Effect::LoginFailed { .. }
                | Effect::OperatorDid { .. }
        )
    }

    /// A line in the server's own words, to one connection or to many (not a raw one, not a close).
    pub fn is_line(&self) -> bool {
        matches!(self, Effect::Send { .. } | Effect::SendMany { .. })
    }
}

impl Event<'_> {
    /// The connection the event is about, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match *self {
            Event::Connected { conn, .. }
            | Event::Line { conn, .. }
            | Event::LineTooLong { conn }
            | Event::SecretLine { conn, .. }
            | Event::Disconnected { conn }
            | Event::Drained { conn }
            | Event::PasswordChecked { conn, .. }
            | Event::PasswordHashed { conn, .. }
            | Event::PasswordJobFailed { conn, .. } => Some(conn),
            Event::Shutdown | Event::Admin { .. } => None,
        }
    }
}

/// Pushes one line for one connection.
pub(crate) fn send(out: &mut Vec<Effect>, to: ConnId, msg: impl Into<ServerMsg>) {
    out.push(Effect::Send {
        to,
        msg: msg.into(),
    });
}

#[cfg(test)]
mod tests {
    /// Effects are moved several times on their way out (made, handed over, batched, released),
    /// and the compiler copies a value of at most 128 bytes inline where a larger one costs a call
    /// to `memcpy` (at 176 bytes, about twenty such calls a login). A variant that would make a line
    /// larger (a key, a row of text) is boxed or shared instead.
    #[test]
    fn an_effect_is_copied_inline() {
        assert!(std::mem::size_of::<crate::protocol::ServerMsg>() <= 96);
        assert!(std::mem::size_of::<super::Effect>() <= 128);
    }
}
