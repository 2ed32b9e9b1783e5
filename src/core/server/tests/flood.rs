//! Flood control that holds across reconnects, with the default limits: the budget is the account's
//! and the address's, successful logins are rationed, `BYE flood` is followed by a cool-down, the
//! presence of a flapping user is not told at the rate of the loop, the protocol's bookkeeping lines
//! are never flooding, and a sender is told to slow down once per episode. New codes are checked as
//! the client reads them, on the wire.

use std::net::SocketAddr;

use super::*;
use crate::protocol::render_line;
use crate::server::ConnId;

/// The default limits, with the tests' short mailbox made long enough for a full one.
fn defaults() -> Config {
    Config {
        block_duration_secs: 60,
        timeout_secs: 600,
        ..Config::default()
    }
}

fn peer(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The lines as a client reads them.
fn wire(got: &[ServerMsg]) -> Vec<String> {
    got.iter()
        .map(|m| {
            String::from_utf8(render_line(m))
                .unwrap()
                .trim_end()
                .to_owned()
        })
        .collect()
}

fn count(got: &[ServerMsg], prefix: &str) -> usize {
    wire(got).iter().filter(|l| l.starts_with(prefix)).count()
}

/// Logs `user` in from `from`: the connection if it was welcomed, with what it was told either way.
fn try_login(
    h: &mut Harness,
    from: SocketAddr,
    user: &str,
    password: &str,
) -> (Option<ConnId>, Vec<ServerMsg>) {
    let c = h.connect_from(from);
    h.send(c, user);
    h.send(c, password);
    let got = h.take(c);
    let welcomed = got
        .iter()
        .any(|m| matches!(m, ServerMsg::Welcome { user: u } if &**u == user));
    if !welcomed {
        h.disconnect(c);
    }
    (welcomed.then_some(c), got)
}

#[test]
fn a_reconnect_loop_gets_no_fresh_burst_and_floods_nobody_with_presence() {
    let mut h = Harness::new(defaults(), ACCOUNTS);
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    let (mut delivered, mut presence, mut rounds) = (0, Vec::new(), 0);
    // The report's loop: log in, 49 messages, log out, and again once the server has said goodbye;
    // as fast as the server answers, for 10 s.
    let start = h.now();
    while h.now() < start.plus_secs(10) {
        let (alice, _) = try_login(&mut h, peer("10.9.0.1:1"), "alice", "apw");
        if let Some(alice) = alice {
            rounds += 1;
            for i in 0..49 {
                h.send(alice, &format!("message bob loop {i}"));
            }
            h.send(alice, "logout");
            while !h.is_closed(alice) && h.now() < start.plus_secs(10) {
                h.advance(10);
            }
        } else {
            h.advance(10);
        }
        delivered += count(&h.take(bob), "MSG alice");
        presence.extend(h.take(carol));
    }
    // A second for what was held to come out.
    h.advance_secs(1);
    delivered += count(&h.take(bob), "MSG alice");
    let budget = 50 + 20 * 11;
    assert!(
        delivered <= budget,
        "{delivered} messages in {rounds} rounds, more than one account's budget of {budget}"
    );
    let told = count(&presence, "PRESENCE alice");
    assert!(told <= 8, "carol was told of alice {told} times");
    // Once the loop stops, what carol was told last is true.
    h.advance_secs(30);
    presence.extend(h.take(carol));
    let last = wire(&presence)
        .into_iter()
        .rfind(|l| l.starts_with("PRESENCE alice"));
    let online = h.state().online_users().contains(&"alice");
    assert_eq!(
        last.as_deref(),
        Some(if online {
            "PRESENCE alice online"
        } else {
            "PRESENCE alice offline"
        })
    );
}

#[test]
fn successful_logins_are_rationed_per_account() {
    let mut h = Harness::new(defaults(), ACCOUNTS);
    for i in 0..10 {
        let (c, got) = try_login(&mut h, peer(&format!("10.9.1.{i}:1")), "alice", "apw");
        assert!(c.is_some(), "login {i}: {got:?}");
        h.send(c.unwrap(), "logout");
    }
    // The eleventh, from yet another address, is refused at the name, and told when to come back.
    let (c, got) = try_login(&mut h, peer("10.9.1.99:1"), "alice", "apw");
    assert!(c.is_none());
    assert!(
        wire(&got).contains(
            &"ERROR too-many-logins account 10 This account has logged in too often lately; try again in 10 s."
                .to_owned()
        ),
        "{got:?}"
    );
    // Nobody else is held back, and alice is let in once the refill comes.
    assert!(
        try_login(&mut h, peer("10.9.1.99:2"), "bob", "bpw")
            .0
            .is_some()
    );
    h.advance_secs(10);
    assert!(
        try_login(&mut h, peer("10.9.1.99:3"), "alice", "apw")
            .0
            .is_some()
    );
}

#[test]
fn successful_logins_are_rationed_per_address() {
    let accounts: Vec<(String, String)> =
        (0..8).map(|i| (format!("u{i}"), format!("p{i}"))).collect();
    let refs: Vec<(&str, &str)> = accounts.iter().map(|(u, p)| (&**u, &**p)).collect();
    // (New connections per address have a limit of their own, with a smaller burst: not this one.)
    let mut cfg = defaults();
    cfg.address_limits.connect_burst = 0;
    let mut h = Harness::new(cfg, &refs);
    let from = peer("10.9.2.1:1");
    let mut welcomed = 0;
    let mut refused = Vec::new();
    'outer: for _ in 0..8 {
        for (u, p) in &refs {
            match try_login(&mut h, from, u, p) {
                (Some(c), _) => {
                    welcomed += 1;
                    h.send(c, "logout");
                }
                (None, got) => {
                    refused = got;
                    break 'outer;
                }
            }
        }
    }
    assert_eq!(welcomed, 60, "the address's burst");
    assert!(
        wire(&refused)
            .iter()
            .any(|l| l.starts_with("ERROR too-many-logins address 1 ")),
        "{refused:?}"
    );
    // Another address is not held back.
    assert!(
        try_login(&mut h, peer("10.9.2.2:1"), "u7", "p7")
            .0
            .is_some()
    );
}

#[test]
fn bye_flood_is_followed_by_a_cool_down_for_the_account_and_its_address() {
    let mut h = Harness::new(defaults(), ACCOUNTS);
    let bob = h.login("bob", "bpw");
    let flooder = peer("10.9.3.1:1");
    let (alice, _) = try_login(&mut h, flooder, "alice", "apw");
    let alice = alice.unwrap();
    for i in 0..2000 {
        h.send(alice, &format!("message bob {i}"));
        if h.is_closed(alice) {
            break;
        }
    }
    assert!(h.is_closed(alice));
    assert_eq!(
        wire(&h.take(alice)).last().map(String::as_str),
        Some(
            "BYE flood 60 You kept sending far faster than the server allows; disconnecting. You can log in again in 60 s."
        )
    );
    // Neither the account, from anywhere, nor anyone from the address may log in for a while.
    let (c, got) = try_login(&mut h, peer("10.9.3.2:1"), "alice", "apw");
    assert!(c.is_none());
    assert!(
        wire(&got)
            .iter()
            .any(|l| l.starts_with("ERROR flood-cooldown account 60 ")),
        "{got:?}"
    );
    let (c, got) = try_login(&mut h, flooder, "carol", "cpw");
    assert!(c.is_none());
    assert!(
        wire(&got)
            .iter()
            .any(|l| l.starts_with("ERROR flood-cooldown address 60 ")),
        "{got:?}"
    );
    // Others elsewhere, and bob's session, are untouched.
    assert!(
        try_login(&mut h, peer("10.9.3.3:1"), "carol", "cpw")
            .0
            .is_some()
    );
    assert!(!h.is_closed(bob));
    h.advance_secs(30);
    let (_, got) = try_login(&mut h, peer("10.9.3.2:2"), "alice", "apw");
    assert!(
        wire(&got)
            .iter()
            .any(|l| l.starts_with("ERROR flood-cooldown account 30 ")),
        "the seconds left: {got:?}"
    );
    h.advance_secs(30);
    assert!(try_login(&mut h, flooder, "alice", "apw").0.is_some());
}

#[test]
fn a_flapping_user_is_announced_less_often_and_what_was_told_ends_up_true() {
    let mut h = Harness::new(defaults(), ACCOUNTS);
    let carol = h.login("carol", "cpw");
    h.clear_all();
    // Eight logins and logouts, 300 ms apart: sixteen changes.
    for i in 0..8 {
        let (alice, _) = try_login(&mut h, peer(&format!("10.9.4.{i}:1")), "alice", "apw");
        h.advance(150);
        h.send(alice.unwrap(), "logout");
        h.advance(150);
    }
    let (alice, _) = try_login(&mut h, peer("10.9.4.9:1"), "alice", "apw");
    assert!(alice.is_some());
    let got = h.take(carol);
    let told = count(&got, "PRESENCE alice");
    assert!(
        (1..=5).contains(&told),
        "carol was told {told} times: {got:?}"
    );
    // When the interval is over, carol learns how it stands: alice is online.
    h.advance_secs(10);
    let got = h.take(carol);
    assert_eq!(
        wire(&got).last().map(String::as_str),
        Some("PRESENCE alice online"),
        "{got:?}"
    );
    // A single logout later is told at once again once the burst has come back.
    h.advance_secs(60);
    h.send(alice.unwrap(), "logout");
    assert_eq!(wire(&h.take(carol)), vec!["PRESENCE alice offline"]);
}

#[test]
fn the_protocols_bookkeeping_lines_never_count_as_flooding() {
    let mut h = Harness::new(defaults(), ACCOUNTS);
    let alice = h.login("alice", "apw");
    // 250 stored messages for bob (the most one sender may leave), sent within alice's rate.
    for i in 0..250 {
        h.send(alice, &format!("message bob stored {i}"));
        h.advance(50);
    }
    h.advance_secs(5);
    let c = h.connect_from(peer("10.9.5.1:1"));
    h.send(c, "bob");
    h.send(c, "bpw");
    let got = h.take(c);
    let ids: Vec<u64> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::OfflineMessage { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 250);
    // A client that acknowledges each one (as natter's did), registers its port, asks for receipts...
    for id in &ids {
        h.send(c, &format!("ack {id}"));
    }
    h.send(c, "p2pport 5000");
    h.send(c, "receipts on");
    // ...still has every command of its burst, answered at once: none of that was flooding.
    for _ in 0..48 {
        h.send(c, "whoelse");
    }
    let got = h.take(c);
    assert_eq!(count(&got, "ERROR slow-down"), 0, "{:?}", wire(&got));
    assert_eq!(count(&got, "WHOELSE"), 48);
    assert!(
        h.state().stored_messages("bob").is_empty(),
        "every ack was carried out"
    );
}

#[test]
fn bookkeeping_lines_have_a_bound_of_their_own() {
    let mut h = Harness::new(defaults(), ACCOUNTS);
    let bob = h.login("bob", "bpw");
    h.clear_all();
    for _ in 0..2100 {
        h.send(bob, "ack 1");
    }
    let got = h.take(bob);
    assert_eq!(count(&got, "ERROR bad-ack"), 2000, "the burst, at once");
    assert_eq!(count(&got, "ERROR slow-down 500 "), 1);
    assert!(h.is_paused(bob));
    h.advance_secs(1);
    assert_eq!(
        count(&h.take(bob), "ERROR bad-ack"),
        100,
        "then at their rate"
    );
}

#[test]
fn a_sender_pacing_at_the_limit_is_told_to_slow_down_once() {
    let mut h = Harness::new(defaults(), ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    // (bob reads, and does not acknowledge: what is written to him is delivered, not kept.)
    h.send(bob, "acks off");
    h.clear_all();
    // With a full budget: the whole burst at once, then 20 a second for 20 s, unevenly (40 and 60 ms
    // apart): every other line comes a little early and waits a few milliseconds.
    h.advance_secs(5);
    for i in 0..50 {
        h.send(alice, &format!("message bob burst {i}"));
    }
    for i in 0..400 {
        h.advance(if i % 2 == 0 { 40 } else { 60 });
        h.send(alice, &format!("message bob paced {i}"));
    }
    h.advance_secs(2);
    let got = h.take(alice);
    assert_eq!(count(&got, "ERROR slow-down"), 1, "{:?}", wire(&got));
    assert!(!h.is_closed(alice));
    let from_alice = h
        .take(bob)
        .iter()
        .filter(|m| matches!(m, ServerMsg::Message { from, .. } if &**from == "alice"))
        .count();
    assert_eq!(from_alice, 450, "nothing lost");
}

#[test]
fn names_that_look_like_an_existing_one_cannot_be_registered() {
    let cfg = Config {
        register: true,
        ..defaults()
    };
    let mut h = Harness::new(cfg, ACCOUNTS);
    for (i, (twin, existing)) in [
        ("aIice", "alice"),
        ("a1ice", "alice"),
        ("AIice", "alice"),
        ("ALICE", "alice"),
        ("b0b", "bob"),
        ("caroI", "carol"),
    ]
    .into_iter()
    .enumerate()
    {
        let c = h.connect_from(peer(&format!("10.9.6.{i}:1")));
        h.send(c, twin);
        assert_eq!(
            h.take(c)[1..],
            [
                err(ErrorReply::NameTooSimilar {
                    existing: name(existing)
                }),
                ServerMsg::Prompt(crate::protocol::Prompt::Username)
            ],
            "{twin}"
        );
    }
    // A name that only shares letters is free.
    let c = h.connect_from(peer("10.9.6.99:1"));
    h.send(c, "alicia");
    assert!(matches!(
        h.take(c)[1],
        ServerMsg::Prompt(crate::protocol::Prompt::NewPassword { .. })
    ));
}
