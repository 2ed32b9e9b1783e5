//! A node joining the cluster: its number and lease, the check that it runs the cluster's rules and
//! accounts, and the state it starts from (the latest snapshot, or the start of the log).

use sha2::{Digest, Sha256};

use super::log::LogError;
use super::membership::{MAX_NODE, Membership};
use super::snapshots::Snapshots;
use crate::server::snapshot::{self, SnapshotError};
use crate::server::{Account, Config, ReplicaLog, ServerState};

/// What a node starts with.
pub struct Joined {
    /// Its number, never given to another node, nor to this one before.
    pub node: u64,
    /// The core, and where in the log it is: from the latest snapshot, or fresh at the log's start.
    pub core: ServerState,
    pub log: ReplicaLog,
    /// What Redis's durability settings leave at risk, for the operator's log (`None`: nothing).
    pub durability_warning: Option<String>,
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

/// Joins the cluster whose keys in the Redis at `url` start with `prefix`, as a node that runs
/// `config` with `accounts`. `seed` seeds the cluster's token generator if this is its first node.
pub async fn join(
    url: &str,
    prefix: &str,
    config: &Config,
    accounts: Vec<Account>,
    seed: [u8; 32],
) -> Result<Joined, JoinError> {
    let mut members = Membership::connect(url, prefix).await?;
    let node = members.join().await?;
    if node > MAX_NODE {
        return Err(JoinError::NoNumbersLeft);
    }
    let names: Vec<&str> = accounts.iter().map(|a| a.username.as_str()).collect();
    let differences = members
        .agree(config, &names, &accounts_digest(&accounts))
        .await?;
    if !differences.is_empty() {
        return Err(JoinError::Disagrees(differences));
    }
    let seed = members.seed(seed).await?;
    let (core, log) = match Snapshots::connect(url, prefix).await?.latest().await? {
        Some(bytes) => snapshot::decode(&bytes)?,
        None => (
            ServerState::new(config.clone(), accounts, seed),
            ReplicaLog::new(),
        ),
    };
    // At once: a number without a lease reads as a dead node to the others, and the log must not be
    // trimmed past the snapshot this node is about to read on from.
    members.renew(node, super::LEASE, log.position()).await?;
    let durability_warning = members.durability_warning().await;
    Ok(Joined {
        node,
        core,
        log,
        durability_warning,
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
