//! Writing the operator's log: what the composed server ([`Server`](natter_core::server::composed::Server),
//! which decides what is said and when) hands the driver, at its level. Nothing here decides: it
//! renders the server's outputs as text.

use natter_core::server::LoginFailure;
use natter_core::server::Record;
use natter_core::server::composed::Ended;
use natter_core::server::oplog::{Level, LogLine};

/// Writes one of the operator log's lines at its level.
pub(super) fn log_line(line: LogLine) {
    match line.level {
        Level::Warn => tracing::warn!("{}", line.text),
        Level::Info => tracing::info!("{}", line.text),
    }
}

/// One line per failed login, in a stable form an intrusion blocker (fail2ban) reads
/// (docs/OPERATING.md): `login failed user=NAME address=IP reason=WHY`, `-` for an unknown user (a
/// name typed at the prompt that is no account is never written: it may be a mistyped password).
pub(super) fn log_failed_login(
    user: Option<&str>,
    address: Option<std::net::IpAddr>,
    reason: LoginFailure,
) {
    let user = user.unwrap_or("-");
    let address = address.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    tracing::warn!(
        "login failed user={user} address={address} reason={}",
        reason.word()
    );
}

/// The operator's record of who came and went: logins, logouts (and why they ended), lockouts and
/// new accounts, at the default level, with the address they came from when the event had one.
/// Never a password or a message's text. A lockout's end is a UTC time.
pub(super) fn log_record(
    record: &Record,
    peer: Option<std::net::SocketAddr>,
    ended: Option<Ended>,
) {
    let from = peer.map(|p| format!(" from {p}")).unwrap_or_default();
    match record {
        Record::LoggedIn { user, .. } => tracing::info!("{user} logged in{from}"),
        Record::LoggedOut { user, .. } => match ended {
            Some(ended) => tracing::info!("{user} logged out ({})", ended.words()),
            None => tracing::info!("{user} logged out"),
        },
        Record::AccountRemoved { user } => tracing::info!("account {user} removed"),
        Record::AccountRenamed { from, to } => tracing::info!("account {from} renamed to {to}"),
        Record::PasswordSet { user, .. } => tracing::info!("{user}'s password changed"),
        Record::Unlocked { user } => tracing::info!("{user} unlocked"),
        Record::Banned { target, until, .. } => match until {
            Some(until) => {
                tracing::info!("{target} banned until {}", natter_core::time::utc(*until))
            }
            None => tracing::info!("{target} banned for good"),
        },
        Record::Unbanned { target } => tracing::info!("{target} no longer banned"),
        Record::LockedOut { user, until } => tracing::info!(
            "{user} locked after repeated wrong passwords{from}, until {}",
            natter_core::time::utc(*until)
        ),
        Record::AccountCreated { user, .. } => match peer {
            Some(_) => tracing::info!("{user} registered{from}"),
            None => tracing::info!("account {user} added"),
        },
        _ => {}
    }
}
