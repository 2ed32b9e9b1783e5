//! Who is in the cluster: node numbers, leases that say a node is alive, and the seed every copy of the
//! core shares.
//!
//! A node takes a number when it starts (`INCR`), never reused, so the connections of a node that died
//! and came back are never confused with its new ones. It holds a lease (a key that expires) and renews
//! it well before it runs out; a node whose lease is gone is dead, and the others end its connections.
//! The core's private-chat tokens come from a generator every copy must seed alike: the first node to
//! start stores a random seed, every node reads it. Every node must run the same rules and accounts
//! (their copies of the core must agree): the first stores what it runs, the others compare.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};

use super::log::LogError;

/// How long a lease lasts. A node renews it every second and checks the others' as often, so a dead
/// node's users are logged out within the lease, a check, and the log's round trip.
pub const LEASE: Duration = Duration::from_secs(5);

/// The node's number is in the high bits of its connection ids: ids are unique across the cluster, and
/// every node can tell whose a connection is.
pub const NODE_SHIFT: u32 = 48;

/// The highest node number that fits in a connection id.
pub const MAX_NODE: u64 = (1 << (64 - NODE_SHIFT)) - 1;

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

    /// Renews `node`'s lease for `ttl`, saying how far it has read the log (`applied`), so that the log
    /// is never trimmed past a live node.
    pub async fn renew(&mut self, node: u64, ttl: Duration, applied: u64) -> Result<(), LogError> {
        let ttl = ttl.as_millis() as u64;
        let _: () = redis::pipe()
            .cmd("SET")
            .arg(self.key(&format!("lease:{node}")))
            .arg(1)
            .arg("PX")
            .arg(ttl)
            .ignore()
            .cmd("SET")
            .arg(self.key(&format!("applied:{node}")))
            .arg(applied)
            .arg("PX")
            .arg(ttl)
            .ignore()
            .query_async(&mut self.con)
            .await?;
        Ok(())
    }

    /// The lowest position any live node of `1..=highest` but `me` has read up to (`None`: no other
    /// node says). (`me` knows its own position better than its last report, up to a second old.)
    pub async fn slowest_applied(
        &mut self,
        highest: u64,
        me: u64,
    ) -> Result<Option<u64>, LogError> {
        let others: Vec<u64> = (1..=highest).filter(|n| *n != me).collect();
        if others.is_empty() {
            return Ok(None);
        }
        let mut cmd = redis::cmd("MGET");
        for node in &others {
            cmd.arg(self.key(&format!("applied:{node}")));
        }
        let applied: Vec<Option<u64>> = cmd.query_async(&mut self.con).await?;
        Ok(applied.into_iter().flatten().min())
    }

    /// Checks that this node runs the cluster's rules and accounts: the first node to start stores its
    /// own (`config`, the accounts' names and a digest of names and passwords), every other node must
    /// have the same. Returns the differences, for an error (empty: they agree).
    pub async fn agree(
        &mut self,
        config: &crate::server::Config,
        names: &[&str],
        accounts_digest: &str,
    ) -> Result<Vec<String>, LogError> {
        let ours = serde_json::to_string(config).unwrap_or_default();
        let names_joined = names.join(" ");
        let _: () = redis::cmd("HSETNX")
            .arg(self.key("origin"))
            .arg("config")
            .arg(&ours)
            .query_async(&mut self.con)
            .await?;
        let _: () = redis::cmd("HSETNX")
            .arg(self.key("origin"))
            .arg("accounts")
            .arg(format!("{accounts_digest} {names_joined}"))
            .query_async(&mut self.con)
            .await?;
        let (config_stored, accounts_stored): (Option<String>, Option<String>) =
            redis::cmd("HMGET")
                .arg(self.key("origin"))
                .arg("config")
                .arg("accounts")
                .query_async(&mut self.con)
                .await?;
        let mut differences = Vec::new();
        if let Some(theirs) = config_stored
            .as_deref()
            .and_then(|c| serde_json::from_str::<crate::server::Config>(c).ok())
        {
            differences.extend(crate::server::snapshot::config_differences(&theirs, config));
        }
        if let Some(stored) = accounts_stored
            && let Some((digest, their_names)) = stored.split_once(' ').or(Some((&stored, "")))
            && digest != accounts_digest
        {
            let theirs: std::collections::BTreeSet<&str> = their_names.split(' ').collect();
            let ours: std::collections::BTreeSet<&str> = names.iter().copied().collect();
            let missing: Vec<&str> = theirs.difference(&ours).copied().collect();
            let extra: Vec<&str> = ours.difference(&theirs).copied().collect();
            let mut what = String::from("the accounts differ from the cluster's");
            if !missing.is_empty() {
                what.push_str(&format!("; missing here: {}", missing.join(", ")));
            }
            if !extra.is_empty() {
                what.push_str(&format!("; not in the cluster: {}", extra.join(", ")));
            }
            if missing.is_empty() && extra.is_empty() {
                what.push_str("; the names are the same, so a password differs");
            }
            differences.push(what);
        }
        Ok(differences)
    }

    /// Gives the lease up at once (a clean stop: the others need not wait for it to run out).
    pub async fn leave(&mut self, node: u64) -> Result<(), LogError> {
        let _: () = redis::cmd("DEL")
            .arg(self.key(&format!("lease:{node}")))
            .query_async(&mut self.con)
            .await?;
        Ok(())
    }

    /// What Redis's settings put at risk, if anything: without the append-only file synced on every
    /// write, what Redis acknowledged (and so what natter acknowledged) can be lost when it restarts.
    /// `None` when they are safe, or cannot be read (some hosted Redis refuse `CONFIG`).
    pub async fn durability_warning(&mut self) -> Option<String> {
        let get = |name: &'static str| {
            let mut con = self.con.clone();
            async move {
                let v: Vec<String> = redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(name)
                    .query_async(&mut con)
                    .await
                    .ok()?;
                v.get(1).cloned()
            }
        };
        let appendonly = get("appendonly").await?;
        let fsync = get("appendfsync").await?;
        if appendonly != "yes" {
            return Some(
                "Redis runs without its append-only file (appendonly no): a restart of Redis loses \
                 messages natter has acknowledged. Start it with --appendonly yes --appendfsync always"
                    .into(),
            );
        }
        if fsync != "always" {
            return Some(format!(
                "Redis syncs its append-only file '{fsync}', not on every write: a crash of its host \
                 can lose up to a second of acknowledged messages. Start it with --appendfsync always"
            ));
        }
        None
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
