//! Blocks as `SILENCE`: `+nick` blocks (messages and presence hidden, kept across logins), `-nick`
//! unblocks, the list (natter's `blocks`), and guests refused with the reason; `SILENCE` in ISUPPORT.

use super::kit::harness;
use crate::protocol::ServerMsg;
use crate::server::ConnId;
use crate::server::harness::Harness;

/// `nick` registered (with `pass`: the account's); its welcome.
fn register(h: &mut Harness, nick: &str, pass: Option<&str>) -> (ConnId, String) {
    let (c, got) = super::kit::welcome(h, nick, pass, "");
    assert!(got.contains(" 001 "), "{got}");
    (c, got)
}

#[test]
fn silence_is_advertised_and_blocks_messages_and_presence_until_undone() {
    let mut h = harness();
    let (c, welcome) = register(&mut h, "alice", Some("apw"));
    assert!(welcome.contains(" SILENCE "), "{welcome}");
    h.send(c, "SILENCE +bob");
    assert_eq!(h.take_irc(c), ":alice!alice@natter SILENCE +bob!*@*\r\n");
    // bob is blocked: his message is refused to him, and alice sees nothing of it.
    let bob = h.login("bob", "bpw");
    h.send(bob, "message alice hi");
    assert!(
        h.take(bob).iter().any(|m| matches!(m, ServerMsg::Error(_))),
        "bob is told he is blocked"
    );
    assert_eq!(h.take_irc(c), "");
    assert!(h.state().has_blocked("alice", "bob"));
    // The list says so.
    h.send(c, "SILENCE");
    let got = h.take_irc(c);
    assert!(
        got.starts_with(":natter 271 alice alice bob!*@*\r\n"),
        "{got}"
    );
    assert!(
        got.ends_with(" 272 alice :End of Silence List\r\n"),
        "{got}"
    );
    // A mask naming the nick undoes it.
    h.send(c, "SILENCE -bob!*@*");
    assert_eq!(h.take_irc(c), ":alice!alice@natter SILENCE -bob!*@*\r\n");
    h.send(bob, "message alice back");
    assert!(
        h.take_irc(c)
            .contains(":bob!bob@natter PRIVMSG alice :back")
    );
}

#[test]
fn a_block_made_over_irc_holds_on_natters_protocol_across_logins() {
    let mut h = harness();
    let (c, _) = register(&mut h, "alice", Some("apw"));
    h.send(c, "SILENCE bob");
    h.take_irc(c);
    h.send(c, "QUIT");
    let alice = h.login("alice", "apw");
    h.send(alice, "blocks");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Blocks {
            users: vec!["bob".into()]
        }]
    );
    h.send(alice, "logout");
    // And the other way: a block made on natter's protocol is in SILENCE's list.
    let (c, _) = register(&mut h, "alice", Some("apw"));
    h.send(c, "SILENCE");
    assert_eq!(
        h.take_irc(c),
        ":natter 271 alice alice bob!*@*\r\n:natter 272 alice :End of Silence List\r\n"
    );
    h.send(c, "SILENCE -bob");
    h.take_irc(c);
    h.send(c, "SILENCE");
    assert_eq!(h.take_irc(c), ":natter 272 alice :End of Silence List\r\n");
}

#[test]
fn silence_refusals_say_why() {
    let mut h = harness();
    let (c, _) = register(&mut h, "alice", Some("apw"));
    h.send(c, "SILENCE +nobody");
    assert!(h.take_irc(c).contains(" 401 alice nobody "));
    h.send(c, "SILENCE +*!*@evil.example");
    let got = h.take_irc(c);
    assert!(got.contains("by their nick"), "{got}");
    h.send(c, "SILENCE -bob");
    let got = h.take_irc(c);
    assert!(got.contains("NOTICE alice :"), "{got}");
    assert!(!got.contains("SILENCE -bob"), "{got}");
}

#[test]
fn a_guest_is_refused_silence_with_the_reason() {
    let mut h = harness();
    let (c, _) = register(&mut h, "zed", None);
    h.send(c, "SILENCE +bob");
    let got = h.take_irc(c);
    assert!(got.contains("SILENCE needs a natter account"), "{got}");
    h.send(c, "SILENCE");
    assert!(h.take_irc(c).contains(" 272 zed "));
}
