//! The driver's side of the operator's log of refusals: what it hands the pure [`OperatorLog`]
//! (`server::oplog`, which decides what is written and when) and the lines it writes.

use std::net::{IpAddr, SocketAddr};

use super::driver::Driver;
use crate::protocol::{ByeReason, Name, ServerMsg};
use crate::server::Record;
use crate::server::oplog::{Level, LogLine, Refusal};
use crate::time::Timestamp;

/// A `BYE flood` seen in the output being handed over, whose account the logout record that follows
/// it names: its address, and when its cooldown ends.
pub(super) type Flooded = Option<(IpAddr, Option<Timestamp>)>;

/// Writes the operator log's lines at their level.
fn log_lines(lines: &mut Vec<LogLine>) {
    for line in lines.drain(..) {
        match line.level {
            Level::Warn => tracing::warn!("{}", line.text),
            Level::Info => tracing::info!("{}", line.text),
        }
    }
}

/// The refusal `msg` is, sent to a client at `peer`, if it is one.
pub(super) fn noted_refusal(peer: SocketAddr, msg: &ServerMsg) -> Option<(IpAddr, Refusal)> {
    Refusal::of(msg).map(|what| (peer.ip(), what))
}

impl<E> Driver<E> {
    /// Tells the operator log of a refusal; a line it says to write now is written.
    pub(super) fn note_refusal(
        &mut self,
        ip: IpAddr,
        what: Refusal,
        user: Option<&Name>,
        until: Option<Timestamp>,
        now: Timestamp,
    ) {
        if let Some(line) = self.oplog.note(ip, what, user, until, now) {
            log_lines(&mut vec![line]);
        }
    }

    /// A refusal sent to a client at `ip`: noted at once, but a `BYE flood`, which waits for the
    /// logout record that names its account.
    pub(super) fn note_send_refusal(
        &mut self,
        ip: IpAddr,
        what: Refusal,
        msg: &ServerMsg,
        flooded: &mut Flooded,
        now: &mut impl FnMut() -> Timestamp,
    ) {
        if let ServerMsg::Bye(ByeReason::Flood { cooldown_secs }) = msg {
            let until = (*cooldown_secs > 0).then(|| now().plus_secs(*cooldown_secs));
            *flooded = Some((ip, until));
        } else {
            self.note_refusal(ip, what, None, None, now());
        }
    }

    /// A record handed over: the logout of a session ended for flooding names its account.
    pub(super) fn note_flood_logout(
        &mut self,
        record: &Record,
        flooded: &mut Flooded,
        now: &mut impl FnMut() -> Timestamp,
    ) {
        if let (Record::LoggedOut { user, .. }, Some((ip, until))) = (record, *flooded) {
            *flooded = None;
            self.note_refusal(ip, Refusal::Flood, Some(user), until, now());
        }
    }

    /// A `BYE flood` no record named.
    pub(super) fn note_flood_unnamed(
        &mut self,
        flooded: Flooded,
        now: &mut impl FnMut() -> Timestamp,
    ) {
        if let Some((ip, until)) = flooded {
            self.note_refusal(ip, Refusal::Flood, None, until, now());
        }
    }

    /// Writes the operator log's summaries that are due.
    pub(super) fn oplog_timeout(&mut self, now: Timestamp) {
        if self.oplog.poll_timeout().is_some_and(|at| at <= now) {
            let mut lines = Vec::new();
            self.oplog.handle_timeout(now, &mut lines);
            log_lines(&mut lines);
        }
    }
}
