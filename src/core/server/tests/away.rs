//! `away` and `whois`: an away reason is presence, kept for the session and seen as presence is.

use super::*;
use crate::protocol::CommandName;

fn away(user: &str, reason: &str) -> ServerMsg {
    ServerMsg::PresenceAway {
        user: name(user),
        reason: reason.into(),
    }
}

#[test]
fn away_is_told_shown_in_whoelse_and_whois_and_cleared_by_back_and_logout() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.send(alice, "away at lunch");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Away {
            reason: "at lunch".into()
        }]
    );
    assert_eq!(h.take(bob), vec![away("alice", "at lunch")]);
    h.send(alice, "away at lunch");
    h.take(alice);
    assert_eq!(h.take(bob), vec![], "no change, nothing told");
    h.send(bob, "whoelse");
    assert_eq!(
        h.take(bob),
        vec![
            ServerMsg::WhoElse {
                users: names(&["alice"])
            },
            away("alice", "at lunch")
        ]
    );
    h.send(bob, "whois alice");
    let got = h.take(bob);
    assert!(
        matches!(&got[..], [ServerMsg::Whois { online: true, .. }, m] if *m == away("alice", "at lunch")),
        "{got:?}"
    );
    h.send(alice, "away");
    assert_eq!(h.take(alice), vec![ServerMsg::Back]);
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::PresenceBack {
            user: name("alice")
        }]
    );
    // Logging out ends it: the next session is not away.
    h.send(alice, "away gone home");
    h.send(alice, "logout");
    let alice = h.login("alice", "apw");
    h.clear_all();
    h.send(bob, "whois alice");
    assert!(matches!(
        &h.take(bob)[..],
        [ServerMsg::Whois { online: true, .. }]
    ));
    h.send(alice, "whoelse");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::WhoElse {
            users: names(&["bob"])
        }]
    );
}

#[test]
fn an_away_reason_never_crosses_a_block() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.send(bob, "block alice");
    h.clear_all();
    h.send(alice, "away at lunch");
    assert_eq!(h.take(bob), vec![], "bob blocks alice");
    assert_eq!(h.take(carol), vec![away("alice", "at lunch")]);
    h.send(bob, "away meeting");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Away {
            reason: "at lunch".into()
        }],
        "nor the other way: alice hears only her own answer"
    );
    assert_eq!(h.take(carol), vec![away("bob", "meeting")]);
    h.clear_all();
    h.send(alice, "whois bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })]
    );
    h.send(bob, "whois alice");
    assert!(
        matches!(&h.take(bob)[..], [ServerMsg::Whois { .. }]),
        "no away line"
    );
}

#[test]
fn whois_says_since_when_the_shared_groups_and_never_for_the_never_seen() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let started = h.now();
    let bob = h.login("bob", "bpw");
    h.send(alice, "create group team bob");
    h.send(alice, "create group solo");
    h.send(bob, "group join team");
    h.advance_secs(90);
    h.clear_all();
    h.send(bob, "whois alice");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::Whois {
            user: name("alice"),
            online: true,
            idle_secs: 90,
            since: Some(started),
            groups: names(&["team"]),
        }]
    );
    h.send(alice, "logout");
    let left = h.now();
    h.advance_secs(10);
    h.clear_all();
    h.send(bob, "whois alice");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::Whois {
            user: name("alice"),
            online: false,
            idle_secs: 0,
            since: Some(left),
            groups: names(&["team"]),
        }]
    );
    h.send(bob, "whois carol");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::Whois {
            user: name("carol"),
            online: false,
            idle_secs: 0,
            since: None,
            groups: vec![],
        }]
    );
    h.send(bob, "whois bob");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::NotYourself {
            command: CommandName::Whois
        })]
    );
    h.send(bob, "whois nobody");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::NoSuchUser {
            user: "nobody".into()
        })]
    );
}
