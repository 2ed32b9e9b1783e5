//! The key that encrypts one device's end-to-end state at rest, and how it is kept: a random 32-byte
//! data key, wrapped (XChaCha20-Poly1305) under a key derived with argon2id from the user's login
//! password and a random salt, in the small file `key.json` beside the state. A password change
//! re-wraps this file only; the state itself is never re-encrypted.
//!
//! Everything here is a library's: argon2 for the derivation, chacha20poly1305 for the AEAD, the
//! operating system for the randomness. The derivation's parameters are kept in the file, so they
//! can be raised later without making older files unreadable.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The derivation's cost: argon2id with 19 MiB and 2 passes, as OWASP recommends for passwords (the
/// server hashes its passwords the same way), so a guess costs an attacker with the file what a
/// guess at the server's hash would.
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// `key.json`: what is needed to get the data key back with the right password.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct KeyFile {
    version: u32,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    /// Hex: the argon2id salt (16 bytes), the wrapping nonce (24), the wrapped key (32 and a tag).
    salt: String,
    nonce: String,
    wrapped: String,
}

/// Why the data key could not be had.
#[derive(Debug, thiserror::Error)]
pub(super) enum KeyError {
    #[error("the password does not open them (was it changed since they were last used?)")]
    WrongPassword,
    #[error("their key file is damaged ({0})")]
    Damaged(String),
    #[error("no randomness from the operating system ({0})")]
    Random(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(super) fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// The key-encrypting key for `password`.
fn derive(password: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<[u8; 32], KeyError> {
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|e| KeyError::Damaged(format!("derivation parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| KeyError::Damaged(format!("derivation: {e}")))?;
    Ok(out)
}

impl KeyFile {
    /// Wraps `data_key` under `password` (a new salt and nonce each time).
    pub(super) fn wrap(data_key: &[u8; 32], password: &str, aad: &str) -> Result<Self, KeyError> {
        let salt: [u8; 16] = random()?;
        let nonce: [u8; 24] = random()?;
        let kek = derive(password, &salt, M_COST, T_COST, P_COST)?;
        let wrapped = XChaCha20Poly1305::new(&kek.into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: data_key,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Damaged("could not wrap the key".into()))?;
        Ok(KeyFile {
            version: 1,
            m_cost: M_COST,
            t_cost: T_COST,
            p_cost: P_COST,
            salt: hex(&salt),
            nonce: hex(&nonce),
            wrapped: hex(&wrapped),
        })
    }

    /// The data key, if `password` is the one it was wrapped under.
    pub(super) fn unwrap(&self, password: &str, aad: &str) -> Result<[u8; 32], KeyError> {
        let bad = |what: &str| KeyError::Damaged(format!("its {what} is not valid"));
        if self.version != 1 {
            return Err(KeyError::Damaged(format!(
                "version {} is not known to this natter",
                self.version
            )));
        }
        let salt = unhex(&self.salt).ok_or_else(|| bad("salt"))?;
        let nonce = unhex(&self.nonce)
            .filter(|n| n.len() == 24)
            .ok_or_else(|| bad("nonce"))?;
        let wrapped = unhex(&self.wrapped).ok_or_else(|| bad("wrapped key"))?;
        let kek = derive(password, &salt, self.m_cost, self.t_cost, self.p_cost)?;
        let key = XChaCha20Poly1305::new(&kek.into())
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &wrapped,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| KeyError::WrongPassword)?;
        key.try_into().map_err(|_| bad("wrapped key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_key_comes_back_with_the_password_only() {
        let key = [7u8; 32];
        let file = KeyFile::wrap(&key, "wonderland", "dev").unwrap();
        assert_eq!(file.unwrap("wonderland", "dev").unwrap(), key);
        assert!(matches!(
            file.unwrap("wonderlanD", "dev"),
            Err(KeyError::WrongPassword)
        ));
        assert!(matches!(
            file.unwrap("wonderland", "another device"),
            Err(KeyError::WrongPassword)
        ));
        let json = serde_json::to_string(&file).unwrap();
        assert!(!json.contains(&hex(&key)), "the key is not in the file");
    }
}
