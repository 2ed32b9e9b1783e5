//! natter's groups as IRC channels on the harness: JOIN creates a group (its creator the operator)
//! or joins an open one, PRIVMSG #team reaches natter-protocol members and theirs arrive as
//! PRIVMSG #team, and PART, TOPIC, NAMES, INVITE, KICK and LIST go through natter's group rules.

use super::kit::{open_harness, register, say};
use crate::protocol::ServerMsg;
use crate::server::ConnId;

#[test]
fn join_creates_the_group_with_its_creator_as_operator() {
    let mut h = open_harness();
    let a = register(&mut h, "alice", Some("apw"), "");
    say(&mut h, a, &["JOIN #team"]);
    let got = h.take_irc(a);
    assert_eq!(
        got,
        ":alice!alice@natter JOIN #team\r\n:natter 353 alice = #team :@alice\r\n:natter 366 alice #team :End of /NAMES list\r\n"
    );
}

#[test]
fn an_irc_user_and_a_natter_user_talk_in_a_group() {
    let mut h = open_harness();
    let a = register(&mut h, "alice", Some("apw"), "");
    let bob = h.login("bob", "bpw");
    say(&mut h, a, &["JOIN #team"]);
    h.take_irc(a);
    // Made by JOIN, the channel is open: bob joins it by name.
    h.send(bob, "group join team");
    let got = h.take_irc(a);
    assert!(got.contains(":bob!bob@natter JOIN #team\r\n"), "{got}");
    h.take(bob);
    say(&mut h, a, &["PRIVMSG #team :hello team"]);
    assert!(h.take(bob).iter().any(|m| matches!(
        m,
        ServerMsg::GroupMessage { group, from, text, .. }
            if &**group == "team" && &**from == "alice" && text == "hello team"
    )));
    h.send(bob, "message group team hi from natter");
    assert!(
        h.take_irc(a)
            .contains(":bob!bob@natter PRIVMSG #team :hi from natter\r\n")
    );
    // An end-to-end encrypted group message (for the members with keys) is not shown to an IRC
    // client as ciphertext: it is told that something was said, and by whom.
    h.send(bob, "message group team e2e1:g:S0VZ:QUJDRA");
    let got = h.take_irc(a);
    assert!(
        got.contains(":bob!bob@natter NOTICE #team :(an end-to-end encrypted message from bob: only natter's own client can read it)\r\n")
            && !got.contains("e2e1:"),
        "{got}"
    );
    // NAMES, TOPIC, LIST.
    say(&mut h, a, &["NAMES #team"]);
    assert!(
        h.take_irc(a)
            .contains(":natter 353 alice = #team :@alice bob\r\n")
    );
    say(&mut h, a, &["TOPIC #team"]);
    assert!(h.take_irc(a).contains(" 331 alice #team "));
    say(&mut h, a, &["TOPIC #team :plans"]);
    assert!(
        h.take_irc(a)
            .contains(":alice!alice@natter TOPIC #team :plans\r\n")
    );
    say(&mut h, a, &["TOPIC #team"]);
    assert!(h.take_irc(a).contains(":natter 332 alice #team :plans\r\n"));
    say(&mut h, a, &["LIST"]);
    let got = h.take_irc(a);
    assert!(
        got.contains(":natter 322 alice #team 2 :plans\r\n"),
        "{got}"
    );
    // KICK by the owner; bob is told on natter's protocol.
    h.take(bob);
    say(&mut h, a, &["KICK #team bob :bye"]);
    assert!(
        h.take_irc(a)
            .contains(":alice!alice@natter KICK #team bob :bye\r\n")
    );
    assert!(
        h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::GroupRemoved { .. }))
    );
}

#[test]
fn an_irc_user_joins_a_natter_users_open_group_and_sees_its_topic_and_parts() {
    let mut h = open_harness();
    let bob = h.login("bob", "bpw");
    h.send(bob, "create group club");
    h.send(bob, "group mode club open");
    h.send(bob, "group topic club welcome all");
    let c = register(&mut h, "carol", Some("cpw"), "");
    say(&mut h, c, &["JOIN #club"]);
    let got = h.take_irc(c);
    assert!(
        got.starts_with(
            ":carol!carol@natter JOIN #club\r\n:natter 332 carol #club :welcome all\r\n"
        ),
        "{got}"
    );
    assert!(
        got.contains(":natter 353 carol = #club :@bob carol\r\n"),
        "{got}"
    );
    assert!(
        got.ends_with(":natter 366 carol #club :End of /NAMES list\r\n"),
        "{got}"
    );
    say(&mut h, c, &["PART #club"]);
    assert!(h.take_irc(c).contains(":carol!carol@natter PART #club\r\n"));
    say(&mut h, c, &["PRIVMSG #club :still here?"]);
    assert!(h.take_irc(c).contains(":natter 404 carol #club "));
}

#[test]
fn refusals_are_numerics() {
    let mut h = open_harness();
    let bob = h.login("bob", "bpw");
    h.send(bob, "create group closed");
    let c = register(&mut h, "carol", Some("cpw"), "");
    say(&mut h, c, &["JOIN #closed"]);
    assert!(h.take_irc(c).contains(":natter 473 carol #closed "));
    say(&mut h, c, &["KICK #closed bob"]);
    assert!(h.take_irc(c).contains(":natter 442 carol #closed "));
    say(&mut h, c, &["PRIVMSG #nowhere :hi"]);
    assert!(h.take_irc(c).contains(":natter 403 carol #nowhere "));
}

#[test]
fn a_guest_creates_a_channel_and_an_account_joins_it() {
    let mut h = open_harness();
    let g = register(&mut h, "zed", None, "");
    let a = register(&mut h, "alice", Some("apw"), "");
    say(&mut h, g, &["JOIN #den", "INVITE alice #den"]);
    let got = h.take_irc(g);
    assert!(got.contains(":natter 353 zed = #den :@zed\r\n"), "{got}");
    assert!(got.contains(":natter 341 zed alice #den\r\n"), "{got}");
    let got = h.take_irc(a);
    assert!(
        got.contains(":zed!zed@natter INVITE alice #den\r\n"),
        "{got}"
    );
    say(&mut h, a, &["JOIN #den", "PRIVMSG #den :hello zed"]);
    let got = h.take_irc(a);
    assert!(
        got.contains(":natter 353 alice = #den :alice @zed\r\n"),
        "{got}"
    );
    let got = h.take_irc(g);
    assert!(got.contains(":alice!alice@natter JOIN #den\r\n"), "{got}");
    assert!(
        got.contains(":alice!alice@natter PRIVMSG #den :hello zed\r\n"),
        "{got}"
    );
}

#[test]
fn a_part_reason_reaches_irc_and_natter_members() {
    let mut h = open_harness();
    let a = register(&mut h, "alice", Some("apw"), "");
    let c = register(&mut h, "carol", Some("cpw"), "");
    let bob = h.login("bob", "bpw");
    say(&mut h, a, &["JOIN #team"]);
    say(&mut h, c, &["JOIN #team"]);
    h.send(bob, "group join team");
    h.take(bob);
    h.take_irc(a);
    say(&mut h, c, &["PART #team :bye  everyone"]);
    assert!(
        h.take_irc(a)
            .contains(":carol!carol@natter PART #team :bye  everyone\r\n")
    );
    assert!(h.take(bob).contains(&ServerMsg::GroupLeft {
        group: "team".into(),
        user: "carol".into(),
        reason: "bye  everyone".into(),
    }));
}

#[test]
fn one_kick_removes_several_nicks_one_kick_line_each() {
    let mut h = open_harness();
    let nicks = ["foo", "bar", "baz", "qux"];
    let conns: Vec<ConnId> = nicks
        .iter()
        .map(|n| register(&mut h, n, None, ""))
        .collect();
    for c in &conns {
        say(&mut h, *c, &["JOIN #chan"]);
    }
    for c in &conns {
        h.take_irc(*c);
    }
    say(&mut h, conns[0], &["KICK #chan bar,baz :bye"]);
    let got = h.take_irc(conns[3]);
    assert!(
        got.contains(
            ":foo!foo@natter KICK #chan bar :bye\r\n:foo!foo@natter KICK #chan baz :bye\r\n"
        ),
        "{got}"
    );
    say(&mut h, conns[0], &["KICK #chan,#chan qux :bye"]);
    assert!(h.take_irc(conns[3]).contains("KICK #chan qux :bye\r\n"));
}
