//! The shared log: one Redis Stream of entries, each a node's batch of [`LogEvent`]s (what its
//! connections did in one turn of its driver), appended to by every node and read by every node in the
//! single order Redis gives it.
//!
//! Each entry holds [`LogEvent::encode_batch`]'s bytes (sealed when the cluster is), the appending
//! node's number and its sequence number for the entry: one XADD, however many events. Entries are numbered by Redis without gaps (ids `0-1`, `0-2`...: the stream's
//! own counter, which survives trimming and restarts), so a reader that finds a number missing knows
//! entries were trimmed before it read them, and starts again from a snapshot instead of going on with
//! a hole. An append returns once Redis has the entry (with `appendfsync always`, once it is on disk:
//! nothing is acknowledged that is not stored). Reading blocks for a bounded time and returns the
//! entries after a position, so a node that starts late, or lost its connection, reads on from where
//! it was. Every call has a deadline, so an unreachable Redis is an error the caller can report, never
//! a hang.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use redis::{RedisResult, Value};
use smol::channel::Receiver;

use super::connection::{Conn, Endpoint, Reconnecting, Replies, Requests, answered_within, reply};
use super::error::{FIELD, LogError, NODE, SEQ};
use super::seal::{ClusterKey, entry_context};
use natter_core::server::cluster::node::wanted_when_fenced;
use natter_core::server::cluster::{LogEntry, LogEvent};

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
/// reply (and opened in place when sealed), never copied. One of this node's own entries that comes
/// back exactly as it was sent takes the events it was encoded from (`echoes`) instead of decoding
/// them again.
fn entry_of(
    entry: Value,
    stream: &str,
    seal: Option<&ClusterKey>,
    echoes: Option<(u64, &Echoes)>,
) -> Result<LogEntry, LogError> {
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
    let echoed = echoes
        .filter(|(own, _)| *own == node)
        .and_then(|(_, echoes)| echoes.take(seq, &bytes));
    let events = match echoed {
        Some(events) => events,
        None => LogEvent::decode_batch(&bytes).map_err(|source| LogError::Damaged {
            id: id.clone(),
            source,
        })?,
    };
    Ok(LogEntry {
        position,
        node,
        seq,
        events,
    })
}

/// `node`'s entries (each its number and its batch of events, encoded: [`LogEvent::encode_batch`]),
/// sealed when the cluster is, as one pipeline of XADDs (one per entry), packed by the redis crate.
fn packed_appends(
    stream: &str,
    node: u64,
    seal: Option<&ClusterKey>,
    entries: &[(u64, &[u8])],
) -> Vec<u8> {
    let mut pipe = redis::Pipeline::with_capacity(entries.len());
    for &(seq, bytes) in entries {
        let sealed;
        let bytes = match seal {
            Some(key) => {
                sealed = key.seal(bytes, &entry_context(stream, node, seq));
                &sealed[..]
            }
            None => bytes,
        };
        // `0-*`: Redis numbers the entry one past the stream's last, gap-free. The command is
        // given its room at once (the entry is most of it), not grown by doubling as it is built,
        // a copy of the entry each time.
        let mut xadd = redis::Cmd::with_capacity(9, bytes.len() + stream.len() + 64);
        xadd.arg("XADD")
            .arg(stream)
            .arg("0-*")
            .arg(FIELD)
            .arg(bytes)
            .arg(NODE)
            .arg(node)
            .arg(SEQ)
            .arg(seq);
        pipe.add_command(xadd);
    }
    pipe.get_packed_pipeline()
}

/// A node's own entries as its appender encoded them, kept until the node's reader reads them back
/// from the log: the events it was handed are taken as they are, where decoding the bytes Redis
/// gives back would copy every line into a new allocation to make exactly the same events (the
/// encoding reads back as written: `entry.rs`'s tests). Kept from the moment an entry is numbered,
/// before it is sent, so an entry read back before its append's answer arrives (both leave Redis
/// after the same sync) is found. Taken only when the bytes read back are the bytes kept: an entry
/// the appender stripped after a fence, or one sent again differently, is decoded as any other.
/// Shared by the appender and the reader, tasks of the node's one thread.
#[derive(Clone, Default)]
pub struct Echoes(Rc<RefCell<VecDeque<Echo>>>);

/// One entry of this node's, as numbered and encoded.
struct Echo {
    seq: u64,
    bytes: Rc<Vec<u8>>,
    events: Vec<LogEvent>,
}

/// The most entries kept for their return: entries that never come back (a fence dropped them,
/// the reader is cut off) are not kept for ever.
const MAX_ECHOES: usize = 4 * MAX_IN_FLIGHT;

impl Echoes {
    /// Keeps entry `seq`, encoded as `bytes` from `events`, until it is read back.
    fn keep(&self, seq: u64, bytes: Rc<Vec<u8>>, events: Vec<LogEvent>) {
        let mut kept = self.0.borrow_mut();
        if kept.len() >= MAX_ECHOES {
            kept.pop_front();
        }
        kept.push_back(Echo { seq, bytes, events });
    }

    /// The events of entry `seq` of this node's, read back as `bytes`, if they are the ones kept.
    /// Entries numbered before it are dropped: entries come back in their order, so an earlier one
    /// not back yet never will be, or only as a duplicate, which every reader drops.
    fn take(&self, seq: u64, bytes: &[u8]) -> Option<Vec<LogEvent>> {
        let mut kept = self.0.borrow_mut();
        while kept.front().is_some_and(|e| e.seq < seq) {
            kept.pop_front();
        }
        match kept.front() {
            Some(e) if e.seq == seq && e.bytes[..] == *bytes => kept.pop_front().map(|e| e.events),
            _ => None,
        }
    }
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

    /// Appends several entries of `node` (each a batch of events), numbered from `first_seq`, in one
    /// round trip; returns once Redis has them all.
    pub async fn append_many(
        &mut self,
        node: u64,
        first_seq: u64,
        entries: &[Vec<LogEvent>],
    ) -> Result<(), LogError> {
        let encoded: Vec<Vec<u8>> = entries.iter().map(|e| LogEvent::encode_batch(e)).collect();
        let numbered: Vec<(u64, &[u8])> = (first_seq..)
            .zip(&encoded)
            .map(|(seq, bytes)| (seq, &bytes[..]))
            .collect();
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
        self.read_after_echoed(after, max, None).await
    }

    /// [`Self::read_after`], for node `echoes.0`: its own entries that come back as its appender
    /// kept them take the events kept (see [`Echoes`]) instead of being decoded.
    pub async fn read_after_echoed(
        &mut self,
        after: u64,
        max: usize,
        echoes: Option<(u64, &Echoes)>,
    ) -> Result<Vec<LogEntry>, LogError> {
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
            out.push(entry_of(entry, &self.key, self.seal.as_ref(), echoes)?);
        }
        Ok(out)
    }

    /// How many entries the log holds.
    pub async fn entries(&mut self) -> Result<u64, LogError> {
        let count = redis::cmd("XLEN").arg(&self.key).to_owned();
        Ok(self.con.query(&count, RESPONSE_MARGIN).await?)
    }
}

/// A node's appends, pipelined: an entry is sent while the ones before it are still in flight, on
/// one connection, so Redis stores them in the order they were sent (it answers one connection's
/// commands in order, and syncs its file once for all it read at once). Each entry keeps the number
/// its node gave it, so after a failure the caller sends again what was not confirmed, with the same
/// numbers, and readers drop what the first try got in.
pub struct LogWriter {
    key: String,
    node: u64,
    seal: Option<ClusterKey>,
    requests: Requests,
    replies: Replies,
    /// Entries sent and not yet answered, oldest first.
    owed: usize,
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
            owed: 0,
        })
    }

    /// Sends entries (each its number and its events, encoded: [`LogEvent::encode_batch`]), in one
    /// write, without waiting for Redis's answer (see [`Self::confirmed`]). Sent whole or the
    /// connection is unusable (an error, or no room in the socket within the time Redis has to
    /// answer).
    pub async fn send(&mut self, entries: &[(u64, &[u8])]) -> Result<(), LogError> {
        if entries.is_empty() {
            return Ok(());
        }
        let packed = packed_appends(&self.key, self.node, self.seal.as_ref(), entries);
        answered_within(RESPONSE_MARGIN, self.requests.send(&packed)).await?;
        self.owed += entries.len();
        Ok(())
    }

    /// How many entries are sent and not yet confirmed.
    pub fn in_flight(&self) -> usize {
        self.owed
    }

    /// Waits until Redis has the oldest entry in flight (at once if none is). An error reply is an
    /// error: the caller sends the entry again (and those after it).
    ///
    /// Cancel-safe (the caller races it against new work): an answer is counted once read whole,
    /// and nothing is lost by dropping it before.
    pub async fn confirmed(&mut self) -> Result<(), LogError> {
        if self.owed == 0 {
            return Ok(());
        }
        let answer: RedisResult<Value> = self.replies.next().await.and_then(reply);
        self.owed -= 1;
        answer?;
        Ok(())
    }
}

/// The most entries sent to Redis and not yet confirmed: the next is sent while the ones before are
/// in flight (Redis stores one connection's commands in order, and syncs its file once for all the
/// commands it read at once). Past it, the node's next entries wait their turn, in order.
pub const MAX_IN_FLIGHT: usize = 64;

/// A batch of the node's events to append as one entry, as the node handed it over: with how many
/// times the node had been fenced then
/// ([`Node::fences`](natter_core::server::cluster::node::Node::fences)).
#[derive(Clone, Debug)]
pub struct Batch {
    /// The entry's events, in order.
    pub events: Vec<LogEvent>,
    /// The node's fence count when it made them.
    pub fences: u64,
}

/// One of this node's entries (its number and its events, encoded), on its way to Redis.
struct Pending {
    seq: u64,
    /// Its events, encoded once ([`LogEvent::encode_batch`]); the events themselves wait for the
    /// entry's return in the [`Echoes`].
    bytes: Rc<Vec<u8>>,
    /// The node's fence count its events are good for: when the node's count has moved past it,
    /// what its users typed is dropped before it is sent (again).
    fences: u64,
    /// When it was sent on the connection in use (`None`: not yet, or to send again on a new one).
    sent: Option<Instant>,
}

impl Pending {
    /// Drops, if the node has been fenced since the entry was made (`fences`: its count now), what
    /// the node no longer wants appended. Only for an entry not in flight: one sent may be in Redis
    /// already, and counts as it is if it is.
    ///
    /// Its bytes are read back for that (a fence is rare; the bytes are this build's own encoding),
    /// and encoded again without what is dropped; none left, [`Self::bytes`] is empty and the entry
    /// is not sent.
    fn fenced_since(&mut self, node: u64, fences: u64) {
        if self.fences < fences {
            self.fences = fences;
            let Ok(mut events) = LogEvent::decode_batch(&self.bytes) else {
                return;
            };
            let before = events.len();
            events.retain(|e| wanted_when_fenced(node, e));
            if events.len() < before {
                tracing::debug!(
                    "entry {} of this node's: {} event(s) of its users dropped (fenced since it was \
                     made)",
                    self.seq,
                    before - events.len()
                );
                self.bytes = Rc::new(if events.is_empty() {
                    Vec::new()
                } else {
                    LogEvent::encode_batch(&events)
                });
            }
        }
    }
}

/// What the appender waited for.
enum Next {
    /// Redis answered the oldest entry in flight (or failed it).
    Confirmed(Result<(), LogError>),
    /// The driver queued another entry (`None`: it is gone).
    More(Option<Batch>),
    /// The oldest entry in flight had no answer within its time.
    Late,
}

/// Appends the entries the driver queues, in order, each numbered for this node and sent as one
/// XADD, pipelined: an entry is sent as soon as it is queued, while earlier ones wait for Redis's
/// answer (at most [`MAX_IN_FLIGHT`]; what is queued meanwhile goes in one write when there is room).
/// After a failure (an error, or no answer within [`RESPONSE_MARGIN`]) a new connection is made and
/// every entry not confirmed is sent again, in order and with the same numbers, so a reader drops
/// what the first try got in.
///
/// `fences` is the node's fence count, as the driver last heard it: an entry made before the latest
/// fence loses, before it is sent (or sent again), its users' events (see [`wanted_when_fenced`]).
/// Compared with the count each entry was made at, never with whether the node is fenced now: the
/// node may serve again (Redis back, its lease renewed) before this task looks, and what its users
/// typed before they were told it could not serve must still never get in.
///
/// Each entry's events, once numbered and encoded, wait in `echoes` for the node's reader, which
/// takes them back instead of decoding the entry when it comes back unchanged.
pub async fn appender(
    endpoint: Endpoint,
    key: String,
    node: u64,
    queue: Receiver<Batch>,
    fences: Rc<Cell<u64>>,
    seal: Option<ClusterKey>,
    echoes: Echoes,
) {
    let mut log = Reconnecting::new(endpoint.clone(), "cannot append to the cluster's log");
    let connect = || LogWriter::connect(&endpoint, &key, node, seal.clone());
    let mut seq = 0u64;
    let mut unconfirmed: VecDeque<Pending> = VecDeque::new();
    let mut open = true;
    while open || !unconfirmed.is_empty() {
        let now_fences = fences.get();
        for p in unconfirmed.iter_mut().filter(|p| p.sent.is_none()) {
            p.fenced_since(node, now_fences);
        }
        unconfirmed.retain(|p| !p.bytes.is_empty());
        if unconfirmed.is_empty() && !open {
            break;
        }
        if unconfirmed.iter().any(|p| p.sent.is_none()) {
            let Some(con) = log.get(connect).await else {
                // No connection: whatever was sent goes again on the next one.
                unconfirmed.iter_mut().for_each(|p| p.sent = None);
                continue;
            };
            // A fence may have come while connecting: looked at again right before sending.
            if fences.get() != now_fences {
                continue;
            }
            // Everything not sent yet, in one write (the ones sent before it are all in flight:
            // entries go in order).
            let unsent: Vec<(u64, &[u8])> = unconfirmed
                .iter()
                .filter(|p| p.sent.is_none())
                .map(|p| (p.seq, &p.bytes[..]))
                .collect();
            if let Err(e) = con.send(&unsent).await {
                unconfirmed.iter_mut().for_each(|p| p.sent = None);
                log.failed(&e).await;
                continue;
            }
            let now = Instant::now();
            for p in unconfirmed.iter_mut().filter(|p| p.sent.is_none()) {
                p.sent = Some(now);
            }
        }
        let room = open && unconfirmed.len() < MAX_IN_FLIGHT;
        let next = match (unconfirmed.front().and_then(|p| p.sent), log.con.as_mut()) {
            (Some(sent), Some(con)) => {
                // The answer first: one already there is taken, however late this task is polled.
                let confirm = async { Next::Confirmed(con.confirmed().await) };
                let more = async {
                    if room {
                        Next::More(queue.recv().await.ok())
                    } else {
                        futures_lite::future::pending().await
                    }
                };
                let late = async {
                    smol::Timer::at(sent + RESPONSE_MARGIN).await;
                    Next::Late
                };
                confirm.or(more).or(late).await
            }
            _ => Next::More(queue.recv().await.ok()),
        };
        match next {
            Next::Confirmed(Ok(())) => {
                unconfirmed.pop_front();
                log.ok();
            }
            Next::Confirmed(Err(e)) => {
                unconfirmed.iter_mut().for_each(|p| p.sent = None);
                log.failed(&e).await;
            }
            Next::Late => {
                unconfirmed.iter_mut().for_each(|p| p.sent = None);
                log.failed(&format!(
                    "Redis did not answer an append within {} ms",
                    RESPONSE_MARGIN.as_millis()
                ))
                .await;
            }
            Next::More(None) => open = false,
            Next::More(Some(first)) => {
                let mut next = Some(first);
                while let Some(Batch {
                    mut events,
                    fences: made_at,
                }) = next.take()
                {
                    // Made before the latest fence: what its users typed never gets in.
                    let now_fences = fences.get();
                    if made_at < now_fences {
                        let before = events.len();
                        events.retain(|e| wanted_when_fenced(node, e));
                        if events.len() < before {
                            tracing::debug!(
                                "an entry of this node's: {} event(s) of its users dropped (fenced \
                                 since it was made)",
                                before - events.len()
                            );
                        }
                    }
                    if !events.is_empty() {
                        seq += 1;
                        let bytes: Rc<Vec<u8>> = LogEvent::encode_batch(&events).into();
                        echoes.keep(seq, bytes.clone(), events);
                        unconfirmed.push_back(Pending {
                            seq,
                            bytes,
                            fences: made_at.max(now_fences),
                            sent: None,
                        });
                    }
                    if unconfirmed.len() < MAX_IN_FLIGHT {
                        next = queue.try_recv().ok();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_core::server::cluster::LogEventKind;
    use natter_core::time::Timestamp;

    /// The appender's pipeline, given its room up front, packs to exactly the bytes of the same
    /// XADDs built the redis crate's plain way: the room changes nothing Redis is sent.
    #[test]
    fn packed_appends_are_the_redis_crates_own_packing() {
        let entries: [(u64, &[u8]); 3] = [(7, b"one entry"), (8, &[0, 255, 10, 13]), (9, &[])];
        let mut plain = redis::pipe();
        for &(seq, bytes) in &entries {
            plain
                .cmd("XADD")
                .arg("natter:log")
                .arg("0-*")
                .arg(FIELD)
                .arg(bytes)
                .arg(NODE)
                .arg(3u64)
                .arg(SEQ)
                .arg(seq);
        }
        assert_eq!(
            packed_appends("natter:log", 3, None, &entries),
            plain.get_packed_pipeline()
        );
    }

    #[test]
    fn a_sealed_entry_opens_only_where_it_was_written() {
        let key = ClusterKey::from_bytes(&[3; 32]);
        let event = LogEvent {
            at: Timestamp::from_millis(5),
            kind: LogEventKind::Tick,
        };
        let sealed = key.seal(
            &LogEvent::encode_batch(std::slice::from_ref(&event)),
            &entry_context("natter:log", 2, 9),
        );
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
        let got = entry_of(entry("2", "9"), "natter:log", Some(&key), None).unwrap();
        assert_eq!((got.position, got.node, got.seq), (4, 2, 9));
        assert_eq!(got.events, [event]);
        // Claimed by another node, or under another number: Redis moved it, and it does not open.
        for (node, seq) in [("3", "9"), ("2", "8")] {
            let e = entry_of(entry(node, seq), "natter:log", Some(&key), None).unwrap_err();
            assert!(matches!(e, LogError::Unsealed { .. }), "{e}");
        }
        let other = ClusterKey::from_bytes(&[4; 32]);
        assert!(entry_of(entry("2", "9"), "natter:log", Some(&other), None).is_err());
        // A node without the key cannot read it either.
        assert!(entry_of(entry("2", "9"), "natter:log", None, None).is_err());
    }

    /// A node's own entry read back takes the events its appender kept only when its bytes are the
    /// ones kept: another node's entry, or one changed on the way (stripped after a fence), is
    /// decoded; entries numbered before it are not kept any longer.
    #[test]
    fn an_own_entry_read_back_unchanged_takes_the_events_kept() {
        let line = |text: &str| LogEvent {
            at: Timestamp::from_millis(7),
            kind: LogEventKind::Line {
                conn: natter_core::server::ConnId(2 << 48 | 1),
                line: text.as_bytes().into(),
            },
        };
        let raw = |node: u64, seq: u64, events: &[LogEvent]| {
            Value::Array(vec![
                Value::BulkString(format!("0-{seq}").into_bytes()),
                Value::Array(vec![
                    Value::BulkString(b"e".to_vec()),
                    Value::BulkString(LogEvent::encode_batch(events)),
                    Value::BulkString(b"n".to_vec()),
                    Value::BulkString(node.to_string().into_bytes()),
                    Value::BulkString(b"s".to_vec()),
                    Value::BulkString(seq.to_string().into_bytes()),
                ]),
            ])
        };
        let echoes = Echoes::default();
        let keep = |seq: u64, events: Vec<LogEvent>| {
            echoes.keep(seq, Rc::new(LogEvent::encode_batch(&events)), events);
        };
        keep(1, vec![line("one")]);
        keep(2, vec![line("two")]);
        keep(3, vec![line("three"), line("four")]);
        keep(4, vec![line("five")]);
        let kept = |echoes: &Echoes| echoes.0.borrow().iter().map(|e| e.seq).collect::<Vec<_>>();
        // Read by node 2.
        let read = |node: u64, seq: u64, events: &[LogEvent]| {
            entry_of(
                raw(node, seq, events),
                "natter:log",
                None,
                Some((2, &echoes)),
            )
            .unwrap()
            .events
        };
        // Another node's entry numbered 2: decoded, and nothing of this node's is touched.
        assert_eq!(read(3, 2, &[line("x")]), [line("x")]);
        assert_eq!(kept(&echoes), [1, 2, 3, 4]);
        // Entry 2 back unchanged (1 never came back): the events kept, and 1 is dropped.
        assert_eq!(read(2, 2, &[line("two")]), [line("two")]);
        assert_eq!(kept(&echoes), [3, 4]);
        // Entry 3 back with one event less: decoded as read, and not taken.
        assert_eq!(read(2, 3, &[line("four")]), [line("four")]);
        assert_eq!(kept(&echoes), [3, 4]);
        // A duplicate of entry 2 after it: decoded (readers drop it by its number anyway).
        assert_eq!(read(2, 2, &[line("two")]), [line("two")]);
        assert_eq!(read(2, 4, &[line("five")]), [line("five")]);
        assert!(kept(&echoes).is_empty());
    }
}
