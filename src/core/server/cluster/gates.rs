//! Passwords that the core decides on without ever holding their text: what lets a cluster keep
//! passwords out of its shared log.
//!
//! A node of a cluster appends what its users type to a log that every node reads and Redis keeps on
//! disk; a password must not be in it. So the core can be given a password line as
//! [`Event::SecretLine`]: only its *shape* ([`SecretShape`]: is it text, is it
//! a well-formed password), which is all the rules need, while the node that holds the connection
//! keeps the text. When the core wants that password checked (at login) or hashed (a new account), it
//! asks for the job without the text (`password: None`); only that node can do it, and the verdict or
//! the hash goes into the log like any other job's. Every decision is the one the core makes for the
//! same line in the clear; the simulator checks that by running whole seeds this way against the same
//! reference model.
//!
//! Which line is a password is the core's to say (`login::next_line`), and it can only say it for a
//! line it is about to read: the phase a line is handled in depends on the lines before it (a wrong
//! username asks for the username again). So before login a node lets one line of a connection into
//! the log at a time and asks [`ServerState::next_line`](crate::server::ServerState::next_line) for
//! each; [`LineGate`] is that discipline, as a plain value the harness uses too. Once the user is
//! logged in, lines flow freely, but for `passwd`, whose next two lines are passwords again: the lines
//! after it go one at a time until the core has taken them ([`is_passwd_line`]).

use std::collections::{BTreeMap, VecDeque};

use crate::password::Cleartext;
use crate::protocol::CommandName;
use crate::server::event::{ConnId, Effect, Event};
use crate::server::login::next_line::NextLine;
use crate::server::secret_shape::SecretShape;

/// Whether a logged-in user's line is `passwd` or `oper` (by its word in the command table), whose
/// next lines are passwords: a node lets the lines after it through one at a time, as before login, instead of
/// freely.
///
/// Every line a logged-in user types on a node is asked this, so the common case is answered from
/// the first word's bytes: no check of the whole line, no walk of the command table. It answers
/// exactly what [`is_passwd_line_slowly`] does (the tests compare them), which it falls back to when
/// the first word, or what comes before it, is not plain ASCII.
pub fn is_passwd_line(line: &[u8]) -> bool {
    // ASCII's whitespace as `char::is_whitespace` has it (which `split_whitespace` splits at).
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = line.iter().position(|b| !space(b)).unwrap_or(line.len());
    let rest = &line[start..];
    // Most lines are over at their first letter: an ASCII one that neither command begins with
    // (the table's words are matched ignoring ASCII case only, so no other letter can begin them).
    match rest.first() {
        None => return false,
        Some(b) if b.is_ascii() && !matches!(b.to_ascii_lowercase(), b'p' | b'o') => return false,
        Some(_) => {}
    }
    let word = &rest[..rest.iter().position(space).unwrap_or(rest.len())];
    if !word.is_ascii() {
        return is_passwd_line_slowly(line);
    }
    let is = |name: CommandName| word.eq_ignore_ascii_case(name.word().as_bytes());
    // The line counts only if it is text, as the slow way has it.
    (is(CommandName::Passwd) || is(CommandName::Oper)) && is_passwd_line_slowly(line)
}

/// [`is_passwd_line`] by its definition: the line as text, its first word, and that word's command.
fn is_passwd_line_slowly(line: &[u8]) -> bool {
    std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.split_whitespace().next())
        .and_then(CommandName::from_word)
        .is_some_and(|c| matches!(c, CommandName::Passwd | CommandName::Oper))
}

/// One input of a connection waiting at the gate.
#[derive(Debug)]
enum Waiting {
    Line(Box<[u8]>),
    TooLong,
}

/// What the gate lets through, in order.
#[derive(Debug)]
pub enum Through {
    /// A complete line, as read.
    Line(Box<[u8]>),
    /// A line that went past the limit (its bytes are dropped).
    TooLong,
    /// A password: its shape goes to the log, its text stays with the connection's node.
    Secret {
        /// What the core may know of the password, for the log.
        shape: SecretShape,
        /// The password's text, for the password job on this node.
        text: Cleartext,
    },
}

/// A connection's lines before login, let through one at a time as
/// [`ServerState::next_line`](crate::server::ServerState::next_line) says
/// (see the [module documentation](self)). Once the connection is logged in, everything
/// passes.
#[derive(Debug, Default)]
pub struct LineGate {
    waiting: VecDeque<Waiting>,
    bytes: usize,
    /// A line was let through and has not been handled yet.
    in_flight: bool,
}

impl LineGate {
    /// Queues a complete line read from the connection.
    pub fn push_line(&mut self, line: &[u8]) {
        self.bytes += line.len();
        self.waiting.push_back(Waiting::Line(line.into()));
    }

    /// Queues the news that a line went past the limit.
    pub fn push_too_long(&mut self) {
        self.waiting.push_back(Waiting::TooLong);
    }

    /// Bytes waiting (a reader stops reading past a bound).
    pub fn waiting_bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Whether nothing waits and nothing let through is still to be handled.
    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && !self.in_flight
    }

    /// The line let through was handled by the core.
    pub fn handled(&mut self) {
        self.in_flight = false;
    }

    /// Lets through what may go now, given `next` (what the core says of the connection now).
    pub fn release(&mut self, next: NextLine, out: &mut Vec<Through>) {
        match next {
            NextLine::Wait => {}
            NextLine::Free => {
                self.in_flight = false;
                while let Some(w) = self.pop() {
                    // The lines after `passwd` are passwords: they wait until the core has it.
                    let stop = matches!(&w, Waiting::Line(line) if is_passwd_line(line));
                    out.push(match w {
                        Waiting::Line(line) => Through::Line(line),
                        Waiting::TooLong => Through::TooLong,
                    });
                    if stop {
                        self.in_flight = true;
                        return;
                    }
                }
            }
            NextLine::One { secret } => {
                if self.in_flight {
                    return;
                }
                let Some(w) = self.pop() else {
                    return;
                };
                self.in_flight = true;
                out.push(match w {
                    Waiting::TooLong => Through::TooLong,
                    Waiting::Line(line) if secret => {
                        let (shape, text) = SecretShape::of(&line);
                        Through::Secret { shape, text }
                    }
                    Waiting::Line(line) => Through::Line(line),
                });
            }
        }
    }

    fn pop(&mut self) -> Option<Waiting> {
        let w = self.waiting.pop_front()?;
        if let Waiting::Line(line) = &w {
            self.bytes -= line.len();
        }
        Some(w)
    }
}

/// What a gate let through, as the core is to be given it (a password's text stays in [`Gates`]).
#[derive(Debug)]
pub enum Passed {
    /// A line, for [`Event::Line`].
    Line(Box<[u8]>),
    /// A line past the limit, for [`Event::LineTooLong`].
    TooLong,
    /// A password's shape, for [`Event::SecretLine`]; its text stayed in the gate.
    Secret(SecretShape),
}

impl Passed {
    /// The event that hands it to the core, for `conn`.
    pub fn event(&self, conn: ConnId) -> Event<'_> {
        match self {
            Passed::Line(line) => Event::Line { conn, line },
            Passed::TooLong => Event::LineTooLong { conn },
            Passed::Secret(shape) => Event::SecretLine {
                conn,
                shape: *shape,
            },
        }
    }
}

/// The gates of every connection still logging in, and the text of each one's latest password line:
/// everything a driver that keeps passwords out of the core's input holds (a cluster node, and the
/// harness that plays one). The text is handed back only to fill in the password job the core asks
/// for that connection ([`Gates::fill_in`]).
#[derive(Debug, Default)]
pub struct Gates {
    gates: BTreeMap<ConnId, LineGate>,
    secrets: BTreeMap<ConnId, Cleartext>,
}

impl Gates {
    /// Whether no connection has lines waiting.
    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// Whether `conn` has a gate (lines waiting, or one let through and not yet handled).
    pub fn holds(&self, conn: ConnId) -> bool {
        self.gates.contains_key(&conn)
    }

    /// The connections with a gate, in order.
    pub fn conns(&self) -> Vec<ConnId> {
        self.gates.keys().copied().collect()
    }

    /// `conn`'s gate, made if it has none.
    pub fn gate(&mut self, conn: ConnId) -> &mut LineGate {
        self.gates.entry(conn).or_default()
    }

    /// Bytes waiting at `conn`'s gate.
    pub fn waiting_bytes(&self, conn: ConnId) -> usize {
        self.gates.get(&conn).map_or(0, LineGate::waiting_bytes)
    }

    /// The line `conn` let through was handled by the core.
    pub fn handled(&mut self, conn: ConnId) {
        if let Some(gate) = self.gates.get_mut(&conn) {
            gate.handled();
        }
    }

    /// Lets through `conn`'s gate what `next` allows, keeping a password's text; the gate goes once
    /// the connection is logged in and nothing waits. `weak` says whether the password policy
    /// refuses a password's text as the new password it is awaited as
    /// ([`ServerState::weak_password`](crate::server::ServerState::weak_password)): the log is told
    /// only that ([`SecretShape::Weak`]).
    pub fn release(
        &mut self,
        conn: ConnId,
        next: NextLine,
        weak: &dyn Fn(&str) -> bool,
        out: &mut Vec<Passed>,
    ) {
        let Some(gate) = self.gates.get_mut(&conn) else {
            return;
        };
        let mut through = Vec::new();
        gate.release(next, &mut through);
        if next == NextLine::Free && gate.is_idle() {
            self.gates.remove(&conn);
        }
        for t in through {
            out.push(match t {
                Through::Line(line) => Passed::Line(line),
                Through::TooLong => Passed::TooLong,
                Through::Secret { shape, text } => {
                    let shape = if shape == SecretShape::Fit && weak(&text.0) {
                        SecretShape::Weak
                    } else {
                        shape
                    };
                    self.secrets.insert(conn, text);
                    Passed::Secret(shape)
                }
            });
        }
    }

    /// Drops the gates with nothing waiting and nothing in flight (a new one starts afresh).
    pub fn prune(&mut self) {
        self.gates.retain(|_, g| !g.is_idle());
    }

    /// `conn` is gone: what it left waiting, and its password, are dropped.
    pub fn forget(&mut self, conn: ConnId) {
        self.gates.remove(&conn);
        self.secrets.remove(&conn);
    }

    /// Every connection is gone.
    pub fn clear(&mut self) {
        self.gates.clear();
        self.secrets.clear();
    }

    /// A password job the core asked for without the text (`password: None`), with the text kept for
    /// its connection filled in (used once); any other effect as it is.
    pub fn fill_in(&mut self, job: Effect) -> Effect {
        match job {
            Effect::CheckPassword {
                conn,
                job,
                hash,
                password: None,
            } => Effect::CheckPassword {
                conn,
                job,
                hash,
                password: self.secrets.remove(&conn),
            },
            Effect::HashPassword {
                conn,
                job,
                password: None,
            } => Effect::HashPassword {
                conn,
                job,
                password: self.secrets.remove(&conn),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_passwd_check_answers_exactly_as_the_slow_one() {
        let pieces: [&[u8]; 16] = [
            b"passwd",
            b"PassWD",
            b"oper",
            b"opera",
            b"message",
            b" ",
            b"\t",
            b"\x0b",
            b"\r\n",
            "\u{a0}".as_bytes(),
            "\u{3000}".as_bytes(),
            "\u{85}".as_bytes(),
            "\u{e9}".as_bytes(),
            b"\xff",
            b"x",
            b"",
        ];
        let mut checked = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let line = [a, b, c].concat();
                    assert_eq!(
                        is_passwd_line(&line),
                        is_passwd_line_slowly(&line),
                        "{:?}",
                        String::from_utf8_lossy(&line)
                    );
                    checked += usize::from(is_passwd_line(&line));
                }
            }
        }
        assert!(checked > 0, "some lines are passwd lines");
        assert!(is_passwd_line(b"  passwd"));
        assert!(is_passwd_line("\u{3000}oper alice".as_bytes()));
        assert!(!is_passwd_line(b"passwd \xff"));
        assert!(!is_passwd_line(b"message bob passwd"));
    }

    #[test]
    fn before_login_one_line_at_a_time_then_everything() {
        let mut gate = LineGate::default();
        for l in ["alice", "wonderland", "whoelse", "message bob hi"] {
            gate.push_line(l.as_bytes());
        }
        let mut out = Vec::new();
        gate.release(NextLine::Wait, &mut out);
        assert!(out.is_empty());
        gate.release(NextLine::One { secret: false }, &mut out);
        gate.release(NextLine::One { secret: false }, &mut out);
        assert_eq!(out.len(), 1, "one line until it is handled: {out:?}");
        assert!(matches!(&out[0], Through::Line(l) if &**l == b"alice"));
        gate.handled();
        out.clear();
        gate.release(NextLine::One { secret: true }, &mut out);
        assert!(
            matches!(&out[..], [Through::Secret { shape: SecretShape::Fit, text }] if text.0 == "wonderland"),
            "{out:?}"
        );
        gate.handled();
        out.clear();
        gate.release(NextLine::Free, &mut out);
        assert_eq!(out.len(), 2);
        assert!(gate.is_empty());
        assert_eq!(gate.waiting_bytes(), 0);
    }
}
