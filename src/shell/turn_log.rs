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
pub struct TurnWriter;

impl Write for TurnWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let held = HELD.with(|held| match held.borrow_mut().as_mut() {
            Some(lines) => {
                lines.extend_from_slice(buf);
                true
            }
            None => false,
        });
        if held {
            Ok(buf.len())
        } else {
            io::stderr().write(buf)
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let held = HELD.with(|held| match held.borrow_mut().as_mut() {
            Some(lines) => {
                lines.extend_from_slice(buf);
                true
            }
            None => false,
        });
        if held {
            Ok(())
        } else {
            io::stderr().write_all(buf)
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
        TurnWriter.write_all(b"one\n").unwrap();
        TurnWriter.write_all(b"two\n").unwrap();
        assert_eq!(held().as_deref(), Some(&b"one\ntwo\n"[..]));
        drop(turn);
        assert_eq!(held(), None, "written and no longer held");
        // The buffer is kept for the next turn, empty.
        let turn = Turn::begin();
        assert_eq!(held().as_deref(), Some(&b""[..]));
        drop(turn);
    }

    #[test]
    fn other_threads_write_at_once() {
        let _turn = Turn::begin();
        std::thread::spawn(|| assert_eq!(held(), None))
            .join()
            .unwrap();
    }
}
