//! A cluster node's whole state as bytes, so that a node that starts late, or restarts, or fell behind,
//! loads it and reads the shared log on from its position instead of replaying the log from the start;
//! and so that the log can be trimmed before it.
//!
//! What is kept is everything a copy of the core needs to go on exactly as the copies that never
//! stopped: the core ([`ServerState`]: accounts, sessions of every node, mailboxes, groups, lockouts,
//! flood-control buckets, the token generator's position, its deadlines...) and its [`ReplicaLog`] (the
//! log's time, the position, the per-node numbers that drop re-appended entries). A copy built from a snapshot
//! makes, entry for entry, the effects of the copy that took it: the simulator checks it
//! (`sim::replicas`).
//!
//! The form: 8 bytes of magic, a format version, the position (so a reader can tell where it is from
//! without decoding the rest), a CRC-32 of the body, then the body in postcard's compact serde form.
//! Any damage is an error that says what is wrong, never a panic or a core built from half a snapshot.

use crate::server::cluster::replica::ReplicaLog;
use crate::server::config::Config;
use crate::server::state::ServerState;

/// What every snapshot starts with.
const MAGIC: &[u8; 8] = b"natter-S";

/// The version of the form this build writes and reads. 2: the deadlines moved from beside the core
/// into it. 3: new connections are limited per address. 4: flood budgets, login rates and cool-downs
/// belong to accounts and addresses, and presence announcements are rationed. 5: the key directory
/// of end-to-end encryption. 6: the nodes the log found dead, beside the core. 7: bans, removed
/// accounts, `passwd`, and the password policy's length. 8: groups have an owner, a join order,
/// settings and a topic; invitations; a session's away reason. 9: groups' rules (operators, voices,
/// key, limit, moderation, external messages, bans). 10: groups' invite exceptions, ban exceptions
/// and `no-ctcp`. 11: a session's rarely set parts kept apart, the connections' table a list.
/// 12: a session's `passwd` step among its rarely set parts.
pub const SNAPSHOT_VERSION: u8 = 12;

const HEADER: usize = MAGIC.len() + 1 + 8 + 4;

/// Why bytes are not a snapshot this build can load.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes do not start with natter's mark: not a snapshot at all.
    #[error("not a natter snapshot (it does not start with natter's mark)")]
    NotASnapshot,
    /// Written by a build with another snapshot format.
    #[error(
        "snapshot format {0} is not one this build reads (it reads format {SNAPSHOT_VERSION}); run \
         the same natter version on every node"
    )]
    Version(u8),
    /// The checksum does not match the bytes: they were damaged.
    #[error("snapshot is damaged: its checksum does not match")]
    Checksum,
    /// The checksum matches but the state does not decode.
    #[error("snapshot is damaged: {0}")]
    Body(#[from] postcard::Error),
    /// The header's log position is not the one the state holds.
    #[error("snapshot says it is at log position {header} but holds position {body}")]
    Position {
        /// The position the header says.
        header: u64,
        /// The position the state holds.
        body: u64,
    },
}

#[derive(serde::Serialize)]
struct BodyRef<'a> {
    core: &'a ServerState,
    log: &'a ReplicaLog,
}

#[derive(serde::Deserialize)]
struct Body {
    core: ServerState,
    log: ReplicaLog,
}

/// The node's state as bytes.
pub fn encode(core: &ServerState, log: &ReplicaLog) -> Vec<u8> {
    let body = postcard::to_allocvec(&BodyRef { core, log })
        .expect("the core's state is plain data that serde always encodes");
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.push(SNAPSHOT_VERSION);
    out.extend_from_slice(&log.position().to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The log position a snapshot was taken at, read from its header alone.
pub fn position_of(bytes: &[u8]) -> Result<u64, SnapshotError> {
    let (version, position) = header(bytes)?;
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version(version));
    }
    Ok(position)
}

fn header(bytes: &[u8]) -> Result<(u8, u64), SnapshotError> {
    if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::NotASnapshot);
    }
    let version = bytes[MAGIC.len()];
    let at = MAGIC.len() + 1;
    let position = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    Ok((version, position))
}

/// The length of a snapshot's body (what follows its header), for tests that build damaged ones.
#[doc(hidden)]
pub fn body_len(bytes: &[u8]) -> usize {
    bytes.len().saturating_sub(HEADER)
}

/// Sets the checksum to match the body, for tests (the fuzzer) that reach the body's decoder with
/// bytes of their own.
#[doc(hidden)]
pub fn fix_checksum(bytes: &mut [u8]) {
    if bytes.len() < HEADER {
        return;
    }
    let crc = crc32fast::hash(&bytes[HEADER..]);
    let at = MAGIC.len() + 1 + 8;
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Reads back what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<(ServerState, ReplicaLog), SnapshotError> {
    let position = position_of(bytes)?;
    let at = MAGIC.len() + 1 + 8;
    let crc = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    let body = &bytes[HEADER..];
    if crc32fast::hash(body) != crc {
        return Err(SnapshotError::Checksum);
    }
    let Body { mut core, log } = postcard::from_bytes(body)?;
    core.follow_config();
    if log.position() != position {
        return Err(SnapshotError::Position {
            header: position,
            body: log.position(),
        });
    }
    Ok((core, log))
}

/// The settings in which `ours` differs from `theirs`, one `name: theirs here, ours there` each, for an
/// error a person can act on (every node of a cluster must run the same rules).
pub fn config_differences(theirs: &Config, ours: &Config) -> Vec<String> {
    let as_map = |c: &Config| match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (as_map(theirs), as_map(ours));
    a.iter()
        .filter_map(|(name, value)| {
            let other = b.get(name)?;
            (other != value)
                .then(|| format!("{name}: the cluster's is {value}, this node's {other}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::harness::Harness;

    fn sample() -> (ServerState, ReplicaLog) {
        let mut h = Harness::new(Config::default(), &[("alice", "a"), ("bob", "b")]);
        let a = h.connect();
        h.send(a, "alice");
        h.send(a, "a");
        h.send(a, "message bob kept");
        (h.into_state(), ReplicaLog::new())
    }

    #[test]
    fn a_snapshot_reads_back_and_says_its_position() {
        let (core, log) = sample();
        let bytes = encode(&core, &log);
        assert_eq!(position_of(&bytes).unwrap(), 0);
        let (back, log2) = decode(&bytes).unwrap();
        assert_eq!(log2.position(), 0);
        // The same state: encoding it again gives the same bytes.
        assert_eq!(encode(&back, &log2), bytes);
    }

    #[test]
    fn the_core_s_deadlines_travel_inside_it() {
        let (mut core, log) = sample();
        let deadline = core.poll_timeout().expect("alice's idle deadline");
        let (mut back, _) = decode(&encode(&core, &log)).unwrap();
        assert_eq!(back.poll_timeout(), Some(deadline));
        let (mut here, mut there) = (Vec::new(), Vec::new());
        core.handle_timeout(deadline, &mut here);
        back.handle_timeout(deadline, &mut there);
        assert!(!here.is_empty());
        assert_eq!(
            here, there,
            "the copy acts on the deadline as the original does"
        );
    }

    #[test]
    fn damage_is_an_error_that_says_what() {
        let (core, log) = sample();
        let bytes = encode(&core, &log);
        assert!(matches!(decode(b"hello"), Err(SnapshotError::NotASnapshot)));
        let mut v = bytes.clone();
        v[MAGIC.len()] = 99;
        assert!(matches!(decode(&v), Err(SnapshotError::Version(99))));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(decode(&flipped), Err(SnapshotError::Checksum)));
        let cut = &bytes[..bytes.len() - 3];
        assert!(decode(cut).is_err());
    }

    #[test]
    fn differing_settings_are_named() {
        let a = Config::default();
        let b = Config {
            timeout_secs: 3,
            ..Config::default()
        };
        let d = config_differences(&a, &b);
        assert_eq!(d, vec!["timeout_secs: the cluster's is 600, this node's 3"]);
        assert!(config_differences(&a, &a).is_empty());
    }
}
