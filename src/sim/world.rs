//! The real core and the model, side by side, driven by the same steps and compared after each one.
//!
//! [`World`] pairs the [`Clients`] (the simulated clients and the [`super::model::Model`]) with a
//! [`Harness`] (the core on a virtual clock) and the [`Invariants`] ledgers. Every step the clients take is
//! applied to the core too, and then checked, in order: the named invariants, agreement with the model line
//! by line, and (every `restore_check_every` steps) that replaying the persisted records rebuilds the
//! durable state.

use std::collections::{BTreeMap, BTreeSet};

use super::clients::{Clients, Planned, Setup};
use super::invariants::{Invariants, Seen, Violation, name};
use super::model::{ANY_TOKEN, Model, Out};
use super::step::{Cmd, Op, Password, Step, UserRef};
use natter_core::protocol::ServerMsg;
use natter_core::server::harness::{Harness, START};
use natter_core::server::{Account, ConnId, DurableView, Effect, Event, Record, ServerState};
use natter_core::time::Timestamp;

/// A failed check: which invariant, at which step, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub step: usize,
    pub violation: Violation,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invariant {} broken at step {}: {}",
            self.violation.invariant, self.step, self.violation.detail
        )
    }
}

/// The core's side of a run.
struct Core {
    h: Harness,
    inv: Invariants,
    /// Records of earlier runs of the server process (before restarts).
    records: Vec<Record>,
    restarts: u8,
    trace: Vec<Step>,
    /// Lines the core sent so far (for determinism checks and throughput figures).
    lines: u64,
    /// What the core of this process started from (the records it restored, at what time), so that
    /// replicas can start from the same state.
    epoch: (Vec<Record>, Timestamp),
    /// Events compared by the replica checks so far.
    replicated: u64,
    /// How many lines of each interesting kind were sent: evidence that a run reached the rules it checks.
    coverage: BTreeMap<&'static str, u64>,
}

/// The core, the model and the clients.
pub struct World {
    clients: Clients,
    core: Core,
}

impl World {
    pub fn new(setup: Setup) -> Self {
        let h = harness(&setup, fresh_state(&setup, 0), START);
        let inv = Invariants::new(setup.config.clone());
        World {
            clients: Clients::new(setup),
            core: Core {
                h,
                inv,
                records: Vec::new(),
                restarts: 0,
                trace: Vec::new(),
                lines: 0,
                epoch: (Vec::new(), START),
                replicated: 0,
                coverage: BTreeMap::new(),
            },
        }
    }

    /// A world that applies exactly the steps it is given (overflow drops included) and adds none.
    pub fn replaying(setup: Setup) -> Self {
        let mut w = Self::new(setup);
        w.clients.auto_overflow = false;
        w
    }

    /// Every step applied so far, in order: the run's trace.
    pub fn trace(&self) -> &[Step] {
        &self.core.trace
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    pub fn model(&self) -> &Model {
        &self.clients.model
    }

    /// How many lines the core has sent (each recipient of a shared line counted).
    pub fn lines_sent(&self) -> u64 {
        self.core.lines
    }

    /// How many lines of each interesting kind the core sent.
    pub fn coverage(&self) -> &BTreeMap<&'static str, u64> {
        &self.core.coverage
    }

    /// Every record persisted so far, across restarts.
    pub fn all_records(&self) -> Vec<Record> {
        self.core.all_records()
    }

    /// Resolves one intention into steps and applies each to the model and the core, checking after each.
    pub fn apply_op(&mut self, op: Op) -> Result<(), Failure> {
        let core = &mut self.core;
        let setup = self.clients.setup.clone();
        self.clients
            .apply_op(op, &mut |p: &Planned, m: &Model| core.apply(&setup, p, m))
    }

    /// Applies one concrete step (for replaying traces).
    pub fn step(&mut self, step: Step) -> Result<(), Failure> {
        let core = &mut self.core;
        let setup = self.clients.setup.clone();
        self.clients
            .step(step, &mut |p: &Planned, m: &Model| core.apply(&setup, p, m))
    }

    /// Checks that replaying the records rebuilds the live durable state, now.
    pub fn check_restore(&self) -> Result<(), Failure> {
        self.core
            .check_restore(&self.clients.setup, &self.clients.model)
            .map_err(|violation| Failure {
                step: self.core.trace.len(),
                violation,
            })
    }

    /// The end of a run (TigerBeetle's liveness phase): every client reads again, the clock passes every
    /// deadline, then each account logs in, acknowledges what it gets and logs out. Afterwards every stored
    /// message from a sender its recipient does not block must have been delivered and acknowledged.
    pub fn liveness(&mut self) -> Result<(), Failure> {
        for s in 0..self.clients.slot_count() {
            if self.clients.slots[usize::from(s)].slow {
                self.step(Step::Read { slot: s })?;
            }
        }
        let c = &self.clients.setup.config;
        let longest = [
            c.timeout_secs,
            c.login_timeout_secs,
            c.private_answer_secs,
            c.block_duration_secs,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        self.step(Step::Advance {
            ms: (longest + 1) * 1000,
        })?;
        let step = self.core.trace.len();
        if let Some(c) = self.model().conns.keys().next() {
            return Err(Failure {
                step,
                violation: Violation {
                    invariant: name::LIVENESS,
                    detail: format!("{c} still open after every deadline passed"),
                },
            });
        }
        // The bans lifted, so that every account can come for its mail.
        let banned: Vec<String> = self.model().bans.keys().map(|n| n.to_string()).collect();
        for user in banned {
            self.step(Step::Admin {
                action: natter_core::server::Admin::Unban {
                    target: natter_core::server::BanTarget::User(user),
                },
            })?;
        }
        let users = self.model().order.len();
        for i in 0..users {
            let user = UserRef::Known(i as u16);
            self.apply_op(Op::Login(0, user, Password::Right))?;
            self.apply_op(Op::Command(0, Cmd::AckReceived))?;
            self.apply_op(Op::Command(0, Cmd::Logout))?;
        }
        let step = self.core.trace.len();
        for (id, to, from) in self.core.inv.unacknowledged() {
            if !self.model().blocks(to, from) {
                return Err(Failure {
                    step,
                    violation: Violation {
                        invariant: name::LIVENESS,
                        detail: format!(
                            "stored message {id} from {from} for {to} never delivered and acknowledged"
                        ),
                    },
                });
            }
        }
        self.check_restore()?;
        let step = self.core.trace.len();
        self.core
            .check_replicas(&self.clients.setup)
            .map_err(|violation| Failure { step, violation })
    }
}

fn diff_views(a: &DurableView, b: &DurableView) -> String {
    let mut s = String::new();
    if a.next_message_id != b.next_message_id {
        s.push_str(&format!(
            "  next message id {} vs {}\n",
            a.next_message_id, b.next_message_id
        ));
    }
    for (x, y) in a.users.iter().zip(&b.users) {
        if x != y {
            s.push_str(&format!("  {x:?}\n  vs\n  {y:?}\n"));
        }
    }
    if a.users.len() != b.users.len() {
        s.push_str(&format!(
            "  {} vs {} accounts\n",
            a.users.len(),
            b.users.len()
        ));
    }
    s
}

/// The core on a virtual clock, with commits that complete when the world says (at the end of each step,
/// unless the server dies first), released by the setup's rule.
fn harness(setup: &Setup, state: ServerState, now: Timestamp) -> Harness {
    let mut h = Harness::with_state(state, now)
        .keep_trace()
        .manual_commits(setup.commits.clone());
    if setup.replica_check {
        h = h.keep_log();
    }
    if setup.gate_passwords {
        h = h.gate_passwords();
    }
    h
}

fn fresh_state(setup: &Setup, restarts: u8) -> ServerState {
    let accounts = setup
        .accounts
        .iter()
        .map(|(u, p)| Account {
            username: u.clone(),
            password: p.clone(),
        })
        .collect();
    ServerState::new(setup.config.clone(), accounts, [restarts; 32])
}

impl Core {
    /// Applies one step the model has already taken, then checks.
    fn apply(&mut self, setup: &Setup, p: &Planned, model: &Model) -> Result<(), Failure> {
        let index = self.trace.len();
        let records_before = self.h.records().len();
        self.trace.push(p.step.clone());
        let conn = p.facts.conn;
        match &p.step {
            Step::Connect { .. } => {
                if let Some((conn, peer)) = p.connected {
                    self.h.event(Event::Connected { conn, peer });
                }
            }
            Step::Send { line, .. } => {
                if let Some(conn) = conn {
                    self.h.send_bytes(conn, line);
                }
            }
            Step::TooLong { .. } => {
                if let Some(conn) = conn {
                    self.h.too_long(conn);
                }
            }
            Step::Disconnect { .. } | Step::Overflow { .. } => {
                if let Some(conn) = conn {
                    self.h.disconnect(conn);
                }
            }
            Step::StopReading { .. } => {
                if let Some(conn) = conn {
                    self.h.stall_reader(conn);
                }
            }
            Step::Read { .. } => {
                if let Some(conn) = conn {
                    self.h.resume_reader(conn);
                }
            }
            Step::Advance { ms } => self.h.advance(*ms),
            Step::Restart { graceful } => {
                if *graceful {
                    // A clean stop commits everything before it exits.
                    self.h.shutdown();
                    self.h.flush_lazy();
                }
            }
            Step::SendThenCrash { line, .. } => {
                if let Some(conn) = conn {
                    self.h.send_bytes(conn, line);
                }
            }
            Step::Admin { action } => {
                let _ = self.h.admin(action.clone());
            }
        }
        let batch_records = self.h.records()[records_before..].to_vec();
        let acknowledged = batch_records.iter().any(Record::acknowledged);
        // Live messages stored because their recipient's session ended before acknowledging them.
        let by_message = matches!(&p.step, Step::Send { line, .. } | Step::SendThenCrash { line, .. }
            if line.starts_with(b"message "));
        if !by_message {
            let converted = batch_records
                .iter()
                .filter(|r| matches!(r, Record::MessageStored { .. }))
                .count();
            if converted > 0 {
                *self.coverage.entry("stored-at-session-end").or_default() += converted as u64;
            }
        }
        let crashed = matches!(
            p.step,
            Step::SendThenCrash { .. } | Step::Restart { graceful: false }
        );
        if !crashed {
            // Commits take no virtual time: they complete at the end of the step that made them.
            self.h.complete_commits();
        }
        let seen = self.take_seen();
        let now = self.h.now();
        let step_model = p.before_crash.as_deref().unwrap_or(model);
        let mut check = self
            .inv
            .check(&p.facts, &seen, now, step_model)
            .and_then(|()| agree(&seen, &p.out));
        if matches!(p.step, Step::SendThenCrash { .. }) && acknowledged && !seen.is_empty() {
            check = check.and(Err(Violation {
                invariant: name::DURABILITY,
                detail: format!(
                    "the batch made {batch_records:?}, a reply vouches for one, and the server died before committing it, yet {} line(s) left: {seen:?}",
                    seen.len()
                ),
            }));
        }
        if crashed {
            let lost = self.h.records().len() - self.h.durable_records().len();
            if lost > 0 {
                *self.coverage.entry("crash-lost-records").or_default() += 1;
            }
            if acknowledged && matches!(p.step, Step::SendThenCrash { .. }) {
                *self.coverage.entry("crash-withheld-replies").or_default() += 1;
            }
        }
        if p.facts.restarted {
            self.inv.restarted(model);
            let replicas = self.restart(setup);
            check = check
                .and(replicas)
                .and_then(|()| self.inv.check_durable(self.h.state(), now))
                .and_then(|()| self.check_durable_model(model));
        }
        check = check.and_then(|()| self.check_sessions());
        let every = setup.restore_check_every;
        if check.is_ok() && every > 0 && (index as u64 + 1).is_multiple_of(every) {
            check = self.check_restore(setup, model);
        }
        check.map_err(|violation| Failure {
            step: index,
            violation,
        })
    }

    /// What the core did in the last step, in order, one entry per recipient.
    fn take_seen(&mut self) -> Vec<(Timestamp, Seen)> {
        let mut seen = Vec::new();
        let times = std::mem::take(&mut self.h.trace_times);
        for (e, at) in std::mem::take(&mut self.h.trace).into_iter().zip(times) {
            match e {
                Effect::Send { to, msg } => seen.push((at, Seen::Msg(to, msg))),
                Effect::SendMany { to, msg } => {
                    seen.extend(to.into_iter().map(|c| (at, Seen::Msg(c, msg.clone()))));
                }
                Effect::Close { conn } => seen.push((at, Seen::Closed(conn))),
                // A connection's window was full with mail still queued.
                Effect::WatchDrain { .. } => {
                    *self.coverage.entry("mail-waits-for-a-drain").or_default() += 1;
                }
                _ => {}
            }
        }
        self.h.clear_all();
        let secret = std::mem::take(&mut self.h.secret_lines);
        if secret > 0 {
            *self.coverage.entry("passwords-without-text").or_default() += secret;
        }
        for (_, s) in &seen {
            if let Seen::Msg(_, m) = s {
                self.lines += 1;
                if let Some(kind) = kind(m) {
                    *self.coverage.entry(kind).or_default() += 1;
                }
            }
        }
        seen
    }

    /// At most one live session per user, in the core's own view too.
    fn check_sessions(&self) -> Result<(), Violation> {
        let core = self.h.state().online_users();
        let observed = self.inv.online_users();
        if core != observed {
            return Err(Violation {
                invariant: name::SINGLE_SESSION,
                detail: format!(
                    "core says online {core:?}; the welcomes and goodbyes say {observed:?}"
                ),
            });
        }
        for user in core {
            let conn = self.h.state().session_of(user);
            if conn.is_none_or(|c| self.h.state().user_on(c) != Some(user)) {
                return Err(Violation {
                    invariant: name::SINGLE_SESSION,
                    detail: format!("{user}'s session {conn:?} does not point back to {user}"),
                });
            }
        }
        Ok(())
    }

    fn all_records(&self) -> Vec<Record> {
        let mut v = self.records.clone();
        v.extend_from_slice(self.h.records());
        v
    }

    /// The process stops and starts again from its committed records, at the same instant. Clients are
    /// gone without a `Disconnected` (the sockets died with the process); records whose commit had not
    /// completed are lost.
    fn restart(&mut self, setup: &Setup) -> Result<(), Violation> {
        let replicas = self.check_replicas(setup);
        let now = self.h.now();
        self.records.extend_from_slice(self.h.durable_records());
        self.restarts = self.restarts.wrapping_add(1);
        let mut state = fresh_state(setup, self.restarts);
        state.restore(self.records.clone(), now);
        self.epoch = (self.records.clone(), now);
        // What the shell does before serving anyone (the store's `Snapshot::end_open_sessions` on main):
        // commit a logout at the restart for each session the stop cut short, which `restore` assumed.
        // Without it a second restart would move those logouts again (the persistence check finds that).
        let ended = open_sessions(&self.records)
            .into_iter()
            .map(|user| Record::LoggedOut { user, at: now });
        self.records.extend(ended);
        self.h = harness(setup, state, now);
        replicas
    }

    /// More copies of this process's core, fed its log, make its effects (see [`super::replicas`]).
    fn check_replicas(&mut self, setup: &Setup) -> Result<(), Violation> {
        let Some(log) = self.h.log.as_mut().map(std::mem::take) else {
            return Ok(());
        };
        let (records, at) = &self.epoch;
        let restarts = self.restarts;
        let fresh = || {
            let mut state = fresh_state(setup, restarts);
            if !records.is_empty() || restarts > 0 {
                state.restore(records.clone(), *at);
            }
            state
        };
        self.replicated += super::replicas::check(&fresh, &log)?;
        self.replicated += super::replicas::check_log_timed(&fresh, &log)?;
        *self.coverage.entry("replica-events-compared").or_default() = self.replicated;
        Ok(())
    }

    /// Right after a restart, the restarted core's durable state is what the model says survived.
    fn check_durable_model(&self, model: &Model) -> Result<(), Violation> {
        let got = self.h.state().durable_view();
        let want = model_durable_as(model, self.h.now(), &got);
        if got != want {
            return Err(Violation {
                invariant: name::DURABILITY,
                detail: format!(
                    "after the restart, core vs what the model says was committed:\n{}",
                    diff_views(&got, &want)
                ),
            });
        }
        Ok(())
    }

    /// Replaying every persisted record into a fresh state gives the live durable state (a user online now
    /// counts as logged out at the replay instant, as after a crash), and that state is the model's.
    fn check_restore(&self, setup: &Setup, model: &Model) -> Result<(), Violation> {
        let now = self.h.now();
        let mut restored = fresh_state(setup, 0);
        restored.restore(self.all_records(), now);
        let got = restored.durable_view();
        let mut want = self.h.state().durable_view();
        let online = self.h.state().online_users();
        for u in &mut want.users {
            if online.contains(&u.name.as_str()) {
                u.last_logout = Some(now);
            }
        }
        if got != want {
            return Err(Violation {
                invariant: name::PERSISTENCE,
                detail: format!(
                    "replayed records vs live state:\n{}",
                    diff_views(&got, &want)
                ),
            });
        }
        let modelled = model_durable_as(model, now, &want);
        if modelled != want {
            return Err(Violation {
                invariant: name::MODEL,
                detail: format!(
                    "durable state, core vs model:\n{}",
                    diff_views(&want, &modelled)
                ),
            });
        }
        Ok(())
    }
}

/// Users whose last `LoggedIn` record has no `LoggedOut` after it.
fn open_sessions(records: &[Record]) -> Vec<natter_core::protocol::Name> {
    let mut open = BTreeSet::new();
    for r in records {
        match r {
            Record::LoggedIn { user, .. } => {
                open.insert(user.clone());
            }
            Record::LoggedOut { user, .. } => {
                open.remove(user);
            }
            _ => {}
        }
    }
    open.into_iter().collect()
}

/// Every line to every connection, and every close, equals the model's (tokens aside: the model cannot
/// know them, so both ends' tokens are checked by the invariants and blanked here).
fn agree(seen: &[(Timestamp, Seen)], want: &Out) -> Result<(), Violation> {
    let mut got: BTreeMap<ConnId, Vec<ServerMsg>> = BTreeMap::new();
    let mut got_closed = BTreeSet::new();
    for (_, s) in seen {
        match s {
            Seen::Msg(c, m) => got.entry(*c).or_default().push(blank_token(m.clone())),
            Seen::Closed(c) => {
                got_closed.insert(*c);
            }
        }
    }
    let mut expected: BTreeMap<ConnId, Vec<ServerMsg>> = BTreeMap::new();
    for (c, m) in &want.sends {
        expected.entry(*c).or_default().push(m.clone());
    }
    let want_closed: BTreeSet<ConnId> = want.closed.iter().copied().collect();
    if got != expected {
        let conns: BTreeSet<ConnId> = got.keys().chain(expected.keys()).copied().collect();
        let mut detail = String::from("lines differ from the model's:");
        for c in conns {
            let (g, e) = (got.get(&c), expected.get(&c));
            if g != e {
                detail.push_str(&format!("\n      {c}: core  {g:?}\n      {c}: model {e:?}"));
            }
        }
        return Err(Violation {
            invariant: name::MODEL,
            detail,
        });
    }
    if got_closed != want_closed {
        return Err(Violation {
            invariant: name::MODEL,
            detail: format!("core closed {got_closed:?}, model closed {want_closed:?}"),
        });
    }
    Ok(())
}

/// [`model_durable`], with passwords as `core` stores them where they agree: the model keeps passwords
/// as typed, the core keeps a registered account's as a hash, and the two agree if the hash is of the
/// model's password.
fn model_durable_as(model: &Model, now: Timestamp, core: &DurableView) -> DurableView {
    let mut view = model_durable(model, now);
    for m in &mut view.users {
        if let Some(c) = core.users.iter().find(|u| u.name == m.name)
            && natter_core::password::is_hash(&c.password)
            && natter_core::password::verify(&c.password, &m.password)
        {
            m.password = c.password.clone();
        }
    }
    view
}

/// The model's durable state in the core's view format (online users count as logged out `now`).
fn model_durable(model: &Model, now: Timestamp) -> DurableView {
    let mut users: Vec<natter_core::server::DurableUser> = model
        .users
        .iter()
        .map(|(n, u)| natter_core::server::DurableUser {
            name: n.to_string(),
            password: u.password.clone(),
            blocks: u.blocks.iter().map(|b| b.to_string()).collect(),
            mailbox: u
                .stored()
                .map(|m| natter_core::server::StoredView {
                    id: m.id,
                    from: m.from.to_string(),
                    group: m.group.as_ref().map(|g| g.to_string()),
                    sent_at: m.sent_at,
                    text: m.text.clone(),
                })
                .collect(),
            locked_until: u.locked_until,
            last_logout: if u.conn.is_some() {
                Some(now)
            } else {
                u.last_logout
            },
            keys: u.keys.as_ref().map(|k| natter_core::server::KeysView {
                curve25519: k.curve25519.clone(),
                ed25519: k.ed25519.clone(),
                one_time: k.one_time.iter().map(|k| k.to_string()).collect(),
                fallback: k.fallback.as_ref().map(|k| k.to_string()),
            }),
        })
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let mut invitations: Vec<natter_core::server::InvitationView> = model
        .invitations
        .iter()
        .flat_map(|(user, of)| {
            of.iter()
                .map(move |(g, i)| natter_core::server::InvitationView {
                    group: g.to_string(),
                    user: user.to_string(),
                    by: i.by.to_string(),
                    at: i.at,
                })
        })
        .collect();
    invitations.sort();
    DurableView {
        users,
        group_settings: model
            .group_info
            .iter()
            .map(|(g, d)| natter_core::server::GroupView {
                name: g.to_string(),
                owner: d.owner.to_string(),
                open: d.open,
                add_direct: d.add_direct,
                topic_by_members: d.topic_by_members,
                topic: d.topic.as_ref().map(|(t, by)| (t.clone(), by.to_string())),
                // The simulator's clients set no rules (`group rules`).
                rules: String::new(),
            })
            .collect(),
        invitations,
        next_message_id: model.next_msg.max(model.reserved),
        groups: model
            .groups
            .iter()
            .map(|(g, m)| (g.to_string(), m.iter().map(|n| n.to_string()).collect()))
            .collect(),
    }
}

fn blank_token(m: ServerMsg) -> ServerMsg {
    match m {
        ServerMsg::PrivateAccepted { peer, addr, .. } => ServerMsg::PrivateAccepted {
            peer,
            addr,
            token: ANY_TOKEN,
        },
        ServerMsg::PrivateExpect { peer, .. } => ServerMsg::PrivateExpect {
            peer,
            token: ANY_TOKEN,
        },
        m => m,
    }
}

/// The kinds of line worth counting to show a run reached a rule.
fn kind(m: &ServerMsg) -> Option<&'static str> {
    use natter_core::protocol::{ByeReason, ErrorReply};
    Some(match m {
        ServerMsg::Welcome { .. } => "welcome",
        ServerMsg::Registered { .. } => "registered",
        ServerMsg::Message { .. } => "message",
        ServerMsg::OfflineMessage { group: None, .. } => "offline-message",
        ServerMsg::OfflineMessage { group: Some(_), .. } => "offline-group-message",
        ServerMsg::GroupMessage { .. } => "group-message",
        ServerMsg::GroupCreated { .. } => "group-created",
        ServerMsg::GroupSent { skipped: true, .. } => "group-sent-partial",
        ServerMsg::GroupSent { .. } => "group-sent",
        ServerMsg::GroupJoined { .. } => "group-joined",
        ServerMsg::GroupLeft { .. } => "group-left",
        ServerMsg::GroupList { .. } => "grouplist",
        ServerMsg::GroupMembers { .. } => "group-members",
        ServerMsg::Ping { .. } => "ping",
        ServerMsg::IdleWarning { .. } => "idle-warning",
        ServerMsg::Delivered { .. } => "delivered",
        ServerMsg::Sent { .. } => "sent",
        ServerMsg::OfflineAgain { .. } => "offline-again",
        ServerMsg::Error(ErrorReply::NotMember { .. }) => "not-member",
        ServerMsg::Error(ErrorReply::GroupExists { .. }) => "group-exists",
        ServerMsg::Error(ErrorReply::GroupFull { .. }) => "group-full",
        ServerMsg::Error(ErrorReply::NoSuchGroup { .. }) => "no-such-group",
        ServerMsg::Broadcast { .. } => "broadcast",
        ServerMsg::Presence { .. } => "presence",
        ServerMsg::WhoElse { .. } => "whoelse",
        ServerMsg::WhoElseSince { .. } => "whoelsesince",
        ServerMsg::Stored { .. } => "stored",
        ServerMsg::Blocked { .. } => "blocked",
        ServerMsg::PrivateRequest { .. } => "private-request",
        ServerMsg::PrivateAccepted { .. } => "private-accepted",
        ServerMsg::PrivateDeclined { .. } => "private-declined",
        ServerMsg::PrivateCancelled { .. } => "private-cancelled",
        ServerMsg::Bye(ByeReason::Timeout { .. }) => "bye-timeout",
        ServerMsg::Bye(ByeReason::LoginTimeout { .. }) => "bye-login-timeout",
        ServerMsg::Bye(ByeReason::Shutdown) => "bye-shutdown",
        ServerMsg::Error(ErrorReply::LockedNow { .. }) => "locked-now",
        ServerMsg::Error(ErrorReply::Locked { .. }) => "locked",
        ServerMsg::Error(ErrorReply::WrongPassword { .. }) => "wrong-password",
        ServerMsg::Error(ErrorReply::AlreadyOnline) => "already-online",
        ServerMsg::Error(ErrorReply::BlockedBy { .. }) => "blocked-by",
        ServerMsg::Error(ErrorReply::YouBlocked { .. }) => "you-blocked",
        ServerMsg::Error(ErrorReply::MailboxFull { .. }) => "mailbox-full",
        ServerMsg::Error(ErrorReply::NameTaken) => "name-taken",
        ServerMsg::Error(ErrorReply::BadAck { .. }) => "bad-ack",
        ServerMsg::Keys { key: Some(_), .. } => "keys-claimed",
        ServerMsg::Keys { key: None, .. } => "keys-shown",
        ServerMsg::NoKeys { .. } => "no-keys",
        ServerMsg::KeysLeft { .. } => "keys-left",
        ServerMsg::Error(ErrorReply::KeysFull { .. }) => "keys-full",
        ServerMsg::Error(ErrorReply::NoIdentity) => "no-identity",
        _ => return None,
    })
}
