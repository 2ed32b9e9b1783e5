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

use std::collections::VecDeque;
use std::time::Duration;

use redis::{RedisResult, Value};

use super::connection::{Conn, Endpoint, Replies, Requests, answered_within, reply};
use super::error::{FIELD, LogError, NODE, SEQ};
use super::seal::{ClusterKey, entry_context};
use crate::server::{LogEntry, LoggedEvent};

/// How long one request may take beyond its own blocking time before Redis counts as unreachable.
pub const RESPONSE_MARGIN: Duration = Duration::from_secs(2);

/// The stream id of position `n`.
fn id_of(n: u64) -> String {
    format!("0-{n}")
}

/// The position of a stream id natter wrote (`0-<n>`).
fn position_of(id: &str) -> Option<u64> {
    id.strip_prefix("0-")?.parse().ok()
}

/// One entry of an XREAD reply: `[id, [field, value, ...]]`. The event's bytes are moved out of the
/// reply (and opened in place when sealed), never copied.
fn entry_of(entry: Value, stream: &str, seal: Option<&ClusterKey>) -> Result<LogEntry, LogError> {
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
    let bytes = match seal {
        Some(key) => key
            .open(bytes, &entry_context(stream, node, seq))
            .map_err(|_| LogError::Unsealed { id: id.clone() })?,
        None => bytes,
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

/// The stream's entries `entries` of `node` would be, sealed when the cluster is, as one pipeline of
/// XADDs, packed by the redis crate.
fn packed_appends(
    stream: &str,
    node: u64,
    seal: Option<&ClusterKey>,
    entries: &[(u64, &LoggedEvent)],
) -> Vec<u8> {
    let mut pipe = redis::pipe();
    for (seq, entry) in entries {
        let bytes = entry.encode();
        let bytes = match seal {
            Some(key) => key.seal(&bytes, &entry_context(stream, node, *seq)),
            None => bytes,
        };
        // `0-*`: Redis numbers the entry one past the stream's last, gap-free.
        pipe.cmd("XADD")
            .arg(stream)
            .arg("0-*")
            .arg(FIELD)
            .arg(bytes)
            .arg(NODE)
            .arg(node)
            .arg(SEQ)
            .arg(*seq);
    }
    pipe.get_packed_pipeline()
}

/// The log over one connection, one request at a time: for reading it, and for tests and tools.
/// (A node appends through a [`LogWriter`], on a connection of its own, so that a blocked read never
/// holds up its appends.)
pub struct RedisLog {
    key: String,
    con: Conn,
    /// The longest a read waits for new entries.
    block: Duration,
    seal: Option<ClusterKey>,
}

impl RedisLog {
    /// Connects to the Redis at `endpoint`, for the stream `key`, sealed with `seal` if given. Reads
    /// wait at most `block` for new entries.
    pub async fn connect(
        endpoint: &Endpoint,
        key: &str,
        block: Duration,
        seal: Option<ClusterKey>,
    ) -> Result<RedisLog, LogError> {
        Ok(RedisLog {
            key: key.to_owned(),
            con: endpoint.connect().await?,
            block,
            seal,
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
        let packed = packed_appends(&self.key, node, self.seal.as_ref(), &numbered);
        let (requests, replies) = self.con.halves();
        answered_within(RESPONSE_MARGIN, async {
            requests.send(&packed).await?;
            for _ in &numbered {
                reply(replies.next().await?)?;
            }
            Ok(())
        })
        .await?;
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
        let reply: Value = self.con.query(&read, self.block + RESPONSE_MARGIN).await?;
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
        out.reserve(max.min(4096));
        for entry in entries {
            out.push(entry_of(entry, &self.key, self.seal.as_ref())?);
        }
        Ok(out)
    }

    /// How many entries the log holds.
    pub async fn entries(&mut self) -> Result<u64, LogError> {
        let count = redis::cmd("XLEN").arg(&self.key).to_owned();
        Ok(self.con.query(&count, RESPONSE_MARGIN).await?)
    }
}

/// A node's appends, pipelined: a batch is sent while the ones before it are still in flight, on one
/// connection, so Redis stores them in the order they were sent (it answers one connection's commands
/// in order). Each entry keeps the number its node gave it, so after a failure the caller sends again
/// what was not confirmed, with the same numbers, and readers drop what the first try got in.
pub struct LogWriter {
    key: String,
    node: u64,
    seal: Option<ClusterKey>,
    requests: Requests,
    replies: Replies,
    /// Replies still owed, per batch in flight, oldest first.
    owed: VecDeque<usize>,
}

impl LogWriter {
    /// A connection to the Redis at `endpoint` for `node`'s appends to the stream `key`.
    pub async fn connect(
        endpoint: &Endpoint,
        key: &str,
        node: u64,
        seal: Option<ClusterKey>,
    ) -> Result<LogWriter, LogError> {
        let (requests, replies) = endpoint.connect().await?.split();
        Ok(LogWriter {
            key: key.to_owned(),
            node,
            seal,
            requests,
            replies,
            owed: VecDeque::new(),
        })
    }

    /// Sends a batch of entries (numbered) without waiting for Redis's answer (see
    /// [`Self::confirmed`]). Sent whole or the connection is unusable (an error, or no room in the
    /// socket within the time Redis has to answer).
    pub async fn send(&mut self, entries: &[(u64, &LoggedEvent)]) -> Result<(), LogError> {
        if entries.is_empty() {
            return Ok(());
        }
        let packed = packed_appends(&self.key, self.node, self.seal.as_ref(), entries);
        answered_within(RESPONSE_MARGIN, self.requests.send(&packed)).await?;
        self.owed.push_back(entries.len());
        Ok(())
    }

    /// How many batches are sent and not yet confirmed.
    pub fn in_flight(&self) -> usize {
        self.owed.len()
    }

    /// Waits until Redis has the oldest batch in flight (it answered each of its appends). An error
    /// reply to any of them is an error: the caller sends the batch again.
    ///
    /// Cancel-safe (the caller races it against new work): what was answered before it is dropped
    /// is counted.
    pub async fn confirmed(&mut self) -> Result<(), LogError> {
        while let Some(owed) = self.owed.front_mut() {
            if *owed == 0 {
                self.owed.pop_front();
                return Ok(());
            }
            let answer: RedisResult<Value> = self.replies.next().await.and_then(reply);
            *owed -= 1;
            answer?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::OwnedEvent;
    use crate::time::Timestamp;

    #[test]
    fn a_sealed_entry_opens_only_where_it_was_written() {
        let key = ClusterKey::from_bytes(&[3; 32]);
        let event = LoggedEvent {
            at: Timestamp::from_millis(5),
            event: OwnedEvent::Tick,
        };
        let sealed = key.seal(&event.encode(), &entry_context("natter:log", 2, 9));
        let entry = |node: &str, seq: &str| {
            Value::Array(vec![
                Value::BulkString(b"0-4".to_vec()),
                Value::Array(vec![
                    Value::BulkString(b"e".to_vec()),
                    Value::BulkString(sealed.clone()),
                    Value::BulkString(b"n".to_vec()),
                    Value::BulkString(node.as_bytes().to_vec()),
                    Value::BulkString(b"s".to_vec()),
                    Value::BulkString(seq.as_bytes().to_vec()),
                ]),
            ])
        };
        let got = entry_of(entry("2", "9"), "natter:log", Some(&key)).unwrap();
        assert_eq!((got.position, got.node, got.seq), (4, 2, 9));
        assert_eq!(got.event.encode(), event.encode());
        // Claimed by another node, or under another number: Redis moved it, and it does not open.
        for (node, seq) in [("3", "9"), ("2", "8")] {
            let e = entry_of(entry(node, seq), "natter:log", Some(&key)).unwrap_err();
            assert!(matches!(e, LogError::Unsealed { .. }), "{e}");
        }
        let other = ClusterKey::from_bytes(&[4; 32]);
        assert!(entry_of(entry("2", "9"), "natter:log", Some(&other)).is_err());
        // A node without the key cannot read it either.
        assert!(entry_of(entry("2", "9"), "natter:log", None).is_err());
    }
}
