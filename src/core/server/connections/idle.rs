//! Deadlines of a connection: finishing login in time, and the idle timeout, with a warning shortly
//! before it.
//!
//! One deadline per connection (`TimerId::Conn`), re-checked whenever it comes: activity only moves
//! `last_active`, never the deadline, so a deadline that comes early finds the real one later and is
//! set again for it. Before the idle logout the user is warned once, `idle_warning_secs` ahead (at most
//! half the timeout), so a person who walked away from a half-finished conversation gets a chance to
//! stay; any command puts the deadline back and the warning is given again the next time.
//!
//! The rule is a plain function of the connection and the time ([`when_due`]); the state carries out
//! what it says.

use crate::protocol::ByeReason;
use crate::server::config::Config;
use crate::server::connections::sessions::{Conn, Phase};
use crate::time::Timestamp;

/// What a connection's deadline finds when it comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Not yet: the deadline is really then.
    Later(Timestamp),
    /// The idle warning, with the seconds left; the next deadline is the logout, then.
    Warn {
        secs_left: u64,
        logout_at: Timestamp,
    },
    /// Time is up: goodbye, and close.
    Close(ByeReason),
}

/// How long before the idle logout the warning comes: the configured lead, at most half the timeout;
/// 0 means no warning.
fn warning_secs(config: &Config) -> u64 {
    config.idle_warning_secs.min(config.timeout_secs / 2)
}

/// When a session last active at `last_active` must next be looked at: the warning, unless it was
/// given for this `last_active` already (or there is none), else the logout.
pub(crate) fn next_at(config: &Config, last_active: Timestamp, warned: bool) -> Timestamp {
    let deadline = last_active.plus_secs(config.timeout_secs);
    let warn = warning_secs(config);
    if warned || warn == 0 {
        deadline
    } else {
        deadline.minus_millis(warn.saturating_mul(1000))
    }
}

/// The connection's deadline has come at `now`. It may have moved since it was set (activity pushes it
/// back): if the real one has not passed, it is set again for it (or the warning before it) instead.
pub(crate) fn when_due(config: &Config, conn: &Conn, now: Timestamp) -> Due {
    let Phase::Online(s) = conn.phase() else {
        let deadline = conn.opened_at().plus_secs(config.login_timeout_secs);
        if now < deadline {
            return Due::Later(deadline);
        }
        let secs = config.login_timeout_secs;
        return Due::Close(ByeReason::LoginTimeout { secs });
    };
    let (last_active, warned) = (s.last_active(), s.idle_warned());
    let deadline = last_active.plus_secs(config.timeout_secs);
    if now >= deadline {
        let secs = config.timeout_secs;
        return Due::Close(ByeReason::Timeout { secs });
    }
    let at = next_at(config, last_active, warned);
    if now >= at {
        // The warning is due (it is never due once given for this `last_active`).
        return Due::Warn {
            secs_left: now.secs_until_ceil(deadline),
            logout_at: deadline,
        };
    }
    Due::Later(at)
}
