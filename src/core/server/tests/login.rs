//! Rules 1–3: login, lockout, one session per user; and the login deadline.

use super::*;
use crate::protocol::name::{NameError, PasswordError};
use crate::protocol::{ByeReason, Prompt};
use crate::server::Record;

#[test]
fn connect_asks_for_username_then_password_then_welcomes() {
    let mut h = harness();
    let c = h.connect();
    assert_eq!(h.take(c), vec![ServerMsg::Prompt(Prompt::Username)]);
    h.send(c, "alice");
    assert_eq!(h.take(c), vec![ServerMsg::Prompt(Prompt::Password)]);
    h.send(c, "apw");
    assert_eq!(
        h.take(c),
        vec![ServerMsg::Welcome {
            user: name("alice")
        }]
    );
    assert_eq!(h.state().online_users(), vec!["alice"]);
}

#[test]
fn surrounding_spaces_are_ignored_but_case_matters() {
    let mut h = harness();
    let c = h.connect();
    h.take(c);
    h.send(c, "Alice");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::UnknownUser),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    h.send(c, "  alice ");
    h.send(c, " apw\t");
    assert!(matches!(h.take(c).last(), Some(ServerMsg::Welcome { .. })));
}

#[test]
fn unknown_username_asks_again() {
    let mut h = harness();
    let c = h.connect();
    h.take(c);
    h.send(c, "mallory");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::UnknownUser),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    h.send(c, "");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::InvalidUsername(NameError::Empty)),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    assert!(!h.is_closed(c));
}

#[test]
fn wrong_password_says_how_many_attempts_are_left() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "alice");
    h.take(c);
    h.send(c, "nope");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::WrongPassword { attempts_left: 2 }),
            ServerMsg::Prompt(Prompt::Password)
        ]
    );
    h.send(c, "nope");
    assert_eq!(
        h.take(c)[0],
        err(ErrorReply::WrongPassword { attempts_left: 1 })
    );
    h.send(c, "apw");
    assert!(matches!(h.take(c)[0], ServerMsg::Welcome { .. }));
}

fn fail(h: &mut Harness, c: crate::server::ConnId) -> Vec<ServerMsg> {
    h.send(c, "wrong");
    h.take(c)
}

#[test]
fn third_failure_locks_account_tells_and_closes() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "alice");
    fail(&mut h, c);
    fail(&mut h, c);
    assert_eq!(
        fail(&mut h, c),
        vec![
            err(ErrorReply::LockedNow { secs: 60 }),
            ServerMsg::Bye(ByeReason::Locked)
        ]
    );
    assert!(h.is_closed(c));
    assert!(h.records().contains(&Record::LockedOut {
        user: name("alice"),
        until: h.now().plus_secs(60)
    }));
}

#[test]
fn lock_holds_from_every_address_until_block_duration_passes() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "alice");
    for _ in 0..3 {
        fail(&mut h, c);
    }
    h.advance_secs(20);
    let other = h.connect_from("10.9.8.7:1234".parse().unwrap());
    h.take(other);
    h.send(other, "alice");
    assert_eq!(
        h.take(other),
        vec![
            err(ErrorReply::Locked { secs_left: 40 }),
            ServerMsg::Bye(ByeReason::Locked)
        ]
    );
    assert!(h.is_closed(other));
    // Still locked one millisecond before the end, with the time rounded up.
    h.advance(40_000 - 1);
    let c3 = h.connect();
    h.send(c3, "alice");
    assert_eq!(h.take(c3)[1], err(ErrorReply::Locked { secs_left: 1 }));
    h.advance(1);
    let c4 = h.connect();
    h.send(c4, "alice");
    h.send(c4, "apw");
    assert!(matches!(h.take(c4).last(), Some(ServerMsg::Welcome { .. })));
}

#[test]
fn failures_count_across_connections() {
    let mut h = harness();
    let a = h.connect();
    h.send(a, "bob");
    fail(&mut h, a);
    fail(&mut h, a);
    let b = h.connect_from("192.0.2.1:5".parse().unwrap());
    h.send(b, "bob");
    h.take(b);
    assert_eq!(fail(&mut h, b)[0], err(ErrorReply::LockedNow { secs: 60 }));
    // The first connection, still at its password prompt, is refused even with the right password.
    h.send(a, "bpw");
    assert_eq!(
        h.take(a),
        vec![
            err(ErrorReply::Locked { secs_left: 60 }),
            ServerMsg::Bye(ByeReason::Locked)
        ]
    );
    assert!(h.is_closed(a));
}

#[test]
fn success_resets_the_failure_count() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "carol");
    fail(&mut h, c);
    fail(&mut h, c);
    h.send(c, "cpw");
    h.send(c, "logout");
    let c = h.connect();
    h.send(c, "carol");
    h.take(c);
    assert_eq!(
        fail(&mut h, c)[0],
        err(ErrorReply::WrongPassword { attempts_left: 2 })
    );
}

#[test]
fn lock_expiry_resets_the_count() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "dave");
    for _ in 0..3 {
        fail(&mut h, c);
    }
    h.advance_secs(60);
    let c = h.connect();
    h.send(c, "dave");
    h.take(c);
    assert_eq!(
        fail(&mut h, c)[0],
        err(ErrorReply::WrongPassword { attempts_left: 2 })
    );
}

#[test]
fn zero_block_duration_never_refuses() {
    let mut cfg = config();
    cfg.block_duration_secs = 0;
    let mut h = Harness::new(cfg, ACCOUNTS);
    let c = h.connect();
    h.send(c, "alice");
    for _ in 0..3 {
        fail(&mut h, c);
    }
    let c = h.connect();
    h.send(c, "alice");
    h.send(c, "apw");
    assert!(matches!(h.take(c).last(), Some(ServerMsg::Welcome { .. })));
}

#[test]
fn second_login_of_online_user_is_refused_and_not_counted() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.take(alice);
    let intruder = h.connect_from("198.51.100.3:999".parse().unwrap());
    h.take(intruder);
    for _ in 0..5 {
        h.send(intruder, "alice");
        assert_eq!(
            h.take(intruder),
            vec![
                err(ErrorReply::AlreadyOnline),
                ServerMsg::Prompt(Prompt::Username)
            ]
        );
    }
    assert!(!h.is_closed(intruder));
    // The live session is untouched: still online, still receiving.
    assert_eq!(h.state().session_of("alice"), Some(alice));
    h.send(bob, "message alice still there?");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Message {
            id: 1,
            sent_at: h.now(),
            from: name("bob"),
            text: "still there?".into()
        }]
    );
    // Refusals were not failed passwords: after alice leaves, three tries remain.
    h.send(alice, "logout");
    h.send(intruder, "alice");
    h.take(intruder);
    assert_eq!(
        fail(&mut h, intruder)[0],
        err(ErrorReply::WrongPassword { attempts_left: 2 })
    );
}

#[test]
fn login_race_second_password_is_refused_as_duplicate() {
    let mut h = harness();
    let a = h.connect();
    let b = h.connect();
    h.send(a, "alice");
    h.send(b, "alice");
    h.send(a, "apw");
    h.take(b);
    h.send(b, "apw");
    assert_eq!(
        h.take(b),
        vec![
            err(ErrorReply::AlreadyOnline),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    assert_eq!(h.state().session_of("alice"), Some(a));
}

#[test]
fn unfinished_login_is_closed_at_the_deadline() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "alice");
    h.advance(30_000 - 1);
    assert!(!h.is_closed(c));
    h.advance(1);
    assert_eq!(
        h.take(c).last(),
        Some(&ServerMsg::Bye(ByeReason::LoginTimeout { secs: 30 }))
    );
    assert!(h.is_closed(c));
    assert_eq!(h.state().connection_count(), 0);
}

#[test]
fn login_deadline_does_not_apply_after_login() {
    let mut h = harness();
    let c = h.login("alice", "apw");
    h.advance_secs(31);
    assert!(!h.is_closed(c));
}

fn register_harness() -> Harness {
    let mut cfg = config();
    cfg.register = true;
    Harness::new(cfg, ACCOUNTS)
}

#[test]
fn register_creates_account_that_is_at_once_a_valid_target() {
    let mut h = register_harness();
    let alice = h.login("alice", "apw");
    let c = h.connect();
    h.take(c);
    h.send(c, "zed");
    assert_eq!(
        h.take(c),
        vec![ServerMsg::Prompt(Prompt::NewPassword { user: name("zed") })]
    );
    h.send(c, "has space");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::InvalidPassword(PasswordError::BadChar)),
            ServerMsg::Prompt(Prompt::NewPassword { user: name("zed") })
        ]
    );
    h.send(c, "zed-secret");
    let got = h.take(c);
    assert_eq!(
        got[..2],
        [
            ServerMsg::Registered { user: name("zed") },
            ServerMsg::Welcome { user: name("zed") }
        ]
    );
    // The account is stored with a hash of its password, never the password.
    let stored = h.records().iter().find_map(|r| match r {
        Record::AccountCreated { user, password } if &**user == "zed" => Some(password.clone()),
        _ => None,
    });
    let stored = stored.expect("the account is recorded");
    assert!(
        crate::password::is_hash(&stored) && !stored.contains("zed-secret"),
        "{stored}"
    );
    assert!(crate::password::verify(&stored, "zed-secret"));
    assert_eq!(h.take(alice), vec![online("zed")]);
    h.send(alice, "message zed hi zed");
    assert_eq!(
        h.take(c),
        vec![ServerMsg::Message {
            id: 1,
            sent_at: h.now(),
            from: name("alice"),
            text: "hi zed".into()
        }]
    );
    h.send(alice, "block zed");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Blocked { user: name("zed") }]
    );
    // And the new password works next time.
    h.send(c, "logout");
    h.login("zed", "zed-secret");
}

#[test]
fn register_refuses_bad_names_and_taken_names() {
    let mut h = register_harness();
    let c = h.connect();
    h.take(c);
    h.send(c, "no/slash");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::InvalidUsername(NameError::BadChar)),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    let d = h.connect();
    h.send(c, "newbie");
    h.send(d, "newbie");
    h.send(c, "password1");
    h.take(d);
    h.send(d, "password2");
    assert_eq!(
        h.take(d),
        vec![
            err(ErrorReply::NameTaken),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    // The name is now an ordinary account: the second connection can log in with the first password.
    h.send(c, "logout");
    h.send(d, "newbie");
    h.send(d, "password1");
    assert!(matches!(h.take(d).last(), Some(ServerMsg::Welcome { .. })));
}

#[test]
fn without_register_unknown_names_are_never_created() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "zed");
    h.send(c, "zed-secret");
    assert!(!h.state().has_user("zed"));
    assert!(h.records().is_empty());
}

#[test]
fn the_reserved_name_group_cannot_be_registered() {
    let cfg = Config {
        register: true,
        ..config()
    };
    let mut h = Harness::new(cfg, ACCOUNTS);
    let c = h.connect();
    h.take(c);
    h.send(c, "Group");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::InvalidUsername(
                crate::protocol::name::NameError::Reserved
            )),
            ServerMsg::Prompt(crate::protocol::Prompt::Username)
        ]
    );
}

/// Passwords given without their text (as a cluster node gives them): each test runs the same lines
/// through a harness that feeds them in the clear and one that gates them, and the users must see the
/// same thing.
mod without_text {
    use super::*;
    use crate::server::NextLine;

    fn both(cfg: Config, script: impl Fn(&mut Harness) -> Vec<ServerMsg>) {
        let plain = script(&mut Harness::new(cfg.clone(), ACCOUNTS));
        let mut gated_h = Harness::new(cfg, ACCOUNTS).gate_passwords();
        let gated = script(&mut gated_h);
        assert_eq!(plain, gated);
        assert!(gated_h.secret_lines > 0, "no line went without its text");
    }

    #[test]
    fn wrong_then_right_then_a_command_all_in_one_go() {
        both(config(), |h| {
            let c = h.connect();
            for line in ["alice", "nope", "apw", "whoelse"] {
                h.send(c, line);
            }
            h.take(c)
        });
    }

    #[test]
    fn three_wrong_lock_the_account_and_a_line_that_is_not_text_is_refused() {
        both(config(), |h| {
            let c = h.connect();
            h.send(c, "bob");
            h.send_bytes(c, b"\xff\xfe");
            for _ in 0..3 {
                h.send(c, "wrong");
            }
            h.take(c)
        });
    }

    #[test]
    fn registration_checks_the_shape_and_hashes_at_the_node() {
        let mut cfg = config();
        cfg.register = true;
        both(cfg, |h| {
            let c = h.connect();
            for line in ["zed", "has space", "zeds-pw", "whoelse"] {
                h.send(c, line);
            }
            let seen = h.take(c);
            let d = h.connect();
            for line in ["zed", "zeds-pw"] {
                h.send(d, line);
            }
            [seen, h.take(d)].concat()
        });
    }

    #[test]
    fn checks_of_passwords_stored_in_the_clear_are_not_bounded_like_argon2s() {
        let mut cfg = config();
        cfg.max_password_jobs = 1;
        let mut h = Harness::new(cfg, ACCOUNTS).gate_passwords().manual_jobs();
        let conns: Vec<_> = ACCOUNTS.iter().map(|_| h.connect()).collect();
        for (c, (user, password)) in conns.iter().zip(ACCOUNTS) {
            h.send(*c, user);
            h.send(*c, password);
        }
        assert_eq!(
            h.jobs_waiting(),
            ACCOUNTS.len(),
            "one comparison each, none refused"
        );
        h.answer_jobs();
        for c in conns {
            assert!(
                h.take(c)
                    .iter()
                    .any(|m| matches!(m, ServerMsg::Welcome { .. })),
                "{c} was not let in"
            );
        }
    }

    #[test]
    fn the_core_says_which_line_is_a_password_and_when_to_wait() {
        let mut h = Harness::new(config(), ACCOUNTS).manual_jobs();
        let c = h.connect();
        assert_eq!(h.state().next_line(c), NextLine::One { secret: false });
        h.send(c, "alice");
        assert_eq!(h.state().next_line(c), NextLine::One { secret: true });
        h.event(crate::server::Event::SecretLine {
            conn: c,
            shape: crate::server::SecretShape::Fit,
        });
        assert_eq!(h.state().next_line(c), NextLine::Wait, "the check runs");
        assert_eq!(h.jobs_waiting(), 1);
        assert_eq!(
            h.state().next_line(crate::server::ConnId(999)),
            NextLine::Wait
        );
    }
}
