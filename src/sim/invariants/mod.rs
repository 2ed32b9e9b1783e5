//! The named invariants of natter's rules (lockout, single session, blocking, offline delivery, idle
//! timeout, `whoelse`, presence, private-chat addresses, delivery receipts) and of its persistence, each
//! checked by name on what the server actually sent.
//!
//! The [`super::model::Model`] predicts every line; these checks say *which rule* a difference breaks, and
//! they keep their own small ledgers built from observed traffic (who got `WELCOME`, which ids were
//! `STORED`, who failed a password), so they do not simply trust the model. Where a fact is not visible on
//! the wire (who blocks whom, which private-chat request is pending), they read it from the model.
//!
//! [`Invariants::check`] walks one step's lines in order and hands each to its family, a file each:
//! `sessions` (lockout, one session per user, the idle timeout), `delivery` (offline delivery,
//! what `STORED` and `DELIVERED` promise, acknowledgements, durability across a restart),
//! `blocks` (nothing of a blocked user reaches the blocker), `presence` (presence notices,
//! `whoelse`), `private` (private-chat addresses), `groups` (group delivery) and `owners` (groups'
//! owners, invitations, away). The ledgers and
//! the step's own tallies (`Step`) are here.

mod blocks;
mod delivery;
mod groups;
mod owners;
mod presence;
mod private;
mod sessions;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use super::model::{MOffer, MPhase, Model};
use natter_core::protocol::{Command, Name, ServerMsg, Token, parse_command};
use natter_core::server::{Config, ConnId};
use natter_core::time::Timestamp;

/// The names failures are reported under.
pub mod name {
    pub const LOCKOUT: &str = "1-lockout";
    pub const SINGLE_SESSION: &str = "2-single-session";
    pub const BLACKLIST: &str = "3-blacklist";
    pub const OFFLINE_DELIVERY: &str = "4-offline-delivery";
    pub const TIMEOUT: &str = "5-timeout";
    pub const WHOELSE: &str = "6-whoelse";
    pub const PRESENCE: &str = "7-presence";
    pub const PRIVATE_ADDRESS: &str = "8-private-address";
    /// A crash loses nothing a reply acknowledged (a `STORED` message, a block or unblock, a lockout, a
    /// registration), and no reply that vouches for a record leaves before that record is durable. Only
    /// what no reply promised may be lost: recent login history, and acks (whose messages then come again,
    /// which the client recognises by id).
    pub const DURABILITY: &str = "9-durability";
    /// A group message reaches exactly the members who have not blocked the sender, each once (at once
    /// if online, stored otherwise, then delivered at login in order like any stored message); non-members
    /// never receive one and never post one.
    pub const GROUP_DELIVERY: &str = "10-group-delivery";
    /// No message a sender was told `DELIVERED` or `STORED` is ever lost, and none is shown twice by a
    /// client that de-duplicates by id and send time (as the natter client does): `DELIVERED` only for a
    /// message written to the recipient's connection and acknowledged by their client (or written, to a
    /// client that said it does not acknowledge); `STORED` only for a message kept durably, delivered at
    /// every later login until acknowledged; every message line to a user either shown for the first
    /// time or recognisable as one already shown.
    pub const DELIVERY_PROMISES: &str = "11-delivered-or-stored";
    /// Every live group has an owner who is a member (handed on only to a member); no user holds or is
    /// sent an invitation to a group they are in, nor more invitations than the limit; only a user
    /// online is told to be away.
    pub const GROUP_OWNERSHIP: &str = "12-group-ownership";
    /// Replaying the persisted records rebuilds the live durable state.
    pub const PERSISTENCE: &str = "persistence";
    /// Every line and close equals the model's prediction.
    pub const MODEL: &str = "model-agreement";
    /// The core (or the harness's own checks) panicked.
    pub const PANIC: &str = "no-panic";
    /// The end-of-run phase found work left undone (messages never delivered, users never timed out).
    pub const LIVENESS: &str = "liveness";
    /// Other copies of the core fed the same log (from the start, joining late, or rebuilt after a
    /// crash) make exactly the same effects, event by event: what replicating the core over one shared
    /// log needs.
    pub const REPLICAS: &str = "replicas-agree";
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

pub type Checked = Result<(), Violation>;

fn fail(invariant: &'static str, detail: String) -> Checked {
    Err(Violation { invariant, detail })
}

/// One thing the server did in a step, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Msg(ConnId, ServerMsg),
    Closed(ConnId),
}

/// What the world knew about a step before running it.
#[derive(Clone, Debug, Default)]
pub struct StepFacts {
    /// The connection the step acted on, and what the model knew of it just before.
    pub conn: Option<ConnId>,
    pub phase: Option<MPhase>,
    pub peer: Option<SocketAddr>,
    /// The line sent, if the step sent one.
    pub line: Option<Vec<u8>>,
    /// The line was the awaited account's password (the wire does not say so).
    pub right_password: bool,
    /// The connection vanished (disconnect or overflow drop) at the start of the step.
    pub vanished: bool,
    /// The server shut down in this step (no presence is announced while it does).
    pub shutdown: bool,
    /// The server restarted at the end of this step: every session is gone.
    pub restarted: bool,
    /// The server died while this step's batch was being committed.
    pub crashed_mid_commit: bool,
    /// Connections whose client is not reading during the step (what is written to them is read only
    /// once it reads again, and never if the connection is dropped first).
    pub stalled: BTreeSet<ConnId>,
    /// Pending private-chat requests just before the step.
    pub offers: Vec<MOffer>,
    /// The operator's action of the step, if it was one.
    pub admin: Option<natter_core::server::Admin>,
    /// The account whose password was being asked for is banned (a right password does not let it in).
    pub banned: bool,
}

#[derive(Clone, Debug)]
struct Session {
    user: Name,
    last_cmd: Timestamp,
    /// The stored messages owed at this login, in the order they must come (from the ledger).
    owed: std::collections::VecDeque<u64>,
    /// Whether the client acknowledges (`None`: not said yet).
    acks: Option<bool>,
    /// The newest id an accepted `ack` covered.
    acked_through: u64,
    /// The newest message id written on this connection.
    last_mail: u64,
    /// Every message id written on this connection.
    written: BTreeSet<u64>,
}

impl Session {
    fn new(user: Name, now: Timestamp, owed: std::collections::VecDeque<u64>) -> Self {
        Session {
            user,
            last_cmd: now,
            owed,
            acks: None,
            acked_through: 0,
            last_mail: 0,
            written: BTreeSet::new(),
        }
    }
}

#[derive(Clone, Debug)]
struct StoredFact {
    to: Name,
    from: Name,
    group: Option<Name>,
    text: String,
    sent_at: Timestamp,
}

/// The invariants' own ledgers.
#[derive(Clone, Debug)]
pub struct Invariants {
    cfg: Config,
    fails: BTreeMap<Name, u32>,
    locked_until: BTreeMap<Name, Timestamp>,
    sessions: BTreeMap<ConnId, Session>,
    /// Connections not logged in yet, with when they opened.
    opened: BTreeMap<ConnId, Timestamp>,
    /// Stored messages not yet acknowledged, by recipient and id (a group message has one id for all).
    stored: BTreeMap<(Name, u64), StoredFact>,
    /// Stored messages acknowledged since the last restart: a crash may lose the ack (never the message).
    acked: BTreeMap<(Name, u64), StoredFact>,
    /// A client per user that de-duplicates as the natter client does: the newest message shown (id and
    /// send time), kept across its connections and the server's restarts.
    client_seen: BTreeMap<Name, (u64, Timestamp)>,
    /// Every message each user was shown.
    shown: BTreeSet<(Name, u64)>,
    /// Message lines written to a connection whose client is not reading: shown once it reads.
    unread: BTreeMap<ConnId, Vec<(Name, u64, Timestamp)>>,
    /// Group messages accepted for an online member and not yet written to them: `(conn, id)`.
    group_owed: BTreeSet<(ConnId, u64)>,
    /// The last block or unblock the server confirmed, per `(blocker, blocked)`: true if blocked.
    blocks: BTreeMap<(Name, Name), bool>,
    /// Accounts whose creation the server confirmed.
    registered: BTreeSet<Name>,
    tokens: BTreeSet<u128>,
}

impl Invariants {
    pub fn new(cfg: Config) -> Self {
        Invariants {
            cfg,
            fails: BTreeMap::new(),
            locked_until: BTreeMap::new(),
            sessions: BTreeMap::new(),
            opened: BTreeMap::new(),
            stored: BTreeMap::new(),
            acked: BTreeMap::new(),
            client_seen: BTreeMap::new(),
            shown: BTreeSet::new(),
            unread: BTreeMap::new(),
            group_owed: BTreeSet::new(),
            blocks: BTreeMap::new(),
            registered: BTreeSet::new(),
            tokens: BTreeSet::new(),
        }
    }

    /// Users with a live session, by the observed `WELCOME`s and goodbyes.
    pub fn online_users(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.sessions.values().map(|s| &*s.user).collect();
        v.sort_unstable();
        v
    }

    /// Stored messages never acknowledged, as `(id, recipient, sender)`.
    pub fn unacknowledged(&self) -> impl Iterator<Item = (u64, &str, &str)> {
        self.stored
            .iter()
            .map(|((_, id), f)| (*id, &*f.to, &*f.from))
    }

    /// Checks one step: `seen` is what the server did, `model` the model after the step.
    pub fn check(
        &mut self,
        facts: &StepFacts,
        seen: &[(Timestamp, Seen)],
        end: Timestamp,
        model: &Model,
    ) -> Checked {
        self.operator_unlocked(facts);
        let mut step = Step::new(facts, &self.sessions);
        self.vanished(facts, &mut step, model);
        self.reads_again(facts)?;
        self.acknowledging(facts, &step.cmd, seen)?;
        for (now, item) in seen {
            let now = *now;
            let (conn, msg) = match item {
                Seen::Msg(conn, msg) => (*conn, msg),
                Seen::Closed(conn) => {
                    self.closed(*conn, facts, model);
                    continue;
                }
            };
            let me = self.sessions.get(&conn).map(|s| s.user.clone());
            self.nothing_of_the_blocked(conn, me.as_ref(), msg, model)?;
            match msg {
                ServerMsg::Welcome { user } => {
                    self.on_welcome(conn, user, now, &mut step, model)?
                }
                ServerMsg::IdleWarning { secs_left } => {
                    self.on_idle_warning(conn, *secs_left, now)?
                }
                ServerMsg::Bye(reason) => {
                    self.on_bye(conn, reason, now, facts, &mut step, model)?
                }
                ServerMsg::Presence { user, online } => step.presence_seen(conn, user, *online),
                ServerMsg::OfflineMessage { .. } => self.on_offline_message(conn, msg, facts)?,
                ServerMsg::Message { id, sent_at, .. } => {
                    self.live_written(conn, msg)?;
                    self.written(conn, *id, *sent_at, facts)?;
                }
                ServerMsg::Stored { id, to } => self.on_stored(*id, to, me.as_ref(), &step, now)?,
                ServerMsg::Delivered { id, to } => self.on_delivered(*id, to)?,
                ServerMsg::Blocked { user } => self.on_blocked(conn, me, user),
                ServerMsg::Unblocked { user } => self.on_unblocked(me, user),
                ServerMsg::Registered { user } => {
                    self.registered.insert(user.clone());
                }
                ServerMsg::WhoElse { .. } | ServerMsg::WhoElseSince { .. } => {
                    self.on_whoelse(me, msg, model)?
                }
                ServerMsg::PrivateAccepted { .. } | ServerMsg::PrivateExpect { .. } => {
                    self.on_private(conn, me.as_ref(), msg, facts, &mut step, model)?
                }
                ServerMsg::GroupMessage { .. } => {
                    self.on_group_message(conn, me.as_ref(), msg, facts, &step, model)?
                }
                ServerMsg::GroupSent { .. } => {
                    self.on_group_sent(conn, me.as_ref(), msg, &step, seen, model, now)?
                }
                ServerMsg::Error(e) => self.on_error(conn, e, facts, seen, now)?,
                _ => {}
            }
        }
        step.private_done()?;
        step.presence_done()?;
        self.groups_owned(seen, model)?;
        self.after_step(facts, &step, seen, end)
    }
}

/// What one step's check keeps while it walks the step's lines.
struct Step<'f> {
    /// The command the step's line is, if it is a logged-in user's command.
    cmd: Option<Command<'f>>,
    /// Who is online as the step's effects unfold, for presence.
    online: BTreeMap<ConnId, Name>,
    /// Presence notices owed and seen, as (connection, subject, online) with a count.
    expected_presence: BTreeMap<(ConnId, Name, bool), u32>,
    seen_presence: BTreeMap<(ConnId, Name, bool), u32>,
    /// Someone was welcomed in this step.
    welcomed: bool,
    /// The connection a private chat's address went to, and the token its acceptor is to expect.
    accepted: Option<ConnId>,
    expected_token: Option<(Option<ConnId>, Token)>,
}

impl<'f> Step<'f> {
    fn new(facts: &'f StepFacts, sessions: &BTreeMap<ConnId, Session>) -> Self {
        let line_text = facts
            .line
            .as_deref()
            .and_then(|l| std::str::from_utf8(l).ok());
        let cmd = match (&facts.phase, line_text) {
            (Some(MPhase::Online { .. }), Some(t)) => parse_command(t).ok(),
            _ => None,
        };
        Step {
            cmd,
            online: sessions.iter().map(|(c, s)| (*c, s.user.clone())).collect(),
            expected_presence: BTreeMap::new(),
            seen_presence: BTreeMap::new(),
            welcomed: false,
            accepted: None,
            expected_token: None,
        }
    }
}
