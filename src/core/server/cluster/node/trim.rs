//! How far the shared log is trimmed: behind the latest snapshot this node stored, and never past an
//! entry another live node has not read yet.
//!
//! A trimmed log keeps Redis's memory bounded; a node that has not read what is trimmed finds a hole
//! and must start again from a snapshot, refusing its users meanwhile. So the log is trimmed up to the
//! snapshot (a node starting from it reads on from there), and held back by the slowest live node
//! (one that keeps up never finds a hole); as that node reads on, its reports let the trim go further,
//! without waiting for the next snapshot. A dead node holds nothing back: it starts again from a
//! snapshot if it comes back.

/// What this node knows that decides the trim.
#[derive(Clone, Debug, Default)]
pub(super) struct Trim {
    /// The position of the latest snapshot this node stored (0: none).
    stored: u64,
    /// The lowest position another live node reported having read (`None`: no other node).
    slowest_other: Option<u64>,
    /// The first entry kept by the last trim asked for (entries before it are gone).
    kept_from: u64,
}

impl Trim {
    /// A snapshot this node handed over was stored at `position`.
    pub(super) fn stored(&mut self, position: u64) {
        self.stored = self.stored.max(position);
    }

    /// How far the other live nodes have read, as they last reported: `(node, position)`.
    pub(super) fn others(&mut self, applied: &[(u64, u64)]) {
        self.slowest_other = applied.iter().map(|(_, p)| *p).min();
    }

    /// The first entry to keep, when the log may now be trimmed further than it was.
    pub(super) fn next(&mut self) -> Option<u64> {
        if self.stored == 0 {
            return None;
        }
        let keep_from = self.slowest_other.unwrap_or(self.stored).min(self.stored) + 1;
        if keep_from <= self.kept_from.max(1) {
            return None;
        }
        self.kept_from = keep_from;
        Some(keep_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_trimmed_to_the_stored_snapshot_and_no_further_than_the_slowest_other_node() {
        let mut t = Trim::default();
        assert_eq!(t.next(), None, "no snapshot stored: nothing may go");
        t.others(&[(2, 40), (3, 90)]);
        t.stored(100);
        assert_eq!(t.next(), Some(41), "held back by node 2, at 40");
        assert_eq!(t.next(), None, "asked once");
        t.others(&[(2, 70), (3, 90)]);
        assert_eq!(
            t.next(),
            Some(71),
            "node 2 read on: further, before the next snapshot"
        );
        t.others(&[(2, 150), (3, 160)]);
        assert_eq!(t.next(), Some(101), "never past the snapshot");
        t.others(&[(3, 160)]);
        assert_eq!(
            t.next(),
            None,
            "node 2 died: nothing more until the next snapshot"
        );
        t.stored(140);
        assert_eq!(t.next(), Some(141));
        t.stored(120);
        assert_eq!(t.next(), None, "an older snapshot changes nothing");
    }

    #[test]
    fn alone_the_node_trims_to_its_snapshot_and_a_lagging_report_never_trims_back() {
        let mut t = Trim::default();
        t.stored(10);
        assert_eq!(t.next(), Some(11));
        t.others(&[(2, 3)]);
        assert_eq!(
            t.next(),
            None,
            "a node that joined behind holds the rest; nothing comes back"
        );
        t.others(&[(2, 0)]);
        t.stored(20);
        assert_eq!(
            t.next(),
            None,
            "a node at the start of the log holds everything"
        );
    }
}
