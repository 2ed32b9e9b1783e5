//! Verification while measuring: what every message carries, and the ledger that proves each one was
//! delivered exactly once to the right user.
//!
//! A message's text is `<sender> <seq> <t_ns> xxx…`: the sending user's number, its sequence number
//! among that user's messages, and the time it was (meant to be) sent, in nanoseconds since the run's
//! epoch. The recipient of a direct message is a pure function of `(seed, sender, seq)` ([`pick_peer`]),
//! so a receiver can check it was the right one without asking anybody; the ledger has one bit per
//! expected delivery, set atomically, so a second arrival is a duplicate and a bit still clear at the
//! end is a loss.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// One message's identity, as read back from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub sender: u32,
    pub seq: u32,
    pub t_ns: u64,
}

/// Appends the text of message `seq` from `sender`, stamped `t_ns`, padded with `x` to `size` bytes.
pub fn write_text(out: &mut Vec<u8>, stamp: Stamp, size: usize) {
    let start = out.len();
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{} {} {} ", stamp.sender, stamp.seq, stamp.t_ns);
    let written = out.len() - start;
    if written < size {
        out.resize(start + size, b'x');
    }
}

/// Reads a stamp back from a message's text; `None` if the text is not one of ours.
pub fn read_text(text: &[u8]) -> Option<Stamp> {
    let mut fields = text.splitn(4, |&b| b == b' ');
    let sender = parse_u64(fields.next()?)?;
    let seq = parse_u64(fields.next()?)?;
    let t_ns = parse_u64(fields.next()?)?;
    fields.next()?;
    Some(Stamp {
        sender: u32::try_from(sender).ok()?,
        seq: u32::try_from(seq).ok()?,
        t_ns,
    })
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// SplitMix64: a tiny, good-enough mixer, so the generator needs no RNG state shared between threads.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The recipient of message `seq` from `sender`: one of the `count` users numbered from `first`, never
/// the sender itself. Deterministic, so the receiver can recompute it.
pub fn pick_peer(seed: u64, sender: u32, seq: u32, first: u32, count: u32) -> u32 {
    pick_peer_across(seed, sender, seq, first, count, 1)
}

/// [`pick_peer`] with users spread over `nodes` servers (user `u` on `u % nodes`): with more than one,
/// the peer is always on another node than the sender (`count` is then a multiple of `nodes`, and
/// `first` is 0).
pub fn pick_peer_across(
    seed: u64,
    sender: u32,
    seq: u32,
    first: u32,
    count: u32,
    nodes: u32,
) -> u32 {
    let h = mix(seed ^ (u64::from(sender) << 32 | u64::from(seq)));
    if nodes > 1 && first == 0 {
        // The r-th user not on the sender's node: blocks of `nodes` users hold one per node.
        let others = count / nodes * (nodes - 1);
        let r = (h % u64::from(others.max(1))) as u32;
        let (block, offset) = (r / (nodes - 1), r % (nodes - 1));
        let own = sender % nodes;
        let node = if offset < own { offset } else { offset + 1 };
        return block * nodes + node;
    }
    let sender_inside = sender >= first && sender < first + count;
    if sender_inside {
        debug_assert!(count >= 2, "a sender needs someone else to talk to");
        let k = (h % u64::from(count - 1)) as u32;
        let pick = first + k;
        if pick >= sender { pick + 1 } else { pick }
    } else {
        first + (h % u64::from(count)) as u32
    }
}

/// One bit per expected delivery.
pub struct Ledger {
    bits: Vec<AtomicU64>,
    len: u64,
}

impl Ledger {
    pub fn new(len: u64) -> Ledger {
        let words = len.div_ceil(64) as usize;
        Ledger {
            bits: (0..words).map(|_| AtomicU64::new(0)).collect(),
            len,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Marks delivery `i`; `false` if it was already marked (a duplicate) or is out of range.
    pub fn mark(&self, i: u64) -> bool {
        if i >= self.len {
            return false;
        }
        let bit = 1u64 << (i % 64);
        self.bits[(i / 64) as usize].fetch_or(bit, Ordering::Relaxed) & bit == 0
    }

    pub fn count(&self) -> u64 {
        self.bits
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum()
    }

    /// Up to `max` deliveries that never happened, for the report.
    pub fn missing(&self, max: usize) -> Vec<u64> {
        let mut out = Vec::new();
        for i in 0..self.len {
            if out.len() >= max {
                break;
            }
            let w = self.bits[(i / 64) as usize].load(Ordering::Relaxed);
            if w & (1 << (i % 64)) == 0 {
                out.push(i);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_is_padded() {
        let s = Stamp {
            sender: 12,
            seq: 345,
            t_ns: 6_789_000_123,
        };
        let mut out = b"PRIVMSG u1 :".to_vec();
        write_text(&mut out, s, 48);
        assert_eq!(out.len(), 12 + 48);
        assert_eq!(read_text(&out[12..]), Some(s));
        // Longer than the size: not truncated.
        let mut short = Vec::new();
        write_text(&mut short, s, 4);
        assert_eq!(read_text(&short), Some(s));
    }

    #[test]
    fn foreign_text_is_not_a_stamp() {
        for t in [
            &b""[..],
            b"hello",
            b"1 2",
            b"1 2 3",
            b"1 x 3 ",
            b"99999999999 1 1 ",
        ] {
            assert_eq!(read_text(t), None, "{:?}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn peers_are_never_the_sender_and_cover_the_range() {
        let mut seen = [false; 5];
        for seq in 0..500 {
            let p = pick_peer(7, 2, seq, 0, 5);
            assert_ne!(p, 2);
            seen[p as usize] = true;
        }
        assert_eq!(seen, [true, true, false, true, true]);
        for seq in 0..100 {
            let p = pick_peer(7, 1, seq, 10, 3);
            assert!((10..13).contains(&p));
        }
    }

    #[test]
    fn across_nodes_a_peer_is_always_on_another_node_and_all_of_them_are_reached() {
        for sender in 0..12 {
            let mut seen = [false; 12];
            for seq in 0..2000 {
                let p = pick_peer_across(7, sender, seq, 0, 12, 3);
                assert!(p < 12);
                assert_ne!(p % 3, sender % 3, "u{sender} -> u{p} on the same node");
                seen[p as usize] = true;
            }
            let want: Vec<bool> = (0..12).map(|u| u % 3 != sender % 3).collect();
            assert_eq!(seen.to_vec(), want);
        }
    }

    #[test]
    fn ledger_finds_duplicates_and_losses() {
        let l = Ledger::new(130);
        assert!(l.mark(0));
        assert!(l.mark(129));
        assert!(!l.mark(129));
        assert!(!l.mark(130));
        assert_eq!(l.count(), 2);
        assert_eq!(l.missing(3), vec![1, 2, 3]);
    }
}
