//! This device: its Olm account (one per server and user) and what it publishes to the server's key
//! directory.
//!
//! At each login (once the server said this device holds the account) the device publishes its
//! identity (the same keys again are a no-op at the server; a server that lost them gets them back)
//! and its fallback key: the same one again while it has not been used, a new one once a message made
//! with it arrived, as Matrix does (replacing it at every login would leave a first message made
//! with an older fallback key undecryptable once the account has forgotten that key). The server
//! answers every publishing line with `KEYS-LEFT <n>`, and says it unasked when a claim leaves fewer
//! than [`LOW`]: below that the device tops its one-time keys up to [`TARGET`], at most [`PER_LINE`] a
//! line.
//!
//! Only the answer to the last publishing line sent is acted on (the counts in between are stale:
//! keys of ours are still on the way), so one top-up is made at a time. A server saying `KEYS-LEFT 0`
//! again and again, unasked, cannot make the device's state grow: it never holds more than
//! [`MAX_STORED`] private one-time keys (published and not used yet); past that it makes no more,
//! and first messages use the fallback key.

use super::engine::{Engine, EngineError, Identity, Pickle, PublicKey};

/// Below this many one-time keys on the server, top up (the server says so below 20).
pub const LOW: u32 = 20;
/// Top up to this many.
pub const TARGET: u32 = 50;
/// One-time keys per `keys add` line (the server takes at most 20).
pub const PER_LINE: usize = 20;
/// The most private one-time keys the account holds: the server's cap (100) and half as many again
/// for keys claimed whose first message has not come yet.
pub const MAX_STORED: usize = 150;

/// The fallback key published, and whether a message made with it has arrived.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fallback {
    /// The id the engine gave it.
    pub key_id: String,
    /// Its public half.
    pub curve25519: String,
    /// A message made with it arrived: a new one is published.
    pub used: bool,
}

/// What is persisted of the device.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DeviceFile {
    /// The account's secrets, as the engine keeps them.
    pub account: Pickle,
    /// Absent in a file of an older natter: a new one is made at the next login.
    #[serde(default)]
    pub fallback: Option<Fallback>,
}

/// This device.
#[derive(Clone, Debug)]
pub struct Device {
    /// The account's secrets, as the engine keeps them.
    pub account: Pickle,
    /// Its public identity.
    pub identity: Identity,
    /// The fallback key published, if one is.
    pub fallback: Option<Fallback>,
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
        Self::open(
            engine,
            DeviceFile {
                account: engine.new_account()?,
                fallback: None,
            },
        )
    }

    /// A device read back from its file.
    pub fn open(engine: &dyn Engine, file: DeviceFile) -> Result<Device, EngineError> {
        let identity = engine.identity(&file.account)?;
        Ok(Device {
            account: file.account,
            identity,
            fallback: file.fallback,
            awaiting: 0,
        })
    }

    /// What is persisted of it.
    pub fn file(&self) -> DeviceFile {
        DeviceFile {
            account: self.account.clone(),
            fallback: self.fallback.clone(),
        }
    }

    /// A message made with `one_time_key` arrived: if it is the fallback key, it is used (and is
    /// replaced at the next publishing). Returns whether it was.
    pub fn key_used(&mut self, one_time_key: &str) -> bool {
        match &mut self.fallback {
            Some(f) if f.curve25519 == one_time_key && !f.used => {
                f.used = true;
                true
            }
            _ => false,
        }
    }

    /// The line that publishes a new fallback key, if the one published was used (or there is none).
    pub fn fallback_line(
        &mut self,
        engine: &dyn Engine,
        me: &str,
    ) -> Result<Option<String>, EngineError> {
        if self.fallback.as_ref().is_some_and(|f| !f.used) {
            return Ok(None);
        }
        let key = engine.new_fallback_key(&mut self.account)?;
        let line = format!(
            "keys fallback {}",
            self.signed(engine, std::slice::from_ref(&key), fallback_statement, me)?[0]
        );
        self.fallback = Some(Fallback {
            key_id: key.key_id,
            curve25519: key.curve25519,
            used: false,
        });
        self.awaiting += 1;
        Ok(Some(line))
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

    /// The lines to send at login: the identity, then the fallback key (a new one if the last was
    /// used, or the same again: a server that lost it gets it back, and one that kept it changes
    /// nothing).
    pub fn login_lines(
        &mut self,
        engine: &dyn Engine,
        me: &str,
    ) -> Result<Vec<String>, EngineError> {
        let mut lines = vec![format!(
            "keys identity {} {}",
            self.identity.curve25519, self.identity.ed25519
        )];
        self.awaiting += 1;
        match self.fallback_line(engine, me)? {
            Some(line) => lines.push(line),
            None => {
                let f = self.fallback.clone().expect("kept when not replaced");
                let key = PublicKey {
                    key_id: f.key_id,
                    curve25519: f.curve25519,
                };
                lines.push(format!(
                    "keys fallback {}",
                    self.signed(engine, &[key], fallback_statement, me)?[0]
                ));
                self.awaiting += 1;
            }
        }
        Ok(lines)
    }

    /// The connection is gone: the answers to publishing lines sent by it will not come (and a
    /// `KEYS-LEFT` on the next connection answers a line of that one).
    pub fn connection_lost(&mut self) {
        self.awaiting = 0;
    }

    /// A line this device made to publish keys never left (what it depended on could not be
    /// saved): its answer will not come.
    pub fn line_not_sent(&mut self) {
        self.awaiting = self.awaiting.saturating_sub(1);
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
        let room = MAX_STORED.saturating_sub(engine.stored_one_time_keys(&self.account)?);
        let count = ((TARGET - left) as usize).min(room);
        if count == 0 {
            return Ok(Vec::new());
        }
        let keys = engine.new_one_time_keys(&mut self.account, count)?;
        let signed = self.signed(engine, &keys, one_time_statement, me)?;
        let lines: Vec<String> = signed
            .chunks(PER_LINE)
            .map(|chunk| format!("keys add {}", chunk.join(" ")))
            .collect();
        self.awaiting += lines.len() as u32;
        Ok(lines)
    }
}
