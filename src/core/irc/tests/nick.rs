//! A nick change after registration on the harness: a guest takes another free name (the core's
//! `nick`), told as `NICK` to itself and to those sharing a channel, as a logout and a login to the
//! others who see it (`MONITOR`), and not at all for a change of letter case; a held name is 433,
//! an account's nick cannot change (447). And a line that is not UTF-8 is `FAIL … INVALID_UTF8`.

use super::kit::{open_harness, register};
use crate::protocol::{ErrorReply, ServerMsg};

#[test]
fn a_guest_changes_nick_and_channel_peers_and_watchers_are_told() {
    let mut h = open_harness();
    let zed = register(&mut h, "zed", None, "");
    let peer = register(&mut h, "pat", None, "");
    let watcher = register(&mut h, "wat", None, "");
    let bob = h.login("bob", "bpw");
    h.send(zed, "JOIN #room");
    h.send(peer, "JOIN #room");
    h.send(watcher, "MONITOR + zed,zoe");
    h.take_irc(zed);
    h.take_irc(peer);
    h.take_irc(watcher);
    h.take(bob);
    h.send(zed, "NICK zoe");
    assert_eq!(h.take_irc(zed), ":zed!zed@natter NICK :zoe\r\n");
    assert_eq!(h.take_irc(peer), ":zed!zed@natter NICK :zoe\r\n");
    assert_eq!(
        h.take_irc(watcher),
        ":natter 731 wat :zed\r\n:natter 730 wat :zoe!zoe@natter\r\n"
    );
    // natter's protocol: bob shares no group, so he sees zed leave and zoe arrive.
    assert_eq!(
        h.take(bob),
        vec![
            ServerMsg::Presence {
                user: "zed".into(),
                online: false
            },
            ServerMsg::Presence {
                user: "zoe".into(),
                online: true
            },
        ]
    );
    // The new name is the guest's: messages reach it, and the old one is free.
    h.send(bob, "message zoe hi");
    assert!(
        h.take_irc(zed)
            .contains(":bob!bob@natter PRIVMSG zoe :hi\r\n")
    );
    h.send(bob, "message zed hi");
    assert!(
        h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::Error(ErrorReply::NoSuchUser { .. })))
    );
    // A change of letter case: NICK to itself and peers, nothing to the others.
    h.send(zed, "NICK Zoe");
    assert_eq!(h.take_irc(zed), ":zoe!zoe@natter NICK :Zoe\r\n");
    assert_eq!(h.take_irc(watcher), "");
    assert_eq!(h.take(bob), vec![]);
    // The same nick again is nothing.
    h.send(zed, "NICK Zoe");
    assert_eq!(h.take_irc(zed), "");
}

#[test]
fn a_held_name_is_433_and_an_accounts_nick_is_447() {
    let mut h = open_harness();
    let zed = register(&mut h, "zed", None, "");
    let _pat = register(&mut h, "pat", None, "");
    h.send(zed, "NICK pat");
    assert!(h.take_irc(zed).starts_with(":natter 433 zed pat :"));
    h.send(zed, "NICK alice");
    assert!(h.take_irc(zed).starts_with(":natter 433 zed alice :"));
    h.send(zed, "NICK Pat");
    assert!(h.take_irc(zed).starts_with(":natter 433 zed Pat :"));
    h.send(zed, "NICK bad!nick");
    assert!(h.take_irc(zed).starts_with(":natter 432 zed bad!nick :"));
    // zed is still zed.
    let bob = h.login("bob", "bpw");
    h.send(bob, "message zed still you?");
    assert!(h.take_irc(zed).contains(" PRIVMSG zed :still you?"));
    let a = register(&mut h, "alice", Some("apw"), "");
    h.send(a, "NICK alicia");
    assert!(h.take_irc(a).starts_with(":natter 447 alice :"));
    // natter's protocol too.
    h.take(bob);
    h.send(bob, "nick bobby");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::Error(ErrorReply::NickIsAccount)]
    );
}

#[test]
fn a_line_that_is_not_utf8_is_fail_invalid_utf8() {
    let mut h = open_harness();
    let zed = register(&mut h, "zed", None, "");
    h.send_bytes(zed, b"PRIVMSG bob :hi\xaa");
    assert_eq!(
        h.take_irc(zed),
        ":natter FAIL PRIVMSG INVALID_UTF8 :Message rejected: it is not UTF-8 text (natter relays text only)\r\n"
    );
}

#[test]
fn a_guest_in_a_stored_group_is_recorded_leaving_under_the_old_name_and_joining_under_the_new() {
    use crate::server::Record;
    let mut h = open_harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "create group team");
    h.send(alice, "group mode team open");
    let zed = register(&mut h, "zed", None, "");
    h.send(zed, "JOIN #team");
    h.take_irc(zed);
    h.take(alice);
    h.send(zed, "NICK zoe");
    assert_eq!(h.take_irc(zed), ":zed!zed@natter NICK :zoe\r\n");
    // alice shares the group: she is told the new name.
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Renamed {
            from: "zed".into(),
            to: "zoe".into()
        }]
    );
    let tail: Vec<&Record> = h.records().iter().rev().take(2).collect();
    assert_eq!(
        tail,
        [
            &Record::GroupJoined {
                group: "team".into(),
                user: "zoe".into(),
                by: "zoe".into()
            },
            &Record::GroupLeft {
                group: "team".into(),
                user: "zed".into()
            },
        ]
    );
}
