//! One worker thread: a readiness loop driving many connections.
//!
//! Each thread owns the users `u` with `u % threads == t`. It waits on one edge-triggered poller,
//! reads every ready socket until it would block (so an edge is never lost), handles every complete
//! line, then writes each connection's queued bytes with one `write` — so a batch of events costs one
//! system call per socket each way, and nothing is allocated per message (texts are written into the
//! connection's buffer in place). Verified deliveries credit their sender; a sender owned by another
//! thread is handed to it through its kick queue, with one wake-up per batch.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hdrhistogram::Histogram;
use natter_core::protocol::{Frame, LineDecoder};
use polling::{Event, Events, PollMode};

use super::shared::{Fault, Phase, Shared};
use crate::connect::{self, Dialer};
use crate::proto::Incoming;
use crate::verify::{Stamp, pick_peer, pick_peer_across, read_text, write_text};
use crate::workload::Workload;

/// What a worker hands back when the run stops.
pub struct WorkerResult {
    /// Delivery latency (ns): send (or intended send) to receipt; `offline`: send to `STORED`;
    /// `login`: one whole connect–login–logout cycle.
    pub latency: Histogram<u64>,
}

pub fn new_histogram() -> Histogram<u64> {
    // 1 µs to 10 min at 3 significant digits.
    Histogram::new_with_bounds(1_000, 600_000_000_000, 3).expect("valid histogram bounds")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Connecting,
    LoggingIn,
    Joining,
    Ready,
    LoggingOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Online for the whole run (the setup phase's users).
    Member,
    /// `offline`: logs in during the delivery phase.
    Recipient,
    /// `login`: one connect–login–logout cycle of churner `c`.
    Churn(u32),
}

struct Conn {
    stream: TcpStream,
    /// The TLS session, with `--tls`.
    tls: Option<Box<rustls::ClientConnection>>,
    user: u32,
    role: Role,
    state: State,
    out: Vec<u8>,
    out_pos: usize,
    /// Edge-triggered: false after a write would block, until the next writable event.
    writable: bool,
    queued: bool,
    decoder: LineDecoder,
    /// Messages sent so far by this user.
    sent: u32,
    /// When the connection was dialled (ns since the epoch).
    dialled_ns: u64,
    /// `offline` senders: send times of messages not yet acknowledged, oldest first.
    unacked: VecDeque<u64>,
    /// `offline` recipients: the highest stored-message id received and not yet acknowledged.
    ack_upto: Option<u64>,
}

const MAX_EVENTS: usize = 1024;
const READ_BUF: usize = 64 * 1024;

pub struct Worker<'s> {
    sh: &'s Shared,
    t: usize,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Slots closed during this batch: reused only after it, so a stale event cannot hit a new socket.
    free_later: Vec<usize>,
    dialer: Dialer,
    /// Users to connect in the current phase, and how many connections are still logging in.
    to_dial: VecDeque<(u32, Role)>,
    dialling: u32,
    slot_of: Vec<u32>,
    /// Senders to look at for the closed-loop window, and whether each is already listed.
    eligible: Vec<u32>,
    listed: Vec<bool>,
    /// Credits from this batch, per sender, and which senders have some.
    credit: Vec<u32>,
    credit_touched: Vec<u32>,
    kicks_out: Vec<Vec<u32>>,
    dirty: Vec<usize>,
    latency: Histogram<u64>,
    read_buf: Vec<u8>,
    scratch: Vec<u8>,
    // Counts of this batch, published at its end.
    n_noise: u64,
    n_sent: u64,
    n_delivered: u64,
    n_accepted: u64,
    n_cycles: u64,
    n_ready: u64,
    // Open loop.
    senders: Vec<u32>,
    next_due_ns: u64,
    interval_ns: f64,
    open_sent: u64,
    rr: usize,
    // Login churn: the next account index of each churner of this thread.
    churn_next: Vec<u32>,
    phase: Phase,
}

impl<'s> Worker<'s> {
    pub fn new(sh: &'s Shared, t: usize) -> Worker<'s> {
        let accounts = sh.plan.accounts() as usize;
        let senders = (0..sh.plan.sender_count())
            .filter(|u| sh.owner(*u) == t)
            .collect();
        Worker {
            sh,
            t,
            conns: Vec::new(),
            free: Vec::new(),
            free_later: Vec::new(),
            dialer: Dialer::new(sh.servers.clone(), sh.sources, t),
            to_dial: VecDeque::new(),
            dialling: 0,
            slot_of: vec![u32::MAX; accounts],
            eligible: Vec::new(),
            listed: vec![false; accounts],
            credit: vec![0; accounts],
            credit_touched: Vec::new(),
            kicks_out: vec![Vec::new(); sh.threads],
            dirty: Vec::new(),
            latency: new_histogram(),
            read_buf: vec![0; READ_BUF],
            scratch: Vec::with_capacity(512),
            n_noise: 0,
            n_sent: 0,
            n_delivered: 0,
            n_accepted: 0,
            n_cycles: 0,
            n_ready: 0,
            senders,
            next_due_ns: 0,
            interval_ns: 0.0,
            open_sent: 0,
            rr: 0,
            churn_next: Vec::new(),
            phase: Phase::Setup,
        }
    }

    pub fn run(mut self) -> WorkerResult {
        let poller = self.sh.pollers[self.t].clone();
        let mut events = Events::with_capacity(std::num::NonZeroUsize::new(MAX_EVENTS).unwrap());
        let first = self.sh.phase();
        self.enter(first);
        loop {
            let phase = self.sh.phase();
            if phase != self.phase {
                self.enter(phase);
            }
            if phase == Phase::Stop {
                break;
            }
            self.dial_more();
            // Credits from the last batch open this thread's windows now, not after the next wake-up.
            self.publish();
            self.take_kicks();
            if phase == Phase::Measure {
                self.pump();
            }
            self.flush();
            self.publish();
            events.clear();
            let timeout = self.timeout();
            if let Err(e) = poller.wait(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                self.sh
                    .faults
                    .add(Fault::Disconnected, || format!("poll failed: {e}"));
                break;
            }
            for ev in events.iter() {
                self.on_event(ev.key, ev.readable, ev.writable);
            }
            self.free.append(&mut self.free_later);
        }
        self.close_all();
        WorkerResult {
            latency: self.latency,
        }
    }

    /// How long to sleep: until the next open-loop send is due, else until woken.
    fn timeout(&self) -> Duration {
        const IDLE: Duration = Duration::from_millis(50);
        if self.phase == Phase::Measure && self.sh.plan.rate.is_some() && self.open_left() > 0 {
            let now = self.sh.now_ns();
            // Not less than 200 µs: messages due meanwhile go out together, each still stamped with
            // its own due time, so the generator's lateness counts against the latency, never for it.
            let wait = self.next_due_ns.saturating_sub(now).max(200_000);
            return Duration::from_nanos(wait).min(IDLE);
        }
        IDLE
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        let plan = &self.sh.plan;
        match phase {
            Phase::Prime => self.start_churn(),
            Phase::Setup => {
                for u in (0..plan.online()).filter(|u| self.sh.owner(*u) == self.t) {
                    self.to_dial.push_back((u, Role::Member));
                }
            }
            Phase::Measure => match plan.workload {
                Workload::Login => self.start_churn(),
                _ if plan.rate.is_some() => {
                    let share = self.senders.len() as f64 / f64::from(plan.sender_count());
                    let rate = plan.rate.unwrap_or(1.0) * share;
                    self.interval_ns = 1e9 / rate.max(1e-9);
                    self.next_due_ns = self.sh.measure_start_ns.load(Ordering::Acquire);
                }
                _ => {
                    for s in self.senders.clone() {
                        self.make_eligible(s);
                    }
                }
            },
            Phase::Deliver => {
                let first = plan.users;
                for u in (first..first + plan.recipients).filter(|u| self.sh.owner(*u) == self.t) {
                    self.to_dial.push_back((u, Role::Recipient));
                }
            }
            Phase::Stop => {}
        }
    }

    fn dial_more(&mut self) {
        while self.dialling < self.sh.dial_limit {
            let Some((user, role)) = self.to_dial.pop_front() else {
                break;
            };
            self.dial(user, role);
        }
    }

    /// Starts this thread's churners (churner `c` belongs to thread `c % threads`).
    fn start_churn(&mut self) {
        let mine: Vec<u32> = (0..self.sh.plan.concurrency)
            .filter(|c| *c as usize % self.sh.threads == self.t)
            .collect();
        self.churn_next = vec![0; mine.len()];
        for c in mine {
            self.dial_churn(c);
        }
    }

    /// Starts churner `c`'s next cycle, if it has one. Each churner has accounts of its own, so two
    /// cycles in flight never log the same user in: `login` cycles forever through
    /// `idle_users + c + j·concurrency`; `history` logs each of `users + c + j·concurrency` (below
    /// `users + history`) in and out once.
    fn dial_churn(&mut self, c: u32) {
        let plan = &self.sh.plan;
        let next = &mut self.churn_next[c as usize / self.sh.threads];
        let j = *next;
        let user = match plan.workload {
            Workload::History => {
                let k = c + j * plan.concurrency;
                if k >= plan.history {
                    return;
                }
                plan.users + k
            }
            _ => {
                let per = (plan.users / plan.concurrency).max(1);
                plan.idle_users + c + (j % per) * plan.concurrency
            }
        };
        *next = j + 1;
        self.dial(user, Role::Churn(c));
    }

    fn dial(&mut self, user: u32, role: Role) {
        let stream = match self.dialer.dial(user) {
            Ok(s) => s,
            Err(e) => {
                self.sh
                    .faults
                    .add(Fault::Disconnected, || format!("cannot connect: {e}"));
                return;
            }
        };
        let slot = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        let poller = &self.sh.pollers[self.t];
        // SAFETY: the stream stays in `self.conns[slot]` until it is deleted from the poller in
        // `close`, so the poller never holds a closed descriptor.
        let added = unsafe { poller.add_with_mode(&stream, Event::all(slot), PollMode::Edge) };
        if let Err(e) = added {
            self.sh
                .faults
                .add(Fault::Disconnected, || format!("cannot poll a socket: {e}"));
            self.free.push(slot);
            return;
        }
        self.conns[slot] = Some(Conn {
            stream,
            tls: self.sh.tls.as_ref().map(crate::tls::session),
            user,
            role,
            state: State::Connecting,
            out: Vec::new(),
            out_pos: 0,
            writable: false,
            queued: false,
            decoder: LineDecoder::new(self.sh.proto.max_line()),
            sent: 0,
            dialled_ns: self.sh.now_ns(),
            unacked: VecDeque::new(),
            ack_upto: None,
        });
        if matches!(role, Role::Member | Role::Recipient) {
            self.slot_of[user as usize] = slot as u32;
        }
        self.dialling += 1;
    }

    fn close(&mut self, slot: usize) {
        if let Some(conn) = self.conns[slot].take() {
            let _ = self.sh.pollers[self.t].delete(&conn.stream);
            if matches!(conn.role, Role::Member | Role::Recipient) {
                self.slot_of[conn.user as usize] = u32::MAX;
            }
            if !matches!(conn.state, State::Ready | State::LoggingOut) {
                self.dialling = self.dialling.saturating_sub(1);
            }
            self.free_later.push(slot);
        }
    }

    fn close_all(&mut self) {
        let now = self.sh.now_ns();
        for slot in 0..self.conns.len() {
            if let Some(conn) = &self.conns[slot] {
                // A cycle can only be slow, never lost without a word: one still open after 3 s
                // (InspIRCd's once-a-second registration takes about 1 s) is reported.
                if let Role::Churn(_) = conn.role
                    && now.saturating_sub(conn.dialled_ns) > 3_000_000_000
                {
                    let (user, state) = (conn.user, conn.state);
                    self.sh.faults.add(Fault::Unexpected, || {
                        format!("login cycle of u{user} stuck in {state:?} for over 3 s")
                    });
                }
                connect::abort(&conn.stream);
                self.close(slot);
            }
        }
    }

    /// A connection failed or ended: a fault, unless the run is stopping.
    fn lost(&mut self, slot: usize, why: String) {
        if self.sh.phase() != Phase::Stop {
            let user = self.conns[slot].as_ref().map(|c| c.user).unwrap_or(0);
            self.sh.faults.add(Fault::Disconnected, || {
                format!("connection of {}: {why}", self.sh.proto.name(user))
            });
        }
        self.close(slot);
    }

    fn on_event(&mut self, slot: usize, readable: bool, writable: bool) {
        let Some(conn) = self.conns.get_mut(slot).and_then(|c| c.as_mut()) else {
            return;
        };
        if conn.state == State::Connecting {
            if let Err(e) = connect::connect_result(&conn.stream) {
                if e.kind() == io::ErrorKind::NotConnected && !readable && !writable {
                    return;
                }
                self.lost(slot, format!("connect failed: {e}"));
                return;
            }
            conn.state = State::LoggingIn;
            let user = conn.user;
            // `--handshake-only` cycles stop at the server's first line: no login.
            if !(self.sh.plan.handshake_only && matches!(conn.role, Role::Churn(_))) {
                self.sh.proto.login(user, self.sh.plan.acks, &mut conn.out);
            }
            self.queue(slot);
        }
        if writable {
            if let Some(conn) = self.conns[slot].as_mut() {
                conn.writable = true;
            }
            self.queue(slot);
        }
        if readable {
            self.read(slot);
        }
    }

    fn queue(&mut self, slot: usize) {
        if let Some(conn) = self.conns[slot].as_mut()
            && !conn.queued
        {
            conn.queued = true;
            self.dirty.push(slot);
        }
    }

    /// Reads until the socket would block (or ends), handling every complete line.
    fn read(&mut self, slot: usize) {
        if self.conns[slot].as_ref().is_some_and(|c| c.tls.is_some()) {
            return self.read_tls(slot);
        }
        let mut buf = std::mem::take(&mut self.read_buf);
        while let Some(conn) = self.conns[slot].as_mut() {
            let n = match (&conn.stream).read(&mut buf) {
                Ok(0) => {
                    self.on_eof(slot);
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.lost(slot, format!("read failed: {e}"));
                    break;
                }
            };
            if !self.on_plaintext(slot, &buf[..n]) {
                break;
            }
            // No stopping at a short read: a FIN that came with the last bytes raises no new edge,
            // and only the next read (returning 0) reveals it.
        }
        self.read_buf = buf;
    }

    /// [`Self::read`] on a TLS connection: records in, plaintext lines out, and the session's own
    /// records (its handshake) queued for writing.
    fn read_tls(&mut self, slot: usize) {
        let mut buf = std::mem::take(&mut self.read_buf);
        'socket: while let Some(conn) = self.conns[slot].as_mut() {
            let tls = conn.tls.as_mut().expect("a TLS connection");
            match tls.read_tls(&mut &conn.stream) {
                Ok(0) => {
                    self.on_eof(slot);
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.lost(slot, format!("read failed: {e}"));
                    break;
                }
            }
            if let Err(e) = tls.process_new_packets() {
                self.lost(slot, format!("TLS: {e}"));
                break;
            }
            if tls.wants_write() {
                self.queue(slot);
            }
            loop {
                let Some(conn) = self.conns[slot].as_mut() else {
                    break 'socket;
                };
                let tls = conn.tls.as_mut().expect("a TLS connection");
                let n = match tls.reader().read(&mut buf) {
                    Ok(0) => {
                        self.on_eof(slot);
                        break 'socket;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.lost(slot, format!("TLS read failed: {e}"));
                        break 'socket;
                    }
                };
                if !self.on_plaintext(slot, &buf[..n]) {
                    break 'socket;
                }
            }
        }
        self.read_buf = buf;
    }

    /// Splits what the server sent (decrypted, over TLS) into lines and handles each, then sends the
    /// acknowledgement they call for. False when the connection is gone meanwhile.
    fn on_plaintext(&mut self, slot: usize, bytes: &[u8]) -> bool {
        let Some(conn) = self.conns[slot].as_mut() else {
            return false;
        };
        let now = self.sh.now_ns();
        let max = self.sh.proto.max_line();
        let mut decoder = std::mem::replace(&mut conn.decoder, LineDecoder::new(max));
        decoder.feed(bytes, |frame| match frame {
            Frame::Line(line) => self.on_line(slot, line, now),
            Frame::TooLong => self.sh.faults.add(Fault::Unexpected, || {
                format!("a server line over {max} bytes")
            }),
        });
        let Some(conn) = self.conns[slot].as_mut() else {
            return false;
        };
        conn.decoder = decoder;
        if let Some(id) = conn.ack_upto.take() {
            self.sh.proto.ack(id, &mut conn.out);
            self.queue(slot);
        }
        true
    }

    fn on_eof(&mut self, slot: usize) {
        let conn = self.conns[slot].as_ref().expect("live connection");
        if let (State::LoggingOut, Role::Churn(c)) = (conn.state, conn.role) {
            let now = self.sh.now_ns();
            if self.phase == Phase::Measure {
                self.latency.saturating_record(now - conn.dialled_ns);
            }
            self.n_cycles += 1;
            self.sh.progress(now);
            self.close(slot);
            if matches!(self.phase, Phase::Measure | Phase::Prime) {
                self.dial_churn(c);
            }
            return;
        }
        self.lost(slot, "the server closed the connection".into());
    }

    fn conn_mut(&mut self, slot: usize) -> &mut Conn {
        self.conns[slot].as_mut().expect("live connection")
    }

    fn on_line(&mut self, slot: usize, line: &[u8], now: u64) {
        let sh = self.sh;
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let (me, state, role) = (conn.user, conn.state, conn.role);
        if let (true, Role::Churn(c), State::LoggingIn) = (sh.plan.handshake_only, role, state) {
            // The server's first line: the connection (and its TLS handshake) is complete.
            if self.phase == Phase::Measure {
                self.latency
                    .saturating_record(now.saturating_sub(conn.dialled_ns));
            }
            self.n_cycles += 1;
            sh.progress(now);
            connect::abort(&conn.stream);
            self.close(slot);
            if matches!(self.phase, Phase::Measure | Phase::Prime) {
                self.dial_churn(c);
            }
            return;
        }
        let mut holder = None;
        let replied = conn.out.len();
        let incoming = sh.proto.classify(line, &mut holder, &mut conn.out);
        if conn.out.len() != replied {
            self.queue(slot);
        }
        match incoming {
            Incoming::Ready => {
                if state != State::LoggingIn {
                    return;
                }
                match role {
                    Role::Churn(_) => {
                        let conn = self.conn_mut(slot);
                        sh.proto.logout(&mut conn.out);
                        conn.state = State::LoggingOut;
                        self.dialling = self.dialling.saturating_sub(1);
                        self.queue(slot);
                    }
                    Role::Member if sh.plan.workload.to_all() => {
                        let group = sh.plan.workload == Workload::Group;
                        let conn = self.conn_mut(slot);
                        if sh.proto.join(me, group, sh.plan.users, &mut conn.out) {
                            conn.state = State::Joining;
                            self.queue(slot);
                        } else {
                            self.ready(slot);
                        }
                    }
                    Role::Member | Role::Recipient => self.ready(slot),
                }
            }
            Incoming::Joined => {
                if state == State::Joining {
                    self.ready(slot);
                }
            }
            Incoming::Delivery { from, text, id } => {
                if let Some(id) = id.filter(|_| sh.plan.acks) {
                    // Acknowledged once per read, for everything up to the newest.
                    self.conn_mut(slot).ack_upto = Some(id);
                }
                if sh.plan.workload == Workload::Offline {
                    sh.faults.add(Fault::Misdelivered, || {
                        format!("u{me} got a live message meant for an offline user: {text}")
                    });
                    return;
                }
                self.deliver(me, from, text, Some(now));
            }
            Incoming::Offline { id, from, text } => {
                self.conn_mut(slot).ack_upto = Some(id);
                self.deliver(me, from, text, None);
            }
            Incoming::Listed(n) => {
                // `whoelsesince 0` lists exactly the other online users: past sessions ended earlier.
                let others = sh.plan.users as usize - 1;
                if n != others {
                    sh.faults.add(Fault::Misdelivered, || {
                        format!("whoelsesince 0 listed {n} users to u{me}; {others} are online")
                    });
                }
                self.answered(slot, me, now);
            }
            Incoming::Accepted => self.answered(slot, me, now),
            Incoming::Noise => self.n_noise += 1,
            Incoming::Bye => {
                if state != State::LoggingOut && sh.phase() != Phase::Stop {
                    let name = sh.proto.name(me);
                    sh.faults.add(Fault::Unexpected, || {
                        format!(
                            "the server said goodbye to {name}: {}",
                            String::from_utf8_lossy(line)
                        )
                    });
                }
            }
            Incoming::Ignore => {}
            Incoming::Unexpected(what) => {
                let name = sh.proto.name(me);
                sh.faults
                    .add(Fault::Unexpected, || format!("to {name}: {what}"));
            }
        }
    }

    /// The server answered (or acknowledged) the oldest of `me`'s requests in flight.
    fn answered(&mut self, slot: usize, me: u32, now: u64) {
        self.n_accepted += 1;
        if let Some(sent_at) = self.conn_mut(slot).unacked.pop_front() {
            self.latency.saturating_record(now.saturating_sub(sent_at));
            self.credit(me);
            self.sh.progress(now);
        }
    }

    fn ready(&mut self, slot: usize) {
        if let Some(conn) = self.conns[slot].as_mut() {
            conn.state = State::Ready;
            self.dialling = self.dialling.saturating_sub(1);
            self.n_ready += 1;
        }
    }

    /// Checks one delivery to `me` against the plan and marks it in the ledger.
    fn deliver(&mut self, me: u32, from: &str, text: &str, now: Option<u64>) {
        let sh = self.sh;
        let plan = &sh.plan;
        let bad = |why: String| sh.faults.add(Fault::Misdelivered, || why);
        let Some(stamp) = read_text(text.as_bytes()) else {
            bad(format!("u{me} got a text that is not ours: {text:?}"));
            return;
        };
        if sh.proto.user_of(from) != Some(stamp.sender) {
            bad(format!(
                "u{me} got message {} of u{} labelled as from {from:?}",
                stamp.seq, stamp.sender
            ));
            return;
        }
        if stamp.sender >= plan.sender_count() || stamp.seq >= plan.messages {
            bad(format!(
                "u{me} got a message numbered beyond the plan: {text:?}"
            ));
            return;
        }
        let m = u64::from(plan.messages);
        let index = match plan.workload {
            Workload::Direct | Workload::Offline => {
                let (first, count) = match plan.workload {
                    Workload::Direct => (0, plan.users),
                    _ => (plan.users, plan.recipients),
                };
                let meant = pick_peer_across(
                    plan.seed,
                    stamp.sender,
                    stamp.seq,
                    first,
                    count,
                    if plan.workload == Workload::Direct {
                        plan.nodes
                    } else {
                        1
                    },
                );
                if meant != me {
                    bad(format!(
                        "message {} of u{} was for u{meant} but reached u{me}",
                        stamp.seq, stamp.sender
                    ));
                    return;
                }
                u64::from(stamp.sender) * m + u64::from(stamp.seq)
            }
            Workload::Fanout | Workload::Group => {
                if stamp.sender == me {
                    bad(format!("u{me} got its own broadcast {}", stamp.seq));
                    return;
                }
                (u64::from(me) * u64::from(plan.senders) + u64::from(stamp.sender)) * m
                    + u64::from(stamp.seq)
            }
            Workload::Idle | Workload::Login | Workload::History => {
                bad(format!(
                    "u{me} got a message in a run that sends none: {text:?}"
                ));
                return;
            }
        };
        if !sh.ledger.mark(index) {
            sh.faults.add(Fault::Duplicate, || {
                format!("u{me} got message {} of u{} again", stamp.seq, stamp.sender)
            });
            return;
        }
        self.n_delivered += 1;
        if let Some(now) = now {
            self.latency
                .saturating_record(now.saturating_sub(stamp.t_ns));
            self.credit(stamp.sender);
            sh.progress(now);
        } else {
            sh.progress(sh.now_ns());
        }
    }

    fn credit(&mut self, sender: u32) {
        let c = &mut self.credit[sender as usize];
        if *c == 0 {
            self.credit_touched.push(sender);
        }
        *c += 1;
    }

    fn make_eligible(&mut self, s: u32) {
        if !std::mem::replace(&mut self.listed[s as usize], true) {
            self.eligible.push(s);
        }
    }

    fn take_kicks(&mut self) {
        let mut q = self.sh.kicks[self.t]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let kicked = std::mem::take(&mut *q);
        drop(q);
        for s in kicked {
            self.make_eligible(s);
        }
    }

    /// Publishes this batch's counts and credits, and wakes the threads whose senders got some.
    fn publish(&mut self) {
        let c = &self.sh.counters;
        for (n, counter) in [
            (&mut self.n_noise, &c.noise),
            (&mut self.n_sent, &c.sent),
            (&mut self.n_delivered, &c.delivered),
            (&mut self.n_accepted, &c.accepted),
            (&mut self.n_cycles, &c.cycles),
            (&mut self.n_ready, &c.ready),
        ] {
            if *n > 0 {
                counter.fetch_add(std::mem::take(n), Ordering::Relaxed);
            }
        }
        if self.credit_touched.is_empty() {
            return;
        }
        for s in std::mem::take(&mut self.credit_touched) {
            let n = std::mem::take(&mut self.credit[s as usize]);
            self.sh.credited[s as usize].fetch_add(u64::from(n), Ordering::Release);
            let owner = self.sh.owner(s);
            if owner == self.t {
                self.make_eligible(s);
            } else {
                self.kicks_out[owner].push(s);
            }
        }
        for owner in 0..self.kicks_out.len() {
            if self.kicks_out[owner].is_empty() {
                continue;
            }
            self.sh.kicks[owner]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&mut self.kicks_out[owner]);
            let _ = self.sh.pollers[owner].notify();
        }
    }

    fn pump(&mut self) {
        match self.sh.plan.workload {
            Workload::Direct
            | Workload::Fanout
            | Workload::Group
            | Workload::Offline
            | Workload::History => {
                if self.sh.plan.rate.is_some() {
                    self.pump_open();
                } else {
                    self.pump_closed();
                }
            }
            Workload::Idle | Workload::Login => {}
        }
    }

    /// Closed loop: every eligible sender sends while its window has room.
    fn pump_closed(&mut self) {
        let plan = &self.sh.plan;
        let fan = plan.fan();
        let window = u64::from(plan.window) * fan;
        while let Some(s) = self.eligible.pop() {
            self.listed[s as usize] = false;
            let slot = self.slot_of[s as usize];
            if slot == u32::MAX {
                continue;
            }
            let credited = self.sh.credited[s as usize].load(Ordering::Acquire);
            let now = self.sh.now_ns();
            while let Some(conn) = self.conns[slot as usize].as_ref() {
                if conn.state != State::Ready
                    || conn.sent >= plan.messages
                    || u64::from(conn.sent) * fan >= window + credited
                {
                    break;
                }
                self.send(slot as usize, now);
            }
        }
    }

    fn open_left(&self) -> u64 {
        self.senders.len() as u64 * u64::from(self.sh.plan.messages) - self.open_sent
    }

    /// Open loop: send every message whose time has come, stamped with the time it was due, so a server
    /// that falls behind shows it in the latency instead of slowing the generator down.
    fn pump_open(&mut self) {
        let now = self.sh.now_ns();
        let m = self.sh.plan.messages;
        while self.open_left() > 0 && self.next_due_ns <= now {
            let due = self.next_due_ns;
            // The next sender, round robin, that still has messages to send.
            let mut sent = false;
            for _ in 0..self.senders.len() {
                let s = self.senders[self.rr % self.senders.len()];
                self.rr += 1;
                let slot = self.slot_of[s as usize];
                if slot == u32::MAX {
                    continue;
                }
                if let Some(conn) = self.conns[slot as usize].as_ref()
                    && conn.state == State::Ready
                    && conn.sent < m
                {
                    self.send(slot as usize, due);
                    sent = true;
                    break;
                }
            }
            self.open_sent += 1;
            self.next_due_ns = due + self.interval_ns as u64;
            if !sent {
                // Every sender of this thread is gone; nothing more can be sent.
                self.open_sent = self.senders.len() as u64 * u64::from(m);
            }
        }
    }

    /// Writes the next message of the user on `slot`, stamped `t_ns`.
    fn send(&mut self, slot: usize, t_ns: u64) {
        let sh = self.sh;
        let plan = &sh.plan;
        let conn = self.conns[slot].as_mut().expect("live sender");
        let stamp = Stamp {
            sender: conn.user,
            seq: conn.sent,
            t_ns,
        };
        self.scratch.clear();
        if plan.workload != Workload::History {
            write_text(&mut self.scratch, stamp, plan.size);
        }
        match plan.workload {
            Workload::Direct => {
                let to = pick_peer_across(
                    plan.seed,
                    stamp.sender,
                    stamp.seq,
                    0,
                    plan.users,
                    plan.nodes,
                );
                sh.proto.direct(to, &self.scratch, &mut conn.out);
            }
            Workload::Offline => {
                let to = pick_peer(
                    plan.seed,
                    stamp.sender,
                    stamp.seq,
                    plan.users,
                    plan.recipients,
                );
                sh.proto.direct(to, &self.scratch, &mut conn.out);
                conn.unacked.push_back(t_ns);
            }
            Workload::Fanout => sh.proto.broadcast(&self.scratch, &mut conn.out),
            Workload::Group => sh.proto.to_group(&self.scratch, &mut conn.out),
            Workload::History => {
                sh.proto.whoelsesince(0, &mut conn.out);
                conn.unacked.push_back(t_ns);
            }
            Workload::Idle | Workload::Login => return,
        }
        conn.sent += 1;
        self.n_sent += 1;
        self.queue(slot);
    }

    /// Writes every queued connection's bytes, one `write` each unless the socket is full.
    fn flush(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for &slot in &dirty {
            let Some(conn) = self.conns[slot].as_mut() else {
                continue;
            };
            conn.queued = false;
            if conn.state == State::Connecting || !conn.writable {
                continue;
            }
            let mut failed = None;
            if let Some(tls) = conn.tls.as_mut() {
                // Plaintext into the session (it holds it until the handshake is done), records out.
                while conn.out_pos < conn.out.len() {
                    match tls.writer().write(&conn.out[conn.out_pos..]) {
                        Ok(0) => break,
                        Ok(n) => conn.out_pos += n,
                        Err(e) => {
                            failed = Some(format!("TLS write failed: {e}"));
                            break;
                        }
                    }
                }
                while failed.is_none() && tls.wants_write() {
                    match tls.write_tls(&mut &conn.stream) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            conn.writable = false;
                            break;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => failed = Some(format!("write failed: {e}")),
                    }
                }
            }
            while conn.tls.is_none() && conn.out_pos < conn.out.len() {
                match (&conn.stream).write(&conn.out[conn.out_pos..]) {
                    Ok(0) => {
                        failed = Some("the socket accepts no more bytes".to_string());
                        break;
                    }
                    Ok(n) => conn.out_pos += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        conn.writable = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(format!("write failed: {e}"));
                        break;
                    }
                }
            }
            if conn.out_pos == conn.out.len() {
                conn.out.clear();
                conn.out_pos = 0;
                if conn.out.capacity() > 64 * 1024 {
                    conn.out = Vec::new();
                }
            }
            if let Some(why) = failed {
                self.lost(slot, why);
            }
        }
        let mut dirty = dirty;
        dirty.clear();
        self.dirty = dirty;
    }
}
