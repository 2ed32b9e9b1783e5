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

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use natter_core::protocol::keys::{KEYS_LOW, MAX_ONE_TIME_KEYS, SignedKey};
use natter_core::protocol::name::{check_group_name, check_password, check_username};
use natter_core::protocol::{
    ByeReason, CancelReason, Command, CommandName, ErrorReply, LineError, Name, ParseError,
    PingState, Prompt, ServerMsg, Token, check_line, parse_command,
};
use natter_core::server::outbox::OutboxConfig;
use natter_core::server::{Admin, BanTarget, Config, ConnId, MAX_FAILURES};
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
    },
}

/// A session's `passwd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MPasswd {
    Idle,
    Current,
    New,
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

/// What a crash right now would leave: the state as of the last completed commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MDurable {
    pub order: Vec<Name>,
    pub users: BTreeMap<Name, MDurableUser>,
    pub next_msg: u64,
    pub groups: BTreeMap<Name, BTreeSet<Name>>,
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
fn mail_cost(m: &MStored) -> usize {
    m.from.len() + m.text.len() + m.group.as_ref().map_or(0, |g| g.len() + 1) + 64
}

fn pair(a: &Name, b: &Name) -> (Name, Name) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

/// Whether a command resets the idle clock: everything the user does, but not what the client sends on its
/// own (acknowledgements, port registration).
fn is_activity(cmd: &Command<'_>) -> bool {
    !matches!(
        cmd,
        Command::Ack { .. }
            | Command::P2pPort { .. }
            | Command::Receipts { .. }
            | Command::Acks { .. }
            | Command::KeysIdentity { .. }
            | Command::KeysAdd { .. }
            | Command::KeysFallback { .. }
    )
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

    // ----- durability -----

    /// A change no reply acknowledges (a login, a logout, an ack that removed something).
    fn lazy_change(&mut self) {
        self.lazy_count += 1;
        self.lazy_since.get_or_insert(self.now);
    }

    /// A change a reply acknowledges: the batch commits when it ends.
    fn acknowledged_change(&mut self) {
        self.acknowledged = true;
    }

    /// Everything so far is committed: the durable state is the live one.
    pub fn commit(&mut self) {
        self.lazy_count = 0;
        self.lazy_since = None;
        self.acknowledged = false;
        self.durable = MDurable {
            order: self.order.clone(),
            users: self
                .users
                .iter()
                .map(|(n, u)| {
                    (
                        n.clone(),
                        MDurableUser {
                            password: u.password.clone(),
                            locked_until: u.locked_until,
                            blocks: u.blocks.clone(),
                            mailbox: u.stored().cloned().collect(),
                            last_logout: u.last_logout,
                            online: u.conn.is_some(),
                            keys: u.keys.clone(),
                        },
                    )
                })
                .collect(),
            next_msg: self.next_msg.max(self.reserved),
            groups: self.groups.clone(),
            bans: self.bans.clone(),
        };
    }

    /// The batch being handled ends: it commits if it acknowledged something or if the lazy changes
    /// reached their bound. Then the drain watches it asked for are answered, each a batch of its own,
    /// for the connections whose client reads.
    pub fn end_batch(&mut self, out: &mut Out) {
        if self.acknowledged || self.lazy_count >= self.commits.lazy_max {
            self.commit();
        }
        self.acknowledged = false;
        self.answer_watches(out);
    }

    /// The batch being handled ends with the server dying before its commit completes: nothing of it is
    /// kept. Returns whether its lines waited for that commit (and so were never sent, nor those of the
    /// batches behind it).
    pub fn end_batch_crashing(&mut self, out: &mut Out) -> bool {
        let waited = std::mem::take(&mut self.acknowledged);
        self.answer_watches(out);
        waited
    }

    /// Every drain watch asked for whose client reads is answered, in the order asked: its connection's
    /// window is free again, and its queue goes on.
    fn answer_watches(&mut self, out: &mut Out) {
        while !self.watches.is_empty() {
            let watches = std::mem::take(&mut self.watches);
            for conn in watches {
                if !self.stalled.contains(&conn) {
                    self.drained(conn, out);
                }
            }
        }
    }

    /// `conn`'s client stopped reading (`true`) or reads again: a watch that waited is answered then.
    pub fn set_stalled(&mut self, conn: ConnId, stalled: bool, out: &mut Out) {
        if stalled {
            self.stalled.insert(conn);
            return;
        }
        self.stalled.remove(&conn);
        if matches!(
            self.conns.get(&conn).map(|c| &c.phase),
            Some(MPhase::Online { watching: true, .. })
        ) {
            self.drained(conn, out);
            self.answer_watches(out);
        }
    }

    /// Everything written to `conn` before its watch has left: its window is free.
    fn drained(&mut self, conn: ConnId, out: &mut Out) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let MPhase::Online {
            user,
            mail,
            watching,
            since_watch,
            ..
        } = &mut c.phase
        else {
            return;
        };
        if !*watching {
            return;
        }
        *watching = false;
        *mail = std::mem::take(since_watch);
        let user = user.clone();
        self.pump(&user, out);
    }

    /// The next message id; the first of a block reserves the block durably.
    fn take_id(&mut self) -> u64 {
        let id = self.next_msg;
        self.next_msg += 1;
        if id >= self.reserved {
            self.reserved = id + natter_core::server::ID_BLOCK;
            self.acknowledged_change();
        }
        id
    }

    fn lazy_due(&self) -> Option<Timestamp> {
        self.lazy_since
            .map(|t| t.plus_millis(self.commits.lazy_delay_ms))
    }

    fn add_user(&mut self, name: Name, password: String) {
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

    fn user_mut(&mut self, name: &str) -> &mut MUser {
        self.users.get_mut(name).expect("known user")
    }

    /// Whether `who` blocks `whom`.
    /// Why a message from `from` cannot be stored for `to`, if it cannot: the mailbox is full, or
    /// `from` already left its share of it (the mailbox's limit times the share, at least one).
    fn mailbox_refusal(&self, to: &Name, from: &Name) -> Option<ErrorReply> {
        let queue = &self.user(to).queue;
        if queue.len() >= self.cfg.mailbox_limit {
            return Some(ErrorReply::MailboxFull { user: to.clone() });
        }
        let share = (self.cfg.mailbox_limit * self.cfg.mailbox_share_percent as usize / 100).max(1);
        let mine = queue.iter().filter(|m| &m.msg.from == from).count();
        (mine >= share).then(|| ErrorReply::MailboxShare {
            user: to.clone(),
            max: share,
        })
    }

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

    // ----- inputs -----

    pub fn connect(&mut self, conn: ConnId, peer: SocketAddr, out: &mut Out) {
        self.conns.insert(
            conn,
            MConn {
                peer,
                opened: self.now,
                phase: MPhase::Username,
            },
        );
        out.send(conn, ServerMsg::Prompt(Prompt::Username));
    }

    pub fn disconnect(&mut self, conn: ConnId, out: &mut Out) {
        self.forget(conn, out);
    }

    pub fn too_long(&mut self, conn: ConnId, out: &mut Out) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        out.send(
            conn,
            ErrorReply::LineTooLong {
                max: self.cfg.max_line,
            },
        );
        self.reprompt(conn, out);
    }

    pub fn line(&mut self, conn: ConnId, bytes: &[u8], out: &mut Out) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let online = matches!(c.phase, MPhase::Online { .. });
        let text = match check_line(bytes) {
            Ok(t) => t,
            Err(e) => {
                out.send(
                    conn,
                    match e {
                        LineError::InvalidUtf8 => ErrorReply::InvalidUtf8,
                        LineError::ControlChar => ErrorReply::ControlChar,
                    },
                );
                self.reprompt(conn, out);
                return;
            }
        };
        let passwd = match &self.conns[&conn].phase {
            MPhase::Online { user, passwd, .. } if *passwd != MPasswd::Idle => {
                Some((user.clone(), *passwd))
            }
            _ => None,
        };
        if let Some((user, step)) = passwd {
            self.passwd_line(conn, &user, step, text.trim(), out);
        } else if online {
            self.command(conn, text, out);
        } else {
            self.login_line(conn, text.trim(), out);
        }
    }

    /// Moves the clock to `to`, running every deadline on the way at its own instant.
    pub fn advance_to(&mut self, to: Timestamp, out: &mut Out) {
        loop {
            let due = self.next_due().filter(|(at, _)| *at <= to);
            let lazy = self.lazy_due().filter(|at| *at <= to);
            match (due, lazy) {
                // Lazy changes falling due commit before the timers of the same instant fire.
                (_, Some(l)) if due.is_none_or(|(at, _)| l <= at) => {
                    self.now = self.now.max(l);
                    self.commit();
                }
                // Every deadline of one instant is one batch, as the core acts on all that are due
                // in one call: a session that ends then storing what it had not acknowledged commits
                // the lazy changes of that instant's other deadlines with it.
                (Some((at, _)), _) => {
                    self.now = self.now.max(at);
                    while let Some((_, what)) = self.next_due().filter(|(at, _)| *at <= self.now) {
                        match what {
                            Due::Conn(conn) => self.expire_conn(conn, out),
                            Due::Offer(id) => self.expire_offer(id, out),
                        }
                    }
                    self.end_batch(out);
                }
                (None, _) => break,
            }
        }
        self.now = self.now.max(to);
    }

    /// The server is stopping: everyone is told and closed, and nobody hears about anybody leaving.
    pub fn shutdown(&mut self, out: &mut Out) {
        self.shutting_down = true;
        let all: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in all {
            self.close(conn, ByeReason::Shutdown, out);
        }
    }

    /// The process stopped (crashed, or after `shutdown`) and started again at `now` from what was
    /// committed. A user whose login was committed without a logout counts as logged out at `now`, and
    /// that is committed before anyone is served.
    pub fn restart(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        let now = self.now;
        let durable = self.durable.clone();
        self.order = durable.order;
        self.next_msg = durable.next_msg;
        self.reserved = 0;
        self.stalled.clear();
        self.watches.clear();
        self.groups = durable.groups;
        self.bans = durable.bans;
        self.users = durable
            .users
            .into_iter()
            .map(|(n, d)| {
                let user = MUser {
                    password: d.password,
                    failures: 0,
                    locked_until: d.locked_until,
                    conn: None,
                    blocks: d.blocks,
                    queue: d
                        .mailbox
                        .into_iter()
                        .map(|msg| MQueued {
                            msg,
                            durable: true,
                            reply_to: None,
                        })
                        .collect(),
                    last_logout: if d.online { Some(now) } else { d.last_logout },
                    keys: d.keys,
                };
                (n, user)
            })
            .collect();
        self.conns.clear();
        self.offers.clear();
        self.privates.clear();
        self.shutting_down = false;
        self.commit();
    }

    // ----- deadlines -----

    /// Every deadline now armed, earliest first, with the same tie order as the harness.
    pub fn deadlines(&self) -> Vec<Timestamp> {
        let mut v: Vec<Timestamp> = self
            .conns
            .values()
            .flat_map(|c| [self.conn_next(c), self.conn_deadline(c)])
            .chain(self.offers.values().map(|o| o.expires))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn conn_deadline(&self, c: &MConn) -> Timestamp {
        match &c.phase {
            MPhase::Online { last_cmd, .. } => last_cmd.plus_secs(self.cfg.timeout_secs),
            _ => c.opened.plus_secs(self.cfg.login_timeout_secs),
        }
    }

    /// Seconds of warning before the idle logout (at most half the timeout; 0: none).
    pub fn idle_warning_secs(&self) -> u64 {
        self.cfg.idle_warning_secs.min(self.cfg.timeout_secs / 2)
    }

    /// When a connection must next be looked at: the idle warning if it is still to come, else its
    /// deadline.
    fn conn_next(&self, c: &MConn) -> Timestamp {
        let deadline = self.conn_deadline(c);
        match &c.phase {
            MPhase::Online { warned: false, .. } if self.idle_warning_secs() > 0 => {
                deadline.minus_millis(self.idle_warning_secs() * 1000)
            }
            _ => deadline,
        }
    }

    fn next_due(&self) -> Option<(Timestamp, Due)> {
        let conns = self
            .conns
            .iter()
            .map(|(&id, c)| ((self.conn_next(c), 0, id.0), Due::Conn(id)));
        let offers = self
            .offers
            .iter()
            .map(|(&id, o)| ((o.expires, 1, id), Due::Offer(id)));
        conns
            .chain(offers)
            .min_by_key(|(key, _)| *key)
            .map(|((at, _, _), due)| (at, due))
    }

    fn expire_conn(&mut self, conn: ConnId, out: &mut Out) {
        let deadline = self.conn_deadline(&self.conns[&conn]);
        if self.now < deadline {
            // The idle warning.
            if let MPhase::Online { warned, .. } =
                &mut self.conns.get_mut(&conn).expect("due conn").phase
            {
                *warned = true;
            }
            let secs_left = (deadline.as_millis() - self.now.as_millis()).div_ceil(1000);
            out.send(conn, ServerMsg::IdleWarning { secs_left });
            return;
        }
        let reason = match &self.conns[&conn].phase {
            MPhase::Online { .. } => ByeReason::Timeout {
                secs: self.cfg.timeout_secs,
            },
            _ => ByeReason::LoginTimeout {
                secs: self.cfg.login_timeout_secs,
            },
        };
        self.close(conn, reason, out);
    }

    fn expire_offer(&mut self, id: u64, out: &mut Out) {
        let o = self.offers.remove(&id).expect("due offer exists");
        self.tell_cancelled(&o.from, &o.to, CancelReason::Timeout, out);
        self.tell_cancelled(&o.to, &o.from, CancelReason::Timeout, out);
    }

    fn tell_cancelled(&self, whom: &Name, peer: &Name, reason: CancelReason, out: &mut Out) {
        if self.shutting_down {
            return;
        }
        if let Some(conn) = self.user(whom).conn {
            out.send(
                conn,
                ServerMsg::PrivateCancelled {
                    peer: peer.clone(),
                    reason,
                },
            );
        }
    }

    // ----- connections and sessions -----

    fn reprompt(&self, conn: ConnId, out: &mut Out) {
        let prompt = match &self.conns[&conn].phase {
            MPhase::Username => Prompt::Username,
            MPhase::Password(_) => Prompt::Password,
            MPhase::NewPassword(user) => Prompt::NewPassword { user: user.clone() },
            MPhase::Online { passwd, .. } => match passwd {
                MPasswd::Current => Prompt::CurrentPassword,
                MPasswd::New => Prompt::ChosenPassword,
                MPasswd::Idle => return,
            },
        };
        out.send(conn, ServerMsg::Prompt(prompt));
    }

    fn close(&mut self, conn: ConnId, reason: ByeReason, out: &mut Out) {
        out.send(conn, ServerMsg::Bye(reason));
        self.forget(conn, out);
        out.closed.push(conn);
    }

    fn forget(&mut self, conn: ConnId, out: &mut Out) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let MPhase::Online { user, .. } = c.phase {
            self.end_session(&user, out);
        }
    }

    fn end_session(&mut self, user: &Name, out: &mut Out) {
        let now = self.now;
        // What the client did not acknowledge is stored for the next login; senders with receipts are
        // told.
        let converted: Vec<MQueued> = self
            .user(user)
            .queue
            .iter()
            .filter(|q| !q.durable)
            .cloned()
            .collect();
        for q in converted {
            self.acknowledged_change();
            self.tell_sender(
                q.reply_to,
                ServerMsg::Stored {
                    id: q.msg.id,
                    to: user.clone(),
                },
                out,
            );
        }
        for q in &mut self.user_mut(user).queue {
            q.durable = true;
            q.reply_to = None;
        }
        let u = self.user_mut(user);
        u.conn = None;
        u.last_logout = Some(now);
        self.lazy_change();
        self.announce(user, false, out);
        let involved: Vec<u64> = self
            .offers
            .iter()
            .filter(|(_, o)| &o.from == user || &o.to == user)
            .map(|(&id, _)| id)
            .collect();
        for id in involved {
            let o = self.offers.remove(&id).expect("listed offer");
            let other = if &o.from == user { o.to } else { o.from };
            self.tell_cancelled(&other, user, CancelReason::Offline, out);
        }
        self.privates.retain(|(a, b)| a != user && b != user);
    }

    /// Tells every other online user who neither blocks nor is blocked by `subject`.
    fn announce(&self, subject: &Name, online: bool, out: &mut Out) {
        if self.shutting_down {
            return;
        }
        for (other, conn) in self.online() {
            if other != subject && !self.blocks(other, subject) && !self.blocks(subject, other) {
                out.send(
                    conn,
                    ServerMsg::Presence {
                        user: subject.clone(),
                        online,
                    },
                );
            }
        }
    }

    fn login_line(&mut self, conn: ConnId, input: &str, out: &mut Out) {
        let phase = self.conns[&conn].phase.clone();
        match phase {
            MPhase::Username => self.username(conn, input, out),
            MPhase::Password(user) => self.password(conn, &user, input, out),
            MPhase::NewPassword(name) => self.new_password(conn, name, input, out),
            MPhase::Online { .. } => unreachable!("login lines come before login"),
        }
    }

    fn set_phase(&mut self, conn: ConnId, phase: MPhase) {
        self.conns.get_mut(&conn).expect("open conn").phase = phase;
    }

    fn username(&mut self, conn: ConnId, input: &str, out: &mut Out) {
        if let Some((name, _)) = self.users.get_key_value(input) {
            let name = name.clone();
            if self.refuse_locked(conn, &name, out) {
                return;
            }
            if self.user(&name).conn.is_some() {
                out.send(conn, ErrorReply::AlreadyOnline);
            } else {
                self.set_phase(conn, MPhase::Password(name));
            }
        } else if let Err(e) = check_username(input) {
            out.send(conn, ErrorReply::InvalidUsername(e));
        } else if self.cfg.register {
            match self.case_twin(input) {
                Some(existing) => out.send(conn, ErrorReply::NameTooSimilar { existing }),
                None => self.set_phase(conn, MPhase::NewPassword(Name::from(input))),
            }
        } else {
            out.send(conn, ErrorReply::UnknownUser);
        }
        self.reprompt(conn, out);
    }

    /// The account, first in creation order, whose name equals `name` but for letter case.
    fn case_twin(&self, name: &str) -> Option<Name> {
        self.order
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .cloned()
    }

    fn refuse_locked(&mut self, conn: ConnId, user: &Name, out: &mut Out) -> bool {
        if let Some(until) = self.ban_of(user) {
            let secs_left = until.map_or(0, |u| self.now.secs_until_ceil(u).max(1));
            out.send(conn, ErrorReply::Banned { secs_left });
            self.close(conn, ByeReason::Banned, out);
            return true;
        }
        if !self.is_locked(user) {
            return false;
        }
        let until = self.user(user).locked_until.expect("locked");
        let secs_left = (until.as_millis() - self.now.as_millis()).div_ceil(1000);
        out.send(conn, ErrorReply::Locked { secs_left });
        self.close(conn, ByeReason::Locked, out);
        true
    }

    /// The ban on `user` that holds now: until when (`None`: for good).
    pub fn ban_of(&self, user: &str) -> Option<Option<Timestamp>> {
        self.bans
            .get(user)
            .copied()
            .filter(|until| until.is_none_or(|u| u > self.now))
    }

    /// The operator's action (see `natter_core::server::admin`), as the core carries it out; whether
    /// it did something (the core answers `Ok`).
    pub fn admin(&mut self, action: &Admin, out: &mut Out) -> bool {
        let online = |m: &Model, user: &str| m.users.get(user).and_then(|u| u.conn);
        match action {
            Admin::Kick { user, reason } => {
                let Some(conn) = online(self, user) else {
                    return false;
                };
                if !reason.is_empty() {
                    out.send(
                        conn,
                        ServerMsg::Notice {
                            text: reason.clone(),
                        },
                    );
                }
                self.close(conn, ByeReason::Kicked, out);
            }
            Admin::Ban {
                target: BanTarget::User(user),
                until,
                reason,
            } => {
                if !self.users.contains_key(user.as_str()) || until.is_some_and(|u| u <= self.now) {
                    return false;
                }
                let now = self.now;
                self.bans.retain(|_, u| u.is_none_or(|u| u > now));
                self.bans.insert(Name::from(user.as_str()), *until);
                self.acknowledged_change();
                if let Some(conn) = online(self, user) {
                    let text = if reason.is_empty() {
                        "you are banned from this server".to_owned()
                    } else {
                        format!("you are banned from this server: {reason}")
                    };
                    out.send(conn, ServerMsg::Notice { text });
                    self.close(conn, ByeReason::Banned, out);
                }
            }
            Admin::Unban {
                target: BanTarget::User(user),
            } => {
                if self.bans.remove(user.as_str()).is_none() {
                    return false;
                }
                self.acknowledged_change();
            }
            Admin::Unlock { user } => {
                let Some(u) = self.users.get_mut(user.as_str()) else {
                    return false;
                };
                u.locked_until = None;
                u.failures = 0;
                self.acknowledged_change();
            }
            Admin::SetPassword { user, password } => {
                let Some(u) = self.users.get_mut(user.as_str()) else {
                    return false;
                };
                u.password = password.clone();
                self.acknowledged_change();
            }
            Admin::Notice { text } => {
                let conns: Vec<ConnId> = self.online().map(|(_, c)| c).collect();
                for conn in conns {
                    out.send(conn, ServerMsg::Notice { text: text.clone() });
                }
            }
            // The simulator makes no others (they have the core's own tests).
            _ => return false,
        }
        true
    }

    fn password(&mut self, conn: ConnId, user: &Name, input: &str, out: &mut Out) {
        if self.refuse_locked(conn, user, out) {
            return;
        }
        if self.user(user).conn.is_some() {
            out.send(conn, ErrorReply::AlreadyOnline);
            self.set_phase(conn, MPhase::Username);
            self.reprompt(conn, out);
            return;
        }
        if self.user(user).password == input {
            self.begin_session(conn, user, out);
            return;
        }
        let block = self.cfg.block_duration_secs;
        let now = self.now;
        let u = self.user_mut(user);
        u.failures += 1;
        if u.failures < MAX_FAILURES {
            let attempts_left = MAX_FAILURES - u.failures;
            out.send(conn, ErrorReply::WrongPassword { attempts_left });
            self.reprompt(conn, out);
            return;
        }
        u.failures = 0;
        u.locked_until = Some(now.plus_secs(block));
        self.acknowledged_change();
        out.send(conn, ErrorReply::LockedNow { secs: block });
        self.close(conn, ByeReason::Locked, out);
    }

    fn new_password(&mut self, conn: ConnId, name: Name, input: &str, out: &mut Out) {
        if let Err(e) = check_password(input) {
            out.send(conn, ErrorReply::InvalidPassword(e));
            self.reprompt(conn, out);
            return;
        }
        if self.weak(&name, input) {
            let min = self.cfg.min_password_length;
            out.send(conn, ErrorReply::WeakPassword { min });
            self.reprompt(conn, out);
            return;
        }
        if self.users.contains_key(&name) {
            out.send(conn, ErrorReply::NameTaken);
            self.set_phase(conn, MPhase::Username);
            self.reprompt(conn, out);
            return;
        }
        if let Some(existing) = self.case_twin(&name) {
            out.send(conn, ErrorReply::NameTooSimilar { existing });
            self.set_phase(conn, MPhase::Username);
            self.reprompt(conn, out);
            return;
        }
        self.add_user(name.clone(), input.to_owned());
        self.acknowledged_change();
        out.send(conn, ServerMsg::Registered { user: name.clone() });
        self.begin_session(conn, &name, out);
    }

    /// The password policy: at least `min_password_length` characters, and not the username.
    fn weak(&self, user: &str, password: &str) -> bool {
        password.chars().count() < self.cfg.min_password_length
            || password.eq_ignore_ascii_case(user)
    }

    fn set_passwd(&mut self, conn: ConnId, step: MPasswd) {
        if let Some(MPhase::Online { passwd, .. }) = self.session_mut(conn) {
            *passwd = step;
        }
    }

    /// A line while `passwd` waits for a password: the current one (compared), then the new one
    /// (held to the policy, then kept, an acknowledged change).
    fn passwd_line(
        &mut self,
        conn: ConnId,
        user: &Name,
        step: MPasswd,
        input: &str,
        out: &mut Out,
    ) {
        match step {
            MPasswd::Current => {
                if self.user(user).password == input {
                    self.set_passwd(conn, MPasswd::New);
                    out.send(conn, ServerMsg::Prompt(Prompt::ChosenPassword));
                } else {
                    self.set_passwd(conn, MPasswd::Idle);
                    out.send(conn, ErrorReply::WrongCurrentPassword);
                }
            }
            MPasswd::New => {
                if let Err(e) = check_password(input) {
                    out.send(conn, ErrorReply::InvalidPassword(e));
                    self.reprompt(conn, out);
                    return;
                }
                if self.weak(user, input) {
                    let min = self.cfg.min_password_length;
                    out.send(conn, ErrorReply::WeakPassword { min });
                    self.reprompt(conn, out);
                    return;
                }
                self.user_mut(user).password = input.to_owned();
                self.acknowledged_change();
                self.set_passwd(conn, MPasswd::Idle);
                out.send(conn, ServerMsg::PasswordChanged { user: user.clone() });
            }
            MPasswd::Idle => {}
        }
    }

    fn begin_session(&mut self, conn: ConnId, user: &Name, out: &mut Out) {
        let now = self.now;
        let u = self.user_mut(user);
        u.failures = 0;
        u.conn = Some(conn);
        let waiting: Vec<MStored> = u.stored().cloned().collect();
        self.lazy_change();
        self.set_phase(
            conn,
            MPhase::Online {
                user: user.clone(),
                last_cmd: now,
                p2p: None,
                sent_through: 0,
                waiting,
                replay: None,
                warned: false,
                receipts: false,
                acks: MAcks::Undecided,
                mail: 0,
                watching: false,
                since_watch: 0,
                passwd: MPasswd::Idle,
            },
        );
        out.send(conn, ServerMsg::Welcome { user: user.clone() });
        if let Some(k) = &self.user(user).keys {
            let count = k.one_time.len();
            out.send(conn, ServerMsg::KeysLeft { count });
        }
        self.pump(user, out);
        self.announce(user, true, out);
    }

    // ----- delivery -----

    /// The online session of `user`, mutably.
    fn session_mut(&mut self, conn: ConnId) -> Option<&mut MPhase> {
        self.conns
            .get_mut(&conn)
            .map(|c| &mut c.phase)
            .filter(|p| matches!(p, MPhase::Online { .. }))
    }

    /// Writes `user`'s queue (and an `offline` replay first) while the window has room; past it, asks
    /// for a drain watch.
    fn pump(&mut self, user: &Name, out: &mut Out) {
        let Some(conn) = self.user(user).conn else {
            return;
        };
        let window = self.cfg.mail_window;
        loop {
            let Some(MPhase::Online {
                sent_through,
                waiting,
                replay,
                acks,
                mail,
                watching,
                ..
            }) = self.conns.get(&conn).map(|c| c.phase.clone())
            else {
                return;
            };
            let pending = replay.is_some()
                || self
                    .user(user)
                    .queue
                    .iter()
                    .any(|q| q.msg.id > sent_through);
            if !pending {
                return;
            }
            if mail >= window {
                if !watching {
                    self.watch(conn);
                }
                return;
            }
            if let Some(i) = replay {
                let next = (i + 1 < waiting.len()).then_some(i + 1);
                let m = &waiting[i];
                let mut cost = 0;
                if !self.blocks(user, &m.from) {
                    cost = mail_cost(m);
                    out.send(
                        conn,
                        ServerMsg::OfflineAgain {
                            id: m.id,
                            sent_at: m.sent_at,
                            from: m.from.clone(),
                            group: m.group.clone(),
                            text: m.text.clone(),
                        },
                    );
                }
                if let Some(MPhase::Online { replay, .. }) = self.session_mut(conn) {
                    *replay = next;
                }
                if cost > 0 {
                    self.add_mail(conn, cost);
                }
                continue;
            }
            let q = self
                .user(user)
                .queue
                .iter()
                .find(|q| q.msg.id > sent_through)
                .cloned()
                .expect("pending");
            out.send(conn, line_of(&q));
            if let Some(MPhase::Online { sent_through, .. }) = self.session_mut(conn) {
                *sent_through = q.msg.id;
            }
            self.add_mail(conn, mail_cost(&q.msg));
            if !q.durable && acks == MAcks::Off {
                self.user_mut(user).queue.retain(|e| e.msg.id != q.msg.id);
                self.tell_sender(
                    q.reply_to,
                    ServerMsg::Delivered {
                        id: q.msg.id,
                        to: user.clone(),
                    },
                    out,
                );
            }
        }
    }

    /// `conn` waits for room: the core asks to hear when it drains (answered at the end of the batch).
    fn watch(&mut self, conn: ConnId) {
        if let Some(MPhase::Online {
            watching,
            since_watch,
            ..
        }) = self.session_mut(conn)
            && !*watching
        {
            *watching = true;
            *since_watch = 0;
            self.watches.push(conn);
        }
    }

    /// `cost` bytes of mail were written to `conn`; from half the window on, the core asks to hear
    /// when it drains.
    fn add_mail(&mut self, conn: ConnId, cost: usize) {
        let half = self.cfg.mail_window / 2;
        let Some(MPhase::Online {
            mail,
            watching,
            since_watch,
            ..
        }) = self.session_mut(conn)
        else {
            return;
        };
        *mail += cost;
        if *watching {
            *since_watch += cost;
        } else if *mail >= half {
            self.watch(conn);
        }
    }

    /// Tells the sender of a live direct message what became of it, if its session is still there and
    /// asked for receipts.
    fn tell_sender(&self, reply_to: Option<ConnId>, msg: ServerMsg, out: &mut Out) {
        if let Some(conn) = reply_to
            && matches!(
                self.conns.get(&conn).map(|c| &c.phase),
                Some(MPhase::Online { receipts: true, .. })
            )
        {
            out.send(conn, msg);
        }
    }

    /// A new live message for `to`, online on `conn`: written now if nothing waits before it and the
    /// window has room, else queued. Returns whether it was written now, and whether it is kept.
    fn take_live(
        &mut self,
        to: &Name,
        conn: ConnId,
        msg: MStored,
        reply_to: Option<ConnId>,
    ) -> (bool, bool) {
        let Some(MPhase::Online {
            sent_through,
            replay,
            acks,
            mail,
            ..
        }) = self.conns.get(&conn).map(|c| c.phase.clone())
        else {
            return (false, false);
        };
        let now = replay.is_none()
            && !self.user(to).queue.iter().any(|q| q.msg.id > sent_through)
            && mail < self.cfg.mail_window;
        let kept = acks != MAcks::Off || !now;
        let (id, cost) = (msg.id, mail_cost(&msg));
        if kept {
            self.user_mut(to).queue.push(MQueued {
                msg,
                durable: false,
                reply_to,
            });
        }
        if now {
            if let Some(MPhase::Online { sent_through, .. }) = self.session_mut(conn) {
                *sent_through = id;
            }
            self.add_mail(conn, cost);
        } else {
            self.watch(conn);
        }
        (now, kept)
    }

    /// Whether online `to`'s queue takes one more message from `from`.
    fn queue_room(&self, to: &Name, from: &Name) -> bool {
        self.mailbox_refusal(to, from).is_none()
    }

    /// The client of `conn` does not acknowledge: its written live messages are delivered.
    fn set_acks(&mut self, conn: ConnId, me: &Name, on: bool, out: &mut Out) {
        let Some(MPhase::Online {
            acks, sent_through, ..
        }) = self.session_mut(conn)
        else {
            return;
        };
        *acks = if on { MAcks::On } else { MAcks::Off };
        if on {
            return;
        }
        let upto = *sent_through;
        let (done, kept): (Vec<MQueued>, Vec<MQueued>) =
            std::mem::take(&mut self.user_mut(me).queue)
                .into_iter()
                .partition(|q| !q.durable && q.msg.id <= upto);
        self.user_mut(me).queue = kept;
        for q in done {
            self.tell_sender(
                q.reply_to,
                ServerMsg::Delivered {
                    id: q.msg.id,
                    to: me.clone(),
                },
                out,
            );
        }
    }

    // ----- commands -----

    fn command(&mut self, conn: ConnId, text: &str, out: &mut Out) {
        let cmd = match parse_command(text) {
            Ok(cmd) => cmd,
            Err(e) => {
                out.send(
                    conn,
                    match e {
                        ParseError::Empty => ErrorReply::EmptyLine,
                        ParseError::Unknown => ErrorReply::UnknownCommand,
                        ParseError::Usage(command) => ErrorReply::Usage { command },
                        ParseError::BadNumber(command) => ErrorReply::BadNumber { command },
                        ParseError::BadKey(why) => ErrorReply::BadKey(why),
                        ParseError::TooManyKeys => ErrorReply::KeysPerLine { max: 20 },
                    },
                );
                return;
            }
        };
        let now = self.now;
        let me = match &mut self.conns.get_mut(&conn).expect("open conn").phase {
            MPhase::Online {
                user,
                last_cmd,
                warned,
                ..
            } => {
                if is_activity(&cmd) {
                    *last_cmd = now;
                    *warned = false;
                }
                user.clone()
            }
            _ => unreachable!("commands come after login"),
        };
        // The first command other than `acks` says the client does not acknowledge.
        if !matches!(cmd, Command::Acks { .. })
            && matches!(
                self.conns[&conn].phase,
                MPhase::Online {
                    acks: MAcks::Undecided,
                    ..
                }
            )
        {
            self.set_acks(conn, &me, false, out);
        }
        match cmd {
            Command::Passwd => {
                self.set_passwd(conn, MPasswd::Current);
                out.send(conn, ServerMsg::Prompt(Prompt::CurrentPassword));
            }
            Command::Message { to, text } => self.message(conn, &me, to, text, out),
            Command::MessageGroup { group, text } => {
                self.message_group(conn, &me, group, text, out)
            }
            Command::CreateGroup { group, members } => {
                self.create_group(conn, &me, group, &members, out)
            }
            Command::GroupAdd { group, user } => self.group_add(conn, &me, group, user, out),
            Command::GroupLeave { group } => {
                let Some(group) = self.my_group(conn, &me, group, out) else {
                    return;
                };
                let members = self.groups.get_mut(&group).expect("my group");
                members.remove(&me);
                if members.is_empty() {
                    self.groups.remove(&group);
                }
                self.acknowledged_change();
                let msg = ServerMsg::GroupLeft {
                    group: group.clone(),
                    user: me.clone(),
                };
                self.tell_members(&group, std::slice::from_ref(&me), &msg, out);
                out.send(conn, msg);
            }
            Command::GroupMembers { group } => {
                let Some(group) = self.my_group(conn, &me, group, out) else {
                    return;
                };
                let members = self.groups[&group].iter().cloned().collect();
                out.send(conn, ServerMsg::GroupMembers { group, members });
            }
            Command::GroupList => {
                let groups = self
                    .groups
                    .iter()
                    .filter(|(_, m)| m.contains(&me))
                    .map(|(g, m)| (g.clone(), m.iter().cloned().collect()))
                    .collect();
                out.send(conn, ServerMsg::GroupList { groups });
            }
            Command::Ping { user } => {
                let Some(user) = self.target(conn, &me, user, CommandName::Ping, out) else {
                    return;
                };
                if self.blocks(&user, &me) {
                    out.send(conn, ErrorReply::BlockedBy { user });
                    return;
                }
                let state = match self.user(&user).conn.map(|c| &self.conns[&c].phase) {
                    Some(MPhase::Online { last_cmd, .. }) => PingState::Online {
                        idle_secs: (self.now.as_millis() - last_cmd.as_millis()) / 1000,
                    },
                    _ => PingState::Offline {
                        stored: self.mailbox_refusal(&user, &me).is_none(),
                    },
                };
                out.send(conn, ServerMsg::Ping { user, state });
            }
            Command::WhoLastHr => {
                let users = self.whoelsesince(&me, 3600);
                out.send(conn, ServerMsg::WhoElseSince { secs: 3600, users });
            }
            Command::Offline => {
                let MPhase::Online { waiting, .. } = &self.conns[&conn].phase else {
                    return;
                };
                let count = waiting
                    .iter()
                    .filter(|m| !self.blocks(&me, &m.from))
                    .count();
                let any = !waiting.is_empty();
                out.send(conn, ServerMsg::OfflineList { count });
                if any {
                    if let Some(MPhase::Online { replay, .. }) = self.session_mut(conn) {
                        *replay = Some(0);
                    }
                    self.pump(&me, out);
                }
            }
            Command::Broadcast { text } => self.broadcast(conn, &me, text, out),
            Command::WhoElse => {
                let users = self.whoelse(&me);
                out.send(conn, ServerMsg::WhoElse { users });
            }
            Command::WhoElseSince { secs } => {
                let users = self.whoelsesince(&me, secs);
                out.send(conn, ServerMsg::WhoElseSince { secs, users });
            }
            Command::Block { user } => {
                let Some(user) = self.target(conn, &me, user, CommandName::Block, out) else {
                    return;
                };
                if self.user_mut(&me).blocks.insert(user.clone()) {
                    // Blocking discards what the blocked user left for me, written or not.
                    self.user_mut(&me).queue.retain(|m| m.msg.from != user);
                    self.acknowledged_change();
                    out.send(conn, ServerMsg::Blocked { user });
                } else {
                    out.send(conn, ErrorReply::AlreadyBlocked { user });
                }
            }
            Command::Unblock { user } => {
                let Some(user) = self.target(conn, &me, user, CommandName::Unblock, out) else {
                    return;
                };
                if self.user_mut(&me).blocks.remove(&user) {
                    self.acknowledged_change();
                    out.send(conn, ServerMsg::Unblocked { user });
                } else {
                    out.send(conn, ErrorReply::NotBlocked { user });
                }
            }
            Command::StartPrivate { user } => self.start_private(conn, &me, user, out),
            Command::Accept { user } => self.accept(conn, &me, user, out),
            Command::Decline { user } => self.decline(conn, &me, user, out),
            Command::StopPrivate { user } => {
                let Some(user) = self.target(conn, &me, user, CommandName::StopPrivate, out) else {
                    return;
                };
                if self.privates.remove(&pair(&me, &user)) {
                    out.send(conn, ServerMsg::PrivateEnded { peer: user });
                } else {
                    out.send(conn, ErrorReply::NoSession { user });
                }
            }
            Command::P2pPort { port } => {
                if let MPhase::Online { p2p, .. } = &mut self.conns.get_mut(&conn).unwrap().phase {
                    *p2p = Some(port);
                }
                out.send(conn, ServerMsg::P2pPort { port });
            }
            Command::Ack { id } => self.ack(conn, &me, id, out),
            Command::Acks { on } => self.set_acks(conn, &me, on, out),
            Command::Receipts { on } => {
                if let MPhase::Online { receipts, .. } =
                    &mut self.conns.get_mut(&conn).expect("open conn").phase
                {
                    *receipts = on;
                }
            }
            Command::Logout => self.close(conn, ByeReason::Logout, out),
            Command::Help => {
                for command in CommandName::listed() {
                    out.send(conn, ServerMsg::Help { command });
                }
            }
            Command::Active => {}
            Command::KeysIdentity {
                curve25519,
                ed25519,
            } => {
                let u = self.user_mut(&me);
                let same = u
                    .keys
                    .as_ref()
                    .is_some_and(|k| k.curve25519 == curve25519 && k.ed25519 == ed25519);
                if !same {
                    u.keys = Some(MKeys {
                        curve25519: curve25519.to_owned(),
                        ed25519: ed25519.to_owned(),
                        one_time: Vec::new(),
                        fallback: None,
                    });
                    self.acknowledged_change();
                }
                self.keys_left(conn, &me, out);
            }
            Command::KeysAdd { keys } => {
                let Some(k) = self.user_mut(&me).keys.as_mut() else {
                    out.send(conn, ErrorReply::NoIdentity);
                    return;
                };
                let mut new: Vec<SignedKey> = Vec::new();
                for key in keys {
                    if !k.one_time.iter().chain(&new).any(|h| h.id == key.id) {
                        new.push(key.owned());
                    }
                }
                let held = k.one_time.len();
                if held + new.len() > MAX_ONE_TIME_KEYS {
                    out.send(
                        conn,
                        ErrorReply::KeysFull {
                            held,
                            max: MAX_ONE_TIME_KEYS,
                        },
                    );
                    return;
                }
                if !new.is_empty() {
                    k.one_time.extend(new);
                    self.acknowledged_change();
                }
                self.keys_left(conn, &me, out);
            }
            Command::KeysFallback { key } => {
                let Some(k) = self.user_mut(&me).keys.as_mut() else {
                    out.send(conn, ErrorReply::NoIdentity);
                    return;
                };
                if k.fallback.as_ref().is_none_or(|f| f.borrowed() != key) {
                    k.fallback = Some(key.owned());
                    self.acknowledged_change();
                }
                self.keys_left(conn, &me, out);
            }
            Command::KeysClaim { user } => {
                let Some(user) = self.target(conn, &me, user, CommandName::KeysClaim, out) else {
                    return;
                };
                if self.blocks(&user, &me) {
                    out.send(conn, ErrorReply::BlockedBy { user });
                    return;
                }
                let Some(k) = self.user_mut(&user).keys.as_mut() else {
                    out.send(conn, ServerMsg::NoKeys { user });
                    return;
                };
                let (key, one_time) = if k.one_time.is_empty() {
                    match &k.fallback {
                        Some(f) => (f.clone(), false),
                        None => {
                            out.send(conn, ServerMsg::NoKeys { user });
                            return;
                        }
                    }
                } else {
                    (k.one_time.remove(0), true)
                };
                let (curve25519, ed25519, left) =
                    (k.curve25519.clone(), k.ed25519.clone(), k.one_time.len());
                if one_time {
                    self.acknowledged_change();
                }
                out.send(
                    conn,
                    ServerMsg::Keys {
                        user: user.clone(),
                        curve25519,
                        ed25519,
                        key: Some(key),
                    },
                );
                if one_time
                    && left < KEYS_LOW
                    && let Some(owner) = self.user(&user).conn
                {
                    out.send(owner, ServerMsg::KeysLeft { count: left });
                }
            }
            Command::KeysShow { user } => {
                let Some((user, u)) = self.users.get_key_value(user) else {
                    out.send(
                        conn,
                        ErrorReply::NoSuchUser {
                            user: user.to_owned(),
                        },
                    );
                    return;
                };
                let msg = match &u.keys {
                    Some(k) => ServerMsg::Keys {
                        user: user.clone(),
                        curve25519: k.curve25519.clone(),
                        ed25519: k.ed25519.clone(),
                        key: None,
                    },
                    None => ServerMsg::NoKeys { user: user.clone() },
                };
                out.send(conn, msg);
            }
        }
    }

    /// `KEYS-LEFT`: how many one-time keys `me` has published.
    fn keys_left(&self, conn: ConnId, me: &Name, out: &mut Out) {
        let count = self.user(me).keys.as_ref().map_or(0, |k| k.one_time.len());
        out.send(conn, ServerMsg::KeysLeft { count });
    }

    // ----- groups -----

    fn create_group(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        members: &[&str],
        out: &mut Out,
    ) {
        if let Err(e) = check_group_name(group) {
            out.send(conn, ErrorReply::InvalidGroupName(e));
            return;
        }
        if let Some((g, _)) = self.groups.get_key_value(group) {
            out.send(conn, ErrorReply::GroupExists { group: g.clone() });
            return;
        }
        let mut added: Vec<Name> = Vec::new();
        for m in members {
            let Some(m) = self.target(conn, me, m, CommandName::CreateGroup, out) else {
                return;
            };
            if self.blocks(&m, me) {
                out.send(conn, ErrorReply::BlockedBy { user: m });
                return;
            }
            if !added.contains(&m) {
                added.push(m);
            }
        }
        let group = Name::from(group);
        let max = self.cfg.group_max_members;
        if added.len() + 1 > max {
            out.send(conn, ErrorReply::GroupFull { group, max });
            return;
        }
        let mut all: BTreeSet<Name> = added.iter().cloned().collect();
        all.insert(me.clone());
        self.groups.insert(group.clone(), all.clone());
        self.acknowledged_change();
        out.send(
            conn,
            ServerMsg::GroupCreated {
                group: group.clone(),
                members: all.into_iter().collect(),
            },
        );
        for m in added {
            if let Some(c) = self.user(&m).conn {
                out.send(
                    c,
                    ServerMsg::GroupJoined {
                        group: group.clone(),
                        user: m.clone(),
                        by: me.clone(),
                    },
                );
            }
        }
    }

    /// The group, if it exists and `me` is in it; otherwise answers why not.
    fn my_group(&self, conn: ConnId, me: &Name, group: &str, out: &mut Out) -> Option<Name> {
        let Some((g, members)) = self.groups.get_key_value(group) else {
            out.send(
                conn,
                ErrorReply::NoSuchGroup {
                    group: group.to_owned(),
                },
            );
            return None;
        };
        if !members.contains(me) {
            out.send(conn, ErrorReply::NotMember { group: g.clone() });
            return None;
        }
        Some(g.clone())
    }

    /// The group's members in account-creation order (the order the core stores their copies in).
    fn members_in_order(&self, group: &str) -> Vec<Name> {
        let members = &self.groups[group];
        self.order
            .iter()
            .filter(|n| members.contains(*n))
            .cloned()
            .collect()
    }

    fn message_group(&mut self, conn: ConnId, me: &Name, group: &str, text: &str, out: &mut Out) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        // One id for every member's copy.
        let id = self.take_id();
        let msg = MStored {
            id,
            from: me.clone(),
            group: Some(group.clone()),
            sent_at: self.now,
            text: text.to_owned(),
        };
        let (mut delivered, mut stored, mut skipped) = (0, 0, false);
        let mut now_to = Vec::new();
        for m in self.members_in_order(&group) {
            if &m == me {
                continue;
            }
            if self.blocks(&m, me) {
                skipped = true;
            } else if let Some(c) = self.user(&m).conn {
                if !self.queue_room(&m, me) {
                    skipped = true;
                    continue;
                }
                delivered += 1;
                if self.take_live(&m, c, msg.clone(), None).0 {
                    now_to.push(c);
                }
            } else if self.mailbox_refusal(&m, me).is_some() {
                skipped = true;
            } else {
                self.user_mut(&m).queue.push(MQueued {
                    msg: msg.clone(),
                    durable: true,
                    reply_to: None,
                });
                self.acknowledged_change();
                stored += 1;
            }
        }
        for c in now_to {
            out.send(
                c,
                line_of(&MQueued {
                    msg: msg.clone(),
                    durable: false,
                    reply_to: None,
                }),
            );
        }
        out.send(
            conn,
            ServerMsg::GroupSent {
                group,
                delivered,
                stored,
                skipped,
            },
        );
    }

    fn group_add(&mut self, conn: ConnId, me: &Name, group: &str, user: &str, out: &mut Out) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let Some((user, _)) = self.users.get_key_value(user) else {
            out.send(
                conn,
                ErrorReply::NoSuchUser {
                    user: user.to_owned(),
                },
            );
            return;
        };
        let user = user.clone();
        if self.groups[&group].contains(&user) {
            out.send(conn, ErrorReply::AlreadyMember { group, user });
            return;
        }
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let max = self.cfg.group_max_members;
        if self.groups[&group].len() >= max {
            out.send(conn, ErrorReply::GroupFull { group, max });
            return;
        }
        self.groups
            .get_mut(&group)
            .expect("my group")
            .insert(user.clone());
        self.acknowledged_change();
        let msg = ServerMsg::GroupJoined {
            group: group.clone(),
            user: user.clone(),
            by: me.clone(),
        };
        self.tell_members(&group, &[me.clone(), user], &msg, out);
    }

    /// `msg` to the group's online members, except those who block any of `subjects` (other than
    /// themselves).
    fn tell_members(&self, group: &str, subjects: &[Name], msg: &ServerMsg, out: &mut Out) {
        let Some(members) = self.groups.get(group) else {
            return;
        };
        for m in members {
            // Who acted (the first subject) always hears of their own act.
            if subjects.first() != Some(m) && subjects.iter().any(|s| s != m && self.blocks(m, s)) {
                continue;
            }
            if let Some(c) = self.user(m).conn {
                out.send(c, msg.clone());
            }
        }
    }

    /// Names another existing user, or answers why not.
    fn target(
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

    fn message(&mut self, conn: ConnId, me: &Name, to: &str, text: &str, out: &mut Out) {
        let Some(to) = self.target(conn, me, to, CommandName::Message, out) else {
            return;
        };
        if self.blocks(&to, me) {
            out.send(conn, ErrorReply::BlockedBy { user: to });
            return;
        }
        if let Some(for_key) = natter_core::protocol::keys::encrypted_for(text)
            && self
                .user(&to)
                .keys
                .as_ref()
                .is_some_and(|k| k.curve25519 != for_key)
        {
            out.send(conn, ErrorReply::StaleKey { user: to });
            return;
        }
        if let Some(target_conn) = self.user(&to).conn {
            if !self.queue_room(&to, me) {
                out.send(conn, ErrorReply::RecipientBusy { user: to });
                return;
            }
            let id = self.take_id();
            let msg = MStored {
                id,
                from: me.clone(),
                group: None,
                sent_at: self.now,
                text: text.to_owned(),
            };
            let (now, kept) = self.take_live(&to, target_conn, msg.clone(), Some(conn));
            if now {
                out.send(
                    target_conn,
                    line_of(&MQueued {
                        msg,
                        durable: false,
                        reply_to: None,
                    }),
                );
            }
            // No reply without receipts (as in IRC); with them, the message's fate so far.
            if matches!(
                self.conns[&conn].phase,
                MPhase::Online { receipts: true, .. }
            ) {
                let reply = if now && !kept {
                    ServerMsg::Delivered { id, to }
                } else {
                    ServerMsg::Sent { id, to }
                };
                out.send(conn, reply);
            }
            return;
        }
        if let Some(e) = self.mailbox_refusal(&to, me) {
            out.send(conn, e);
            return;
        }
        let id = self.take_id();
        let sent_at = self.now;
        self.user_mut(&to).queue.push(MQueued {
            msg: MStored {
                id,
                group: None,
                from: me.clone(),
                sent_at,
                text: text.to_owned(),
            },
            durable: true,
            reply_to: None,
        });
        self.acknowledged_change();
        out.send(conn, ServerMsg::Stored { id, to });
    }

    fn broadcast(&mut self, conn: ConnId, me: &Name, text: &str, out: &mut Out) {
        let mut delivered = 0;
        let mut skipped = false;
        let online: Vec<(Name, ConnId)> = self.online().map(|(n, c)| (n.clone(), c)).collect();
        for (other, other_conn) in online {
            if &other == me {
                continue;
            }
            if self.blocks(&other, me) {
                skipped = true;
            } else {
                delivered += 1;
                out.send(
                    other_conn,
                    ServerMsg::Broadcast {
                        from: me.clone(),
                        text: text.to_owned(),
                    },
                );
            }
        }
        out.send(conn, ServerMsg::BroadcastSent { delivered, skipped });
    }

    /// The answer to `whoelse` for `me`.
    pub fn whoelse(&self, me: &str) -> Vec<Name> {
        let mut v: Vec<Name> = self
            .online()
            .map(|(n, _)| n.clone())
            .filter(|n| &**n != me && !self.blocks(n, me))
            .collect();
        v.sort();
        v
    }

    /// The answer to `whoelsesince secs` for `me`: online now, or last seen at or after the cutoff.
    pub fn whoelsesince(&self, me: &str, secs: u64) -> Vec<Name> {
        let cutoff = self.now.minus_millis(secs.saturating_mul(1000));
        let mut v: Vec<Name> = self
            .users
            .iter()
            .filter(|(n, u)| {
                &***n != me
                    && !self.blocks(n, me)
                    && (u.conn.is_some() || u.last_logout.is_some_and(|t| t >= cutoff))
            })
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }

    fn start_private(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::StartPrivate, out) else {
            return;
        };
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let Some(target_conn) = self.user(&user).conn else {
            out.send(conn, ErrorReply::Offline { user });
            return;
        };
        if self.p2p_port(target_conn).is_none() {
            out.send(conn, ErrorReply::NoP2p { user });
            return;
        }
        if self.privates.contains(&pair(me, &user)) {
            out.send(conn, ErrorReply::PrivateExists { user });
            return;
        }
        if self.offer_between(me, &user).is_some() || self.offer_between(&user, me).is_some() {
            out.send(conn, ErrorReply::PrivatePending { user });
            return;
        }
        let secs = self.cfg.private_answer_secs;
        let id = self.next_offer;
        self.next_offer += 1;
        self.offers.insert(
            id,
            MOffer {
                from: me.clone(),
                to: user.clone(),
                expires: self.now.plus_secs(secs),
            },
        );
        out.send(
            target_conn,
            ServerMsg::PrivateRequest {
                from: me.clone(),
                secs,
            },
        );
        out.send(conn, ServerMsg::PrivatePending { to: user, secs });
    }

    /// The pending request from `from` to `to`, by id.
    pub fn offer_between(&self, from: &str, to: &str) -> Option<u64> {
        self.offers
            .iter()
            .find(|(_, o)| &*o.from == from && &*o.to == to)
            .map(|(&id, _)| id)
    }

    pub fn p2p_port(&self, conn: ConnId) -> Option<u16> {
        match &self.conns.get(&conn)?.phase {
            MPhase::Online { p2p, .. } => *p2p,
            _ => None,
        }
    }

    fn accept(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(requester) = self.target(conn, me, user, CommandName::Accept, out) else {
            return;
        };
        let (Some(requester_conn), Some(id)) = (
            self.user(&requester).conn,
            self.offer_between(&requester, me),
        ) else {
            out.send(conn, ErrorReply::NoRequest { user: requester });
            return;
        };
        if self.blocks(me, &requester) {
            out.send(conn, ErrorReply::YouBlocked { user: requester });
            return;
        }
        let Some(port) = self.p2p_port(conn) else {
            out.send(conn, ErrorReply::NoP2p { user: me.clone() });
            return;
        };
        self.offers.remove(&id);
        self.privates.insert(pair(me, &requester));
        let addr = SocketAddr::new(self.conns[&conn].peer.ip(), port);
        out.send(
            requester_conn,
            ServerMsg::PrivateAccepted {
                peer: me.clone(),
                addr,
                token: ANY_TOKEN,
            },
        );
        out.send(
            conn,
            ServerMsg::PrivateExpect {
                peer: requester,
                token: ANY_TOKEN,
            },
        );
    }

    fn decline(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(requester) = self.target(conn, me, user, CommandName::Decline, out) else {
            return;
        };
        let Some(id) = self.offer_between(&requester, me) else {
            out.send(conn, ErrorReply::NoRequest { user: requester });
            return;
        };
        self.offers.remove(&id);
        if let Some(rc) = self.user(&requester).conn {
            out.send(rc, ServerMsg::PrivateDeclined { peer: me.clone() });
        }
        out.send(conn, ServerMsg::PrivateDeclineSent { peer: requester });
    }

    fn ack(&mut self, conn: ConnId, me: &Name, id: u64, out: &mut Out) {
        let sent = match &self.conns[&conn].phase {
            MPhase::Online { sent_through, .. } => *sent_through,
            _ => 0,
        };
        if sent == 0 || id > sent {
            out.send(conn, ErrorReply::BadAck { id });
            return;
        }
        let (done, kept): (Vec<MQueued>, Vec<MQueued>) =
            std::mem::take(&mut self.user_mut(me).queue)
                .into_iter()
                .partition(|q| q.msg.id <= id);
        self.user_mut(me).queue = kept;
        if done.iter().any(|q| q.durable) {
            self.lazy_change();
        }
        for q in done.into_iter().filter(|q| !q.durable) {
            self.tell_sender(
                q.reply_to,
                ServerMsg::Delivered {
                    id: q.msg.id,
                    to: me.clone(),
                },
                out,
            );
        }
    }
}

/// The line that writes a queue entry: a stored message as at login, a live one as it came.
fn line_of(q: &MQueued) -> ServerMsg {
    let m = q.msg.clone();
    match (q.durable, m.group) {
        (true, group) => ServerMsg::OfflineMessage {
            id: m.id,
            sent_at: m.sent_at,
            from: m.from,
            group,
            text: m.text,
        },
        (false, None) => ServerMsg::Message {
            id: m.id,
            sent_at: m.sent_at,
            from: m.from,
            text: m.text,
        },
        (false, Some(group)) => ServerMsg::GroupMessage {
            id: m.id,
            sent_at: m.sent_at,
            group,
            from: m.from,
            text: m.text,
        },
    }
}

/// A deadline, by what it belongs to.
#[derive(Clone, Copy, Debug)]
enum Due {
    Conn(ConnId),
    Offer(u64),
}
