//! What the metrics count of the server's output, summed per batch: which lines are deliveries and
//! which are refusals is the server's to say, so the shell's metrics only add numbers up.

use crate::protocol::{ByeReason, ErrorReply, ServerMsg};
use crate::server::record::Record;

/// Counts over one batch of output (all zero: nothing to report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages delivered, one per recipient.
    pub delivered: u64,
    /// Messages stored.
    pub stored: u64,
    /// Logins that worked.
    pub logins_ok: u64,
    /// Logins that locked an account.
    pub logins_locked: u64,
    /// Logins that failed.
    pub logins_failed: u64,
    /// Refusals for flooding (`SLOWDOWN`, `BYE flood`).
    pub refused_flood: u64,
    /// Refusals by a throttle (logins, registrations, connections).
    pub refused_throttle: u64,
}

impl Counts {
    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }

    /// A line `msg` sent to `recipients` connections.
    pub(super) fn sent(&mut self, msg: &ServerMsg, recipients: usize) {
        match msg {
            ServerMsg::Message { .. }
            | ServerMsg::GroupMessage { .. }
            | ServerMsg::OfflineMessage { .. } => self.delivered += recipients as u64,
            ServerMsg::Error(ErrorReply::SlowDown { .. })
            | ServerMsg::Bye(ByeReason::Flood { .. }) => self.refused_flood += 1,
            ServerMsg::Error(
                ErrorReply::LoginThrottled { .. }
                | ErrorReply::TooManyLogins { .. }
                | ErrorReply::RegisterThrottled { .. }
                | ErrorReply::FloodCooldown { .. },
            )
            | ServerMsg::Bye(
                ByeReason::ConnectThrottled { .. } | ByeReason::TooManyConnections { .. },
            ) => self.refused_throttle += 1,
            _ => {}
        }
    }

    /// A record the core made (or a cluster node's, of its own connections).
    pub(super) fn record(&mut self, record: &Record) {
        match record {
            Record::LoggedIn { .. } => self.logins_ok += 1,
            Record::LockedOut { .. } => self.logins_locked += 1,
            Record::MessageStored { .. } => self.stored += 1,
            _ => {}
        }
    }
}
