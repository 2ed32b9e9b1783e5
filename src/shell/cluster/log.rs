//! The shared log: one Redis Stream of [`LoggedEvent`]s, appended to by every node and read by every
//! node in the single order Redis gives it.
//!
//! Each entry holds [`LoggedEvent::encode`]'s bytes, the appending node's number and its sequence
//! number for the entry. Entries are numbered by Redis without gaps (ids `0-1`, `0-2`...: the stream's
//! own counter, which survives trimming and restarts), so a reader that finds a number missing knows
//! entries were trimmed before it read them, and starts again from a snapshot instead of going on with
//! a hole. An append returns once Redis has the entry (with `appendfsync always`, once it is on disk:
//! nothing is acknowledged that is not stored). Reading blocks for a bounded time and returns the
//! entries after a position, so a node that starts late, or lost its connection, reads on from where
//! it was. Every call has a deadline, so an unreachable Redis is an error the caller can report, never
//! a hang.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use redis::{AsyncConnectionConfig, Client, Value};

use crate::server::{LogDecodeError, LogEntry, LoggedEvent};

/// The fields of each stream entry: the event, the node that appended it, and that node's number for it
/// (counting from 1), by which readers drop an entry appended twice (a retry after a lost reply).
const FIELD: &str = "e";
const NODE: &str = "n";
const SEQ: &str = "s";

/// How long one request may take beyond its own blocking time before Redis counts as unreachable.
const RESPONSE_MARGIN: Duration = Duration::from_secs(2);

/// The stream id of position `n`.
fn id_of(n: u64) -> String {
    format!("0-{n}")
}

/// The position of a stream id natter wrote (`0-<n>`).
fn position_of(id: &str) -> Option<u64> {
    id.strip_prefix("0-")?.parse().ok()
}

/// What can go wrong with the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot reach Redis at {url}: {source}")]
    Connect {
        url: String,
        source: redis::RedisError,
    },
    #[error("Redis did not take or give the log ({source}); is it running and reachable?")]
    Redis {
        #[from]
        source: redis::RedisError,
    },
    #[error("log entry {id} is damaged: {source}")]
    Damaged { id: String, source: LogDecodeError },
    #[error(
        "log entry {id} is not one natter wrote (fields '{FIELD}', '{NODE}', '{SEQ}', id 0-N): is another \
         program using the cluster's keys in this Redis?"
    )]
    Malformed { id: String },
}

/// The log, over two connections: one for appends, one for the blocking reads (a blocked read would
/// hold up appends on a shared connection).
pub struct RedisLog {
    key: String,
    appender: MultiplexedConnection,
    reader: MultiplexedConnection,
    /// The longest a read waits for new entries.
    block: Duration,
}

impl RedisLog {
    /// Connects to the Redis at `url` (`redis://host:port`), for the stream `key`. Reads wait at most
    /// `block` for new entries.
    pub async fn connect(url: &str, key: &str, block: Duration) -> Result<RedisLog, LogError> {
        let connect_err = |source| LogError::Connect {
            url: url.to_owned(),
            source,
        };
        let client = Client::open(url).map_err(connect_err)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(RESPONSE_MARGIN))
            .set_response_timeout(Some(block + RESPONSE_MARGIN));
        let appender = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(connect_err)?;
        let reader = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(connect_err)?;
        Ok(RedisLog {
            key: key.to_owned(),
            appender,
            reader,
            block,
        })
    }

    /// Appends several entries of `node`, numbered from `first_seq`, in one round trip; returns once
    /// Redis has them all.
    pub async fn append_many(
        &mut self,
        node: u64,
        first_seq: u64,
        entries: &[LoggedEvent],
    ) -> Result<(), LogError> {
        let numbered: Vec<(u64, &LoggedEvent)> = (first_seq..).zip(entries).collect();
        self.append_numbered(node, &numbered).await
    }

    /// Appends entries of `node`, each with its own number for it (increasing; a retry keeps the
    /// numbers, so readers drop what the first try got in), in one round trip; returns once Redis has
    /// them all.
    pub async fn append_numbered(
        &mut self,
        node: u64,
        entries: &[(u64, &LoggedEvent)],
    ) -> Result<(), LogError> {
        let mut pipe = redis::pipe();
        for (seq, entry) in entries {
            // `0-*`: Redis numbers the entry one past the stream's last, gap-free.
            pipe.cmd("XADD")
                .arg(&self.key)
                .arg("0-*")
                .arg(FIELD)
                .arg(entry.encode())
                .arg(NODE)
                .arg(node)
                .arg(SEQ)
                .arg(*seq)
                .ignore();
        }
        pipe.query_async::<()>(&mut self.appender).await?;
        Ok(())
    }

    /// The entries after position `after` (at most `max`), waiting up to the block time for the first;
    /// an empty answer means nothing new came meanwhile. Entries trimmed away are simply not there: the
    /// caller tells by their numbers.
    pub async fn read_after(&mut self, after: u64, max: usize) -> Result<Vec<LogEntry>, LogError> {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(max)
            .arg("BLOCK")
            .arg(self.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(id_of(after))
            .query_async(&mut self.reader)
            .await?;
        let mut out = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                let number = |field| match entry.map.get(field) {
                    Some(Value::BulkString(b)) => std::str::from_utf8(b).ok()?.parse::<u64>().ok(),
                    _ => None,
                };
                let (Some(Value::BulkString(bytes)), Some(node), Some(seq)) =
                    (entry.map.get(FIELD), number(NODE), number(SEQ))
                else {
                    return Err(LogError::Malformed { id: entry.id });
                };
                let event = LoggedEvent::decode(bytes).map_err(|source| LogError::Damaged {
                    id: entry.id.clone(),
                    source,
                })?;
                let Some(position) = position_of(&entry.id) else {
                    return Err(LogError::Malformed { id: entry.id });
                };
                out.push(LogEntry {
                    position,
                    node,
                    seq,
                    event,
                });
            }
        }
        Ok(out)
    }

    /// How many entries the log holds.
    pub async fn entries(&mut self) -> Result<u64, LogError> {
        Ok(redis::cmd("XLEN")
            .arg(&self.key)
            .query_async(&mut self.appender)
            .await?)
    }
}
