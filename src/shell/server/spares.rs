//! Write buffers between turns: a connection's output queue is handed back here once written, and
//! the next connection that gets a line takes one from here, rather than the allocator growing a
//! queue from nothing for every turn's first line and freeing it once written (about a thousand
//! instructions a message under the direct-message bench, `realloc` and `free` mostly).
//!
//! An idle connection still holds no buffer: a queue comes back here as soon as it is written, so
//! what is kept does not grow with the number of connections. What is kept is bounded (at most
//! [`KEEP`] buffers, [`KEEP_BYTES`] in all, none past [`MAX_CAPACITY`]: a buffer a burst grew past
//! that goes back to the allocator), and all of it is given back when the server goes idle after a
//! burst ([`Spares::clear`], from the driver's tidy). A kept buffer keeps the room it grew to, so a
//! busy connection's queue does not grow (and copy itself) again every turn. (Freed instead, the same
//! memory would stay in the allocator's free lists until that tidy-up all the same.)

/// At most this many buffers are kept: about as many connections as get lines in one busy turn.
const KEEP: usize = 4096;

/// At most this many bytes are kept, all buffers together. A thousand busy connections' queues
/// are 2-8 KiB each when a cluster node releases an entry's worth of lines at once; below that,
/// half of them were freed after every write and grown again, a copy per doubling, at the next.
/// Everything kept is given back when the server goes idle.
const KEEP_BYTES: usize = 16 << 20;

/// A buffer smaller than this (a notice's own room, on an idle connection) is not worth keeping.
const MIN_CAPACITY: usize = 128;

/// A buffer grown past this many bytes (a burst to one connection) is freed rather than kept.
const MAX_CAPACITY: usize = 64 << 10;

/// Empty buffers with room, for the connections' output queues.
#[derive(Default)]
pub(super) struct Spares {
    bufs: Vec<Vec<u8>>,
    /// Their capacities, summed.
    bytes: usize,
}

impl Spares {
    /// An empty buffer, with room if one was kept.
    pub(super) fn take(&mut self) -> Vec<u8> {
        let buf = self.bufs.pop().unwrap_or_default();
        self.bytes -= buf.capacity();
        buf
    }

    /// `buf` is written and no longer wanted by its connection: kept (emptied) if it is worth it (from
    /// [`MIN_CAPACITY`] to [`MAX_CAPACITY`] bytes) and there is room, else freed.
    pub(super) fn give(&mut self, mut buf: Vec<u8>) {
        let room = buf.capacity();
        if !(MIN_CAPACITY..=MAX_CAPACITY).contains(&room)
            || self.bufs.len() >= KEEP
            || self.bytes + room > KEEP_BYTES
        {
            return;
        }
        buf.clear();
        self.bytes += room;
        self.bufs.push(buf);
    }

    /// Everything kept goes back to the allocator.
    pub(super) fn clear(&mut self) {
        self.bufs = Vec::new();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_kept_is_bounded_and_comes_back_empty() {
        let mut spares = Spares::default();
        assert_eq!(spares.take().capacity(), 0, "nothing kept yet");
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(b"MSG 1 0 alice hi\n");
        spares.give(buf);
        let again = spares.take();
        assert!(again.is_empty() && again.capacity() >= 256);
        spares.give(Vec::with_capacity(MAX_CAPACITY + 1));
        assert_eq!(spares.take().capacity(), 0, "a large buffer is freed");
        for _ in 0..KEEP + 10 {
            spares.give(Vec::with_capacity(MIN_CAPACITY));
        }
        assert_eq!(spares.bufs.len(), KEEP);
        spares.clear();
        for _ in 0..KEEP {
            spares.give(Vec::with_capacity(MAX_CAPACITY));
        }
        assert_eq!(spares.bytes, KEEP_BYTES / MAX_CAPACITY * MAX_CAPACITY);
        assert!(spares.bytes <= KEEP_BYTES);
        spares.clear();
        assert_eq!(spares.take().capacity(), 0);
    }
}
