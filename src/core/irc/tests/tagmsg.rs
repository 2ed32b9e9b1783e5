//! `TAGMSG` as natter's signals, on the harness: relayed with its client-only tags and a msgid to
//! IRC clients that asked for `message-tags` (nothing to the others), echoed and labeled, a natter
//! client's `signal` as `TAGMSG`, an IRC client's typing as a natter client's `SIGNAL`, and the
//! core's rules (blocks, channel membership) applied.

use crate::irc::parse;
use crate::protocol::ServerMsg;
use crate::server::harness::Harness;
use crate::server::{Config, ConnId};

const ACCOUNTS: &[(&str, &str)] = &[("alice", "apw"), ("bob", "bpw"), ("carol", "cpw")];

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

/// A guest `nick` registered with `caps`; its welcome read.
fn irc(h: &mut Harness, nick: &str, caps: &str) -> ConnId {
    let c = h.irc_connect();
    if !caps.is_empty() {
        say(h, c, &["CAP LS 302", &format!("CAP REQ :{caps}")]);
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
    assert!(got.contains(" 001 "), "{got}");
    c
}

fn lines(text: &str) -> Vec<&str> {
    text.split("\r\n").filter(|l| !l.is_empty()).collect()
}

/// The tag `key` of the IRC line `line`.
fn tag<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let m = parse(line.trim_end().as_bytes()).ok()?;
    m.tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.unwrap_or(""))
}

fn command(line: &str) -> String {
    parse(line.trim_end().as_bytes())
        .map(|m| m.command.to_owned())
        .unwrap_or_default()
}

#[test]
fn a_channel_tagmsg_reaches_members_with_message_tags_only_with_one_msgid() {
    let mut h = harness();
    let bob = irc(&mut h, "bob1", "message-tags echo-message");
    let alice = irc(&mut h, "alice1", "message-tags");
    let carol = irc(&mut h, "carol1", "");
    let dave = irc(&mut h, "dave1", "server-time");
    for c in [bob, alice, carol, dave] {
        say(&mut h, c, &["JOIN #test"]);
    }
    for c in [bob, alice, carol, dave] {
        h.take_irc(c);
    }
    say(
        &mut h,
        bob,
        &[r"@+buzz=fizz\:buzz;cat=dog;+steel=wootz TAGMSG #test"],
    );
    let echo = h.take_irc(bob);
    let relay = h.take_irc(alice);
    assert_eq!(h.take_irc(carol), "", "no message-tags, no TAGMSG");
    assert_eq!(h.take_irc(dave), "", "server-time is not message-tags");
    for l in [&echo, &relay] {
        assert_eq!(lines(l).len(), 1, "{l}");
        assert_eq!(command(l), "TAGMSG", "{l}");
        assert!(l.ends_with(" TAGMSG #test\r\n"), "{l}");
        assert_eq!(tag(l, "+buzz"), Some(r"fizz\:buzz"));
        assert_eq!(tag(l, "+steel"), Some("wootz"));
        assert_eq!(tag(l, "cat"), None, "not a client-only tag");
    }
    assert!(relay.contains(":bob1!bob1@natter TAGMSG"), "{relay}");
    assert_eq!(tag(&echo, "msgid"), tag(&relay, "msgid"));
    assert!(tag(&echo, "msgid").is_some());
}

#[test]
fn a_labeled_tagmsg_to_a_user_labels_the_echo_only() {
    let mut h = harness();
    let caps = "echo-message batch labeled-response message-tags";
    let foo = irc(&mut h, "foo", caps);
    let bar = irc(&mut h, "bar", caps);
    say(
        &mut h,
        foo,
        &["@label=12345;+draft/reply=7;+draft/react=l😃l TAGMSG bar"],
    );
    let echo = h.take_irc(foo);
    let relay = h.take_irc(bar);
    assert_eq!(tag(&echo, "label"), Some("12345"), "{echo}");
    assert_eq!(tag(&echo, "+draft/react"), Some("l😃l"));
    assert_eq!(tag(&relay, "label"), None, "{relay}");
    assert_eq!(tag(&relay, "+draft/reply"), Some("7"));
    assert_eq!(tag(&relay, "+draft/react"), Some("l😃l"));
    // To oneself: delivered and echoed, one of the two labeled.
    say(&mut h, foo, &["@label=9;+draft/react=x TAGMSG foo"]);
    let got = h.take_irc(foo);
    let got = lines(&got);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|l| command(l) == "TAGMSG"));
    assert_eq!(got.iter().filter(|l| tag(l, "label").is_some()).count(), 1);
}

#[test]
fn typing_crosses_between_natter_and_irc_clients() {
    let mut h = harness();
    let bob = irc(&mut h, "bob2", "message-tags server-time");
    let alice = h.login("alice", "apw");
    h.clear_all();
    h.send(alice, "signal bob2 typing=active");
    let got = h.take_irc(bob);
    assert!(got.contains(":alice!alice@natter TAGMSG bob2\r\n"), "{got}");
    assert_eq!(tag(&got, "+typing"), Some("active"));
    assert!(tag(&got, "time").is_some() && tag(&got, "msgid").is_some());
    say(&mut h, bob, &["@+typing=paused TAGMSG alice"]);
    let got = h.take(alice);
    assert!(
        matches!(&got[..], [ServerMsg::Signal { from, tags, .. }]
            if **from == *"bob2" && tags == "typing=paused"),
        "{got:?}"
    );
}

#[test]
fn the_core_s_rules_hold_for_tagmsg() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    let eve = irc(&mut h, "eve", "message-tags labeled-response");
    h.send(bob, "block eve");
    h.clear_all();
    // Blocked: dropped silently (a labeled command with no reply is ACK).
    say(&mut h, eve, &["@label=1;+typing=active TAGMSG bob"]);
    let got = h.take_irc(eve);
    assert!(got.contains("ACK"), "{got}");
    assert_eq!(h.take(bob), vec![]);
    // Not a member of the channel, no such channel, no such nick.
    say(&mut h, eve, &["@+typing=active TAGMSG #nope"]);
    assert!(h.take_irc(eve).contains(" 403 "));
    h.send(bob, "create group team");
    say(&mut h, eve, &["@+typing=active TAGMSG #team"]);
    let got = h.take_irc(eve);
    assert!(got.contains(" 442 ") || got.contains(" 404 "), "{got}");
    say(&mut h, eve, &["@+typing=active TAGMSG nobody"]);
    assert!(h.take_irc(eve).contains(" 401 "));
    // No client-only tag: nothing to signal, nothing said.
    say(&mut h, eve, &["TAGMSG bob"]);
    assert_eq!(h.take_irc(eve), "");
}
