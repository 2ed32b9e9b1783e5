//! Safety numbers: what two users compare out of band (read aloud, or side by side) to know that the
//! keys their clients pinned for each other are each other's, and not a server's in the middle.
//!
//! As Signal does (libsignal's `NumericFingerprintGenerator`), each party has a *fingerprint* of its
//! own: thirty digits that are a function of that party's identity key and name alone, made by an
//! iterated hash. A user compares two parts: their own (which their contact's screen must show for
//! them) and their contact's. Because each part depends on one key only, a server that wanted both
//! screens to agree while holding keys of its own would need a key whose part matches the genuine
//! one: a second preimage of 100 bits, slowed down 5,200 times, rather than the birthday collision a
//! single hash over both keys would let it look for.
//!
//! One party's part (docs/PROTOCOL.md, "Safety numbers", has it with a test vector):
//!
//! 1. `h = SHA-512(version || key || name || key)`, where `version` is the two bytes `00 00`, `key` is
//!    the raw 32 bytes of the Ed25519 identity key (its base64 decoded) and `name` the username's
//!    UTF-8 bytes;
//! 2. 5,199 times more: `h = SHA-512(h || key)`;
//! 3. the first 30 bytes of `h`, as six 5-byte big-endian numbers, each modulo 100,000, written as
//!    five digits with leading zeros.
//!
//! This is exactly libsignal's construction (given Signal's 33-byte keys and phone numbers, it gives
//! Signal's numbers; a test checks its published vector).

use sha2::{Digest, Sha512};

/// The hash is iterated this many times in all (libsignal's count: "> 112 bits").
pub const ITERATIONS: u32 = 5200;
/// The fingerprint format's version, hashed first (libsignal's 0).
const VERSION: [u8; 2] = [0, 0];
/// How many groups of digits one party's part has.
pub const GROUPS: usize = 6;
/// Digits in one group.
pub const DIGITS: usize = 5;

/// The raw bytes of a key whose base64 form (vodozemac's: standard alphabet, no padding) is `key`;
/// `None` if it is not base64.
fn decode(key: &str) -> Option<Vec<u8>> {
    super::b64::decode(key).ok()
}

/// One party's fingerprint hash over `key` (its bytes) and `name`.
pub fn fingerprint_hash(key: &[u8], name: &[u8]) -> [u8; 64] {
    let mut hash: [u8; 64] = Sha512::new()
        .chain_update(VERSION)
        .chain_update(key)
        .chain_update(name)
        .chain_update(key)
        .finalize()
        .into();
    for _ in 1..ITERATIONS {
        hash = Sha512::new()
            .chain_update(hash)
            .chain_update(key)
            .finalize()
            .into();
    }
    hash
}

/// The thirty digits of a fingerprint hash, as six groups of five.
fn digits(hash: &[u8; 64]) -> [String; GROUPS] {
    std::array::from_fn(|i| {
        let chunk = &hash[i * 5..i * 5 + 5];
        let n = chunk.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
        format!("{:0width$}", n % 100_000, width = DIGITS)
    })
}

/// One party's part of the safety number: `name`'s Ed25519 identity key (base64) made into six
/// groups of five digits, separated by spaces. A key that is not base64 is hashed as its text (it
/// cannot be anyone's real key, and still shows as a number unlike any real one's).
pub fn fingerprint(ed25519: &str, name: &str) -> String {
    let key = decode(ed25519).unwrap_or_else(|| ed25519.as_bytes().to_vec());
    digits(&fingerprint_hash(&key, name.as_bytes())).join(" ")
}

/// The five digits that confirm a comparison of `name`'s part (`verify <name> yes <digits>`,
/// `trust <name> <digits>`): its first group, so what is confirmed is the key whose number was read.
pub fn confirmation(ed25519: &str, name: &str) -> String {
    fingerprint(ed25519, name)[..DIGITS].to_owned()
}

/// The safety number of two parties as both screens show it: each part labelled with its name, in
/// the order of the names, so the two users see the same line.
pub fn safety_number(a: (&str, &str), b: (&str, &str)) -> String {
    let (first, second) = if a.1 <= b.1 { (a, b) } else { (b, a) };
    format!(
        "{}: {} | {}: {}",
        first.1,
        fingerprint(first.0, first.1),
        second.1,
        fingerprint(second.0, second.1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn signal_s_published_vector_is_reproduced() {
        // libsignal's `fingerprint_test_v1`: two keys (Signal's 33-byte form) and phone numbers,
        // whose displayed number is both parts, the smaller first.
        let alice = hex("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868");
        let bob = hex("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b");
        let a = digits(&fingerprint_hash(&alice, b"+14152222222")).concat();
        let b = digits(&fingerprint_hash(&bob, b"+14153333333")).concat();
        let shown = if a < b { a + &b } else { b + &a };
        assert_eq!(
            shown,
            "300354477692869396892869876765458257569162576843440918079131"
        );
    }

    #[test]
    fn each_part_depends_on_its_own_key_and_name_only() {
        let a = "qQq3HcC9Lm0eK5mJvZbC1o2m8A9yI8rFv0n8yq6YH1E";
        let b = "Zk9pJm3vL2o7Xk1q8w0Rr4s5t6u7v8w9x0y1z2A3B4C";
        let part = fingerprint(a, "alice");
        let groups: Vec<&str> = part.split(' ').collect();
        assert_eq!(groups.len(), GROUPS);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == DIGITS && g.bytes().all(|c| c.is_ascii_digit()))
        );
        assert_eq!(
            safety_number((a, "alice"), (b, "bob")),
            safety_number((b, "bob"), (a, "alice")),
            "both screens show the same line"
        );
        assert!(safety_number((a, "alice"), (b, "bob")).starts_with(&format!("alice: {part} |")));
        assert_ne!(fingerprint(a, "alicf"), part, "the name is part of it");
        assert_ne!(fingerprint(b, "alice"), part, "so is the key");
        assert_eq!(confirmation(a, "alice"), groups[0]);
    }
}
