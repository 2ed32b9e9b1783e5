//! Password jobs the shell could not do (`Event::PasswordJobFailed`: no randomness for a salt, or a job
//! without its password's text). The client is told and may try again; nothing is tried, counted or
//! changed; and the job's place among the bounded argon2 jobs is free again, so that failures cannot
//! add up to a server that answers every login `busy`.

use super::*;
use crate::protocol::Prompt;
use crate::server::{Account, Record};

fn hashed(password: &str) -> String {
    crate::password::hash(password, &[5; 16], crate::password::Strength::Minimal)
}

/// Logs `user` in with manual jobs: the check is answered here.
fn login(h: &mut Harness, user: &str, password: &str) -> crate::server::ConnId {
    let conn = h.connect();
    h.send(conn, user);
    h.send(conn, password);
    h.answer_jobs();
    assert!(
        h.take(conn)
            .iter()
            .any(|m| matches!(m, ServerMsg::Welcome { user: u } if &**u == user))
    );
    conn
}

/// What `conn` is told when every job handed over so far fails.
fn told_after_failing(h: &mut Harness, conn: crate::server::ConnId) -> Vec<ServerMsg> {
    h.clear_all();
    h.fail_jobs();
    h.take(conn)
}

/// `conn` types `password` three times, its job fails each time, and it is asked again with `prompt`.
fn fails_three_times(h: &mut Harness, conn: crate::server::ConnId, password: &str, prompt: Prompt) {
    for _ in 0..3 {
        h.send(conn, password);
        assert_eq!(
            told_after_failing(h, conn),
            vec![
                err(ErrorReply::PasswordJobFailed),
                ServerMsg::Prompt(prompt.clone())
            ]
        );
    }
}

#[test]
fn a_login_check_that_failed_is_asked_again_counts_nothing_and_frees_its_place() {
    let cfg = Config {
        max_password_jobs: 1,
        ..config()
    };
    let hash = hashed("secret");
    let mut h = Harness::new(cfg, &[("alice", &hash), ("bob", &hash)]).manual_jobs();
    let alice = h.connect();
    h.send(alice, "alice");
    fails_three_times(&mut h, alice, "wrong", Prompt::Password);
    // Three failed jobs are no failed logins: the account is not locked, and the first wrong
    // password checked leaves two tries.
    h.send(alice, "wrong");
    h.answer_jobs();
    assert!(
        h.take(alice)
            .contains(&err(ErrorReply::WrongPassword { attempts_left: 2 }))
    );
    // The one place for a job is free: bob's check runs, not `busy`.
    let bob = h.connect_from("10.0.0.2:5000".parse().unwrap());
    h.send(bob, "bob");
    h.send(bob, "secret");
    assert_eq!(h.jobs_waiting(), 1);
    h.answer_jobs();
    assert!(
        h.take(bob)
            .contains(&ServerMsg::Welcome { user: name("bob") })
    );
}

#[test]
fn lines_typed_during_a_check_that_failed_follow_its_answer_in_order() {
    let hash = hashed("secret");
    let mut h = Harness::new(config(), &[("alice", &hash)]).manual_jobs();
    let alice = h.connect();
    h.send(alice, "alice");
    h.send(alice, "secret");
    // Typed ahead, while the check runs: the password again, then a command.
    h.send(alice, "secret");
    h.send(alice, "whoelse");
    assert_eq!(
        told_after_failing(&mut h, alice),
        vec![
            err(ErrorReply::PasswordJobFailed),
            ServerMsg::Prompt(Prompt::Password)
        ]
    );
    h.answer_jobs();
    let got = h.take(alice);
    assert_eq!(
        got[0],
        ServerMsg::Welcome {
            user: name("alice")
        }
    );
    assert!(
        matches!(got.last(), Some(ServerMsg::WhoElse { .. })),
        "{got:?}"
    );
}

#[test]
fn a_new_accounts_hash_that_failed_creates_nothing_and_asks_again() {
    let cfg = Config {
        register: true,
        max_password_jobs: 1,
        ..config()
    };
    let mut h = Harness::new(cfg, ACCOUNTS).manual_jobs();
    let c = h.connect();
    h.send(c, "zed");
    h.send(c, "zed-secret");
    assert_eq!(
        told_after_failing(&mut h, c),
        vec![
            err(ErrorReply::PasswordJobFailed),
            ServerMsg::Prompt(Prompt::NewPassword { user: name("zed") })
        ]
    );
    assert!(
        !h.records()
            .iter()
            .any(|r| matches!(r, Record::AccountCreated { .. }))
    );
    h.send(c, "zed-secret");
    assert_eq!(h.jobs_waiting(), 1, "the place is free again");
    h.answer_jobs();
    assert_eq!(
        h.take(c)[..2],
        [
            ServerMsg::Registered { user: name("zed") },
            ServerMsg::Welcome { user: name("zed") }
        ]
    );
}

#[test]
fn a_new_accounts_hash_that_failed_spends_none_of_its_addresss_registrations() {
    let mut cfg = Config {
        register: true,
        ..config()
    };
    cfg.address_limits.register_burst = 1;
    cfg.address_limits.register_refill_secs = 600;
    let mut h = Harness::new(cfg, ACCOUNTS).manual_jobs();
    let c = h.connect();
    h.send(c, "zed");
    let again = Prompt::NewPassword { user: name("zed") };
    fails_three_times(&mut h, c, "zed-secret", again);
    // The one registration the address may make is still there.
    h.send(c, "zed-secret");
    h.answer_jobs();
    assert!(
        h.take(c)
            .contains(&ServerMsg::Registered { user: name("zed") })
    );
    // And it is spent now.
    h.send(c, "logout");
    let d = h.connect();
    h.send(d, "yan");
    h.send(d, "yan-secret");
    assert!(
        h.take(d)
            .contains(&err(ErrorReply::RegisterThrottled { secs_left: 600 }))
    );
}

#[test]
fn a_passwd_whose_check_or_hash_failed_ends_with_nothing_changed() {
    let hash = hashed("bob-secret");
    let mut h = Harness::new(config(), &[("bob", &hash)]).manual_jobs();
    let bob = login(&mut h, "bob", "bob-secret");
    // The current password's check fails.
    h.send(bob, "passwd");
    h.send(bob, "bob-secret");
    assert_eq!(
        told_after_failing(&mut h, bob),
        vec![err(ErrorReply::PasswordJobFailed)]
    );
    // The next line is a command again.
    h.send(bob, "whoelse");
    assert!(matches!(h.take(bob)[..], [ServerMsg::WhoElse { .. }]));
    // The new password's hash fails.
    h.send(bob, "passwd");
    h.send(bob, "bob-secret");
    h.answer_jobs();
    h.send(bob, "a-much-better-one");
    assert_eq!(
        told_after_failing(&mut h, bob),
        vec![err(ErrorReply::PasswordJobFailed)]
    );
    assert!(
        !h.records()
            .iter()
            .any(|r| matches!(r, Record::PasswordSet { .. }))
    );
    // The old password still logs in.
    h.send(bob, "logout");
    login(&mut h, "bob", "bob-secret");
}

#[test]
fn an_oper_whose_check_failed_leaves_the_session_a_users() {
    let cfg = Config {
        operators: vec![Account {
            username: "root".into(),
            password: hashed("rootpw"),
        }],
        ..config()
    };
    let mut h = Harness::new(cfg, ACCOUNTS).manual_jobs();
    let alice = h.login("alice", "apw");
    h.send(alice, "oper root");
    h.send(alice, "rootpw");
    assert_eq!(
        told_after_failing(&mut h, alice),
        vec![err(ErrorReply::PasswordJobFailed)]
    );
    h.send(alice, "kill bob");
    assert_eq!(h.take(alice), vec![err(ErrorReply::NotOperator)]);
    assert_eq!(h.jobs_waiting(), 0);
}
