//! Rules 7–9: message, offline mailbox, broadcast, block and unblock.

use super::*;
use crate::protocol::CommandName;
use crate::server::Record;
use crate::server::harness::START;

#[test]
fn message_reaches_online_user_exactly() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.take(alice);
    h.send(alice, "message bob   spaced  out ünïcödé 🎉 ");
    assert_eq!(h.take(alice), vec![], "delivery now is not answered");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::Message {
            id: 1,
            sent_at: START,
            from: name("alice"),
            text: "  spaced  out ünïcödé 🎉 ".into()
        }]
    );
    assert!(
        h.records()
            .iter()
            .all(|r| !matches!(r, Record::MessageStored { .. }))
    );
}

#[test]
fn message_errors() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "message nobody hi");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NoSuchUser {
            user: "nobody".into()
        })]
    );
    h.send(alice, "message alice hi me");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NotYourself {
            command: CommandName::Message
        })]
    );
    h.send(alice, "message bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::Usage {
            command: CommandName::Message
        })]
    );
}

#[test]
fn offline_messages_are_stored_then_delivered_first_in_order() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    h.send(alice, "message bob first");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Stored {
            id: 1,
            to: name("bob")
        }]
    );
    h.advance_secs(5);
    h.send(carol, "message bob second");
    h.send(alice, "message bob third");
    h.clear_all();
    assert_eq!(h.state().stored_messages("bob").len(), 3);
    let bob = h.connect();
    h.send(bob, "bob");
    h.take(bob);
    h.send(bob, "bpw");
    let got = h.take(bob);
    let expect_offline = |id, sent_at, from: &str, text: &str| ServerMsg::OfflineMessage {
        group: None,
        id,
        sent_at,
        from: name(from),
        text: text.into(),
    };
    assert_eq!(
        got[1..],
        [
            expect_offline(1, START, "alice", "first"),
            expect_offline(2, START.plus_secs(5), "carol", "second"),
            expect_offline(3, START.plus_secs(5), "alice", "third"),
        ],
        "delivered right after the welcome, before anything else"
    );
    assert!(matches!(got[0], ServerMsg::Welcome { .. }));
    // Nobody else got them.
    assert!(
        h.take(alice)
            .iter()
            .all(|m| !matches!(m, ServerMsg::OfflineMessage { .. }))
    );
    assert!(
        h.take(carol)
            .iter()
            .all(|m| !matches!(m, ServerMsg::OfflineMessage { .. }))
    );
    let stored: Vec<u64> = h
        .records()
        .iter()
        .filter_map(|r| match r {
            Record::MessageStored { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(stored, vec![1, 2, 3]);
}

#[test]
fn stored_messages_stay_until_acknowledged() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "message bob one");
    h.send(alice, "message bob two");
    // bob's connection drops before his client acknowledges: both come again next time.
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    h.disconnect(bob);
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    let again = h
        .take(bob)
        .into_iter()
        .filter(|m| matches!(m, ServerMsg::OfflineMessage { .. }))
        .count();
    assert_eq!(again, 2);
    h.send(bob, "ack 1");
    assert_eq!(h.take(bob), vec![], "an acknowledgement has no reply");
    assert_eq!(h.state().stored_messages("bob").len(), 1);
    assert!(h.records().contains(&Record::MessagesAcked {
        user: name("bob"),
        up_to: 1
    }));
    h.send(bob, "ack 2");
    assert!(h.state().stored_messages("bob").is_empty());
    h.send(bob, "logout");
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    assert!(
        h.take(bob)
            .iter()
            .all(|m| !matches!(m, ServerMsg::OfflineMessage { .. }))
    );
}

#[test]
fn ack_beyond_what_was_delivered_is_refused() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "message bob one");
    let bob = h.login("bob", "bpw");
    h.send(bob, "ack 2");
    assert_eq!(h.take(bob), vec![err(ErrorReply::BadAck { id: 2 })]);
    h.take(alice);
    h.send(alice, "ack 1");
    assert_eq!(h.take(alice), vec![err(ErrorReply::BadAck { id: 1 })]);
    assert_eq!(h.state().stored_messages("bob").len(), 1);
}

#[test]
fn full_mailbox_refuses_more() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    for i in 0..3 {
        h.send(alice, &format!("message bob m{i}"));
    }
    h.take(alice);
    h.send(alice, "message bob overflow");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::MailboxFull { user: name("bob") })]
    );
    assert_eq!(h.state().stored_messages("bob").len(), 3);
}

#[test]
fn blocked_sender_is_told_and_nothing_is_delivered_or_stored() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.clear_all();
    h.send(alice, "message bob hello?");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })]
    );
    assert_eq!(h.take(bob), vec![]);
    h.send(bob, "logout");
    h.send(alice, "message bob while you are away");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })]
    );
    assert!(h.state().stored_messages("bob").is_empty());
}

/// Found by the simulator (invariant 3): a message stored before the recipient blocked its sender was
/// still delivered at the recipient's next login. Blocking now discards it (and only it).
#[test]
fn blocking_discards_what_the_blocked_user_stored_for_me() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "message bob before the block");
    h.send(alice, "message bob second");
    h.send(alice, "logout");
    let carol = h.login("carol", "cpw");
    h.send(carol, "message bob from carol");
    h.send(carol, "logout");
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    assert_eq!(h.state().stored_messages("bob").len(), 1);
    h.send(bob, "logout");
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    let offline: Vec<(u64, String)> = h
        .take(bob)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::OfflineMessage { id, from, .. } => Some((id, from.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(offline, vec![(3, "carol".to_string())]);
    // Unblocking does not bring them back: they are gone, not hidden.
    h.send(bob, "unblock alice");
    h.send(bob, "logout");
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    assert_eq!(
        h.take(bob)
            .iter()
            .filter(|m| matches!(m, ServerMsg::OfflineMessage { .. }))
            .count(),
        1
    );
    // A restart rebuilds the same mailbox from the records.
    let accounts = ACCOUNTS
        .iter()
        .map(|(u, p)| crate::server::Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    let mut restored = crate::server::ServerState::new(super::config(), accounts, [1; 32]);
    assert_eq!(restored.restore(h.records().to_vec(), h.now()), 0);
    let ids = |v: Vec<crate::server::StoredView>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(restored.stored_messages("bob")), vec![3]);
    assert_eq!(ids(h.state().stored_messages("bob")), vec![3]);
}

#[test]
fn broadcast_reaches_everyone_online_but_sender_and_blockers() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    h.send(alice, "broadcast hi all");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::BroadcastSent {
            delivered: 2,
            skipped: false
        }]
    );
    let hi = ServerMsg::Broadcast {
        from: name("alice"),
        text: "hi all".into(),
    };
    assert_eq!(h.take(bob), vec![hi.clone()]);
    assert_eq!(h.take(carol), vec![hi]);
    h.send(carol, "block alice");
    h.take(carol);
    h.send(alice, "broadcast again");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::BroadcastSent {
            delivered: 1,
            skipped: true
        }]
    );
    assert_eq!(h.take(carol), vec![]);
    assert_eq!(h.take(bob).len(), 1);
}

#[test]
fn broadcast_is_not_stored_for_offline_users() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "broadcast anyone?");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::BroadcastSent {
            delivered: 0,
            skipped: false
        }]
    );
    assert!(h.state().stored_messages("bob").is_empty());
}

#[test]
fn block_and_unblock_confirm_and_never_tell_the_other() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.send(alice, "block bob");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Blocked { user: name("bob") }]
    );
    h.send(alice, "block bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::AlreadyBlocked { user: name("bob") })]
    );
    h.send(alice, "unblock bob");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Unblocked { user: name("bob") }]
    );
    h.send(alice, "unblock bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NotBlocked { user: name("bob") })]
    );
    h.send(alice, "block ghost");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NoSuchUser {
            user: "ghost".into()
        })]
    );
    h.send(alice, "unblock alice");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NotYourself {
            command: CommandName::Unblock
        })]
    );
    assert_eq!(h.take(bob), vec![]);
    assert_eq!(
        h.records()
            .iter()
            .filter(|r| matches!(r, Record::Blocked { .. } | Record::Unblocked { .. }))
            .count(),
        2
    );
}

#[test]
fn unblock_restores_delivery() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.send(bob, "unblock alice");
    h.clear_all();
    h.send(alice, "message bob back again");
    assert_eq!(h.take(bob).len(), 1);
}

#[test]
fn blocks_outlive_sessions() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.send(bob, "logout");
    let bob = h.login("bob", "bpw");
    let alice = h.login("alice", "apw");
    h.send(alice, "message bob hi");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })]
    );
    assert_eq!(h.take(bob), vec![]);
}

#[test]
fn blocks_lists_whom_i_block_sorted_and_follows_unblock() {
    let mut h = harness();
    let a = h.login("alice", "apw");
    h.send(a, "blocks");
    assert_eq!(h.take(a), vec![ServerMsg::Blocks { users: vec![] }]);
    h.send(a, "block carol");
    h.send(a, "block bob");
    h.take(a);
    h.send(a, "blocks");
    assert_eq!(
        h.take(a),
        vec![ServerMsg::Blocks {
            users: vec!["bob".into(), "carol".into()]
        }]
    );
    h.send(a, "unblock carol");
    h.send(a, "blocks");
    assert_eq!(
        h.take(a).last(),
        Some(&ServerMsg::Blocks {
            users: vec!["bob".into()]
        })
    );
}

/// `note` is what a client sends on its own (an end-to-end session's confirmation): delivered, kept
/// for an offline user and refused exactly as `message` is, but the user did nothing, so their idle
/// timeout stays where it was.
#[test]
fn a_note_goes_as_a_message_does_but_is_not_the_user_being_active() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.take(alice);
    h.take(bob);
    h.send(alice, "note bob e2e1:n:confirming");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::Message {
            id: 1,
            sent_at: START,
            from: name("alice"),
            text: "e2e1:n:confirming".into()
        }]
    );
    h.send(alice, "note nobody hi");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NoSuchUser {
            user: "nobody".into()
        })]
    );
    h.send(alice, "note bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::Usage {
            command: CommandName::Note
        })]
    );
    // Kept for carol, who is offline, as a message would be.
    h.send(alice, "note carol kept");
    assert!(h.records().iter().any(|r| matches!(
        r,
        Record::MessageStored { text, .. } if &**text == "kept"
    )));

    // alice only sent notes after logging in (t=0); bob types a command at t=200.
    h.advance_secs(200);
    h.send(bob, "whoelse");
    h.send(alice, "note bob still here?");
    h.advance_secs(100);
    assert!(h.is_closed(alice), "notes kept nobody logged in");
    assert!(!h.is_closed(bob));
}
