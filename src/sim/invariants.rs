//! The named invariants of natter's rules (lockout, single session, blocking, offline delivery, idle
//! timeout, `whoelse`, presence, private-chat addresses, delivery receipts) and of its persistence, each
//! checked by name on what the server actually sent.
//!
//! The [`super::model::Model`] predicts every line; these checks say *which rule* a difference breaks, and
//! they keep their own small ledgers built from observed traffic (who got `WELCOME`, which ids were
//! `STORED`, who failed a password), so they do not simply trust the model. Where a fact is not visible on
//! the wire (who blocks whom, which private-chat request is pending), they read it from the model.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use super::model::{MOffer, MPhase, MStored, Model};
use natter_core::protocol::{ByeReason, Command, ErrorReply, Name, ServerMsg, parse_command};
use natter_core::server::{Config, ConnId, MAX_FAILURES, ServerState};
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
        // The operator lifting a lockout starts its count of failures again.
        if let Some(natter_core::server::Admin::Unlock { user }) = &facts.admin {
            self.fails.remove(user.as_str());
            self.locked_until.remove(user.as_str());
        }
        let line_text = facts
            .line
            .as_deref()
            .and_then(|l| std::str::from_utf8(l).ok());
        let cmd = match (&facts.phase, line_text) {
            (Some(MPhase::Online { .. }), Some(t)) => parse_command(t).ok(),
            _ => None,
        };
        let mut expected_presence: BTreeMap<(ConnId, Name, bool), u32> = BTreeMap::new();
        let mut seen_presence: BTreeMap<(ConnId, Name, bool), u32> = BTreeMap::new();
        // Who is online as the step's effects unfold, for presence.
        let mut online: BTreeMap<ConnId, Name> = self
            .sessions
            .iter()
            .map(|(c, s)| (*c, s.user.clone()))
            .collect();
        let mut welcomed = false;
        let mut accepted = None;
        let mut expected_token = None;

        if facts.vanished
            && let Some(conn) = facts.conn
        {
            if let Some(s) = self.sessions.remove(&conn) {
                online.remove(&conn);
                self.expect_presence(&online, &s.user, false, model, &mut expected_presence);
                self.session_ended(conn, &s.user, facts, model);
            }
            // What it had not read is lost with it.
            self.unread.remove(&conn);
            self.opened.remove(&conn);
        }
        // A client that reads again reads what waited for it, before anything new.
        let reading: Vec<ConnId> = self
            .unread
            .keys()
            .copied()
            .filter(|c| !facts.stalled.contains(c))
            .collect();
        for c in reading {
            for (user, id, sent_at) in self.unread.remove(&c).unwrap_or_default() {
                self.show(&user, id, sent_at)?;
            }
        }
        // The command's effect on what the session acknowledges comes before its lines: the first
        // command other than `acks` says the client does not acknowledge; an `ack` that is not refused
        // covers what was written up to its id.
        if let (Some(conn), Some(MPhase::Online { .. }), Some(cmd)) =
            (facts.conn, &facts.phase, &cmd)
            && let Some(s) = self.sessions.get_mut(&conn)
        {
            match cmd {
                Command::Acks { on } => s.acks = Some(*on),
                _ if s.acks.is_none() => s.acks = Some(false),
                _ => {}
            }
            let refused = seen.iter().any(|(_, x)| {
                matches!(x, Seen::Msg(c, ServerMsg::Error(ErrorReply::BadAck { .. })) if *c == conn)
            });
            if let Command::Ack { id } = cmd
                && !refused
            {
                if *id > s.last_mail {
                    return fail(
                        name::DELIVERY_PROMISES,
                        format!(
                            "ack {id} accepted on {conn}, which was written only up to {}",
                            s.last_mail
                        ),
                    );
                }
                s.acked_through = s.acked_through.max(*id);
            }
        }

        for (now, item) in seen {
            let now = *now;
            let (conn, msg) = match item {
                Seen::Msg(conn, msg) => (*conn, msg),
                Seen::Closed(conn) => {
                    if let Some(s) = self.sessions.remove(conn) {
                        self.session_ended(*conn, &s.user, facts, model);
                    }
                    self.unread.remove(conn);
                    self.opened.remove(conn);
                    continue;
                }
            };
            let me = self.sessions.get(&conn).map(|s| s.user.clone());
            if let (Some(me), Some(from)) = (&me, sender_of(msg))
                && model.blocks(me, from)
            {
                return fail(
                    name::BLACKLIST,
                    format!("{me} blocks {from}, yet {conn} ({me}) got {msg:?}"),
                );
            }
            match msg {
                ServerMsg::Welcome { user } => {
                    welcomed = true;
                    if let Some((other, _)) = self.sessions.iter().find(|(_, s)| &s.user == user) {
                        return fail(
                            name::SINGLE_SESSION,
                            format!("{user} welcomed on {conn} while still online on {other}"),
                        );
                    }
                    if let Some(until) = self.locked_until.get(user).filter(|u| **u > now) {
                        return fail(
                            name::LOCKOUT,
                            format!("{user} welcomed at {now}, locked until {until}"),
                        );
                    }
                    self.fails.remove(user);
                    self.opened.remove(&conn);
                    self.expect_presence(&online, user, true, model, &mut expected_presence);
                    online.insert(conn, user.clone());
                    // Stored messages come first, in order: exactly the unacknowledged ones (blocking a
                    // sender discarded theirs, so none of those remain).
                    let owed = self
                        .stored
                        .range((user.clone(), 0)..=(user.clone(), u64::MAX))
                        .map(|((_, id), _)| *id)
                        .collect();
                    self.sessions
                        .insert(conn, Session::new(user.clone(), now, owed));
                }
                ServerMsg::IdleWarning { secs_left } => {
                    // Exactly the warning's lead before the deadline, to a live session.
                    let warn = self.cfg.idle_warning_secs.min(self.cfg.timeout_secs / 2);
                    let Some(s) = self.sessions.get(&conn) else {
                        return fail(
                            name::TIMEOUT,
                            format!("{conn} was warned of an idle logout without a session"),
                        );
                    };
                    let due = s.last_cmd.plus_secs(self.cfg.timeout_secs);
                    if warn == 0 || now != due.minus_millis(warn * 1000) || *secs_left != warn {
                        return fail(
                            name::TIMEOUT,
                            format!(
                                "{} warned at {now} of {secs_left} s left; last command at {}, so due at {due}, warned {warn} s ahead",
                                s.user, s.last_cmd
                            ),
                        );
                    }
                }
                ServerMsg::Bye(reason) => {
                    if let Some(s) = self.sessions.remove(&conn) {
                        online.remove(&conn);
                        self.session_ended(conn, &s.user, facts, model);
                        if let ByeReason::Timeout { .. } = reason {
                            let due = s.last_cmd.plus_secs(self.cfg.timeout_secs);
                            if now != due {
                                return fail(
                                    name::TIMEOUT,
                                    format!(
                                        "{} timed out at {now}; last command at {}, so due at {due}",
                                        s.user, s.last_cmd
                                    ),
                                );
                            }
                        }
                        if !facts.shutdown {
                            self.expect_presence(
                                &online,
                                &s.user,
                                false,
                                model,
                                &mut expected_presence,
                            );
                        }
                    } else if let ByeReason::LoginTimeout { .. } = reason
                        && let Some(opened) = self.opened.get(&conn)
                    {
                        let due = opened.plus_secs(self.cfg.login_timeout_secs);
                        if now != due {
                            return fail(
                                name::TIMEOUT,
                                format!(
                                    "{conn} login timeout at {now}, opened {opened}, due {due}"
                                ),
                            );
                        }
                    }
                }
                ServerMsg::Presence { user, online } => {
                    *seen_presence
                        .entry((conn, user.clone(), *online))
                        .or_default() += 1;
                }
                ServerMsg::OfflineMessage {
                    id,
                    sent_at,
                    from,
                    group,
                    text,
                } => {
                    let Some(s) = self.sessions.get_mut(&conn) else {
                        return fail(
                            name::OFFLINE_DELIVERY,
                            format!("{conn} got {msg:?} without a session"),
                        );
                    };
                    let user = s.user.clone();
                    if s.owed.pop_front() != Some(*id) {
                        return fail(
                            name::OFFLINE_DELIVERY,
                            format!(
                                "{user} got stored message {id}, not the next one owed at this login ({:?})",
                                self.sessions[&conn].owed
                            ),
                        );
                    }
                    let want = self.stored.get(&(user.clone(), *id));
                    if want.is_none_or(|f| {
                        (&f.from, &f.group, &f.text, f.sent_at) != (from, group, text, *sent_at)
                    }) {
                        return fail(
                            name::OFFLINE_DELIVERY,
                            format!("{user} got {msg:?}; the ledger holds {want:?}"),
                        );
                    }
                    self.written(conn, *id, *sent_at, facts)?;
                }
                ServerMsg::Message { id, sent_at, .. } => {
                    self.live_written(conn, msg, facts)?;
                    self.written(conn, *id, *sent_at, facts)?;
                }
                ServerMsg::Stored { id, to } => {
                    if self.ended_with(to, *id) {
                        // A live message stored when its recipient's session ended.
                        if !self.stored.contains_key(&(to.clone(), *id)) {
                            return fail(
                                name::DELIVERY_PROMISES,
                                format!("STORED {id} {to} for a message that was not kept"),
                            );
                        }
                    } else {
                        self.on_stored(*id, to, me.as_ref(), &cmd, now)?;
                    }
                }
                ServerMsg::Delivered { id, to } => self.on_delivered(*id, to)?,
                ServerMsg::Blocked { user: blocked } => {
                    // Blocking discards what the blocked user stored for the blocker: it is owed to
                    // nobody any more.
                    let me = me.clone().expect("BLOCKED answers a logged-in user");
                    let dropped: BTreeSet<u64> = self
                        .stored
                        .iter()
                        .filter(|(_, f)| f.to == me && &f.from == blocked)
                        .map(|((_, id), _)| *id)
                        .collect();
                    self.stored
                        .retain(|_, f| !(f.to == me && &f.from == blocked));
                    self.acked
                        .retain(|_, f| !(f.to == me && &f.from == blocked));
                    if let Some(s) = self.sessions.get_mut(&conn) {
                        s.owed.retain(|id| !dropped.contains(id));
                    }
                    self.blocks.insert((me, blocked.clone()), true);
                }
                ServerMsg::Unblocked { user } => {
                    let me = me.clone().expect("UNBLOCKED answers a logged-in user");
                    self.blocks.insert((me, user.clone()), false);
                }
                ServerMsg::Registered { user } => {
                    self.registered.insert(user.clone());
                }
                ServerMsg::WhoElse { users } => {
                    let me = me.expect("whoelse answers a logged-in user");
                    let want = model.whoelse(&me);
                    if users != &want {
                        return fail(
                            name::WHOELSE,
                            format!("whoelse for {me}: got {users:?}, want {want:?}"),
                        );
                    }
                }
                ServerMsg::WhoElseSince { secs, users } => {
                    let me = me.expect("whoelsesince answers a logged-in user");
                    let want = model.whoelsesince(&me, *secs);
                    if users != &want {
                        return fail(
                            name::WHOELSE,
                            format!("whoelsesince {secs} for {me}: got {users:?}, want {want:?}"),
                        );
                    }
                }
                ServerMsg::PrivateAccepted { peer, addr, token } => {
                    self.check_accepted(facts, &cmd, me.as_ref(), peer, *addr, model)?;
                    if !self.tokens.insert(token.0) {
                        return fail(
                            name::PRIVATE_ADDRESS,
                            format!("token {token} handed out twice"),
                        );
                    }
                    accepted = Some(conn);
                    expected_token = Some((facts.conn, *token));
                }
                ServerMsg::PrivateExpect { token, .. }
                    if expected_token != Some((Some(conn), *token)) =>
                {
                    return fail(
                        name::PRIVATE_ADDRESS,
                        format!("{conn} expects token {token}, not the one its requester got"),
                    );
                }
                ServerMsg::GroupMessage {
                    id,
                    sent_at,
                    group,
                    from,
                    text,
                } => {
                    // Either the message the step's command posts (its text is unique), or one
                    // accepted earlier and owed since.
                    let poster = match &facts.phase {
                        Some(MPhase::Online { user, .. }) => Some(user),
                        _ => None,
                    };
                    let posted_now = matches!(cmd, Some(Command::MessageGroup { group: g, text: t })
                            if g == &**group && t == text.as_str() && poster == Some(from));
                    if !self.group_owed.remove(&(conn, *id)) && !posted_now {
                        return fail(
                            name::GROUP_DELIVERY,
                            format!(
                                "{conn} ({me:?}) got {from}'s {text:?} to {group} (id {id}), which it was not owed"
                            ),
                        );
                    }
                    if posted_now {
                        let member = me.as_ref().is_some_and(|me| {
                            model.groups.get(group).is_some_and(|m| m.contains(me))
                        });
                        if !member {
                            return fail(
                                name::GROUP_DELIVERY,
                                format!(
                                    "{conn} ({me:?}) is not in {group} and got {from}'s {text:?}"
                                ),
                            );
                        }
                    }
                    self.live_written(conn, msg, facts)?;
                    self.written(conn, *id, *sent_at, facts)?;
                }
                ServerMsg::GroupSent { .. } => {
                    self.on_group_sent(conn, me.as_ref(), msg, &cmd, seen, model, now)?;
                }
                ServerMsg::Error(e) => self.on_error(conn, e, facts, seen, now)?,
                _ => {}
            }
        }
        if accepted.is_some() != expected_token.is_some() {
            return fail(
                name::PRIVATE_ADDRESS,
                "PRIVATE-ACCEPTED without PRIVATE-EXPECT".into(),
            );
        }
        if expected_presence != seen_presence {
            return fail(
                name::PRESENCE,
                format!(
                    "presence notices (conn, subject, online) x count: want {expected_presence:?}, got {seen_presence:?}"
                ),
            );
        }
        self.after_step(facts, &cmd, seen, welcomed, end)?;
        Ok(())
    }

    /// The server restarted: every session is gone. `model` is the restarted model.
    pub fn restarted(&mut self, model: &Model) {
        self.sessions.clear();
        self.opened.clear();
        self.fails.clear();
        self.unread.clear();
        self.group_owed.clear();
        // An ack is not promised to survive a crash: the messages whose ack was lost are owed again (the
        // model knows which; the wire does not say).
        for ((to, id), f) in std::mem::take(&mut self.acked) {
            if model.user(&to).stored().any(|m| m.id == id) {
                self.stored.insert((to, id), f);
            }
        }
    }

    /// `user`'s session on `conn` ended (not by a crash): every live message their client did not
    /// acknowledge is kept for the next login. Which ones were queued is not all on the wire (those not
    /// yet written, from senders without receipts), so they are read from the model; unless the step
    /// crashed before its commit, which loses them (their senders were told nothing durable).
    fn session_ended(&mut self, conn: ConnId, user: &Name, facts: &StepFacts, model: &Model) {
        self.group_owed.retain(|(c, _)| *c != conn);
        if facts.crashed_mid_commit {
            return;
        }
        for m in model.user(user).stored() {
            let key = (user.clone(), m.id);
            if !self.stored.contains_key(&key) && !self.acked.contains_key(&key) {
                self.stored.insert(
                    key,
                    StoredFact {
                        to: user.clone(),
                        from: m.from.clone(),
                        group: m.group.clone(),
                        text: m.text.clone(),
                        sent_at: m.sent_at,
                    },
                );
            }
        }
    }

    /// Whether message `id` to `to` was just stored by the end of `to`'s session (its live messages
    /// joined the ledger then): `to` is not online any more, and the ledger holds it.
    fn ended_with(&self, to: &Name, id: u64) -> bool {
        !self.sessions.values().any(|s| &s.user == to)
            && self.stored.contains_key(&(to.clone(), id))
    }

    /// A live message line on `conn`: nothing stored may still be owed before it.
    fn live_written(&self, conn: ConnId, msg: &ServerMsg, _facts: &StepFacts) -> Checked {
        let Some(s) = self.sessions.get(&conn) else {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("{conn} got {msg:?} without a session"),
            );
        };
        if !s.owed.is_empty() {
            return fail(
                name::OFFLINE_DELIVERY,
                format!(
                    "{} got {msg:?} before the stored messages owed at login ({:?})",
                    s.user, s.owed
                ),
            );
        }
        Ok(())
    }

    /// Message `id` (sent at `sent_at`) was written on `conn`: in id order, once; then shown by the
    /// user's de-duplicating client when it reads it.
    fn written(&mut self, conn: ConnId, id: u64, sent_at: Timestamp, facts: &StepFacts) -> Checked {
        let Some(s) = self.sessions.get_mut(&conn) else {
            return Ok(());
        };
        if id <= s.last_mail {
            return fail(
                name::DELIVERY_PROMISES,
                format!(
                    "{} got message {id} after {} on one connection: out of order, or twice",
                    s.user, s.last_mail
                ),
            );
        }
        s.last_mail = id;
        s.written.insert(id);
        let user = s.user.clone();
        if facts.stalled.contains(&conn) {
            self.unread
                .entry(conn)
                .or_default()
                .push((user, id, sent_at));
            return Ok(());
        }
        self.show(&user, id, sent_at)
    }

    /// `user`'s client reads message `id`: it shows it unless its id and send time say it was shown
    /// already, which must then be true.
    fn show(&mut self, user: &Name, id: u64, sent_at: Timestamp) -> Checked {
        let covered = self
            .client_seen
            .get(user)
            .is_some_and(|&(i, t)| id <= i && sent_at <= t);
        let before = self.shown.contains(&(user.clone(), id));
        if covered && !before {
            return fail(
                name::DELIVERY_PROMISES,
                format!(
                    "{user}'s client would take message {id} for one it has shown, and never show it: its id and send time are not past {:?}",
                    self.client_seen.get(user)
                ),
            );
        }
        if !covered {
            if before {
                return fail(
                    name::DELIVERY_PROMISES,
                    format!("{user}'s client shows message {id} twice"),
                );
            }
            self.shown.insert((user.clone(), id));
            self.client_seen.insert(user.clone(), (id, sent_at));
        }
        Ok(())
    }

    /// `DELIVERED <id> <to>`: `to`'s client has it: it was written to `to`'s connection and that client
    /// acknowledged it, or said it does not acknowledge.
    fn on_delivered(&self, id: u64, to: &Name) -> Checked {
        let Some(s) = self.sessions.values().find(|s| &s.user == to) else {
            return fail(
                name::DELIVERY_PROMISES,
                format!("DELIVERED {id} {to}, who is not online"),
            );
        };
        if !s.written.contains(&id) {
            return fail(
                name::DELIVERY_PROMISES,
                format!("DELIVERED {id} {to}, never written to {to}'s connection"),
            );
        }
        if s.acks != Some(false) && s.acked_through < id {
            return fail(
                name::DELIVERY_PROMISES,
                format!(
                    "DELIVERED {id} {to} before {to}'s client acknowledged it (acknowledged up to {}, acks {:?})",
                    s.acked_through, s.acks
                ),
            );
        }
        Ok(())
    }

    /// After a restart: everything a reply acknowledged is in the restarted core's state.
    pub fn check_durable(&self, core: &ServerState, now: Timestamp) -> Checked {
        for ((_, id), f) in &self.stored {
            if !core.stored_messages(&f.to).iter().any(|m| m.id == *id) {
                return fail(
                    name::DURABILITY,
                    format!(
                        "message {id} from {} to {} was acknowledged as STORED and is gone after the restart",
                        f.from, f.to
                    ),
                );
            }
        }
        for ((by, user), blocked) in &self.blocks {
            if core.has_blocked(by, user) != *blocked {
                let what = if *blocked { "block" } else { "unblock" };
                return fail(
                    name::DURABILITY,
                    format!(
                        "{by}'s {what} of {user} was confirmed and is undone after the restart"
                    ),
                );
            }
        }
        for (user, until) in &self.locked_until {
            if *until > now && core.locked_until(user, now) != Some(*until) {
                return fail(
                    name::DURABILITY,
                    format!(
                        "{user} was told it is locked until {until}; after the restart: {:?}",
                        core.locked_until(user, now)
                    ),
                );
            }
        }
        if let Some(user) = self.registered.iter().find(|u| !core.has_user(u)) {
            return fail(
                name::DURABILITY,
                format!(
                    "{user}'s account was confirmed as REGISTERED and is gone after the restart"
                ),
            );
        }
        Ok(())
    }

    /// Each online user who neither blocks nor is blocked by `subject` is owed one notice.
    fn expect_presence(
        &self,
        online: &BTreeMap<ConnId, Name>,
        subject: &Name,
        up: bool,
        model: &Model,
        expected: &mut BTreeMap<(ConnId, Name, bool), u32>,
    ) {
        for (conn, other) in online {
            if other != subject && !model.blocks(other, subject) && !model.blocks(subject, other) {
                *expected.entry((*conn, subject.clone(), up)).or_default() += 1;
            }
        }
    }

    fn on_stored(
        &mut self,
        id: u64,
        to: &Name,
        me: Option<&Name>,
        cmd: &Option<Command<'_>>,
        now: Timestamp,
    ) -> Checked {
        let (Some(from), Some(Command::Message { text, .. })) = (me, cmd) else {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("STORED {id} for {to} without a message command"),
            );
        };
        if self.sessions.values().any(|s| &s.user == to) {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("message for {to} stored although {to} is online"),
            );
        }
        if let Some(last) = self.stored.keys().map(|(_, id)| *id).max()
            && id <= last
        {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("stored id {id} is not after {last}: send order would be lost"),
            );
        }
        self.stored.insert(
            (to.clone(), id),
            StoredFact {
                to: to.clone(),
                from: from.clone(),
                group: None,
                text: (*text).to_owned(),
                sent_at: now,
            },
        );
        Ok(())
    }

    /// The reply to `message group`: the sender is a member; the message went, once each, to exactly the
    /// online members who have not blocked the sender, and was stored for exactly the offline ones with
    /// room (whose stored copies join the ledger, to be delivered at their login like any stored
    /// message).
    #[allow(clippy::too_many_arguments)]
    fn on_group_sent(
        &mut self,
        conn: ConnId,
        me: Option<&Name>,
        msg: &ServerMsg,
        cmd: &Option<Command<'_>>,
        seen: &[(Timestamp, Seen)],
        model: &Model,
        now: Timestamp,
    ) -> Checked {
        let ServerMsg::GroupSent {
            group,
            delivered,
            stored,
            skipped,
        } = msg
        else {
            return Ok(());
        };
        let (Some(me), Some(Command::MessageGroup { text, .. })) = (me, cmd) else {
            return fail(
                name::GROUP_DELIVERY,
                format!("{conn} got {msg:?} without sending to the group"),
            );
        };
        let Some(members) = model.groups.get(group).filter(|m| m.contains(me)) else {
            return fail(
                name::GROUP_DELIVERY,
                format!("{me} is not in {group}, yet posted to it: {msg:?}"),
            );
        };
        let mut got: BTreeMap<ConnId, u32> = BTreeMap::new();
        for (_, s) in seen {
            if let Seen::Msg(
                c,
                ServerMsg::GroupMessage {
                    group: g,
                    from,
                    text: t,
                    ..
                },
            ) = s
                && g == group
                && from == me
                && t == text
            {
                *got.entry(*c).or_default() += 1;
            }
        }
        let mut want: BTreeSet<ConnId> = BTreeSet::new();
        let mut want_stored = 0;
        let mut want_skipped = false;
        let is_it = |s: &MStored| {
            s.group.as_ref() == Some(group) && &s.from == me && s.text == *text && s.sent_at == now
        };
        for m in members.iter().filter(|m| *m != me) {
            if model.blocks(m, me) {
                want_skipped = true;
            } else if let Some(c) = model.user(m).conn {
                // Taken: written now, or queued behind what waits for that connection to drain.
                let queued = model
                    .user(m)
                    .queue
                    .iter()
                    .find(|q| !q.durable && is_it(&q.msg));
                if got.contains_key(&c) {
                    want.insert(c);
                } else if let Some(q) = queued {
                    want.insert(c);
                    self.group_owed.insert((c, q.msg.id));
                } else {
                    // No room in their queue.
                    want_skipped = true;
                }
            } else if let Some(copy) = model
                .user(m)
                .stored()
                .find(|s| is_it(s) && !self.stored.contains_key(&(m.clone(), s.id)))
            {
                want_stored += 1;
                self.stored.insert(
                    (m.clone(), copy.id),
                    StoredFact {
                        to: m.clone(),
                        from: me.clone(),
                        group: Some(group.clone()),
                        text: (*text).to_owned(),
                        sent_at: now,
                    },
                );
            } else {
                // No room in their mailbox.
                want_skipped = true;
            }
        }
        if got.values().any(|n| *n != 1)
            || !got.keys().all(|c| want.contains(c))
            || *delivered != want.len()
            || *stored != want_stored
            || *skipped != want_skipped
        {
            return fail(
                name::GROUP_DELIVERY,
                format!(
                    "{me} to {group}: written to {got:?}, want at most once each to {want:?}; reply {msg:?}, want {} now, {want_stored} stored, skipped {want_skipped}",
                    want.len()
                ),
            );
        }
        Ok(())
    }

    /// The address of a private chat goes only to the requester, only when the target accepts.
    fn check_accepted(
        &self,
        facts: &StepFacts,
        cmd: &Option<Command<'_>>,
        requester: Option<&Name>,
        peer: &Name,
        addr: SocketAddr,
        model: &Model,
    ) -> Checked {
        let acceptor = match &facts.phase {
            Some(MPhase::Online { user, .. }) => Some(user),
            _ => None,
        };
        let accepted_whom = match cmd {
            Some(Command::Accept { user }) => Some(*user),
            _ => None,
        };
        let Some(requester) = requester else {
            return fail(
                name::PRIVATE_ADDRESS,
                format!("{peer}'s address sent to a connection not logged in"),
            );
        };
        if acceptor != Some(peer) || accepted_whom != Some(&**requester) {
            return fail(
                name::PRIVATE_ADDRESS,
                format!(
                    "{peer}'s address sent to {requester} without {peer} accepting {requester}"
                ),
            );
        }
        if !facts
            .offers
            .iter()
            .any(|o| &o.from == requester && &o.to == peer)
        {
            return fail(
                name::PRIVATE_ADDRESS,
                format!("{peer}'s address sent to {requester}, who had no pending request"),
            );
        }
        if model.blocks(peer, requester) {
            return fail(
                name::BLACKLIST,
                format!("{peer} blocks {requester}, yet {requester} got {peer}'s address"),
            );
        }
        let port = match &facts.phase {
            Some(MPhase::Online { p2p, .. }) => *p2p,
            _ => None,
        };
        let want = facts
            .peer
            .zip(port)
            .map(|(p, port)| SocketAddr::new(p.ip(), port));
        if want != Some(addr) {
            return fail(
                name::PRIVATE_ADDRESS,
                format!("{requester} got {addr} for {peer}, whose address is {want:?}"),
            );
        }
        Ok(())
    }

    fn on_error(
        &mut self,
        conn: ConnId,
        e: &ErrorReply,
        facts: &StepFacts,
        seen: &[(Timestamp, Seen)],
        now: Timestamp,
    ) -> Checked {
        let user = match (&facts.phase, facts.line.as_deref()) {
            (Some(MPhase::Password(u)), _) => Some(u.clone()),
            (Some(MPhase::Username), Some(line)) => {
                std::str::from_utf8(line).ok().map(|l| Name::from(l.trim()))
            }
            _ => None,
        };
        let closed = seen.iter().any(|(_, s)| *s == Seen::Closed(conn));
        match e {
            ErrorReply::WrongPassword { attempts_left } => {
                let user = user.expect("a password was being asked for");
                let fails = self.fails.entry(user.clone()).or_default();
                *fails += 1;
                if *fails >= MAX_FAILURES || *attempts_left != MAX_FAILURES - *fails {
                    return fail(
                        name::LOCKOUT,
                        format!(
                            "{user}: {} failures in a row, but told {attempts_left} attempts left",
                            *fails
                        ),
                    );
                }
            }
            ErrorReply::LockedNow { .. } => {
                let user = user.expect("a password was being asked for");
                let fails = self.fails.remove(&user).unwrap_or(0) + 1;
                if fails != MAX_FAILURES || !closed {
                    return fail(
                        name::LOCKOUT,
                        format!("{user} locked after {fails} failures (closed: {closed})"),
                    );
                }
                self.locked_until
                    .insert(user, now.plus_secs(self.cfg.block_duration_secs));
            }
            ErrorReply::Locked { secs_left } => {
                let user = user.expect("a login was under way");
                let until = self.locked_until.get(&user).copied();
                let want = until.map(|u| now.secs_until_ceil(u));
                if until.is_none_or(|u| u <= now) || want != Some(*secs_left) || !closed {
                    return fail(
                        name::LOCKOUT,
                        format!(
                            "{user} refused as locked ({secs_left}s left, closed: {closed}) but locked until {until:?} at {now}"
                        ),
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn after_step(
        &mut self,
        facts: &StepFacts,
        cmd: &Option<Command<'_>>,
        seen: &[(Timestamp, Seen)],
        welcomed: bool,
        now: Timestamp,
    ) -> Checked {
        // A right password for an account that is neither locked nor online must log in.
        if let (true, Some(MPhase::Password(user)), Some(conn)) =
            (facts.right_password, &facts.phase, facts.conn)
        {
            let locked = self.locked_until.get(user).is_some_and(|u| *u > now);
            let elsewhere = self.sessions.values().any(|s| &s.user == user);
            if !locked && !welcomed && !elsewhere && !facts.banned {
                return fail(
                    name::LOCKOUT,
                    format!(
                        "{user} typed the right password on {conn}, is not locked, and was not let in"
                    ),
                );
            }
        }
        if let (Some(conn), Some(MPhase::Online { user, .. }), Some(cmd)) =
            (facts.conn, &facts.phase, cmd)
        {
            if !matches!(
                cmd,
                Command::Ack { .. }
                    | Command::P2pPort { .. }
                    | Command::Receipts { .. }
                    | Command::Acks { .. }
                    | Command::KeysIdentity { .. }
                    | Command::KeysAdd { .. }
                    | Command::KeysFallback { .. }
            ) && let Some(s) = self.sessions.get_mut(&conn)
            {
                s.last_cmd = now;
            }
            if let Command::Ack { id } = cmd {
                let refused = seen.iter().any(|(_, s)| {
                    matches!(s, Seen::Msg(c, ServerMsg::Error(ErrorReply::BadAck { .. })) if *c == conn)
                });
                if !refused {
                    let (done, owed): (BTreeMap<_, _>, BTreeMap<_, _>) =
                        std::mem::take(&mut self.stored)
                            .into_iter()
                            .partition(|((to, k), _)| to == user && *k <= *id);
                    self.stored = owed;
                    self.acked.extend(done);
                }
            }
        }
        if let Some(conn) = facts.conn
            && facts.phase.is_none()
            && seen
                .iter()
                .any(|(_, s)| matches!(s, Seen::Msg(c, ServerMsg::Prompt(_)) if *c == conn))
        {
            self.opened.entry(conn).or_insert(now);
        }
        for (conn, s) in &self.sessions {
            let due = s.last_cmd.plus_secs(self.cfg.timeout_secs);
            if now >= due {
                return fail(
                    name::TIMEOUT,
                    format!(
                        "{} on {conn} idle since {} is still on at {now}",
                        s.user, s.last_cmd
                    ),
                );
            }
        }
        Ok(())
    }
}

/// The user a line comes from, for the lines that carry something of one user to another.
fn sender_of(msg: &ServerMsg) -> Option<&Name> {
    match msg {
        ServerMsg::Message { from, .. }
        | ServerMsg::GroupMessage { from, .. }
        | ServerMsg::Broadcast { from, .. }
        | ServerMsg::OfflineMessage { from, .. }
        | ServerMsg::OfflineAgain { from, .. }
        | ServerMsg::PrivateRequest { from, .. } => Some(from),
        ServerMsg::Presence { user, .. } => Some(user),
        _ => None,
    }
}
