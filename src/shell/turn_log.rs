//! The operator log's writer: lines logged on the server's thread are held and written to standard
//! error together, with one `write` for many turns of its driver, instead of one `write` per line
//! or per turn.
//!
//! Why: a login writes two lines ("logged in from", "logged out"), and at a few logins per turn a
//! `write` a turn to a log file was about a thirtieth of a login's whole cost, most of it in the
//! kernel (docs/PERFORMANCE.md). Held lines are written once they are [`HOLD_BYTES`] long or the
//! first of them is [`HOLD_FOR`] old, whichever comes first; the driver wakes for the second when
//! it has nothing else to do. So a line reaches the log at most that long after it is logged, and a
//! process killed outright (`kill -9`, the power) loses at most that much of its log: what the log
//! records of logins and messages is in the store too, durably, and an orderly stop, a panic (see
//! [`Turn`]'s `Drop`) and a wait for the disk write what is held first. Nothing is dropped or
//! reordered: this thread's lines leave in the order they were logged, and a line logged on it
//! between turns (by a task the driver runs while it sleeps) is written at once, after what is
//! held. Lines logged on other threads are written at once, as before.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use natter_core::protocol::line::printable_ascii_bytes;

thread_local! {
    /// This thread's held lines, oldest first (empty: none).
    static HELD: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Whether a [`Turn`] is open on this thread: only then is a line held.
    static IN_TURN: Cell<bool> = const { Cell::new(false) };
    /// When the oldest held line was logged (`None`: nothing held).
    static SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Whether the lines [`asked_once_per_turn`] asks about are on, as asked in the open turn
    /// (`None`: not asked yet).
    static ON_THIS_TURN: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Whether a kind of line is logged, `ask`ed once per turn of the driver (and each time outside
/// one). For the lines of logins and logouts, two per session, whose `tracing::enabled!` goes
/// through the subscriber's dispatch each time (about 140 instructions, a filter that a reload can
/// change is asked at every call): a turn handles several logins, and a level changed meanwhile
/// holds from the next turn. For one kind of line only: the answer is kept for whatever asks.
pub fn asked_once_per_turn(ask: impl FnOnce() -> bool) -> bool {
    if !IN_TURN.get() {
        return ask();
    }
    match ON_THIS_TURN.get() {
        Some(on) => on,
        None => {
            let on = ask();
            ON_THIS_TURN.set(Some(on));
            on
        }
    }
}

/// Held lines are written once they are this long: a busy server's log leaves in writes of about
/// this size (a hundred logins' lines), and a burst (a shutdown's thousands of "logged out") does
/// not wait for [`HOLD_FOR`].
pub const HOLD_BYTES: usize = 16 * 1024;

/// Held lines are written once the oldest is this old: longer than a busy moment's many short
/// turns, so that their lines share a `write`, and short enough that a person or a program
/// following the log (fail2ban) sees a line as good as at once.
pub const HOLD_FOR: Duration = Duration::from_millis(20);

/// The largest buffer kept after a write: a burst's is given back.
const KEEP: usize = 64 * 1024;

/// Where the log's lines go: to standard error, at once or, during a [`Turn`], with this thread's
/// held lines when they are written. One is made per line (`tracing-subscriber` asks its
/// `MakeWriter` for one per event).
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

    /// Adds `buf` to this thread's held lines, if a turn is open on it; false if not (and then
    /// what was held is written first, so that the lines stay in order).
    fn hold(self, buf: &[u8]) -> bool {
        if !IN_TURN.get() {
            write_held();
            return false;
        }
        HELD.with(|held| {
            let mut lines = held.borrow_mut();
            if lines.is_empty() {
                SINCE.set(Some(Instant::now()));
            }
            if self.escape {
                escape_controls(buf, &mut lines);
            } else {
                lines.extend_from_slice(buf);
            }
        });
        true
    }

    fn write_now(self, buf: &[u8]) -> io::Result<()> {
        if self.escape && needs_escape(buf) {
            let mut escaped = Vec::with_capacity(buf.len() + 16);
            escape_controls(buf, &mut escaped);
            to_stderr(&escaped)
        } else {
            to_stderr(buf)
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
            to_stderr(buf).map(|()| buf.len())
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

/// How the log's formatter writes an event at the default level (INFO) that is only its message:
/// appends the whole line, time, level, message and newline, to the buffer it is given. What it
/// writes beside the message must be printable ASCII (nothing [`escape_controls`] would change).
pub type InfoLine = fn(message: &str, out: &mut Vec<u8>);

/// The form of an INFO line the log's formatter writes, when the binary said what it is ([`InfoLine`]).
static INFO_LINE: OnceLock<InfoLine> = OnceLock::new();

/// Says how the log's formatter writes an INFO line that is only its message, so that [`info_line`]
/// can write such lines directly. For a formatter whose lines go through [`TurnWriter::escaping`]
/// with nothing else to see them: the lines written this way pass no other layer. Set once; a
/// second call is ignored.
pub fn write_info_lines_as(form: InfoLine) {
    let _ = INFO_LINE.set(form);
}

/// Writes `message` as the log's formatter would write an INFO event that is only that message,
/// without `tracing`'s dispatch, and says so; false (nothing written) if the binary has not said
/// how ([`write_info_lines_as`]), and then the caller logs it through `tracing`. The caller checks
/// first that its INFO lines are enabled (`tracing::enabled!`).
///
/// Why: every session writes two such lines (its login and its logout), and the dispatch through
/// the subscriber's layers, the formatting layer's buffer and the writer it makes per event took
/// about 1,100 of the 1,400 instructions a line cost, a twentieth of a login's whole work
/// (docs/PERFORMANCE.md). The line is held or written exactly as [`TurnWriter::escaping`] would
/// hold or write it, escaped the same way.
pub fn info_line(message: &str) -> bool {
    match INFO_LINE.get() {
        Some(form) => {
            info_line_as(*form, message);
            true
        }
        None => false,
    }
}

/// [`info_line`] in the form `form`: the line is made in a buffer kept per thread and handed to
/// [`TurnWriter::escaping`], which holds, escapes or writes it as it does the formatter's lines.
fn info_line_as(form: InfoLine, message: &str) {
    if IN_TURN.get() && !needs_escape(message.as_bytes()) {
        // The usual case: made straight onto the held lines, as [`TurnWriter::hold`] would add it
        // (nothing in it to escape: the message has nothing, the rest is printable ASCII), rather
        // than made apart, scanned whole and copied there.
        HELD.with_borrow_mut(|lines| {
            if lines.is_empty() {
                SINCE.set(Some(Instant::now()));
            }
            form(message, lines);
        });
        return;
    }
    thread_local! {
        /// The line being made (its room kept for the next one).
        static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        form(message, line);
        // As when the formatter's layer writes: a log that cannot be written is not a reason to
        // stop serving.
        let _ = TurnWriter::escaping().write_all(line);
    });
}

/// Writes `bytes` to standard error (in this module's tests, to the test's [`tests::WRITTEN`]).
fn to_stderr(bytes: &[u8]) -> io::Result<()> {
    #[cfg(test)]
    if tests::WRITTEN
        .with(|w| w.borrow_mut().as_mut().map(|w| w.extend_from_slice(bytes)))
        .is_some()
    {
        return Ok(());
    }
    io::stderr().write_all(bytes)
}

/// Writes this thread's held lines, if any, with one `write` (to standard error).
fn write_held() {
    if SINCE.take().is_none() {
        return;
    }
    HELD.with(|held| {
        let mut lines = held.borrow_mut();
        // As when each line was written alone: a log that cannot be written is not a reason to stop
        // serving.
        let _ = to_stderr(&lines);
        lines.clear();
        if lines.capacity() > KEEP {
            *lines = Vec::new();
        }
    });
}

/// When this thread's held lines fall due ([`HOLD_FOR`] after the oldest), if it holds any.
fn held_due() -> Option<Instant> {
    SINCE.get().map(|since| since + HOLD_FOR)
}

/// One turn of the driver: while it is open, [`TurnWriter`] holds this thread's lines. Ending it
/// with [`Turn::end`] writes them if they are due and keeps them otherwise; dropping it (an early
/// return, a panic's unwinding) writes them all, as does [`Turn::end_writing`].
#[must_use = "the lines are written when the turn ends"]
pub struct Turn(());

impl Turn {
    /// Begins holding this thread's log lines.
    pub fn begin() -> Turn {
        IN_TURN.set(true);
        ON_THIS_TURN.set(None);
        Turn(())
    }

    /// Ends the turn: the held lines are written if they are [`HOLD_BYTES`] long or the oldest was
    /// logged [`HOLD_FOR`] ago, and kept for a later turn otherwise. Returns when the kept ones fall
    /// due (`None`: nothing kept), which the caller must not sleep past. (The time is read here, to
    /// the nanosecond like the oldest line's: a clock of coarser grain could read a moment before a
    /// deadline just slept to, and keep the lines for a sleep of nothing.)
    pub fn end(self) -> Option<Instant> {
        self.end_at(Instant::now())
    }

    /// [`Turn::end`] at `now`.
    fn end_at(self, now: Instant) -> Option<Instant> {
        std::mem::forget(self);
        IN_TURN.set(false);
        let full = HELD.with(|held| held.borrow().len() >= HOLD_BYTES);
        match held_due() {
            Some(due) if !full && now < due => Some(due),
            _ => {
                write_held();
                None
            }
        }
    }

    /// Ends the turn writing everything held (before a wait of unknown length).
    pub fn end_writing(self) {
        drop(self);
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        IN_TURN.set(false);
        write_held();
    }
}

/// Writes this thread's held lines when dropped. The driver keeps one for as long as it serves, so
/// that a panic unwinding out of it between two turns (in a task it runs while it sleeps) loses
/// none of them.
#[must_use = "the lines are written when it is dropped"]
pub struct HeldLines(());

impl HeldLines {
    /// A guard for this thread's held lines.
    pub fn written_when_dropped() -> HeldLines {
        HeldLines(())
    }
}

impl Drop for HeldLines {
    fn drop(&mut self) {
        write_held();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// What this module wrote "to standard error" on this thread, once [`capture`] began.
        pub(super) static WRITTEN: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    }

    /// From now on, what this thread writes is kept in [`WRITTEN`] and not written.
    fn capture() {
        WRITTEN.set(Some(Vec::new()));
    }

    /// What this thread wrote since [`capture`] or the last call.
    fn written() -> Vec<u8> {
        WRITTEN.with(|w| std::mem::take(w.borrow_mut().as_mut().expect("captured")))
    }

    fn held() -> Vec<u8> {
        HELD.with(|h| h.borrow().clone())
    }

    #[test]
    fn lines_of_a_turn_are_held_in_order_until_it_is_dropped() {
        capture();
        let turn = Turn::begin();
        TurnWriter::plain().write_all(b"one\n").unwrap();
        TurnWriter::escaping().write_all(b"two\x1b\n").unwrap();
        assert_eq!(held(), b"one\ntwo\\x1b\n");
        assert_eq!(written(), b"", "held, not written");
        drop(turn);
        assert_eq!(written(), b"one\ntwo\\x1b\n", "written together");
        assert_eq!(held(), b"");
        assert_eq!(held_due(), None);
        let turn = Turn::begin();
        TurnWriter::plain().write_all(b"three\n").unwrap();
        turn.end_writing();
        assert_eq!(written(), b"three\n");
    }

    #[test]
    fn lines_are_kept_across_turns_until_the_oldest_is_due() {
        capture();
        let turn = Turn::begin();
        let before = Instant::now();
        TurnWriter::plain().write_all(b"one\n").unwrap();
        let due = held_due().expect("a line is held");
        assert!(due >= before + HOLD_FOR && due <= Instant::now() + HOLD_FOR);
        assert_eq!(
            turn.end_at(due - Duration::from_millis(1)),
            Some(due),
            "kept"
        );
        assert_eq!(held(), b"one\n");
        // A later turn adds to them; the oldest line still says when they are due.
        let turn = Turn::begin();
        TurnWriter::escaping().write_all(b"two\n").unwrap();
        assert_eq!(turn.end_at(due - Duration::from_millis(1)), Some(due));
        assert_eq!(held(), b"one\ntwo\n");
        assert_eq!(written(), b"", "kept, not written");
        let turn = Turn::begin();
        assert_eq!(turn.end_at(due), None, "due: written");
        assert_eq!(written(), b"one\ntwo\n");
        assert_eq!(held(), b"");
        assert_eq!(held_due(), None);
    }

    #[test]
    fn lines_are_written_once_they_are_long_enough() {
        capture();
        let turn = Turn::begin();
        let line = [b'x'; 100];
        for _ in 0..HOLD_BYTES / line.len() {
            TurnWriter::plain().write_all(&line).unwrap();
        }
        let now = Instant::now();
        assert!(turn.end_at(now).is_some(), "not yet long enough");
        let turn = Turn::begin();
        TurnWriter::plain().write_all(&line).unwrap();
        assert_eq!(
            turn.end_at(now),
            None,
            "long enough: written before they are due"
        );
        assert_eq!(written().len(), (HOLD_BYTES / line.len() + 1) * line.len());
        assert_eq!(held(), b"");
    }

    #[test]
    fn a_line_between_turns_is_written_at_once_after_what_is_held() {
        capture();
        let turn = Turn::begin();
        TurnWriter::plain().write_all(b"held\n").unwrap();
        assert!(turn.end_at(Instant::now()).is_some());
        // Between turns: written at once, after what was held (the two leave in order).
        TurnWriter::escaping().write_all(b"between\n").unwrap();
        assert_eq!(written(), b"held\nbetween\n");
        assert_eq!(held(), b"");
        assert_eq!(held_due(), None);
    }

    /// An INFO line's form for the tests: a fixed time, the level, the message.
    fn form(message: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"T  INFO ");
        out.extend_from_slice(message.as_bytes());
        out.push(b'\n');
    }

    #[test]
    fn whether_lines_are_on_is_asked_once_a_turn_and_always_between_turns() {
        let asked = Cell::new(0);
        let ask = |on: bool| {
            asked.set(asked.get() + 1);
            on
        };
        let turn = Turn::begin();
        assert!(asked_once_per_turn(|| ask(true)));
        assert!(asked_once_per_turn(|| ask(false)), "kept for the turn");
        assert_eq!(asked.get(), 1);
        turn.end_writing();
        assert!(!asked_once_per_turn(|| ask(false)), "between turns: asked");
        assert!(asked_once_per_turn(|| ask(true)));
        assert_eq!(asked.get(), 3);
        let turn = Turn::begin();
        assert!(!asked_once_per_turn(|| ask(false)), "a new turn asks again");
        assert_eq!(asked.get(), 4);
        turn.end_writing();
    }

    #[test]
    fn an_info_line_written_directly_is_held_and_escaped_as_the_writer_would() {
        capture();
        let turn = Turn::begin();
        TurnWriter::escaping().write_all(b"first\n").unwrap();
        info_line_as(form, "alice logged in");
        info_line_as(form, "a \x1b[2J \u{85} b");
        TurnWriter::escaping().write_all(b"last\n").unwrap();
        assert_eq!(written(), b"", "held while the turn is open");
        drop(turn);
        assert_eq!(
            written(),
            b"first\nT  INFO alice logged in\nT  INFO a \\x1b[2J \\u{85} b\nlast\n"
        );
    }

    #[test]
    fn an_info_line_between_turns_is_written_at_once_after_what_is_held() {
        capture();
        let turn = Turn::begin();
        info_line_as(form, "held");
        assert!(turn.end_at(Instant::now()).is_some());
        info_line_as(form, "between");
        assert_eq!(written(), b"T  INFO held\nT  INFO between\n");
        assert_eq!(held(), b"");
        assert_eq!(held_due(), None);
    }

    #[test]
    fn what_is_held_between_turns_is_written_when_the_guard_goes() {
        capture();
        let guard = HeldLines::written_when_dropped();
        let turn = Turn::begin();
        TurnWriter::plain().write_all(b"kept\n").unwrap();
        assert!(turn.end_at(Instant::now()).is_some());
        drop(guard);
        assert_eq!(written(), b"kept\n");
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
        std::thread::spawn(|| {
            capture();
            TurnWriter::plain().write_all(b"elsewhere\n").unwrap();
            assert_eq!(written(), b"elsewhere\n", "written at once");
        })
        .join()
        .unwrap();
    }
}
