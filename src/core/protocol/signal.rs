//! Signals: what a user tells another user or a group that is no message, such as "I am typing"
//! (`typing=active`) or a reaction. A signal is a list of tags, `key[=value][;key[=value]…]`, the
//! shape of IRCv3's client-only tags without their `+` (so an IRC client's `TAGMSG` carries one as
//! it is, values escaped as IRCv3 escapes them). It is delivered to recipients online at once and
//! never kept: a signal is about now, and one that cannot be delivered now is dropped.

/// The most bytes a signal's tags may hold: what IRCv3 allows a client's tags (4094 bytes of tag
/// data), so an IRC client's `TAGMSG` within its limit is always a valid signal.
pub const MAX_SIGNAL: usize = 4094;

/// The typing notification's key (`typing=active`, `typing=paused`, `typing=done`: IRCv3's
/// `+typing`).
pub const TYPING: &str = "typing";

/// Whether `tags` is a signal's shape: 1 to [`MAX_SIGNAL`] bytes, tags separated by `;`, each a
/// key of ASCII letters, digits, `-`, `.` and `/` (a vendor's prefix), optionally `=` and a value
/// without spaces.
pub fn is_signal(tags: &str) -> bool {
    !tags.is_empty()
        && tags.len() <= MAX_SIGNAL
        && tags.split(';').all(|tag| {
            let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/'))
                && !value.contains(|c: char| c.is_whitespace() || c.is_control())
        })
}

/// The value of `key` in `tags`, if it is there (`Some("")` for a key without a value).
pub fn signal_value<'a>(tags: &'a str, key: &str) -> Option<&'a str> {
    tags.split(';').find_map(|tag| {
        let (k, v) = tag.split_once('=').unwrap_or((tag, ""));
        (k == key).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_have_a_shape() {
        assert!(is_signal("typing=active"));
        assert!(is_signal("draft/react=l😃l;draft/reply=12"));
        assert!(is_signal(r"buzz=fizz\:buzz;steel"));
        assert!(!is_signal(""));
        assert!(!is_signal("typing=active;"));
        assert!(!is_signal("+typing=active"));
        assert!(!is_signal("=x"));
        assert!(!is_signal("a=b c"));
        assert!(is_signal(&format!("baz={}", "a".repeat(4081))));
        assert!(!is_signal(&format!("baz={}", "a".repeat(MAX_SIGNAL))));
    }

    #[test]
    fn a_value_is_found_by_its_key() {
        assert_eq!(signal_value("a=1;typing=paused", TYPING), Some("paused"));
        assert_eq!(signal_value("typing", TYPING), Some(""));
        assert_eq!(signal_value("typingx=1", TYPING), None);
    }
}
