//! What decides, inside the composed server: the core itself on a server alone, or a cluster node
//! (which sends its connections' events to the shared log and feeds its copy of the core from
//! there). The rest of the composition never asks which, but here: a node's own queues are drained
//! into the one output.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::input::News;
use super::output::Output;
use crate::protocol::ServerMsg;
use crate::server::cluster::node::{Node, ReadHold, Refusal};
use crate::server::event::{Effect, Event};
use crate::server::record::Record;
use crate::server::state::ServerState;
use crate::time::Timestamp;

/// The core, or a cluster node around its copy of it. Neither is boxed: a server holds one for its
/// whole run and never moves it, and every input reaches it (so the sizes' difference costs a few
/// hundred bytes once, where a box would cost an indirection per input).
#[allow(clippy::large_enum_variant)]
pub(super) enum Engine {
    Alone(ServerState),
    Node(Replicated),
}

/// A cluster node, with what the composition remembers of it.
pub(super) struct Replicated {
    pub(super) node: Node,
    /// Where each live node last said it was in the log (for the metrics).
    pub(super) positions: Vec<(u64, u64)>,
    /// The lease state, position and fence count last reported ([`Output::Lease`]), so that it is
    /// said on change.
    reported: Option<(bool, u64, u64)>,
}

/// What one input made, before the composition hands it over: the core's effects, and a node's
/// records of its own connections (the shared log is their record, so they are never committed).
#[derive(Default)]
pub(super) struct Made {
    pub(super) effects: Vec<Effect>,
    pub(super) records: Vec<(Record, Option<SocketAddr>)>,
}

impl Engine {
    pub(super) fn node(node: Node) -> Self {
        Engine::Node(Replicated {
            node,
            positions: Vec::new(),
            reported: None,
        })
    }

    pub(super) fn core(&self) -> &ServerState {
        match self {
            Engine::Alone(core) => core,
            Engine::Node(r) => r.node.core(),
        }
    }

    /// An event of this server's: what it made goes to `made`, a node's other requests to `out`.
    pub(super) fn handle(
        &mut self,
        event: Event<'_>,
        now: Timestamp,
        made: &mut Made,
        out: &mut VecDeque<Output>,
    ) {
        match self {
            Engine::Alone(core) => core.handle(event, now, &mut made.effects),
            Engine::Node(r) => {
                r.node.handle(event, now);
                r.drain(made, out);
            }
        }
    }

    /// News of the cluster (a server alone hears none: a shell that sends it some is wrong, and says
    /// so).
    pub(super) fn news(
        &mut self,
        news: News,
        now: Timestamp,
        made: &mut Made,
        out: &mut VecDeque<Output>,
    ) {
        let Engine::Node(r) = self else {
            tracing::error!("a server alone was told of a cluster: {news:?}");
            return;
        };
        let node = &mut r.node;
        match news {
            News::Logged(entry) => {
                node.handle_entry(&entry, now);
                node.recycle_entry(*entry);
            }
            News::Restart(bytes) => node.restart(&bytes, now),
            News::Renewed { sent, was } => node.lease_renewed(sent, was, now),
            News::Members {
                highest,
                live,
                applied,
            } => {
                node.members(highest, &live, now);
                node.positions(&applied);
                r.positions = applied;
            }
            News::SnapshotStored { position } => node.snapshot_stored(position),
        }
        r.drain(made, out);
    }

    /// When [`Self::end_turn`] must next be called for the engine's own deadlines.
    pub(super) fn poll_timeout(&self) -> Option<Timestamp> {
        match self {
            Engine::Alone(core) => core.poll_timeout(),
            Engine::Node(r) => r.node.poll_timeout(),
        }
    }

    /// The end of a turn at `now`: the deadlines due are acted on, and a node hands over what it has
    /// to append, as one entry.
    pub(super) fn end_turn(&mut self, now: Timestamp, made: &mut Made, out: &mut VecDeque<Output>) {
        match self {
            Engine::Alone(core) => core.handle_timeout(now, &mut made.effects),
            Engine::Node(r) => {
                r.node.handle_timeout(now);
                r.drain(made, out);
                r.append(out);
            }
        }
    }

    /// A node hands over what it has to append (the end of its last turn, when it stops).
    pub(super) fn append(&mut self, out: &mut VecDeque<Output>) {
        if let Engine::Node(r) = self {
            r.append(out);
        }
    }
}

impl Replicated {
    /// Everything the node asked for since the last call but its appends: effects for its
    /// connections and its refusals (a goodbye and a close, in the same batch as the rest, so a
    /// connection's lines keep their order) to `made`, with its records; the rest to `out`.
    fn drain(&mut self, made: &mut Made, out: &mut VecDeque<Output>) {
        let node = &mut self.node;
        node.drain_effects(&mut made.effects);
        while let Some(Refusal { conn, reason }) = node.poll_refusal() {
            out.push_back(Output::NodeRefused { conn, reason });
            made.effects.push(Effect::Send {
                to: conn,
                msg: ServerMsg::Bye(reason),
            });
            made.effects.push(Effect::Close { conn });
        }
        while let Some(ReadHold { conn, held }) = node.poll_read_hold() {
            out.push_back(Output::HoldReading { conn, held });
        }
        made.records
            .extend(std::iter::from_fn(|| node.poll_record()));
        while let Some(keep_from) = node.poll_trim() {
            out.push_back(Output::Trim { keep_from });
        }
        if node.poll_snapshot_wanted() {
            out.push_back(Output::FetchSnapshot);
        }
        if node.snapshot_due() {
            out.push_back(Output::SnapshotDue);
        }
        let now = (node.fenced(), node.position(), node.fences());
        if self.reported != Some(now) {
            self.reported = Some(now);
            out.push_back(Output::Lease {
                fenced: now.0,
                applied: now.1,
                fences: now.2,
            });
        }
    }

    fn append(&mut self, out: &mut VecDeque<Output>) {
        let fences = self.node.fences();
        while let Some(events) = self.node.poll_append() {
            out.push_back(Output::Append { events, fences });
        }
    }
}
