//! What the IRC tests share: a harness with the accounts they log in as, sending lines, registering
//! an IRC client (by `PASS` or as a guest, with caps or none), and reading what it was sent (lines,
//! numerics' codes, tags). One kit, so a change to how a client registers is made in one place.

use crate::irc::parse;
use crate::server::harness::Harness;
use crate::server::{Config, ConnId};

/// The accounts the tests use, by name and password.
pub(super) const ACCOUNTS: &[(&str, &str)] = &[("alice", "apw"), ("bob", "bpw"), ("carol", "cpw")];

/// A harness with [`ACCOUNTS`], guests allowed and a 300-second idle timeout.
pub(super) fn harness() -> Harness {
    harness_with(Config {
        guests: true,
        timeout_secs: 300,
        ..Config::default()
    })
}

/// A harness with [`ACCOUNTS`], guests allowed and every other setting the default.
pub(super) fn open_harness() -> Harness {
    harness_with(Config {
        guests: true,
        ..Config::default()
    })
}

/// A harness with [`ACCOUNTS`] and `config`, for tests that need other settings.
pub(super) fn harness_with(config: Config) -> Harness {
    Harness::new(config, ACCOUNTS)
}

/// Sends IRC lines from `conn`, in order.
pub(super) fn say(h: &mut Harness, conn: ConnId, lines: &[&str]) {
    for l in lines {
        h.send(conn, l);
    }
}

/// Registers a new IRC connection as `nick` (with `pass`: the account's, else a guest), asking for
/// `caps` first if there are any (`CAP LS 302`, `CAP REQ`, then `CAP END` after `USER`); the
/// connection and what it was sent, unchecked.
pub(super) fn welcome(
    h: &mut Harness,
    nick: &str,
    pass: Option<&str>,
    caps: &str,
) -> (ConnId, String) {
    let c = h.irc_connect();
    if !caps.is_empty() {
        say(h, c, &["CAP LS 302", &format!("CAP REQ :{caps}")]);
    }
    if let Some(p) = pass {
        say(h, c, &[&format!("PASS {p}")]);
    }
    say(
        h,
        c,
        &[&format!("NICK {nick}"), &format!("USER {nick} 0 * :{nick}")],
    );
    if !caps.is_empty() {
        say(h, c, &["CAP END"]);
    }
    let got = h.take_irc(c);
    (c, got)
}

/// As [`welcome`], checking the connection was welcomed (`001`); its welcome taken.
pub(super) fn register(h: &mut Harness, nick: &str, pass: Option<&str>, caps: &str) -> ConnId {
    let (c, got) = welcome(h, nick, pass, caps);
    assert!(got.contains(" 001 "), "{got}");
    c
}

/// The lines of `text`, without their ends and without empty ones.
pub(super) fn lines(text: &str) -> Vec<&str> {
    text.split("\r\n").filter(|l| !l.is_empty()).collect()
}

/// The numerics' codes of `text`, in order.
pub(super) fn codes(text: &str) -> Vec<&str> {
    lines(text)
        .iter()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .collect()
}

/// The tag `key` of the IRC line `line` (`""` for a tag without a value).
pub(super) fn tag<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let m = parse(line.trim_end().as_bytes()).ok()?;
    m.tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.unwrap_or(""))
}
