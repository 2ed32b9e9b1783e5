//! Passwords at rest. A credentials line holds either the password itself (the original file format,
//! still accepted) or an argon2id hash of it as a PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), which is what `natter-server hash-password` prints
//! and what `--register` writes.
//!
//! Hashing and checking a hash are deliberately slow (that is what makes a stolen file expensive to
//! attack), so the server core never does either: it asks its shell to, and the shell runs them on a
//! worker thread. These functions are the work itself, pure apart from the CPU they burn; the salt comes
//! from the caller, which owns the randomness.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// A password as typed, on its way to be hashed or checked. Its `Debug` does not show it, so a trace or
/// a log of effects never does either.
#[derive(Clone, PartialEq, Eq)]
pub struct Cleartext(pub String);

impl std::fmt::Debug for Cleartext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cleartext(..)")
    }
}

/// The prefix that marks a stored password as a hash rather than the password itself.
const PHC_PREFIX: &str = "$argon2id$";

/// How much work a new hash costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strength {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 lane (tens of milliseconds).
    Standard,
    /// The least argon2 allows, for tests and simulations that create many accounts. Never written by the
    /// server itself.
    Minimal,
}

impl Strength {
    fn params(self) -> Params {
        let (m_kib, t) = match self {
            Strength::Standard => (19 * 1024, 2),
            Strength::Minimal => (8, 1),
        };
        Params::new(m_kib, t, 1, None).expect("valid argon2 parameters")
    }
}

/// Whether a stored password field is an argon2id hash (otherwise it is the password itself).
pub fn is_hash(stored: &str) -> bool {
    stored.starts_with(PHC_PREFIX)
}

/// Checks that a stored field that claims to be a hash is one this server can verify.
pub fn check_hash_syntax(stored: &str) -> Result<(), String> {
    argon2::password_hash::phc::PasswordHash::new(stored)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The argon2id hash of `password` with `salt`, as a PHC string.
pub fn hash(password: &str, salt: &[u8; 16], strength: Strength) -> String {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, strength.params())
        .hash_password_with_salt(password.as_bytes(), salt)
        .expect("a 16-byte salt and valid parameters hash any password")
        .to_string()
}

/// Whether `password` matches the stored `phc` hash (with the parameters the hash names). A malformed
/// hash matches nothing.
pub fn verify(phc: &str, password: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Whether `typed` is the password stored as `stored`: a hash, or the password in the clear.
pub fn matches(stored: &str, typed: &str) -> bool {
    if is_hash(stored) {
        verify(stored, typed)
    } else {
        plain_matches(stored, typed)
    }
}

/// Compares a typed password with one stored in the clear, in time that does not depend on where they
/// first differ.
pub fn plain_matches(stored: &str, typed: &str) -> bool {
    let (a, b) = (stored.as_bytes(), typed.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("falcon*solo", &[7; 16], Strength::Minimal);
        assert!(is_hash(&h), "{h}");
        assert!(check_hash_syntax(&h).is_ok());
        assert!(!h.contains("falcon"), "the password is not in the hash");
        assert!(verify(&h, "falcon*solo"));
        assert!(!verify(&h, "falcon*sol"));
        assert!(!verify("$argon2id$garbage", "x"));
        assert!(check_hash_syntax("$argon2id$garbage").is_err());
    }

    #[test]
    fn standard_hashes_name_owasp_parameters() {
        let h = hash("pw", &[1; 16], Strength::Standard);
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(&h, "pw"));
    }

    #[test]
    fn plain_comparison_is_exact() {
        assert!(plain_matches("wonderland", "wonderland"));
        assert!(!plain_matches("wonderland", "wonderlan"));
        assert!(!plain_matches("wonderland", "wonderlandx"));
        assert!(!plain_matches("", "x"));
        assert!(plain_matches("", ""));
    }
}
