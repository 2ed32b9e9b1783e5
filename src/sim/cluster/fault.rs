//! What goes wrong in a cluster run, as a value: a fault the simulator draws from the seed at every
//! step, or that a test scripts by name and time ([`SimConfig::script`](super::SimConfig::script)).
//! One carrying out serves both (`inject.rs`), so a scripted run meets exactly what a drawn one may.

/// One thing that goes wrong in a cluster (or a node that joins it late). Nodes are named by their
/// number (the first node is 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The node dies: its process stops, and its users lose their connection (they log in again
    /// elsewhere). The other nodes find it dead once its lease runs out.
    Kill { node: u64 },
    /// A new node joins, from the latest snapshot (or from the start of the log), as a late joiner.
    Join,
    /// The node is frozen for `ms` (a stopped process, a long pause): it reads, renews and appends
    /// nothing, and its users' input waits; then it thaws, perhaps past its lease.
    Freeze { node: u64, ms: u64 },
    /// The node's lease renewals fail for `ms`: past its fence deadline it stops serving.
    LeaseLapse { node: u64, ms: u64 },
    /// For `for_ms`, the node's appends take `delay_ms` to reach Redis, in order (a partition
    /// healing, packets retransmitted), while its lease renewals, on a connection of their own, work.
    SlowLink {
        node: u64,
        delay_ms: u64,
        for_ms: u64,
    },
    /// Redis answers nothing for `ms`.
    RedisStall { ms: u64 },
    /// Redis restarts, down for `down_ms`: of the appends in flight, the first `landed` are stored
    /// and their answers lost, the rest are not; their nodes send them all again once it is back, so
    /// some land twice.
    RedisRestart { down_ms: u64, landed: usize },
}
