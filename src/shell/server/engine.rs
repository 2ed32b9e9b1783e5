//! What the driver hands its inputs to: the core itself on a server alone ([`Standalone`]), or a
//! cluster node (`replica::Replicated`), which appends them to the shared log and feeds its core from
//! there. The driver is built over one of the two when the server starts, and never asks which.

use std::time::Duration;

use natter_core::server::node::LeaseWas;
use natter_core::server::{ConnId, Effect, Event, LogEntry, Record, ServerState};
use natter_core::time::Timestamp;

/// What the cluster's tasks tell a node, through the inbox. (A server alone never hears any.)
#[derive(Debug)]
pub(super) enum News {
    /// The next entry of the shared log.
    Logged(Box<LogEntry>),
    /// The cluster's latest snapshot, which the node asked for (it found a hole in the log): it
    /// starts again from it (the entries after it follow).
    Restart(Vec<u8>),
    /// A renewal of this node's lease, sent at `sent` by the server's clock, worked, and found the
    /// lease as `was`.
    Renewed { sent: Timestamp, was: LeaseWas },
    /// Nodes `1..=highest` were given out, `live` hold a lease, and `applied` says how far each live
    /// one had read the log when it last renewed.
    Members {
        highest: u64,
        live: Vec<u64>,
        applied: Vec<(u64, u64)>,
    },
    /// The snapshot the node handed over at this position was stored.
    SnapshotStored { position: u64 },
}

/// Whatever decides what the server does with its inputs. Every method appends the effects it causes
/// (lines, closes, controls, password jobs, records to commit) to `out`, for the outbox.
pub(super) trait Engine {
    /// An event of this server's own connections, or its shutdown.
    fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>);
    /// News of the cluster.
    fn news(&mut self, news: News, now: Timestamp, out: &mut Vec<Effect>);
    /// When [`Self::handle_timeout`] must next be called.
    fn poll_timeout(&self) -> Option<Timestamp>;
    /// Time has passed to `now`. The driver calls it at the end of every turn, after the turn's
    /// inputs: a cluster node appends what they made then, as one entry of the log.
    fn handle_timeout(&mut self, now: Timestamp, out: &mut Vec<Effect>);
    /// Why the server cannot go on, once that is so.
    fn failed(&mut self) -> Option<String>;
    /// The core (a cluster node's copy), for the operator's questions and the metrics.
    fn core(&self) -> &ServerState;
    /// Whether it serves now (a cluster node cut off from Redis does not): `/health`.
    fn serving(&self) -> bool {
        true
    }
    /// How far behind this one each live node of a cluster last said it was, in entries.
    fn log_lag(&self) -> Vec<(u64, u64)> {
        Vec::new()
    }
    /// The number requests of this server's operator carry in their high bits (a cluster node's).
    fn node(&self) -> u64 {
        0
    }
    /// The next record of what this server's connections did that is durable already elsewhere (a
    /// cluster node's: the shared log is the record), with the address it came from: for the
    /// operator's log only, never committed. A server alone has none: its records are effects.
    fn poll_logged_record(&mut self) -> Option<(Record, Option<std::net::SocketAddr>)> {
        None
    }
    /// Waits, at most `grace`, until what the server handed on to others is safe with them (a cluster
    /// node's last appends in Redis), before its connections are closed.
    async fn settle(&mut self, grace: Duration);
}

/// A server alone: its inputs go straight to the core, which acts on its deadlines by this server's
/// clock.
pub(super) struct Standalone {
    pub(super) core: ServerState,
}

impl Engine for Standalone {
    fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        self.core.handle(event, now, out);
    }

    fn news(&mut self, news: News, _now: Timestamp, _out: &mut Vec<Effect>) {
        tracing::error!("a server alone was told of a cluster: {news:?}");
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.core.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        self.core.handle_timeout(now, out);
    }

    fn failed(&mut self) -> Option<String> {
        None
    }

    fn core(&self) -> &ServerState {
        &self.core
    }

    async fn settle(&mut self, _grace: Duration) {}
}

/// The connection an event is about, if any.
pub(super) fn conn_of(event: &Event<'_>) -> Option<ConnId> {
    match *event {
        Event::Connected { conn, .. }
        | Event::Line { conn, .. }
        | Event::LineTooLong { conn }
        | Event::SecretLine { conn, .. }
        | Event::Disconnected { conn }
        | Event::Drained { conn }
        | Event::PasswordChecked { conn, .. }
        | Event::PasswordHashed { conn, .. } => Some(conn),
        Event::Shutdown | Event::Admin { .. } => None,
    }
}

/// The operator's record of who came and went: logins, logouts, lockouts and new accounts, at the
/// default level, with the address they came from when the event had one. Never a password or a
/// message's text. A lockout's end is a UTC time.
pub(super) fn log_record(record: &Record, peer: Option<std::net::SocketAddr>) {
    let from = peer.map(|p| format!(" from {p}")).unwrap_or_default();
    match record {
        Record::LoggedIn { user, .. } => tracing::info!("{user} logged in{from}"),
        Record::LoggedOut { user, .. } => tracing::info!("{user} logged out"),
        Record::AccountRemoved { user } => tracing::info!("account {user} removed"),
        Record::AccountRenamed { from, to } => tracing::info!("account {from} renamed to {to}"),
        Record::PasswordSet { user, .. } => tracing::info!("{user}'s password changed"),
        Record::Unlocked { user } => tracing::info!("{user} unlocked"),
        Record::Banned { target, until, .. } => match until {
            Some(until) => tracing::info!(
                "{target} banned until {}",
                natter_core::server::oplog::utc(*until)
            ),
            None => tracing::info!("{target} banned for good"),
        },
        Record::Unbanned { target } => tracing::info!("{target} no longer banned"),
        Record::LockedOut { user, until } => tracing::info!(
            "{user} locked after repeated wrong passwords{from}, until {}",
            natter_core::server::oplog::utc(*until)
        ),
        Record::AccountCreated { user, .. } => match peer {
            Some(_) => tracing::info!("{user} registered{from}"),
            None => tracing::info!("account {user} added"),
        },
        _ => {}
    }
}
