//! `group rules`: operators, voices, moderation, keys, limits, bans and external messages, each
//! decided by the core (IRC's channel modes are these), and restored from their records.

use super::*;
use crate::protocol::GroupChange;
use crate::server::Config;
use crate::server::harness::START;
use crate::server::{Account, GroupRulesRecord, Record, ServerState};

/// alice owns the open group `team`, which bob has joined; carol and dave are online, outside
/// (the group rules' and their exceptions' tests start here).
pub(super) fn open_team() -> (Harness, [super::super::ConnId; 4]) {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    let dave = h.login("dave", "dpw");
    h.send(alice, "create group team");
    h.send(alice, "group mode team open");
    h.send(bob, "group join team");
    h.clear_all();
    (h, [alice, bob, carol, dave])
}

fn changed(by: &str, changes: Vec<GroupChange>) -> ServerMsg {
    ServerMsg::GroupChanged {
        group: name("team"),
        by: name(by),
        changes,
    }
}

fn not_owner() -> ServerMsg {
    err(ErrorReply::NotOwner {
        group: name("team"),
    })
}

#[test]
fn only_operators_change_rules_and_the_owner_makes_more_of_them() {
    let (mut h, [alice, bob, carol, _]) = open_team();
    h.send(bob, "group rules team key beer");
    assert_eq!(h.take(bob), vec![not_owner()]);
    h.send(alice, "group rules team op bob");
    let op = changed("alice", vec![GroupChange::Op(name("bob"), true)]);
    assert_eq!(h.take(alice), vec![op.clone()]);
    assert_eq!(h.take(bob), vec![op], "every member hears it");
    // bob, an operator now, changes rules, removes members and sets the topic.
    h.send(bob, "group rules team limit 5 moderated");
    assert_eq!(
        h.take(bob),
        vec![changed(
            "bob",
            vec![GroupChange::Limit(Some(5)), GroupChange::Moderated(true)]
        )]
    );
    h.send(bob, "group topic team ops rule");
    assert!(matches!(&h.take(bob)[..], [ServerMsg::GroupTopic { .. }]));
    h.clear_all();
    // Refusals name what was wrong; the rest still applies; what was so already is left out.
    h.send(
        alice,
        "group rules team op carol limit 5 voice nobody key beer",
    );
    assert_eq!(
        h.take(alice),
        vec![
            err(ErrorReply::NotAMember {
                group: name("team"),
                user: name("carol")
            }),
            err(ErrorReply::NoSuchUser {
                user: "nobody".into()
            }),
            changed("alice", vec![GroupChange::Key(Some("beer".into()))]),
        ]
    );
    h.send(alice, "group rules team key beer");
    assert_eq!(
        h.take(alice),
        vec![changed("alice", vec![])],
        "nothing changed"
    );
    h.clear_all();
    // A member outside sees nothing of it; a non-member may not ask.
    h.send(carol, "group rules team");
    assert_eq!(
        h.take(carol),
        vec![err(ErrorReply::NotMember {
            group: name("team")
        })]
    );
    h.send(bob, "group rules team");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::GroupRules {
            group: name("team"),
            rules: vec![
                GroupChange::Open(true),
                GroupChange::Moderated(true),
                GroupChange::Key(Some("beer".into())),
                GroupChange::Limit(Some(5)),
                GroupChange::Op(name("alice"), true),
                GroupChange::Op(name("bob"), true),
            ],
        }]
    );
    // The owner stays an operator; another operator may remove even the owner.
    h.send(bob, "group rules team deop alice");
    assert_eq!(h.take(bob), vec![changed("bob", vec![])]);
    h.send(bob, "group remove team alice");
    assert!(h.take(bob).iter().any(|m| matches!(
        m,
        ServerMsg::GroupOwner { owner, .. } if &**owner == "bob"
    )));
}

#[test]
fn a_key_a_limit_and_a_ban_keep_joiners_out_unless_invited() {
    let (mut h, [alice, _bob, carol, dave]) = open_team();
    h.send(alice, "group rules team key beer limit 3 ban d*!*@*");
    h.clear_all();
    h.send(carol, "group join team");
    assert_eq!(
        h.take(carol),
        vec![err(ErrorReply::WrongKey {
            group: name("team")
        })]
    );
    h.send(carol, "group join team wine");
    assert!(matches!(
        &h.take(carol)[..],
        [ServerMsg::Error(ErrorReply::WrongKey { .. })]
    ));
    h.send(dave, "group join team beer");
    assert_eq!(
        h.take(dave),
        vec![err(ErrorReply::BannedFromGroup {
            group: name("team")
        })],
        "the mask's nick part matches dave, letter case aside"
    );
    h.send(carol, "group join team beer");
    assert!(matches!(
        &h.take(carol)[..],
        [ServerMsg::GroupJoined { .. }, ..]
    ));
    // Three members: the limit. An invitation passes the key and the limit, not a ban.
    h.send(alice, "group rules team unban d*!*@* limit 2");
    h.send(alice, "group add team dave");
    h.clear_all();
    h.send(dave, "group join team");
    assert!(matches!(
        &h.take(dave)[..],
        [ServerMsg::GroupJoined { .. }, ..]
    ));
    h.send(alice, "group rules team no-limit no-key");
    h.send(alice, "group rules team ban bad");
    h.send(alice, "group rules team key this-key-is-longer-than-23");
    assert!(
        h.take(alice)
            .contains(&err(ErrorReply::InvalidKey { max: 23 }))
    );
}

#[test]
fn a_moderated_group_takes_posts_from_operators_and_voices_and_external_posts_when_let() {
    let (mut h, [alice, bob, carol, _]) = open_team();
    h.send(alice, "group rules team moderated");
    h.clear_all();
    h.send(bob, "message group team hello");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::CannotPost {
            group: name("team")
        })]
    );
    assert!(h.take(alice).is_empty(), "nothing was sent");
    h.send(alice, "group rules team voice bob");
    h.clear_all();
    h.send(bob, "message group team hello");
    assert!(matches!(
        &h.take(alice)[..],
        [ServerMsg::GroupMessage { .. }]
    ));
    // A non-member may post only to a group that takes external messages.
    h.send(alice, "group rules team unmoderated");
    h.send(carol, "message group team from outside");
    assert_eq!(
        h.take(carol),
        vec![err(ErrorReply::NotMember {
            group: name("team")
        })]
    );
    h.send(alice, "group rules team external");
    h.clear_all();
    h.send(carol, "message group team from outside");
    assert!(matches!(&h.take(bob)[..], [ServerMsg::GroupMessage { .. }]));
    // A voice and an operator's place are a member's: they go when the member leaves.
    h.send(bob, "group leave team");
    h.send(bob, "group join team");
    h.send(alice, "group rules team moderated");
    h.clear_all();
    h.send(bob, "message group team again");
    assert!(matches!(
        &h.take(bob)[..],
        [ServerMsg::Error(ErrorReply::CannotPost { .. })]
    ));
}

#[test]
fn rules_are_recorded_whole_and_a_restart_restores_them() {
    let (mut h, [alice, bob, _, _]) = open_team();
    h.send(
        alice,
        "group rules team op bob voice alice key beer limit 9 moderated ban x*",
    );
    let want = GroupRulesRecord {
        key: Some("beer".into()),
        limit: Some(9),
        moderated: true,
        external: false,
        operators: vec![name("bob")],
        voiced: vec![name("alice")],
        bans: vec!["x*".into()],
        allowed: Vec::new(),
        exceptions: Vec::new(),
        no_ctcp: false,
        secret: false,
    };
    assert_eq!(
        h.records().last(),
        Some(&Record::GroupRulesSet {
            group: name("team"),
            rules: Box::new(want.clone())
        })
    );
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
    let bob2 = h2.login("bob", "bpw");
    h2.send(bob2, "group rules team");
    assert_eq!(
        h2.take(bob2),
        vec![ServerMsg::GroupRules {
            group: name("team"),
            rules: vec![
                GroupChange::Open(true),
                GroupChange::Moderated(true),
                GroupChange::Key(Some("beer".into())),
                GroupChange::Limit(Some(9)),
                GroupChange::Op(name("alice"), true),
                GroupChange::Op(name("bob"), true),
                GroupChange::Voice(name("alice"), true),
                GroupChange::Ban("x*".into(), true),
            ],
        }]
    );
    // A member who left after the record is no operator after a restart either.
    h.send(bob, "group leave team");
    let mut restored = ServerState::new(config(), Vec::new(), [1; 32]);
    restored.restore(
        ACCOUNTS
            .iter()
            .map(|(u, p)| Record::AccountCreated {
                user: name(u),
                password: (*p).into(),
            })
            .chain(h.records().iter().cloned()),
        START,
    );
    let mut h3 = Harness::with_state(restored, h.now());
    let alice3 = h3.login("alice", "apw");
    h3.send(alice3, "group rules team");
    assert!(
        !h3.take(alice3).iter().any(|m| matches!(
            m,
            ServerMsg::GroupRules { rules, .. } if rules.contains(&GroupChange::Op(name("bob"), true))
        )),
        "bob left: no operator now"
    );
}

#[test]
fn a_guests_group_records_no_rules() {
    let mut h = Harness::new(
        Config {
            guests: true,
            ..config()
        },
        ACCOUNTS,
    );
    let c = h.connect();
    h.send(c, "guest zed");
    h.send(c, "create group den");
    h.send(c, "group rules den key k moderated");
    assert!(
        !h.records()
            .iter()
            .any(|r| matches!(r, Record::GroupRulesSet { .. })),
        "nothing of a guest's group is stored"
    );
}

#[test]
fn an_allow_mask_lets_its_users_into_an_invite_only_group_uninvited() {
    let (mut h, [alice, _, carol, dave]) = open_team();
    h.send(alice, "group rules team invite allow car*");
    h.clear_all();
    h.send(dave, "group join team");
    assert_eq!(
        h.take(dave),
        vec![err(ErrorReply::InviteOnly {
            group: name("team")
        })]
    );
    h.send(carol, "group join team");
    assert!(matches!(
        &h.take(carol)[..],
        [ServerMsg::GroupJoined { .. }, ..]
    ));
    assert!(h.records().iter().any(|r| matches!(
        r,
        Record::GroupRulesSet { rules, .. } if rules.allowed == ["car*"]
    )));
}
