//! CTCP across natter: an IRC action is natter's `/me` (which the natter client shows as an action)
//! and a natter `/me` reaches IRC as `\x01ACTION …\x01`, in direct messages, groups and kept messages;
//! other CTCP requests and replies pass between IRC users untouched.

use super::kit::{harness_with, register};
use crate::protocol::ServerMsg;
use crate::server::Config;
use crate::server::harness::Harness;

fn harness() -> Harness {
    harness_with(Config {
        timeout_secs: 300,
        ..Config::default()
    })
}

fn texts(msgs: &[ServerMsg]) -> Vec<&str> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Message { text, .. }
            | ServerMsg::GroupMessage { text, .. }
            | ServerMsg::OfflineMessage { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_irc_action_is_a_natter_me_and_back() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    let bob = h.login("bob", "bpw");
    h.send(c, "PRIVMSG bob :\x01ACTION waves\x01");
    let got = h.take(bob);
    assert_eq!(texts(&got), ["/me waves"]);
    // The natter client shows it as an action.
    let shown = crate::client::display::render(&got[0].clone().into(), false);
    assert!(shown.ends_with("* alice waves"), "{shown}");
    h.send(bob, "message alice /me waves back");
    assert_eq!(
        h.take_irc(c),
        ":bob!bob@natter PRIVMSG alice :\x01ACTION waves back\x01\r\n"
    );
}

#[test]
fn actions_in_groups_and_kept_messages_too() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    let bob = h.login("bob", "bpw");
    h.send(c, "JOIN #crew");
    h.send(bob, "group join crew");
    h.take_irc(c);
    h.take(bob);
    h.send(c, "PRIVMSG #crew :\x01ACTION dances\x01");
    assert_eq!(texts(&h.take(bob)), ["/me dances"]);
    h.send(bob, "message group crew /me bows");
    assert!(
        h.take_irc(c)
            .contains(":bob!bob@natter PRIVMSG #crew :\x01ACTION bows\x01\r\n")
    );
    // Kept for alice while she is away, an action is still one at her next login.
    h.send(c, "QUIT");
    h.send(bob, "message alice /me knocks");
    let c = h.irc_connect();
    for l in ["PASS apw", "NICK alice", "USER a 0 * :a"] {
        h.send(c, l);
    }
    assert!(
        h.take_irc(c)
            .contains(":bob!bob@natter PRIVMSG alice :\x01ACTION knocks\x01\r\n")
    );
}

#[test]
fn a_long_action_is_cut_into_actions_each_within_512_bytes() {
    let mut h = harness();
    let c = register(&mut h, "alice", Some("apw"), "");
    let bob = h.login("bob", "bpw");
    let long = "x".repeat(900);
    h.send(bob, &format!("message alice /me {long}"));
    let got = h.take_irc(c);
    let lines: Vec<&str> = got.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{got}");
    let mut joined = String::new();
    for l in lines {
        assert!(l.len() + 2 <= 512, "{}", l.len());
        let text = l.split_once(" :").unwrap().1;
        let inner = text
            .strip_prefix("\x01ACTION ")
            .and_then(|t| t.strip_suffix('\x01'))
            .unwrap_or_else(|| panic!("not an action: {text:?}"));
        joined.push_str(inner);
    }
    assert_eq!(joined, long);
}

#[test]
fn other_ctcp_passes_between_irc_users_untouched_a_reply_stays_a_notice() {
    let mut h = harness();
    let a = register(&mut h, "alice", Some("apw"), "");
    let b = register(&mut h, "bob", Some("bpw"), "");
    h.send(a, "PRIVMSG bob :\x01VERSION\x01");
    assert_eq!(
        h.take_irc(b),
        ":alice!alice@natter PRIVMSG bob :\x01VERSION\x01\r\n"
    );
    h.send(b, "NOTICE alice :\x01VERSION irssi 1.4.3\x01");
    assert_eq!(
        h.take_irc(a),
        ":bob!bob@natter NOTICE alice :\x01VERSION irssi 1.4.3\x01\r\n"
    );
    h.send(a, "PRIVMSG bob :\x01PING 1700000000 123\x01");
    assert_eq!(
        h.take_irc(b),
        ":alice!alice@natter PRIVMSG bob :\x01PING 1700000000 123\x01\r\n"
    );
    // A natter client sees the request as words, not control characters.
    let carol = h.login("carol", "cpw");
    h.send(a, "PRIVMSG carol :\x01VERSION\x01");
    assert_eq!(texts(&h.take(carol)), ["/ctcp VERSION"]);
}
