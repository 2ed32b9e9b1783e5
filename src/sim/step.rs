//! What simulated clients and the simulated runtime do, at two levels.
//!
//! An [`Op`] is an intention ("slot 3 logs in as user 5 with a wrong password", "jump to just before the next
//! deadline"): what generators produce, whether proptest strategies, the seeded simulator or a fuzzer's
//! bytes (it derives `Arbitrary` under the `arbitrary` feature). Any `Op` is valid in any state: numbers
//! are taken modulo what exists, and acting on an empty slot does nothing.
//!
//! [`super::World`] turns each `Op` into one or more concrete [`Step`]s (the exact line sent, the exact
//! number of milliseconds), and a failure is reported, shrunk and replayed as the list of steps. Steps are
//! independent of any state too, so every sub-list of a trace is itself a valid run.

use std::fmt;

/// A simulated client's place. A slot holds at most one open connection at a time.
pub type Slot = u16;

/// An account, by its index in creation order (modulo the number of accounts), or a name that is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum UserRef {
    Known(u16),
    /// A name no account has (`ghost`).
    Unknown,
    /// A name for `--register` to create (`new0`..`new3`): few, so registrations collide.
    New(u8),
}

/// Which password a login attempt types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Password {
    /// The account's password (or, when registering, a valid new one).
    Right,
    Wrong,
    /// Contains a space: wrong for a login, refused for a new account.
    Invalid,
}

/// A command line a logged-in client types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Cmd {
    /// The text is made unique by the world, so every delivery can be traced back to its send.
    Message(UserRef),
    Broadcast,
    WhoElse,
    /// Seconds, as a fraction of the idle timeout in tenths (0..=25), or `u64::MAX`-sized when 255.
    WhoElseSince(u8),
    Block(UserRef),
    Unblock(UserRef),
    /// `blocks`: the list.
    Blocks,
    StartPrivate(UserRef),
    Accept(UserRef),
    Decline(UserRef),
    StopPrivate(UserRef),
    Logout,
    Help,
    P2pPort(u16),
    Active,
    /// Acknowledge the newest message this connection has read, as the real client does (cumulative).
    AckReceived,
    /// Acknowledge an arbitrary id (usually refused).
    AckId(u8),
    /// `create group` with two members (possibly the same, the creator, or nobody).
    CreateGroup(GroupRef, UserRef, UserRef),
    MessageGroup(GroupRef),
    GroupAdd(GroupRef, UserRef),
    GroupLeave(GroupRef),
    GroupMembers(GroupRef),
    GroupList,
    /// `group join`: accept an invitation, or join an open group.
    GroupJoin(GroupRef),
    GroupDecline(GroupRef),
    /// `group remove`, with a reason or without.
    GroupRemove(GroupRef, UserRef, bool),
    /// `group topic`: shown (0), set (1), or cleared with `-` (2 and more).
    GroupTopic(GroupRef, u8),
    GroupOwner(GroupRef, UserRef),
    /// `group mode` (0, 1), `group set ... add` (2, 3), `group set ... topic` (4, 5).
    GroupSet(GroupRef, u8),
    /// `away` with a reason (`true`) or back.
    Away(bool),
    Whois(UserRef),
    Ping(UserRef),
    WhoLastHr,
    Offline,
    /// `receipts on|off`, as a client that shows its own messages sends it.
    Receipts(bool),
    /// `acks on|off`: on, as the natter client says right after login; off, as a person might.
    Acks(bool),
    /// `keys identity`: the user's identity number `n` (of three, so identities are replaced, and
    /// published again unchanged, as a client does at each login).
    KeysIdentity(u8),
    /// `keys add` with this many one-time keys (past 20: refused as too many for a line), fresh ids
    /// but for the last of three or more, which repeats the first.
    KeysAdd(u8),
    KeysFallback,
    KeysClaim(UserRef),
    KeysShow(UserRef),
    /// A `keys` line with a malformed key (which part, modulo the parts).
    KeysMalformed(u8),
    /// An end-to-end encrypted direct message as the natter client sends it, naming as its recipient
    /// the user's identity number `n` (of the three [`Cmd::KeysIdentity`] publishes): their current
    /// one, or one they replaced (refused as `stale-key`), or one they never had.
    MessageSealed(UserRef, u8),
}

/// A group name: one of a few (`g0`..`g2`, modulo), so groups are created twice, joined and left; or
/// one that is not a valid name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum GroupRef {
    Named(u8),
    Invalid,
}

/// A line that is not a well-formed command (or, before login, an odd username or password).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Garbage {
    InvalidUtf8,
    ControlChar,
    Empty,
    Blank,
    UnknownCommand,
    Usage,
    BadNumber,
    /// Letters and digits beyond what a username may hold.
    LongWord,
}

/// Which instant a clock jump aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Edge {
    /// The `n`-th earliest deadline the model knows (idle, login, private-chat request), modulo their count.
    Deadline(u8),
    /// The end of the `n`-th account's lockout (modulo the locked accounts).
    LockEnd(u8),
}

/// One intention of a client or of the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    Connect(Slot),
    /// Connect if needed, type the username, then the password.
    Login(Slot, UserRef, Password),
    Username(Slot, UserRef),
    Password(Slot, Password),
    Command(Slot, Cmd),
    Garbage(Slot, Garbage),
    TooLong(Slot),
    /// The client vanishes (reset, crash): the shell reports `Disconnected`.
    Disconnect(Slot),
    /// The client stops reading: once its queue overflows the shell drops it.
    StopReading(Slot),
    /// The client reads again.
    Read(Slot),
    /// Advance the clock by this many milliseconds, firing timers at their deadlines.
    Advance(u32),
    /// Advance to an interesting instant, give or take `delta` milliseconds (never backwards).
    AdvanceTo(Edge, i8),
    /// The server process stops and starts again from its persisted records.
    Restart {
        graceful: bool,
    },
    /// The client sends this command, and the server dies while the batch that handled it is being
    /// committed: its records are lost, and so are its lines if they waited for that commit.
    CrashDuring(Slot, Cmd),
    /// The server's operator acts (the control socket).
    Admin(AdminOp),
}

/// What the operator does (`natter-server admin`), on an account by reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum AdminOp {
    /// With a reason the user is told, or none.
    Kick(UserRef, bool),
    /// For this many tenths of the idle timeout (0: for good).
    Ban(UserRef, u8),
    Unban(UserRef),
    Unlock(UserRef),
    Notice,
    /// A new password (`pw-set-<n>`, n counting the operator's changes).
    SetPassword(UserRef),
}

/// One concrete input to the system: replayable as is.
#[derive(Clone, PartialEq, Eq)]
pub enum Step {
    Connect {
        slot: Slot,
    },
    Send {
        slot: Slot,
        line: Vec<u8>,
    },
    TooLong {
        slot: Slot,
    },
    Disconnect {
        slot: Slot,
    },
    /// The shell dropped a slow reader whose outbound queue overflowed.
    Overflow {
        slot: Slot,
    },
    StopReading {
        slot: Slot,
    },
    Read {
        slot: Slot,
    },
    Advance {
        ms: u64,
    },
    Restart {
        graceful: bool,
    },
    /// The operator's action, as the core is given it.
    Admin {
        action: natter_core::server::Admin,
    },
    /// The server handles this line and crashes before the commit of that batch completes (then
    /// restarts from what was committed).
    SendThenCrash {
        slot: Slot,
        line: Vec<u8>,
    },
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Connect { slot } => write!(f, "s{slot} connect"),
            Step::Send { slot, line } => match std::str::from_utf8(line) {
                Ok(text) => write!(f, "s{slot} sends {text:?}"),
                Err(_) => write!(f, "s{slot} sends bytes {line:02x?}"),
            },
            Step::TooLong { slot } => write!(f, "s{slot} sends an over-long line"),
            Step::Disconnect { slot } => write!(f, "s{slot} disconnects"),
            Step::Overflow { slot } => write!(f, "s{slot} dropped by the shell (queue overflow)"),
            Step::StopReading { slot } => write!(f, "s{slot} stops reading"),
            Step::Read { slot } => write!(f, "s{slot} reads again"),
            Step::Advance { ms } => write!(f, "clock +{ms}ms"),
            Step::Restart { graceful: true } => write!(f, "server shuts down and restarts"),
            Step::Restart { graceful: false } => write!(f, "server crashes and restarts"),
            Step::SendThenCrash { slot, line } => write!(
                f,
                "s{slot} sends {:?}; the server crashes before committing it, and restarts",
                String::from_utf8_lossy(line)
            ),
            Step::Admin { action } => write!(f, "the operator: {}", action.describe()),
        }
    }
}

/// Prints a trace one numbered step per line, as failures show it.
pub struct Trace<'a>(pub &'a [Step]);

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            writeln!(f, "  {i:>4}: {s:?}")?;
        }
        Ok(())
    }
}
