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

use std::future::Future;
use std::time::Duration;

use futures_lite::FutureExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisResult, Value};

use crate::server::{LogDecodeError, LogEntry, LoggedEvent};

/// The fields of each stream entry: the event, the node that appended it, and that node's number for it
/// (counting from 1), by which readers drop an entry appended twice (a retry after a lost reply).
const FIELD: &str = "e";
const NODE: &str = "n";
const SEQ: &str = "s";

/// How long one request may take beyond its own blocking time before Redis counts as unreachable.
const RESPONSE_MARGIN: Duration = Duration::from_secs(2);

/// `request`'s answer, or a timeout if none came within `limit`.
///
/// Not the redis crate's own response timeout: that one looks at its clock before at the answer, and
/// these requests are awaited by the node's driver thread, which can be busy for seconds at a stretch
/// (applying a thousand logouts, each announced to tens of thousands). Redis had answered long
/// before, yet the request counted as timed out: the node logged Redis as unreachable when it was
/// not, read the same entries again, and appended entries Redis already had a second time. Here an
/// answer that is there when the task is next polled is taken, however late the poll.
async fn answered_within<T>(
    limit: Duration,
    request: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    request
        .or(async {
            smol::Timer::after(limit).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} ms", limit.as_millis()),
            )
            .into())
        })
        .await
}

/// The stream id of position `n`.
fn id_of(n: u64) -> String {
    format!("0-{n}")
}

/// The position of a stream id natter wrote (`0-<n>`).
fn position_of(id: &str) -> Option<u64> {
    id.strip_prefix("0-")?.parse().ok()
}

/// One entry of an XREAD reply: `[id, [field, value, ...]]`.
fn entry_of(entry: Value) -> Result<LogEntry, LogError> {
    let malformed = |id: &str| LogError::Malformed { id: id.to_owned() };
    let Value::Array(mut parts) = entry else {
        return Err(malformed("?"));
    };
    let (Some(fields), Some(id)) = (parts.pop(), parts.pop()) else {
        return Err(malformed("?"));
    };
    let id = match id {
        Value::BulkString(b) => String::from_utf8(b).map_err(|_| malformed("?"))?,
        Value::SimpleString(s) => s,
        _ => return Err(malformed("?")),
    };
    let fields = match fields {
        Value::Array(f) => f,
        Value::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return Err(malformed(&id)),
    };
    let (mut event, mut node, mut seq) = (None, None, None);
    let mut fields = fields.into_iter();
    while let (Some(Value::BulkString(name)), Some(Value::BulkString(value))) =
        (fields.next(), fields.next())
    {
        let number = || std::str::from_utf8(&value).ok()?.parse::<u64>().ok();
        match name.as_slice() {
            n if n == FIELD.as_bytes() => event = Some(value),
            n if n == NODE.as_bytes() => node = number(),
            n if n == SEQ.as_bytes() => seq = number(),
            _ => {}
        }
    }
    let (Some(bytes), Some(node), Some(seq), Some(position)) = (event, node, seq, position_of(&id))
    else {
        return Err(malformed(&id));
    };
    let event = LoggedEvent::decode(&bytes).map_err(|source| LogError::Damaged {
        id: id.clone(),
        source,
    })?;
    Ok(LogEntry {
        position,
        node,
        seq,
        event,
    })
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
            .set_response_timeout(None);
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
        answered_within(RESPONSE_MARGIN, pipe.query_async::<()>(&mut self.appender)).await?;
        Ok(())
    }

    /// The entries after position `after` (at most `max`), waiting up to the block time for the first;
    /// an empty answer means nothing new came meanwhile. Entries trimmed away are simply not there: the
    /// caller tells by their numbers.
    pub async fn read_after(&mut self, after: u64, max: usize) -> Result<Vec<LogEntry>, LogError> {
        let read = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(max)
            .arg("BLOCK")
            .arg(self.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(id_of(after))
            .to_owned();
        let reply: Value = answered_within(
            self.block + RESPONSE_MARGIN,
            read.query_async(&mut self.reader),
        )
        .await?;
        let mut out = Vec::new();
        // One stream was asked for: its entries, read straight from the reply (RESP2 arrays or a
        // RESP3 map), without building a map per entry.
        let streams = match reply {
            Value::Nil => return Ok(out),
            Value::Array(streams) => streams,
            Value::Map(streams) => streams.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => return Err(LogError::Malformed { id: "?".into() }),
        };
        let entries = streams.into_iter().flat_map(|s| match s {
            Value::Array(mut kv) if kv.len() == 2 => match kv.pop() {
                Some(Value::Array(entries)) => entries,
                _ => Vec::new(),
            },
            // (RESP3: the map's key and value came flattened, one after the other.)
            Value::Array(entries) => entries,
            _ => Vec::new(),
        });
        for entry in entries {
            out.push(entry_of(entry)?);
        }
        Ok(out)
    }

    /// How many entries the log holds.
    pub async fn entries(&mut self) -> Result<u64, LogError> {
        let count = redis::cmd("XLEN").arg(&self.key).to_owned();
        Ok(answered_within(RESPONSE_MARGIN, count.query_async(&mut self.appender)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_already_there_is_taken_however_late_the_poll() {
        // A deadline already past when the task is first polled, as when the driver was busy.
        let answer = smol::block_on(answered_within(Duration::ZERO, async {
            Ok::<u64, redis::RedisError>(7)
        }));
        assert_eq!(answer.ok(), Some(7));
    }

    #[test]
    fn no_answer_is_a_timeout_that_says_how_long_it_waited() {
        let never = futures_lite::future::pending::<RedisResult<u64>>();
        let err = smol::block_on(answered_within(Duration::from_millis(20), never))
            .expect_err("nothing came");
        assert!(err.is_timeout() || err.is_io_error(), "{err}");
        assert!(err.to_string().contains("no answer within 20 ms"), "{err}");
    }
}
