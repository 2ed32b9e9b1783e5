//! Guests (`login::guest`): a session with no account, under a free name that is no account's, when
//! the operator allows it; every rule of a session applies, nothing is stored, and the name is free
//! again when the guest leaves; a guest takes part in groups, and one it creates is not stored.

use super::*;
use crate::protocol::name::NameError;
use crate::protocol::{ByeReason, Prompt};
use crate::server::Record;

fn guests_on() -> Harness {
    Harness::new(
        Config {
            guests: true,
            ..config()
        },
        ACCOUNTS,
    )
}

/// `nick` logs in as a guest; its connection.
fn guest(h: &mut Harness, nick: &str) -> super::super::ConnId {
    let c = h.connect();
    h.take(c);
    h.send(c, &format!("guest {nick}"));
    let got = h.take(c);
    assert!(
        got.contains(&ServerMsg::Welcome { user: name(nick) }),
        "guest {nick} refused: {got:?}"
    );
    c
}

#[test]
fn guests_are_refused_unless_the_operator_allows_them() {
    let mut h = harness();
    let c = h.connect();
    h.take(c);
    h.send(c, "guest zed");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::GuestsOff),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    assert!(!h.is_closed(c));
}

#[test]
fn a_guest_logs_in_with_no_password_and_chats_with_an_account() {
    let mut h = guests_on();
    let alice = h.login("alice", "apw");
    let zed = guest(&mut h, "zed");
    assert_eq!(h.state().online_users(), vec!["alice", "zed"]);
    h.take(alice);
    h.send(zed, "message alice hello from a guest");
    assert!(
        h.take(alice)
            .iter()
            .any(|m| matches!(m, ServerMsg::Message { from, text, .. } if &**from == "zed" && text == "hello from a guest"))
    );
    h.send(alice, "message zed hi zed");
    assert!(
        h.take(zed)
            .iter()
            .any(|m| matches!(m, ServerMsg::Message { from, text, .. } if &**from == "alice" && text == "hi zed"))
    );
}

#[test]
fn a_guest_cannot_take_an_accounts_name_nor_one_like_it_nor_an_online_guests() {
    let mut h = guests_on();
    let _zed = guest(&mut h, "zed");
    let c = h.connect();
    h.take(c);
    for (nick, refusal) in [
        ("alice", ErrorReply::NameIsAccount),
        (
            "A1ice",
            ErrorReply::NameTooSimilar {
                existing: name("alice"),
            },
        ),
        ("zed", ErrorReply::AlreadyOnline),
        ("no!", ErrorReply::InvalidUsername(NameError::BadChar)),
    ] {
        h.send(c, &format!("guest {nick}"));
        assert_eq!(
            h.take(c),
            vec![err(refusal), ServerMsg::Prompt(Prompt::Username)],
            "{nick}"
        );
    }
    // The account itself is untouched: alice logs in as ever.
    h.login("alice", "apw");
}

#[test]
fn a_guests_name_is_free_again_when_it_leaves_and_nothing_of_it_is_stored() {
    let mut h = guests_on();
    let alice = h.login("alice", "apw");
    let zed = guest(&mut h, "zed");
    h.send(alice, "block zed");
    h.send(zed, "logout");
    assert!(h.is_closed(zed));
    // A message to a guest who left is refused as to an unknown user: there is no mailbox.
    h.take(alice);
    h.send(alice, "message zed are you there");
    let got = h.take(alice);
    assert!(
        got.iter()
            .any(|m| matches!(m, ServerMsg::Error(ErrorReply::NoSuchUser { .. }))),
        "{got:?}"
    );
    // Nothing about the guest was recorded: no login history, no block.
    assert!(
        !h.records().iter().any(|r| format!("{r:?}").contains("zed")),
        "{:?}",
        h.records()
    );
    // The name is free again, and the new guest starts with nothing (alice's block went with zed).
    let zed2 = guest(&mut h, "zed");
    h.send(zed2, "message alice hello again");
    assert!(
        h.take(alice)
            .iter()
            .any(|m| matches!(m, ServerMsg::Message { from, .. } if &**from == "zed"))
    );
}

#[test]
fn a_guest_cannot_do_what_needs_an_account() {
    let mut h = guests_on();
    let zed = guest(&mut h, "zed");
    for line in ["block alice", "passwd", "unblock alice"] {
        h.send(zed, line);
        assert_eq!(h.take(zed), vec![err(ErrorReply::NeedsAccount)], "{line}");
    }
    // What needs none still works.
    h.send(zed, "whoelse");
    assert!(!h.take(zed).is_empty());
}

#[test]
fn a_guest_is_logged_out_when_idle_and_its_name_freed() {
    let mut h = guests_on();
    let zed = guest(&mut h, "zed");
    h.advance_secs(config().timeout_secs + 1);
    assert!(h.is_closed(zed));
    assert!(
        h.take(zed)
            .iter()
            .any(|m| matches!(m, ServerMsg::Bye(ByeReason::Timeout { .. })))
    );
    guest(&mut h, "zed");
}

#[test]
fn a_guest_the_operator_bans_is_refused_under_that_name() {
    let mut h = guests_on();
    let zed = guest(&mut h, "zed");
    let answer = h.admin(crate::server::Admin::Ban {
        target: crate::server::admin::BanTarget::User("zed".into()),
        until: None,
        reason: "spam".into(),
    });
    assert!(matches!(answer, Some(Ok(_))), "{answer:?}");
    assert!(h.is_closed(zed));
    let c = h.connect();
    h.take(c);
    h.send(c, "guest zed");
    assert!(h.is_closed(c));
    assert!(
        h.take(c)
            .contains(&err(ErrorReply::Banned { secs_left: 0 }))
    );
    assert!(
        !h.records()
            .iter()
            .any(|r| matches!(r, Record::LoggedIn { .. }))
    );
}

#[test]
fn an_account_the_operator_adds_under_a_guests_name_takes_it_and_the_guest_goes() {
    let mut h = guests_on();
    let zed = guest(&mut h, "zed");
    let answer = h.admin(crate::server::Admin::Accounts {
        set: vec![crate::server::Account {
            username: "zed".into(),
            password: "zpw".into(),
        }],
        remove: vec![],
    });
    assert!(
        matches!(&answer, Some(Ok(a)) if a.contains("1 added")),
        "{answer:?}"
    );
    assert!(h.is_closed(zed));
    h.login("zed", "zpw");
}

#[test]
fn a_group_a_guest_creates_is_not_stored_and_ends_with_its_last_member() {
    let mut h = guests_on();
    let alice = h.login("alice", "apw");
    let zed = guest(&mut h, "zed");
    h.send(zed, "create group den");
    h.send(zed, "group mode den open");
    h.send(zed, "group topic den hello");
    h.send(alice, "group join den");
    h.send(alice, "message group den hi");
    assert!(
        !h.records()
            .iter()
            .any(|r| r.group().is_some_and(|g| &**g == "den")),
        "{:?}",
        h.records()
    );
    // The guest goes: alice owns it now; once she leaves, it is gone.
    h.send(zed, "logout");
    h.take(alice);
    h.send(alice, "group leave den");
    h.send(alice, "group join den");
    assert!(
        h.take(alice)
            .iter()
            .any(|m| matches!(m, ServerMsg::Error(ErrorReply::NoSuchGroup { .. })))
    );
}

#[test]
fn a_guest_in_an_accounts_group_leaves_it_and_its_invitations_end_when_it_goes() {
    let mut h = guests_on();
    let alice = h.login("alice", "apw");
    h.send(alice, "create group team");
    let zed = guest(&mut h, "zed");
    h.send(alice, "group add team zed");
    h.send(zed, "group join team");
    h.send(alice, "create group other");
    h.send(alice, "group add other zed");
    h.take(alice);
    h.send(zed, "logout");
    assert!(h.take(alice).contains(&ServerMsg::GroupLeft {
        group: name("team"),
        user: name("zed"),
        reason: String::new(),
    }));
    let recorded = |h: &Harness, f: &dyn Fn(&Record) -> bool| h.records().iter().any(f);
    assert!(recorded(
        &h,
        &|r| matches!(r, Record::GroupLeft { user, .. } if &**user == "zed")
    ));
    assert!(recorded(&h, &|r| matches!(
        r,
        Record::InvitationEnded { group, user } if &**group == "other" && &**user == "zed"
    )));
}

#[test]
fn a_guest_is_no_account_in_what_lists_accounts() {
    let mut h = guests_on();
    let _zed = guest(&mut h, "zed");
    assert!(!h.state().usernames().any(|u| u == "zed"));
    assert!(
        !h.state()
            .durable_view()
            .users
            .iter()
            .any(|u| u.name == "zed")
    );
    assert_eq!(h.state().online_users(), vec!["zed"]);
}

#[test]
fn what_a_block_of_a_guest_discards_stays_discarded_after_a_restart() {
    let mut h = guests_on();
    let g = guest(&mut h, "zed");
    h.send(g, "message alice kept for alice");
    h.take(g);
    let a = h.login("alice", "apw");
    h.send(a, "block zed");
    assert_eq!(h.take(a), vec![ServerMsg::Blocked { user: name("zed") }]);
    // The block is not recorded (it lasts the visit); the discard is.
    assert!(h.records().contains(&Record::MessagesDiscarded {
        to: name("alice"),
        from: name("zed"),
    }));
    assert!(
        !h.records()
            .iter()
            .any(|r| matches!(r, Record::Blocked { .. }))
    );
    let accounts = ACCOUNTS
        .iter()
        .map(|(u, p)| crate::server::Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    let mut restored = crate::server::ServerState::new(
        Config {
            guests: true,
            ..config()
        },
        accounts,
        [1; 32],
    );
    restored.restore(h.records().to_vec(), h.now());
    let mut h = Harness::with_state(restored, h.now());
    let a = h.login("alice", "apw");
    h.send(a, "offline");
    assert_eq!(h.take(a), vec![ServerMsg::OfflineList { count: 0 }]);
}
