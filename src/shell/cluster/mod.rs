//! Cluster mode's I/O: the shared log that several natter servers replicate their cores over.
//!
//! The design (docs/DESIGN.md, "Cluster mode"): every node appends the events of its own connections to
//! one Redis Stream and feeds every entry of that stream, in its one order, to its own copy of the core.
//! Here is what is kept in Redis: the log itself ([`RedisLog`]), who is in the cluster and alive
//! ([`Membership`]), and the latest snapshot ([`Snapshots`]). The node's tasks that use them are in
//! `shell::server::cluster_node`.

mod connection;
mod error;
mod identity;
mod join;
mod log;
mod membership;
mod seal;
mod snapshots;

pub use connection::{CONNECT_TIMEOUT, Conn, Endpoint, RETRY, Reconnecting};
pub use error::LogError;
pub use identity::{IdentityError, cluster_identity};
pub use join::{JoinError, Joined, Joining, join};
pub use log::{Batch, Echoes, LogWriter, MAX_IN_FLIGHT, RESPONSE_MARGIN, RedisLog, appender};
pub use membership::{ClusterCertificate, LEASE, MAX_NODE, Membership, NODE_SHIFT};
pub use seal::{ClusterKey, SealError};
pub use snapshots::Snapshots;
