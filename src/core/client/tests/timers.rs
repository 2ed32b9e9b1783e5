//! The core keeps its own deadlines: `poll_timeout` names the earliest, `handle_timeout` acts on those
//! passed, and calling it early, late or twice is harmless.

use super::*;
use crate::protocol::p2p::{EXPECT_SECS, HANDSHAKE_SECS};

fn timeout_at(c: &mut Client, at: Timestamp) {
    c.now = at;
    let mut out = Vec::new();
    c.state.handle_timeout(at, &mut out);
    c.record_for_test(out);
}

#[test]
fn the_next_deadline_is_the_servers_greeting_until_it_prompts() {
    let mut c = Client::new();
    let greeting = START.plus_secs(Config::new(P2P_PORT).greeting_secs);
    assert_eq!(c.state.poll_timeout(), Some(greeting));
    // Early: nothing happens, and the deadline stands.
    timeout_at(&mut c, greeting.minus_millis(1));
    assert!(c.exit.is_none() && c.shown.is_empty());
    assert_eq!(c.state.poll_timeout(), Some(greeting));
    // The prompt comes: nothing is left to wait for, and a call at the old deadline does nothing.
    c.server(ServerMsg::Prompt(Prompt::Username));
    assert_eq!(c.state.poll_timeout(), None);
    timeout_at(&mut c, greeting);
    assert!(c.exit.is_none(), "{:?}", c.shown);
}

#[test]
fn private_chat_deadlines_and_the_sessions_own_are_one_table() {
    let mut b = Client::online("bob");
    b.server(ServerMsg::PrivateExpect {
        peer: name("alice"),
        token: token(1),
    });
    let expect = START.plus_secs(EXPECT_SECS);
    assert_eq!(b.state.poll_timeout(), Some(expect));
    // An incoming connection that never says hello has the earlier deadline.
    b.peer(LinkId::In(7), PeerEvent::Incoming);
    let greeting = START.plus_secs(HANDSHAKE_SECS);
    assert!(greeting < expect);
    assert_eq!(b.state.poll_timeout(), Some(greeting));
    // Logging out adds the session's own deadline; the earliest still wins.
    b.typed("logout");
    let logout = START.plus_secs(Config::new(P2P_PORT).logout_grace_secs);
    assert_eq!(
        b.state.poll_timeout(),
        Some(logout.min(greeting).min(expect))
    );
    // Once the client is done, it waits for nothing.
    b.server(ServerMsg::Bye(crate::protocol::ByeReason::Logout));
    assert_eq!(b.exit, Some(Exit::LoggedOut));
    assert_eq!(b.state.poll_timeout(), None);
}

#[test]
fn a_late_call_handles_every_passed_deadline_once_in_order() {
    let mut b = Client::online("bob");
    b.server(ServerMsg::PrivateExpect {
        peer: name("alice"),
        token: token(1),
    });
    b.peer(LinkId::In(7), PeerEvent::Incoming);
    b.clear();
    // Long after both: the quiet connection is closed, then the setup given up on, once each.
    let late = START.plus_secs(EXPECT_SECS * 10);
    timeout_at(&mut b, late);
    assert!(b.closed.contains(&LinkId::In(7)));
    assert_eq!(
        b.take_shown(),
        vec![Item::PrivateFailed {
            peer: name("alice"),
            why: SetupFailure::NeverConnected { secs: EXPECT_SECS }
        }]
    );
    assert_eq!(b.take_sent(), vec!["stopprivate alice"]);
    timeout_at(&mut b, late);
    assert!(b.take_shown().is_empty() && b.take_sent().is_empty());
    assert_eq!(b.state.poll_timeout(), None);
}
