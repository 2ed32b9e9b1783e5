//! Cluster mode's I/O: the shared log that several natter servers replicate their cores over.
//!
//! The design (docs/DESIGN.md, "Cluster mode"): every node appends the events of its own connections to
//! one Redis Stream and feeds every entry of that stream, in its one order, to its own copy of the core.
//! This module is the log itself, [`RedisLog`]; the server's shell does not use it yet.

mod log;
mod membership;

pub use log::{LogEntry, LogError, LogPosition, RedisLog};
pub use membership::{Dedup, Membership};
