//! The simulated clients and the model they talk to: everything of a run except the real core.
//!
//! [`Clients`] turns each [`Op`] into concrete [`Step`]s, applies them to the [`Model`], and keeps each
//! client's view (its open connection, what it has queued unread, the newest stored message it can
//! acknowledge) from the model's predicted output. It is a plain value, so proptest's reference state machine
//! uses it on its own to generate legal transitions, and [`super::World`] pairs it with the core.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::invariants::StepFacts;
use super::model::{MPhase, Model, Out};
use super::step::{AdminOp, Cmd, Edge, Garbage, GroupRef, Op, Password, Slot, Step, UserRef};
use natter_core::protocol::ServerMsg;
use natter_core::protocol::keys::{PUBLIC_KEY_LEN, sample_key, shaped};
use natter_core::server::harness::START;
use natter_core::server::outbox::OutboxConfig;
use natter_core::server::{Admin, BanTarget, Config, ConnId};
use natter_core::time::Timestamp;

/// The fixed parts of a run.
#[derive(Clone, Debug)]
pub struct Setup {
    pub config: Config,
    /// `(username, password)` of the accounts in the credentials file.
    pub accounts: Vec<(String, String)>,
    /// How many simulated clients there are.
    pub slots: u16,
    /// Lines a client that stopped reading may have queued before the shell drops it.
    pub queue_limit: usize,
    /// Check that replaying the records rebuilds the state every this many steps (0: only when asked).
    pub restore_check_every: u64,
    /// Check, at every restart and at the end, that more copies of the core fed the same log make the
    /// same effects ([`super::replicas`]).
    pub replica_check: bool,
    /// When commits happen (the server's rule, with a small bound on lazy records so runs reach it).
    pub commits: OutboxConfig,
    /// Feed lines as a cluster node does: one at a time before login, passwords without their text
    /// (`server::cluster::gates`). The model knows nothing of it: what users see must not change.
    pub gate_passwords: bool,
}

impl Setup {
    /// `users` accounts `u0`.. with passwords `pw0`.., and durations short enough that edges come often.
    pub fn small(users: usize, slots: u16) -> Self {
        Setup {
            config: Config {
                block_duration_secs: 20,
                timeout_secs: 60,
                login_timeout_secs: 30,
                private_answer_secs: 15,
                max_line: 256,
                mailbox_limit: 4,
                register: false,
                // Small, so runs reach a full group.
                group_max_members: 5,
                idle_warning_secs: 15,
                // One sender may fill half a mailbox, so runs reach both that and a full mailbox.
                mailbox_share_percent: 50,
                // A window of two or three messages, so runs reach a connection that must drain
                // before it is written more.
                mail_window: 200,
                // The model has no flood control or per-address limits: they have their own tests.
                ..Config::default().unlimited()
            },
            accounts: (0..users.max(1))
                .map(|i| (format!("u{i}"), format!("pw{i}")))
                .collect(),
            slots: slots.max(1),
            queue_limit: 8,
            restore_check_every: 1,
            replica_check: false,
            gate_passwords: false,
            commits: OutboxConfig {
                lazy_max: 16,
                ..OutboxConfig::default()
            },
        }
    }
}

/// One client's place.
#[derive(Clone, Debug, Default)]
pub struct SlotState {
    pub conn: Option<ConnId>,
    /// The slot's last connection, even if closed: a late line or disconnect may still arrive for it.
    pub last: Option<ConnId>,
    pub slow: bool,
    pub unread: usize,
    /// The newest message id the client has read on the open connection (what the real client
    /// acknowledges).
    pub newest_read: Option<u64>,
    /// The newest one written while it was not reading: read when it reads again.
    pub newest_unread: Option<u64>,
}

/// What one applied step was, for the core side to replay and check.
#[derive(Clone, Debug)]
pub struct Planned {
    pub step: Step,
    pub facts: StepFacts,
    /// The model's prediction.
    pub out: Out,
    /// The connection and address a `Connect` step opened.
    pub connected: Option<(ConnId, SocketAddr)>,
    /// For a step that crashed the server mid-commit: the model as the step left it, before the restart
    /// (what the step's lines are checked against; the model passed along is the restarted one).
    pub before_crash: Option<Box<Model>>,
}

#[derive(Clone, Debug)]
pub struct Clients {
    pub setup: Setup,
    pub model: Model,
    pub slots: Vec<SlotState>,
    by_conn: BTreeMap<ConnId, Slot>,
    next_conn: u64,
    texts: u64,
    /// Whether to drop slow readers whose queue overflows (generation), or only replay the drops a trace
    /// contains (replay).
    pub auto_overflow: bool,
    /// Passwords the operator set so far (each new one is `pw-set-<n>`).
    passwords_set: u64,
}

impl Clients {
    pub fn new(setup: Setup) -> Self {
        let model = Model::new(setup.config.clone(), &setup.accounts, START)
            .with_commits(setup.commits.clone());
        let slots = vec![SlotState::default(); usize::from(setup.slots.max(1))];
        Clients {
            setup,
            model,
            slots,
            by_conn: BTreeMap::new(),
            next_conn: 1,
            texts: 0,
            passwords_set: 0,
            auto_overflow: true,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.model.now
    }

    pub fn slot_count(&self) -> u16 {
        self.slots.len() as u16
    }

    fn slot(&self, s: Slot) -> Slot {
        s % self.slot_count()
    }

    /// The slot whose open connection is `conn`.
    pub fn slot_of(&self, conn: ConnId) -> Option<Slot> {
        self.by_conn
            .get(&conn)
            .copied()
            .filter(|&s| self.slots[usize::from(s)].conn == Some(conn))
    }

    /// The slot's open connection and what the model knows of its phase.
    pub fn phase(&self, s: Slot) -> Option<&MPhase> {
        let conn = self.slots[usize::from(self.slot(s))].conn?;
        self.model.conns.get(&conn).map(|c| &c.phase)
    }

    pub fn user_name(&self, r: UserRef) -> String {
        match r {
            UserRef::Known(i) => {
                self.model.order[usize::from(i) % self.model.order.len()].to_string()
            }
            UserRef::Unknown => "ghost".into(),
            // Sometimes capitalised: a twin of an account that differs only in case is refused.
            UserRef::New(k) if k & 4 != 0 => format!("New{}", k % 4),
            UserRef::New(k) => format!("new{}", k % 4),
        }
    }

    /// Resolves one intention into steps, applies each to the model and hands it to `sink` (the core side),
    /// stopping at the first error `sink` reports.
    pub fn apply_op<E>(
        &mut self,
        op: Op,
        sink: &mut impl FnMut(&Planned, &Model) -> Result<(), E>,
    ) -> Result<(), E> {
        match op {
            Op::Connect(s) => {
                let slot = self.slot(s);
                if self.slots[usize::from(slot)].conn.is_none() {
                    self.step(Step::Connect { slot }, sink)?;
                }
            }
            Op::Login(s, user, pw) => {
                let slot = self.slot(s);
                if self.slots[usize::from(slot)].conn.is_none() {
                    self.step(Step::Connect { slot }, sink)?;
                }
                self.apply_op(Op::Username(slot, user), sink)?;
                self.apply_op(Op::Password(slot, pw), sink)?;
            }
            Op::Username(s, user) => {
                let line = self.user_name(user).into_bytes();
                self.send(s, line, sink)?;
            }
            Op::Password(s, pw) => {
                let line = self.password_line(s, pw).into_bytes();
                self.send(s, line, sink)?;
            }
            Op::Command(s, cmd) => {
                let line = self.command_line(s, cmd).into_bytes();
                self.send(s, line, sink)?;
            }
            Op::Garbage(s, g) => self.send(s, garbage(g), sink)?,
            Op::TooLong(s) => self.step(Step::TooLong { slot: self.slot(s) }, sink)?,
            Op::Disconnect(s) => self.step(Step::Disconnect { slot: self.slot(s) }, sink)?,
            Op::StopReading(s) => self.step(Step::StopReading { slot: self.slot(s) }, sink)?,
            Op::Read(s) => self.step(Step::Read { slot: self.slot(s) }, sink)?,
            Op::Advance(ms) => self.step(Step::Advance { ms: u64::from(ms) }, sink)?,
            Op::AdvanceTo(edge, delta) => {
                if let Some(ms) = self.to_edge(edge, delta) {
                    self.step(Step::Advance { ms }, sink)?;
                }
            }
            Op::Restart { graceful } => self.step(Step::Restart { graceful }, sink)?,
            Op::CrashDuring(s, cmd) => {
                let line = self.command_line(s, cmd).into_bytes();
                let slot = self.slot(s);
                self.step(Step::SendThenCrash { slot, line }, sink)?;
            }
            Op::Admin(op) => {
                let action = self.admin_action(op);
                self.step(Step::Admin { action }, sink)?;
            }
        }
        Ok(())
    }

    /// The operator's action an [`AdminOp`] stands for, now.
    fn admin_action(&mut self, op: AdminOp) -> Admin {
        let user = |c: &Self, r: UserRef| c.user_name(r);
        match op {
            AdminOp::Kick(r, reason) => Admin::Kick {
                user: user(self, r),
                reason: if reason {
                    "enough".into()
                } else {
                    String::new()
                },
            },
            AdminOp::Ban(r, tenths) => Admin::Ban {
                target: BanTarget::User(user(self, r)),
                until: (tenths > 0).then(|| {
                    self.model
                        .now
                        .plus_millis(self.setup.config.timeout_secs * 100 * u64::from(tenths))
                }),
                reason: "spam".into(),
            },
            AdminOp::Unban(r) => Admin::Unban {
                target: BanTarget::User(user(self, r)),
            },
            AdminOp::Unlock(r) => Admin::Unlock {
                user: user(self, r),
            },
            AdminOp::Notice => Admin::Notice {
                text: "maintenance at noon".into(),
            },
            AdminOp::SetPassword(r) => {
                self.passwords_set += 1;
                Admin::SetPassword {
                    user: user(self, r),
                    password: format!("pw-set-{}", self.passwords_set),
                }
            }
        }
    }

    /// How far to advance to land `delta` ms from the chosen instant, if that is in the future.
    fn to_edge(&self, edge: Edge, delta: i8) -> Option<u64> {
        let (instants, n) = match edge {
            Edge::Deadline(n) => (self.model.deadlines(), n),
            Edge::LockEnd(n) => {
                let mut v: Vec<Timestamp> = self
                    .model
                    .users
                    .values()
                    .filter_map(|u| u.locked_until)
                    .filter(|t| *t > self.now())
                    .collect();
                v.sort();
                (v, n)
            }
        };
        let at = instants.get(usize::from(n) % instants.len().max(1))?;
        let target = at.as_millis().saturating_add_signed(i64::from(delta));
        Some(target.saturating_sub(self.now().as_millis())).filter(|ms| *ms > 0)
    }

    fn send<E>(
        &mut self,
        s: Slot,
        line: Vec<u8>,
        sink: &mut impl FnMut(&Planned, &Model) -> Result<(), E>,
    ) -> Result<(), E> {
        let slot = self.slot(s);
        self.step(Step::Send { slot, line }, sink)
    }

    fn password_line(&self, s: Slot, pw: Password) -> String {
        match (pw, self.phase(s)) {
            (Password::Right, Some(MPhase::Password(user))) => {
                self.model.user(user).password.clone()
            }
            // Long enough for the password policy (8 characters by default).
            (Password::Right, Some(MPhase::NewPassword(user))) => format!("np-{user}-ok"),
            (Password::Right, _) => "pw0".into(),
            (Password::Wrong, _) => "wrong".into(),
            (Password::Invalid, _) => "bad pass".into(),
        }
    }

    fn command_line(&mut self, s: Slot, cmd: Cmd) -> String {
        self.texts += 1;
        let n = self.texts;
        let text = if n.is_multiple_of(7) {
            format!("  spaced  m{n} ünï 🎉 ")
        } else {
            format!("m{n}")
        };
        match cmd {
            Cmd::Message(u) => format!("message {} {text}", self.user_name(u)),
            Cmd::Broadcast => format!("broadcast {text}"),
            Cmd::WhoElse => "whoelse".into(),
            Cmd::WhoElseSince(255) => "whoelsesince 99999999999999999999999".into(),
            Cmd::WhoElseSince(k) => format!(
                "whoelsesince {}",
                self.setup.config.timeout_secs * u64::from(k % 26) / 10
            ),
            Cmd::Block(u) => format!("block {}", self.user_name(u)),
            Cmd::Unblock(u) => format!("unblock {}", self.user_name(u)),
            Cmd::Blocks => "blocks".to_owned(),
            Cmd::StartPrivate(u) => format!("startprivate {}", self.user_name(u)),
            Cmd::Accept(u) => format!("accept {}", self.user_name(u)),
            Cmd::Decline(u) => format!("decline {}", self.user_name(u)),
            Cmd::StopPrivate(u) => format!("stopprivate {}", self.user_name(u)),
            Cmd::Logout => "logout".into(),
            Cmd::Help => "help".into(),
            Cmd::P2pPort(p) => format!("p2pport {}", p.max(1)),
            Cmd::Active => "active".into(),
            Cmd::AckReceived => {
                let id = self.slots[usize::from(self.slot(s))]
                    .newest_read
                    .unwrap_or(0);
                format!("ack {id}")
            }
            Cmd::AckId(k) => format!("ack {k}"),
            Cmd::CreateGroup(g, a, b) => format!(
                "create group {} {} {}",
                group_name(g),
                self.user_name(a),
                self.user_name(b)
            ),
            Cmd::MessageGroup(g) => format!("message group {} {text}", group_name(g)),
            Cmd::MessageSealed(u, k) => {
                let to = self.user_name(u);
                let key = shaped(&format!("c{to}{}", k % 3), PUBLIC_KEY_LEN);
                format!("message {to} e2e1:n:{key}:QUFB{n}")
            }
            Cmd::GroupAdd(g, u) => format!("group add {} {}", group_name(g), self.user_name(u)),
            Cmd::GroupLeave(g) => format!("group leave {}", group_name(g)),
            Cmd::GroupJoin(g) => format!("group join {}", group_name(g)),
            Cmd::GroupDecline(g) => format!("group decline {}", group_name(g)),
            Cmd::GroupRemove(g, u, why) => format!(
                "group remove {} {}{}",
                group_name(g),
                self.user_name(u),
                if why { " too  loud" } else { "" }
            ),
            Cmd::GroupTopic(g, how) => format!(
                "group topic {}{}",
                group_name(g),
                match how {
                    0 => "",
                    1 => " plans for the week",
                    _ => " -",
                }
            ),
            Cmd::GroupOwner(g, u) => format!("group owner {} {}", group_name(g), self.user_name(u)),
            Cmd::GroupSet(g, n) => match n % 6 {
                0 => format!("group mode {} open", group_name(g)),
                1 => format!("group mode {} invite", group_name(g)),
                2 => format!("group set {} add direct", group_name(g)),
                3 => format!("group set {} add invite", group_name(g)),
                4 => format!("group set {} topic members", group_name(g)),
                _ => format!("group set {} topic owner", group_name(g)),
            },
            Cmd::Away(true) => "away out to lunch".to_owned(),
            Cmd::Away(false) => "away".to_owned(),
            Cmd::Whois(u) => format!("whois {}", self.user_name(u)),
            Cmd::GroupMembers(g) => format!("group members {}", group_name(g)),
            Cmd::GroupList => "grouplist".into(),
            Cmd::Ping(u) => format!("ping {}", self.user_name(u)),
            Cmd::WhoLastHr => "wholasthr".into(),
            Cmd::Offline => "offline".into(),
            Cmd::Receipts(on) => format!("receipts {}", if on { "on" } else { "off" }),
            Cmd::Acks(on) => format!("acks {}", if on { "on" } else { "off" }),
            Cmd::KeysIdentity(k) => {
                let me = match self.phase(s) {
                    Some(MPhase::Online { user, .. }) => user.to_string(),
                    _ => String::new(),
                };
                let k = k % 3;
                format!(
                    "keys identity {} {}",
                    shaped(&format!("c{me}{k}"), PUBLIC_KEY_LEN),
                    shaped(&format!("e{me}{k}"), PUBLIC_KEY_LEN)
                )
            }
            Cmd::KeysAdd(count) => {
                let base = n * 64;
                let count = u64::from(count % 26).max(1);
                let keys: Vec<String> = (0..count)
                    .map(|i| {
                        let i = if count >= 3 && i == count - 1 { 0 } else { i };
                        sample_key(base + i).to_string()
                    })
                    .collect();
                format!("keys add {}", keys.join(" "))
            }
            Cmd::KeysFallback => format!("keys fallback {}", sample_key(n * 64)),
            Cmd::KeysClaim(u) => format!("keys claim {}", self.user_name(u)),
            Cmd::KeysShow(u) => format!("keys show {}", self.user_name(u)),
            Cmd::KeysMalformed(k) => {
                let good = sample_key(n * 64);
                match k % 4 {
                    0 => format!("keys add {good} {}:{}", good.id, good.key),
                    1 => format!("keys fallback x:{}:{}", good.key, &good.sig[1..]),
                    2 => format!("keys identity {} short", good.key),
                    _ => format!("keys add {good} bad!id:{}:{}", good.key, good.sig),
                }
            }
        }
    }

    /// Applies one concrete step to the model, then hands it to `sink`; then drops any slow reader whose
    /// queue overflowed, as the shell would.
    pub fn step<E>(
        &mut self,
        step: Step,
        sink: &mut impl FnMut(&Planned, &Model) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut out = Out::default();
        let mut facts = StepFacts::default();
        let mut connected = None;
        let mut before_crash = None;
        match &step {
            Step::Connect { slot } => {
                if self.slots[usize::from(*slot)].conn.is_none() {
                    let conn = ConnId(self.next_conn);
                    self.next_conn += 1;
                    let peer = peer_of(*slot, conn);
                    self.by_conn.insert(conn, *slot);
                    let st = &mut self.slots[usize::from(*slot)];
                    *st = SlotState {
                        conn: Some(conn),
                        last: Some(conn),
                        ..SlotState::default()
                    };
                    facts.conn = Some(conn);
                    connected = Some((conn, peer));
                    self.model.connect(conn, peer, &mut out);
                }
            }
            Step::Send { slot, line } => {
                if let Some(conn) = self.slots[usize::from(*slot)].last {
                    self.fill_facts(&mut facts, conn);
                    facts.line = Some(line.clone());
                    facts.right_password = match &facts.phase {
                        Some(MPhase::Password(u)) => {
                            self.model.user(u).password.as_bytes() == trim_bytes(line)
                        }
                        _ => false,
                    };
                    facts.banned = match &facts.phase {
                        Some(MPhase::Password(u)) => self.model.ban_of(u).is_some(),
                        _ => false,
                    };
                    self.model.line(conn, line, &mut out);
                }
                self.model.end_batch(&mut out);
            }
            Step::TooLong { slot } => {
                if let Some(conn) = self.slots[usize::from(*slot)].last {
                    self.fill_facts(&mut facts, conn);
                    self.model.too_long(conn, &mut out);
                }
                self.model.end_batch(&mut out);
            }
            Step::Disconnect { slot } | Step::Overflow { slot } => {
                if let Some(conn) = self.slots[usize::from(*slot)].last {
                    self.fill_facts(&mut facts, conn);
                    facts.vanished = true;
                    self.close_slot(*slot);
                    self.model.disconnect(conn, &mut out);
                }
                self.model.end_batch(&mut out);
            }
            Step::StopReading { slot } => {
                let st = &mut self.slots[usize::from(*slot)];
                st.slow = true;
                if let Some(conn) = st.conn {
                    facts.conn = Some(conn);
                    self.model.set_stalled(conn, true, &mut out);
                }
            }
            Step::Read { slot } => {
                let st = &mut self.slots[usize::from(*slot)];
                st.slow = false;
                st.unread = 0;
                st.newest_read = st.newest_read.max(st.newest_unread.take());
                if let Some(conn) = st.conn {
                    facts.conn = Some(conn);
                    // What waited for it to read is written now.
                    self.model.set_stalled(conn, false, &mut out);
                }
            }
            Step::Advance { ms } => {
                let to = self.now().plus_millis(*ms);
                self.model.advance_to(to, &mut out);
            }
            Step::Restart { graceful } => {
                facts.restarted = true;
                if *graceful {
                    // A clean stop commits everything, the shutdown's own session ends included.
                    facts.shutdown = true;
                    self.model.shutdown(&mut out);
                    self.model.commit();
                }
                self.model.restart(self.now());
                for s in 0..self.slot_count() {
                    self.close_slot(s);
                }
            }
            Step::Admin { action } => {
                facts.admin = Some(action.clone());
                self.model.admin(action, &mut out);
                self.model.end_batch(&mut out);
            }
            Step::SendThenCrash { slot, line } => {
                if let Some(conn) = self.slots[usize::from(*slot)].last {
                    self.fill_facts(&mut facts, conn);
                    facts.line = Some(line.clone());
                    self.model.line(conn, line, &mut out);
                }
                if self.model.end_batch_crashing(&mut out) {
                    // The batch's lines waited for the commit that never completed.
                    out = Out::default();
                }
                facts.restarted = true;
                facts.crashed_mid_commit = true;
                before_crash = Some(Box::new(self.model.clone()));
                self.model.restart(self.now());
                for s in 0..self.slot_count() {
                    self.close_slot(s);
                }
            }
        }
        self.note_deliveries(&out);
        facts.stalled = self
            .slots
            .iter()
            .filter(|st| st.slow)
            .filter_map(|st| st.conn)
            .collect();
        let planned = Planned {
            step,
            facts,
            out,
            connected,
            before_crash,
        };
        sink(&planned, &self.model)?;
        if self.auto_overflow {
            let full: Vec<Slot> = (0..self.slot_count())
                .filter(|&s| {
                    let st = &self.slots[usize::from(s)];
                    st.slow && st.conn.is_some() && st.unread > self.setup.queue_limit
                })
                .collect();
            for slot in full {
                self.step(Step::Overflow { slot }, sink)?;
            }
        }
        Ok(())
    }

    fn fill_facts(&self, facts: &mut StepFacts, conn: ConnId) {
        facts.conn = Some(conn);
        if let Some(c) = self.model.conns.get(&conn) {
            facts.phase = Some(c.phase.clone());
            facts.peer = Some(c.peer);
        }
        facts.offers = self.model.offers.values().cloned().collect();
    }

    fn close_slot(&mut self, slot: Slot) {
        let st = &mut self.slots[usize::from(slot)];
        st.conn = None;
        st.slow = false;
        st.unread = 0;
        st.newest_read = None;
        st.newest_unread = None;
    }

    /// Updates the clients from what the server sends them: queues, acknowledgeable ids, closes.
    fn note_deliveries(&mut self, out: &Out) {
        for (conn, msg) in &out.sends {
            let Some(&slot) = self.by_conn.get(conn) else {
                continue;
            };
            let st = &mut self.slots[usize::from(slot)];
            if st.conn != Some(*conn) {
                continue;
            }
            if st.slow {
                st.unread += 1;
            }
            if let ServerMsg::OfflineMessage { id, .. }
            | ServerMsg::Message { id, .. }
            | ServerMsg::GroupMessage { id, .. } = msg
            {
                let newest = if st.slow {
                    &mut st.newest_unread
                } else {
                    &mut st.newest_read
                };
                *newest = (*newest).max(Some(*id));
            }
        }
        for conn in &out.closed {
            if let Some(&slot) = self.by_conn.get(conn)
                && self.slots[usize::from(slot)].conn == Some(*conn)
            {
                self.close_slot(slot);
            }
        }
    }
}

/// Each slot has its own address (in 127/8; nothing is sent anywhere), so a leaked address can be told
/// apart from the right one.
fn peer_of(slot: Slot, conn: ConnId) -> SocketAddr {
    let [hi, lo] = slot.to_be_bytes();
    let port = 40_000 + (conn.0 % 20_000) as u16;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 1, hi, lo)), port)
}

/// `g0`..`g2`, or a name no group may have.
fn group_name(g: GroupRef) -> String {
    match g {
        GroupRef::Named(n) => format!("g{}", n % 3),
        GroupRef::Invalid => "g!".into(),
    }
}

fn trim_bytes(line: &[u8]) -> &[u8] {
    std::str::from_utf8(line).map_or(line, |s| s.trim().as_bytes())
}

fn garbage(g: Garbage) -> Vec<u8> {
    match g {
        Garbage::InvalidUtf8 => b"\xff\xfe".to_vec(),
        Garbage::ControlChar => b"hi\x1b[2J".to_vec(),
        Garbage::Empty => Vec::new(),
        Garbage::Blank => b"   ".to_vec(),
        Garbage::UnknownCommand => b"dance".to_vec(),
        Garbage::Usage => b"message".to_vec(),
        Garbage::BadNumber => b"whoelsesince soon".to_vec(),
        Garbage::LongWord => vec![b'x'; 40],
    }
}
