//! Every line the server sends, as a typed value.
//!
//! The core produces these; [`super::render`] is the only code that turns them into text and
//! [`super::decode`] the only code that turns text back into them. Tests match on variants, never on
//! strings, and `decode(render(m)) == m` holds for every message (a property test checks it).

use std::net::SocketAddr;
use std::sync::Arc;

use super::command::CommandName;
use super::name::{GroupNameError, NameError, PasswordError};
use crate::time::Timestamp;

/// A username as the server holds it: shared, because one name appears in many messages.
pub type Name = Arc<str>;

/// A one-time secret the server hands both ends of a private chat, so the listening side can tell the
/// requester it agreed to from anybody else who connects.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(pub u128);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({self})")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl std::str::FromStr for Token {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(());
        }
        u128::from_str_radix(s, 16).map(Token).map_err(|_| ())
    }
}

/// What the server is waiting for during login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    Username,
    Password,
    /// `--register` is on and `user` does not exist yet: the next line is the new account's password.
    NewPassword {
        user: Name,
    },
}

/// Why a pending private-chat request ended without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// Nobody answered within the server's bound.
    Timeout,
    /// The other side logged out or was disconnected.
    Offline,
}

/// Why the server is closing a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByeReason {
    /// The user asked to log out.
    Logout,
    /// No command for `secs` seconds.
    Timeout { secs: u64 },
    /// Login was not completed within `secs` seconds.
    LoginTimeout { secs: u64 },
    /// The account is locked (see the error sent just before).
    Locked,
    /// The server is shutting down.
    Shutdown,
    /// The server has no room for another connection (it ran out of file descriptors); try later.
    /// Sent by the runtime to a connection it accepted only to refuse it cleanly.
    Full,
    /// The client went on sending faster than the flood limit allows, far past its burst.
    Flood,
    /// `max` connections from the client's address are already logging in.
    TooManyConnections { max: u32 },
    /// The port speaks TLS and the client spoke plain text. Sent, in plain text, by the runtime.
    TlsRequired,
    /// The port speaks plain text and the client began a TLS handshake. Sent, in plain text, by the
    /// runtime, so a TLS client learns what is wrong rather than seeing the connection cut.
    PlainTextOnly,
    /// A node of a cluster that cannot reach the cluster's shared storage (Redis) cannot serve: it
    /// could acknowledge nothing. Another node, or this one a little later, can. Sent by the runtime.
    Unavailable,
}

/// An error reply. Each variant is one code on the wire; data a client may act on travels in fields, and
/// the human text is derived from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorReply {
    // --- login ---
    UnknownUser,
    WrongPassword {
        attempts_left: u32,
    },
    /// A login was attempted while the account is locked.
    Locked {
        secs_left: u64,
    },
    /// This attempt was the last allowed failure: the account is now locked.
    LockedNow {
        secs: u64,
    },
    AlreadyOnline,
    InvalidUsername(NameError),
    InvalidPassword(PasswordError),
    /// Someone else registered this name between the username and the password.
    NameTaken,
    /// A new account's name differs from `existing`'s only in letter case, which would let one pass for
    /// the other.
    NameTooSimilar {
        existing: Name,
    },
    /// Too many failed logins from the client's address: no login is tried from it for `secs_left`.
    LoginThrottled {
        secs_left: u64,
    },
    /// Too many accounts created from the client's address lately.
    RegisterThrottled {
        secs_left: u64,
    },
    /// The server has too many password checks waiting; the password was not tried (and not counted).
    Busy,
    // --- any line ---
    LineTooLong {
        max: usize,
    },
    InvalidUtf8,
    ControlChar,
    EmptyLine,
    // --- commands ---
    UnknownCommand,
    Usage {
        command: CommandName,
    },
    BadNumber {
        command: CommandName,
    },
    NoSuchUser {
        user: String,
    },
    NotYourself {
        command: CommandName,
    },
    /// `user` has blocked the sender: a message is neither delivered nor stored, a private chat not offered.
    BlockedBy {
        user: Name,
    },
    AlreadyBlocked {
        user: Name,
    },
    NotBlocked {
        user: Name,
    },
    /// `user` is not online (private chat needs both ends online).
    Offline {
        user: Name,
    },
    /// `user`'s client has not registered a private-chat listener.
    NoP2p {
        user: Name,
    },
    PrivateExists {
        user: Name,
    },
    PrivatePending {
        user: Name,
    },
    NoRequest {
        user: Name,
    },
    /// Accepting would give your address to someone you have blocked.
    YouBlocked {
        user: Name,
    },
    NoSession {
        user: Name,
    },
    /// `user` has too many stored messages waiting.
    MailboxFull {
        user: Name,
    },
    /// This sender already has `max` messages waiting for `user`: the share of the mailbox one sender
    /// may fill.
    MailboxShare {
        user: Name,
        max: usize,
    },
    /// `user` is not reading fast enough: too much from this sender (or from everyone) waits to be
    /// written to them, so the message was not delivered.
    RecipientBusy {
        user: Name,
    },
    /// The client sends commands faster than `per_sec` a second: they are carried out at that rate.
    SlowDown {
        per_sec: u32,
    },
    /// `ack` named a message id that was not delivered on this connection.
    BadAck {
        id: u64,
    },
    // --- groups ---
    InvalidGroupName(GroupNameError),
    /// `create group` with a name another group has.
    GroupExists {
        group: Name,
    },
    NoSuchGroup {
        group: String,
    },
    /// Only members may post to a group, see its members, or add to it.
    NotMember {
        group: Name,
    },
    AlreadyMember {
        group: Name,
        user: Name,
    },
    /// A group holds at most `max` members.
    GroupFull {
        group: Name,
        max: usize,
    },
}

/// What `ping` found out about a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingState {
    /// Online, with no command for `idle_secs`; messages are delivered at once.
    Online { idle_secs: u64 },
    /// Offline; `stored` says whether a message would be kept for them (false: their mailbox has no
    /// room for one more from you).
    Offline { stored: bool },
}

/// One line from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMsg {
    Prompt(Prompt),
    Welcome {
        user: Name,
    },
    /// Sent before `Welcome` when `--register` created the account.
    Registered {
        user: Name,
    },
    Message {
        from: Name,
        text: String,
    },
    /// A message stored while the recipient was offline, delivered at login. `id` lets the client
    /// acknowledge it and recognise a redelivery after a server crash. `group` is the group it was sent
    /// to, if it was a group message.
    OfflineMessage {
        id: u64,
        sent_at: Timestamp,
        from: Name,
        group: Option<Name>,
        text: String,
    },
    /// A message to group `group` from `from`.
    GroupMessage {
        group: Name,
        from: Name,
        text: String,
    },
    Broadcast {
        from: Name,
        text: String,
    },
    Presence {
        user: Name,
        online: bool,
    },
    WhoElse {
        users: Vec<Name>,
    },
    WhoElseSince {
        secs: u64,
        users: Vec<Name>,
    },
    /// `to` is offline; the message is stored, durably, as `id` (sent only after the store commits).
    Stored {
        id: u64,
        to: Name,
    },
    BroadcastSent {
        delivered: usize,
        /// Some online users did not get it because they blocked the sender (never said who).
        skipped: bool,
    },
    Blocked {
        user: Name,
    },
    Unblocked {
        user: Name,
    },
    P2pPort {
        port: u16,
    },
    /// To the target: `from` asks for a private chat; answer within `secs`.
    PrivateRequest {
        from: Name,
        secs: u64,
    },
    /// To the requester: the request was passed on.
    PrivatePending {
        to: Name,
        secs: u64,
    },
    /// To the requester: `peer` accepted; connect to `addr` and present `token`.
    PrivateAccepted {
        peer: Name,
        addr: SocketAddr,
        token: Token,
    },
    /// To the target: you accepted; `peer` will connect presenting `token`.
    PrivateExpect {
        peer: Name,
        token: Token,
    },
    /// To the requester: `peer` declined.
    PrivateDeclined {
        peer: Name,
    },
    /// To the target: your decline was passed on.
    PrivateDeclineSent {
        peer: Name,
    },
    /// To either side: the request between you and `peer` ended unanswered.
    PrivateCancelled {
        peer: Name,
        reason: CancelReason,
    },
    /// Reply to `stopprivate`.
    PrivateEnded {
        peer: Name,
    },
    /// One line of `help`.
    Help {
        command: CommandName,
    },
    /// Reply to `create group`: the group and all its members (the creator included), sorted.
    GroupCreated {
        group: Name,
        members: Vec<Name>,
    },
    /// Reply to `message group`: how many members got it now, how many will at their next login, and
    /// whether some members did not get it (they blocked the sender, or their mailbox was full; never
    /// said who).
    GroupSent {
        group: Name,
        delivered: usize,
        stored: usize,
        skipped: bool,
    },
    /// Reply to `grouplist`: each group the user belongs to, with its members, sorted.
    GroupList {
        groups: Vec<(Name, Vec<Name>)>,
    },
    /// Reply to `group members`.
    GroupMembers {
        group: Name,
        members: Vec<Name>,
    },
    /// To the members of `group` (the new one included): `by` added `user`.
    GroupJoined {
        group: Name,
        user: Name,
        by: Name,
    },
    /// To the members of `group` and to `user`: `user` left it.
    GroupLeft {
        group: Name,
        user: Name,
    },
    /// No command for a while: the session ends in `secs_left` seconds unless the user sends one.
    IdleWarning {
        secs_left: u64,
    },
    /// With `receipts on`: the message to `to` was delivered at once (a stored one gets `STORED`).
    Delivered {
        to: Name,
    },
    /// Reply to `ping`.
    Ping {
        user: Name,
        state: PingState,
    },
    /// Reply to `offline`: `count` lines follow, each an [`ServerMsg::OfflineAgain`].
    OfflineList {
        count: usize,
    },
    /// One of the messages that were waiting at this login, shown again (not to be acknowledged).
    OfflineAgain {
        id: u64,
        sent_at: Timestamp,
        from: Name,
        group: Option<Name>,
        text: String,
    },
    Error(ErrorReply),
    Bye(ByeReason),
}

impl ServerMsg {
    /// Whether the line may be held for a few milliseconds so that it shares a `write` with the
    /// recipient's next lines, because nobody can tell it was late:
    /// - presence notices: with many users logging in and out they are most of what a server sends, and
    ///   a person cannot tell a login shown 10 ms late;
    /// - the username prompt: a person takes far longer than that to start typing, and a program that
    ///   sends its login at once gets the prompt with the welcome, in one `write` instead of two.
    ///
    /// Replies to commands, messages and broadcasts are never held: someone is waiting for each. A line
    /// that is not held takes the held ones with it, so holding never reorders a connection's lines.
    pub fn can_wait(&self) -> bool {
        matches!(
            self,
            ServerMsg::Presence { .. } | ServerMsg::Prompt(Prompt::Username)
        )
    }
}

impl From<ErrorReply> for ServerMsg {
    fn from(e: ErrorReply) -> Self {
        ServerMsg::Error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_notices_nobody_waits_for_may_be_held() {
        let may_wait = [
            ServerMsg::Presence {
                user: "bob".into(),
                online: true,
            },
            ServerMsg::Prompt(Prompt::Username),
        ];
        for msg in &may_wait {
            assert!(msg.can_wait(), "{msg:?} should be allowed to wait");
        }
        let must_not = [
            ServerMsg::Prompt(Prompt::Password),
            ServerMsg::Welcome { user: "bob".into() },
            ServerMsg::Message {
                from: "bob".into(),
                text: "hi".into(),
            },
            ServerMsg::Broadcast {
                from: "bob".into(),
                text: "hi".into(),
            },
            ServerMsg::WhoElse { users: vec![] },
            ServerMsg::Bye(ByeReason::Logout),
        ];
        for msg in &must_not {
            assert!(!msg.can_wait(), "{msg:?} is awaited and must not wait");
        }
    }
}
