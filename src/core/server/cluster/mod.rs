//! What a cluster adds around the core, as plain values: every piece a node of a cluster decides
//! with, where the unit tests and the simulator reach it, and no sockets, threads or clock.
//!
//! - [`node`]: one node, everything it decides (its connections' events to the log, the lease and
//!   fencing, deaths, ticks, snapshots, trimming, a hole in the log).
//! - [`entry`]: what the shared log holds, and its bytes.
//! - [`replica`]: a copy of the core following the log.
//! - [`snapshot`]: a copy's whole state as bytes, to start from.
//! - [`gates`]: the lines a node lets into the log before login, one at a time, with passwords kept
//!   out of it.

pub mod entry;
pub mod gates;
pub mod node;
pub mod replica;
pub mod snapshot;

pub use entry::{LogDecodeError, LogEntry, LogEvent, LogEventKind};
pub use gates::{Gates, LineGate, Passed, Through};
pub use replica::{Applied, ReplicaLog};
