//! What the shared log holds, and its bytes: one name for each idea.
//!
//! - a [`LogEntry`] is one append: what one node's connections did in one turn of its driver, at one
//!   place of the log (positions, duplicates and snapshots count entries);
//! - it holds [`LogEvent`]s, in order: each what happened ([`LogEventKind`]) and the time the core is
//!   given with it;
//! - a [`LogEventKind`] is an [`Event`] of the core, owned, or one of the log's own (time passing, a
//!   node's death or return). [`LogEvent::as_event`] hands the core its [`Event`] back.
//!
//! [`crate::server::ServerState::handle`] is a pure function of its state and the events fed to it
//! with their times, so a second core fed the same log, in the same order, makes the same effects.
//! That is what replication of the core rests on (several servers each running a copy of the core over
//! one shared log), and what the simulator checks with its replicas (`sim::replicas`).

use std::net::SocketAddr;

use crate::protocol::LineError;
use crate::protocol::name::PasswordError;
use crate::server::admin::Admin;
use crate::server::event::{ConnId, Event};
use crate::server::secret_shape::SecretShape;
use crate::time::Timestamp;

/// One event of an entry of the log: what happened, and the time the core is given with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// The time the core is given with the event.
    pub at: Timestamp,
    /// What happened.
    pub kind: LogEventKind,
}

/// What a [`LogEvent`] is: an [`Event`] of the core, with its borrowed parts owned, or one of the
/// log's own (time passing, a node's death or return).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEventKind {
    /// [`Event::Connected`], owned.
    Connected {
        /// The shell's number for the new connection.
        conn: ConnId,
        /// The client's address and port.
        peer: SocketAddr,
    },
    /// [`Event::Line`], owned.
    Line {
        /// The connection it came on.
        conn: ConnId,
        /// The line's bytes, not yet checked to be text. A `Vec`, not a boxed slice, so a node can
        /// give the room of a line it read back to the next line it appends (`Node::recycle_entry`)
        /// instead of an allocation and a free for every line.
        line: Vec<u8>,
    },
    /// [`Event::LineTooLong`].
    LineTooLong {
        /// The connection it came on.
        conn: ConnId,
    },
    /// A password line without its text (see `server::cluster::gates`).
    SecretLine {
        /// The connection it came on.
        conn: ConnId,
        /// What the core may know of the password, without its text.
        shape: SecretShape,
    },
    /// [`Event::Disconnected`].
    Disconnected {
        /// The connection that is gone.
        conn: ConnId,
    },
    /// [`Event::PasswordChecked`].
    PasswordChecked {
        /// The connection the check was for.
        conn: ConnId,
        /// The job's number.
        job: u64,
        /// Whether the password matched.
        ok: bool,
    },
    /// [`Event::PasswordHashed`], owned.
    PasswordHashed {
        /// The connection the hash is for.
        conn: ConnId,
        /// The job's number.
        job: u64,
        /// The new password's hash, a PHC string.
        hash: Box<str>,
    },
    /// [`Event::PasswordJobFailed`].
    PasswordJobFailed {
        /// The connection the job was for.
        conn: ConnId,
        /// The job's number.
        job: u64,
    },
    /// [`Event::Drained`].
    Drained {
        /// The connection whose queue drained.
        conn: ConnId,
    },
    /// [`Event::Shutdown`].
    Shutdown,
    /// Not an event of the core: time passing, to [`LogEvent::at`]. The nodes of a cluster append
    /// ticks so that the log's time moves on when nobody types, and every copy of the core acts on its
    /// deadlines ([`crate::server::ServerState::handle_timeout`]) at the same place in the log.
    Tick,
    /// Not an event of the core: a node found cluster node `node` dead (its lease ran out). Every
    /// copy ends that node's sessions here, whichever of them it holds at this place of the log, and
    /// takes none of that node's later entries until the node itself says it is back: an append it
    /// made before it stopped serving, arriving late, never acts.
    NodeDead {
        /// The node found dead.
        node: u64,
    },
    /// Not an event of the core: node `node`, found dead, serves again (it refused every connection
    /// it had when it read so); its entries count from here.
    NodeBack {
        /// The node that serves again.
        node: u64,
    },
    /// The operator's action (see `server::admin`), asked at node `request >> NODE_SHIFT`.
    Admin {
        /// The number the answer goes back under; its high bits are the asking node's.
        request: u64,
        /// What the operator asks.
        action: Box<Admin>,
    },
}

/// One entry of the shared log, as a node reads it: what its node's connections did in one turn of
/// that node's driver (its batch), in order. Every copy applies an entry's events one after the other,
/// at the entry's one place in the log; positions, duplicates and snapshots count entries, never events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Where it is in the log: entries are numbered 1, 2, 3... without gaps.
    pub position: u64,
    /// The node that appended it.
    pub node: u64,
    /// That node's number for it (1, 2, 3...), the same on a retried append.
    pub seq: u64,
    /// Its events, in the order they happened on that node (at least one).
    pub events: Vec<LogEvent>,
}

impl LogEventKind {
    /// The connection this event is about, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match *self {
            LogEventKind::Connected { conn, .. }
            | LogEventKind::Line { conn, .. }
            | LogEventKind::LineTooLong { conn }
            | LogEventKind::SecretLine { conn, .. }
            | LogEventKind::Disconnected { conn }
            | LogEventKind::PasswordChecked { conn, .. }
            | LogEventKind::PasswordHashed { conn, .. }
            | LogEventKind::PasswordJobFailed { conn, .. }
            | LogEventKind::Drained { conn } => Some(conn),
            LogEventKind::Shutdown
            | LogEventKind::Tick
            | LogEventKind::NodeDead { .. }
            | LogEventKind::NodeBack { .. }
            | LogEventKind::Admin { .. } => None,
        }
    }
}

impl LogEvent {
    /// The log's form of `event`, given to the core at `at`: its borrowed parts copied.
    pub fn new(event: Event<'_>, at: Timestamp) -> Self {
        Self::with_line_copied(event, at, <[u8]>::to_vec)
    }

    /// [`Self::new`], a line's bytes copied by `copy` (a cluster node copies them into room it
    /// keeps: `Node::recycle_entry`).
    pub(crate) fn with_line_copied(
        event: Event<'_>,
        at: Timestamp,
        copy: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> Self {
        let kind = match event {
            Event::Connected { conn, peer } => LogEventKind::Connected { conn, peer },
            Event::Line { conn, line } => LogEventKind::Line {
                conn,
                line: copy(line),
            },
            Event::LineTooLong { conn } => LogEventKind::LineTooLong { conn },
            Event::SecretLine { conn, shape } => LogEventKind::SecretLine { conn, shape },
            Event::Disconnected { conn } => LogEventKind::Disconnected { conn },
            Event::PasswordChecked { conn, job, ok } => {
                LogEventKind::PasswordChecked { conn, job, ok }
            }
            Event::PasswordHashed { conn, job, hash } => LogEventKind::PasswordHashed {
                conn,
                job,
                hash: hash.into(),
            },
            Event::PasswordJobFailed { conn, job } => LogEventKind::PasswordJobFailed { conn, job },
            Event::Drained { conn } => LogEventKind::Drained { conn },
            Event::Shutdown => LogEventKind::Shutdown,
            Event::Admin { request, action } => LogEventKind::Admin {
                request,
                action: Box::new(action.clone()),
            },
        };
        LogEvent { at, kind }
    }

    /// Time passing, at `at`.
    pub fn tick(at: Timestamp) -> Self {
        LogEvent {
            at,
            kind: LogEventKind::Tick,
        }
    }

    /// The event, to feed to a core (with [`Self::at`] as the time); `None` for a tick, which is
    /// [`crate::server::ServerState::handle_timeout`] at that time, and for a node's death or return, which
    /// the copy of the core keeps beside it (`crate::server::cluster::ReplicaLog`).
    pub fn as_event(&self) -> Option<Event<'_>> {
        Some(match &self.kind {
            LogEventKind::Connected { conn, peer } => Event::Connected {
                conn: *conn,
                peer: *peer,
            },
            LogEventKind::Line { conn, line } => Event::Line { conn: *conn, line },
            LogEventKind::LineTooLong { conn } => Event::LineTooLong { conn: *conn },
            LogEventKind::SecretLine { conn, shape } => Event::SecretLine {
                conn: *conn,
                shape: *shape,
            },
            LogEventKind::Disconnected { conn } => Event::Disconnected { conn: *conn },
            LogEventKind::PasswordChecked { conn, job, ok } => Event::PasswordChecked {
                conn: *conn,
                job: *job,
                ok: *ok,
            },
            LogEventKind::PasswordHashed { conn, job, hash } => Event::PasswordHashed {
                conn: *conn,
                job: *job,
                hash,
            },
            LogEventKind::PasswordJobFailed { conn, job } => Event::PasswordJobFailed {
                conn: *conn,
                job: *job,
            },
            LogEventKind::Drained { conn } => Event::Drained { conn: *conn },
            LogEventKind::Shutdown => Event::Shutdown,
            LogEventKind::Admin { request, action } => Event::Admin {
                request: *request,
                action,
            },
            LogEventKind::Tick | LogEventKind::NodeDead { .. } | LogEventKind::NodeBack { .. } => {
                return None;
            }
        })
    }
}

/// Why bytes are not a log entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogDecodeError {
    /// Written by a build whose entry format this one does not read.
    #[error(
        "log entry version {0} is not one this build reads (it reads versions {LOG_VERSION}, one \
         event, and {BATCH_VERSION}, a node's batch of them): the cluster's nodes must all run one \
         build"
    )]
    Version(u8),
    /// An entry with no event, which no node appends.
    #[error("log entry holds no event")]
    Empty,
    /// The bytes end in the middle of a field.
    #[error("log entry ends early")]
    Short,
    /// Bytes remain after the entry's end.
    #[error("log entry has {0} bytes after its end")]
    Trailing(usize),
    /// An event tag this build does not know.
    #[error("unknown event tag {0}")]
    Tag(u8),
    /// An address family byte that is neither IPv4's nor IPv6's.
    #[error("unknown address family {0}")]
    Family(u8),
    /// A yes-or-no byte other than 0 or 1.
    #[error("{0} is not a yes or no (0 or 1)")]
    Bool(u8),
    /// A password hash that is not UTF-8.
    #[error("password hash is not UTF-8")]
    Utf8,
    /// A length larger than an entry may hold: the bytes are damaged, and nothing that long is
    /// allocated.
    #[error("field of {0} bytes is longer than an entry may hold")]
    TooLong(u32),
    /// A password shape code this build does not know.
    #[error("unknown password shape {0}")]
    Shape(u8),
    /// The operator's action does not decode; the text says why.
    #[error("operator's action cannot be read: {0}")]
    Admin(String),
}

/// A [`SecretShape`] as one byte.
fn shape_code(shape: SecretShape) -> u8 {
    match shape {
        SecretShape::Fit => 0,
        SecretShape::NotText(LineError::InvalidUtf8) => 1,
        SecretShape::NotText(LineError::ControlChar) => 2,
        SecretShape::Unfit(PasswordError::Empty) => 3,
        SecretShape::Unfit(PasswordError::TooLong) => 4,
        SecretShape::Unfit(PasswordError::BadChar) => 5,
        SecretShape::Weak => 6,
    }
}

fn shape_of_code(code: u8) -> Result<SecretShape, LogDecodeError> {
    Ok(match code {
        0 => SecretShape::Fit,
        1 => SecretShape::NotText(LineError::InvalidUtf8),
        2 => SecretShape::NotText(LineError::ControlChar),
        3 => SecretShape::Unfit(PasswordError::Empty),
        4 => SecretShape::Unfit(PasswordError::TooLong),
        5 => SecretShape::Unfit(PasswordError::BadChar),
        6 => SecretShape::Weak,
        c => return Err(LogDecodeError::Shape(c)),
    })
}

/// The version byte of an encoded event alone ([`LogEvent::encode`]; the entries a node appended
/// one event at a time, before entries held a batch).
pub const LOG_VERSION: u8 = 1;

/// The version byte of an entry holding a node's batch of events ([`LogEvent::encode_batch`]).
pub const BATCH_VERSION: u8 = 2;

/// The longest line or hash an entry may carry: far above the server's line limit, far below what
/// would let a damaged length field allocate wildly.
const MAX_FIELD: u32 = 1 << 20;

impl LogEvent {
    /// The entry as bytes: a version, the time, then the event (little-endian integers, lengths before
    /// byte strings). The form a log shared by several servers holds.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(1 + self.encoded_len());
        b.push(LOG_VERSION);
        self.encode_into(&mut b);
        b
    }

    /// A node's batch of events as the bytes of one entry of the shared log: a version, how many,
    /// then each event as [`Self::encode`] writes it, without its version byte. Readers apply them
    /// in this order, all at the entry's one place in the log.
    pub fn encode_batch(events: &[LogEvent]) -> Vec<u8> {
        let len: usize = events.iter().map(LogEvent::encoded_len).sum();
        let mut b = Vec::with_capacity(5 + len);
        b.push(BATCH_VERSION);
        b.extend_from_slice(&(events.len() as u32).to_le_bytes());
        for event in events {
            event.encode_into(&mut b);
        }
        b
    }

    /// How many bytes the event takes in an entry ([`Self::encode_batch`]): what a node counts to
    /// keep its entries within their bound.
    pub fn encoded_len(&self) -> usize {
        let body = match &self.kind {
            LogEventKind::Connected { peer, .. } => {
                8 + 1 + if peer.is_ipv4() { 4 } else { 16 + 4 + 4 } + 2
            }
            LogEventKind::Line { line, .. } => 8 + 4 + line.len(),
            LogEventKind::PasswordChecked { .. } => 8 + 8 + 1,
            LogEventKind::PasswordJobFailed { .. } => 8 + 8,
            LogEventKind::PasswordHashed { hash, .. } => 8 + 8 + 4 + hash.len(),
            LogEventKind::SecretLine { .. } => 8 + 1,
            LogEventKind::LineTooLong { .. }
            | LogEventKind::Disconnected { .. }
            | LogEventKind::Drained { .. }
            | LogEventKind::NodeDead { .. }
            | LogEventKind::NodeBack { .. } => 8,
            LogEventKind::Shutdown | LogEventKind::Tick => 0,
            LogEventKind::Admin { action, .. } => 8 + 4 + admin_bytes(action).len(),
        };
        8 + 1 + body
    }

    /// The time, the event's tag and its fields.
    fn encode_into(&self, b: &mut Vec<u8>) {
        b.extend_from_slice(&self.at.as_millis().to_le_bytes());
        let conn = |b: &mut Vec<u8>, c: &ConnId| b.extend_from_slice(&c.0.to_le_bytes());
        let bytes = |b: &mut Vec<u8>, s: &[u8]| {
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
            b.extend_from_slice(s);
        };
        match &self.kind {
            LogEventKind::Connected { conn: c, peer } => {
                b.push(0);
                conn(b, c);
                match peer {
                    SocketAddr::V4(a) => {
                        b.push(4);
                        b.extend_from_slice(&a.ip().octets());
                    }
                    // With the scope (the interface of a link-local address) and flow label.
                    SocketAddr::V6(a) => {
                        b.push(6);
                        b.extend_from_slice(&a.ip().octets());
                        b.extend_from_slice(&a.flowinfo().to_le_bytes());
                        b.extend_from_slice(&a.scope_id().to_le_bytes());
                    }
                }
                b.extend_from_slice(&peer.port().to_le_bytes());
            }
            LogEventKind::Line { conn: c, line } => {
                b.push(1);
                conn(b, c);
                bytes(b, line);
            }
            LogEventKind::LineTooLong { conn: c } => {
                b.push(2);
                conn(b, c);
            }
            LogEventKind::Disconnected { conn: c } => {
                b.push(3);
                conn(b, c);
            }
            // (Tag 4 was a timer's firing, which the core now keeps to itself; no node ever appended
            // one, and the tag is not reused.)
            LogEventKind::PasswordChecked { conn: c, job, ok } => {
                b.push(5);
                conn(b, c);
                b.extend_from_slice(&job.to_le_bytes());
                b.push(u8::from(*ok));
            }
            LogEventKind::PasswordHashed { conn: c, job, hash } => {
                b.push(6);
                conn(b, c);
                b.extend_from_slice(&job.to_le_bytes());
                bytes(b, hash.as_bytes());
            }
            LogEventKind::Drained { conn: c } => {
                b.push(7);
                conn(b, c);
            }
            LogEventKind::Shutdown => b.push(8),
            LogEventKind::Tick => b.push(9),
            LogEventKind::SecretLine { conn: c, shape } => {
                b.push(10);
                conn(b, c);
                b.push(shape_code(*shape));
            }
            LogEventKind::NodeDead { node } => {
                b.push(11);
                b.extend_from_slice(&node.to_le_bytes());
            }
            LogEventKind::PasswordJobFailed { conn: c, job } => {
                b.push(14);
                conn(b, c);
                b.extend_from_slice(&job.to_le_bytes());
            }
            LogEventKind::NodeBack { node } => {
                b.push(12);
                b.extend_from_slice(&node.to_le_bytes());
            }
            LogEventKind::Admin { request, action } => {
                b.push(13);
                b.extend_from_slice(&request.to_le_bytes());
                bytes(b, &admin_bytes(action));
            }
        }
    }

    /// Reads back what [`Self::encode`] wrote; anything else is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<LogEvent, LogDecodeError> {
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != LOG_VERSION {
            return Err(LogDecodeError::Version(version));
        }
        let event = Self::read(&mut r)?;
        r.end()?;
        Ok(event)
    }

    /// Reads back the events of an entry, in order: a batch ([`Self::encode_batch`]), or one event
    /// alone ([`Self::encode`], as a node of an earlier build appended them: a log it left behind
    /// is still read). Anything else is an error, never a panic.
    pub fn decode_batch(bytes: &[u8]) -> Result<Vec<LogEvent>, LogDecodeError> {
        let mut r = Reader(bytes);
        match r.u8()? {
            LOG_VERSION => {
                let event = Self::read(&mut r)?;
                r.end()?;
                Ok(vec![event])
            }
            BATCH_VERSION => {
                let count = r.u32()? as usize;
                if count == 0 {
                    return Err(LogDecodeError::Empty);
                }
                // No more room than the bytes could hold (an event takes at least 9): a damaged
                // count is an error once the bytes run out, never a large allocation.
                let mut events = Vec::with_capacity(count.min(r.0.len() / 9));
                for _ in 0..count {
                    events.push(Self::read(&mut r)?);
                }
                r.end()?;
                Ok(events)
            }
            version => Err(LogDecodeError::Version(version)),
        }
    }

    /// One event: its time, tag and fields.
    fn read(r: &mut Reader<'_>) -> Result<LogEvent, LogDecodeError> {
        let at = Timestamp::from_millis(r.u64()?);
        let kind = match r.u8()? {
            0 => {
                let conn = r.conn()?;
                let peer = match r.u8()? {
                    4 => {
                        let ip = <[u8; 4]>::try_from(r.take(4)?).unwrap_or_default();
                        let port = r.u16()?;
                        SocketAddr::from((ip, port))
                    }
                    6 => {
                        let ip = <[u8; 16]>::try_from(r.take(16)?).unwrap_or_default();
                        let (flowinfo, scope) = (r.u32()?, r.u32()?);
                        let port = r.u16()?;
                        SocketAddr::V6(std::net::SocketAddrV6::new(
                            ip.into(),
                            port,
                            flowinfo,
                            scope,
                        ))
                    }
                    f => return Err(LogDecodeError::Family(f)),
                };
                LogEventKind::Connected { conn, peer }
            }
            1 => LogEventKind::Line {
                conn: r.conn()?,
                line: r.bytes()?.into(),
            },
            2 => LogEventKind::LineTooLong { conn: r.conn()? },
            3 => LogEventKind::Disconnected { conn: r.conn()? },
            5 => LogEventKind::PasswordChecked {
                conn: r.conn()?,
                job: r.u64()?,
                ok: match r.u8()? {
                    0 => false,
                    1 => true,
                    b => return Err(LogDecodeError::Bool(b)),
                },
            },
            6 => LogEventKind::PasswordHashed {
                conn: r.conn()?,
                job: r.u64()?,
                hash: std::str::from_utf8(r.bytes()?)
                    .map_err(|_| LogDecodeError::Utf8)?
                    .into(),
            },
            7 => LogEventKind::Drained { conn: r.conn()? },
            8 => LogEventKind::Shutdown,
            9 => LogEventKind::Tick,
            10 => LogEventKind::SecretLine {
                conn: r.conn()?,
                shape: shape_of_code(r.u8()?)?,
            },
            11 => LogEventKind::NodeDead { node: r.u64()? },
            12 => LogEventKind::NodeBack { node: r.u64()? },
            13 => LogEventKind::Admin {
                request: r.u64()?,
                action: Box::new(admin_from_bytes(r.bytes()?)?),
            },
            14 => LogEventKind::PasswordJobFailed {
                conn: r.conn()?,
                job: r.u64()?,
            },
            t => return Err(LogDecodeError::Tag(t)),
        };
        Ok(LogEvent { at, kind })
    }
}

/// An operator's action as an entry holds it: postcard's compact serde form (the actions are plain
/// data, and change less often than they grow).
fn admin_bytes(action: &Admin) -> Vec<u8> {
    postcard::to_allocvec(action).expect("an operator's action is plain data that serde encodes")
}

/// An operator's action read back from an entry. Only the one encoding `admin_bytes` writes is
/// accepted: postcard alone would ignore trailing bytes and read overlong varints, so two byte
/// strings could mean one entry, and the log compares entries by their bytes.
fn admin_from_bytes(raw: &[u8]) -> Result<Admin, LogDecodeError> {
    let action: Admin =
        postcard::from_bytes(raw).map_err(|e| LogDecodeError::Admin(e.to_string()))?;
    if admin_bytes(&action) != raw {
        return Err(LogDecodeError::Admin(
            "the action is not in its one canonical encoding".into(),
        ));
    }
    Ok(action)
}

/// A cursor over an entry's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Nothing may follow the end.
    fn end(&self) -> Result<(), LogDecodeError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(LogDecodeError::Trailing(n)),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], LogDecodeError> {
        if self.0.len() < n {
            return Err(LogDecodeError::Short);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, LogDecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, LogDecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn u32(&mut self) -> Result<u32, LogDecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn u64(&mut self) -> Result<u64, LogDecodeError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn conn(&mut self) -> Result<ConnId, LogDecodeError> {
        Ok(ConnId(self.u64()?))
    }

    fn bytes(&mut self) -> Result<&'a [u8], LogDecodeError> {
        let len = self.u32()?;
        if len > MAX_FIELD {
            return Err(LogDecodeError::TooLong(len));
        }
        self.take(len as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = LogEventKind> {
        let conn = any::<u64>().prop_map(ConnId);
        prop_oneof![
            (conn.clone(), any::<SocketAddr>())
                .prop_map(|(conn, peer)| LogEventKind::Connected { conn, peer }),
            (conn.clone(), proptest::collection::vec(any::<u8>(), 0..300))
                .prop_map(|(conn, line)| LogEventKind::Line { conn, line }),
            conn.clone()
                .prop_map(|conn| LogEventKind::LineTooLong { conn }),
            conn.clone()
                .prop_map(|conn| LogEventKind::Disconnected { conn }),
            (conn.clone(), any::<u64>(), any::<bool>())
                .prop_map(|(conn, job, ok)| LogEventKind::PasswordChecked { conn, job, ok }),
            (conn.clone(), any::<u64>(), ".{0,40}").prop_map(|(conn, job, hash)| {
                LogEventKind::PasswordHashed {
                    conn,
                    job,
                    hash: hash.into(),
                }
            }),
            (conn.clone(), any::<u64>())
                .prop_map(|(conn, job)| LogEventKind::PasswordJobFailed { conn, job }),
            (conn.clone(), 0u8..7).prop_map(|(conn, code)| LogEventKind::SecretLine {
                conn,
                shape: shape_of_code(code).unwrap(),
            }),
            conn.prop_map(|conn| LogEventKind::Drained { conn }),
            Just(LogEventKind::Shutdown),
            Just(LogEventKind::Tick),
            any::<u64>().prop_map(|node| LogEventKind::NodeDead { node }),
            any::<u64>().prop_map(|node| LogEventKind::NodeBack { node }),
            (any::<u64>(), ".{0,20}").prop_map(|(request, text)| LogEventKind::Admin {
                request,
                action: Box::new(Admin::Notice { text }),
            }),
        ]
    }

    proptest! {
        #[test]
        fn every_entry_reads_back_as_written(at in any::<u64>(), event in event()) {
            let entry = LogEvent { at: Timestamp::from_millis(at), kind: event };
            prop_assert_eq!(LogEvent::decode(&entry.encode()), Ok(entry));
        }

        #[test]
        fn any_bytes_are_an_entry_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(entry) = LogEvent::decode(&bytes) {
                prop_assert_eq!(entry.encode(), bytes);
            }
        }

        #[test]
        fn a_batch_reads_back_as_written_in_order_and_its_length_is_known_before(
            events in proptest::collection::vec((any::<u64>(), event()), 1..20)
        ) {
            let events: Vec<LogEvent> = events
                .into_iter()
                .map(|(at, event)| LogEvent { at: Timestamp::from_millis(at), kind: event })
                .collect();
            let bytes = LogEvent::encode_batch(&events);
            let len: usize = events.iter().map(LogEvent::encoded_len).sum();
            prop_assert_eq!(bytes.len(), 5 + len);
            for e in &events {
                prop_assert_eq!(e.encode().len(), 1 + e.encoded_len());
            }
            prop_assert_eq!(LogEvent::decode_batch(&bytes), Ok(events));
        }

        #[test]
        fn any_bytes_are_a_batch_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            if let Ok(events) = LogEvent::decode_batch(&bytes) {
                let again = match bytes[0] {
                    LOG_VERSION => events[0].encode(),
                    _ => LogEvent::encode_batch(&events),
                };
                prop_assert_eq!(again, bytes);
            }
        }
    }

    /// Found by the cluster_log fuzz target: an operator's action with bytes after its end (or an
    /// overlong varint) was read, so it did not encode back to the bytes it was read from.
    #[test]
    fn an_operators_action_is_read_only_in_its_one_encoding() {
        let bytes = [
            1u8, 0, 104, 229, 207, 139, 0, 0, 3, 13, 0, 1, 0, 5, 6, 49, 13, 0, 8, 0, 0, 0, 0, 0, 0,
            0, 135, 0, 0, 48,
        ];
        assert!(matches!(
            LogEvent::decode_batch(&bytes),
            Err(LogDecodeError::Admin(_))
        ));
    }

    #[test]
    fn an_entry_of_one_event_alone_is_read_as_a_batch_of_one() {
        let event = LogEvent::tick(Timestamp::from_millis(3));
        assert_eq!(
            LogEvent::decode_batch(&event.encode()),
            Ok(vec![event.clone()])
        );
        // And a batch is not mistaken for one event alone.
        let batch = LogEvent::encode_batch(&[event]);
        assert_eq!(
            LogEvent::decode(&batch),
            Err(LogDecodeError::Version(BATCH_VERSION))
        );
    }

    #[test]
    fn damaged_batches_say_what_is_wrong() {
        let events = [
            LogEvent::tick(Timestamp::from_millis(1)),
            LogEvent::new(
                Event::Drained { conn: ConnId(2) },
                Timestamp::from_millis(2),
            ),
        ];
        let bytes = LogEvent::encode_batch(&events);
        assert_eq!(
            LogEvent::decode_batch(&[BATCH_VERSION, 0, 0, 0, 0]),
            Err(LogDecodeError::Empty)
        );
        // A count far above what the bytes hold: an error when they run out, not a huge allocation.
        let mut counted = bytes.clone();
        counted[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(LogEvent::decode_batch(&counted), Err(LogDecodeError::Short));
        let mut longer = bytes.clone();
        longer.push(9);
        assert_eq!(
            LogEvent::decode_batch(&longer),
            Err(LogDecodeError::Trailing(1))
        );
        assert_eq!(
            LogEvent::decode_batch(&[3]),
            Err(LogDecodeError::Version(3))
        );
        assert!(
            LogDecodeError::Version(3)
                .to_string()
                .contains("must all run one build")
        );
    }

    #[test]
    fn a_link_local_address_keeps_its_interface() {
        let peer: SocketAddr =
            std::net::SocketAddrV6::new("fe80::1".parse().unwrap(), 4000, 7, 2).into();
        let entry = LogEvent::new(
            Event::Connected {
                conn: ConnId(1),
                peer,
            },
            Timestamp::from_millis(1),
        );
        assert_eq!(LogEvent::decode(&entry.encode()), Ok(entry));
    }

    #[test]
    fn damaged_entries_say_what_is_wrong() {
        let entry = LogEvent::new(
            Event::Line {
                conn: ConnId(7),
                line: b"message bob hi",
            },
            Timestamp::from_millis(5),
        );
        let bytes = entry.encode();
        assert_eq!(LogEvent::decode(&[]), Err(LogDecodeError::Short));
        assert_eq!(LogEvent::decode(&[9]), Err(LogDecodeError::Version(9)));
        assert_eq!(
            LogEvent::decode(&bytes[..bytes.len() - 1]),
            Err(LogDecodeError::Short)
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(LogEvent::decode(&longer), Err(LogDecodeError::Trailing(1)));
        let mut tag = bytes;
        tag[9] = 200;
        assert_eq!(LogEvent::decode(&tag), Err(LogDecodeError::Tag(200)));
    }
}
