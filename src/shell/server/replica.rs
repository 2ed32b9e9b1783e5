//! The driver of a cluster node: what it does with the shared log's entries, the cluster's news
//! (a node dead, this node cut off), snapshots, and leaving.
//!
//! Its own connections' events go to the log ([`Driver::feed`]); the core is fed only from the log,
//! through [`ReplicaLog::apply`], the same pure step the simulator checks. Everything the core makes is
//! handled as on a server alone, except that records need no commit (the log is the record) and only
//! this node's connections are in its table, so lines for the others' fall away.

use std::time::Duration;

use futures_lite::FutureExt;

use super::cluster_node::{SNAPSHOT_MAX_AGE_MS, Taken, node_of, still_wanted_when_fenced};
use super::driver::Driver;
use super::inbox::Typed;
use crate::protocol::{ByeReason, ServerMsg};
use crate::server::{
    Applied, ConnId, Effect, Event, LogEntry, NextLine, OwnedEvent, Through, snapshot,
};
use crate::time::Timestamp;

/// Lines of one connection waiting at its gate (before login) past which its reader stops reading.
const GATE_MAX_BYTES: usize = 64 * 1024;

impl Driver {
    /// One entry of the shared log, fed to the core (after the timers due by its time), its effects
    /// carried out where they concern this node.
    pub(super) fn apply_logged(&mut self, entry: LogEntry) {
        let Some(link) = &mut self.cluster else {
            return;
        };
        if link.lost.is_some() {
            return;
        }
        match link.log.apply(&mut self.core, &entry, &mut self.effects) {
            Applied::Fed => {}
            Applied::Duplicate => {
                tracing::debug!(
                    "log entry {} appended twice; the first counts",
                    entry.position
                );
            }
            Applied::Stale => return,
            Applied::Gap { expected } => {
                // The reader starts again from a snapshot when it finds a hole, so this is a reader
                // that did not: the node cannot follow the cluster any more.
                link.lost = Some(format!(
                    "the cluster's log skipped from entry {expected} to {}",
                    entry.position
                ));
                self.effects.clear();
                return;
            }
        }
        link.applied
            .store(link.log.position(), std::sync::atomic::Ordering::Relaxed);
        // Each node logs what its own connections did (and the timers of its own ticks): the operator
        // reads every login once, on the node it happened on.
        let conn = entry.conn();
        let ours = conn.map_or(entry.node == link.node, |c| node_of(c) == link.node);
        if ours
            && let Some(c) = conn
            && matches!(
                entry.event.event,
                OwnedEvent::Line { .. }
                    | OwnedEvent::LineTooLong { .. }
                    | OwnedEvent::SecretLine { .. }
            )
            && let Some(gate) = link.gates.get_mut(&c)
        {
            gate.handled();
        }
        self.hand_over_effects(conn, ours);
        if ours
            && let Some(c) = conn
            && let Some(link) = &mut self.cluster
            && !self.shared.conns.borrow().contains_key(&c)
        {
            link.gates.remove(&c);
            link.secrets.remove(&c);
        }
        self.open_gates();
        // A session of this node's that another node ended (it thought this one dead): the connection
        // is closed here too, with a word, rather than left open with nobody listening. The word is
        // the fenced node's: this node could not serve it (its client moves to another node), which
        // is what the user hears whichever of the two this node learns first.
        if let OwnedEvent::Disconnected { conn } = entry.event.event
            && node_of(conn) == self.cluster.as_ref().map_or(0, |l| l.node)
            && self.shared.conns.borrow().contains_key(&conn)
        {
            tracing::warn!("{conn}: its session was ended by another node; closing it");
            self.say_bye(conn, ByeReason::Unavailable, entry.event.at);
            self.close_after_flush(conn);
        }
        self.snapshot_if_due();
    }

    /// A line from one of this node's connections, on its way to the log: at once for a logged-in user;
    /// before login, through the connection's gate, one at a time, passwords without their text (see
    /// `server::login::secrets`: no password enters the shared log).
    pub(super) fn read_from_own(&mut self, conn: ConnId, typed: Typed<'_>, now: Timestamp) {
        let Some(link) = &mut self.cluster else {
            return;
        };
        let gate = link.gates.get(&conn);
        if gate.is_none_or(|g| g.is_empty()) && self.core.next_line(conn) == NextLine::Free {
            link.gates.remove(&conn);
            let event = match typed {
                Typed::Line(line) => Event::Line { conn, line },
                Typed::TooLong => Event::LineTooLong { conn },
            };
            return self.feed(event, now);
        }
        let gate = link.gates.entry(conn).or_default();
        match typed {
            Typed::Line(line) => gate.push_line(line),
            Typed::TooLong => gate.push_too_long(),
        }
        if gate.waiting_bytes() > GATE_MAX_BYTES
            && let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn)
        {
            io.gated = true;
        }
        self.open_gate(conn, now);
    }

    /// Lets through every gate what the core now allows (after each entry of the log).
    fn open_gates(&mut self) {
        let Some(link) = &self.cluster else {
            return;
        };
        if link.gates.is_empty() {
            return;
        }
        let conns: Vec<ConnId> = link.gates.keys().copied().collect();
        let now = link.log.log_now();
        for conn in conns {
            self.open_gate(conn, now);
        }
    }

    /// Lets through `conn`'s gate what the core allows now, to the log.
    fn open_gate(&mut self, conn: ConnId, now: Timestamp) {
        let Some(link) = &mut self.cluster else {
            return;
        };
        let Some(gate) = link.gates.get_mut(&conn) else {
            return;
        };
        if !self.shared.conns.borrow().contains_key(&conn) {
            link.gates.remove(&conn);
            link.secrets.remove(&conn);
            return;
        }
        let next = self.core.next_line(conn);
        let mut through = Vec::new();
        gate.release(next, &mut through);
        if gate.waiting_bytes() <= GATE_MAX_BYTES / 2
            && let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn)
            && std::mem::take(&mut io.gated)
        {
            io.resume.notify(usize::MAX);
        }
        if next == NextLine::Free && gate.is_empty() {
            link.gates.remove(&conn);
        }
        for t in through {
            match t {
                Through::Line(line) => self.feed(Event::Line { conn, line: &line }, now),
                Through::TooLong => self.feed(Event::LineTooLong { conn }, now),
                Through::Secret { shape, text } => {
                    if let Some(link) = &mut self.cluster {
                        link.secrets.insert(conn, text);
                    }
                    self.feed(Event::SecretLine { conn, shape }, now);
                }
            }
        }
    }

    /// A password job, in a cluster: the node that holds the connection does it, with the text the core
    /// was not given filled in from what the node kept, and logs the verdict; the others wait for it
    /// in the log. A password stored in the clear is a comparison, done here at once; argon2's work
    /// goes to the workers.
    pub(super) fn own_password_work(&mut self, job: Effect) {
        let Some(link) = self.cluster.as_mut() else {
            return;
        };
        match job {
            Effect::CheckPassword {
                conn,
                job,
                hash,
                password,
            } if node_of(conn) == link.node => {
                let password = password.or_else(|| link.secrets.remove(&conn));
                if crate::password::is_hash(&hash) {
                    self.hasher.submit(Effect::CheckPassword {
                        conn,
                        job,
                        hash,
                        password,
                    });
                } else {
                    let ok = password.is_some_and(|p| crate::password::plain_matches(&hash, &p.0));
                    let now = self.clock.now();
                    self.feed(Event::PasswordChecked { conn, job, ok }, now);
                }
            }
            Effect::HashPassword {
                conn,
                job,
                password,
            } if node_of(conn) == link.node => self.hasher.submit(Effect::HashPassword {
                conn,
                job,
                password: password.or_else(|| link.secrets.remove(&conn)),
            }),
            _ => {}
        }
    }

    /// Takes a snapshot of the core and its place in the log when this node is the one that takes
    /// them and enough has happened since the last; the snapshot task stores it and trims the log.
    fn snapshot_if_due(&mut self) {
        let Some(link) = &mut self.cluster else {
            return;
        };
        let (position, now) = (link.log.position(), link.log.log_now());
        if link.last_snapshot.1 == Timestamp(0) {
            // A fresh cluster's log: its age counts from its first entry, not from 1970.
            link.last_snapshot.1 = now;
        }
        let (last, last_at) = link.last_snapshot;
        let due = position >= last + link.snapshot_every
            || (position > last && now.as_millis() >= last_at.as_millis() + SNAPSHOT_MAX_AGE_MS);
        if !due
            || !link
                .takes_snapshots
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        link.last_snapshot = (position, now);
        let started = std::time::Instant::now();
        let bytes = snapshot::encode(&self.core, &link.log);
        // The previous one still being stored: this one is skipped, the next comes soon enough.
        let _ = link.snapshots.try_send(Taken {
            position,
            bytes,
            encoding: started.elapsed(),
        });
    }

    /// The log was trimmed past this node: it starts again from the cluster's latest snapshot. Its own
    /// connections missed what happened meanwhile, so they are told and closed, and their sessions
    /// ended in the log.
    pub(super) fn restart_from(&mut self, bytes: Vec<u8>, now: Timestamp) {
        let Some(link) = &mut self.cluster else {
            return;
        };
        match snapshot::decode(&bytes) {
            Ok((core, log)) => {
                tracing::warn!(
                    "starting again from the cluster's snapshot at log entry {}",
                    log.position()
                );
                self.core = core;
                link.last_snapshot = (log.position(), log.log_now());
                link.applied
                    .store(log.position(), std::sync::atomic::Ordering::Relaxed);
                link.log = log;
                self.close_own_connections(ByeReason::Unavailable, now);
            }
            Err(e) => {
                link.lost = Some(format!(
                    "the cluster's latest snapshot cannot be loaded: {e}"
                ));
            }
        }
    }

    /// Why this node cannot follow the cluster any more, if it cannot.
    pub(super) fn cluster_lost(&mut self) -> Option<String> {
        self.cluster.as_mut().and_then(|l| l.lost.take())
    }

    /// Another node died: each of its connections ends (in the log, so everywhere at once).
    pub(super) fn end_node(&mut self, node: u64, now: Timestamp) {
        let gone: Vec<ConnId> = self
            .core
            .open_conns()
            .into_iter()
            .filter(|c| node_of(*c) == node)
            .collect();
        if !gone.is_empty() {
            tracing::warn!(
                "cluster node {node} stopped renewing its lease: ending its {} connection(s)",
                gone.len()
            );
        }
        for conn in gone {
            self.feed(Event::Disconnected { conn }, now);
        }
    }

    /// This node lost its lease: the rest of the cluster ends its connections, so it must stop serving
    /// them. Each is told the server cannot serve (a client that knows other nodes moves to one) and
    /// closed; their ends go to the log once Redis is back. Until the lease is renewed, new connections
    /// are told the same.
    pub(super) fn fence(&mut self, now: Timestamp) {
        let Some(link) = &self.cluster else {
            return;
        };
        link.fenced.set(true);
        // What waits to be appended of this node's own connections will not be: their users are told
        // the server cannot serve, so nothing they typed may happen later behind their backs.
        let waiting: Vec<_> = std::iter::from_fn(|| link.queue.try_recv().ok()).collect();
        for entry in waiting {
            if still_wanted_when_fenced(link.node, &entry) {
                let _ = link.append.try_send(entry);
            }
        }
        self.close_own_connections(ByeReason::Unavailable, now);
    }

    /// This node holds its lease again: it takes connections again.
    pub(super) fn unfence(&mut self) {
        if let Some(link) = &self.cluster {
            link.fenced.set(false);
        }
    }

    /// Whether this node has lost its lease and serves nobody.
    pub(super) fn fenced(&self) -> bool {
        self.cluster.as_ref().is_some_and(|l| l.fenced.get())
    }

    /// A connection came while this node cannot serve: told so, and closed (the core never hears of it).
    pub(super) fn refuse_unavailable(&mut self, conn: ConnId, now: Timestamp) {
        self.say_bye(conn, ByeReason::Unavailable, now);
        self.close_after_flush(conn);
    }

    /// Tells each of this node's connections why it goes, ends its session in the log, and closes it.
    fn close_own_connections(&mut self, reason: ByeReason, now: Timestamp) {
        self.end_own_sessions(reason, now);
        let own: Vec<ConnId> = self.shared.conns.borrow().keys().copied().collect();
        for conn in own {
            self.close_after_flush(conn);
        }
        self.flush_dirty();
    }

    /// Tells each of this node's connections it is going (`reason`), and ends its session in the log.
    fn end_own_sessions(&mut self, reason: ByeReason, now: Timestamp) {
        let own: Vec<ConnId> = self.shared.conns.borrow().keys().copied().collect();
        for conn in own {
            self.say_bye(conn, reason, now);
            self.feed(Event::Disconnected { conn }, now);
        }
    }

    /// A cluster node stopping: the cluster goes on. Its own users are told the server is shutting
    /// down (their client moves to another node), and their sessions end in the log, which this node
    /// waits for (boundedly) before it closes their connections.
    pub(super) async fn leave_cluster(&mut self) {
        self.end_own_sessions(ByeReason::Shutdown, self.clock.now());
        if let Some(link) = &self.cluster {
            let appended = async {
                while !link.append.is_empty() {
                    smol::Timer::after(Duration::from_millis(10)).await;
                }
                // The last batch taken from the queue is on its way to Redis.
                smol::Timer::after(Duration::from_millis(100)).await;
            };
            appended
                .or(async {
                    smol::Timer::after(self.opts.shutdown_grace).await;
                })
                .await;
        }
        self.committer.stop().await;
        self.close_all().await;
    }

    /// Queues `BYE reason` for `conn` (said by this node itself, not the core).
    pub(super) fn say_bye(&mut self, conn: ConnId, reason: ByeReason, now: Timestamp) {
        let bye = ServerMsg::Bye(reason);
        self.scratch.clear();
        crate::protocol::render_into(&bye, &mut self.scratch);
        self.queue(conn, &bye, now);
    }
}
