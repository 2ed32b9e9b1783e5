//! The pace and order in which a connection's lines reach the rules: flood control, and lines that
//! arrive while the connection waits for a password check.
//!
//! Every line of a connection passes through its [`Flow`], a plain value that decides and leaves the
//! acting to its caller. A line is handled at once ([`Offer::Admit`]) when nothing is held and the
//! connection is within its rate (a burst, then `flood_rate` a second: the IRC servers' flood control).
//! Otherwise it is held, in order ([`Offer::Hold`]), and the shell is told to stop reading the connection
//! ([`Effect::PauseReading`]), so a flooding client is slowed by its own TCP window rather than by the
//! server's memory or time; held lines come out as the rate allows ([`Flow::release`], when the
//! connection's flow deadline comes) and reading resumes once none are left. The first time in an
//! episode, the client is told why (`ERROR slow-down`). Nothing is dropped: a line is handled late,
//! never lost. A client that keeps going until more than [`HELD_SECS`] of its rate (or
//! [`HELD_MAX_BYTES`]) is held is flooding ([`Offer::Flood`]): that is persistent abuse, not a burst,
//! and its caller disconnects it (`BYE flood`).
//!
//! Lines that come while the connection's password is being checked (which happens off the core's
//! thread) are held the same way, so a client that sends its username, password and first command in
//! one write still has them handled in that order.

use std::collections::VecDeque;

use super::config::Config;
use super::event::{ConnId, Effect, send};
use super::rate::{Gcra, Rate};
use super::secret_shape::SecretShape;
use crate::protocol::ErrorReply;
use crate::time::Timestamp;

/// The most seconds of its rate a connection may have held before it is disconnected.
pub const HELD_SECS: u32 = 30;
/// The most lines held when there is no rate (a connection waiting for a password check).
const HELD_MAX_LINES_UNLIMITED: usize = 1000;
/// The most bytes of lines held for one connection. Reading stops as soon as the shell hears of the
/// pause, but a few reads (of up to 64 KiB each) may already have happened by then.
pub const HELD_MAX_BYTES: usize = 1024 * 1024;

/// One input of a connection, as the flow holds it.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) enum Held {
    Line(Box<[u8]>),
    TooLong,
    Secret(SecretShape),
}

impl Held {
    /// The input as it is handled.
    pub(crate) fn as_input(&self) -> Input<'_> {
        match self {
            Held::Line(line) => Input::Line(line),
            Held::TooLong => Input::TooLong,
            Held::Secret(shape) => Input::Secret(*shape),
        }
    }
}

/// An input as it arrives (borrowed from the event).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Input<'a> {
    Line(&'a [u8]),
    TooLong,
    /// A password line, of which only the shape is known here.
    Secret(SecretShape),
}

/// The settings' numbers, as the flow uses them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowLimits {
    /// `None`: no flood control.
    rate: Option<Rate>,
    per_sec: u32,
    /// Lines held past which the connection is flooding.
    max_lines: usize,
}

impl FlowLimits {
    pub(crate) fn of(config: &Config) -> Self {
        let rate = Rate::per_sec(config.flood_rate, config.flood_burst);
        let max_lines = match rate {
            Some(_) => {
                (config.flood_rate as usize * HELD_SECS as usize).max(config.flood_burst as usize)
            }
            None => HELD_MAX_LINES_UNLIMITED,
        };
        FlowLimits {
            rate,
            per_sec: config.flood_rate,
            max_lines,
        }
    }
}

/// What to do with an input offered to the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Handle it now.
    Admit,
    /// It is held. With a time, the flow has just started holding for its rate: look again then
    /// ([`Flow::release`]); without, a deadline or a password job's answer is already due to.
    Hold(Option<Timestamp>),
    /// Too much is held: the client is flooding, and is to be disconnected.
    Flood,
}

/// What comes out of the flow when the caller looks again.
#[derive(Debug)]
pub(crate) enum Release {
    /// This held input, to be handled now; then look again.
    Now(Held),
    /// Nothing before then (the rate): look again at that time.
    At(Timestamp),
    /// Nothing: none is held, or a password job runs (its answer looks again).
    Nothing,
}

/// A connection's flow state.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Flow {
    rate: Gcra,
    held: VecDeque<Held>,
    held_bytes: usize,
    /// The shell was told to stop reading the connection.
    paused: bool,
    /// The client was told to slow down in this episode.
    warned: bool,
}

impl Flow {
    /// One input of `conn`, which is `waiting` for a password job or not: handled now, or held (see the
    /// module documentation). Tells the client and the shell what they must know (`ERROR slow-down`,
    /// pause reading) in `out`.
    pub(crate) fn offer(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
        waiting: bool,
        limits: FlowLimits,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Offer {
        let mut look_again = None;
        if self.held.is_empty() && !waiting {
            match limits.rate.map(|r| self.rate.take(r, now)) {
                None | Some(Ok(())) => return Offer::Admit,
                Some(Err(ready)) => {
                    look_again = Some(ready);
                    if !self.warned {
                        self.warned = true;
                        let per_sec = limits.per_sec;
                        send(out, conn, ErrorReply::SlowDown { per_sec });
                    }
                }
            }
        }
        self.hold(input);
        if self.held.len() > limits.max_lines || self.held_bytes > HELD_MAX_BYTES {
            tracing::debug!("{conn} kept flooding: {} lines held", self.held.len());
            return Offer::Flood;
        }
        if !self.paused {
            self.paused = true;
            out.push(Effect::PauseReading { conn });
        }
        Offer::Hold(look_again)
    }

    /// The next held input of `conn` that may be handled now, if its rate allows and it is not
    /// `waiting` for a password job; once none are left, reading resumes.
    pub(crate) fn release(
        &mut self,
        conn: ConnId,
        waiting: bool,
        limits: FlowLimits,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Release {
        if waiting {
            return Release::Nothing;
        }
        if self.held.is_empty() {
            if self.paused {
                self.paused = false;
                self.warned = false;
                out.push(Effect::ResumeReading { conn });
            }
            return Release::Nothing;
        }
        if let Some(Err(ready)) = limits.rate.map(|r| self.rate.take(r, now)) {
            return Release::At(ready);
        }
        match self.pop() {
            Some(held) => Release::Now(held),
            None => Release::Nothing,
        }
    }

    /// Whether lines are held (flood control, or a password job running).
    pub(crate) fn holds_lines(&self) -> bool {
        !self.held.is_empty()
    }

    fn hold(&mut self, input: Input<'_>) {
        match input {
            Input::Line(line) => {
                self.held_bytes += line.len();
                self.held.push_back(Held::Line(line.into()));
            }
            Input::TooLong => self.held.push_back(Held::TooLong),
            Input::Secret(shape) => self.held.push_back(Held::Secret(shape)),
        }
    }

    fn pop(&mut self) -> Option<Held> {
        let h = self.held.pop_front()?;
        if let Held::Line(line) = &h {
            self.held_bytes -= line.len();
        }
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> FlowLimits {
        FlowLimits::of(&Config {
            flood_rate: 2,
            flood_burst: 2,
            ..Config::default()
        })
    }

    #[test]
    fn a_burst_passes_then_lines_wait_their_turn_in_order() {
        let (mut f, mut out, c) = (Flow::default(), Vec::new(), ConnId(1));
        let t = Timestamp(10_000);
        for _ in 0..2 {
            assert_eq!(
                f.offer(c, Input::Line(b"x"), false, limits(), t, &mut out),
                Offer::Admit
            );
        }
        let held = f.offer(c, Input::Line(b"a"), false, limits(), t, &mut out);
        assert_eq!(held, Offer::Hold(Some(Timestamp(10_500))));
        assert_eq!(
            f.offer(c, Input::Line(b"b"), false, limits(), t, &mut out),
            Offer::Hold(None),
            "one look-again time per episode"
        );
        assert!(
            matches!(&out[..], [Effect::Send { .. }, Effect::PauseReading { .. }]),
            "{out:?}"
        );
        out.clear();
        assert!(matches!(
            f.release(c, false, limits(), t, &mut out),
            Release::At(_)
        ));
        let at = Timestamp(10_500);
        assert!(
            matches!(f.release(c, false, limits(), at, &mut out), Release::Now(Held::Line(l)) if &*l == b"a")
        );
        assert!(matches!(
            f.release(c, false, limits(), at, &mut out),
            Release::At(_)
        ));
        let later = Timestamp(11_000);
        assert!(
            matches!(f.release(c, false, limits(), later, &mut out), Release::Now(Held::Line(l)) if &*l == b"b")
        );
        assert!(out.is_empty());
        assert!(matches!(
            f.release(c, false, limits(), later, &mut out),
            Release::Nothing
        ));
        assert_eq!(out, vec![Effect::ResumeReading { conn: c }]);
    }

    #[test]
    fn a_password_job_holds_everything_until_its_answer() {
        let (mut f, mut out, c) = (Flow::default(), Vec::new(), ConnId(1));
        let t = Timestamp(0);
        let held = f.offer(c, Input::Line(b"whoelse"), true, limits(), t, &mut out);
        assert_eq!(held, Offer::Hold(None));
        assert!(matches!(
            f.release(c, true, limits(), t, &mut out),
            Release::Nothing
        ));
        assert!(matches!(
            f.release(c, false, limits(), t, &mut out),
            Release::Now(_)
        ));
    }

    #[test]
    fn holding_past_the_bound_is_a_flood() {
        let (mut f, mut out, c) = (Flow::default(), Vec::new(), ConnId(1));
        let limits = limits();
        let mut offers = 0;
        while f.offer(c, Input::Line(b"x"), false, limits, Timestamp(0), &mut out) != Offer::Flood {
            offers += 1;
        }
        assert_eq!(offers, 2 + limits.max_lines);
    }
}
