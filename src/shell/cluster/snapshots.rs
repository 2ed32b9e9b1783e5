//! The cluster's latest snapshot in Redis, and trimming the log behind it.
//!
//! One snapshot is kept (`<prefix>:snapshot`, a hash of its position and its bytes), stored only
//! forwards: a snapshot older than the one stored is dropped (two nodes may both think it is their
//! turn for a moment). The log is trimmed as far as the node says (`server::cluster::node`: up to its stored
//! snapshot, no further than any live node has read), and never past the stored snapshot, which the
//! script checks, so a node that is keeping up never loses an entry it has not read; one that fell
//! behind further finds a hole in the numbers, and starts again from the snapshot.

use std::time::Duration;

use super::connection::{Conn, Endpoint};
use super::error::LogError;
use super::seal::{ClusterKey, snapshot_context};

/// A snapshot of a large cluster is megabytes: room for it to cross the network.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// Stores a snapshot if it is newer than the one stored. KEYS: the snapshot hash. ARGV: position,
/// bytes.
const STORE: &str = r"
local stored = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
if stored >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'at', ARGV[1], 'state', ARGV[2])
return 1
";

/// Trims the log behind the stored snapshot (never past it). KEYS: the snapshot hash, the log. ARGV:
/// the first position to keep.
const TRIM: &str = r"
local stored = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
local keep = math.min(tonumber(ARGV[1]), stored + 1)
if keep <= 1 then return 0 end
return redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. keep)
";

/// Where the snapshot lives.
pub struct Snapshots {
    con: Conn,
    snapshot_key: String,
    log_key: String,
    seal: Option<ClusterKey>,
}

impl Snapshots {
    pub async fn connect(
        endpoint: &Endpoint,
        prefix: &str,
        seal: Option<ClusterKey>,
    ) -> Result<Snapshots, LogError> {
        Ok(Snapshots {
            con: endpoint.connect().await?,
            snapshot_key: format!("{prefix}:snapshot"),
            log_key: format!("{prefix}:log"),
            seal,
        })
    }

    /// The latest snapshot's bytes (opened, in a sealed cluster), if one was ever stored.
    pub async fn latest(&mut self) -> Result<Option<Vec<u8>>, LogError> {
        let (at, state): (Option<u64>, Option<Vec<u8>>) = self
            .con
            .query(
                redis::cmd("HMGET")
                    .arg(&self.snapshot_key)
                    .arg("at")
                    .arg("state"),
                ANSWER_WITHIN,
            )
            .await?;
        let Some(state) = state else {
            return Ok(None);
        };
        match &self.seal {
            None => Ok(Some(state)),
            Some(key) => key
                .open(
                    state,
                    &snapshot_context(&self.snapshot_key, at.unwrap_or(0)),
                )
                .map(Some)
                .map_err(|_| LogError::Sealing {
                    what: format!(
                        "the cluster's snapshot (at log entry {}) does not open with this node's \
                         cluster key (changed in Redis?)",
                        at.unwrap_or(0)
                    ),
                }),
        }
    }

    /// The position of the latest snapshot (0: none).
    pub async fn latest_position(&mut self) -> Result<u64, LogError> {
        let at: Option<u64> = self
            .con
            .query(
                redis::cmd("HGET").arg(&self.snapshot_key).arg("at"),
                ANSWER_WITHIN,
            )
            .await?;
        Ok(at.unwrap_or(0))
    }

    /// Stores `bytes` (sealed, in a sealed cluster), taken at `position`, unless a snapshot as new is
    /// stored already. Whether it was stored.
    pub async fn store(&mut self, position: u64, bytes: &[u8]) -> Result<bool, LogError> {
        let sealed;
        let bytes = match &self.seal {
            Some(key) => {
                sealed = key.seal(bytes, &snapshot_context(&self.snapshot_key, position));
                &sealed[..]
            }
            None => bytes,
        };
        let stored: i64 = self
            .con
            .query(
                redis::cmd("EVAL")
                    .arg(STORE)
                    .arg(1)
                    .arg(&self.snapshot_key)
                    .arg(position)
                    .arg(bytes),
                ANSWER_WITHIN,
            )
            .await?;
        Ok(stored == 1)
    }

    /// Trims the log's entries before `keep_from`, but none after the stored snapshot. How many went.
    pub async fn trim(&mut self, keep_from: u64) -> Result<u64, LogError> {
        Ok(self
            .con
            .query(
                redis::cmd("EVAL")
                    .arg(TRIM)
                    .arg(2)
                    .arg(&self.snapshot_key)
                    .arg(&self.log_key)
                    .arg(keep_from),
                ANSWER_WITHIN,
            )
            .await?)
    }
}
