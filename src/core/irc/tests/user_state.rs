//! The user's own state over IRC on the harness: `SETNAME` (the core's `realname`, told to those
//! who see the user, said as `SETNAME` to clients with the `setname` capability) and the bot mode
//! (`MODE me +B`, advertised as `BOT=B`).

use super::kit::register;
use crate::protocol::ServerMsg;
use crate::server::harness::Harness;
use crate::server::{Config, ConnId};

fn harness() -> Harness {
    Harness::new(
        Config {
            guests: true,
            ..Config::default()
        },
        &[("alice", "apw")],
    )
}

/// A guest `nick` registered, asking for `caps`; its welcome taken.
fn guest(h: &mut Harness, nick: &str, caps: &[&str]) -> ConnId {
    register(h, nick, None, &caps.join(" "))
}

#[test]
fn setname_is_told_to_clients_with_the_capability_and_to_natter_users() {
    let mut h = harness();
    let zed = guest(&mut h, "zed", &["setname"]);
    let pat = guest(&mut h, "pat", &["setname"]);
    let plain = guest(&mut h, "bo", &[]);
    let alice = h.login("alice", "apw");
    h.take_irc(zed);
    h.take_irc(pat);
    h.take_irc(plain);
    h.send(zed, "SETNAME :Zed Zimmer");
    assert_eq!(h.take_irc(zed), ":zed!zed@natter SETNAME :Zed Zimmer\r\n");
    assert_eq!(h.take_irc(pat), ":zed!zed@natter SETNAME :Zed Zimmer\r\n");
    assert_eq!(h.take_irc(plain), "");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::RealName {
            user: "zed".into(),
            text: "Zed Zimmer".into()
        }]
    );
    h.send(zed, "SETNAME :");
    assert!(
        h.take_irc(zed)
            .starts_with(":natter FAIL SETNAME INVALID_REALNAME :")
    );
}

#[test]
fn the_bot_mode_is_set_on_oneself_i_and_w_are_accepted_and_other_modes_are_501() {
    let mut h = harness();
    let c = h.irc_connect();
    h.send(c, "NICK robo");
    h.send(c, "USER r 0 * :R");
    assert!(h.take_irc(c).contains(" BOT=B "));
    h.send(c, "MODE robo +B");
    assert_eq!(h.take_irc(c), ":robo!robo@natter MODE robo +B\r\n");
    h.send(c, "MODE robo");
    assert_eq!(h.take_irc(c), ":natter 221 robo +B\r\n");
    h.send(c, "MODE robo +B");
    assert_eq!(h.take_irc(c), "", "no change, nothing said");
    h.send(c, "MODE robo +x-B");
    assert_eq!(
        h.take_irc(c),
        ":natter 501 robo :Unknown MODE flag: natter's user modes are +B (bot), and +i and +w (accepted, with no effect)\r\n:robo!robo@natter MODE robo -B\r\n"
    );
    // `+i` (irssi sets it at every connection) and `+w` are accepted and shown, and change nothing.
    h.send(c, "MODE robo +iw");
    assert_eq!(h.take_irc(c), ":robo!robo@natter MODE robo +i+w\r\n");
    h.send(c, "MODE robo");
    assert_eq!(h.take_irc(c), ":natter 221 robo +iw\r\n");
    h.send(c, "MODE robo -w");
    assert_eq!(h.take_irc(c), ":robo!robo@natter MODE robo -w\r\n");
    h.send(c, "MODE someone +B");
    assert!(h.take_irc(c).starts_with(":natter 502 robo someone "));
}
