//! What can go wrong with the shared log and with Redis, and the names of a log entry's fields: what
//! the connection, the log and the membership all speak of, apart from any of them.

use natter_core::server::cluster::LogDecodeError;

/// The fields of each stream entry: the event, the node that appended it, and that node's number for it
/// (counting from 1), by which readers drop an entry appended twice (a retry after a lost reply).
pub(super) const FIELD: &str = "e";
pub(super) const NODE: &str = "n";
pub(super) const SEQ: &str = "s";

/// What can go wrong with the log, and with Redis.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot reach Redis at {url}: {source}")]
    Connect {
        url: String,
        source: redis::RedisError,
    },
    #[error("Redis at {url} did not let this node in: {reason}")]
    Auth { url: String, reason: String },
    #[error("no TLS with Redis at {url}: {reason}")]
    Tls { url: String, reason: String },
    #[error("{url} cannot be used: {reason}")]
    BadUrl { url: String, reason: String },
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
    #[error("{what}")]
    Sealing { what: String },
    #[error(
        "log entry {id} is not sealed with this node's cluster key: it was written with another key, or \
         changed in Redis"
    )]
    Unsealed { id: String },
}
