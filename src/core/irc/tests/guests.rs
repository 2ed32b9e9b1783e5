//! Guests over IRC (`login::guest`): with the operator's `guests` on, a client that gives no `PASS`
//! registers under any free nick that is no account's; an account's nick is 433 and another may be
//! tried; without guests, no `PASS` is still 464.

use super::kit::{ACCOUNTS, codes, harness, say};
use crate::protocol::ServerMsg;
use crate::server::Config;
use crate::server::harness::Harness;

#[test]
fn a_guest_registers_with_nick_and_user_and_chats_with_a_natter_user() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let c = h.irc_connect();
    say(&mut h, c, &["NICK zed", "USER zed 0 * :Zed"]);
    let got = h.take_irc(c);
    assert_eq!(
        codes(&got),
        [
            "001", "002", "003", "004", "005", "005", "251", "253", "254", "255", "265", "266",
            "422"
        ],
        "{got}"
    );
    assert!(got.contains(":natter 001 zed "), "{got}");
    h.take(alice);
    say(&mut h, c, &["PRIVMSG alice :hello from irc"]);
    assert!(h.take(alice).iter().any(|m| matches!(
        m,
        ServerMsg::Message { from, text, .. } if &**from == "zed" && text == "hello from irc"
    )));
    h.send(alice, "message zed hello back");
    assert!(
        h.take_irc(c)
            .contains(":alice!alice@natter PRIVMSG zed :hello back\r\n")
    );
}

#[test]
fn an_accounts_nick_is_433_for_a_guest_and_another_nick_may_be_tried() {
    let mut h = harness();
    let c = h.irc_connect();
    say(&mut h, c, &["NICK alice", "USER a 0 * :A"]);
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["433"], "{got}");
    assert!(got.contains(":natter 433 * alice :"), "{got}");
    assert!(!h.is_closed(c));
    assert!(h.state().online_users().is_empty());
    say(&mut h, c, &["NICK Bob"]);
    assert_eq!(codes(&h.take_irc(c)), ["433"]);
    say(&mut h, c, &["NICK bad!nick"]);
    assert_eq!(codes(&h.take_irc(c)), ["432"]);
    say(&mut h, c, &["NICK zed"]);
    assert!(h.take_irc(c).contains(" 001 zed "));
    // The account still logs in with its password.
    let d = h.irc_connect();
    say(&mut h, d, &["PASS apw", "NICK alice", "USER a 0 * :A"]);
    assert!(h.take_irc(d).contains(" 001 alice "));
}

#[test]
fn an_online_guests_nick_is_433_and_free_again_once_it_quits() {
    let mut h = harness();
    let c = h.irc_connect();
    say(&mut h, c, &["NICK zed", "USER z 0 * :Z"]);
    h.take_irc(c);
    let d = h.irc_connect();
    say(&mut h, d, &["NICK zed", "USER z 0 * :Z"]);
    assert_eq!(codes(&h.take_irc(d)), ["433"]);
    say(&mut h, c, &["QUIT :bye"]);
    assert!(h.is_closed(c));
    say(&mut h, d, &["NICK zed"]);
    assert!(h.take_irc(d).contains(" 001 zed "));
}

#[test]
fn without_guests_no_password_is_still_464() {
    let mut h = Harness::new(Config::default(), ACCOUNTS);
    let c = h.irc_connect();
    say(&mut h, c, &["NICK zed", "USER z 0 * :Z"]);
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["464"], "{got}");
    assert!(got.contains("ERROR :Closing link: zed"), "{got}");
    assert!(h.is_closed(c));
}
