//! Groups, and the small commands that came with them: `ping`, `wholasthr`, `offline`.

use super::*;
use crate::protocol::name::GroupNameError;
use crate::protocol::{CommandName, PingState};
use crate::server::{Record, ServerState};

fn created(group: &str, members: &[&str]) -> ServerMsg {
    ServerMsg::GroupCreated {
        group: name(group),
        members: names(members),
    }
}

fn sent(group: &str, delivered: usize, stored: usize, skipped: bool) -> ServerMsg {
    ServerMsg::GroupSent {
        group: name(group),
        delivered,
        stored,
        skipped,
    }
}

/// A group message as a member online gets it: `id` from the one counter, sent at the start.
fn group_msg(id: u64, group: &str, from: &str, text: &str) -> ServerMsg {
    ServerMsg::GroupMessage {
        id,
        sent_at: crate::server::harness::START,
        group: name(group),
        from: name(from),
        text: text.into(),
    }
}

fn invited(group: &str, user: &str) -> ServerMsg {
    ServerMsg::GroupInvited {
        group: name(group),
        user: name(user),
    }
}

fn invitation(group: &str, by: &str, at: crate::time::Timestamp) -> ServerMsg {
    ServerMsg::GroupInvitation {
        group: name(group),
        by: name(by),
        sent_at: at,
    }
}

fn joined(group: &str, user: &str, by: &str) -> ServerMsg {
    ServerMsg::GroupJoined {
        group: name(group),
        user: name(user),
        by: name(by),
    }
}

/// Since invitations, `create group` makes the creator the owner and only member, and invites each
/// user named: nobody is put in a group without saying yes.
#[test]
fn create_group_makes_the_creator_its_owner_and_invites_the_members_named() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    let at = h.now();
    h.send(alice, "create group team bob carol bob");
    assert_eq!(
        h.take(alice),
        vec![
            created("team", &["alice"]),
            invited("team", "bob"),
            invited("team", "carol")
        ],
        "a member named twice counts once"
    );
    assert_eq!(h.take(bob), vec![invitation("team", "alice", at)]);
    assert!(h.records().contains(&Record::GroupCreated {
        group: name("team"),
        by: name("alice"),
        members: names(&["alice"]),
    }));
    assert!(h.records().contains(&Record::Invited {
        group: name("team"),
        user: name("carol"),
        by: name("alice"),
        at,
    }));
    // Accepting is joining: the members read "bob joined", not "alice added bob".
    h.send(bob, "group join team");
    assert_eq!(h.take(alice), vec![joined("team", "bob", "bob")]);
    assert_eq!(h.take(bob), vec![joined("team", "bob", "bob")]);
    h.send(bob, "grouplist");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::GroupList {
            groups: vec![(name("team"), names(&["alice", "bob"]))]
        }]
    );
    // carol was offline: her invitation waits for her login.
    let carol = h.connect();
    h.send(carol, "carol");
    h.send(carol, "cpw");
    assert!(h.take(carol).contains(&invitation("team", "alice", at)));
    h.clear_all();
    h.send(carol, "group decline team");
    assert_eq!(
        h.take(carol),
        vec![ServerMsg::GroupDeclined {
            group: name("team")
        }]
    );
    assert_eq!(h.take(alice), vec![], "a decline is nobody else's business");
    h.send(carol, "group join team");
    assert_eq!(
        h.take(carol),
        vec![err(ErrorReply::InviteOnly {
            group: name("team")
        })]
    );
}

#[test]
fn create_group_errors_are_each_clear() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let cases: Vec<(&str, ErrorReply)> = vec![
        (
            "create group bad/name bob",
            ErrorReply::InvalidGroupName(GroupNameError::BadChar),
        ),
        (
            "create group team nobody",
            ErrorReply::NoSuchUser {
                user: "nobody".into(),
            },
        ),
        (
            "create group team alice",
            ErrorReply::NotYourself {
                command: CommandName::CreateGroup,
            },
        ),
        (
            "create team bob",
            ErrorReply::Usage {
                command: CommandName::CreateGroup,
            },
        ),
        (
            "create group a b c d e",
            ErrorReply::NoSuchUser { user: "b".into() },
        ),
    ];
    for (line, want) in cases {
        h.send(alice, line);
        assert_eq!(h.take(alice), vec![err(want)], "{line}");
    }
    h.send(alice, "create group team bob");
    h.take(alice);
    h.send(alice, "create group team carol");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::GroupExists {
            group: name("team")
        })]
    );
    h.send(alice, "create group big bob carol dave");
    assert_eq!(
        h.take(alice),
        vec![
            created("big", &["alice"]),
            invited("big", "bob"),
            invited("big", "carol"),
            invited("big", "dave")
        ]
    );
    assert!(h.records().iter().all(|r| !matches!(
        r,
        Record::GroupCreated { group, .. } if &**group == "bad/name"
    )));
}

#[test]
fn a_group_name_is_its_own_namespace() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    group_with(&mut h, alice, "bob", &["bob", "carol"]);
    h.clear_all();
    h.send(alice, "group members bob");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::GroupMembers {
            group: name("bob"),
            members: names(&["alice", "bob", "carol"])
        }]
    );
    h.send(alice, "message group bob to the group called bob");
    assert_eq!(h.take(alice), vec![sent("bob", 0, 2, false)]);
    h.send(alice, "message bob to the user called bob");
    assert!(matches!(&h.take(alice)[..], [ServerMsg::Stored { to, .. }] if &**to == "bob"));
}

#[test]
fn a_group_message_goes_to_every_member_but_the_sender_online_now_offline_later() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    group_with(&mut h, alice, "team", &["bob", "carol"]);
    h.clear_all();
    h.send(alice, "message group team   hello  team 🎉");
    assert_eq!(h.take(alice), vec![sent("team", 1, 1, false)]);
    assert_eq!(
        h.take(bob),
        vec![group_msg(1, "team", "alice", "  hello  team 🎉")]
    );
    let carol = h.login("carol", "cpw");
    h.send(carol, "offline");
    let got = h.take(carol);
    assert!(
        matches!(&got[..], [ServerMsg::OfflineList { count: 1 }, ServerMsg::OfflineAgain { from, group: Some(g), text, .. }]
            if &**from == "alice" && &**g == "team" && text == "  hello  team 🎉"),
        "{got:?}"
    );
}

#[test]
fn stored_group_messages_are_delivered_at_login_with_their_group_and_acknowledged() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    group_with(&mut h, alice, "team", &["bob"]);
    h.send(alice, "message group team one");
    h.send(alice, "message bob two");
    h.send(alice, "message group team three");
    h.clear_all();
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    let got = h.take(bob);
    let stored: Vec<(Option<String>, String)> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::OfflineMessage { group, text, .. } => {
                Some((group.as_ref().map(|g| g.to_string()), text.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        stored,
        vec![
            (Some("team".into()), "one".into()),
            (None, "two".into()),
            (Some("team".into()), "three".into())
        ],
        "in order, group messages and direct ones in one sequence"
    );
}

#[test]
fn a_member_who_blocked_the_sender_gets_nothing_and_the_sender_is_told_without_names() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    group_with(&mut h, alice, "team", &["bob", "carol", "dave"]);
    h.send(bob, "block alice");
    h.clear_all();
    h.send(alice, "message group team hi");
    assert_eq!(h.take(alice), vec![sent("team", 1, 1, true)]);
    assert_eq!(h.take(bob), vec![], "bob blocked alice");
    assert_eq!(h.take(carol), vec![group_msg(1, "team", "alice", "hi")]);
}

#[test]
fn non_members_never_post_nor_see_members() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let dave = h.login("dave", "dpw");
    group_with(&mut h, alice, "team", &["bob"]);
    h.clear_all();
    for line in [
        "message group team hi",
        "group members team",
        "group add team carol",
        "group leave team",
    ] {
        h.send(dave, line);
        assert_eq!(
            h.take(dave),
            vec![err(ErrorReply::NotMember {
                group: name("team")
            })],
            "{line}"
        );
    }
    h.send(dave, "message group nope hi");
    assert_eq!(
        h.take(dave),
        vec![err(ErrorReply::NoSuchGroup {
            group: "nope".into()
        })]
    );
    assert_eq!(h.take(alice), vec![]);
}

#[test]
fn any_member_may_invite_and_members_are_told_of_joins_and_leaves() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.send(alice, "create group team bob");
    h.send(bob, "group join team");
    h.clear_all();
    let at = h.now();
    h.send(bob, "group add team carol");
    assert_eq!(h.take(bob), vec![invited("team", "carol")]);
    assert_eq!(h.take(carol), vec![invitation("team", "bob", at)]);
    assert_eq!(h.take(alice), vec![], "an invitation is between the two");
    h.send(alice, "group add team carol");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::AlreadyInvited {
            group: name("team"),
            user: name("carol")
        })]
    );
    h.send(carol, "group join team");
    let joined = joined("team", "carol", "carol");
    assert_eq!(h.take(alice), vec![joined.clone()]);
    assert_eq!(h.take(bob), vec![joined.clone()]);
    assert_eq!(h.take(carol), vec![joined]);
    assert!(h.records().contains(&Record::InvitationEnded {
        group: name("team"),
        user: name("carol")
    }));
    h.send(bob, "group add team carol");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::AlreadyMember {
            group: name("team"),
            user: name("carol")
        })]
    );
    h.send(carol, "group leave team");
    let left = ServerMsg::GroupLeft {
        group: name("team"),
        user: name("carol"),
        reason: String::new(),
    };
    assert_eq!(h.take(carol), vec![left.clone()]);
    assert_eq!(h.take(alice), vec![left.clone()]);
    assert_eq!(h.take(bob), vec![left]);
    h.send(alice, "group members team");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::GroupMembers {
            group: name("team"),
            members: names(&["alice", "bob"])
        }]
    );
}

#[test]
fn nobody_can_add_a_user_who_blocked_them() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let carol = h.login("carol", "cpw");
    h.send(carol, "block alice");
    h.send(alice, "create group team bob");
    h.clear_all();
    h.send(alice, "group add team carol");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy {
            user: name("carol")
        })]
    );
    h.send(alice, "create group crew carol");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy {
            user: name("carol")
        })]
    );
    assert_eq!(h.take(carol), vec![]);
}

#[test]
fn a_group_whose_last_member_leaves_is_gone_and_its_name_free() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    group_with(&mut h, alice, "team", &["bob"]);
    h.send(alice, "group leave team");
    h.send(bob, "group leave team");
    h.clear_all();
    h.send(bob, "grouplist");
    assert_eq!(h.take(bob), vec![ServerMsg::GroupList { groups: vec![] }]);
    h.send(bob, "create group team alice");
    assert_eq!(
        h.take(bob),
        vec![created("team", &["bob"]), invited("team", "alice")]
    );
    assert!(h.records().contains(&Record::GroupLeft {
        group: name("team"),
        user: name("bob")
    }));
}

#[test]
fn a_full_group_takes_nobody_more() {
    let cfg = crate::server::Config {
        group_max_members: 2,
        ..config()
    };
    let mut h = crate::server::harness::Harness::new(cfg, ACCOUNTS);
    let alice = h.login("alice", "apw");
    group_with(&mut h, alice, "team", &["bob"]);
    h.clear_all();
    h.send(alice, "group add team carol");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::GroupFull {
            group: name("team"),
            max: 2
        })]
    );
    // An invitation may be sent, but accepting it finds the group full.
    h.send(alice, "group set team add invite");
    h.send(alice, "group add team carol");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    h.send(carol, "group join team");
    assert_eq!(
        h.take(carol),
        vec![err(ErrorReply::GroupFull {
            group: name("team"),
            max: 2
        })]
    );
}

#[test]
fn ping_tells_online_and_idle_offline_and_reach_and_never_more_than_message_does() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.advance_secs(7);
    h.send(alice, "ping bob");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Ping {
            user: name("bob"),
            state: PingState::Online { idle_secs: 7 }
        }]
    );
    h.send(alice, "ping carol");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Ping {
            user: name("carol"),
            state: PingState::Offline { stored: true }
        }]
    );
    for i in 0..3 {
        h.send(alice, &format!("message carol {i}"));
    }
    h.send(alice, "ping carol");
    assert_eq!(
        h.take(alice).last(),
        Some(&ServerMsg::Ping {
            user: name("carol"),
            state: PingState::Offline { stored: false }
        }),
        "the test mailbox holds 3"
    );
    h.send(bob, "block alice");
    h.send(alice, "ping bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })],
        "as 'message bob' would answer: never online"
    );
    h.send(alice, "ping nobody");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NoSuchUser {
            user: "nobody".into()
        })]
    );
}

#[test]
fn wholasthr_is_whoelsesince_an_hour() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "logout");
    h.advance_secs(200);
    h.clear_all();
    h.send(alice, "wholasthr");
    let a = h.take(alice);
    h.send(alice, "whoelsesince 3600");
    assert_eq!(a, h.take(alice));
    assert_eq!(
        a,
        vec![ServerMsg::WhoElseSince {
            secs: 3600,
            users: names(&["bob"])
        }]
    );
}

#[test]
fn offline_shows_what_waited_at_this_login_even_after_the_ack() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "message bob first");
    h.send(alice, "message bob second");
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    let delivered = h.take(bob);
    let last = delivered
        .iter()
        .filter_map(|m| match m {
            ServerMsg::OfflineMessage { id, .. } => Some(*id),
            _ => None,
        })
        .max()
        .unwrap();
    h.send(bob, &format!("ack {last}"));
    h.send(alice, "message bob third");
    h.clear_all();
    h.send(bob, "offline");
    let got = h.take(bob);
    assert_eq!(got[0], ServerMsg::OfflineList { count: 2 });
    let texts: Vec<&str> = got[1..]
        .iter()
        .map(|m| match m {
            ServerMsg::OfflineAgain { text, .. } => text.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, vec!["first", "second"], "only what waited at login");
    h.send(bob, "block alice");
    h.send(bob, "offline");
    assert_eq!(
        h.take(bob).last(),
        Some(&ServerMsg::OfflineList { count: 0 }),
        "nothing of a user you block"
    );
    let carol = h.login("carol", "cpw");
    h.send(carol, "offline");
    assert_eq!(h.take(carol), vec![ServerMsg::OfflineList { count: 0 }]);
}

#[test]
fn groups_and_stored_group_messages_survive_a_restart() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    group_with(&mut h, alice, "team", &["bob", "carol"]);
    h.send(alice, "message group team kept");
    h.send(alice, "group leave team");
    let mut restored = ServerState::new(
        config(),
        ACCOUNTS
            .iter()
            .map(|(u, p)| crate::server::Account {
                username: (*u).into(),
                password: (*p).into(),
            })
            .collect(),
        [1; 32],
    );
    assert_eq!(restored.restore(h.records().to_vec(), h.now()), 0);
    let mut want = h.state().durable_view();
    want.users
        .iter_mut()
        .filter(|u| u.name == "alice")
        .for_each(|u| u.last_logout = Some(h.now()));
    assert_eq!(restored.durable_view(), want);
    assert_eq!(
        restored.durable_view().groups,
        vec![("team".into(), vec!["bob".into(), "carol".into()])]
    );
}

#[test]
fn adding_someone_you_block_is_answered_and_they_are_told() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    group_with(&mut h, alice, "team", &["carol"]);
    h.send(alice, "block bob");
    h.clear_all();
    h.send(alice, "group add team bob");
    let joined = ServerMsg::GroupJoined {
        group: name("team"),
        user: name("bob"),
        by: name("alice"),
    };
    assert_eq!(h.take(alice), vec![joined.clone()], "who acted is answered");
    assert_eq!(h.take(bob), vec![joined]);
}
