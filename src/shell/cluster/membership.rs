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

use redis::{Cmd, FromRedisValue, RedisResult};

use super::connection::{Conn, Endpoint};
use super::error::LogError;
use super::seal::{ClusterKey, setting_context};
use natter_core::server::cluster::node::LeaseWas;

/// How long one of these requests may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// How long a lease lasts (the node's number, [`natter_core::server::cluster::node::LEASE_MS`]). A node renews it
/// every second and checks the others' as often, so a dead node's users are logged out within the
/// lease, a check, and the log's round trip.
pub const LEASE: Duration = Duration::from_millis(natter_core::server::cluster::node::LEASE_MS);

/// What the leases say of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLease {
    pub node: u64,
    /// It holds a lease.
    pub alive: bool,
    /// How far it had read the log when it last renewed (gone with the lease).
    pub applied: Option<u64>,
}

pub use natter_core::server::cluster::node::NODE_SHIFT;

/// The highest node number that fits in a connection id.
pub const MAX_NODE: u64 = (1 << (64 - NODE_SHIFT)) - 1;

/// What the `sealing` setting holds in a cluster whose data is not sealed.
const UNSEALED: &[u8] = b"none";
/// What a sealed cluster's `sealing` setting holds, sealed: a node that opens it has the key.
const KEY_CHECK: &[u8] = b"natter cluster key";

/// Records whether the cluster is sealed (the first node's say), unless it is recorded already; a
/// cluster started before natter recorded it (it has settings, no `sealing`) is not. Returns it.
/// KEYS: the origin hash (the cluster's settings). ARGV: what this node would record.
const SEALING: &str = r"
if redis.call('HEXISTS', KEYS[1], 'sealing') == 0 then
  if redis.call('HEXISTS', KEYS[1], 'config') == 1 then
    redis.call('HSET', KEYS[1], 'sealing', 'none')
  else
    redis.call('HSET', KEYS[1], 'sealing', ARGV[1])
  end
end
return redis.call('HGET', KEYS[1], 'sealing')
";

/// Records the cluster's certificate and (sealed, or empty) its key, both or neither, unless one is
/// recorded already; returns what is. KEYS: the origin hash (the cluster's settings). ARGV: certificate, key.
const CERTIFICATE: &str = r"
if redis.call('HEXISTS', KEYS[1], 'tls-cert') == 0 then
  redis.call('HSET', KEYS[1], 'tls-cert', ARGV[1], 'tls-key', ARGV[2])
end
return redis.call('HMGET', KEYS[1], 'tls-cert', 'tls-key')
";

/// Gives a node a number never given before and its first lease with it, in one step: a number
/// without a lease would read as a dead node to the others, who would say so in the log (and the
/// new node refuse the users it had just taken). It has read nothing of the log yet (0), so nothing
/// is trimmed meanwhile. KEYS: the counter. ARGV: a lease's key and an `applied` key without their
/// number, the lease's time (ms).
const JOIN: &str = r"
local n = redis.call('INCR', KEYS[1])
redis.call('SET', ARGV[1] .. n, 1, 'PX', ARGV[3])
redis.call('SET', ARGV[2] .. n, 0, 'PX', ARGV[3])
return n
";

/// The cluster's certificate as recorded in Redis.
pub struct ClusterCertificate {
    /// The certificate chain (PEM), as the first node to record one presented it.
    pub cert_pem: Vec<u8>,
    /// Its private key (PEM), when the cluster is sealed: recorded sealed, opened here.
    pub key_pem: Option<Vec<u8>>,
}

/// The cluster's keys in Redis, under one prefix.
pub struct Membership {
    con: Conn,
    prefix: String,
    seal: Option<ClusterKey>,
}

impl Membership {
    pub async fn connect(
        endpoint: &Endpoint,
        prefix: &str,
        seal: Option<ClusterKey>,
    ) -> Result<Membership, LogError> {
        Ok(Membership {
            con: endpoint.connect().await?,
            prefix: prefix.to_owned(),
            seal,
        })
    }

    async fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> RedisResult<T> {
        self.con.query(cmd, ANSWER_WITHIN).await
    }

    /// `value` as this cluster keeps the setting `name`: sealed, when it has a key.
    fn sealed(&self, name: &str, value: &[u8]) -> Vec<u8> {
        match &self.seal {
            Some(key) => key.seal(value, &setting_context(&self.prefix, name)),
            None => value.to_vec(),
        }
    }

    /// The setting `name` as kept (see [`Self::sealed`]), opened.
    fn opened(&self, name: &str, kept: Vec<u8>) -> Result<Vec<u8>, LogError> {
        match &self.seal {
            Some(key) => key
                .open(kept, &setting_context(&self.prefix, name))
                .map_err(|_| LogError::Sealing {
                    what: format!(
                        "the cluster's setting '{name}' in Redis does not open with this node's                          cluster key (changed in Redis?)"
                    ),
                }),
            None => Ok(kept),
        }
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{what}", self.prefix)
    }

    /// Checks that this node holds the cluster's key, or that neither has one; the first node to
    /// start records which. A node that differs learns nothing of what is sealed: it only fails to
    /// open a known value.
    pub async fn check_key(&mut self) -> Result<(), LogError> {
        let offer = match &self.seal {
            Some(_) => self.sealed("sealing", KEY_CHECK),
            None => UNSEALED.to_vec(),
        };
        let recorded: Vec<u8> = self
            .query(
                redis::cmd("EVAL")
                    .arg(SEALING)
                    .arg(1)
                    .arg(self.key("origin"))
                    .arg(offer),
            )
            .await?;
        let refuse = |what: &str| {
            Err(LogError::Sealing {
                what: what.to_owned(),
            })
        };
        match (&self.seal, recorded.as_slice() == UNSEALED) {
            (None, true) => Ok(()),
            (None, false) => refuse(
                "the cluster seals what it keeps in Redis with a cluster key, and this node has \
                 none: start it with --cluster-key-file and the key file the other nodes have",
            ),
            (Some(_), true) => refuse(
                "this node has a cluster key (--cluster-key-file), but the cluster keeps its data \
                 in Redis unsealed (its first node started without one): start this node without \
                 it, or start a new cluster (an empty Redis, or another database) with the key on \
                 every node",
            ),
            (Some(_), false) => match self.opened("sealing", recorded) {
                Ok(v) if v == KEY_CHECK => Ok(()),
                _ => refuse(
                    "this node's cluster key (--cluster-key-file) is not the cluster's: give it \
                     the same key file as the other nodes",
                ),
            },
        }
    }

    /// A number for this node, never given before (1, 2, ...), holding a lease for `ttl` from now.
    pub async fn join(&mut self, ttl: Duration) -> Result<u64, LogError> {
        Ok(self
            .query(
                redis::cmd("EVAL")
                    .arg(JOIN)
                    .arg(1)
                    .arg(self.key("nodes"))
                    .arg(self.key("lease:"))
                    .arg(self.key("applied:"))
                    .arg(ttl.as_millis() as u64),
            )
            .await?)
    }

    /// The highest node number given so far.
    pub async fn nodes(&mut self) -> Result<u64, LogError> {
        let n: Option<u64> = self.query(redis::cmd("GET").arg(self.key("nodes"))).await?;
        Ok(n.unwrap_or(0))
    }

    /// The cluster's seed: `candidate` if this node is the first to ask, else the one stored. (Sealed
    /// in a sealed cluster: with it and the log, private chats' tokens could be worked out.)
    pub async fn seed(&mut self, candidate: [u8; 32]) -> Result<[u8; 32], LogError> {
        let key = self.key("seed");
        let offer = self.sealed("seed", &candidate);
        let _: Option<String> = self
            .query(redis::cmd("SET").arg(&key).arg(offer).arg("NX"))
            .await?;
        let stored: Vec<u8> = self.query(redis::cmd("GET").arg(&key)).await?;
        let stored = self.opened("seed", stored)?;
        Ok(<[u8; 32]>::try_from(stored.as_slice()).unwrap_or(candidate))
    }

    /// Renews `node`'s lease for `ttl`, saying how far it has read the log (`applied`), so that the log
    /// is never trimmed past a live node. Returns whether the lease was still there: one that had run
    /// out (the others may have found this node dead meanwhile) is made anew all the same, and the node
    /// decides what that means. (`SET ... GET` answers the value it replaced: one command, no script.)
    pub async fn renew(
        &mut self,
        node: u64,
        ttl: Duration,
        applied: u64,
    ) -> Result<LeaseWas, LogError> {
        let ttl = ttl.as_millis() as u64;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.key(&format!("lease:{node}")))
            .arg(1)
            .arg("PX")
            .arg(ttl)
            .arg("GET")
            .cmd("SET")
            .arg(self.key(&format!("applied:{node}")))
            .arg(applied)
            .arg("PX")
            .arg(ttl);
        let answers = self.con.pipeline(&pipe, ANSWER_WITHIN).await?;
        Ok(match answers.first() {
            Some(redis::Value::Nil) | None => LeaseWas::Lapsed,
            Some(_) => LeaseWas::Held,
        })
    }

    /// Checks that this node runs the cluster's rules and accounts: the first node to start stores its
    /// own (`config`, the accounts' names and a digest of names and passwords: sealed in a sealed
    /// cluster), every other node must have the same. Returns the differences, for an error (empty:
    /// they agree).
    pub async fn agree(
        &mut self,
        config: &natter_core::server::Config,
        names: &[&str],
        accounts_digest: &str,
    ) -> Result<Vec<String>, LogError> {
        let ours = serde_json::to_string(config).unwrap_or_default();
        let names_joined = names.join(" ");
        let accounts = self.sealed(
            "accounts",
            format!("{accounts_digest} {names_joined}").as_bytes(),
        );
        let settings = self.key("origin");
        let _: () = self
            .query(redis::cmd("HSETNX").arg(&settings).arg("config").arg(&ours))
            .await?;
        let _: () = self
            .query(
                redis::cmd("HSETNX")
                    .arg(&settings)
                    .arg("accounts")
                    .arg(accounts),
            )
            .await?;
        let (config_stored, accounts_stored): (Option<String>, Option<Vec<u8>>) = self
            .query(
                redis::cmd("HMGET")
                    .arg(&settings)
                    .arg("config")
                    .arg("accounts"),
            )
            .await?;
        let accounts_stored = match accounts_stored {
            Some(kept) => Some(String::from_utf8(self.opened("accounts", kept)?).map_err(
                |_| LogError::Sealing {
                    what: "the cluster's accounts digest in Redis is not text".into(),
                },
            )?),
            None => None,
        };
        let mut differences = Vec::new();
        if let Some(theirs) = config_stored
            .as_deref()
            .and_then(|c| serde_json::from_str::<natter_core::server::Config>(c).ok())
        {
            differences.extend(natter_core::server::cluster::snapshot::config_differences(
                &theirs, config,
            ));
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

    /// The cluster's certificate: this node's (`cert_pem`, and `key_pem`, recorded only sealed, so
    /// only in a sealed cluster) if it is the first to offer one, else the one recorded.
    pub async fn certificate(
        &mut self,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<ClusterCertificate, LogError> {
        let key_offer = match &self.seal {
            Some(_) => self.sealed("tls-key", key_pem),
            None => Vec::new(),
        };
        let (cert, key): (Vec<u8>, Option<Vec<u8>>) = self
            .query(
                redis::cmd("EVAL")
                    .arg(CERTIFICATE)
                    .arg(1)
                    .arg(self.key("origin"))
                    .arg(cert_pem)
                    .arg(key_offer),
            )
            .await?;
        let key_pem = match key.filter(|k| !k.is_empty()) {
            Some(kept) if self.seal.is_some() => Some(self.opened("tls-key", kept)?),
            _ => None,
        };
        Ok(ClusterCertificate {
            cert_pem: cert,
            key_pem,
        })
    }

    /// Gives the lease up at once (a clean stop: the others need not wait for it to run out).
    pub async fn leave(&mut self, node: u64) -> Result<(), LogError> {
        let _: () = self
            .query(redis::cmd("DEL").arg(self.key(&format!("lease:{node}"))))
            .await?;
        Ok(())
    }

    /// A setting of Redis's own (`None` when it cannot be read: some hosted Redis refuse `CONFIG`,
    /// and an ACL may leave it out).
    async fn redis_setting(&mut self, name: &str) -> Option<String> {
        let v: Vec<String> = self
            .query(redis::cmd("CONFIG").arg("GET").arg(name))
            .await
            .ok()?;
        v.get(1).cloned()
    }

    /// What Redis's settings put at risk, if anything: without the append-only file synced on every
    /// write, what Redis acknowledged (and so what natter acknowledged) can be lost when it restarts.
    /// `None` when they are safe, or cannot be read.
    pub async fn durability_warning(&mut self) -> Option<String> {
        let appendonly = self.redis_setting("appendonly").await?;
        let fsync = self.redis_setting("appendfsync").await?;
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

    /// Who else can read what this cluster keeps in Redis, as far as this node can tell: a Redis
    /// that let this node in without a password while it listens beyond this host (then anyone who
    /// reaches it reads every message and can change the log), and, unsealed, an append-only file
    /// other users of this host may read. Each finding, for the operator's log.
    pub async fn exposure_warnings(&mut self, endpoint: &Endpoint) -> Vec<String> {
        let mut found = Vec::new();
        if !endpoint.has_password() {
            let (bind, protected) = if endpoint.is_local() {
                (
                    self.redis_setting("bind").await,
                    self.redis_setting("protected-mode").await,
                )
            } else {
                (None, None)
            };
            found.extend(open_without_password(
                endpoint,
                bind.as_deref(),
                protected.as_deref(),
            ));
        }
        if self.seal.is_none()
            && endpoint.is_local()
            && let Some(dir) = self.redis_setting("dir").await
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(&dir)
                && meta.permissions().mode() & 0o007 != 0
            {
                found.push(format!(
                    "Redis keeps every message's text in its append-only file, in {dir}, which other \
                     users of this host can open (mode {:o}): make it its owner's only (chmod 700 \
                     {dir}) and start Redis with umask 077, or seal the cluster's data with \
                     --cluster-key-file",
                    meta.permissions().mode() & 0o777
                ));
            }
        }
        found
    }

    /// Which of nodes `1..=highest` hold a lease now, and how far each had read the log when it last
    /// renewed, in one round trip.
    pub async fn alive(&mut self, highest: u64) -> Result<Vec<NodeLease>, LogError> {
        if highest == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for node in 1..=highest {
            cmd.arg(self.key(&format!("lease:{node}")));
            cmd.arg(self.key(&format!("applied:{node}")));
        }
        let got: Vec<Option<u64>> = self.query(&cmd).await?;
        Ok((1..=highest)
            .zip(got.chunks(2))
            .map(|(node, pair)| NodeLease {
                node,
                alive: pair.first().copied().flatten().is_some(),
                applied: pair.get(1).copied().flatten(),
            })
            .collect())
    }
}

/// The warning for a Redis that let this node in without a password (at `endpoint`), if anyone
/// beyond this host can do the same: it was reached from another host, or (on this one) it listens
/// beyond loopback (`bind`) with protected mode (which keeps a password-less Redis to loopback) off.
fn open_without_password(
    endpoint: &Endpoint,
    bind: Option<&str>,
    protected_mode: Option<&str>,
) -> Option<String> {
    let how = if !endpoint.is_local() {
        format!("this node reaches it from another host ({endpoint})")
    } else {
        match (bind, protected_mode) {
            (Some(bind), Some("no")) if !binds_loopback_only(bind) => {
                format!("it listens on '{bind}' with protected-mode off")
            }
            _ => return None,
        }
    };
    Some(format!(
        "Redis let this node in without a password, and {how}: anyone who can reach it can read \
         every message of the cluster and change its log. Give Redis a password (requirepass, or an \
         ACL user: README) and put it in --cluster's URL"
    ))
}

/// Whether Redis's `bind` setting names loopback addresses only.
fn binds_loopback_only(bind: &str) -> bool {
    bind.split_whitespace().all(|a| {
        let a = a.trim_start_matches('-');
        a == "localhost"
            || a.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_binds_keep_a_password_less_redis_to_this_host() {
        assert!(binds_loopback_only("127.0.0.1 -::1"));
        assert!(binds_loopback_only("127.0.0.1"));
        assert!(!binds_loopback_only("* -::*"));
        assert!(!binds_loopback_only("0.0.0.0"));
        assert!(!binds_loopback_only("127.0.0.1 10.0.0.5"));
    }

    #[test]
    fn a_password_less_redis_others_can_reach_is_warned_of() {
        let local = Endpoint::parse("redis://127.0.0.1:6379", None).unwrap();
        let remote = Endpoint::parse("redis://10.0.0.5:6379", None).unwrap();
        let w = open_without_password(&remote, None, None).expect("reached from another host");
        assert!(
            w.contains("from another host") && w.contains("requirepass"),
            "{w}"
        );
        let w = open_without_password(&local, Some("* -::*"), Some("no")).expect("open to all");
        assert!(w.contains("protected-mode off"), "{w}");
        // Protected mode keeps a password-less Redis to loopback; a loopback bind does too.
        assert!(open_without_password(&local, Some("* -::*"), Some("yes")).is_none());
        assert!(open_without_password(&local, Some("127.0.0.1 -::1"), Some("no")).is_none());
        assert!(open_without_password(&local, None, None).is_none());
    }
}
