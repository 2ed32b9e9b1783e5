//! Deadlines of a connection: finishing login in time, and the idle timeout, with a warning shortly
//! before it.
//!
//! One timer per connection (`TimerId::Conn`), re-checked whenever it fires: activity only moves
//! `last_active`, never the timer, so a timer that fires early finds the real deadline later and is
//! set again for it. Before the idle logout the user is warned once, `idle_warning_secs` ahead (at most
//! half the timeout), so a person who walked away from a half-finished conversation gets a chance to
//! stay; any command puts the deadline back and the warning is given again the next time.

use super::event::{ConnId, Effect, TimerId};
use super::sessions::Phase;
use super::state::{ServerState, send};
use crate::protocol::{ByeReason, ServerMsg};
use crate::time::Timestamp;

impl ServerState {
    /// How long before the idle logout the warning comes: the configured lead, at most half the
    /// timeout; 0 means no warning.
    pub(crate) fn idle_warning_secs(&self) -> u64 {
        self.config
            .idle_warning_secs
            .min(self.config.timeout_secs / 2)
    }

    /// When a session last active at `last_active` must next be looked at: the warning, unless it was
    /// given for this `last_active` already (or there is none), else the logout.
    pub(crate) fn idle_timer_at(&self, last_active: Timestamp, warned: bool) -> Timestamp {
        let deadline = last_active.plus_secs(self.config.timeout_secs);
        let warn = self.idle_warning_secs();
        if warned || warn == 0 {
            deadline
        } else {
            deadline.minus_millis(warn.saturating_mul(1000))
        }
    }

    /// The connection's deadline may have moved since this timer was set (activity pushes it back); if
    /// it has not passed yet, re-arm for the real deadline (or the warning before it) instead of acting.
    pub(crate) fn on_conn_deadline(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(c) = self.sessions.conn(conn) else {
            return;
        };
        let (last_active, warned) = match &c.phase {
            Phase::Online(s) => (s.last_active, s.warned == Some(s.last_active)),
            _ => {
                let deadline = c.opened_at.plus_secs(self.config.login_timeout_secs);
                if now < deadline {
                    self.timers.set(TimerId::Conn(conn), deadline);
                } else {
                    let secs = self.config.login_timeout_secs;
                    self.close_with(conn, ByeReason::LoginTimeout { secs }, now, out);
                }
                return;
            }
        };
        let deadline = last_active.plus_secs(self.config.timeout_secs);
        if now >= deadline {
            let secs = self.config.timeout_secs;
            self.close_with(conn, ByeReason::Timeout { secs }, now, out);
            return;
        }
        let at = self.idle_timer_at(last_active, warned);
        if now >= at {
            // The warning is due (it is never due once given for this `last_active`).
            if let Some(s) = self.sessions.session_mut(conn) {
                s.warned = Some(last_active);
            }
            let secs_left = now.secs_until_ceil(deadline);
            send(out, conn, ServerMsg::IdleWarning { secs_left });
            self.timers.set(TimerId::Conn(conn), deadline);
            return;
        }
        self.timers.set(TimerId::Conn(conn), at);
    }
}
