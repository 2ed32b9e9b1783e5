//! This device: its Olm account (one per server and user) and what it publishes to the server's key
//! directory.
//!
//! At each login the device publishes its identity (the same keys again are a no-op at the server; a
//! server that lost them gets them back) and a new fallback key (the account keeps the previous one
//! too, so messages made with it still decrypt). The server answers every publishing line with
//! `KEYS-LEFT <n>`, and says it unasked when a claim leaves fewer than [`LOW`]: below that the device
//! tops its one-time keys up to [`TARGET`], at most [`PER_LINE`] a line.
//!
//! Only the answer to the last publishing line sent is acted on (the counts in between are stale:
//! keys of ours are still on the way), so one top-up is made at a time. An unasked `KEYS-LEFT` taken
//! for an answer can make the device act one answer early; the worst that does is one batch too many,
//! which [`TARGET`] twice still keeps under the server's cap of 100 and vodozemac's store of private
//! one-time keys.

use super::engine::{Engine, EngineError, Identity, Pickle, PublicKey};

/// Below this many one-time keys on the server, top up (the server says so below 20).
pub const LOW: u32 = 20;
/// Top up to this many.
pub const TARGET: u32 = 50;
/// One-time keys per `keys add` line (the server takes at most 20).
pub const PER_LINE: usize = 20;

/// What is persisted of the device.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DeviceFile {
    pub account: Pickle,
}

/// This device.
#[derive(Clone, Debug)]
pub struct Device {
    pub account: Pickle,
    pub identity: Identity,
    /// Publishing lines sent whose `KEYS-LEFT` has not come back yet.
    awaiting: u32,
}

/// What the owner signs over a one-time key, so a claimer can check it is the identity's.
pub fn one_time_statement(user: &str, key: &PublicKey) -> String {
    format!("natter-otk:{user}:{}:{}", key.key_id, key.curve25519)
}

/// What the owner signs over its fallback key.
pub fn fallback_statement(user: &str, key: &PublicKey) -> String {
    format!("natter-fallback:{user}:{}:{}", key.key_id, key.curve25519)
}

impl Device {
    /// A new device, with fresh identity keys.
    pub fn create(engine: &dyn Engine) -> Result<Device, EngineError> {
        Self::open(engine, engine.new_account()?)
    }

    /// A device read back from its file.
    pub fn open(engine: &dyn Engine, account: Pickle) -> Result<Device, EngineError> {
        let identity = engine.identity(&account)?;
        Ok(Device {
            account,
            identity,
            awaiting: 0,
        })
    }

    pub fn file(&self) -> DeviceFile {
        DeviceFile {
            account: self.account.clone(),
        }
    }

    /// Each key with its signature over its statement, as `<keyid>:<curve25519>:<signature>`.
    fn signed(
        &self,
        engine: &dyn Engine,
        keys: &[PublicKey],
        statement: fn(&str, &PublicKey) -> String,
        me: &str,
    ) -> Result<Vec<String>, EngineError> {
        let statements: Vec<String> = keys.iter().map(|k| statement(me, k)).collect();
        let messages: Vec<&[u8]> = statements.iter().map(|s| s.as_bytes()).collect();
        let sigs = engine.sign(&self.account, &messages)?;
        Ok(keys
            .iter()
            .zip(sigs)
            .map(|(k, sig)| format!("{}:{}:{}", k.key_id, k.curve25519, sig))
            .collect())
    }

    /// The lines to send at login: the identity, then a new fallback key.
    pub fn login_lines(
        &mut self,
        engine: &dyn Engine,
        me: &str,
    ) -> Result<Vec<String>, EngineError> {
        let fallback = engine.new_fallback_key(&mut self.account)?;
        let lines = vec![
            format!(
                "keys identity {} {}",
                self.identity.curve25519, self.identity.ed25519
            ),
            format!(
                "keys fallback {}",
                self.signed(engine, &[fallback], fallback_statement, me)?[0]
            ),
        ];
        self.awaiting += lines.len() as u32;
        Ok(lines)
    }

    /// The server holds `left` one-time keys: the lines that top them up, if this is the answer to
    /// act on and they are low.
    pub fn on_keys_left(
        &mut self,
        engine: &dyn Engine,
        me: &str,
        left: u32,
    ) -> Result<Vec<String>, EngineError> {
        if self.awaiting > 0 {
            self.awaiting -= 1;
            if self.awaiting > 0 {
                return Ok(Vec::new());
            }
        }
        if left >= LOW {
            return Ok(Vec::new());
        }
        let keys = engine.new_one_time_keys(&mut self.account, (TARGET - left) as usize)?;
        let signed = self.signed(engine, &keys, one_time_statement, me)?;
        let lines: Vec<String> = signed
            .chunks(PER_LINE)
            .map(|chunk| format!("keys add {}", chunk.join(" ")))
            .collect();
        self.awaiting += lines.len() as u32;
        Ok(lines)
    }
}
