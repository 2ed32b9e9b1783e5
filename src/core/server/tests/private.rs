//! Rule 11: brokering peer-to-peer private chats.

use super::*;
use crate::protocol::{CancelReason, CommandName};
use crate::server::ConnId;

/// alice (from 10.0.0.1) and bob (from 10.0.0.2, listening on 7000) online; lines cleared.
fn pair() -> (Harness, ConnId, ConnId) {
    let mut h = harness();
    let alice = h.connect_from("10.0.0.1:50000".parse().unwrap());
    h.send(alice, "alice");
    h.send(alice, "apw");
    let bob = h.connect_from("10.0.0.2:50001".parse().unwrap());
    h.send(bob, "bob");
    h.send(bob, "bpw");
    h.send(alice, "p2pport 6000");
    h.send(bob, "p2pport 7000");
    h.clear_all();
    (h, alice, bob)
}

fn discloses_address(msgs: &[ServerMsg]) -> bool {
    msgs.iter()
        .any(|m| matches!(m, ServerMsg::PrivateAccepted { .. }))
}

#[test]
fn port_registration_is_confirmed() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "p2pport 6000");
    assert_eq!(h.take(alice), vec![ServerMsg::P2pPort { port: 6000 }]);
}

#[test]
fn accepted_request_gives_requester_the_targets_address_and_both_the_token() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::PrivatePending {
            to: name("bob"),
            secs: 45
        }]
    );
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::PrivateRequest {
            from: name("alice"),
            secs: 45
        }]
    );
    h.send(bob, "accept alice");
    let to_alice = h.take(alice);
    let to_bob = h.take(bob);
    let [ServerMsg::PrivateAccepted { peer, addr, token }] = &to_alice[..] else {
        panic!("{to_alice:?}");
    };
    assert_eq!(&**peer, "bob");
    assert_eq!(*addr, "10.0.0.2:7000".parse().unwrap());
    assert_eq!(
        to_bob,
        vec![ServerMsg::PrivateExpect {
            peer: name("alice"),
            token: *token
        }]
    );
    assert!(h.state().in_private_session("alice", "bob"));
    // Only the requester learns an address.
    assert!(!discloses_address(&to_bob));
}

#[test]
fn tokens_differ_between_sessions() {
    let (mut h, alice, bob) = pair();
    let mut tokens = Vec::new();
    for _ in 0..2 {
        h.send(alice, "startprivate bob");
        h.send(bob, "accept alice");
        if let Some(ServerMsg::PrivateExpect { token, .. }) = h.take(bob).pop() {
            tokens.push(token);
        }
        h.send(alice, "stopprivate bob");
        h.clear_all();
    }
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1]);
}

#[test]
fn declined_request_reports_and_discloses_nothing() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    h.clear_all();
    h.send(bob, "decline alice");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::PrivateDeclined { peer: name("bob") }]
    );
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::PrivateDeclineSent {
            peer: name("alice")
        }]
    );
    h.send(bob, "accept alice");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::NoRequest {
            user: name("alice")
        })]
    );
    assert!(!discloses_address(&h.take(alice)));
}

#[test]
fn unanswered_request_expires_for_both() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    h.clear_all();
    h.advance(45_000 - 1);
    assert_eq!(h.take(alice), vec![]);
    h.advance(1);
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::PrivateCancelled {
            peer: name("bob"),
            reason: CancelReason::Timeout
        }]
    );
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::PrivateCancelled {
            peer: name("alice"),
            reason: CancelReason::Timeout
        }]
    );
    h.send(bob, "accept alice");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::NoRequest {
            user: name("alice")
        })]
    );
}

#[test]
fn request_ends_when_either_side_leaves() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    h.clear_all();
    h.send(bob, "logout");
    assert_eq!(
        h.take(alice),
        vec![
            offline("bob"),
            ServerMsg::PrivateCancelled {
                peer: name("bob"),
                reason: CancelReason::Offline
            }
        ]
    );
    // Its timer no longer matters.
    h.advance_secs(100);
    assert_eq!(h.take(alice), vec![]);
}

#[test]
fn startprivate_errors() {
    let (mut h, alice, bob) = pair();
    let cases = [
        (
            "startprivate ghost",
            err(ErrorReply::NoSuchUser {
                user: "ghost".into(),
            }),
        ),
        (
            "startprivate alice",
            err(ErrorReply::NotYourself {
                command: CommandName::StartPrivate,
            }),
        ),
        (
            "startprivate carol",
            err(ErrorReply::Offline {
                user: name("carol"),
            }),
        ),
        (
            "startprivate",
            err(ErrorReply::Usage {
                command: CommandName::StartPrivate,
            }),
        ),
    ];
    for (line, expect) in cases {
        h.send(alice, line);
        assert_eq!(h.take(alice), vec![expect], "{line}");
    }
    // A target whose client has no listener.
    let carol = h.login("carol", "cpw");
    h.take(alice);
    h.send(alice, "startprivate carol");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NoP2p {
            user: name("carol")
        })]
    );
    // A target who blocked me.
    h.send(carol, "p2pport 8000");
    h.send(carol, "block alice");
    h.send(alice, "startprivate carol");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy {
            user: name("carol")
        })]
    );
    // A request already waiting, either way round.
    h.send(alice, "startprivate bob");
    h.take(alice);
    h.send(alice, "startprivate bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::PrivatePending { user: name("bob") })]
    );
    h.send(bob, "startprivate alice");
    assert_eq!(
        h.take(bob).pop(),
        Some(err(ErrorReply::PrivatePending {
            user: name("alice")
        }))
    );
}

#[test]
fn second_startprivate_in_a_session_is_an_error_until_stopped() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    h.send(bob, "accept alice");
    h.clear_all();
    h.send(alice, "startprivate bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::PrivateExists { user: name("bob") })]
    );
    h.send(bob, "startprivate alice");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::PrivateExists {
            user: name("alice")
        })]
    );
    h.send(bob, "stopprivate alice");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::PrivateEnded {
            peer: name("alice")
        }]
    );
    h.send(alice, "stopprivate bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::NoSession { user: name("bob") })]
    );
    h.send(alice, "startprivate bob");
    assert!(matches!(
        h.take(alice)[..],
        [ServerMsg::PrivatePending { .. }]
    ));
}

#[test]
fn sessions_end_with_logout() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    h.send(bob, "accept alice");
    h.send(bob, "logout");
    assert!(!h.state().in_private_session("alice", "bob"));
}

#[test]
fn accepting_someone_i_block_is_refused() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    h.send(bob, "block alice");
    h.clear_all();
    h.send(bob, "accept alice");
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::YouBlocked {
            user: name("alice")
        })]
    );
    assert!(!discloses_address(&h.take(alice)));
}

#[test]
fn session_started_before_a_block_survives_it() {
    let (mut h, alice, bob) = pair();
    h.send(alice, "startprivate bob");
    h.send(bob, "accept alice");
    h.send(bob, "block alice");
    assert!(h.state().in_private_session("alice", "bob"));
}
