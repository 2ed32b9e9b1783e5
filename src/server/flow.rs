//! The pace and order in which a connection's lines reach the rules: flood control, and lines that
//! arrive while the connection waits for a password check.
//!
//! Every line of a connection passes through its [`Flow`]. A line is handled at once when nothing is held
//! and the connection is within its rate (a burst, then `flood_rate` a second: the IRC servers' flood
//! control). Otherwise it is held, in order, and the shell is told to stop reading the connection
//! ([`Effect::PauseReading`]), so a flooding client is slowed by its own TCP window rather than by the
//! server's memory or time; held lines are handled as the rate allows (a `TimerId::Flow` timer) and
//! reading resumes once none are left. The first time in an episode, the client is told why
//! (`ERROR slow-down`). Nothing is dropped: a line is handled late, never lost. A client that keeps going
//! until more than [`HELD_SECS`] of its rate (or [`HELD_MAX_BYTES`]) is held is disconnected
//! (`BYE flood`): that is persistent abuse, not a burst.
//!
//! Lines that come while the connection's password is being checked (which happens off the core's
//! thread) are held the same way, so a client that sends its username, password and first command in
//! one write still has them handled in that order.

use std::collections::VecDeque;

use super::event::{ConnId, Effect, TimerId};
use super::rate::{Gcra, Rate};
use super::secret_shape::SecretShape;
use super::state::{ServerState, send};
use crate::protocol::{ByeReason, ErrorReply};
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

/// An input as it arrives (borrowed from the event).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Input<'a> {
    Line(&'a [u8]),
    TooLong,
    /// A password line, of which only the shape is known here.
    Secret(SecretShape),
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

    /// Whether lines are held (flood control, or a password job running).
    pub(crate) fn holds_lines(&self) -> bool {
        !self.held.is_empty()
    }

    fn pop(&mut self) -> Option<Held> {
        let h = self.held.pop_front()?;
        if let Held::Line(line) = &h {
            self.held_bytes -= line.len();
        }
        Some(h)
    }
}

impl ServerState {
    /// The connection's flood limit, if there is one.
    pub(crate) fn flood_rate(&self) -> Option<Rate> {
        Rate::per_sec(self.config.flood_rate, self.config.flood_burst)
    }

    fn held_max_lines(&self) -> usize {
        match self.flood_rate() {
            Some(_) => (self.config.flood_rate as usize * HELD_SECS as usize)
                .max(self.config.flood_burst as usize),
            None => HELD_MAX_LINES_UNLIMITED,
        }
    }

    /// One line (or an overlong one) from the client: handled now, or held (see the module docs).
    pub(crate) fn on_input(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let rate = self.flood_rate();
        let per_sec = self.config.flood_rate;
        let max_lines = self.held_max_lines();
        let Some(c) = self.sessions.conn_mut(conn) else {
            return;
        };
        let waiting = c.phase.is_waiting();
        let flow = &mut c.flow;
        if flow.held.is_empty() && !waiting {
            match rate.map(|r| flow.rate.take(r, now)) {
                None | Some(Ok(())) => return self.handle_input(conn, input, now, out),
                Some(Err(ready)) => {
                    self.timers.set(TimerId::Flow(conn), ready);
                    if !flow.warned {
                        flow.warned = true;
                        send(out, conn, ErrorReply::SlowDown { per_sec });
                    }
                }
            }
        }
        flow.hold(input);
        if flow.held.len() > max_lines || flow.held_bytes > HELD_MAX_BYTES {
            tracing::debug!("{conn} kept flooding: {} lines held", flow.held.len());
            self.close_with(conn, ByeReason::Flood, now, out);
            return;
        }
        if !flow.paused {
            flow.paused = true;
            out.push(Effect::PauseReading { conn });
        }
    }

    /// Handles the connection's held lines as far as its rate allows and nothing makes it wait; once none
    /// are left, reading resumes. Called when the flow timer fires and when a password check is answered.
    pub(crate) fn release_held(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let rate = self.flood_rate();
        loop {
            let Some(c) = self.sessions.conn_mut(conn) else {
                return;
            };
            if c.phase.is_waiting() {
                // The answer to the password check calls again.
                return;
            }
            let flow = &mut c.flow;
            if flow.held.is_empty() {
                if flow.paused {
                    flow.paused = false;
                    flow.warned = false;
                    out.push(Effect::ResumeReading { conn });
                }
                return;
            }
            if let Some(Err(ready)) = rate.map(|r| flow.rate.take(r, now)) {
                self.timers.set(TimerId::Flow(conn), ready);
                return;
            }
            match flow.pop() {
                Some(Held::Line(line)) => {
                    self.handle_input(conn, Input::Line(&line), now, out);
                }
                Some(Held::TooLong) => self.handle_input(conn, Input::TooLong, now, out),
                Some(Held::Secret(shape)) => {
                    self.handle_input(conn, Input::Secret(shape), now, out)
                }
                None => {}
            }
        }
    }
}
