//! Writing the operator's log: what the composed server ([`Server`](natter_core::server::composed::Server),
//! which decides what is said and when) hands the driver, at its level. Nothing here decides: it
//! renders the server's outputs as text.

use std::net::IpAddr;

use natter_core::server::LoginFailure;
use natter_core::server::OperatorAct;
use natter_core::server::Record;
use natter_core::server::composed::Ended;
use natter_core::server::oplog::{Level, LogLine};

use crate::shell::turn_log;

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
pub(super) fn log_failed_login(user: Option<&str>, address: Option<IpAddr>, reason: LoginFailure) {
    log_failure(user, address, reason, "");
}

/// [`log_failed_login`]'s line, with `more` (fields after `reason`, each with its leading space):
/// the one place its stable form is written.
fn log_failure(user: Option<&str>, address: Option<IpAddr>, reason: LoginFailure, more: &str) {
    let user = user.unwrap_or("-");
    tracing::warn!(
        "login failed user={user} address={} reason={}{more}",
        address_or_dash(address),
        reason.word()
    );
}

/// An address as the log writes it: `-` when it is not known.
fn address_or_dash(address: Option<IpAddr>) -> String {
    address.map_or_else(|| "-".to_owned(), |ip| ip.to_string())
}

/// What a session did as the server's operator, or to become it: the audit trail of what happens
/// in sessions (the control socket's actions are logged where they are taken), never what a
/// `wallops` said. A refused `oper` is a failed login's line, `reason=operator-password` (with the
/// operator's name tried, when an operator has it), so that fail2ban's filter bans an address
/// guessing the operator's password as it bans one guessing a user's.
pub(super) fn log_operator_act(user: &str, address: Option<IpAddr>, act: &OperatorAct) {
    match act {
        OperatorAct::Became { operator } => tracing::info!(
            "{user} became the server's operator {operator}, from {}",
            address_or_dash(address)
        ),
        OperatorAct::Refused { operator } => {
            let operator = operator.as_deref().unwrap_or("-");
            let more = format!(" operator={operator}");
            log_failure(Some(user), address, LoginFailure::OperatorPassword, &more);
        }
        OperatorAct::Killed { target } => {
            tracing::info!("{user}, the server's operator, ended {target}'s session (kill)")
        }
        OperatorAct::Wallops => tracing::info!("{user}, the server's operator, sent a wallops"),
    }
}

/// The operator's record of who came and went: logins, logouts (and why they ended), lockouts and
/// new accounts, at the default level, with the address they came from when the event had one.
/// Never a password or a message's text. A lockout's end is a UTC time.
pub(super) fn log_record(
    record: &Record,
    peer: Option<std::net::SocketAddr>,
    ended: Option<Ended>,
) {
    let from = FromPeer(peer);
    match record {
        Record::LoggedIn { user, .. } => session_line(|line| {
            line.push_str(user);
            line.push_str(" logged in");
            from.push_to(line);
        }),
        Record::LoggedOut { user, .. } => session_line(|line| {
            line.push_str(user);
            line.push_str(" logged out");
            if let Some(ended) = ended {
                line.push_str(" (");
                line.push_str(ended.words());
                line.push(')');
            }
        }),
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

thread_local! {
    /// The text of the last login or logout line, kept for the next one.
    static SESSION_LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Logs the line `write` makes, at the default level, as its message. Every session writes two (its
/// login and its logout), so they are made with appends into a buffer kept per thread, and written
/// by [`turn_log::info_line`] when the log's format lets it (the human one without colours: the
/// line as the formatter would write it, without `tracing`'s dispatch), else logged as a string,
/// which the log's formatter writes as it is (a `format_args!` message goes through the formatting
/// machinery piece by piece). The level is checked first, as `tracing::info!` would check it (once
/// per turn of the driver, [`turn_log::asked_once_per_turn`]), so `RUST_LOG` and a reload's level
/// still decide whether the line is written. The line reads the
/// same either way, in the human and the JSON formats.
fn session_line(write: impl FnOnce(&mut String)) {
    if !turn_log::asked_once_per_turn(|| tracing::enabled!(tracing::Level::INFO)) {
        return;
    }
    SESSION_LINE.with_borrow_mut(|line| {
        line.clear();
        write(line);
        if !turn_log::info_line(line) {
            tracing::info!(message = line.as_str());
        }
    });
}

/// " from ADDRESS", or nothing without an address: written straight into the log line (no string of
/// its own per line), an IPv4 address's digits made here rather than by ten formatter calls, since
/// every login and logout writes one.
struct FromPeer(Option<std::net::SocketAddr>);

impl FromPeer {
    /// Appends " from ADDRESS" (or nothing) to `line`.
    fn push_to(&self, line: &mut String) {
        self.with_text(|text| line.push_str(text));
    }

    /// Hands `use_it` the text: an IPv4 address's made in place, any other's formatted (rare).
    fn with_text<R>(&self, use_it: impl FnOnce(&str) -> R) -> R {
        match self.0 {
            None => use_it(""),
            Some(std::net::SocketAddr::V4(v4)) => {
                let (text, len) = v4_text(v4);
                use_it(text_str(&text[..len]))
            }
            Some(peer) => use_it(&format!(" from {peer}")),
        }
    }
}

impl std::fmt::Display for FromPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with_text(|text| f.write_str(text))
    }
}

/// " from A.B.C.D:PORT" in at most 27 bytes, and how many.
fn v4_text(v4: std::net::SocketAddrV4) -> ([u8; 32], usize) {
    let mut text = [0u8; 32];
    text[..6].copy_from_slice(b" from ");
    let mut len = 6;
    // A number's digits written in place, last to first, as many as it has (an octet has one to
    // three): no formatter, and no call per digit.
    let number = |n: u32, text: &mut [u8; 32], len: &mut usize| {
        let width = match n {
            0..=9 => 1,
            10..=99 => 2,
            100..=999 => 3,
            1_000..=9_999 => 4,
            _ => 5,
        };
        let mut rest = n;
        for digit in text[*len..*len + width].iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        *len += width;
    };
    for (i, octet) in v4.ip().octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        number(u32::from(octet), &mut text, &mut len);
    }
    text[len] = b':';
    len += 1;
    number(u32::from(v4.port()), &mut text, &mut len);
    (text, len)
}

/// The text [`v4_text`] made: only ASCII digits, dots, spaces and letters and the colon.
fn text_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::FromPeer;

    #[test]
    fn an_address_reads_as_its_display() {
        for peer in [
            "127.0.0.1:4000",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.20.30.40:8",
            "[::1]:4000",
            "[2001:db8::1]:65535",
        ] {
            let peer: std::net::SocketAddr = peer.parse().unwrap();
            assert_eq!(FromPeer(Some(peer)).to_string(), format!(" from {peer}"));
            let mut line = String::from("bob logged in");
            FromPeer(Some(peer)).push_to(&mut line);
            assert_eq!(line, format!("bob logged in from {peer}"));
        }
        assert_eq!(FromPeer(None).to_string(), "");
        let mut line = String::from("bob logged in");
        FromPeer(None).push_to(&mut line);
        assert_eq!(line, "bob logged in");
    }
}
