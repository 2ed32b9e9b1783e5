//! The cluster's invariants that are checked on the log as it lands (a session the log ended takes
//! nothing more) and at the end of a run, once the faults are over and the cluster is quiet (replicas
//! agree, nothing acknowledged is lost, nothing shown twice, no session left at a dead node).

use std::collections::BTreeSet;

use super::users::Told;
use super::{STEP_MS, Sim, WaitingInput, name, violation};
use crate::invariants::Violation;
use natter_core::server::cluster::{LogEntry, LogEventKind};

impl Sim {
    /// A session the log ended takes nothing more: checked on what every copy of the core takes of
    /// `event` (an event of `entry`), before it is fed. (A node found dead has its sessions ended, and
    /// its later events are not taken until it is back.)
    pub(super) fn check_taken(
        &mut self,
        entry: &LogEntry,
        event: &LogEventKind,
    ) -> Result<(), Violation> {
        let (core, log) = &self.oracle;
        if !log.takes(entry.node, event) {
            return Ok(());
        }
        match event {
            LogEventKind::Disconnected { conn } => {
                self.ended.insert(*conn);
            }
            LogEventKind::NodeDead { node } => self
                .ended
                .extend(core.open_conns().into_iter().filter(|c| c.node() == *node)),
            LogEventKind::Line { conn, line } if self.ended.contains(conn) => {
                return Err(violation(
                    name::ENDED_SESSION,
                    format!(
                        "log entry {}: a line of {conn} ({:?}) after the log ended its session",
                        entry.position,
                        String::from_utf8_lossy(line)
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Faults over: every node thaws and renews, Redis answers, and the cluster runs until it is
    /// quiet; then every user logs out and in again (collecting what was stored for it).
    pub(super) fn settle(&mut self) -> Result<(), Violation> {
        let now = self.now;
        self.redis.stalled_until = self.redis.stalled_until.min(now);
        for n in &mut self.nodes {
            n.frozen_until = now;
            n.renewals_fail_until = now;
            n.slow_until = now;
        }
        if self.nodes.is_empty() {
            self.join();
        }
        for _ in 0..(12_000 / STEP_MS) {
            self.step()?;
        }
        for u in 0..self.users.len() {
            if let Some(s) = self.users[u].session {
                self.input(s.node, s.conn, WaitingInput::Line("logout".into()));
            }
        }
        for _ in 0..(2_000 / STEP_MS) {
            self.step()?;
        }
        // Everyone logs in again (retrying while refused: a lockout or a throttle runs out).
        self.settling = true;
        for _ in 0..120 {
            if self
                .users
                .iter()
                .all(|u| u.session.is_some_and(|s| s.welcomed))
            {
                break;
            }
            for u in 0..self.users.len() {
                if self.users[u].session.is_none() {
                    let i = u % self.nodes.len();
                    self.connect(u, i);
                }
            }
            for _ in 0..(1_000 / STEP_MS) {
                self.step()?;
            }
        }
        for _ in 0..(2_000 / STEP_MS) {
            self.step()?;
        }
        // A deadline may still fall due in those last steps (an acknowledgement's commit, a held
        // presence), and its entry land after a node's last read: go on until every node has read
        // the whole log, or a bound that only a log that never goes quiet reaches.
        for _ in 0..(10_000 / STEP_MS) {
            let end = self.redis.highest_position();
            if self.redis.idle() && self.nodes.iter().all(|n| n.node().position() == end) {
                break;
            }
            self.step()?;
        }
        Ok(())
    }

    pub(super) fn check_end(&mut self) -> Result<(), Violation> {
        if let Some(m) = &self.mismatch {
            return Err(violation(name::ACKNOWLEDGED_KEPT, m.clone()));
        }
        if let Some(u) = self.users.iter().find(|u| u.broken.is_some()) {
            return Err(violation(
                name::SEEN_RULES,
                format!(
                    "{} (its last lines: {:?})",
                    u.broken.clone().unwrap_or_default(),
                    u.last
                ),
            ));
        }
        let nodes = &self.nodes;
        self.reference
            .all_shown(|c| nodes.iter().any(|n| n.node().is_own(c)))
            .map_err(|e| violation(name::MODEL, e))?;
        // Replicas agree: every node has read the whole log, and holds the same state.
        let end = self.redis.highest_position();
        let mut states = Vec::new();
        for n in &self.nodes {
            if n.node().position() != end {
                return Err(violation(
                    name::REPLICAS,
                    format!(
                        "node {} is at entry {} of {end} once all is quiet",
                        n.node().id(),
                        n.node().position()
                    ),
                ));
            }
            // Compared as values: a hash map's order in the bytes depends on its history (a node
            // started from a snapshot built it anew), never on what it holds.
            let state = serde_json::to_value((n.node().core(), n.node().log()))
                .expect("the core's state is plain data that serde always encodes");
            states.push((n.node().id(), state));
        }
        if let Some(n) = self.nodes.first() {
            let running: BTreeSet<u64> = self.nodes.iter().map(|n| n.node().id()).collect();
            if let Some(orphan) = n
                .node()
                .core()
                .open_conns()
                .into_iter()
                .find(|c| !running.contains(&c.node()))
            {
                return Err(violation(
                    name::NO_ORPHANS,
                    format!(
                        "{orphan} is open at log entry {end}, but its node {} is not running",
                        orphan.node()
                    ),
                ));
            }
        }
        if let Some((first, bytes)) = states.first()
            && let Some((other, _)) = states.iter().find(|(_, b)| b != bytes)
        {
            return Err(violation(
                name::REPLICAS,
                format!("nodes {first} and {other} hold different states at log entry {end}"),
            ));
        }
        for u in &self.users {
            for (text, times) in &u.shown {
                self.report.shown += 1;
                if *times > 1 {
                    return Err(violation(
                        name::SHOWN_ONCE,
                        format!("{} was shown {text:?} {times} times", u.name),
                    ));
                }
            }
        }
        for a in &self.acked {
            let recipient = &self.users[a.to];
            // Blocking a sender discards what it left for the blocker, stored or not.
            if recipient.shown.contains_key(&a.text)
                || self.reference.discarded_by_block.contains(&a.text)
            {
                continue;
            }
            let with_node = a.told == Told::Delivered
                && self
                    .delivered_to
                    .get(&a.text)
                    .is_some_and(|c| recipient.disrupted.contains(c));
            if with_node && !self.cfg.strict {
                self.report.lost_with_node.push(a.text.clone());
                continue;
            }
            let kept = self.nodes.first().map(|n| {
                n.node()
                    .core()
                    .stored_messages(&recipient.name)
                    .iter()
                    .any(|m| m.text == a.text)
            });
            return Err(violation(
                name::ACKNOWLEDGED_KEPT,
                format!(
                    "{:?} to {}, acknowledged to its sender as {:?}, was never shown (its \
                     recipient: session {:?}, {} logins, disrupted {:?}, last sent {:?}; still in \
                     its mailbox: {kept:?}; delivered to {:?}; the model sent it: {:?}; its \
                     sender's last lines: {:?})",
                    a.text,
                    recipient.name,
                    a.told,
                    recipient.session,
                    recipient.logins,
                    recipient.disrupted,
                    recipient.last,
                    self.delivered_to.get(&a.text),
                    self.reference.trail(&a.text),
                    self.users[a.from].last,
                ),
            ));
        }
        Ok(())
    }
}
