//! Framing: bytes from a socket into lines, with a hard length limit, and the checks every line passes
//! before anything parses it.
//!
//! Sans-IO like the cores: [`LineDecoder::feed`] takes whatever bytes a read returned and hands out each
//! complete line. Complete lines are lent straight out of the caller's buffer; only the unfinished tail of a
//! read is copied, so an idle connection holds no buffer at all. A line longer than the limit is reported
//! once as [`Frame::TooLong`] and then skipped up to its newline, so a hostile client cannot make the server
//! hold more than `max` bytes for it, and the lines after it still work.

/// The longest line accepted by default, in bytes, not counting its ending: from clients by the server
/// (`--max-line` changes it), and on a peer-to-peer link by either client. The one definition every
/// default refers to, so the server's limit, its documentation and the links cannot drift apart.
pub const MAX_LINE: usize = 8192;

/// The port a server listens on, and a client connects to, when none is given.
pub const DEFAULT_PORT: u16 = 4000;

/// One thing the decoder found in the byte stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without `\n` or a `\r` before it.
    Line(&'a [u8]),
    /// A line went past the limit; its bytes are being dropped up to the next newline.
    TooLong,
}

/// Splits a byte stream into lines of at most `max` bytes.
#[derive(Debug)]
pub struct LineDecoder {
    /// A `u32` (lines are far shorter than 4 GiB): with `discarding` beside it, the decoder is 32
    /// bytes, not 40, in every connection the server holds.
    max: u32,
    partial: Vec<u8>,
    discarding: bool,
}

impl LineDecoder {
    /// A decoder that reports lines longer than `max` bytes (not counting their ending) as
    /// [`Frame::TooLong`].
    pub fn new(max: usize) -> Self {
        LineDecoder {
            max: u32::try_from(max).unwrap_or(u32::MAX),
            partial: Vec::new(),
            discarding: false,
        }
    }

    /// The longest line accepted, in bytes, not counting the line ending.
    pub fn max(&self) -> usize {
        self.max as usize
    }

    /// Bytes held for a line not yet finished.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Feeds the bytes of one read; calls `on_frame` for every complete line (and each over-long one).
    pub fn feed(&mut self, mut data: &[u8], mut on_frame: impl FnMut(Frame<'_>)) {
        while !data.is_empty() {
            let newline = memchr::memchr(b'\n', data);
            let (chunk, rest, complete) = match newline {
                Some(i) => (&data[..i], &data[i + 1..], true),
                None => (data, &data[data.len()..], false),
            };
            data = rest;
            if self.discarding {
                if complete {
                    self.discarding = false;
                }
                continue;
            }
            if complete {
                if self.partial.is_empty() {
                    self.emit(chunk, &mut on_frame);
                } else {
                    let mut line = std::mem::take(&mut self.partial);
                    line.extend_from_slice(chunk);
                    self.emit(&line, &mut on_frame);
                }
            } else if self.partial.len() + chunk.len() > self.max() + 1 {
                // `+ 1` leaves room for the `\r` of a CRLF ending that has not arrived yet.
                self.partial = Vec::new();
                self.discarding = true;
                on_frame(Frame::TooLong);
            } else {
                self.partial.extend_from_slice(chunk);
            }
        }
    }

    fn emit(&self, line: &[u8], on_frame: &mut impl FnMut(Frame<'_>)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max() {
            on_frame(Frame::TooLong);
        } else {
            on_frame(Frame::Line(line));
        }
    }
}

/// Why a line was refused before parsing.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
pub enum LineError {
    /// The line's bytes are not UTF-8: every line of the protocol is text.
    #[error("the line is not valid UTF-8")]
    InvalidUtf8,
    /// The line holds a control character (tab aside), which could rewrite a reader's terminal.
    #[error("the line contains a control character")]
    ControlChar,
}

impl From<LineError> for super::ErrorReply {
    fn from(e: LineError) -> Self {
        match e {
            LineError::InvalidUtf8 => super::ErrorReply::InvalidUtf8,
            LineError::ControlChar => super::ErrorReply::ControlChar,
        }
    }
}

/// Checks that a line is UTF-8 text without control characters (tab excepted). Control characters are
/// refused rather than passed on: relayed to another user's terminal they could rewrite what it shows.
///
/// Nearly every line is printable ASCII, and one pass over it a word at a time proves both checks
/// at once: such bytes are UTF-8 and hold no control character. Only a line with anything else
/// (a tab, a character beyond ASCII, a control) is validated as UTF-8 and scanned byte by byte.
/// (The two full checks cost about 300 instructions for a 60-byte `message` line, a tenth of what
/// the server spends on it; the one pass about a third of that.)
#[allow(unsafe_code)]
pub fn check_line(line: &[u8]) -> Result<&str, LineError> {
    if printable_ascii_bytes(line) {
        // SAFETY: every byte of `line` is in 0x20..=0x7E (`printable_ascii_bytes`, held exact by
        // the property tests below), and a sequence of ASCII bytes is valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(line) });
    }
    let text = std::str::from_utf8(line).map_err(|_| LineError::InvalidUtf8)?;
    if has_control_by_bytes(text) {
        return Err(LineError::ControlChar);
    }
    Ok(text)
}

/// Whether every byte of `bytes` is printable ASCII (0x20-0x7E), eight at a time: the words'
/// verdicts are gathered without a branch per word (lines are short, and nearly all pass), and the
/// bytes after the last whole word are covered by reading the line's last eight bytes as one more
/// word (some bytes are looked at twice, which changes nothing, and nothing is copied). (The
/// server's log writer uses it too, to pass a line of printable ASCII whole.)
pub fn printable_ascii_bytes(bytes: &[u8]) -> bool {
    let Some(last) = bytes.len().checked_sub(8).map(|at| &bytes[at..]) else {
        return bytes.iter().all(|b| (0x20..0x7f).contains(b));
    };
    let word = |w: &[u8]| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let mut unprintable = unprintable_bits(word(last));
    for w in bytes.chunks_exact(8) {
        unprintable |= unprintable_bits(word(w));
    }
    unprintable == 0
}

/// Whether `text` holds a control character other than a tab (Unicode's `Cc`: U+0000-U+001F and
/// U+007F-U+009F). Read for every line, so by bytes first, without branching per byte: the ASCII
/// ones are single bytes, and the others (U+0080-U+009F) are the two bytes `C2 80`-`C2 9F` in UTF-8,
/// so a line without a `C2` byte needs no decoding at all.
pub(crate) fn has_control(text: &str) -> bool {
    // Eight bytes at a time first: a line of printable ASCII (nearly every line) is done at a
    // third of the cost of the byte scan. A line holding anything else (a tab, a control, a byte
    // of a longer character) goes to the byte scan, which decides.
    !printable_ascii_bytes(text.as_bytes()) && has_control_by_bytes(text)
}

/// Nonzero exactly when some byte of `w` is not printable ASCII (0x20-0x7E): one has its high bit
/// set, is below 0x20, or is 0x7F. The two tests for a byte below a bound are the exact "has a byte
/// less than" word tricks, exact as to whether there is one (which is all that is asked here). Kept
/// as bits so that several words' verdicts can be gathered with `|`.
fn unprintable_bits(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let del = w ^ (ONES * 0x7f);
    let has_del = del.wrapping_sub(ONES) & !del & HIGH;
    (w & HIGH) | below_space | has_del
}

/// [`has_control`] by a scan of every byte (and of the characters, in a line with a `C2` byte).
fn has_control_by_bytes(text: &str) -> bool {
    let (ascii, c2) = text.bytes().fold((false, false), |(ascii, c2), b| {
        (
            ascii | ((b < 0x20) & (b != b'\t')) | (b == 0x7f),
            c2 | (b == 0xc2),
        )
    });
    ascii || (c2 && text.chars().any(|c| c.is_control() && c != '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte scan finds exactly the characters the plain definition names.
        #[test]
        fn control_characters_by_bytes_as_by_chars(text in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{a0}£°\t])*") {
            let by_chars = text.chars().any(|c| c.is_control() && c != '\t');
            proptest::prop_assert_eq!(has_control(&text), by_chars, "{:?}", text);
        }

        /// The line check's fast pass says "printable ASCII" of exactly the lines whose bytes all
        /// are, at every length (the padded last word included): what makes its shortcut sound.
        #[test]
        fn a_line_is_printable_ascii_as_its_bytes_are(bytes in proptest::collection::vec(proptest::sample::select(vec![0u8, 0x09, 0x1f, 0x20, 0x41, 0x7e, 0x7f, 0x80, 0xc2, 0xe2, 0xff]), 0..40)) {
            let by_bytes = bytes.iter().all(|b| (0x20..0x7f).contains(b));
            proptest::prop_assert_eq!(printable_ascii_bytes(&bytes), by_bytes, "{:?}", bytes);
        }

        /// The line check says what its definition says of any bytes: UTF-8 first, then no control
        /// character but tab.
        #[test]
        fn check_line_is_its_definition(bytes in proptest::collection::vec(proptest::sample::select(vec![0u8, 0x09, 0x1b, 0x20, 0x41, 0x7e, 0x7f, 0x80, 0x85, 0xa3, 0xc2, 0xc3, 0xe2, 0xff]), 0..40)) {
            let by_definition = match std::str::from_utf8(&bytes) {
                Err(_) => Err(LineError::InvalidUtf8),
                Ok(text) if text.chars().any(|c| c.is_control() && c != '\t') => Err(LineError::ControlChar),
                Ok(text) => Ok(text),
            };
            proptest::prop_assert_eq!(check_line(&bytes), by_definition, "{:?}", bytes);
        }

        /// The word test says "printable ASCII" of exactly the words whose eight bytes all are.
        #[test]
        fn a_word_is_printable_ascii_as_its_bytes_are(bytes in proptest::array::uniform8(proptest::prelude::any::<u8>())) {
            let by_bytes = bytes.iter().all(|b| (0x20..0x7f).contains(b));
            proptest::prop_assert_eq!(unprintable_bits(u64::from_le_bytes(bytes)) == 0, by_bytes, "{:?}", bytes);
        }

        /// Words built near the edges (0x1F/0x20, 0x7E/0x7F/0x80, tab, 0xC2), where a word trick
        /// would go wrong if it could.
        #[test]
        fn edge_bytes_are_told_apart(bytes in proptest::array::uniform8(proptest::sample::select(vec![0u8, 0x09, 0x1f, 0x20, 0x21, 0x41, 0x7e, 0x7f, 0x80, 0x9f, 0xc2, 0xff]))) {
            let by_bytes = bytes.iter().all(|b| (0x20..0x7f).contains(b));
            proptest::prop_assert_eq!(unprintable_bits(u64::from_le_bytes(bytes)) == 0, by_bytes, "{:?}", bytes);
        }
    }

    #[test]
    fn control_characters() {
        for (text, control) in [
            ("plain\ttab", false),
            ("£ and\ttab", false),
            ("\u{a0} no-break space", false),
            ("bell\u{7}", true),
            ("del\u{7f}", true),
            ("c1 \u{85}", true),
            ("c1 \u{9f} and £", true),
            ("esc\u{1b}[2J", true),
        ] {
            assert_eq!(has_control(text), control, "{text:?}");
        }
    }

    fn frames(d: &mut LineDecoder, data: &[u8]) -> Vec<Result<Vec<u8>, ()>> {
        let mut out = Vec::new();
        d.feed(data, |f| {
            out.push(match f {
                Frame::Line(l) => Ok(l.to_vec()),
                Frame::TooLong => Err(()),
            })
        });
        out
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        let mut d = LineDecoder::new(100);
        assert_eq!(
            frames(&mut d, b"a\nbc\r\n\nde"),
            vec![Ok(b"a".to_vec()), Ok(b"bc".to_vec()), Ok(vec![])]
        );
        assert_eq!(d.pending(), 2);
        assert_eq!(frames(&mut d, b"f\r"), vec![]);
        assert_eq!(frames(&mut d, b"\n"), vec![Ok(b"def".to_vec())]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn over_long_line_is_reported_once_and_skipped() {
        let mut d = LineDecoder::new(4);
        assert_eq!(frames(&mut d, b"abcd\n"), vec![Ok(b"abcd".to_vec())]);
        assert_eq!(frames(&mut d, b"abcd\r\n"), vec![Ok(b"abcd".to_vec())]);
        assert_eq!(
            frames(&mut d, b"abcde\nok\n"),
            vec![Err(()), Ok(b"ok".to_vec())]
        );
        // Arriving in pieces: reported when the limit is passed, the rest dropped, then back to normal.
        assert_eq!(frames(&mut d, b"abc"), vec![]);
        assert_eq!(frames(&mut d, b"def"), vec![Err(())]);
        assert_eq!(frames(&mut d, b"ghi"), vec![]);
        assert_eq!(d.pending(), 0);
        assert_eq!(frames(&mut d, b"jk\nxy\n"), vec![Ok(b"xy".to_vec())]);
    }

    #[test]
    fn line_checks() {
        assert_eq!(check_line(b"hi\tthere"), Ok("hi\tthere"));
        assert_eq!(check_line("ünï".as_bytes()), Ok("ünï"));
        assert_eq!(check_line(b"\xff"), Err(LineError::InvalidUtf8));
        assert_eq!(check_line(b"a\x1b[2Jb"), Err(LineError::ControlChar));
        assert_eq!(check_line(b"a\rb"), Err(LineError::ControlChar));
    }
}
