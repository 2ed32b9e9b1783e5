//! Recognising a message already decrypted, *before* decrypting it.
//!
//! A ratchet message cannot be decrypted twice: its key is deleted once used. Yet the server may
//! deliver a message again (its crash lost an acknowledgement, or the client moved to another node of a
//! cluster mid-mailbox). Trying again would fail and show an alarming "could not decrypt" for a message
//! that was shown fine. So each decrypted message is remembered by its server id *and* a digest of its
//! ciphertext: a redelivery has both the same. An id with another ciphertext is a new message (a server
//! whose store was wiped reuses ids), and goes on to be decrypted.
//!
//! Remembered per conversation partner (per sender, per group), in a part of its own beside its
//! sessions, one record appended per message (the commit that makes the ratchet's step durable makes
//! the record durable too); the last [`KEEP`] are kept, many more than a mailbox redelivers at once.
//! With each, its text: this is the client's own store, from which `offline` shows again what the
//! server only holds as ciphertext it cannot decrypt twice.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

/// How many decrypted messages are remembered per sender or group.
pub const KEEP: usize = 1024;

/// Recently decrypted messages: (server id, ciphertext digest, text), oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dedup {
    seen: VecDeque<(u64, String, String)>,
    /// How many of `seen` have each server id: a new message (nearly every one) is told apart
    /// without scanning all [`KEEP`], which each message did several times.
    ids: HashMap<u64, u32>,
}

/// One message as stored: (server id, ciphertext digest, text), appended to its conversation's
/// texts part as it is decrypted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record(pub u64, pub String, pub String);

/// The digest that identifies a ciphertext: the first 16 bytes of its SHA-256, in hex.
pub fn digest(ciphertext: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in &Sha256::digest(ciphertext.as_bytes())[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

impl Dedup {
    /// Whether message `id` with this ciphertext was decrypted before.
    pub fn contains(&self, id: u64, digest: &str) -> bool {
        self.ids.contains_key(&id) && self.seen.iter().any(|(i, d, _)| *i == id && d == digest)
    }

    /// Remembers a message decrypted, and its text.
    pub fn insert(&mut self, id: u64, digest: String, text: String) {
        if self.contains(id, &digest) {
            return;
        }
        self.insert_new(id, digest, text);
    }

    /// [`Self::insert`] for a message known not to be kept yet.
    pub(super) fn insert_new(&mut self, id: u64, digest: String, text: String) {
        if self.seen.len() == KEEP
            && let Some((old, _, _)) = self.seen.pop_front()
            && let Some(n) = self.ids.get_mut(&old)
        {
            *n -= 1;
            if *n == 0 {
                self.ids.remove(&old);
            }
        }
        *self.ids.entry(id).or_default() += 1;
        self.seen.push_back((id, digest, text));
    }

    /// Every message kept, oldest first, as stored.
    pub fn records(&self) -> Vec<Record> {
        self.seen
            .iter()
            .map(|(i, d, t)| Record(*i, d.clone(), t.clone()))
            .collect()
    }

    /// Every message kept, oldest first, serialised as stored (a JSON array of [`Record`]s), without
    /// copying the texts first.
    pub(super) fn to_json(&self) -> Vec<u8> {
        let all: Vec<(u64, &str, &str)> = self
            .seen
            .iter()
            .map(|(i, d, t)| (*i, d.as_str(), t.as_str()))
            .collect();
        super::to_json(&all)
    }

    /// The text of the newest message with server id `id` and this ciphertext.
    pub fn text(&self, id: u64, digest: &str) -> Option<&str> {
        if !self.ids.contains_key(&id) {
            return None;
        }
        self.seen
            .iter()
            .rev()
            .find(|(i, d, _)| *i == id && d == digest)
            .map(|(_, _, t)| t.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_duplicate_only_with_the_same_ciphertext_and_the_window_is_bounded() {
        let mut d = Dedup::default();
        // The form stored (and compared with what is stored): SHA-256's first 16 bytes, in hex.
        assert_eq!(digest(""), "e3b0c44298fc1c149afbf4c8996fb924");
        d.insert(7, digest("e2e1:n:AAAA"), "hi".into());
        assert_eq!(d.text(7, &digest("e2e1:n:AAAA")), Some("hi"));
        assert!(d.contains(7, &digest("e2e1:n:AAAA")));
        assert!(
            !d.contains(7, &digest("e2e1:n:BBBB")),
            "a reused id is a new message"
        );
        assert!(!d.contains(8, &digest("e2e1:n:AAAA")));
        for i in 0..KEEP as u64 {
            d.insert(100 + i, digest(&i.to_string()), String::new());
        }
        assert!(!d.contains(7, &digest("e2e1:n:AAAA")), "the oldest went");
        assert_eq!(d.seen.len(), KEEP);
        assert_eq!(d.ids.len(), KEEP, "the index follows what is kept");
        // Two messages under one id (a wiped server's store reuses ids): both found, and the id
        // stays known until both went.
        let mut d = Dedup::default();
        d.insert(1, digest("a"), "a".into());
        d.insert(1, digest("b"), "b".into());
        assert_eq!(d.text(1, &digest("a")), Some("a"));
        assert_eq!(d.text(1, &digest("b")), Some("b"));
        for i in 0..KEEP as u64 - 1 {
            d.insert(100 + i, digest(&i.to_string()), String::new());
        }
        assert!(!d.contains(1, &digest("a")) && d.contains(1, &digest("b")));
        d.insert(5000, digest("c"), String::new());
        assert!(!d.contains(1, &digest("b")) && !d.ids.contains_key(&1));
    }
}
