//! Limits that keep one user (or one host) from hurting another: flood control, the backlog a sender
//! may leave for a recipient, the share of a mailbox, and the limits per source address.

use std::net::SocketAddr;

use super::*;
use crate::protocol::{ByeReason, Prompt};
use crate::server::{AddressLimits, Event};

fn flood_config(rate: u32, burst: u32) -> Config {
    Config {
        flood_rate: rate,
        flood_burst: burst,
        ..config()
    }
}

fn texts(got: &[ServerMsg]) -> Vec<String> {
    got.iter()
        .filter_map(|m| match m {
            ServerMsg::Message { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_flood_is_slowed_to_the_rate_with_nothing_lost_or_reordered() {
    let mut h = Harness::new(flood_config(10, 5), ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    // bob reads without acknowledging: what is written to him is delivered.
    h.send(bob, "acks off");
    // (Logging in took two of the burst; let it fill again.)
    h.advance(1000);
    h.clear_all();
    for i in 0..25 {
        h.send(alice, &format!("message bob m{i}"));
    }
    // The burst goes through at once; the rest is held, alice is told once, and her reading paused.
    assert_eq!(texts(&h.take(bob)).len(), 5);
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::SlowDown { per_sec: 10 })]
    );
    assert!(h.is_paused(alice));
    // Then one every 100 ms, in order.
    h.advance(1000);
    assert_eq!(texts(&h.take(bob)).len(), 10);
    assert!(h.is_paused(alice));
    h.advance(1000);
    let rest = texts(&h.take(bob));
    assert_eq!(rest.len(), 10);
    assert_eq!(rest.last().map(String::as_str), Some("m24"));
    assert!(!h.is_paused(alice), "reading resumes once nothing is held");
    assert!(h.take(alice).is_empty(), "no error for any of them");
    // The next flood is announced again.
    h.advance(10_000);
    for i in 0..7 {
        h.send(alice, &format!("message bob n{i}"));
    }
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::SlowDown { per_sec: 10 })]
    );
}

#[test]
fn a_flood_that_goes_on_ends_the_session_and_others_are_untouched() {
    let mut h = Harness::new(flood_config(2, 5), ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    // 30 s of the rate is 60 lines; a client that sends more while held is cut off.
    for i in 0..70 {
        h.send(alice, &format!("message bob x{i}"));
        if h.is_closed(alice) {
            break;
        }
    }
    assert!(h.is_closed(alice));
    assert_eq!(
        h.take(alice).last(),
        Some(&ServerMsg::Bye(ByeReason::Flood { cooldown_secs: 60 }))
    );
    assert!(!h.is_closed(bob));
    h.send(bob, "whoelse");
    assert_eq!(
        h.take(bob).last(),
        Some(&ServerMsg::WhoElse { users: vec![] })
    );
}

#[test]
fn lines_sent_with_a_hashed_password_wait_for_the_check_then_run_in_order() {
    let hash = crate::password::hash("secret", &[5; 16], crate::password::Strength::Minimal);
    let mut h = Harness::new(config(), &[("alice", &hash), ("bob", "bpw")]).manual_jobs();
    let bob = h.login("bob", "bpw");
    let c = h.connect();
    h.send(c, "alice");
    h.send(c, "secret");
    h.send(c, "whoelse");
    h.send(c, "message bob hi");
    assert_eq!(h.jobs_waiting(), 1);
    assert_eq!(
        h.take(c),
        vec![
            ServerMsg::Prompt(Prompt::Username),
            ServerMsg::Prompt(Prompt::Password)
        ],
        "nothing is answered before the check"
    );
    h.answer_jobs();
    let got = h.take(c);
    assert_eq!(
        got[0],
        ServerMsg::Welcome {
            user: name("alice")
        }
    );
    assert!(got.contains(&ServerMsg::WhoElse {
        users: vec![name("bob")]
    }));
    assert!(texts(&h.take(bob)).contains(&"hi".to_string()));
    assert!(!h.is_paused(c));
}

#[test]
fn a_wrong_hashed_password_counts_toward_the_lockout() {
    let hash = crate::password::hash("secret", &[5; 16], crate::password::Strength::Minimal);
    let mut h = Harness::new(config(), &[("alice", &hash)]);
    let c = h.connect();
    h.send(c, "alice");
    for left in [2, 1] {
        h.send(c, "guess");
        assert!(h.take(c).contains(&err(ErrorReply::WrongPassword {
            attempts_left: left
        })));
    }
    h.send(c, "guess");
    assert!(h.is_closed(c));
    assert!(
        h.records()
            .iter()
            .any(|r| matches!(r, crate::server::Record::LockedOut { .. }))
    );
}

#[test]
fn too_many_checks_at_once_are_answered_busy_without_counting() {
    let hash = crate::password::hash("secret", &[5; 16], crate::password::Strength::Minimal);
    let cfg = Config {
        max_password_jobs: 1,
        ..config()
    };
    let mut h = Harness::new(cfg, &[("alice", &hash), ("bob", &hash)]).manual_jobs();
    let a = h.connect();
    h.send(a, "alice");
    h.send(a, "secret");
    let b = h.connect_from("10.0.0.2:5000".parse().unwrap());
    h.send(b, "bob");
    h.clear_all();
    h.send(b, "wrong");
    assert_eq!(
        h.take(b),
        vec![err(ErrorReply::Busy), ServerMsg::Prompt(Prompt::Password)]
    );
    h.answer_jobs();
    // bob's busy answer was no failure: three wrong passwords still remain.
    h.send(b, "wrong");
    h.answer_jobs();
    assert!(
        h.take(b)
            .contains(&err(ErrorReply::WrongPassword { attempts_left: 2 }))
    );
}

#[test]
fn a_lockout_during_the_check_is_respected() {
    let hash = crate::password::hash("secret", &[5; 16], crate::password::Strength::Minimal);
    let mut h = Harness::new(config(), &[("alice", &hash)]).manual_jobs();
    let slow = h.connect();
    h.send(slow, "alice");
    h.send(slow, "secret");
    // Meanwhile someone else locks the account.
    let other = h.connect_from("10.0.0.9:1".parse().unwrap());
    h.send(other, "alice");
    for _ in 0..3 {
        h.send(other, "nope");
        h.answer_last_job();
    }
    assert!(h.is_closed(other), "{:?}", h.take(other));
    h.clear_all();
    h.answer_jobs();
    let got = h.take(slow);
    assert!(
        matches!(
            got.first(),
            Some(ServerMsg::Error(ErrorReply::Locked { .. }))
        ),
        "{got:?}"
    );
    assert!(h.is_closed(slow));
}

/// What others send a user who reads slowly waits in their queue, not in their connection's: the core
/// writes at most a window of it before the connection drains, so the recipient is never dropped as a
/// slow reader; a sender who fills their share of the queue is told, and others still get through.
#[test]
fn one_sender_cannot_get_a_slow_reader_disconnected() {
    let cfg = Config {
        mailbox_limit: 40,
        mailbox_share_percent: 25,
        mail_window: 2048,
        ..config().unlimited()
    };
    let mut h = Harness::new(cfg, ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.send(bob, "acks off");
    h.stall_reader(bob);
    h.clear_all();
    let text = "x".repeat(90);
    let mut accepted = 0;
    let mut refused = false;
    for _ in 0..2000 {
        h.send(alice, &format!("message bob {text}"));
        if h.take(alice)
            .contains(&err(ErrorReply::RecipientBusy { user: name("bob") }))
        {
            refused = true;
            break;
        }
        accepted += 1;
    }
    assert!(refused, "the sender is told, after {accepted}");
    let got = h.take(bob);
    let written: usize = got
        .iter()
        .map(|m| crate::protocol::render_line(m).len())
        .sum();
    assert!(
        written <= 2048 + text.len() + 64,
        "{written} bytes written to a reader that reads nothing"
    );
    assert_eq!(
        accepted,
        got.len() + 10,
        "a window written, and a share queued"
    );
    assert!(!h.is_closed(bob), "the recipient keeps the session");
    // Others still reach bob.
    h.send(carol, "message bob from carol");
    assert!(h.take(carol).is_empty());
    // Once bob's connection drains, the next window goes, and alice may go on.
    h.event(Event::Drained { conn: bob });
    assert!(!h.take(bob).is_empty());
    h.send(alice, "message bob again");
    assert!(h.take(alice).is_empty());
    // A broadcast says some did not get it, never who.
    h.clear_all();
    for _ in 0..2000 {
        h.send(carol, &format!("broadcast {text}"));
    }
    assert!(h.take(carol).contains(&ServerMsg::BroadcastSent {
        delivered: 1,
        skipped: true
    }));
    assert!(!h.is_closed(bob));
}

#[test]
fn one_sender_fills_at_most_its_share_of_a_mailbox() {
    let cfg = Config {
        mailbox_limit: 8,
        mailbox_share_percent: 25,
        ..config()
    };
    let mut h = Harness::new(cfg, ACCOUNTS);
    let alice = h.login("alice", "apw");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    for i in 0..2 {
        h.send(alice, &format!("message dave a{i}"));
        assert!(matches!(h.take(alice)[..], [ServerMsg::Stored { .. }]));
    }
    h.send(alice, "message dave a2");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::MailboxShare {
            user: name("dave"),
            max: 2
        })]
    );
    h.send(alice, "ping dave");
    assert!(h.take(alice).contains(&ServerMsg::Ping {
        user: name("dave"),
        state: crate::protocol::PingState::Offline { stored: false }
    }));
    // Others still have room.
    h.send(carol, "message dave from carol");
    assert!(matches!(h.take(carol)[..], [ServerMsg::Stored { .. }]));
    // Once dave reads them, alice's share is free again.
    let dave = h.login("dave", "dpw");
    let newest = h
        .state()
        .durable_view()
        .users
        .iter()
        .find(|u| u.name == "dave")
        .and_then(|u| u.mailbox.last().map(|m| m.id))
        .unwrap();
    h.send(dave, &format!("ack {newest}"));
    h.send(dave, "logout");
    h.clear_all();
    h.send(alice, "message dave a3");
    assert!(matches!(h.take(alice)[..], [ServerMsg::Stored { .. }]));
}

fn peer(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn limits(f: impl FnOnce(&mut AddressLimits)) -> Config {
    let mut cfg = config();
    f(&mut cfg.address_limits);
    cfg
}

#[test]
fn new_connections_from_one_address_are_a_burst_then_a_rate() {
    let mut h = Harness::new(
        limits(|l| {
            l.connect_burst = 2;
            l.connect_per_sec = 1;
            l.max_pending = 0;
        }),
        ACCOUNTS,
    );
    let _a = h.connect_from(peer("10.1.1.1:1"));
    let _b = h.connect_from(peer("10.1.1.1:2"));
    let c = h.connect_from(peer("10.1.1.1:3"));
    assert_eq!(
        h.take(c),
        vec![ServerMsg::Bye(ByeReason::ConnectThrottled { secs: 1 })],
        "refused before anything else, with when to come back"
    );
    assert!(h.is_closed(c));
    let d = h.connect_from(peer("10.1.1.2:1"));
    assert!(!h.is_closed(d), "another address is not affected");
}

#[test]
fn connections_logging_in_from_one_address_are_capped() {
    let mut h = Harness::new(limits(|l| l.max_pending = 2), ACCOUNTS);
    let a = h.connect_from(peer("10.1.1.1:1"));
    let _b = h.connect_from(peer("10.1.1.1:2"));
    let c = h.connect_from(peer("10.1.1.1:3"));
    assert_eq!(
        h.take(c),
        vec![ServerMsg::Bye(ByeReason::TooManyConnections { max: 2 })]
    );
    assert!(h.is_closed(c));
    // Another address is not affected; logging in frees a place.
    let d = h.connect_from(peer("10.1.1.2:1"));
    assert!(!h.is_closed(d));
    h.send(a, "alice");
    h.send(a, "apw");
    let e = h.connect_from(peer("10.1.1.1:4"));
    assert!(!h.is_closed(e));
}

#[test]
fn failed_logins_from_one_address_are_throttled_without_locking_more_accounts() {
    let cfg = limits(|l| {
        l.failure_burst = 4;
        l.failure_refill_secs = 30;
    });
    let mut h = Harness::new(cfg, ACCOUNTS);
    let first = h.connect_from(peer("10.2.2.2:1"));
    h.send(first, "alice");
    h.send(first, "no1");
    h.send(first, "no2");
    // Unknown names count too.
    let c = h.connect_from(peer("10.2.2.2:2"));
    h.send(c, "nobody");
    h.send(c, "nobody2");
    h.clear_all();
    // The burst is spent: nothing more is tried, and alice's count is not touched.
    h.send(c, "alice");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::LoginThrottled { secs_left: 30 }),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    // The account itself is fine from elsewhere.
    let elsewhere = h.connect_from(peer("10.3.3.3:1"));
    h.send(elsewhere, "alice");
    h.send(elsewhere, "apw");
    assert!(h.take(elsewhere).contains(&ServerMsg::Welcome {
        user: name("alice")
    }));
    // After the refill, one more try.
    h.advance_secs(30);
    let again = h.connect_from(peer("10.2.2.2:3"));
    h.send(again, "bob");
    h.send(again, "bpw");
    assert!(
        h.take(again)
            .contains(&ServerMsg::Welcome { user: name("bob") })
    );
}

#[test]
fn registration_is_rationed_per_address_and_refuses_case_twins() {
    let cfg = Config {
        register: true,
        ..limits(|l| {
            l.register_burst = 1;
            l.register_refill_secs = 600;
        })
    };
    let mut h = Harness::new(cfg, ACCOUNTS);
    let c = h.connect_from(peer("10.4.4.4:1"));
    h.send(c, "Alice");
    assert_eq!(
        h.take(c),
        vec![
            ServerMsg::Prompt(Prompt::Username),
            err(ErrorReply::NameTooSimilar {
                existing: name("alice")
            }),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    h.send(c, "zed");
    h.send(c, "zed-secret");
    assert!(
        h.take(c)
            .contains(&ServerMsg::Registered { user: name("zed") })
    );
    h.send(c, "logout");
    let d = h.connect_from(peer("10.4.4.4:2"));
    h.send(d, "yan");
    h.send(d, "yan-secret");
    assert_eq!(
        h.take(d)[2..],
        [
            err(ErrorReply::RegisterThrottled { secs_left: 600 }),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    assert!(
        h.state()
            .durable_view()
            .users
            .iter()
            .all(|u| u.name != "yan")
    );
}

#[test]
fn a_registration_answered_busy_spends_none_of_its_addresss_registrations() {
    let hash = crate::password::hash("secret", &[5; 16], crate::password::Strength::Minimal);
    let cfg = Config {
        register: true,
        max_password_jobs: 1,
        ..limits(|l| {
            l.register_burst = 1;
            l.register_refill_secs = 600;
        })
    };
    let mut h = Harness::new(cfg, &[("alice", &hash)]).manual_jobs();
    // alice's check holds the one place for a job.
    let a = h.connect_from(peer("10.4.4.5:1"));
    h.send(a, "alice");
    h.send(a, "secret");
    let c = h.connect_from(peer("10.4.4.4:1"));
    h.send(c, "zed");
    h.clear_all();
    h.send(c, "zed-secret");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::Busy),
            ServerMsg::Prompt(Prompt::NewPassword { user: name("zed") })
        ]
    );
    h.answer_jobs();
    // The password was not tried, and the address's one registration was not spent.
    h.send(c, "zed-secret");
    h.answer_jobs();
    assert!(
        h.take(c)
            .contains(&ServerMsg::Registered { user: name("zed") })
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// However a client spreads its lines in time, flood control hands every one of them to the rules,
    /// once, in order, and never more than the burst plus the rate allows in any stretch of time.
    #[test]
    fn flood_control_loses_nothing_and_keeps_the_pace(
        bursts in proptest::collection::vec((0u64..1500, 1usize..30), 1..12),
    ) {
        let (rate, burst) = (10u32, 5u32);
        let mut h = Harness::new(flood_config(rate, burst), ACCOUNTS);
        let alice = h.login("alice", "apw");
        let bob = h.login("bob", "bpw");
        h.send(bob, "acks off");
        h.clear_all();
        let mut sent = 0usize;
        let mut got: Vec<(u64, String)> = Vec::new();
        let start = h.now().as_millis();
        let collect = |h: &mut Harness| {
            let at = h.now().as_millis() - start;
            texts(&h.take(bob)).into_iter().map(move |t| (at, t)).collect::<Vec<_>>()
        };
        for (pause, n) in bursts {
            // Time passes in steps, so deliveries are stamped near when they happened.
            for _ in 0..pause / 50 {
                h.advance(50);
                got.extend(collect(&mut h));
            }
            for _ in 0..n {
                h.send(alice, &format!("message bob {sent}"));
                sent += 1;
            }
            got.extend(collect(&mut h));
            proptest::prop_assert!(!h.is_closed(alice));
        }
        for _ in 0..(sent as u64 * 100 / 50 + 40) {
            h.advance(50);
            got.extend(collect(&mut h));
        }
        let order: Vec<String> = got.iter().map(|(_, t)| t.clone()).collect();
        let want: Vec<String> = (0..sent).map(|i| i.to_string()).collect();
        proptest::prop_assert_eq!(order, want);
        // In any window of w ms, at most burst + w / interval (+1 for the window's edges).
        for (i, (t0, _)) in got.iter().enumerate() {
            let in_window = got[i..].iter().take_while(|(t, _)| *t < t0 + 1000).count();
            proptest::prop_assert!(in_window <= burst as usize + rate as usize + 1, "{in_window} in a second");
        }
        proptest::prop_assert!(!h.is_paused(alice));
    }
}

/// A note is not the user's doing, but it is a message: flood control charges it to the same bucket,
/// so calling half of a flood notes does not double what gets through.
#[test]
fn notes_are_charged_as_messages_by_flood_control() {
    let mut h = Harness::new(flood_config(10, 5), ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "acks off");
    h.advance(1000);
    h.clear_all();
    for i in 0..20 {
        let command = if i % 2 == 0 { "message" } else { "note" };
        h.send(alice, &format!("{command} bob m{i}"));
    }
    assert_eq!(texts(&h.take(bob)).len(), 5, "one burst for both");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::SlowDown { per_sec: 10 })]
    );
    h.advance(2000);
    let rest = texts(&h.take(bob));
    assert_eq!(rest.len(), 15, "the rest at the rate, in order: {rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("m19"));
}
