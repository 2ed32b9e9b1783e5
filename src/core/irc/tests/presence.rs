//! Presence over IRC on the harness: `MONITOR` shows natter's logins and logouts of the nicks asked
//! about (a user who blocked the asker shows offline, as natter's own presence lines hide them),
//! `AWAY` is the core's away (306/305, 301 on a message, `AWAY` lines for `away-notify`), and a
//! natter-protocol user sees an IRC user's away and is told why on messaging them.

use super::kit::{open_harness, register, say};
use crate::protocol::ServerMsg;
use crate::server::ConnId;
use crate::server::harness::Harness;

/// `nick` registered (with `pass`: the account's), asking for `caps`; its welcome taken.
fn irc(h: &mut Harness, nick: &str, pass: Option<&str>, caps: &[&str]) -> ConnId {
    register(h, nick, pass, &caps.join(" "))
}

#[test]
fn monitor_is_advertised_and_answers_online_and_offline() {
    let mut h = open_harness();
    let c = h.irc_connect();
    say(&mut h, c, &["NICK zed", "USER z 0 * :Z"]);
    assert!(h.take_irc(c).contains(" MONITOR=100 "));
    let _bob = h.login("bob", "bpw");
    h.take_irc(c);
    say(&mut h, c, &["MONITOR + Bob,carol"]);
    assert_eq!(
        h.take_irc(c),
        ":natter 730 zed :bob!bob@natter\r\n:natter 731 zed :carol\r\n"
    );
    // carol's login and logout are said; alice's, not monitored, are not.
    let carol = h.login("carol", "cpw");
    assert_eq!(h.take_irc(c), ":natter 730 zed :carol!carol@natter\r\n");
    let alice = h.login("alice", "apw");
    h.send(alice, "logout");
    assert_eq!(h.take_irc(c), "");
    h.send(carol, "logout");
    assert_eq!(h.take_irc(c), ":natter 731 zed :carol\r\n");
    say(&mut h, c, &["MONITOR L"]);
    assert_eq!(
        h.take_irc(c),
        ":natter 732 zed :Bob,carol\r\n:natter 733 zed :End of MONITOR list\r\n"
    );
    say(&mut h, c, &["MONITOR S"]);
    assert_eq!(
        h.take_irc(c),
        ":natter 730 zed :bob!bob@natter\r\n:natter 731 zed :carol\r\n"
    );
    say(&mut h, c, &["MONITOR - bob", "MONITOR + a!b@c"]);
    assert!(h.take_irc(c).starts_with(":natter 432 zed a!b@c :"));
    say(&mut h, c, &["MONITOR C", "MONITOR L"]);
    assert_eq!(h.take_irc(c), ":natter 733 zed :End of MONITOR list\r\n");
}

#[test]
fn a_user_who_blocked_the_watcher_shows_offline_to_it() {
    let mut h = open_harness();
    let a = irc(&mut h, "alice", Some("apw"), &[]);
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.take_irc(a);
    say(&mut h, a, &["MONITOR + bob"]);
    assert_eq!(h.take_irc(a), ":natter 731 alice :bob\r\n");
    // Nor are bob's comings and goings told to alice.
    h.send(bob, "logout");
    let bob = h.login("bob", "bpw");
    assert_eq!(h.take_irc(a), "");
    h.send(bob, "unblock alice");
    say(&mut h, a, &["MONITOR S"]);
    assert_eq!(h.take_irc(a), ":natter 730 alice :bob!bob@natter\r\n");
}

#[test]
fn away_is_the_cores_and_a_message_to_an_away_user_is_301() {
    let mut h = open_harness();
    let a = irc(&mut h, "alice", Some("apw"), &[]);
    let bob = h.login("bob", "bpw");
    h.take(bob);
    say(&mut h, a, &["AWAY :at lunch"]);
    assert_eq!(
        h.take_irc(a),
        ":natter 306 alice :You have been marked as being away\r\n"
    );
    // natter's own protocol sees it, and is told why on messaging her.
    assert!(h.take(bob).contains(&ServerMsg::PresenceAway {
        user: "alice".into(),
        reason: "at lunch".into()
    }));
    h.send(bob, "message alice hi");
    assert!(h.take(bob).contains(&ServerMsg::RecipientAway {
        user: "alice".into(),
        reason: "at lunch".into()
    }));
    // An IRC user messaging an away natter user gets 301.
    h.send(bob, "away in a meeting");
    h.take_irc(a);
    say(&mut h, a, &["PRIVMSG bob :ping"]);
    assert_eq!(h.take_irc(a), ":natter 301 alice bob :in a meeting\r\n");
    say(&mut h, a, &["AWAY :"]);
    assert_eq!(
        h.take_irc(a),
        ":natter 305 alice :You are no longer marked as being away\r\n"
    );
    h.take(bob);
    h.send(bob, "message alice back?");
    assert!(
        !h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::RecipientAway { .. }))
    );
}

#[test]
fn away_notify_says_others_away_changes_once_each() {
    let mut h = open_harness();
    let a = irc(&mut h, "alice", Some("apw"), &["away-notify"]);
    let plain = irc(&mut h, "zed", None, &[]);
    let bob = h.login("bob", "bpw");
    h.take_irc(a);
    h.take_irc(plain);
    h.send(bob, "away gone fishing");
    assert_eq!(h.take_irc(a), ":bob!bob@natter AWAY :gone fishing\r\n");
    assert_eq!(h.take_irc(plain), "", "no away-notify, no AWAY");
    // Joining a channel she is in does not say it again: she was told.
    say(&mut h, a, &["JOIN #team"]);
    h.take_irc(a);
    h.send(bob, "group join team");
    let got = h.take_irc(a);
    assert_eq!(got.matches(" AWAY ").count(), 0, "{got}");
    h.send(bob, "away");
    assert_eq!(h.take_irc(a), ":bob!bob@natter AWAY\r\n");
}

#[test]
fn away_does_not_travel_between_a_blocker_and_whom_they_block() {
    let mut h = open_harness();
    let a = irc(&mut h, "alice", Some("apw"), &["away-notify"]);
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.take_irc(a);
    h.send(bob, "away hiding");
    assert_eq!(h.take_irc(a), "", "bob blocked alice: his away is not told");
    // A message to a user who blocked the sender is refused, with no away reason.
    say(&mut h, a, &["PRIVMSG bob :hello"]);
    assert!(!h.take_irc(a).contains(" 301 "));
    // The other way: carol blocked bob; her message reaches him, his away reason does not reach her.
    let carol = h.login("carol", "cpw");
    h.send(carol, "block bob");
    h.take(carol);
    h.send(carol, "message bob hello");
    assert!(
        !h.take(carol)
            .iter()
            .any(|m| matches!(m, ServerMsg::RecipientAway { .. }))
    );
}

#[test]
fn userhost_says_who_is_online_and_who_is_away() {
    let mut h = open_harness();
    let a = irc(&mut h, "alice", Some("apw"), &[]);
    let bob = h.login("bob", "bpw");
    h.take_irc(a);
    h.send(a, "USERHOST bob carol alice");
    assert_eq!(
        h.take_irc(a),
        ":natter 302 alice :bob=+bob@natter alice=+alice@natter\r\n"
    );
    h.send(bob, "away out");
    h.send(a, "AWAY :me too");
    h.take_irc(a);
    h.send(a, "USERHOST bob alice");
    assert_eq!(
        h.take_irc(a),
        ":natter 302 alice :bob=-bob@natter alice=-alice@natter\r\n"
    );
}
