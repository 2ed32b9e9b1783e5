//! Spare strings for the texts of the `MSG` lines the core makes: a direct message's line carries a
//! copy of its text (the line is written after the turn, when the sender's input is gone), and a
//! busy server made and freed one such string for every message. The shell gives each back once the
//! line is written ([`crate::server::composed::Server::recycle_text`]), and the next message's copy
//! goes into it. Nothing depends on it but the allocator's work: a core without spares copies into a
//! new string.
//!
//! A cluster node keeps a second pool for its log lines: every line its users type is copied into a
//! log event (kept until the entry comes back from the log, long after the input is gone), one
//! allocation and one free per line where a server alone makes none. The node gives each line's
//! room back once its entry is read back and fed (`Node::recycle_entry`), and the next line is
//! copied in. Not the texts' pool: a text is shorter than the line it came in, so a line copied into
//! a text's room would grow it (a `realloc`, as dear as the allocation saved).
//!
//! The pool is bounded by the bytes it holds, not by a count: a busy turn handles as many messages
//! as its connections had in flight (tens of thousands with a thousand users, 32 each), and every
//! one past the pool's size had its string made in the core and freed in the shell after the write,
//! long after, when the allocator's free lists are cold (`free` was the largest single item of a
//! bare direct message's server CPU). Counted by what each holds, the same bound keeps many more of
//! the usual short texts than of the longest kept.

/// The bytes kept at most, all spares together (given back at the idle tidy-up), each string counted
/// as [`held`] says.
const KEEP_BYTES: usize = 4 << 20;
/// The largest string kept (a longer text's string is freed).
const MAX_CAPACITY: usize = 1024;

/// What a kept string of `capacity` holds: its bytes (the allocator's smallest block for a tiny one)
/// and its place in the pool's vector. So a flood of one-byte texts cannot make the pool hold
/// millions of strings under a bound meant for bytes.
fn held(capacity: usize) -> usize {
    capacity.max(24) + size_of::<Vec<u8>>()
}

/// The spare strings. See the [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct SpareTexts {
    /// Each empty, with its room.
    strings: Vec<Vec<u8>>,
    /// What `strings` hold ([`held`]), summed.
    bytes: usize,
}

impl SpareTexts {
    /// `text`, copied into a spare string if one is kept.
    pub(crate) fn copy_of(&mut self, text: &str) -> String {
        match self.take() {
            Some(room) => {
                // Kept empty, so always text: the check looks at no byte.
                let mut s = String::from_utf8(room).unwrap_or_default();
                s.push_str(text);
                s
            }
            None => text.to_owned(),
        }
    }

    /// `bytes`, copied into a spare if one is kept.
    pub(crate) fn copy_of_bytes(&mut self, bytes: &[u8]) -> Vec<u8> {
        match self.take() {
            Some(mut room) => {
                room.extend_from_slice(bytes);
                room
            }
            None => bytes.to_vec(),
        }
    }

    fn take(&mut self) -> Option<Vec<u8>> {
        let room = self.strings.pop()?;
        self.bytes -= held(room.capacity());
        Some(room)
    }

    /// A text's string, written out and given back: kept (emptied) if there is room for it.
    pub(crate) fn give(&mut self, s: String) {
        self.give_bytes(s.into_bytes());
    }

    /// A byte vector given back: kept (emptied) if there is room for it.
    pub(crate) fn give_bytes(&mut self, mut room: Vec<u8>) {
        let capacity = room.capacity();
        if (1..=MAX_CAPACITY).contains(&capacity) && self.bytes + held(capacity) <= KEEP_BYTES {
            room.clear();
            self.bytes += held(capacity);
            self.strings.push(room);
        }
    }

    /// Gives every spare back to the allocator (the server has gone idle).
    pub(crate) fn clear(&mut self) {
        self.strings = Vec::new();
        self.bytes = 0;
    }

    /// How many are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.strings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_is_reused_empty_and_the_pool_is_bounded() {
        let mut spares = SpareTexts::default();
        assert_eq!(spares.copy_of("hi"), "hi");
        spares.give(String::with_capacity(64));
        spares.give(String::from("left over"));
        assert_eq!(spares.len(), 2);
        assert_eq!(spares.copy_of("hello"), "hello");
        assert_eq!(spares.copy_of("x"), "x");
        assert_eq!(spares.len(), 0);
        // Too big, or nothing to keep: freed.
        spares.give(String::with_capacity(MAX_CAPACITY + 1));
        spares.give(String::new());
        assert_eq!(spares.len(), 0);
        // Bounded by what they hold: a tiny string counts as the allocator's smallest block and its
        // place in the pool, a long text's string as the room of many short ones.
        for _ in 0..KEEP_BYTES / held(1) + 10 {
            spares.give(String::with_capacity(1));
        }
        assert_eq!(spares.len(), KEEP_BYTES / held(1));
        spares.clear();
        let long = held(MAX_CAPACITY);
        for _ in 0..KEEP_BYTES / long + 10 {
            spares.give(String::with_capacity(MAX_CAPACITY));
        }
        assert_eq!(spares.len(), KEEP_BYTES / long);
        assert_eq!(spares.copy_of("x"), "x");
        spares.give(String::with_capacity(MAX_CAPACITY));
        assert_eq!(spares.len(), KEEP_BYTES / long, "its room again");
        spares.give(String::with_capacity(MAX_CAPACITY));
        assert_eq!(spares.len(), KEEP_BYTES / long, "no more room");
        spares.clear();
        assert_eq!(spares.len(), 0);
    }

    #[test]
    fn byte_vectors_are_kept_as_strings_are() {
        let mut spares = SpareTexts::default();
        spares.give(String::from("a written text"));
        let line = spares.copy_of_bytes(b"message bob hi");
        assert_eq!(line, b"message bob hi");
        assert!(line.capacity() >= "a written text".len());
        assert_eq!(spares.len(), 0);
        spares.give_bytes(line);
        assert_eq!(spares.copy_of("hello"), "hello");
        assert_eq!(spares.len(), 0);
        assert_eq!(spares.copy_of_bytes(b"new"), b"new", "none kept: a new one");
    }
}
