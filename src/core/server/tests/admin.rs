//! The operator's actions and reloads (`server::admin`), and `passwd`: what each does to the users it
//! concerns, that nobody else is disconnected, and that what must survive a restart is recorded.

use super::*;
use crate::protocol::{ByeReason, Prompt};
use crate::server::harness::START;
use crate::server::{Account, Admin, BanTarget, Record, ServerState};

fn notice(text: &str) -> ServerMsg {
    ServerMsg::Notice { text: text.into() }
}

fn account(u: &str, p: &str) -> Account {
    Account {
        username: u.into(),
        password: p.into(),
    }
}

#[test]
fn a_kick_tells_the_user_why_ends_only_their_session_and_lets_them_back() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    let answer = h.admin(Admin::Kick {
        user: "bob".into(),
        reason: "take a break".into(),
    });
    assert_eq!(answer, Some(Ok("kicked bob".into())));
    assert_eq!(
        h.take(bob),
        vec![notice("take a break"), ServerMsg::Bye(ByeReason::Kicked)]
    );
    assert!(h.is_closed(bob));
    assert_eq!(h.take(alice), vec![offline("bob")]);
    assert!(!h.is_closed(alice));
    // A kick is not a ban.
    h.login("bob", "bpw");
    assert_eq!(
        h.admin(Admin::Kick {
            user: "carol".into(),
            reason: String::new()
        }),
        Some(Err("carol is not online".into()))
    );
}

#[test]
fn a_ban_on_an_account_ends_its_session_refuses_its_logins_and_is_lifted() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.clear_all();
    let answer = h.admin(Admin::Ban {
        target: BanTarget::User("bob".into()),
        until: Some(START.plus_secs(3600)),
        reason: "spam".into(),
    });
    assert!(answer.unwrap().unwrap().starts_with("banned bob until "));
    assert_eq!(
        h.take(bob),
        vec![
            notice("you are banned from this server: spam"),
            ServerMsg::Bye(ByeReason::Banned)
        ]
    );
    assert!(
        h.records()
            .iter()
            .any(|r| matches!(r, Record::Banned { target: BanTarget::User(u), .. } if u == "bob"))
    );
    let c = h.connect();
    h.send(c, "bob");
    assert_eq!(
        h.take(c)[1..],
        [
            err(ErrorReply::Banned { secs_left: 3600 }),
            ServerMsg::Bye(ByeReason::Banned)
        ]
    );
    // Timed: over once its hour is.
    h.advance_secs(3600);
    h.login("bob", "bpw");
    assert_eq!(
        h.admin(Admin::Unban {
            target: BanTarget::User("bob".into())
        }),
        Some(Ok("lifted the ban on bob".into()))
    );
}

#[test]
fn a_ban_on_a_network_turns_its_connections_away_before_anything_else() {
    let mut h = harness();
    let inside = h.connect_from("10.1.2.3:5000".parse().unwrap());
    let outside = h.connect_from("192.0.2.1:5000".parse().unwrap());
    h.clear_all();
    let answer = h.admin(Admin::Ban {
        target: BanTarget::parse("10.0.0.0/8"),
        until: None,
        reason: String::new(),
    });
    assert_eq!(
        answer,
        Some(Ok(
            "banned 10.0.0.0/8 for good; 1 connection(s) ended".into()
        ))
    );
    assert_eq!(
        h.take(inside),
        vec![
            notice("you are banned from this server"),
            ServerMsg::Bye(ByeReason::Banned)
        ]
    );
    assert!(!h.is_closed(outside));
    let again = h.connect_from("10.200.0.1:1".parse().unwrap());
    assert_eq!(h.take(again), vec![ServerMsg::Bye(ByeReason::Banned)]);
    assert!(h.is_closed(again));
}

#[test]
fn an_unlock_lets_a_locked_account_in_at_once() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "bob");
    for _ in 0..3 {
        h.send(c, "wrong");
    }
    assert!(h.state().locked_until("bob", h.now()).is_some());
    assert_eq!(
        h.admin(Admin::Unlock { user: "bob".into() }),
        Some(Ok("unlocked bob".into()))
    );
    assert!(
        h.records()
            .iter()
            .any(|r| matches!(r, Record::Unlocked { .. }))
    );
    h.login("bob", "bpw");
}

#[test]
fn removing_an_account_ends_its_session_and_takes_everything_it_had() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    group_with(&mut h, alice, "club", &["bob"]);
    h.send(bob, "block carol");
    h.send(alice, "message carol waiting for carol");
    h.clear_all();
    assert_eq!(
        h.admin(Admin::RemoveAccount { user: "bob".into() }),
        Some(Ok("removed account bob".into()))
    );
    assert_eq!(h.take(bob), vec![ServerMsg::Bye(ByeReason::Removed)]);
    let told = h.take(alice);
    assert!(told.contains(&offline("bob")), "{told:?}");
    assert!(told.contains(&ServerMsg::GroupLeft {
        group: name("club"),
        user: name("bob"),
        reason: String::new(),
    }));
    assert!(!h.state().has_user("bob"));
    assert!(!h.state().usernames().any(|u| u == "bob"));
    let c = h.connect();
    h.send(c, "bob");
    assert_eq!(
        h.take(c)[1..],
        [
            err(ErrorReply::UnknownUser),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    // The name is free again, for a new account that inherits nothing.
    assert_eq!(
        h.admin(Admin::AddAccount {
            user: "bob".into(),
            password: "fresh-password".into()
        }),
        Some(Ok("added account bob".into()))
    );
    let bob = h.login("bob", "fresh-password");
    h.send(bob, "grouplist");
    assert_eq!(
        h.take(bob).last(),
        Some(&ServerMsg::GroupList { groups: vec![] })
    );
    assert!(!h.state().has_blocked("bob", "carol"));
}

#[test]
fn a_renamed_account_logs_in_under_its_new_name_with_its_password() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.clear_all();
    assert_eq!(
        h.admin(Admin::RenameAccount {
            from: "bob".into(),
            to: "robert".into()
        }),
        Some(Ok("renamed account bob to robert".into()))
    );
    assert_eq!(
        h.take(bob),
        vec![
            notice("your account is renamed to robert: log in again with that name"),
            ServerMsg::Bye(ByeReason::Kicked)
        ]
    );
    h.login("robert", "bpw");
    assert!(!h.state().has_user("bob"));
    // Refused: taken, or looking like another account.
    for to in ["alice", "ALICE", "bad name"] {
        let answer = h.admin(Admin::RenameAccount {
            from: "carol".into(),
            to: to.into(),
        });
        assert!(matches!(answer, Some(Err(_))), "{to}: {answer:?}");
    }
}

#[test]
fn a_new_password_set_by_the_operator_keeps_the_session() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.clear_all();
    assert!(matches!(
        h.admin(Admin::SetPassword {
            user: "bob".into(),
            password: "another-one".into()
        }),
        Some(Ok(_))
    ));
    assert!(h.take(bob).is_empty());
    assert!(!h.is_closed(bob));
    h.send(bob, "logout");
    h.login("bob", "another-one");
}

#[test]
fn removing_a_group_or_a_member_tells_the_members() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    group_with(&mut h, alice, "club", &["bob", "carol"]);
    h.clear_all();
    assert!(matches!(
        h.admin(Admin::RemoveMember {
            group: "club".into(),
            user: "carol".into()
        }),
        Some(Ok(_))
    ));
    let left = ServerMsg::GroupLeft {
        group: name("club"),
        user: name("carol"),
        reason: String::new(),
    };
    assert_eq!(h.take(alice), vec![left.clone()]);
    assert_eq!(h.take(bob), vec![left]);
    assert_eq!(
        h.admin(Admin::RemoveGroup {
            group: "club".into()
        }),
        Some(Ok("removed group club (2 member(s))".into()))
    );
    h.send(bob, "grouplist");
    assert_eq!(
        h.take(bob).last(),
        Some(&ServerMsg::GroupList { groups: vec![] })
    );
    assert!(matches!(
        h.admin(Admin::RemoveGroup {
            group: "club".into()
        }),
        Some(Err(_))
    ));
}

#[test]
fn a_notice_reaches_everyone_online_and_nobody_logging_in() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let pending = h.connect();
    h.clear_all();
    assert_eq!(
        h.admin(Admin::Notice {
            text: "restart at noon".into()
        }),
        Some(Ok("told 2 user(s)".into()))
    );
    assert_eq!(h.take(alice), vec![notice("restart at noon")]);
    assert_eq!(h.take(bob), vec![notice("restart at noon")]);
    assert!(h.take(pending).is_empty());
}

#[test]
fn a_reload_of_the_accounts_adds_removes_and_changes_passwords_and_disconnects_only_the_removed() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    let answer = h.admin(Admin::Accounts {
        set: vec![account("bob", "new-bpw"), account("erin", "epw")],
        remove: vec!["carol".into()],
    });
    assert_eq!(
        answer,
        Some(Ok(
            "accounts: 1 added, 1 with a new password, 1 removed".into()
        ))
    );
    assert_eq!(h.take(carol), vec![ServerMsg::Bye(ByeReason::Removed)]);
    assert!(!h.is_closed(alice) && !h.is_closed(bob));
    assert_eq!(h.take(bob), vec![offline("carol")]);
    h.send(bob, "logout");
    h.login("bob", "new-bpw");
    h.login("erin", "epw");
    let records = h.records();
    assert!(
        records
            .iter()
            .any(|r| matches!(r, Record::AccountRemoved { user } if &**user == "carol"))
    );
    assert!(
        records
            .iter()
            .any(|r| matches!(r, Record::PasswordSet { user, .. } if &**user == "bob"))
    );
    assert!(
        records
            .iter()
            .any(|r| matches!(r, Record::AccountCreated { user, .. } if &**user == "erin"))
    );
}

#[test]
fn a_shorter_idle_timeout_from_a_reload_applies_to_sessions_already_open() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.advance_secs(100);
    let mut cfg = config();
    cfg.timeout_secs = 60;
    cfg.idle_warning_secs = 0;
    assert!(matches!(
        h.admin(Admin::Configure(Box::new(cfg.clone()))),
        Some(Ok(_))
    ));
    assert_eq!(h.state().config(), &cfg);
    h.advance_secs(1);
    assert!(h.is_closed(alice));
    assert!(
        h.take(alice)
            .contains(&ServerMsg::Bye(ByeReason::Timeout { secs: 60 }))
    );
}

#[test]
fn passwd_asks_for_the_current_password_then_a_new_one_the_policy_accepts() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.send(bob, "passwd");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::Prompt(Prompt::CurrentPassword)]
    );
    h.send(bob, "wrong");
    assert_eq!(h.take(bob), vec![err(ErrorReply::WrongCurrentPassword)]);
    // Back to commands.
    h.send(bob, "whoelse");
    assert!(matches!(h.take(bob)[..], [ServerMsg::WhoElse { .. }]));
    h.send(bob, "passwd");
    h.send(bob, "bpw");
    assert_eq!(
        h.take(bob),
        vec![
            ServerMsg::Prompt(Prompt::CurrentPassword),
            ServerMsg::Prompt(Prompt::ChosenPassword)
        ]
    );
    for weak in ["short", "BOB"] {
        h.send(bob, weak);
        assert_eq!(
            h.take(bob),
            vec![
                err(ErrorReply::WeakPassword { min: 8 }),
                ServerMsg::Prompt(Prompt::ChosenPassword)
            ]
        );
    }
    h.send(bob, "a much better one");
    assert_eq!(
        h.take(bob),
        vec![
            err(ErrorReply::InvalidPassword(
                crate::protocol::name::PasswordError::BadChar
            )),
            ServerMsg::Prompt(Prompt::ChosenPassword)
        ]
    );
    h.send(bob, "much-better-one");
    assert_eq!(
        h.take(bob),
        vec![ServerMsg::PasswordChanged { user: name("bob") }]
    );
    let stored = h.state().password_of("bob").unwrap().to_owned();
    assert!(crate::password::is_hash(&stored), "{stored}");
    h.send(bob, "logout");
    h.login("bob", "much-better-one");
}

/// As a cluster node feeds them: the two passwords go to the core as their shapes only, the weak one
/// judged by the gate that keeps its text.
#[test]
fn passwd_keeps_both_passwords_out_of_the_cores_input_when_gated() {
    let mut h = harness().gate_passwords().keep_log();
    let bob = h.login("bob", "bpw");
    h.send(bob, "passwd");
    h.send(bob, "bpw");
    h.send(bob, "short");
    h.send(bob, "much-better-one");
    let got = h.take(bob);
    assert!(
        got.contains(&err(ErrorReply::WeakPassword { min: 8 })),
        "{got:?}"
    );
    assert_eq!(
        got.last(),
        Some(&ServerMsg::PasswordChanged { user: name("bob") })
    );
    let log = h.log.as_ref().unwrap();
    for fed in log {
        let text = format!("{:?}", fed.event);
        for secret in ["bpw", "short", "much-better-one"] {
            assert!(!text.contains(secret), "{secret} entered the log: {text}");
        }
    }
    h.send(bob, "logout");
    h.login("bob", "much-better-one");
}

#[test]
fn registration_holds_a_new_password_to_the_policy() {
    let mut cfg = config();
    cfg.register = true;
    let mut h = Harness::new(cfg, ACCOUNTS);
    let c = h.connect();
    h.send(c, "zed");
    h.send(c, "zed");
    h.send(c, "abc");
    let got = h.take(c);
    assert_eq!(
        got.iter()
            .filter(|m| **m == err(ErrorReply::WeakPassword { min: 8 }))
            .count(),
        2,
        "{got:?}"
    );
    assert!(!h.state().has_user("zed"));
}

/// Every record the operator's actions made, replayed into a fresh core, gives the same durable state.
#[test]
fn the_operators_records_rebuild_the_same_state() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    group_with(&mut h, alice, "club", &["bob", "carol"]);
    h.send(alice, "message dave hello");
    h.send(alice, "logout");
    for action in [
        Admin::Ban {
            target: BanTarget::parse("10.0.0.0/8"),
            until: None,
            reason: "spam".into(),
        },
        Admin::Ban {
            target: BanTarget::User("carol".into()),
            until: Some(START.plus_secs(600)),
            reason: String::new(),
        },
        Admin::RenameAccount {
            from: "carol".into(),
            to: "caroline".into(),
        },
        Admin::RemoveAccount {
            user: "dave".into(),
        },
        Admin::AddAccount {
            user: "erin".into(),
            password: "erin-password".into(),
        },
        Admin::SetPassword {
            user: "bob".into(),
            password: "bob-password".into(),
        },
        Admin::RemoveMember {
            group: "club".into(),
            user: "bob".into(),
        },
    ] {
        assert!(matches!(h.admin(action.clone()), Some(Ok(_))), "{action:?}");
    }
    let accounts = ACCOUNTS.iter().map(|(u, p)| account(u, p)).collect();
    let mut restored = ServerState::new(config(), accounts, [1; 32]);
    assert_eq!(restored.restore(h.records().to_vec(), h.now()), 0);
    assert_eq!(restored.durable_view(), h.state().durable_view());
    assert_eq!(restored.bans_view(h.now()), h.state().bans_view(h.now()));
    assert_eq!(restored.bans_view(h.now()).len(), 2);
}
