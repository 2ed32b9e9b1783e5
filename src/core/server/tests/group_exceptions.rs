//! `group rules`' ban exceptions (`except`), mutes (ban masks `m:<mask>`) and `no-ctcp`, each
//! decided by the core (IRC's `+e`, the mute extban and `+C`), and restored from their records.

use super::group_rules::open_team;
use super::*;
use crate::protocol::GroupChange;
use crate::server::harness::START;
use crate::server::{Account, Record, ServerState};

fn cannot_post() -> Vec<ServerMsg> {
    vec![err(ErrorReply::CannotPost {
        group: name("team"),
    })]
}

#[test]
fn an_exception_lets_a_banned_user_join_and_post() {
    let (mut h, [alice, _, carol, dave]) = open_team();
    h.send(alice, "group rules team ban *a*");
    h.send(alice, "group rules team except car*");
    h.clear_all();
    h.send(dave, "group join team");
    assert_eq!(
        h.take(dave),
        vec![err(ErrorReply::BannedFromGroup {
            group: name("team")
        })]
    );
    h.send(carol, "group join team");
    assert!(matches!(
        &h.take(carol)[..],
        [ServerMsg::GroupJoined { .. }, ..]
    ));
    h.clear_all();
    h.send(carol, "message group team hello");
    assert!(matches!(
        &h.take(alice)[..],
        [ServerMsg::GroupMessage { .. }]
    ));
    assert!(h.records().iter().any(|r| matches!(
        r,
        Record::GroupRulesSet { rules, .. } if rules.exceptions == ["car*"]
    )));
}

#[test]
fn a_mute_lets_its_user_join_but_post_only_voiced_or_excepted() {
    let (mut h, [alice, bob, carol, _]) = open_team();
    h.send(alice, "group rules team ban m:carol");
    h.clear_all();
    h.send(carol, "group join team");
    assert!(matches!(
        &h.take(carol)[..],
        [ServerMsg::GroupJoined { .. }, ..]
    ));
    h.clear_all();
    h.send(carol, "message group team hi");
    assert_eq!(h.take(carol), cannot_post());
    assert!(h.take(bob).is_empty());
    h.send(alice, "group rules team voice carol");
    h.clear_all();
    h.send(carol, "message group team hi");
    assert!(matches!(&h.take(bob)[..], [ServerMsg::GroupMessage { .. }]));
    h.send(alice, "group rules team devoice carol except m:c*");
    h.clear_all();
    h.send(carol, "message group team hi");
    assert!(matches!(&h.take(bob)[..], [ServerMsg::GroupMessage { .. }]));
    // A plain exception does not lift a mute.
    h.send(alice, "group rules team unexcept m:c* except c*");
    h.clear_all();
    h.send(carol, "message group team hi");
    assert_eq!(h.take(carol), cannot_post());
}

#[test]
fn no_ctcp_refuses_ctcp_requests_but_not_actions() {
    let (mut h, [alice, bob, _, _]) = open_team();
    h.send(alice, "group rules team no-ctcp");
    h.clear_all();
    h.send(bob, "message group team /ctcp PING 1");
    assert_eq!(h.take(bob), cannot_post());
    assert!(h.take(alice).is_empty());
    h.send(bob, "message group team /me waves");
    assert!(matches!(
        &h.take(alice)[..],
        [ServerMsg::GroupMessage { .. }]
    ));
    h.send(alice, "group rules team ctcp");
    h.clear_all();
    h.send(bob, "message group team /ctcp PING 1");
    assert!(matches!(
        &h.take(alice)[..],
        [ServerMsg::GroupMessage { .. }]
    ));
}

#[test]
fn exceptions_and_no_ctcp_survive_a_restart() {
    let (mut h, [alice, ..]) = open_team();
    h.send(alice, "group rules team except pal* ban m:x* no-ctcp");
    let accounts: Vec<Account> = ACCOUNTS
        .iter()
        .map(|(u, p)| Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    let mut restored = ServerState::new(config(), accounts, [1; 32]);
    assert_eq!(restored.restore(h.records().to_vec(), START), 0);
    let mut h2 = Harness::with_state(restored, h.now());
    let alice2 = h2.login("alice", "apw");
    h2.send(alice2, "group rules team");
    let got = h2.take(alice2);
    let [ServerMsg::GroupRules { rules, .. }] = &got[..] else {
        panic!("{got:?}");
    };
    assert!(rules.contains(&GroupChange::Except("pal*".into(), true)));
    assert!(rules.contains(&GroupChange::Ban("m:x*".into(), true)));
    assert!(rules.contains(&GroupChange::NoCtcp(true)));
}

#[test]
fn groups_shows_ones_own_and_open_groups_but_not_secret_or_invite_only_ones() {
    let (mut h, [alice, bob, carol, _]) = open_team();
    h.send(alice, "group topic team plans");
    h.send(bob, "create group closed");
    h.clear_all();
    h.send(carol, "groups");
    assert_eq!(
        h.take(carol),
        vec![
            ServerMsg::GroupListed {
                group: name("team"),
                members: 2,
                topic: "plans".into(),
            },
            ServerMsg::GroupsEnd,
        ]
    );
    h.send(bob, "groups");
    assert_eq!(h.take(bob).len(), 3, "bob's own invite-only group too");
    h.send(alice, "group rules team secret");
    h.clear_all();
    h.send(carol, "groups");
    assert_eq!(h.take(carol), vec![ServerMsg::GroupsEnd]);
}
