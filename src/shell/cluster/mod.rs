//! Cluster mode's I/O: the shared log that several natter servers replicate their cores over.
//!
//! The design (docs/DESIGN.md, "Cluster mode"): every node appends the events of its own connections to
//! one Redis Stream and feeds every entry of that stream, in its one order, to its own copy of the core.
//! Here is what is kept in Redis: the log itself ([`RedisLog`]), who is in the cluster and alive
//! ([`Membership`]), and the latest snapshot ([`Snapshots`]). The node's tasks that use them are in
//! `shell::server::cluster_node`.

mod join;
mod log;
mod membership;
mod snapshots;

pub use join::{JoinError, Joined, join};
pub use log::{LogError, RedisLog};
pub use membership::{LEASE, MAX_NODE, Membership, NODE_SHIFT};
pub use snapshots::Snapshots;
