//! One identity for the whole cluster: every node presents the same certificate, so a client's pin
//! made at any node holds at all of them, and a client that moves to another node when its own dies
//! logs in again there without asking anyone (it sends a remembered password only to a server whose
//! certificate it has verified).
//!
//! The first node to join with TLS records its certificate in Redis (the certificate is public).
//! Then, for each node that joins:
//! - presenting the same certificate: it joins;
//! - in a sealed cluster (`--cluster-key-file`), a node that was not given a certificate of its own
//!   takes the cluster's: the first node recorded its private key too, sealed with the cluster key,
//!   so Redis never holds it readable;
//! - otherwise it refuses to join and says why: clients that pinned another node would not know it.
//!   (Without a cluster key, nodes are given the same `--tls-cert` and `--tls-key`.)

use super::membership::ClusterCertificate;
use crate::shell::tls::Identity;

/// Why a node's certificate cannot be the cluster's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IdentityError(String);

/// The certificate this node presents, given its own (`ours`) and what the cluster has recorded
/// (`cluster`, after this node offered its own: so there always is one).
pub fn cluster_identity(
    ours: Identity,
    cluster: ClusterCertificate,
) -> Result<Identity, IdentityError> {
    let theirs = Identity {
        cert_pem: cluster.cert_pem,
        key_pem: Vec::new(),
        source: String::new(),
        given: false,
    };
    let (our_fp, their_fp) = (ours.fingerprint(), theirs.fingerprint());
    if our_fp.is_some() && our_fp == their_fp {
        return Ok(ours);
    }
    let our_fp = our_fp.unwrap_or_else(|| "(none)".into());
    let their_fp = their_fp.unwrap_or_else(|| "(none)".into());
    match cluster.key_pem {
        Some(key_pem) if !ours.given => Ok(Identity {
            key_pem,
            source: format!(
                "the cluster's, shared through Redis sealed with the cluster key; this node's own \
                 ({our_fp}) is not used"
            ),
            given: false,
            ..theirs
        }),
        _ if ours.given => Err(IdentityError(format!(
            "this node's certificate ({our_fp}, from --tls-cert {}) is not the cluster's \
             ({their_fp}): clients that pinned another node would refuse it, or have to be asked \
             about it. Start it with the cluster's certificate and key (the same --tls-cert and \
             --tls-key as the other nodes)",
            ours.source
        ))),
        _ => Err(IdentityError(format!(
            "this node's certificate ({our_fp}, {}) is not the cluster's ({their_fp}): a client \
             moving here from another node would not know it. Give every node the same --tls-cert \
             and --tls-key, or start the cluster with --cluster-key-file, so that its nodes share \
             the first node's certificate (kept in Redis sealed)",
            ours.source
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(given: bool) -> Identity {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        Identity {
            cert_pem: cert.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
            source: if given {
                "a.pem".into()
            } else {
                "self-signed".into()
            },
            given,
        }
    }

    fn recorded(i: &Identity, with_key: bool) -> ClusterCertificate {
        ClusterCertificate {
            cert_pem: i.cert_pem.clone(),
            key_pem: with_key.then(|| i.key_pem.clone()),
        }
    }

    #[test]
    fn the_same_certificate_joins_and_a_sealed_cluster_shares_its_own() {
        let first = made(false);
        let same = cluster_identity(first.clone(), recorded(&first, true)).unwrap();
        assert_eq!(same.key_pem, first.key_pem);
        // A later node with a self-signed certificate of its own takes the cluster's, key and all.
        let later = cluster_identity(made(false), recorded(&first, true)).unwrap();
        assert_eq!(later.fingerprint(), first.fingerprint());
        assert_eq!(later.key_pem, first.key_pem);
        assert!(later.source.contains("the cluster's"), "{}", later.source);
        crate::shell::tls::ServerTls::from_identity(&later).unwrap();
    }

    #[test]
    fn another_certificate_is_refused_saying_what_to_do() {
        let first = made(true);
        // Given one of its own: never replaced behind the operator's back, even when it could be.
        let e = cluster_identity(made(true), recorded(&first, true)).unwrap_err();
        assert!(
            e.to_string().contains("same --tls-cert and --tls-key"),
            "{e}"
        );
        assert!(e.to_string().contains(&first.fingerprint().unwrap()), "{e}");
        // Unsealed, the cluster has no key to share.
        let e = cluster_identity(made(false), recorded(&first, false)).unwrap_err();
        assert!(e.to_string().contains("--cluster-key-file"), "{e}");
    }
}
