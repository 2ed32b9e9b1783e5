//! The cluster's latest snapshot in Redis, and trimming the log behind it.
//!
//! One snapshot is kept (`<prefix>:snapshot`, a hash of its position and its bytes). Storing one and
//! trimming the log are one script, so they happen together or not at all, and only forwards: a
//! snapshot older than the one stored is dropped (two nodes may both think it is their turn for a
//! moment). The log is trimmed only up to the snapshot's position and no further than any live node has
//! read (the caller passes the lower of the two), so a node that is keeping up never loses an entry it
//! has not read; one that fell behind further finds a hole in the numbers, and starts again from the
//! snapshot.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Script};

use super::log::LogError;

/// Stores a snapshot if it is newer than the one stored, then trims the log.
/// KEYS: the snapshot hash, the log. ARGV: position, bytes, the first position to keep.
const STORE: &str = r"
local stored = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
if stored >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'at', ARGV[1], 'state', ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. ARGV[3])
return 1
";

/// Trims the log further behind the stored snapshot (never past it), once the nodes that held it back
/// have read on. KEYS: the snapshot hash, the log. ARGV: the first position to keep.
const TRIM: &str = r"
local stored = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
local keep = math.min(tonumber(ARGV[1]), stored + 1)
if keep <= 1 then return 0 end
return redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. keep)
";

/// Where the snapshot lives.
pub struct Snapshots {
    con: MultiplexedConnection,
    snapshot_key: String,
    log_key: String,
    script: Script,
    trim: Script,
}

impl Snapshots {
    pub async fn connect(url: &str, prefix: &str) -> Result<Snapshots, LogError> {
        let connect_err = |source| LogError::Connect {
            url: url.to_owned(),
            source,
        };
        let client = Client::open(url).map_err(connect_err)?;
        // A snapshot of a large cluster is megabytes: room for it to cross the network.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(30)));
        let con = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(connect_err)?;
        Ok(Snapshots {
            con,
            snapshot_key: format!("{prefix}:snapshot"),
            log_key: format!("{prefix}:log"),
            script: Script::new(STORE),
            trim: Script::new(TRIM),
        })
    }

    /// The latest snapshot's bytes, if one was ever stored.
    pub async fn latest(&mut self) -> Result<Option<Vec<u8>>, LogError> {
        Ok(redis::cmd("HGET")
            .arg(&self.snapshot_key)
            .arg("state")
            .query_async(&mut self.con)
            .await?)
    }

    /// The position of the latest snapshot (0: none).
    pub async fn latest_position(&mut self) -> Result<u64, LogError> {
        let at: Option<u64> = redis::cmd("HGET")
            .arg(&self.snapshot_key)
            .arg("at")
            .query_async(&mut self.con)
            .await?;
        Ok(at.unwrap_or(0))
    }

    /// Stores `bytes`, taken at `position`, unless a snapshot as new is stored already, and trims the
    /// log's entries before `keep_from`. Whether it was stored.
    pub async fn store(
        &mut self,
        position: u64,
        bytes: &[u8],
        keep_from: u64,
    ) -> Result<bool, LogError> {
        let stored: i64 = self
            .script
            .key(&self.snapshot_key)
            .key(&self.log_key)
            .arg(position)
            .arg(bytes)
            .arg(keep_from)
            .invoke_async(&mut self.con)
            .await?;
        Ok(stored == 1)
    }

    /// Trims the log's entries before `keep_from`, but none after the stored snapshot. How many went.
    pub async fn trim(&mut self, keep_from: u64) -> Result<u64, LogError> {
        Ok(self
            .trim
            .key(&self.snapshot_key)
            .key(&self.log_key)
            .arg(keep_from)
            .invoke_async(&mut self.con)
            .await?)
    }
}
