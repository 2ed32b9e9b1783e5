//! `account-tag` and `extended-join` on the harness: a message or a join from an account says
//! its account, one from a guest says none, and only to the clients that asked.

use super::kit::{harness, register, say, tag};

#[test]
fn a_message_says_its_sender_s_account_and_a_guest_s_says_none() {
    let mut h = harness();
    let alice = register(&mut h, "alice", Some("apw"), "account-tag echo-message");
    let guest = register(&mut h, "visitor", None, "account-tag");
    let plain = register(&mut h, "plain", None, "server-time");
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
    let alice = register(&mut h, "alice", Some("apw"), "extended-join");
    let plain = register(&mut h, "plain", None, "");
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
