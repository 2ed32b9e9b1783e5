//! Safety numbers: what two users compare out of band (read aloud, or side by side) to know that the
//! keys their clients pinned for each other are each other's, and not a server's in the middle.
//!
//! The number is SHA-256 over both users' Ed25519 identity keys, sorted so that both sides compute the
//! same number, after a label that fixes what the hash is for. It is shown as six groups of five
//! digits: each group is five bytes of the hash, as a number, modulo 100,000. Thirty digits are about
//! 100 bits: a server that wanted both sides to see the same number for keys of its own would need
//! that many tries.

use sha2::{Digest, Sha256};

/// Label hashed first, so the digest means nothing in any other context.
const LABEL: &[u8] = b"natter safety number v1\0";
/// How many groups of digits are shown.
pub const GROUPS: usize = 6;
/// Digits in one group.
pub const DIGITS: usize = 5;

/// The safety number of two Ed25519 identity keys (their base64 forms), the same whichever comes
/// first: six groups of five digits, separated by spaces.
pub fn safety_number(ours: &str, theirs: &str) -> String {
    let (first, second) = if ours <= theirs {
        (ours, theirs)
    } else {
        (theirs, ours)
    };
    let mut hash = Sha256::new();
    hash.update(LABEL);
    // Each key with its length before it, so the boundary between the two cannot move.
    for key in [first, second] {
        hash.update((key.len() as u32).to_be_bytes());
        hash.update(key.as_bytes());
    }
    let digest = hash.finalize();
    digest
        .chunks_exact(5)
        .take(GROUPS)
        .map(|chunk| {
            let n = chunk.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
            format!("{:0width$}", n % 100_000, width = DIGITS)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_see_the_same_number_and_another_key_changes_it() {
        let a = "qQq3HcC9Lm0eK5mJvZbC1o2m8A9yI8rFv0n8yq6YH1E";
        let b = "Zk9pJm3vL2o7Xk1q8w0Rr4s5t6u7v8w9x0y1z2A3B4C";
        let n = safety_number(a, b);
        assert_eq!(
            n,
            safety_number(b, a),
            "the order of the two keys does not matter"
        );
        let groups: Vec<&str> = n.split(' ').collect();
        assert_eq!(groups.len(), GROUPS);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == DIGITS && g.bytes().all(|c| c.is_ascii_digit())),
            "{n}"
        );
        let c = "Mallory0000000000000000000000000000000000000";
        assert_ne!(n, safety_number(a, c), "a key in the middle shows");
        assert_ne!(n, safety_number(c, b));
    }
}
