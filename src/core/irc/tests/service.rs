//! The service nick (`/msg natter <command>`): natter's commands with no IRC form, answered as
//! notices from `natter`, in order; refusals with their reasons; `passwd` with both passwords at
//! once; the nick reserved for the service.

use super::kit::{harness, register};
use crate::server::ConnId;
use crate::server::harness::Harness;

const FROM_SERVICE: &str = ":natter!natter@natter NOTICE ";

/// Sends `text` to the service and returns the notices it got back, their text only.
fn ask(h: &mut Harness, c: ConnId, text: &str) -> Vec<String> {
    h.send(c, &format!("PRIVMSG natter :{text}"));
    let got = h.take_irc(c);
    got.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            assert!(
                l.starts_with(FROM_SERVICE),
                "not from the service: {l}\n{got}"
            );
            assert!(l.len() + 2 <= 512, "{l}");
            l.split_once(" :").unwrap().1.to_owned()
        })
        .collect()
}

#[test]
fn whoelse_wholasthr_whoelsesince_and_offline_answer_as_notices_from_natter() {
    let mut h = harness();
    let _bob = h.login("bob", "bpw");
    let c = register(&mut h, "alice", Some("apw"), "");
    assert_eq!(ask(&mut h, c, "whoelse"), ["* Online now: bob"]);
    let got = ask(&mut h, c, "wholasthr");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("bob"), "{got:?}");
    let got = ask(&mut h, c, "WhoElseSince 60");
    assert!(got[0].contains("bob"), "{got:?}");
    let got = ask(&mut h, c, "offline");
    assert!(got[0].contains("No messages were waiting"), "{got:?}");
    // A usage error is the service's too.
    let got = ask(&mut h, c, "whoelsesince soon");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("whoelsesince"), "{got:?}");
}

#[test]
fn offline_lists_what_waited_in_order_over_several_notices() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    for i in 0..3 {
        h.send(bob, &format!("message alice kept {i}"));
    }
    let c = register(&mut h, "alice", Some("apw"), "");
    let got = ask(&mut h, c, "offline");
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got[0].contains("3 messages waited"), "{got:?}");
    for (i, line) in got[1..].iter().enumerate() {
        assert!(line.contains(&format!("kept {i}")), "{got:?}");
    }
}

#[test]
fn ping_and_group_commands_without_a_channel_form_reach_the_core() {
    let mut h = harness();
    let _bob = h.login("bob", "bpw");
    let c = register(&mut h, "alice", Some("apw"), "");
    let got = ask(&mut h, c, "ping bob");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("bob"), "{got:?}");
    // An invitation declined: `group decline` has no IRC form.
    let carol = h.login("carol", "cpw");
    h.send(carol, "create group crew");
    h.send(carol, "group add crew alice");
    h.take_irc(c);
    let got = ask(&mut h, c, "group decline crew");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("declined") && got[0].contains("crew"),
        "{got:?}"
    );
}

#[test]
fn help_lists_the_commands_and_an_unknown_one_says_what_exists() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    let got = ask(&mut h, c, "help");
    assert!(got.len() > 10, "{got:?}");
    assert!(got[0].contains("/msg natter"), "{got:?}");
    for word in [
        "whoelse",
        "wholasthr",
        "offline",
        "ping",
        "passwd CURRENT NEW",
    ] {
        assert!(got.iter().any(|l| l.contains(word)), "{word}: {got:?}");
    }
    assert!(!got.iter().any(|l| l.starts_with("  keys")), "{got:?}");
    let got = ask(&mut h, c, "help keys");
    assert!(got.iter().any(|l| l.contains("no keys")), "{got:?}");
    let got = ask(&mut h, c, "frobnicate now");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("Unknown command 'frobnicate'"),
        "{got:?}"
    );
    assert!(
        got[0].contains("whoelse") && got[0].contains("help"),
        "{got:?}"
    );
    assert!(!got[0].contains("keys"), "{got:?}");
}

#[test]
fn keys_private_chats_and_acknowledgements_are_refused_with_the_reason() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    let got = ask(&mut h, c, "keys claim bob");
    assert!(
        got[0].contains("End-to-end encryption is a natter-client feature"),
        "{got:?}"
    );
    let got = ask(&mut h, c, "startprivate bob");
    assert!(got[0].contains("Private chats"), "{got:?}");
    let got = ask(&mut h, c, "acks on");
    assert!(
        got[0].contains("acknowledges your messages for you"),
        "{got:?}"
    );
    // Nothing reached the core: still no acknowledgements asked of the client.
    let bob = h.login("bob", "bpw");
    h.send(bob, "receipts on");
    h.take(bob);
    h.send(bob, "message alice hi");
    assert!(h.take_irc(c).contains("PRIVMSG alice :hi"));
    assert!(
        h.take(bob)
            .iter()
            .any(|m| matches!(m, crate::protocol::ServerMsg::Delivered { .. })),
        "written is delivered, as before"
    );
}

#[test]
fn passwd_takes_both_passwords_and_a_refused_new_one_holds_other_lines_back() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    let got = ask(&mut h, c, "passwd nope x-new-secret-1");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].to_lowercase().contains("current password"),
        "{got:?}"
    );
    let got = ask(&mut h, c, "passwd apw");
    assert!(got[0].starts_with("Usage: /msg natter passwd"), "{got:?}");
    // A new password the policy refuses: the core asks again, and nothing else may reach it.
    let got = ask(&mut h, c, "passwd apw alice");
    assert!(got.len() >= 2, "{got:?}");
    assert!(got.last().unwrap().contains("passwd NEW"), "{got:?}");
    h.send(c, "PRIVMSG bob :this is no password");
    let got = h.take_irc(c);
    assert!(got.contains("waits for your new password"), "{got}");
    let got = ask(&mut h, c, "passwd Str0nger-Secret-2");
    assert!(got[0].contains("alice"), "{got:?}");
    // The new password logs in, over either protocol.
    h.send(c, "QUIT");
    let d = register(&mut h, "alice", Some("Str0nger-Secret-2"), "");
    assert!(!h.is_closed(d));
}

#[test]
fn quit_while_a_new_password_is_awaited_closes_without_setting_it() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    ask(&mut h, c, "passwd apw alice");
    h.send(c, "QUIT :bye");
    assert!(h.is_closed(c));
    let d = register(&mut h, "alice", Some("apw"), "");
    assert!(!h.is_closed(d));
}

#[test]
fn the_service_nick_is_no_guests_and_no_accounts() {
    let mut h = harness();
    for nick in ["natter", "NATTER", "Natter"] {
        let c = h.irc_connect();
        h.send(c, &format!("NICK {nick}"));
        h.send(c, "USER x 0 * :x");
        let got = h.take_irc(c);
        assert!(got.contains(&format!(" 432 * {nick} ")), "{got}");
        assert!(got.contains("reserved"), "{got}");
    }
    let creds = crate::server::credentials::parse_credentials("natter pw\n");
    assert!(creds.is_err(), "{creds:?}");
}

#[test]
fn a_notice_to_the_service_gets_no_reply() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    h.send(c, "NOTICE natter :whoelse");
    assert_eq!(h.take_irc(c), "");
}

#[test]
fn a_guest_may_ask_but_not_change_a_password() {
    let mut h = harness();
    let c = register(&mut h, "zed", None, "");
    assert_eq!(ask(&mut h, c, "whoelse"), ["* Nobody else is online."]);
    let got = ask(&mut h, c, "passwd a b");
    assert!(got[0].contains("needs an account"), "{got:?}");
}

#[test]
fn help_and_helpop_answer_with_704_705_706_and_524_for_an_unknown_subject() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    for command in ["HELP", "HELPOP"] {
        for (subject, shown) in [("", "*"), ("PRIVMSG", "PRIVMSG"), ("whoelse", "whoelse")] {
            h.send(c, &format!("{command} {subject}"));
            let got = h.take_irc(c);
            let lines: Vec<&str> = got.split("\r\n").filter(|l| !l.is_empty()).collect();
            assert!(lines.len() >= 3, "{got}");
            assert!(
                lines[0].starts_with(&format!(":natter 704 alice {shown} :")),
                "{got}"
            );
            assert!(
                lines[lines.len() - 1].starts_with(&format!(":natter 706 alice {shown} :")),
                "{got}"
            );
            for l in &lines[1..lines.len() - 1] {
                assert!(
                    l.starts_with(&format!(":natter 705 alice {shown} :")),
                    "{l}"
                );
                assert!(l.len() + 2 <= 512, "{l}");
            }
        }
        h.send(c, &format!("{command} THISISNOTACOMMAND"));
        assert_eq!(
            h.take_irc(c),
            ":natter 524 alice THISISNOTACOMMAND :No help available on this topic (HELP alone lists what there is)\r\n"
        );
    }
}
