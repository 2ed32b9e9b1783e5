//! The end-to-end state as the session loads and saves it: fail closed when it cannot be opened or
//! saved (nothing that should be encrypted leaves in clear, or before the key it used is saved), with
//! a way out the user types.

use super::*;
use crate::client::e2e::{Part, Stored};

/// A client with end-to-end keys (from `store`, answered to `OpenE2e`, or failing to open with
/// `open_fails`), logged in as `user`, its device the account's (the directory said it has no keys
/// elsewhere).
fn keyed(user: &str, store: Vec<(Part, Stored)>, open_fails: Option<&str>) -> Client {
    let mut c = unopened(user);
    c.e2e_store = store;
    c.open_fails = open_fails.map(str::to_owned);
    c.login(user);
    home(&mut c, user);
    c
}

/// A client with end-to-end keys, not logged in yet.
fn unopened(user: &str) -> Client {
    let mut config = Config::new(P2P_PORT);
    config.e2e = Some(crate::client::e2e::Setup {
        engine: std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named(user)),
    });
    Client::with_config(config)
}

/// The directory's answer to the device's `keys show <user>` at login, if it asked: no keys for
/// the account, so this device is its home.
fn home(c: &mut Client, user: &str) {
    if c.sent.iter().any(|l| *l == format!("keys show {user}")) {
        c.server(ServerMsg::NoKeys {
            user: Name::from(user),
        });
    }
}

fn errors(c: &Client) -> Vec<String> {
    c.shown
        .iter()
        .filter_map(|i| match i {
            Item::Error(e) => Some(e.to_string()),
            Item::Warning(w) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn keys_that_cannot_be_opened_stop_what_would_be_encrypted_until_the_user_makes_new_ones() {
    let mut c = keyed("alice", Vec::new(), Some("the password does not open them"));
    assert!(
        errors(&c).iter().any(|e| e
            .contains("could not be opened: the password does not open them")
            && e.contains("e2e-unlock")
            && e.contains("e2e-newkeys")),
        "{:?}",
        errors(&c)
    );
    c.clear();
    // Before, one damaged file switched encryption off and this went in clear.
    for line in [
        "message bob the eagle lands",
        "message group devs the eagle lands",
    ] {
        c.typed(line);
        assert!(
            !c.take_sent().iter().any(|l| l.contains("eagle")),
            "{line} left in clear"
        );
        assert!(
            errors(&c).iter().any(|e| e.contains("Not sent")),
            "{:?}",
            c.shown
        );
        c.clear();
    }
    c.typed("startprivate bob");
    assert!(c.take_sent().is_empty(), "no private chat without keys");
    // The way out: new keys (the stored ones are set aside by the shell).
    c.open_fails = None;
    c.typed("e2e-newkeys");
    assert_eq!(
        c.take_sent(),
        vec!["keys show alice"],
        "where the account is"
    );
    // The directory holds the keys set aside: the new ones take the account, as the user asked.
    use crate::client::e2e::Engine as _;
    let old = crate::client::e2e::test_engine::TestEngine::named("the keys set aside");
    let old = old.identity(&old.new_account().unwrap()).unwrap();
    c.server_raw(format!("KEYS alice {} {} -", old.curve25519, old.ed25519).as_bytes());
    let sent = c.take_sent();
    assert!(
        sent.iter().any(|l| l.starts_with("keys identity ")),
        "the new device publishes: {sent:?}"
    );
    let moved = |c: &Client| {
        c.shown
            .iter()
            .any(|i| matches!(i, Item::E2e(crate::client::e2e::Note::Moved { .. })))
    };
    assert!(!moved(&c), "not before the server has the new keys");
    c.server(ServerMsg::KeysLeft { count: 0 });
    assert!(moved(&c), "said as a move: {:?}", c.shown);
    c.take_sent();
    c.typed("message bob the eagle lands");
    assert_eq!(
        c.take_sent(),
        vec!["keys claim bob"],
        "encrypted from now on"
    );
}

#[test]
fn a_conversation_whose_state_is_damaged_is_stopped_alone_until_it_is_reset() {
    let damaged = vec![(
        Part::Peer(Name::from("bob")),
        Stored::Whole(b"{\"sessions\": [tru".to_vec()),
    )];
    let mut c = keyed("alice", damaged, None);
    assert!(
        errors(&c).iter().any(|e| e.contains("e2e-reset bob")),
        "told at login: {:?}",
        errors(&c)
    );
    c.clear();
    c.typed("message bob hello");
    assert!(c.take_sent().is_empty(), "nothing to bob");
    assert!(
        errors(&c)
            .iter()
            .any(|e| e.contains("Not sent to bob") && e.contains("e2e-reset bob")),
        "{:?}",
        errors(&c)
    );
    c.typed("message carol hello");
    assert_eq!(
        c.take_sent(),
        vec!["keys claim carol"],
        "carol is not concerned"
    );
    c.typed("e2e-reset bob");
    assert!(
        c.e2e_saved
            .iter()
            .any(|(p, b)| *p == Part::Peer(Name::from("bob")) && b.starts_with(b"{")),
        "the damaged part is saved over, empty"
    );
    c.typed("message bob hello");
    assert_eq!(c.take_sent(), vec!["keys claim bob"]);
}

#[test]
fn a_save_that_fails_sends_nothing_that_depends_on_it_and_the_next_that_works_does() {
    let mut c = unopened("alice");
    c.commit_fails = Some("No space left on device".into());
    c.login("alice");
    home(&mut c, "alice");
    let sent = c.take_sent();
    assert!(
        !sent
            .iter()
            .any(|l| ["keys identity", "keys fallback", "keys add"]
                .iter()
                .any(|k| l.starts_with(k))),
        "keys whose private halves are not saved are not published: {sent:?}"
    );
    assert!(
        sent.contains(&"acks on".to_owned()) && sent.contains(&"keys show alice".to_owned()),
        "the rest goes: {sent:?}"
    );
    assert!(
        errors(&c)
            .iter()
            .any(|e| e.contains("No space left on device") && e.contains("NOT sent")),
        "{:?}",
        errors(&c)
    );
    // Saving works again: the next save is committed and what depends on it goes (the device does
    // not wait for answers to the lines that never left).
    c.commit_fails = None;
    c.clear();
    c.server(ServerMsg::KeysLeft { count: 0 });
    let sent = c.take_sent();
    assert!(sent.iter().any(|l| l.starts_with("keys add ")), "{sent:?}");
}

#[test]
fn a_burst_of_saves_is_committed_together_and_its_lines_keep_their_order() {
    let mut c = keyed("alice", Vec::new(), None);
    c.clear();
    // The answers to the login's three `keys add` lines, the last asking for a top-up.
    for n in [60, 40, 0] {
        c.server(ServerMsg::KeysLeft { count: n });
    }
    let before = c.commits;
    for n in 0..3 {
        c.server(ServerMsg::KeysLeft { count: n });
    }
    // The top-up saved the device and was committed before its lines left, in order.
    assert!(c.commits > before);
    let sent = c.take_sent();
    assert!(
        !sent.is_empty() && sent.iter().all(|l| l.starts_with("keys add ")),
        "{sent:?}"
    );
}
