//! The connections' deadlines in time order (finishing login, the idle warning and logout: one per
//! connection, see `idle`), for [`super::sessions::Sessions`], which keeps each connection's own
//! deadline in its entry.
//!
//! Why not the core's general [`Timers`](crate::timers::Timers), which the other deadlines use: there
//! is one of these per open connection, idle ones included, and a general timer costs an ordered
//! set's node and a hash map's bucket (about 90 bytes). Here it is the connection's own field and
//! one heap entry of 16 bytes.
//!
//! The heap is not kept exact, which would mean finding an entry to move it. What holds instead:
//! a connection with a deadline has an entry at or before it. A deadline put later keeps the entry
//! it had; when that entry comes to the top early, it is moved to the deadline of the moment. A
//! deadline put earlier gets a new entry, and the one it had goes stale, as every entry of a closed
//! connection does: stale entries are dropped when they come to the top, and once the heap holds
//! twice as many entries as there are connections it is rebuilt from the connections' own
//! deadlines, one entry each, so it never holds more than that. (Keeping the entries at or before
//! their connection's deadline would not bound it: a deadline put back a little after each step up
//! leaves one more such entry every time.) So every session, whose login deadline is followed by a
//! later idle one, has one entry, not two: 16 bytes on each idle connection, and no push at login.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::server::event::ConnId;
use crate::time::Timestamp;

/// Deadlines of connections, earliest first (and for one time, lowest connection number first),
/// possibly with stale ones among them (the caller says which are live).
#[derive(Debug, Default)]
pub(crate) struct ConnDeadlines {
    heap: BinaryHeap<Reverse<(Timestamp, ConnId)>>,
}

impl ConnDeadlines {
    /// `conn`'s deadline is `at` (one it had before becomes stale).
    pub(crate) fn push(&mut self, at: Timestamp, conn: ConnId) {
        self.heap.push(Reverse((at, conn)));
    }

    /// The earliest entry, live or not.
    pub(crate) fn first(&self) -> Option<(Timestamp, ConnId)> {
        self.heap.peek().map(|Reverse(entry)| *entry)
    }

    /// Drops the earliest entry.
    pub(crate) fn pop(&mut self) {
        self.heap.pop();
    }

    /// How many entries, live or not.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Moves the earliest entry to `at` (later than it was), for `conn`.
    pub(crate) fn replace_first(&mut self, at: Timestamp, conn: ConnId) {
        if let Some(mut first) = self.heap.peek_mut() {
            *first = Reverse((at, conn));
        }
    }

    /// Holds `deadlines` alone (the connections' own, one each), in the room it had, given back
    /// when it is mostly empty.
    pub(crate) fn rebuild(&mut self, deadlines: impl Iterator<Item = (Timestamp, ConnId)>) {
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        entries.clear();
        entries.extend(deadlines.map(Reverse));
        if entries.capacity() > 1024 && entries.len() < entries.capacity() / 4 {
            entries.shrink_to(entries.len() * 2);
        }
        self.heap = BinaryHeap::from(entries);
    }
}

/// As a list, earliest first, so that two equal sets of deadlines are written alike however each
/// heap came to be.
impl serde::Serialize for ConnDeadlines {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut all: Vec<(Timestamp, ConnId)> =
            self.heap.iter().map(|Reverse(entry)| *entry).collect();
        all.sort_unstable();
        s.collect_seq(all)
    }
}

impl<'de> serde::Deserialize<'de> for ConnDeadlines {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let all = Vec::<(Timestamp, ConnId)>::deserialize(d)?;
        Ok(ConnDeadlines {
            heap: all.into_iter().map(Reverse).collect(),
        })
    }
}
