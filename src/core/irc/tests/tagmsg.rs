//! `TAGMSG` as natter's signals, on the harness: relayed with its client-only tags and a msgid to
//! IRC clients that asked for `message-tags` (nothing to the others), echoed and labeled, a natter
//! client's `signal` as `TAGMSG`, an IRC client's typing as a natter client's `SIGNAL`, and the
//! core's rules (blocks, channel membership) applied.

use super::kit::{harness, lines, register, say, tag};
use crate::irc::parse;
use crate::protocol::ServerMsg;

fn command(line: &str) -> String {
    parse(line.trim_end().as_bytes())
        .map(|m| m.command.to_owned())
        .unwrap_or_default()
}

#[test]
fn a_channel_tagmsg_reaches_members_with_message_tags_only_with_one_msgid() {
    let mut h = harness();
    let bob = register(&mut h, "bob1", None, "message-tags echo-message");
    let alice = register(&mut h, "alice1", None, "message-tags");
    let carol = register(&mut h, "carol1", None, "");
    let dave = register(&mut h, "dave1", None, "server-time");
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
    let foo = register(&mut h, "foo", None, caps);
    let bar = register(&mut h, "bar", None, caps);
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
    let bob = register(&mut h, "bob2", None, "message-tags server-time");
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
    let eve = register(&mut h, "eve", None, "message-tags labeled-response");
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
