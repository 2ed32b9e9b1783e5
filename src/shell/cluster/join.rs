//! A node joining the cluster: its number and lease, the check that it runs the cluster's rules and
//! accounts, and the state it starts from (the latest snapshot, or the start of the log).

use sha2::{Digest, Sha256};

use super::connection::Endpoint;
use super::error::LogError;
use super::membership::{ClusterCertificate, MAX_NODE, Membership};
use super::seal::ClusterKey;
use super::snapshots::Snapshots;
use natter_core::server::cluster::ReplicaLog;
use natter_core::server::cluster::snapshot::{self, SnapshotError};
use natter_core::server::{Account, Config, ServerState};

/// What a node starts with.
pub struct Joined {
    /// Its number, never given to another node, nor to this one before.
    pub node: u64,
    /// The core, and where in the log it is: from the latest snapshot, or fresh at the log's start.
    pub core: ServerState,
    pub log: ReplicaLog,
    /// What Redis's settings leave at risk, for the operator's log: its durability, and who else
    /// can read what the cluster keeps there.
    pub warnings: Vec<String>,
    /// The cluster's certificate, when this node offered its own ([`Joining::certificate`]).
    pub certificate: Option<ClusterCertificate>,
}

/// Why a node cannot join.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(transparent)]
    Redis(#[from] LogError),
    #[error(
        "the cluster has given out all {MAX_NODE} node numbers (each start of a node takes a new one); \
         only a new cluster (a fresh Redis) can start more"
    )]
    NoNumbersLeft,
    #[error(
        "this node does not run the cluster's rules and accounts, and every node must (their copies of \
         the server must agree): {}. Start it with the same credentials file (same accounts, same \
         order) and the same BLOCK_DURATION, TIMEOUT and limits as the nodes already running",
        .0.join("; ")
    )]
    Disagrees(Vec<String>),
    #[error("the cluster's latest snapshot cannot be loaded: {0}")]
    Snapshot(#[from] SnapshotError),
}

/// How a node joins: where, with what key, running what.
pub struct Joining<'a> {
    pub endpoint: &'a Endpoint,
    /// The prefix of the cluster's keys in Redis.
    pub prefix: &'a str,
    /// The cluster key, when the cluster's data is sealed.
    pub seal: Option<ClusterKey>,
    pub config: &'a Config,
    pub accounts: Vec<Account>,
    /// Seeds the cluster's token generator if this is its first node.
    pub seed: [u8; 32],
    /// This node's TLS certificate and key (PEM), offered as the cluster's if it has none yet.
    pub certificate: Option<(&'a [u8], &'a [u8])>,
}

/// Joins the cluster: checks the key first (a node with another key, or none, learns nothing), takes
/// a number, checks the rules and accounts, and loads the state to start from.
pub async fn join(j: Joining<'_>) -> Result<Joined, JoinError> {
    let mut members = Membership::connect(j.endpoint, j.prefix, j.seal.clone()).await?;
    members.check_key().await?;
    let node = members.join(super::LEASE).await?;
    if node > MAX_NODE {
        return Err(JoinError::NoNumbersLeft);
    }
    let names: Vec<&str> = j.accounts.iter().map(|a| a.username.as_str()).collect();
    let differences = members
        .agree(j.config, &names, &accounts_digest(&j.accounts))
        .await?;
    if !differences.is_empty() {
        return Err(JoinError::Disagrees(differences));
    }
    let certificate = match j.certificate {
        Some((cert, key)) => Some(members.certificate(cert, key).await?),
        None => None,
    };
    let seed = members.seed(j.seed).await?;
    let latest = Snapshots::connect(j.endpoint, j.prefix, j.seal.clone())
        .await?
        .latest()
        .await?;
    let (core, log) = match latest {
        Some(bytes) => snapshot::decode(&bytes)?,
        None => (
            ServerState::new(j.config.clone(), j.accounts, seed),
            ReplicaLog::new(),
        ),
    };
    // Before anything is read: the log must not be trimmed past the snapshot this node is about to
    // read on from.
    members.renew(node, super::LEASE, log.position()).await?;
    let mut warnings: Vec<String> = members.durability_warning().await.into_iter().collect();
    warnings.extend(members.exposure_warnings(j.endpoint).await);
    Ok(Joined {
        node,
        core,
        log,
        warnings,
        certificate,
    })
}

/// The accounts, in order (their order numbers users inside the core), as a digest: two nodes agree
/// on it only if their credentials agree, without the passwords leaving the node.
fn accounts_digest(accounts: &[Account]) -> String {
    let mut h = Sha256::new();
    for a in accounts {
        h.update(a.username.as_bytes());
        h.update([0]);
        h.update(a.password.as_bytes());
        h.update([b'\n']);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(u: &str, p: &str) -> Account {
        Account {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn the_digest_changes_with_any_name_password_or_order() {
        let a = [account("alice", "x"), account("bob", "y")];
        let d = accounts_digest(&a);
        assert_eq!(d, accounts_digest(&a.clone()));
        assert_ne!(
            d,
            accounts_digest(&[account("alice", "x"), account("bob", "z")])
        );
        assert_ne!(
            d,
            accounts_digest(&[account("bob", "y"), account("alice", "x")])
        );
        assert_ne!(d, accounts_digest(&[account("alicebob", "xy")]));
        assert_eq!(d.len(), 64);
    }
}
