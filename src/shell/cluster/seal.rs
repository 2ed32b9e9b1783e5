//! The cluster key: what a node writes to Redis sealed, so that Redis (its memory, its append-only
//! file, its replicas and backups) holds no message text and no account data.
//!
//! An AEAD from RustCrypto (`XChaCha20Poly1305`: a 192-bit nonce, so a fresh random one for every
//! value is safe however many are sealed under one key), used as its documentation says: a random
//! nonce from the OS per value, stored before the ciphertext, and associated data that binds each
//! value to where it belongs (a log entry to its stream, node and per-node number; a snapshot to its
//! position; each of the cluster's settings to its name), so that Redis, or whoever can write to it,
//! cannot move a sealed value to another place without the reader noticing. natter writes no
//! cryptography of its own here; what it adds is only that layout:
//!
//! ```text
//! sealed = VERSION (1 byte) || nonce (24 bytes) || ciphertext || tag (16 bytes)
//! ```
//!
//! The key is 32 random bytes, kept as 64 hex digits in a file only its owner may read
//! (`natter-server cluster-key FILE` makes one); every node of the cluster is given the same file.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};

/// The layout of a sealed value (above); a later one would take another number.
const VERSION: u8 = 1;
const NONCE: usize = 24;
const TAG: usize = 16;
const HEADER: usize = 1 + NONCE;

/// Why a key cannot be used, or a value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot read the cluster key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the cluster key file {path} does not hold a key: it must hold 64 hex digits (32 bytes) on \
         one line, as `natter-server cluster-key FILE` writes"
    )]
    Malformed { path: String },
    #[error("cannot write the cluster key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} exists already: a new cluster key is never written over an old one")]
    Exists { path: String },
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    #[error("not sealed with this cluster's key (another key, or damaged)")]
    Open,
}

/// The key every node of a sealed cluster holds.
#[derive(Clone)]
pub struct ClusterKey {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

impl ClusterKey {
    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> ClusterKey {
        ClusterKey {
            cipher: XChaCha20Poly1305::new(Key::from_slice(bytes)),
        }
    }

    /// Reads the key file at `path`. One readable by others is made its owner's only first (it
    /// opens everything the cluster stores), saying so.
    pub fn load(path: &Path) -> Result<ClusterKey, SealError> {
        let shown = path.display().to_string();
        let read = |source| SealError::Read {
            path: shown.clone(),
            source,
        };
        tighten(path).map_err(read)?;
        let text = std::fs::read_to_string(path).map_err(read)?;
        let hex = text.trim();
        let malformed = || SealError::Malformed {
            path: shown.clone(),
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| malformed())?;
        }
        Ok(ClusterKey::from_bytes(&bytes))
    }

    /// Writes a new random key to `path` (a file that must not exist yet), readable by its owner
    /// only.
    pub fn write_new(path: &Path) -> Result<(), SealError> {
        let shown = path.display().to_string();
        if path.exists() {
            return Err(SealError::Exists { path: shown });
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SealError::Random(e.to_string()))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        crate::private_fs::write_private(path, format!("{hex}\n").as_bytes()).map_err(|source| {
            SealError::Write {
                path: shown,
                source,
            }
        })
    }

    /// `plain` sealed, bound to `context` (where it is kept: see the module's documentation).
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        // A node that cannot get randomness cannot seal safely; it must not go on with a repeated
        // nonce. (getrandom fails only on a broken system.)
        getrandom::fill(&mut nonce).expect("no randomness from the operating system");
        let mut out = Vec::with_capacity(HEADER + plain.len() + TAG);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), context, &mut out[HEADER..])
            .expect("a value far below the AEAD's limit");
        out.extend_from_slice(&tag);
        out
    }

    /// What `sealed` holds, if it was sealed with this key for `context`; opened in place, without
    /// a copy.
    pub fn open(&self, mut sealed: Vec<u8>, context: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < HEADER + TAG || sealed[0] != VERSION {
            return Err(SealError::Open);
        }
        let tag_at = sealed.len() - TAG;
        let (head, rest) = sealed.split_at_mut(HEADER);
        let (body, tag) = rest.split_at_mut(tag_at - HEADER);
        self.cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(&head[1..]),
                context,
                body,
                Tag::from_slice(tag),
            )
            .map_err(|_| SealError::Open)?;
        sealed.truncate(tag_at);
        sealed.drain(..HEADER);
        Ok(sealed)
    }
}

/// Makes the file at `path` its owner's only, saying so if it was not.
fn tighten(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        tracing::warn!(
            "the cluster key file {} was readable by other users; it opens everything the cluster \
             keeps in Redis, so it is now its owner's only",
            path.display()
        );
    }
    Ok(())
}

/// Where a log entry belongs: its stream, its node and that node's number for it. (Its position is
/// given by Redis only once it is stored, so it cannot be bound in; a reader checks positions by
/// their numbers instead.)
pub fn entry_context(stream: &str, node: u64, seq: u64) -> Vec<u8> {
    let mut c = b"natter log entry v1\0".to_vec();
    c.extend_from_slice(stream.as_bytes());
    c.push(0);
    c.extend_from_slice(&node.to_le_bytes());
    c.extend_from_slice(&seq.to_le_bytes());
    c
}

/// Where a snapshot belongs: its key and the log position it was taken at.
pub fn snapshot_context(key: &str, position: u64) -> Vec<u8> {
    let mut c = b"natter snapshot v1\0".to_vec();
    c.extend_from_slice(key.as_bytes());
    c.push(0);
    c.extend_from_slice(&position.to_le_bytes());
    c
}

/// Where one of the cluster's settings belongs: its key and its name.
pub fn setting_context(key: &str, name: &str) -> Vec<u8> {
    let mut c = b"natter setting v1\0".to_vec();
    c.extend_from_slice(key.as_bytes());
    c.push(0);
    c.extend_from_slice(name.as_bytes());
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::aead::Aead;

    fn key(byte: u8) -> ClusterKey {
        ClusterKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn sealed_is_the_library_s_own_aead_with_the_nonce_in_front() {
        // Differential: what `seal` writes is opened by XChaCha20Poly1305 itself, used directly.
        let k = key(7);
        let sealed = k.seal(b"hello, alice", b"ctx");
        assert_eq!(sealed[0], VERSION);
        assert_eq!(sealed.len(), HEADER + 12 + TAG);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
        let plain = cipher
            .decrypt(
                XNonce::from_slice(&sealed[1..HEADER]),
                chacha20poly1305::aead::Payload {
                    msg: &sealed[HEADER..],
                    aad: b"ctx",
                },
            )
            .unwrap();
        assert_eq!(plain, b"hello, alice");
        // And the library's own sealing opens here.
        let nonce = [9u8; NONCE];
        let theirs = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                chacha20poly1305::aead::Payload {
                    msg: b"from the library",
                    aad: b"ctx",
                },
            )
            .unwrap();
        let mut framed = vec![VERSION];
        framed.extend_from_slice(&nonce);
        framed.extend_from_slice(&theirs);
        assert_eq!(k.open(framed, b"ctx").unwrap(), b"from the library");
    }

    #[test]
    fn another_key_another_place_or_any_changed_byte_does_not_open() {
        let k = key(1);
        let sealed = k.seal(b"message text", b"here");
        assert_eq!(k.open(sealed.clone(), b"here").unwrap(), b"message text");
        assert!(key(2).open(sealed.clone(), b"here").is_err());
        assert!(k.open(sealed.clone(), b"there").is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(
                k.open(bad, b"here").is_err(),
                "byte {i} changed, still opened"
            );
        }
        assert!(
            k.open(sealed[..HEADER + TAG - 1].to_vec(), b"here")
                .is_err()
        );
        assert!(k.open(Vec::new(), b"here").is_err());
        // Every value has its own nonce: the same text twice is sealed differently.
        assert_ne!(k.seal(b"same", b"c"), k.seal(b"same", b"c"));
    }

    #[test]
    fn a_key_file_is_made_once_owner_only_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.key");
        ClusterKey::write_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
        let a = ClusterKey::load(&path).unwrap();
        let b = ClusterKey::load(&path).unwrap();
        assert_eq!(b.open(a.seal(b"x", b"c"), b"c").unwrap(), b"x");
        let e = ClusterKey::write_new(&path).unwrap_err();
        assert!(e.to_string().contains("exists already"), "{e}");
        std::fs::write(&path, "not hex").unwrap();
        let e = ClusterKey::load(&path).unwrap_err();
        assert!(e.to_string().contains("64 hex digits"), "{e}");
        assert!(!format!("{a:?}").contains('7'), "the key is never printed");
    }

    #[test]
    fn contexts_differ_by_every_part() {
        assert_ne!(entry_context("s", 1, 2), entry_context("s", 2, 1));
        assert_ne!(entry_context("s", 1, 2), entry_context("t", 1, 2));
        assert_ne!(snapshot_context("k", 1), snapshot_context("k", 2));
        assert_ne!(
            setting_context("k", "seed"),
            setting_context("k", "accounts")
        );
    }
}
