//! `account-tag` and `extended-join` on the harness: a message or a join from an account says
//! its account, one from a guest says none, and only to the clients that asked.

use crate::irc::parse;
use crate::server::harness::Harness;
use crate::server::{Config, ConnId};

const ACCOUNTS: &[(&str, &str)] = &[("alice", "apw"), ("bob", "bpw")];

fn harness() -> Harness {
    Harness::new(
        Config {
            guests: true,
            timeout_secs: 300,
            ..Config::default()
        },
        ACCOUNTS,
    )
}

fn say(h: &mut Harness, conn: ConnId, lines: &[&str]) {
    for l in lines {
        h.send(conn, l);
    }
}

/// `nick` registered with `caps` (with `pass`: the account's), its welcome read.
fn irc(h: &mut Harness, nick: &str, pass: Option<&str>, caps: &str) -> ConnId {
    let c = h.irc_connect();
    say(h, c, &["CAP LS 302", &format!("CAP REQ :{caps}")]);
    if let Some(p) = pass {
        say(h, c, &[&format!("PASS {p}")]);
    }
    say(
        h,
        c,
        &[
            &format!("NICK {nick}"),
            &format!("USER {nick} 0 * :{nick}"),
            "CAP END",
        ],
    );
    let got = h.take_irc(c);
    assert!(got.contains(" 001 "), "{got}");
    c
}

fn tag<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let m = parse(line.trim_end().as_bytes()).ok()?;
    m.tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.unwrap_or(""))
}

#[test]
fn a_message_says_its_sender_s_account_and_a_guest_s_says_none() {
    let mut h = harness();
    let alice = irc(&mut h, "alice", Some("apw"), "account-tag echo-message");
    let guest = irc(&mut h, "visitor", None, "account-tag");
    let plain = irc(&mut h, "plain", None, "server-time");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.send(bob, "message visitor hi");
    let got = h.take_irc(guest);
    assert_eq!(tag(&got, "account"), Some("bob"), "{got}");
    say(&mut h, guest, &["PRIVMSG alice :hello"]);
    let got = h.take_irc(alice);
    assert!(got.contains("PRIVMSG alice :hello"), "{got}");
    assert_eq!(tag(&got, "account"), None, "a guest has no account: {got}");
    say(&mut h, alice, &["PRIVMSG visitor :welcome"]);
    let echo = h.take_irc(alice);
    assert_eq!(tag(&echo, "account"), Some("alice"), "{echo}");
    assert_eq!(tag(&h.take_irc(guest), "account"), Some("alice"));
    h.send(bob, "message plain hi");
    assert_eq!(tag(&h.take_irc(plain), "account"), None, "did not ask");
}

#[test]
fn extended_join_says_the_joiner_s_account_or_star() {
    let mut h = harness();
    let alice = irc(&mut h, "alice", Some("apw"), "extended-join");
    let plain = irc(&mut h, "plain", None, "");
    say(&mut h, alice, &["JOIN #team"]);
    let got = h.take_irc(alice);
    assert!(
        got.contains(":alice!alice@natter JOIN #team alice :alice\r\n"),
        "{got}"
    );
    say(&mut h, plain, &["JOIN #team"]);
    let got = h.take_irc(alice);
    assert!(
        got.contains(":plain!plain@natter JOIN #team * :plain\r\n"),
        "{got}"
    );
    assert!(
        h.take_irc(plain)
            .contains(":plain!plain@natter JOIN #team\r\n"),
        "without the cap, the plain form"
    );
}
