//! The shape of the public keys a client publishes for end-to-end encryption, as they travel in
//! `keys ...` commands and `KEYS` lines.
//!
//! Keys are vodozemac's own text form: unpadded standard base64 (`A-Z a-z 0-9 + /`). The server never
//! decodes or verifies a key (that is the claiming client's job, with vodozemac): it checks only that
//! each part has the form and the length of what it claims to be, so that it keeps nothing else, and a
//! client that publishes garbage hears why at once rather than its contacts failing later.

use std::fmt;

/// Characters in the unpadded base64 of a Curve25519 or Ed25519 public key (32 bytes).
pub const PUBLIC_KEY_LEN: usize = 43;
/// Characters in the unpadded base64 of an Ed25519 signature (64 bytes).
pub const SIGNATURE_LEN: usize = 86;
/// The longest key id accepted, in characters (vodozemac's are 11: a 64-bit counter in base64).
pub const MAX_KEY_ID_LEN: usize = 32;
/// The most one-time keys one `keys add` line may carry: 20 keys of the longest form take about 3,300
/// bytes, well within a line.
pub const MAX_KEYS_PER_LINE: usize = 20;

/// The most one-time keys the server holds for one account: enough for a burst of new conversations
/// while the owner is offline, small enough that a thousand accounts' keys are a few megabytes.
pub const MAX_ONE_TIME_KEYS: usize = 100;
/// Below this many one-time keys left after a claim, the owner (if online) is told `KEYS-LEFT`, so
/// its client tops them up.
pub const KEYS_LOW: usize = 20;

/// The prefix of every end-to-end encrypted message text (the `1` is the format's version).
pub const E2E_PREFIX: &str = "e2e1:";

/// The recipient identity an encrypted direct message names: the Curve25519 identity key its sender
/// encrypted it for, in `e2e1:p:<curve25519>:<ciphertext>` and `e2e1:n:<curve25519>:<ciphertext>`
/// (docs/PROTOCOL.md, "End-to-end encrypted text"). The server compares it with the recipient's
/// current identity, so ciphertext for a device the recipient no longer has is refused rather than
/// delivered unreadable (`stale-key`); the recipient's client reads it to tell a message for another
/// device of its own from a damaged one. `None` for any other text (not encrypted, a group message,
/// or a form that names no recipient).
pub fn encrypted_for(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(E2E_PREFIX)?;
    let rest = rest
        .strip_prefix("p:")
        .or_else(|| rest.strip_prefix("n:"))?;
    let (key, _) = rest.split_once(':')?;
    curve25519(key).ok()
}

/// Which part of a published key is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A signed key that is not three parts joined by `:`.
    #[error("a signed key is written <keyid>:<curve25519>:<signature>, three parts joined by ':'")]
    Form,
    /// A key id that is empty, longer than [`MAX_KEY_ID_LEN`], or not base64.
    #[error(
        "a key id is 1 to {MAX_KEY_ID_LEN} characters of base64 (letters, digits, '+' and '/')"
    )]
    KeyId,
    /// A Curve25519 key (an identity key, or the key part of a signed key) of the wrong length or not
    /// base64.
    #[error(
        "a Curve25519 key is {PUBLIC_KEY_LEN} characters of unpadded base64 (letters, digits, '+' and '/')"
    )]
    Curve25519,
    /// An Ed25519 identity key of the wrong length or not base64.
    #[error(
        "an Ed25519 key is {PUBLIC_KEY_LEN} characters of unpadded base64 (letters, digits, '+' and '/')"
    )]
    Ed25519,
    /// A signature of the wrong length or not base64.
    #[error(
        "a signature is {SIGNATURE_LEN} characters of unpadded base64 (letters, digits, '+' and '/')"
    )]
    Signature,
}

fn is_base64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// `s` if it is `len` characters of unpadded base64.
fn exact(s: &str, len: usize, err: KeyError) -> Result<&str, KeyError> {
    if s.len() == len && is_base64(s) {
        Ok(s)
    } else {
        Err(err)
    }
}

/// Checks a Curve25519 public key.
pub fn curve25519(s: &str) -> Result<&str, KeyError> {
    exact(s, PUBLIC_KEY_LEN, KeyError::Curve25519)
}

/// Checks an Ed25519 public key.
pub fn ed25519(s: &str) -> Result<&str, KeyError> {
    exact(s, PUBLIC_KEY_LEN, KeyError::Ed25519)
}

/// A one-time or fallback key as a command carries it, borrowed from the line: its id, the Curve25519
/// key, and the identity's Ed25519 signature over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedKeyRef<'a> {
    /// The key's id, chosen by the publishing client: how a claimed key is told apart from the others.
    pub id: &'a str,
    /// The Curve25519 public key, in vodozemac's base64 form.
    pub key: &'a str,
    /// The identity's Ed25519 signature over the key, in base64; the claiming client checks it.
    pub sig: &'a str,
}

impl<'a> SignedKeyRef<'a> {
    /// Reads `<keyid>:<curve25519>:<signature>`, checking each part's shape.
    pub fn parse(s: &'a str) -> Result<Self, KeyError> {
        let mut parts = s.split(':');
        let (Some(id), Some(key), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Form);
        };
        if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !is_base64(id) {
            return Err(KeyError::KeyId);
        }
        Ok(SignedKeyRef {
            id,
            key: curve25519(key)?,
            sig: exact(sig, SIGNATURE_LEN, KeyError::Signature)?,
        })
    }

    /// The key copied out of the line, for the server to keep.
    pub fn owned(self) -> SignedKey {
        SignedKey {
            id: self.id.to_owned(),
            key: self.key.to_owned(),
            sig: self.sig.to_owned(),
        }
    }
}

impl fmt::Display for SignedKeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.id, self.key, self.sig)
    }
}

/// A one-time or fallback key as the server keeps it and hands it out.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SignedKey {
    /// The key's id, chosen by the publishing client: how a claimed key is told apart from the others.
    pub id: String,
    /// The Curve25519 public key, in vodozemac's base64 form.
    pub key: String,
    /// The identity's Ed25519 signature over the key, in base64; the claiming client checks it.
    pub sig: String,
}

impl SignedKey {
    /// The key as a command carries it, borrowed, to write it on a line.
    pub fn borrowed(&self) -> SignedKeyRef<'_> {
        SignedKeyRef {
            id: &self.id,
            key: &self.key,
            sig: &self.sig,
        }
    }
}

impl fmt::Display for SignedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.borrowed().fmt(f)
    }
}

/// `text`'s base64 characters, cut or padded with `A` to `len`: a string of a key's shape, for tests
/// and the simulator, which need keys the server takes but never use them.
#[doc(hidden)]
pub fn shaped(text: &str, len: usize) -> String {
    let mut s: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
        .take(len)
        .collect();
    while s.len() < len {
        s.push('A');
    }
    s
}

/// A one-time or fallback key of the right shape, numbered `n` (its id), for tests and the simulator.
#[doc(hidden)]
pub fn sample_key(n: u64) -> SignedKey {
    SignedKey {
        id: n.to_string(),
        key: shaped(&format!("k{n}"), PUBLIC_KEY_LEN),
        sig: shaped(&format!("s{n}"), SIGNATURE_LEN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(c: char, n: usize) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    #[test]
    fn a_signed_key_is_three_checked_parts() {
        let (k, s) = (b64('K', 43), b64('s', 86));
        let line = format!("AAAAAAAAAAE:{k}:{s}");
        let got = SignedKeyRef::parse(&line).unwrap();
        assert_eq!((got.id, got.key, got.sig), ("AAAAAAAAAAE", &*k, &*s));
        assert_eq!(got.to_string(), line);
        assert_eq!(got.owned().to_string(), line);
        for (bad, why) in [
            (format!("{k}:{s}"), KeyError::Form),
            (format!("a:{k}:{s}:x"), KeyError::Form),
            (format!(":{k}:{s}"), KeyError::KeyId),
            (format!("{}:{k}:{s}", b64('i', 33)), KeyError::KeyId),
            (format!("a-b:{k}:{s}"), KeyError::KeyId),
            (format!("a:{}:{s}", b64('K', 42)), KeyError::Curve25519),
            (format!("a:{}=:{s}", b64('K', 42)), KeyError::Curve25519),
            (format!("a:{k}:{}", b64('s', 85)), KeyError::Signature),
            (format!("a:{k}:{}", b64('s', 88)), KeyError::Signature),
        ] {
            assert_eq!(SignedKeyRef::parse(&bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn sample_keys_have_the_shape_the_server_takes() {
        for n in [0, 7, u64::MAX] {
            let k = sample_key(n);
            assert_eq!(SignedKeyRef::parse(&k.to_string()), Ok(k.borrowed()));
        }
        assert!(curve25519(&shaped("bob-1", 43)).is_ok());
    }

    #[test]
    fn identity_keys_are_43_characters_of_base64() {
        assert!(curve25519(&b64('+', 43)).is_ok());
        assert_eq!(ed25519(&b64('/', 44)), Err(KeyError::Ed25519));
        assert_eq!(curve25519("é"), Err(KeyError::Curve25519));
    }
}

#[cfg(test)]
mod recipient_tests {
    use super::*;

    #[test]
    fn the_recipient_of_an_encrypted_direct_message_is_read_from_its_text() {
        let key = shaped("bobkey", PUBLIC_KEY_LEN);
        assert_eq!(encrypted_for(&format!("e2e1:p:{key}:AAAA")), Some(&*key));
        assert_eq!(encrypted_for(&format!("e2e1:n:{key}:AAAA")), Some(&*key));
        for other in [
            "hello".to_owned(),
            format!("e2e1:g:{key}:AAAA"),
            "e2e1:p:AAAA".to_owned(),
            "e2e1:n:short:AAAA".to_owned(),
            format!("x e2e1:p:{key}:AAAA"),
        ] {
            assert_eq!(encrypted_for(&other), None, "{other}");
        }
    }
}
