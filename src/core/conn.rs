//! A connection's number, as the shell gives it: what the server's core and the IRC fronts before
//! it both key a connection by, so it stands below both.

/// A connection, numbered by the shell. Numbers are never reused within one run.
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub struct ConnId(pub u64);

/// In a cluster, a connection's number carries its node's number in its high bits, so ids are unique
/// across the cluster and every copy of the core can tell whose a connection is.
pub const NODE_SHIFT: u32 = 48;

impl ConnId {
    /// The cluster node this connection belongs to (0: a server alone).
    pub fn node(self) -> u64 {
        self.0 >> NODE_SHIFT
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}
