//! The connections' deadlines in time order (finishing login, the idle warning and logout: one per
//! connection, see `idle`), for [`super::sessions::Sessions`], which keeps each connection's own
//! deadline in its entry.
//!
//! Why not the core's general [`Timers`](crate::timers::Timers), which the other deadlines use: there
//! is one of these per open connection, idle ones included, and a general timer costs an ordered
//! set's node and a hash map's bucket (about 90 bytes). Here it is the connection's own field and
//! one heap entry of 16 bytes. A deadline moved or a connection closed leaves its old entry behind:
//! an entry counts only while it matches its connection's deadline, those that do not are dropped
//! when they come to the top, and the heap is rebuilt from the live ones once it holds twice as many
//! as there are connections, so it never holds more than that.

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

    /// Keeps only the entries `live` says are.
    pub(crate) fn retain(&mut self, live: impl Fn(Timestamp, ConnId) -> bool) {
        self.heap.retain(|Reverse((at, conn))| live(*at, *conn));
        if self.heap.capacity() > 1024 && self.heap.len() < self.heap.capacity() / 4 {
            self.heap.shrink_to(self.heap.len() * 2);
        }
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
