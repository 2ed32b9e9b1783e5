//! Who is in the cluster: node numbers, leases that say a node is alive, and the seed every copy of the
//! core shares.
//!
//! A node takes a number when it starts (`INCR`), never reused, so the connections of a node that died
//! and came back are never confused with its new ones. It holds a lease (a key that expires) and renews
//! it well before it runs out; a node whose lease is gone is dead, and the others end its connections.
//! The core's private-chat tokens come from a generator every copy must seed alike: the first node to
//! start stores a random seed, every node reads it.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};

use super::log::LogError;

/// The cluster's keys in Redis, under one prefix.
pub struct Membership {
    con: MultiplexedConnection,
    prefix: String,
}

impl Membership {
    pub async fn connect(url: &str, prefix: &str) -> Result<Membership, LogError> {
        let connect_err = |source| LogError::Connect {
            url: url.to_owned(),
            source,
        };
        let client = Client::open(url).map_err(connect_err)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let con = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(connect_err)?;
        Ok(Membership {
            con,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{what}", self.prefix)
    }

    /// A number for this node, never given before (1, 2, ...).
    pub async fn join(&mut self) -> Result<u64, LogError> {
        Ok(redis::cmd("INCR")
            .arg(self.key("nodes"))
            .query_async(&mut self.con)
            .await?)
    }

    /// The highest node number given so far.
    pub async fn nodes(&mut self) -> Result<u64, LogError> {
        let n: Option<u64> = redis::cmd("GET")
            .arg(self.key("nodes"))
            .query_async(&mut self.con)
            .await?;
        Ok(n.unwrap_or(0))
    }

    /// The cluster's seed: `candidate` if this node is the first to ask, else the one stored.
    pub async fn seed(&mut self, candidate: [u8; 32]) -> Result<[u8; 32], LogError> {
        let key = self.key("seed");
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(candidate.as_slice())
            .arg("NX")
            .query_async(&mut self.con)
            .await?;
        let stored: Vec<u8> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut self.con)
            .await?;
        Ok(<[u8; 32]>::try_from(stored.as_slice()).unwrap_or(candidate))
    }

    /// Renews `node`'s lease for `ttl`.
    pub async fn renew(&mut self, node: u64, ttl: Duration) -> Result<(), LogError> {
        let _: () = redis::cmd("SET")
            .arg(self.key(&format!("lease:{node}")))
            .arg(1)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut self.con)
            .await?;
        Ok(())
    }

    /// Gives the lease up at once (a clean stop: the others need not wait for it to run out).
    pub async fn leave(&mut self, node: u64) -> Result<(), LogError> {
        let _: () = redis::cmd("DEL")
            .arg(self.key(&format!("lease:{node}")))
            .query_async(&mut self.con)
            .await?;
        Ok(())
    }

    /// Which of nodes `1..=highest` hold a lease now (index 0 is node 1), in one round trip.
    pub async fn alive(&mut self, highest: u64) -> Result<Vec<bool>, LogError> {
        if highest == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for node in 1..=highest {
            cmd.arg(self.key(&format!("lease:{node}")));
        }
        let leases: Vec<Option<String>> = cmd.query_async(&mut self.con).await?;
        Ok(leases.into_iter().map(|l| l.is_some()).collect())
    }
}

/// Drops entries a node appended twice. A node whose append failed without an answer appends again, so
/// the log may hold an entry twice; each carries the node's count for it, and the first copy is the one
/// that counts. Every reader sees the same log, so every copy of the core skips the same entries.
#[derive(Debug, Default)]
pub struct Dedup {
    last: rustc_hash::FxHashMap<u64, u64>,
}

impl Dedup {
    /// Whether the entry `seq` of `node` is new (and remembers it).
    pub fn fresh(&mut self, node: u64, seq: u64) -> bool {
        let last = self.last.entry(node).or_insert(0);
        if seq <= *last {
            return false;
        }
        *last = seq;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_entry_is_dropped_and_nodes_count_apart() {
        let mut d = Dedup::default();
        assert!(d.fresh(1, 1));
        assert!(d.fresh(2, 1));
        assert!(d.fresh(1, 2));
        assert!(!d.fresh(1, 2), "the retry of entry 2");
        assert!(!d.fresh(1, 1));
        assert!(d.fresh(1, 3));
    }
}
