//! The reference model: natter's rules written a second time, as plainly as possible, with no code or
//! data structure shared with [`natter_core::server::ServerState`].
//!
//! It is deliberately naive (names as keys, linear scans, every deadline recomputed on each step) so that
//! each rule can be read off in a few lines and checked against the rules in docs/PROTOCOL.md by eye. It reuses only the
//! protocol layer (the command grammar, the name rules, the typed replies), which has its own round-trip
//! properties and fuzz targets. Given the same inputs it must produce exactly the lines the core sends, to
//! exactly the same connections; [`super::World`] compares the two after every step.
//!
//! Decisions the model encodes (made in the server's core, recorded here so a reader can check them):
//! - a line that is not a valid command is not activity; `ack` and `p2pport` are not activity; a login is;
//! - presence is hidden in both directions of a block; `whoelse`/`whoelsesince` hide users who blocked the
//!   asker but list those the asker blocked;
//! - each user has one queue of messages in id order, stored (durable) ones and live ones (sent while
//!   they were online, in memory only); it is written to their connection while less than
//!   `mail_window` bytes of it wait there (each message costs its text, names and group and 64 bytes),
//!   the rest when the connection drains (at once for a client that reads; for one that stopped, when it
//!   reads again); the core asks to hear of the drain from half the window on, and what it writes after
//!   asking still counts once the answer comes; stored ones come first at login, right after `WELCOME`;
//! - every entry stays until an `ack` covering it (`ack` may name only what was written on the
//!   connection), except a live one written to a session that does not acknowledge (`acks off`, or a
//!   first command other than `acks`): delivered once written. A sender with receipts hears `SENT`, then
//!   `DELIVERED` when the recipient's client has it, or `STORED` if their session ends first: every live
//!   entry then becomes a stored one. A group message has one id for every member, and no receipts;
//! - the mailbox limit and one sender's share hold for the whole queue, live entries too
//!   (`recipient-busy` for an online recipient); blocking a user discards everything of theirs queued
//!   for the blocker;
//! - ids are reserved durably a block at a time (an acknowledged change), so they grow across restarts;
//! - timers due at the same instant run in the order the harness fires them: connection deadlines by
//!   connection number, then private-chat requests by creation;
//! - a restart forgets sessions, failure counts and private-chat brokering; a user online at a crash counts
//!   as logged out at the restart;
//! - the key directory: publishing keys is not activity; keys belong to an identity (publishing a
//!   different one drops them, the same one changes nothing); `keys add` adds the keys whose ids are not
//!   held, all or none (none past 100 held); a claim hands out the oldest one-time key (removed), else
//!   the fallback key, and tells the owner `KEYS-LEFT` when it took a one-time key and fewer than 20 are
//!   left; a user who blocked the claimer keeps their keys; every change is acknowledged (committed
//!   before its reply); `KEYS-LEFT` follows `WELCOME` for an account with an identity; a direct
//!   message whose text names, as the identity it was encrypted for, another than the recipient's
//!   current one is refused (`stale-key`), after the block check, before anything is queued;
//! - what survives a crash is what was committed (see [`MDurable`]): a change that a reply acknowledges
//!   (a stored message, a block or unblock, a lockout, a registration) is committed at the end of its
//!   batch, together with every lazy change before it (logins, logouts, acks); lazy changes alone are
//!   committed once `lazy_delay_ms` passed since the first of them (before the timers of that instant), or
//!   once `lazy_max` of them gathered. A crash in the middle of a batch's commit loses that batch and
//!   every lazy change since the last commit, and none of the batch's lines are sent if it waited.
//!
//! One file per rule, as the server's core has them: `login`, `connections` (a connection's
//! life and deadlines), `commands` (a logged-in user's line, to the rule of its command),
//! `messages`, `groups`, `blocks`, `presence`, `private`, `keys`, and `commits` (what
//! the store holds, and what a crash keeps); the model's state and what they share are here.

mod admin;
mod blocks;
mod commands;
mod commits;
mod connections;
mod groups;
mod keys;
mod login;
mod messages;
mod presence;
mod private;
mod signals;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use natter_core::protocol::keys::SignedKey;
use natter_core::protocol::{CommandName, ErrorReply, Name, ServerMsg, Token};
use natter_core::server::outbox::OutboxConfig;
use natter_core::server::{Config, ConnId};
use natter_core::time::Timestamp;

/// A stored message, as the model keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MStored {
    pub id: u64,
    pub from: Name,
    /// The group a group message was sent to.
    pub group: Option<Name>,
    pub sent_at: Timestamp,
    pub text: String,
}

/// An account's published keys, as the model keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MKeys {
    pub curve25519: String,
    pub ed25519: String,
    /// Oldest first.
    pub one_time: Vec<SignedKey>,
    pub fallback: Option<SignedKey>,
}

/// An entry of a user's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MQueued {
    pub msg: MStored,
    /// Stored; a live entry is in memory only, and becomes stored when the session ends.
    pub durable: bool,
    /// For a live direct message: the sender's connection, told its fate.
    pub reply_to: Option<ConnId>,
}

#[derive(Clone, Debug)]
pub struct MUser {
    pub password: String,
    pub failures: u32,
    pub locked_until: Option<Timestamp>,
    pub conn: Option<ConnId>,
    pub blocks: BTreeSet<Name>,
    /// Every message not acknowledged yet, in id order.
    pub queue: Vec<MQueued>,
    pub last_logout: Option<Timestamp>,
    /// What its client published for end-to-end encryption.
    pub keys: Option<MKeys>,
}

impl MUser {
    /// The stored messages: what survives a restart.
    pub fn stored(&self) -> impl Iterator<Item = &MStored> {
        self.queue.iter().filter(|q| q.durable).map(|q| &q.msg)
    }
}

/// Whether a session's client acknowledges what it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MAcks {
    Undecided,
    On,
    Off,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MPhase {
    Username,
    Password(Name),
    NewPassword(Name),
    Online {
        user: Name,
        last_cmd: Timestamp,
        p2p: Option<u16>,
        /// The newest message id written on this connection (0: none).
        sent_through: u64,
        /// What was waiting at login, for `offline`.
        waiting: Vec<MStored>,
        /// `offline` under way: the next of `waiting` to write.
        replay: Option<usize>,
        /// The idle warning was given since the last command.
        warned: bool,
        /// `receipts on`.
        receipts: bool,
        acks: MAcks,
        /// Bytes of messages written and not yet seen drained.
        mail: usize,
        /// A drain watch is asked for.
        watching: bool,
        /// Bytes of messages written since the watch was asked for (not covered by its answer).
        since_watch: usize,
        /// Where a `passwd` stands: the next line is the current password, or the new one.
        passwd: MPasswd,
        /// When the session began.
        since: Timestamp,
        /// `away <reason>`.
        away: Option<String>,
    },
}

/// A session's `passwd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MPasswd {
    Idle,
    Current,
    New,
    /// `oper`: the next line is an operator's password (the simulated servers have no operators,
    /// so every one is wrong).
    Oper,
}

#[derive(Clone, Debug)]
pub struct MConn {
    pub peer: SocketAddr,
    pub opened: Timestamp,
    pub phase: MPhase,
}

/// One account as the store holds it after the last commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MDurableUser {
    pub password: String,
    pub locked_until: Option<Timestamp>,
    pub blocks: BTreeSet<Name>,
    pub mailbox: Vec<MStored>,
    pub last_logout: Option<Timestamp>,
    /// A login was committed and its logout was not.
    pub online: bool,
    pub keys: Option<MKeys>,
}

/// A group's owner, the order its members joined in, the owner's settings and its topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MGroup {
    pub joined: Vec<Name>,
    pub owner: Name,
    pub open: bool,
    pub add_direct: bool,
    pub topic_by_members: bool,
    pub topic: Option<(String, Name)>,
}

/// A standing invitation: by whom, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MInvite {
    pub by: Name,
    pub at: Timestamp,
}

/// What a crash right now would leave: the state as of the last completed commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MDurable {
    pub order: Vec<Name>,
    pub users: BTreeMap<Name, MDurableUser>,
    pub next_msg: u64,
    pub groups: BTreeMap<Name, BTreeSet<Name>>,
    pub group_info: BTreeMap<Name, MGroup>,
    pub invitations: BTreeMap<Name, BTreeMap<Name, MInvite>>,
    /// Banned accounts, until when (`None`: for good).
    pub bans: BTreeMap<Name, Option<Timestamp>>,
}

/// A private-chat request waiting for an answer.
#[derive(Clone, Debug)]
pub struct MOffer {
    pub from: Name,
    pub to: Name,
    pub expires: Timestamp,
}

/// What one step made the server do, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Out {
    pub sends: Vec<(ConnId, ServerMsg)>,
    pub closed: Vec<ConnId>,
}

impl Out {
    fn send(&mut self, to: ConnId, msg: impl Into<ServerMsg>) {
        self.sends.push((to, msg.into()));
    }
}

/// The tokens of private chats are random: the model writes this one, and the comparison accepts any token
/// in its place provided both ends got the same fresh one.
pub const ANY_TOKEN: Token = Token(0);

#[derive(Clone, Debug)]
pub struct Model {
    pub cfg: Config,
    pub now: Timestamp,
    /// Account names in creation order (what an operation's user index picks from).
    pub order: Vec<Name>,
    pub users: BTreeMap<Name, MUser>,
    pub conns: BTreeMap<ConnId, MConn>,
    /// Pending private-chat requests by creation number.
    pub offers: BTreeMap<u64, MOffer>,
    /// Brokered private chats, as (smaller name, larger name).
    pub privates: BTreeSet<(Name, Name)>,
    /// Groups, by name, with their members' names.
    pub groups: BTreeMap<Name, BTreeSet<Name>>,
    /// Each group's owner, join order, settings and topic (beside `groups`, changed with it).
    pub group_info: BTreeMap<Name, MGroup>,
    /// Each user's invitations, by group.
    pub invitations: BTreeMap<Name, BTreeMap<Name, MInvite>>,
    /// Accounts the operator banned, until when (`None`: for good).
    pub bans: BTreeMap<Name, Option<Timestamp>>,
    pub next_msg: u64,
    pub next_offer: u64,
    pub shutting_down: bool,
    /// When commits happen (the same rule the server's outbox follows).
    pub commits: OutboxConfig,
    /// The state as of the last commit.
    pub durable: MDurable,
    /// Lazy changes since the last commit, and when the first of them was made.
    pub lazy_count: usize,
    pub lazy_since: Option<Timestamp>,
    /// The batch being handled made a change that a reply acknowledges.
    pub acknowledged: bool,
    /// Ids below this are reserved durably.
    pub reserved: u64,
    /// Connections whose client reads nothing: their drain watches wait until it reads again.
    pub stalled: BTreeSet<ConnId>,
    /// Drain watches asked for in the batch being handled, in order.
    pub watches: Vec<ConnId>,
}

/// What a message costs in its recipient's window (the same estimate the server makes, written out).
pub(super) fn mail_cost(m: &MStored) -> usize {
    m.from.len() + m.text.len() + m.group.as_ref().map_or(0, |g| g.len() + 1) + 64
}

pub(super) fn pair(a: &Name, b: &Name) -> (Name, Name) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

impl Model {
    pub fn new(cfg: Config, accounts: &[(String, String)], now: Timestamp) -> Self {
        let mut m = Model {
            cfg,
            now,
            order: Vec::new(),
            users: BTreeMap::new(),
            conns: BTreeMap::new(),
            offers: BTreeMap::new(),
            privates: BTreeSet::new(),
            groups: BTreeMap::new(),
            group_info: BTreeMap::new(),
            invitations: BTreeMap::new(),
            bans: BTreeMap::new(),
            next_msg: 1,
            next_offer: 1,
            shutting_down: false,
            commits: OutboxConfig::default(),
            durable: MDurable {
                order: Vec::new(),
                users: BTreeMap::new(),
                next_msg: 1,
                groups: BTreeMap::new(),
                group_info: BTreeMap::new(),
                invitations: BTreeMap::new(),
                bans: BTreeMap::new(),
            },
            lazy_count: 0,
            lazy_since: None,
            acknowledged: false,
            reserved: 0,
            stalled: BTreeSet::new(),
            watches: Vec::new(),
        };
        for (u, p) in accounts {
            m.add_user(Name::from(u.as_str()), p.clone());
        }
        m.commit();
        m
    }

    /// Commits follow `commits` (the simulator's harness uses the same numbers).
    pub fn with_commits(mut self, commits: OutboxConfig) -> Self {
        self.commits = commits;
        self
    }

    pub(super) fn add_user(&mut self, name: Name, password: String) {
        self.order.push(name.clone());
        self.users.insert(
            name,
            MUser {
                password,
                failures: 0,
                locked_until: None,
                conn: None,
                blocks: BTreeSet::new(),
                queue: Vec::new(),
                last_logout: None,
                keys: None,
            },
        );
    }

    pub fn user(&self, name: &str) -> &MUser {
        &self.users[name]
    }

    pub(super) fn user_mut(&mut self, name: &str) -> &mut MUser {
        self.users.get_mut(name).expect("known user")
    }

    /// Whether `who` blocks `whom`.
    pub fn blocks(&self, who: &str, whom: &str) -> bool {
        self.users.get(who).is_some_and(|u| u.blocks.contains(whom))
    }

    pub fn is_locked(&self, name: &str) -> bool {
        self.users
            .get(name)
            .and_then(|u| u.locked_until)
            .is_some_and(|until| until > self.now)
    }

    /// The user logged in on `conn`.
    pub fn user_on(&self, conn: ConnId) -> Option<&Name> {
        match &self.conns.get(&conn)?.phase {
            MPhase::Online { user, .. } => Some(user),
            _ => None,
        }
    }

    /// Who is online, with their connection.
    pub fn online(&self) -> impl Iterator<Item = (&Name, ConnId)> {
        self.users
            .iter()
            .filter_map(|(n, u)| u.conn.map(|c| (n, c)))
    }

    /// Names another existing user, or answers why not.
    pub(super) fn target(
        &self,
        conn: ConnId,
        me: &Name,
        name: &str,
        command: CommandName,
        out: &mut Out,
    ) -> Option<Name> {
        let Some((name, _)) = self.users.get_key_value(name) else {
            out.send(
                conn,
                ErrorReply::NoSuchUser {
                    user: name.to_owned(),
                },
            );
            return None;
        };
        if name == me {
            out.send(conn, ErrorReply::NotYourself { command });
            return None;
        }
        Some(name.clone())
    }

    /// The online session of `user`, mutably.
    pub(super) fn session_mut(&mut self, conn: ConnId) -> Option<&mut MPhase> {
        self.conns
            .get_mut(&conn)
            .map(|c| &mut c.phase)
            .filter(|p| matches!(p, MPhase::Online { .. }))
    }

    pub(super) fn set_phase(&mut self, conn: ConnId, phase: MPhase) {
        self.conns.get_mut(&conn).expect("open conn").phase = phase;
    }
}
