//! Reading standard input outside the line editor: plain lines, a password with echo off, and the
//! terminal's settings to put back at exit.

use std::io::{BufRead, Write};

/// The terminal's settings at start, restored at exit whatever state a reader left it in (raw mode,
/// echo off).
pub(super) struct SavedTerminal(Option<nix::sys::termios::Termios>);

impl SavedTerminal {
    pub(super) fn save() -> Self {
        SavedTerminal(nix::sys::termios::tcgetattr(std::io::stdin()).ok())
    }

    pub(super) fn restore(&self) {
        if let Some(t) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

/// Reads one line from stdin with echo off (when stdin is a terminal), showing `prompt` on `out`.
pub fn read_secret(prompt: &str, out: &mut dyn Write) -> Option<Vec<u8>> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let line = read_line(&mut stdin.lock());
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
        // The Enter that ended the password was not echoed either.
        let _ = writeln!(out);
    }
    line
}

/// One line without its ending, or `None` at the end of input.
pub(super) fn read_line(input: &mut dyn BufRead) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    match input.read_until(b'\n', &mut buf) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            Some(buf)
        }
    }
}
