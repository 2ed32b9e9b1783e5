//! The reference model fed the cluster's log, and every node's lines compared with it.
//!
//! The shared log is one total order of every node's events, so the rules the whole cluster must keep
//! (three failed passwords in a row, at any nodes, lock the account everywhere; a blocked sender's
//! messages and presence never reach the blocker; only a group's current members are shown its
//! messages) are exactly the rules of one server fed that order. [`Reference`] feeds each entry, as it
//! lands, to [`Model`] (natter's rules written a second time, sharing no code with the core), and
//! each node's lines to its own connections, as its users' clients are shown them, must be the model's
//! lines for that connection, in order: a prefix while the node catches up, all of them once it has
//! read the whole log. A node that ignored another's lockout, showed a message the model refused, or
//! told a blocked user of the blocker's presence sends a line the model does not, and the run fails on
//! that line.
//!
//! The log holds what the cores are fed, not what the users typed: a password goes in as its shape
//! only (the node keeps its text) and its verdict follows as an entry of its own. The simulator knows
//! what each client typed, so a password line is given to the model in the clear; at the verdict's
//! place in the log, as the core applies it there, unless the model refuses the login already where
//! the password entered the log (the account locked, or its user online), as the core does too.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{MPhase, Model, Out};
use natter_core::protocol::ServerMsg;
use natter_core::server::cluster::{LogEntry, LogEvent, LogEventKind};
use natter_core::server::{Config, ConnId};
use natter_core::time::Timestamp;

/// The model beside the log, and what each connection was shown against what the model said.
pub struct Reference {
    model: Model,
    /// The last number fed from each node: an entry appended twice (its answer lost) counts once.
    last_seq: BTreeMap<u64, u64>,
    /// Nodes the log said were dead, until they say they are back: nothing of theirs counts.
    dead: BTreeSet<u64>,
    /// The log's time: the latest entry's, never going back.
    log_now: Timestamp,
    /// What each connection's client typed, in order, and how many of those lines the log has had.
    typed: BTreeMap<ConnId, (Vec<String>, usize)>,
    /// Passwords whose verdict is still to come in the log.
    awaiting_verdict: BTreeMap<ConnId, String>,
    /// What the model sent each connection.
    expected: BTreeMap<ConnId, Vec<ServerMsg>>,
    /// How many lines each connection was shown.
    shown: BTreeMap<ConnId, usize>,
    /// Connections their node stopped serving on its own (fenced, left behind): compared no further.
    cut: BTreeSet<ConnId>,
    /// Texts of messages a block discarded before their recipient was shown them (the rule says so).
    pub discarded_by_block: BTreeSet<String>,
}

impl Reference {
    pub fn new(cfg: Config, accounts: &[(String, String)], now: Timestamp) -> Self {
        Reference {
            model: Model::new(cfg, accounts, now),
            last_seq: BTreeMap::new(),
            dead: BTreeSet::new(),
            log_now: Timestamp(0),
            typed: BTreeMap::new(),
            awaiting_verdict: BTreeMap::new(),
            expected: BTreeMap::new(),
            shown: BTreeMap::new(),
            cut: BTreeSet::new(),
            discarded_by_block: BTreeSet::new(),
        }
    }

    /// `conn`'s client typed `line`.
    pub fn typed(&mut self, conn: ConnId, line: &str) {
        self.typed.entry(conn).or_default().0.push(line.to_owned());
    }

    /// The next line `conn`'s client typed that the log has not had yet.
    fn next_typed(&mut self, conn: ConnId) -> Option<String> {
        let (lines, fed) = self.typed.get_mut(&conn)?;
        let line = lines.get(*fed).cloned();
        *fed += 1;
        line
    }

    /// The next entry of the log, as it lands.
    pub fn feed(&mut self, entry: &LogEntry) -> Result<(), String> {
        let last = self.last_seq.entry(entry.node).or_insert(0);
        if entry.seq <= *last {
            return Ok(());
        }
        *last = entry.seq;
        for event in &entry.events {
            // A dead node's events count for nothing (not even their time), until its own word
            // that it is back.
            let back = event.kind == (LogEventKind::NodeBack { node: entry.node });
            if back {
                self.dead.remove(&entry.node);
            }
            if self.dead.contains(&entry.node) {
                continue;
            }
            self.feed_event(entry.position, event)?;
        }
        Ok(())
    }

    /// One event of the entry at `position`, as the node feeds its core: after the deadlines due by
    /// its time, as a batch of its own.
    fn feed_event(&mut self, position: u64, event: &LogEvent) -> Result<(), String> {
        let at = event.at.max(self.log_now);
        self.log_now = at;
        let mut out = Out::default();
        self.model.advance_to(at, &mut out);
        self.record(out);
        let mut out = Out::default();
        match &event.kind {
            LogEventKind::Connected { conn, peer } => self.model.connect(*conn, *peer, &mut out),
            LogEventKind::Line { conn, line } => {
                let typed = self.next_typed(*conn);
                if typed.as_deref().map(str::as_bytes) != Some(&line[..]) {
                    return Err(format!(
                        "log entry {}: {conn} sent {:?}, its client typed {typed:?} next",
                        position,
                        String::from_utf8_lossy(line)
                    ));
                }
                self.line(*conn, line, &mut out);
            }
            LogEventKind::LineTooLong { conn } => {
                self.next_typed(*conn);
                self.model.too_long(*conn, &mut out);
            }
            LogEventKind::SecretLine { conn, .. } => {
                let Some(password) = self.next_typed(*conn) else {
                    return Err(format!(
                        "log entry {}: a password of {conn}, whose client typed no more",
                        position
                    ));
                };
                // Refused before any check (locked, or online elsewhere): at once, as the core does.
                let refused_now = match self.model.conns.get(conn).map(|c| &c.phase) {
                    Some(MPhase::Password(user)) => {
                        self.model.is_locked(user) || self.model.user(user).conn.is_some()
                    }
                    _ => true,
                };
                if refused_now {
                    self.model.line(*conn, password.as_bytes(), &mut out);
                } else {
                    self.awaiting_verdict.insert(*conn, password);
                }
            }
            LogEventKind::PasswordChecked { conn, .. } => {
                if let Some(password) = self.awaiting_verdict.remove(conn) {
                    self.model.line(*conn, password.as_bytes(), &mut out);
                }
            }
            LogEventKind::Disconnected { conn } => {
                self.awaiting_verdict.remove(conn);
                self.model.disconnect(*conn, &mut out);
            }
            // A node found dead: its sessions end here, all the model holds of them.
            LogEventKind::NodeDead { node } => {
                if self.dead.insert(*node) {
                    let gone: Vec<ConnId> = (self.model.conns.keys())
                        .filter(|c| c.node() == *node)
                        .copied()
                        .collect();
                    for conn in gone {
                        self.awaiting_verdict.remove(&conn);
                        self.model.disconnect(conn, &mut out);
                    }
                }
            }
            // (Taken in `feed`, from the node itself only.)
            LogEventKind::NodeBack { .. } => {}
            // The cluster simulator's clients make no operator's actions (the world's do).
            LogEventKind::Admin { .. } => {}
            // Every simulated client reads all it is sent at once: the model answers a drain watch
            // at the end of the batch that asked for it.
            // The simulated workers do every job they are given.
            LogEventKind::Drained { .. }
            | LogEventKind::PasswordHashed { .. }
            | LogEventKind::PasswordJobFailed { .. }
            | LogEventKind::Shutdown
            | LogEventKind::Tick => {}
        }
        self.model.end_batch(&mut out);
        self.record(out);
        Ok(())
    }

    /// A command line of `conn`'s: a block's discards are noted (the sender was told `STORED`, and
    /// the rule says the blocker is never shown it).
    fn line(&mut self, conn: ConnId, line: &[u8], out: &mut Out) {
        let blocked = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.strip_prefix("block "))
            .map(|u| u.trim().to_owned());
        let me = self.model.user_on(conn).cloned();
        let queued = |m: &Model| -> BTreeSet<String> {
            match (&me, &blocked) {
                (Some(me), Some(b)) => m
                    .user(me)
                    .queue
                    .iter()
                    .filter(|q| &*q.msg.from == b.as_str())
                    .map(|q| q.msg.text.clone())
                    .collect(),
                _ => BTreeSet::new(),
            }
        };
        let before = queued(&self.model);
        self.model.line(conn, line, out);
        let after = queued(&self.model);
        self.discarded_by_block
            .extend(before.difference(&after).cloned());
    }

    fn record(&mut self, out: Out) {
        for (conn, msg) in out.sends {
            self.expected.entry(conn).or_default().push(msg);
        }
    }

    /// `conn`'s client was shown `msg` by its node: it must be the model's next line for it.
    pub fn shown(&mut self, conn: ConnId, msg: &ServerMsg) -> Result<(), String> {
        if self.cut.contains(&conn) {
            return Ok(());
        }
        let n = self.shown.entry(conn).or_default();
        let expected = self.expected.get(&conn).and_then(|e| e.get(*n));
        if expected != Some(msg) {
            let before = self.expected.get(&conn).map_or(&[][..], |e| &e[..*n]);
            let from = before.len().saturating_sub(6);
            return Err(format!(
                "{conn} was shown {msg:?} as its line {n}, where the model (fed the log so far) \
                 says {expected:?}; the lines before: {:?}",
                &before[from..]
            ));
        }
        *n += 1;
        Ok(())
    }

    /// Where the model sent a message with `text`, and whether each connection was shown it: for a
    /// failure's report.
    pub fn trail(&self, text: &str) -> Vec<String> {
        let mut trail = Vec::new();
        let ids: BTreeSet<u64> = self
            .expected
            .values()
            .flatten()
            .filter_map(|m| match m {
                ServerMsg::Message { id, text: t, .. }
                | ServerMsg::OfflineMessage { id, text: t, .. }
                | ServerMsg::GroupMessage { id, text: t, .. } => (t == text).then_some(*id),
                _ => None,
            })
            .collect();
        for (conn, lines) in &self.expected {
            let shown = self.shown.get(conn).copied().unwrap_or(0);
            for (i, m) in lines.iter().enumerate() {
                let about = match m {
                    ServerMsg::Message { text: t, .. }
                    | ServerMsg::OfflineMessage { text: t, .. }
                    | ServerMsg::GroupMessage { text: t, .. } => t == text,
                    ServerMsg::Sent { id, .. }
                    | ServerMsg::Delivered { id, .. }
                    | ServerMsg::Stored { id, .. } => ids.contains(id),
                    _ => false,
                };
                if about {
                    trail.push(format!(
                        "{conn} line {i} (shown {shown}{}): {m:?}",
                        if self.cut.contains(conn) { ", cut" } else { "" }
                    ));
                }
            }
        }
        trail
    }

    /// `conn`'s node stopped serving it on its own: what the model says it would have been shown
    /// next is lost with the connection.
    pub fn cut(&mut self, conn: ConnId) {
        self.cut.insert(conn);
    }

    /// Once every node has read the whole log: every connection still served was shown every line the
    /// model sent it.
    pub fn all_shown(&self, served: impl Fn(ConnId) -> bool) -> Result<(), String> {
        for (conn, lines) in &self.expected {
            if self.cut.contains(conn) || !served(*conn) {
                continue;
            }
            let n = self.shown.get(conn).copied().unwrap_or(0);
            if n < lines.len() {
                return Err(format!(
                    "{conn} was shown {n} lines once all was quiet; the model sent it {}, the \
                     next {:?}",
                    lines.len(),
                    &lines[n..]
                ));
            }
        }
        Ok(())
    }
}
