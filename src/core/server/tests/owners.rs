//! Groups with an owner: removal, topics, handing on, invitations' expiry and limit, and a blocked
//! inviter.

use super::*;
use crate::protocol::CommandName;
use crate::server::Record;
use crate::server::groups::book::{INVITATION_MS, MAX_INVITATIONS};

/// alice owns `team`; bob and carol (online) joined it by invitation, in that order.
fn team() -> (
    crate::server::harness::Harness,
    super::super::ConnId,
    super::super::ConnId,
    super::super::ConnId,
) {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.send(alice, "create group team bob carol");
    h.send(bob, "group join team");
    h.send(carol, "group join team");
    h.clear_all();
    (h, alice, bob, carol)
}

fn owner(group: &str, user: &str) -> ServerMsg {
    ServerMsg::GroupOwner {
        group: name(group),
        owner: name(user),
    }
}

#[test]
fn the_owner_removes_a_member_who_is_told_why_and_only_the_owner_may() {
    let (mut h, alice, bob, carol) = team();
    h.send(bob, "group remove team carol");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::NotOwner {
            group: name("team")
        })]
    );
    h.send(alice, "group remove team carol   posted   spam ");
    let removed = ServerMsg::GroupRemoved {
        group: name("team"),
        user: name("carol"),
        by: name("alice"),
        reason: "  posted   spam ".into(),
    };
    assert_eq!(h.take(alice), vec![removed.clone()]);
    assert_eq!(h.take(bob), vec![removed.clone()]);
    assert_eq!(h.take(carol), vec![removed], "the one removed hears why");
    assert!(h.records().contains(&Record::GroupLeft {
        group: name("team"),
        user: name("carol")
    }));
    h.send(carol, "message group team still here?");
    assert_eq!(
        h.take(carol),
        vec![err(ErrorReply::NotMember {
            group: name("team")
        })]
    );
    h.send(alice, "group remove team bob");
    assert!(
        matches!(&h.take(bob)[..], [ServerMsg::GroupRemoved { reason, .. }] if reason == "no reason given")
    );
    h.clear_all();
    for (line, want) in [
        (
            "group remove team carol",
            ErrorReply::NotAMember {
                group: name("team"),
                user: name("carol"),
            },
        ),
        (
            "group remove team alice",
            ErrorReply::NotYourself {
                command: CommandName::GroupRemove,
            },
        ),
        (
            "group remove team nobody",
            ErrorReply::NoSuchUser {
                user: "nobody".into(),
            },
        ),
    ] {
        h.send(alice, line);
        assert_eq!(h.take(alice), vec![err(want)], "{line}");
    }
}

#[test]
fn the_topic_is_set_shown_at_join_and_cleared_and_members_set_it_only_if_allowed() {
    let (mut h, alice, bob, carol) = team();
    h.send(bob, "group topic team");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::GroupNoTopic {
            group: name("team")
        }]
    );
    h.send(bob, "group topic team bob's topic");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::NotOwner {
            group: name("team")
        })]
    );
    h.send(alice, "group topic team  release on Friday");
    let topic = ServerMsg::GroupTopic {
        group: name("team"),
        by: name("alice"),
        topic: " release on Friday".into(),
    };
    assert_eq!(h.take(bob), vec![topic.clone()]);
    assert_eq!(h.take(carol), vec![topic.clone()]);
    assert_eq!(h.take(alice), vec![topic.clone()]);
    // A member who joins later is told the topic.
    h.send(alice, "group add team dave");
    let dave = h.login("dave", "dpw");
    h.clear_all();
    h.send(dave, "group join team");
    assert_eq!(h.take(dave).last(), Some(&topic));
    h.send(alice, "group set team topic members");
    h.clear_all();
    h.send(bob, "group topic team by bob");
    assert!(matches!(&h.take(carol)[..], [ServerMsg::GroupTopic { by, .. }] if &**by == "bob"));
    h.clear_all();
    h.send(bob, &format!("group topic team {}", "x".repeat(301)));
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::TopicTooLong { max: 300 })]
    );
    h.send(bob, "group topic team -");
    let none = ServerMsg::GroupNoTopic {
        group: name("team"),
    };
    assert_eq!(h.take(carol), vec![none.clone()], "'-' clears the topic");
    h.send(carol, "group topic team");
    assert_eq!(h.take(carol), vec![none]);
    assert!(h.records().contains(&Record::GroupTopicSet {
        group: name("team"),
        topic: String::new(),
        by: name("bob"),
    }));
}

#[test]
fn the_owner_hands_the_group_on_and_a_leaving_owner_hands_it_to_the_longest_standing() {
    let (mut h, alice, bob, carol) = team();
    h.send(alice, "group owner team carol");
    assert_eq!(h.take(alice), vec![owner("team", "carol")]);
    assert_eq!(h.take(bob), vec![owner("team", "carol")]);
    assert_eq!(h.take(carol), vec![owner("team", "carol")]);
    h.send(alice, "group mode team open");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NotOwner {
            group: name("team")
        })],
        "alice owns it no more"
    );
    h.send(carol, "group owner team dave");
    assert_eq!(
        h.take(carol),
        vec![err(ErrorReply::NotAMember {
            group: name("team"),
            user: name("dave")
        })]
    );
    // carol leaves: alice has been a member the longest.
    h.send(carol, "group leave team");
    assert!(h.take(bob).contains(&owner("team", "alice")));
    h.clear_all();
    assert!(h.records().contains(&Record::GroupOwnerSet {
        group: name("team"),
        owner: name("alice"),
    }));
    h.send(alice, "group mode team open");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::GroupMode {
            group: name("team"),
            open: true,
            add_direct: false,
            topic_by_members: false
        }]
    );
    // Open: carol joins by name, without an invitation.
    h.clear_all();
    h.send(carol, "group join team");
    let joined = ServerMsg::GroupJoined {
        group: name("team"),
        user: name("carol"),
        by: name("carol"),
    };
    assert_eq!(h.take(bob), vec![joined]);
}

#[test]
fn invitations_lapse_after_seven_days() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "create group team bob");
    // Sessions end at the idle timeout: alice comes back near the end of the week.
    h.advance(INVITATION_MS - 1000);
    let alice = h.login("alice", "apw");
    h.clear_all();
    h.send(alice, "group add team bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::AlreadyInvited {
            group: name("team"),
            user: name("bob")
        })],
        "still standing just before the week is out"
    );
    h.advance(1000);
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    assert!(
        !h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::GroupInvitation { .. })),
        "a lapsed invitation is not shown at login"
    );
    h.send(bob, "group join team");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::InviteOnly {
            group: name("team")
        })]
    );
    h.send(bob, "group decline team");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::NoInvitation {
            group: "team".into()
        })]
    );
    // A lapsed invitation may be made again.
    h.clear_all();
    h.send(alice, "group add team bob");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::GroupInvited {
            group: name("team"),
            user: name("bob")
        }]
    );
}

#[test]
fn a_user_holds_at_most_the_invitation_limit_and_lapsed_ones_make_room() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    for i in 0..MAX_INVITATIONS {
        h.send(alice, &format!("create group g{i} bob"));
    }
    h.clear_all();
    h.send(alice, "create group one-more bob");
    assert_eq!(
        h.take(alice),
        vec![
            ServerMsg::GroupCreated {
                group: name("one-more"),
                members: names(&["alice"])
            },
            err(ErrorReply::InvitationsFull {
                user: name("bob"),
                max: MAX_INVITATIONS
            })
        ]
    );
    assert!(
        !h.records()
            .iter()
            .any(|r| matches!(r, Record::Invited { group, .. } if &**group == "one-more"))
    );
    // bob declines one: room for one more.
    let bob = h.login("bob", "bpw");
    h.send(bob, "group decline g0");
    h.clear_all();
    h.send(alice, "group add one-more bob");
    assert!(matches!(
        &h.take(alice)[..],
        [ServerMsg::GroupInvited { .. }]
    ));
    h.send(alice, "create group two-more bob");
    assert!(h.take(alice).contains(&err(ErrorReply::InvitationsFull {
        user: name("bob"),
        max: MAX_INVITATIONS
    })));
    // A week on, every invitation has lapsed and makes room.
    h.advance(INVITATION_MS);
    let alice = h.login("alice", "apw");
    h.clear_all();
    h.send(alice, "group add two-more bob");
    assert!(matches!(
        &h.take(alice)[..],
        [ServerMsg::GroupInvited { .. }]
    ));
    assert!(h.records().contains(&Record::InvitationEnded {
        group: name("g1"),
        user: name("bob")
    }));
}

#[test]
fn a_blocked_user_cannot_invite_the_blocker_who_hears_nothing_of_it() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.send(alice, "create group team");
    h.clear_all();
    h.send(alice, "group add team bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })]
    );
    h.send(alice, "create group crew bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })]
    );
    assert_eq!(h.take(bob), vec![], "the blocker is not told");
    assert!(
        !h.records()
            .iter()
            .any(|r| matches!(r, Record::Invited { .. }))
    );
    // An invitation made before the block is not shown at login, and cannot be answered by a join
    // that would put bob beside someone he blocks unknowingly: it is simply not shown.
    h.send(bob, "unblock alice");
    h.send(alice, "group add team bob");
    h.send(bob, "block alice");
    h.send(bob, "logout");
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    assert!(
        !h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::GroupInvitation { .. })),
        "nothing from a user bob blocks"
    );
}
