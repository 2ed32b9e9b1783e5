//! IRCv3 capabilities and message delivery on the harness: `message-tags` (client-only tags and
//! the msgid, only to clients that asked), `echo-message` (in order, only once the core took the
//! message), `labeled-response` with `batch`, `server-time` on relayed messages, no reply to a
//! `NOTICE`, a relayed line cut to fit IRC's 512 bytes between characters, and `PING` and `CAP`
//! kept out of the core's flood budget and idle clock.

use super::kit::{harness_with, lines, register, say, tag};
use crate::protocol::ServerMsg;
use crate::server::Config;
use crate::server::harness::Harness;

fn harness() -> Harness {
    harness_with(Config {
        guests: true,
        timeout_secs: 300,
        idle_warning_secs: 60,
        ..Config::default()
    })
}

#[test]
fn cap_ls_offers_the_caps_and_req_takes_them_all_or_none() {
    let mut h = harness();
    let c = h.irc_connect();
    say(&mut h, c, &["CAP LS"]);
    let got = h.take_irc(c);
    assert!(
        got.contains("CAP * LS :sasl server-time message-tags echo-message batch labeled-response cap-notify multi-prefix userhost-in-names away-notify extended-monitor setname account-tag extended-join\r\n"),
        "{got}"
    );
    say(&mut h, c, &["CAP REQ :multi-prefix foo"]);
    assert!(h.take_irc(c).contains("CAP * NAK :multi-prefix foo"));
    say(
        &mut h,
        c,
        &["CAP REQ :multi-prefix userhost-in-names", "CAP LIST"],
    );
    let got = h.take_irc(c);
    assert!(
        got.contains("CAP * ACK :multi-prefix userhost-in-names"),
        "{got}"
    );
    assert!(
        got.contains("CAP * LIST :multi-prefix userhost-in-names\r\n"),
        "{got}"
    );
    say(&mut h, c, &["CAP REQ :-multi-prefix", "CAP LIST"]);
    assert!(h.take_irc(c).contains("CAP * LIST :userhost-in-names\r\n"));
    say(
        &mut h,
        c,
        &["NICK zed", "USER z 0 * :z", "CAP END", "JOIN #den"],
    );
    let got = h.take_irc(c);
    assert!(
        got.contains(" 353 zed = #den :@zed!zed@natter\r\n"),
        "{got}"
    );
}

#[test]
fn client_tags_and_msgid_reach_only_recipients_with_message_tags() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "message-tags");
    let b = register(&mut h, "ben", None, "message-tags echo-message");
    let c = register(&mut h, "cid", None, "");
    let d = register(&mut h, "dee", None, "server-time");
    for x in [a, b, c, d] {
        say(&mut h, x, &["JOIN #t"]);
    }
    for x in [a, b, c, d] {
        h.take_irc(x);
    }
    say(&mut h, a, &["@+baz=bat;fizz=buzz PRIVMSG #t :hi"]);
    assert_eq!(h.take_irc(a), "", "no echo without echo-message");
    let got_b = h.take_irc(b);
    assert!(
        got_b.ends_with(" :ann!ann@natter PRIVMSG #t :hi\r\n"),
        "{got_b}"
    );
    assert_eq!(tag(&got_b, "+baz"), Some("bat"));
    assert_eq!(
        tag(&got_b, "fizz"),
        None,
        "only client-only tags are relayed"
    );
    let msgid = tag(&got_b, "msgid").expect("a msgid").to_owned();
    assert_eq!(h.take_irc(c), ":ann!ann@natter PRIVMSG #t :hi\r\n");
    let got_d = h.take_irc(d);
    assert!(got_d.starts_with("@time="), "{got_d}");
    assert_eq!(tag(&got_d, "+baz"), None);
    // ben's echo and ann's copy carry one msgid, his tags, and the echo comes back to ben.
    say(&mut h, b, &["@+x=y PRIVMSG #t :back"]);
    let echo = h.take_irc(b);
    let relayed = h.take_irc(a);
    assert!(
        echo.ends_with(":ben!ben@natter PRIVMSG #t :back\r\n"),
        "{echo}"
    );
    assert_eq!(tag(&echo, "+x"), Some("y"));
    assert_eq!(tag(&echo, "msgid"), tag(&relayed, "msgid"));
    assert_ne!(tag(&echo, "msgid"), Some(msgid.as_str()));
}

#[test]
fn an_echo_follows_the_core_and_a_refused_message_is_not_echoed() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "echo-message server-time");
    let bob = h.login("bob", "bpw");
    say(&mut h, a, &["PRIVMSG bob :hello bob"]);
    let echo = h.take_irc(a);
    assert_eq!(lines(&echo).len(), 1, "{echo}");
    assert!(echo.starts_with("@time="), "{echo}");
    assert!(
        echo.ends_with(":ann!ann@natter PRIVMSG bob :hello bob\r\n"),
        "{echo}"
    );
    assert!(
        h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::Message { text, .. } if text == "hello bob"))
    );
    // A refusal is said, and nothing echoed.
    say(&mut h, a, &["PRIVMSG nobody :hello?"]);
    let got = h.take_irc(a);
    assert!(got.contains(" 401 ann nobody "), "{got}");
    assert!(!got.contains(" PRIVMSG "), "{got}");
    // Offline: the core's receipt (a notice), then the echo, in that order.
    say(&mut h, a, &["PRIVMSG carol :kept"]);
    let got = h.take_irc(a);
    let l = lines(&got);
    assert_eq!(l.len(), 2, "{got}");
    assert!(l[0].contains(" NOTICE ann :"), "{got}");
    assert!(l[1].ends_with("PRIVMSG carol :kept"), "{got}");
}

#[test]
fn a_notice_is_never_answered_and_is_relayed_as_a_notice() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "");
    let b = register(&mut h, "ben", None, "");
    say(&mut h, a, &["JOIN #t"]);
    say(&mut h, b, &["JOIN #t"]);
    h.take_irc(a);
    h.take_irc(b);
    say(
        &mut h,
        a,
        &[
            "NOTICE #t :hello there",
            "NOTICE #nowhere :hi",
            "NOTICE nobody :hi",
            "NOTICE carol :you are offline",
            "NOTICE ann :myself",
            "NOTICE #t",
            "NOTICE",
        ],
    );
    let got = h.take_irc(a);
    assert_eq!(got, ":ann!ann@natter NOTICE ann :myself\r\n");
    assert_eq!(h.take_irc(b), ":ann!ann@natter NOTICE #t :hello there\r\n");
    // The message to carol was kept all the same.
    let carol = h.connect();
    h.take(carol);
    say(&mut h, carol, &["carol", "cpw"]);
    let got = h.take(carol);
    assert!(
        got.iter().any(
            |m| matches!(m, ServerMsg::OfflineMessage { text, .. } if text == "you are offline")
        ),
        "{got:?}"
    );
}

#[test]
fn a_long_line_from_an_irc_client_is_cut_to_fit_the_relayed_line_between_characters() {
    let mut h = harness();
    let a = register(&mut h, "nick1", None, "");
    let b = register(&mut h, "nick2", None, "");
    let bob = h.login("bob", "bpw");
    // 510 bytes as sent, ending in a four-byte character that no longer fits once relayed.
    let head = "PRIVMSG nick2 :";
    let text = format!("{}😃", "a".repeat(510 - head.len() - 4));
    say(&mut h, a, &[&format!("{head}{text}")]);
    let got = h.take_irc(b);
    assert_eq!(lines(&got).len(), 1, "one line: {got}");
    assert!(got.len() <= 512, "{}", got.len());
    let relayed = got.trim_end().rsplit(" :").next().unwrap_or("");
    assert!(
        text.starts_with(relayed) && relayed.len() > 400,
        "{relayed}"
    );
    assert!(!relayed.ends_with('😃'));
    // A natter client's long message is split into lines, not cut.
    let long = "b".repeat(700);
    h.send(bob, &format!("message nick2 {long}"));
    let got = h.take_irc(b);
    let parts: Vec<&str> = lines(&got)
        .iter()
        .map(|l| l.rsplit(" :").next().unwrap_or(""))
        .collect();
    assert_eq!(parts.concat(), long);
}

#[test]
fn a_labeled_command_gets_its_answers_labeled_or_batched_or_acked() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "labeled-response batch echo-message");
    let b = register(&mut h, "ben", None, "");
    // One line: labeled.
    say(&mut h, a, &["@label=p1 PING tok"]);
    assert_eq!(h.take_irc(a), "@label=p1 :natter PONG natter :tok\r\n");
    // No line: ACK.
    say(&mut h, a, &["@label=n1 PONG tok"]);
    assert_eq!(h.take_irc(a), "@label=n1 :natter ACK\r\n");
    // The echo is the answer, labeled; the recipient sees no label.
    say(&mut h, a, &["@label=m1 PRIVMSG ben :hi"]);
    let echo = h.take_irc(a);
    assert!(
        echo.starts_with("@label=m1 :ann!ann@natter PRIVMSG ben :hi"),
        "{echo}"
    );
    assert_eq!(h.take_irc(b), ":ann!ann@natter PRIVMSG ben :hi\r\n");
    // Several lines, and answers the core gave to lines the front fed: one batch.
    say(&mut h, a, &["@label=j1 JOIN #t"]);
    let got = h.take_irc(a);
    let l = lines(&got);
    assert_eq!(
        l[0], "@label=j1 :natter BATCH +L1 labeled-response",
        "{got}"
    );
    assert!(
        l[1..l.len() - 1]
            .iter()
            .all(|x| x.starts_with("@batch=L1 ")),
        "{got}"
    );
    assert_eq!(l[l.len() - 1], ":natter BATCH -L1");
    assert!(got.contains(" 366 ann #t "), "{got}");
    // A line that is no message: its 421 is labeled too.
    say(&mut h, a, &["@label=u1 NO_SUCH_COMMAND"]);
    assert!(h.take_irc(a).starts_with("@label=u1 :natter 421 "));
}

#[test]
fn client_tags_over_4096_bytes_are_417_and_not_relayed() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "message-tags");
    let b = register(&mut h, "ben", None, "message-tags");
    let ok = format!("@+baz={} PRIVMSG ben :hi", "a".repeat(4096 - 7));
    say(&mut h, a, &[&ok]);
    assert!(h.take_irc(b).contains(" PRIVMSG ben :hi"));
    let over = format!("@+baz={} PRIVMSG ben :hi", "a".repeat(4096 - 6));
    say(&mut h, a, &[&over]);
    assert!(h.take_irc(a).contains(" 417 ann "));
    assert_eq!(h.take_irc(b), "");
}

#[test]
fn ping_and_cap_are_no_activity_and_no_flood() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "");
    // Far more than the core's flood budget allows in a second, and for longer than the idle
    // timeout: neither ends the session by flood, and the idle logout still comes.
    for _ in 0..200 {
        say(&mut h, a, &["PING :x", "CAP LIST"]);
    }
    let got = h.take_irc(a);
    assert!(!got.contains("ERROR"), "{got}");
    for _ in 0..31 {
        h.advance_secs(10);
        say(&mut h, a, &["PING :still here"]);
    }
    let got = h.take_irc(a);
    assert!(got.contains("ERROR :Closing link: ann"), "{got}");
}

#[test]
fn a_labeled_quit_says_its_closing_line_before_the_close() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "labeled-response batch");
    say(&mut h, a, &["@label=q1 QUIT :bye"]);
    let got = h.take_irc(a);
    assert!(
        got.starts_with("@label=q1 ERROR :Closing link: ann (Quit: bye)"),
        "{got}"
    );
    assert!(h.is_closed(a));
}

#[test]
fn a_broadcast_is_a_notice_from_its_sender() {
    let mut h = harness();
    let a = register(&mut h, "ann", None, "");
    let bob = h.login("bob", "bpw");
    h.send(bob, "broadcast hello all");
    assert_eq!(h.take_irc(a), ":bob!bob@natter NOTICE ann :hello all\r\n");
}
