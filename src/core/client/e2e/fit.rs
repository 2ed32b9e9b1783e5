//! The longest text that still fits in one line once encrypted, so the client can say so before
//! sending instead of the server refusing a line the user cannot see.
//!
//! The bounds are worst cases of vodozemac's message formats (version 1 Olm and Megolm, AES-256-CBC
//! with PKCS#7 padding, truncated 8-byte MACs), taken from the formats' definitions; a test encrypts
//! texts of exactly the computed length with the real engine and checks that the line fits, and that
//! the bound wastes little.

use super::envelope::PREFIX;

/// AES-CBC with PKCS#7 padding: up to one whole block more than the plaintext.
pub(super) const CBC_PAD: usize = 16;
/// An Olm normal message around its ciphertext: the version byte, the ratchet key field (tag, length,
/// 32 bytes), the chain index field (tag, a varint of at most 10 bytes), the ciphertext field's tag
/// and length (a varint of at most 3 bytes for a line's worth) and the 8-byte MAC.
pub(super) const OLM_NORMAL: usize = 1 + (2 + 32) + (1 + 10) + (1 + 3) + 8;
/// A pre-key message around the normal message: the version byte, three key fields (one-time key,
/// base key, identity key) and the message field's tag and length.
pub(super) const OLM_PRE_KEY: usize = 1 + 3 * (2 + 32) + (1 + 3);
/// A Megolm message around its ciphertext: the version byte, the index field (tag, varint of at most 5
/// bytes), the ciphertext field's tag and length, the 8-byte MAC and the 64-byte signature.
pub(super) const MEGOLM: usize = 1 + (1 + 5) + (1 + 3) + 8 + 64;
/// The identity proof in a pre-key message's plaintext: `I `, an Ed25519 key (43 base64 characters),
/// a space, a signature (86) and a newline.
const PROOF: usize = 2 + 43 + 1 + 86 + 1;
/// `M ` before a text.
const TEXT_TAG: usize = 2;
/// A Megolm session id in the outside form: 43 base64 characters and a colon.
const SESSION_ID: usize = 43 + 1;
/// The recipient's Curve25519 key in a direct message's outside form: 43 characters and a colon.
const RECIPIENT: usize = 43 + 1;

/// Unpadded base64's length for `n` bytes.
fn base64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

/// The length of the outside form of a direct message with a text of `text` bytes, at worst (a
/// pre-key message, which also carries the identity proof).
pub fn direct_len(text: usize) -> usize {
    let plain = PROOF + TEXT_TAG + text;
    let olm = OLM_PRE_KEY + OLM_NORMAL + plain + CBC_PAD;
    PREFIX.len() + 2 + RECIPIENT + base64_len(olm)
}

/// The length of the outside form of a group message with a text of `text` bytes.
pub fn group_len(text: usize) -> usize {
    let megolm = MEGOLM + TEXT_TAG + text + CBC_PAD;
    PREFIX.len() + 2 + SESSION_ID + base64_len(megolm)
}

/// The most bytes of text that fit when the line before the text (`message bob `) is `head` bytes and
/// lines may be `limit` bytes long; `len` is [`direct_len`] or [`group_len`].
pub fn max_text(limit: usize, head: usize, len: fn(usize) -> usize) -> usize {
    let room = limit.saturating_sub(head);
    if len(0) > room {
        return 0;
    }
    // `len` grows with its argument, and by at most 2 per byte: search.
    let (mut lo, mut hi) = (0, room);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if len(mid) <= room {
            lo = mid
        } else {
            hi = mid - 1
        }
    }
    lo
}

/// The head of a direct message's line.
pub fn direct_head(to: &str) -> usize {
    "message ".len() + to.len() + 1
}

/// The head of a group message's line.
pub fn group_head(group: &str) -> usize {
    "message group ".len() + group.len() + 1
}
