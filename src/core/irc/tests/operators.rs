//! The server's operator over IRC on the harness: `OPER` (the core's `oper` and the password line),
//! `381` and `MODE +o`, `464`, the `*` of `WHO` and the `313` of `WHOIS`, `KILL` and `WALLOPS` (and
//! `481` to anyone else), a `PING` answered only after the `OPER` it follows; and the bot mode,
//! kept by the core (`B` in `WHO`, `335`, the `bot` tag).

use super::kit::register;
use crate::server::harness::Harness;
use crate::server::{Account, Config};

fn harness() -> Harness {
    Harness::new(
        Config {
            guests: true,
            operators: vec![Account {
                username: "operuser".into(),
                password: crate::password::hash(
                    "operpassword",
                    &[9; 16],
                    crate::password::Strength::Minimal,
                ),
            }],
            ..Config::default()
        },
        &[("alice", "apw")],
    )
}

#[test]
fn oper_says_381_and_mode_o_and_who_and_whois_show_it() {
    let mut h = harness();
    let op = register(&mut h, "baz", None, "");
    let other = register(&mut h, "qux", None, "");
    h.take_irc(op);
    h.send(op, "OPER operuser nottheoperpassword");
    assert_eq!(h.take_irc(op), ":natter 464 baz :Password incorrect\r\n");
    h.send(op, "OPER operuser");
    assert_eq!(
        h.take_irc(op),
        ":natter 461 baz OPER :Not enough parameters\r\n"
    );
    h.send(op, "OPER operuser operpassword");
    assert_eq!(
        h.take_irc(op),
        ":natter 381 baz :You are now an IRC operator\r\n:baz!baz@natter MODE baz +o\r\n"
    );
    h.send(op, "MODE baz");
    assert_eq!(h.take_irc(op), ":natter 221 baz +o\r\n");
    h.take_irc(other);
    h.send(other, "WHO baz");
    assert!(h.take_irc(other).contains(" baz H* :0 "));
    h.send(other, "WHOIS baz");
    assert!(
        h.take_irc(other)
            .contains(":natter 313 qux baz :is an IRC operator\r\n")
    );
    h.send(op, "WHO qux");
    assert!(h.take_irc(op).contains(" qux H :0 "));
}

#[test]
fn a_ping_after_oper_is_answered_after_the_verdict() {
    let mut h = harness().manual_jobs();
    let op = register(&mut h, "baz", None, "");
    h.take_irc(op);
    h.send(op, "OPER operuser operpassword");
    h.send(op, "PING sync");
    assert_eq!(h.take_irc(op), "", "the PONG waits for the password check");
    h.answer_jobs();
    assert_eq!(
        h.take_irc(op),
        ":natter 381 baz :You are now an IRC operator\r\n:baz!baz@natter MODE baz +o\r\n\
         :natter PONG natter :sync\r\n"
    );
    h.send(op, "PING again");
    assert_eq!(h.take_irc(op), ":natter PONG natter :again\r\n");
    // Two OPERs at once: each PONG waits for the OPERs sent before it, and no longer.
    h.send(op, "OPER operuser operpassword");
    h.send(op, "PING one");
    h.send(op, "OPER operuser wrong");
    h.send(op, "PING two");
    assert_eq!(h.take_irc(op), "");
    h.answer_jobs();
    assert_eq!(
        h.take_irc(op),
        ":natter 381 baz :You are now an IRC operator\r\n:baz!baz@natter MODE baz +o\r\n\
         :natter PONG natter :one\r\n:natter 464 baz :Password incorrect\r\n\
         :natter PONG natter :two\r\n"
    );
}

#[test]
fn kill_and_wallops_are_the_operators_and_481_for_anyone_else() {
    let mut h = harness();
    let op = register(&mut h, "ircop", None, "");
    let alice = register(&mut h, "bo", None, "");
    let bob = register(&mut h, "bob", None, "");
    h.send(alice, "KILL bob :some arbitrary reason");
    assert!(
        h.take_irc(alice)
            .contains(":natter 481 bo :Permission Denied- You're not an IRC operator\r\n")
    );
    h.send(alice, "WALLOPS :hi");
    assert!(h.take_irc(alice).contains(" 481 "));
    h.send(op, "OPER operuser operpassword");
    h.take_irc(op);
    h.take_irc(bob);
    h.send(op, "WALLOPS :hi everyone");
    assert_eq!(
        h.take_irc(op),
        ":ircop!ircop@natter WALLOPS :hi everyone\r\n"
    );
    assert_eq!(h.take_irc(bob), "", "not an operator");
    h.send(op, "KILL bob :some arbitrary reason");
    let got = h.take_irc(bob);
    assert!(
        got.contains("killed by ircop: some arbitrary reason")
            && got.contains("ERROR :Closing link: bob"),
        "{got}"
    );
    assert!(h.is_closed(bob));
    h.send(op, "KILL nobody");
    assert!(h.take_irc(op).contains(" 401 ircop nobody "));
}

#[test]
fn the_bot_mode_is_the_sessions_in_the_core_who_whois_and_the_bot_tag_show_it() {
    let mut h = harness();
    let bot = register(&mut h, "robo", None, "");
    let user = h.irc_connect();
    h.send(user, "CAP REQ :message-tags");
    h.send(user, "CAP END");
    h.send(user, "NICK pat");
    h.send(user, "USER pat 0 * :pat");
    h.take_irc(user);
    h.send(bot, "MODE robo +B");
    assert_eq!(h.take_irc(bot), ":robo!robo@natter MODE robo +B\r\n");
    h.send(user, "WHO robo");
    assert!(h.take_irc(user).contains(" robo HB :0 "));
    h.send(user, "WHOIS robo");
    assert!(
        h.take_irc(user)
            .contains(":natter 335 pat robo :is a bot\r\n")
    );
    h.send(bot, "PRIVMSG pat :beep boop");
    let got = h.take_irc(user);
    assert!(
        got.starts_with("@") && got.contains("bot") && got.contains(" PRIVMSG pat :beep boop"),
        "{got}"
    );
    h.send(bot, "MODE robo -B");
    h.take_irc(bot);
    h.send(user, "WHO robo");
    assert!(h.take_irc(user).contains(" robo H :0 "));
}
