//! The operator log's writer: lines logged on the server's thread during one turn of its driver are
//! kept together and written to standard error with one `write` when the turn ends, instead of one
//! `write` per line.
//!
//! Why: a login writes two lines ("logged in from", "logged out"), and a turn handles many logins; a
//! system call per line was a measurable part of a login's cost (docs/PERFORMANCE.md). Nothing is
//! dropped or reordered: the lines of a turn leave in the order they were logged, before the driver
//! waits for anything, and lines logged outside a turn (other threads, the driver asleep) are written
//! at once, as before. A panic in the middle of a turn still writes what was held (see [`Turn`]'s
//! `Drop`).

use std::cell::RefCell;
use std::io::{self, Write};

use natter_core::protocol::line::printable_ascii_bytes;

thread_local! {
    /// This thread's held lines, while a [`Turn`] is open on it (`None`: write at once).
    static HELD: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// The buffer kept between turns, so a turn allocates nothing once the log has warmed up.
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The largest buffer kept between turns: a burst's (a shutdown's thousands of "logged out") is
/// given back.
const KEEP: usize = 64 * 1024;

/// Where the log's lines go: to standard error, at once or at the end of this thread's turn. One is
/// made per line (`tracing-subscriber` asks its `MakeWriter` for one per event).
#[derive(Clone, Copy, Debug, Default)]
pub struct TurnWriter {
    escape: bool,
}

impl TurnWriter {
    /// A writer that writes each line as it is given (its formatter sanitizes what must be).
    pub fn plain() -> TurnWriter {
        TurnWriter { escape: false }
    }

    /// A writer that makes each whole line safe for a terminal itself ([`escape_controls`]), for a
    /// formatter whose own sanitizing is turned off: a line is scanned once for the few bytes that
    /// matter, where `tracing-subscriber`'s sanitizing of the message writes it one character at a
    /// time through the formatter (about 1,700 instructions a line, a login writes two). Only for a
    /// log without colours: their escape sequences would be escaped too.
    pub fn escaping() -> TurnWriter {
        TurnWriter { escape: true }
    }

    /// Adds `buf` to this thread's held lines, if a turn holds them; false if not.
    fn hold(self, buf: &[u8]) -> bool {
        HELD.with(|held| match held.borrow_mut().as_mut() {
            Some(lines) if self.escape => {
                escape_controls(buf, lines);
                true
            }
            Some(lines) => {
                lines.extend_from_slice(buf);
                true
            }
            None => false,
        })
    }

    fn write_now(self, buf: &[u8]) -> io::Result<()> {
        if self.escape && needs_escape(buf) {
            let mut escaped = Vec::with_capacity(buf.len() + 16);
            escape_controls(buf, &mut escaped);
            io::stderr().write_all(&escaped)
        } else {
            io::stderr().write_all(buf)
        }
    }
}

/// Whether `text` holds a byte [`escape_controls`] may change. A line of printable ASCII (nearly
/// every line, up to its newline) is passed eight bytes at a time, by the word test the protocol's
/// line check uses; any other is scanned byte by byte, which decides.
fn needs_escape(text: &[u8]) -> bool {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    !printable_ascii_bytes(body)
        && body
            .iter()
            .any(|b| matches!(b, 0x07 | 0x08 | 0x0c | 0x1b | 0x7f | 0xc2))
}

/// Appends `text` to `out` with what could steer a terminal written as text, exactly as
/// `tracing-subscriber`'s sanitizing writes it in a message: ESC, BEL, BS, FF and DEL as `\x1b`,
/// `\x07`, `\x08`, `\x0c`, `\x7f`, and the C1 controls (U+0080 to U+009F, two bytes in UTF-8) as
/// `\u{80}` to `\u{9f}`; everything else as it is. Applied to the whole line, it also covers the
/// fields other than the message, which that sanitizing leaves alone.
pub fn escape_controls(text: &[u8], out: &mut Vec<u8>) {
    if !needs_escape(text) {
        out.extend_from_slice(text);
        return;
    }
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            0x07 => out.extend_from_slice(b"\\x07"),
            0x08 => out.extend_from_slice(b"\\x08"),
            0x0c => out.extend_from_slice(b"\\x0c"),
            0x1b => out.extend_from_slice(b"\\x1b"),
            0x7f => out.extend_from_slice(b"\\x7f"),
            0xc2 if matches!(text.get(i + 1), Some(0x80..=0x9f)) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let c1 = text[i + 1];
                out.extend_from_slice(b"\\u{");
                out.push(HEX[usize::from(c1 >> 4)]);
                out.push(HEX[usize::from(c1 & 0xf)]);
                out.push(b'}');
                i += 1;
            }
            b => out.push(b),
        }
        i += 1;
    }
}

impl Write for TurnWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.hold(buf) {
            Ok(buf.len())
        } else if self.escape {
            // (Escaped, the line may be longer than `buf`: all of it is written.)
            self.write_now(buf).map(|()| buf.len())
        } else {
            io::stderr().write(buf)
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.hold(buf) {
            Ok(())
        } else {
            self.write_now(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One turn of the driver: while it lives, [`TurnWriter`] holds this thread's lines; dropping it
/// writes them with one `write` (to standard error) and lets later lines go out at once again.
#[must_use = "the lines are written when the turn is dropped"]
pub struct Turn(());

impl Turn {
    /// Begins holding this thread's log lines.
    pub fn begin() -> Turn {
        let spare = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if held.is_none() {
                *held = Some(spare);
            }
        });
        Turn(())
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(mut lines) = HELD.with(|held| held.borrow_mut().take()) else {
            return;
        };
        if !lines.is_empty() {
            // As when each line was written alone: a log that cannot be written is not a reason to
            // stop serving.
            let _ = io::stderr().write_all(&lines);
            lines.clear();
        }
        if lines.capacity() <= KEEP {
            SPARE.with(|s| *s.borrow_mut() = lines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held() -> Option<Vec<u8>> {
        HELD.with(|h| h.borrow().clone())
    }

    #[test]
    fn lines_of_a_turn_are_held_in_order_until_it_ends() {
        let turn = Turn::begin();
        TurnWriter::plain().write_all(b"one\n").unwrap();
        TurnWriter::escaping().write_all(b"two\n").unwrap();
        assert_eq!(held().as_deref(), Some(&b"one\ntwo\n"[..]));
        drop(turn);
        assert_eq!(held(), None, "written and no longer held");
        // The buffer is kept for the next turn, empty.
        let turn = Turn::begin();
        assert_eq!(held().as_deref(), Some(&b""[..]));
        drop(turn);
    }

    /// What `tracing-subscriber` writes for one event: `sanitize` its own sanitizing of the message,
    /// `escape` this module's of the whole line.
    fn formatted(sanitize: bool, escape: bool, log: impl FnOnce()) -> Vec<u8> {
        use std::sync::{Arc, Mutex};
        #[derive(Clone)]
        struct Capture(Arc<Mutex<Vec<u8>>>, bool);
        impl Write for Capture {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let mut out = self.0.lock().unwrap();
                if self.1 {
                    escape_controls(buf, &mut out);
                } else {
                    out.extend_from_slice(buf);
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        let capture = Capture(out.clone(), escape);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || capture.clone())
            .without_time()
            .with_target(false)
            .with_ansi(false)
            .with_ansi_sanitization(sanitize)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        out.lock().unwrap().clone()
    }

    #[test]
    fn a_line_is_escaped_as_the_formatter_escapes_a_message() {
        for text in [
            "alice logged in from 127.0.0.1:4000",
            "\x1b[2J\x07\x08\x0c\x7f",
            "tab\there, cr\r, nul\0, \x01",
            "\u{80}\u{85}\u{9b}\u{9f}\u{a0}\u{a9}\u{c2}\u{100}",
            "caf\u{e9} \u{1b}\u{9b}31m \u{1f600}",
        ] {
            let theirs = formatted(true, false, || tracing::info!("{text}"));
            let ours = formatted(false, true, || tracing::info!("{text}"));
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{text:?}"
            );
        }
        // A field other than the message is escaped too (the formatter leaves it as it is).
        let ours = formatted(false, true, || tracing::info!(peer = "\x1b[2J", "hello"));
        assert!(!ours.contains(&0x1b), "{}", String::from_utf8_lossy(&ours));
    }

    #[test]
    fn other_threads_write_at_once() {
        let _turn = Turn::begin();
        std::thread::spawn(|| assert_eq!(held(), None))
            .join()
            .unwrap();
    }
}
