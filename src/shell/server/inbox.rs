//! What the readiness loop and the other tasks hand to the driver: one batch of inputs, with every line's bytes in a
//! single arena, so a line costs a copy into a buffer that is reused, never an allocation of its own.

use std::net::SocketAddr;
use std::ops::Range;

use super::hasher::Answer;
use natter_core::server::ConnId;

/// One input for the core.
#[derive(Debug)]
pub(super) enum Input {
    /// A connection was accepted (its I/O state is already registered); `irc`: on the IRC listener.
    Open {
        conn: ConnId,
        peer: SocketAddr,
        irc: bool,
    },
    /// A complete line; its bytes are `Inbox::bytes[range]`.
    Line { conn: ConnId, range: Range<usize> },
    /// The client sent a line over the limit; the decoder is skipping it.
    TooLong { conn: ConnId },
    /// The connection ended (end of stream, an error, or the shell closed it).
    Gone { conn: ConnId },
    /// Everything queued for the connection was written since the core asked to be told.
    Drained { conn: ConnId },
    /// The shell turned a client away by itself (the wrong protocol at the port, no descriptor
    /// left, not reading what it was sent), for the operator's log.
    Refused {
        peer: SocketAddr,
        what: natter_core::server::oplog::Refusal,
    },
    /// A password worker finished a job.
    Answer(Answer),
    /// Cluster mode: news of the cluster, for the node.
    Cluster(natter_core::server::composed::News),
    /// The operator asks for an action (`who` did, for the log); the answer goes to `reply`.
    Admin {
        action: Box<natter_core::server::Admin>,
        who: String,
        reply: smol::channel::Sender<natter_core::server::AdminAnswer>,
    },
    /// The operator asks what the core holds (who is online, the bans).
    Query {
        query: super::query::Query,
        reply: smol::channel::Sender<Vec<String>>,
    },
    /// The operator asks for a copy of the store, written between two commits.
    Backup {
        to: std::path::PathBuf,
        reply: smol::channel::Sender<Result<(), String>>,
    },
    /// The metrics listener asks for the figures only the core has.
    Scrape(crate::shell::metrics::ScrapeRequest),
}

/// A batch being gathered (by the readiness loop and tasks) or handled (by the driver): the two swap, keeping capacities.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    pub(super) inputs: Vec<Input>,
    pub(super) bytes: Vec<u8>,
}

impl Inbox {
    pub(super) fn push(&mut self, input: Input) {
        self.inputs.push(input);
    }

    pub(super) fn push_line(&mut self, conn: ConnId, line: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(line);
        self.inputs.push(Input::Line {
            conn,
            range: start..self.bytes.len(),
        });
    }

    pub(super) fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Whether reading should stop until the driver has taken this batch: bounds the memory a flood of
    /// lines can take, whatever the number of connections.
    pub(super) fn is_full(&self) -> bool {
        self.bytes.len() >= MAX_BATCH_BYTES || self.inputs.len() >= MAX_BATCH_INPUTS
    }

    pub(super) fn clear(&mut self) {
        self.inputs.clear();
        self.bytes.clear();
    }

    /// Gives back what a burst made these buffers grow to (they are empty between batches).
    pub(super) fn shrink(&mut self) {
        self.inputs.shrink_to(1024);
        self.bytes.shrink_to(64 * 1024);
    }
}

/// Line bytes gathered before reading waits for the driver.
const MAX_BATCH_BYTES: usize = 8 << 20;
/// Inputs gathered before reading waits for the driver.
const MAX_BATCH_INPUTS: usize = 256 * 1024;
