//! Rules 4–6 and 10: idle timeout, presence, whoelse, whoelsesince, logout.

use super::*;
use crate::protocol::ByeReason;
use crate::server::Record;

#[test]
fn login_and_logout_are_announced_to_the_others_only() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    assert_eq!(h.take(alice), vec![online("bob")]);
    assert_eq!(h.take(bob), vec![]);
    h.send(bob, "logout");
    assert_eq!(h.take(bob), vec![ServerMsg::Bye(ByeReason::Logout)]);
    assert!(h.is_closed(bob));
    assert_eq!(h.take(alice), vec![offline("bob")]);
}

#[test]
fn dropped_connection_is_a_logout() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.take(alice);
    h.disconnect(bob);
    assert_eq!(h.take(alice), vec![offline("bob")]);
    assert_eq!(h.state().online_users(), vec!["alice"]);
    assert!(
        h.records()
            .iter()
            .any(|r| matches!(r, Record::LoggedOut { user, .. } if &**user == "bob"))
    );
}

#[test]
fn presence_is_hidden_in_both_directions_of_a_block() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    // alice blocks bob: bob does not see alice come and go (rule 5), and alice does not see bob's
    // presence either (nothing from a blocked user reaches the blocker).
    h.send(alice, "block bob");
    h.take(alice);
    h.send(alice, "logout");
    assert_eq!(h.take(bob), vec![]);
    assert_eq!(h.take(carol), vec![offline("alice")]);
    let alice = h.login("alice", "apw");
    assert_eq!(h.take(bob), vec![]);
    assert_eq!(h.take(carol), vec![online("alice")]);
    h.send(bob, "logout");
    assert_eq!(h.take(alice), vec![]);
    assert_eq!(h.take(carol), vec![offline("bob")]);
    h.login("bob", "bpw");
    assert_eq!(h.take(alice), vec![]);
    assert_eq!(h.take(carol), vec![online("bob")]);
}

#[test]
fn an_idle_user_is_warned_before_the_logout_and_a_command_starts_over() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.clear_all();
    h.advance_secs(239);
    assert_eq!(h.take(alice), vec![]);
    h.advance_secs(1);
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::IdleWarning { secs_left: 60 }],
        "300 s timeout, warned 60 s ahead, once"
    );
    h.advance_secs(30);
    assert_eq!(h.take(alice), vec![]);
    h.send(alice, "whoelse");
    h.take(alice);
    h.advance_secs(239);
    assert_eq!(h.take(alice), vec![], "the command put the deadline back");
    h.advance_secs(1);
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::IdleWarning { secs_left: 60 }]
    );
    // What is not a command does not count: an ack, a port registration.
    h.send(alice, "p2pport 5000");
    h.take(alice);
    h.advance_secs(60);
    assert!(h.is_closed(alice));
}

#[test]
fn no_warning_when_the_timeout_is_too_short_for_one() {
    let cfg = Config {
        timeout_secs: 1,
        ..config()
    };
    let mut h = crate::server::harness::Harness::new(cfg, ACCOUNTS);
    let alice = h.login("alice", "apw");
    h.advance_secs(1);
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Bye(ByeReason::Timeout { secs: 1 })]
    );
}

#[test]
fn idle_user_is_logged_out_exactly_at_the_timeout() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.advance(300_000 - 1);
    assert!(!h.is_closed(alice));
    h.advance(1);
    assert_eq!(
        h.take(alice),
        vec![
            ServerMsg::IdleWarning { secs_left: 60 },
            ServerMsg::Bye(ByeReason::Timeout { secs: 300 })
        ]
    );
    assert!(h.is_closed(alice));
    // bob logged in at the same instant, so he is out too; each sees the other leave only if still on.
    assert!(h.is_closed(bob));
    assert!(h.state().online_users().is_empty());
}

#[test]
fn each_command_restarts_the_idle_clock() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.advance_secs(200);
    h.send(alice, "whoelse");
    h.advance_secs(299);
    assert!(!h.is_closed(alice));
    h.advance_secs(1);
    assert!(h.is_closed(alice));
}

#[test]
fn receiving_is_not_activity() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.advance_secs(100);
    for _ in 0..5 {
        h.send(bob, "message alice ping");
        h.send(bob, "broadcast ping");
        h.advance_secs(40);
    }
    // alice has only received since login at t=0; bob was active until t=260.
    h.advance_secs(300 - 300);
    assert!(h.is_closed(alice));
    assert!(!h.is_closed(bob));
}

#[test]
fn invalid_commands_are_not_activity_but_active_is() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.advance_secs(250);
    for bad in ["dance", "message", "whoelsesince -1", "", "block"] {
        h.send(alice, bad);
    }
    h.send_bytes(alice, b"\xff\xfe");
    h.too_long(alice);
    // Client-generated acknowledgements and port registration are not the user being active.
    h.send(alice, "p2pport 5000");
    h.send(bob, "active");
    h.advance_secs(50);
    assert!(h.is_closed(alice));
    assert!(!h.is_closed(bob));
    h.advance_secs(249);
    assert!(!h.is_closed(bob));
    h.advance_secs(1);
    assert!(h.is_closed(bob));
}

#[test]
fn timeout_is_announced_like_any_logout() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.advance_secs(100);
    let bob = h.login("bob", "bpw");
    h.take(alice);
    h.advance_secs(200);
    assert_eq!(h.take(bob), vec![offline("alice")]);
}

#[test]
fn whoelse_lists_others_except_those_who_blocked_me() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.send(alice, "whoelse");
    assert_eq!(
        h.take(alice).pop(),
        Some(ServerMsg::WhoElse {
            users: names(&["bob", "carol"])
        })
    );
    h.send(carol, "block alice");
    h.send(alice, "whoelse");
    assert_eq!(
        h.take(alice).pop(),
        Some(ServerMsg::WhoElse {
            users: names(&["bob"])
        })
    );
    // A user I blocked is still listed to me.
    h.send(bob, "block carol");
    h.send(bob, "whoelse");
    assert_eq!(
        h.take(bob).pop(),
        Some(ServerMsg::WhoElse {
            users: names(&["alice", "carol"])
        })
    );
    h.send(carol, "logout");
    h.send(bob, "logout");
    h.send(alice, "whoelse");
    assert_eq!(
        h.take(alice).pop(),
        Some(ServerMsg::WhoElse { users: vec![] })
    );
}

#[test]
fn whoelsesince_covers_the_span_and_those_online_now() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.send(bob, "logout");
    h.advance_secs(30);
    h.send(carol, "logout");
    h.advance_secs(30);
    h.login("dave", "dpw");
    h.take(alice);
    let ask = |h: &mut Harness, secs: u64| {
        h.send(alice, &format!("whoelsesince {secs}"));
        match h.take(alice).pop() {
            Some(ServerMsg::WhoElseSince { secs: s, users })
                if s == secs.min(crate::protocol::MAX_SPAN_SECS) =>
            {
                users
            }
            other => panic!("{other:?}"),
        }
    };
    // bob left 60 s ago, carol 30 s ago; dave is online.
    assert_eq!(ask(&mut h, 0), names(&["dave"]));
    assert_eq!(ask(&mut h, 29), names(&["dave"]));
    assert_eq!(ask(&mut h, 30), names(&["carol", "dave"]));
    assert_eq!(ask(&mut h, 60), names(&["bob", "carol", "dave"]));
    assert_eq!(ask(&mut h, u64::MAX), names(&["bob", "carol", "dave"]));
}

#[test]
fn whoelsesince_hides_users_who_blocked_me_and_never_lists_the_never_seen() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.send(bob, "logout");
    h.send(alice, "whoelsesince 1000");
    assert_eq!(
        h.take(alice).pop(),
        Some(ServerMsg::WhoElseSince {
            secs: 1000,
            users: vec![]
        })
    );
}

#[test]
fn whoelsesince_rejects_bad_spans() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    for bad in ["whoelsesince -5", "whoelsesince soon"] {
        h.send(alice, bad);
        assert_eq!(
            h.take(alice),
            vec![err(ErrorReply::BadNumber {
                command: crate::protocol::CommandName::WhoElseSince
            })]
        );
    }
}

#[test]
fn relogin_moves_history_forward() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "logout");
    h.advance_secs(100);
    let bob = h.login("bob", "bpw");
    h.advance_secs(100);
    h.send(bob, "logout");
    h.advance_secs(10);
    h.take(alice);
    h.send(alice, "whoelsesince 20");
    assert_eq!(
        h.take(alice).pop(),
        Some(ServerMsg::WhoElseSince {
            secs: 20,
            users: names(&["bob"])
        })
    );
    assert_eq!(
        h.state().last_logout("bob"),
        Some(h.now().minus_millis(10_000))
    );
}

#[test]
fn shutdown_says_goodbye_to_everyone_without_presence_storm() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let pending = h.connect();
    h.clear_all();
    h.shutdown();
    for c in [alice, bob, pending] {
        assert_eq!(h.take(c), vec![ServerMsg::Bye(ByeReason::Shutdown)]);
        assert!(h.is_closed(c));
    }
    let logged_out = h
        .records()
        .iter()
        .filter(|r| matches!(r, Record::LoggedOut { .. }))
        .count();
    assert_eq!(logged_out, 2);
}
