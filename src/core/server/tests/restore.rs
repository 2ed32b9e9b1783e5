//! Replaying persisted records rebuilds the durable state.

use super::*;
use crate::server::harness::START;
use crate::server::{Account, ServerState};
use crate::time::Timestamp;

fn accounts() -> Vec<Account> {
    ACCOUNTS
        .iter()
        .map(|(u, p)| Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect()
}

#[test]
fn replay_rebuilds_mailboxes_blocks_lockouts_history_and_accounts() {
    let mut cfg = config();
    cfg.register = true;
    let mut h = Harness::new(cfg.clone(), ACCOUNTS);
    let alice = h.login("alice", "apw");
    h.send(alice, "message bob one");
    h.send(alice, "message bob two");
    h.send(alice, "block carol");
    h.send(alice, "block dave");
    h.send(alice, "unblock dave");
    let c = h.connect();
    h.send(c, "zed");
    h.send(c, "zed-secret");
    h.send(c, "logout");
    let bob = h.login("bob", "bpw");
    h.send(bob, "ack 1");
    let d = h.connect();
    h.send(d, "dave");
    for _ in 0..3 {
        h.send(d, "bad");
    }
    h.advance_secs(5);
    // alice is still online when the "crash" happens.
    let crash_at = h.now();

    let mut restored = ServerState::new(cfg, accounts(), [1; 32]);
    let skipped = restored.restore(h.records().to_vec(), crash_at.plus_secs(1));
    assert_eq!(skipped, 0);
    assert!(restored.has_user("zed"));
    assert_eq!(
        restored.stored_messages("bob"),
        h.state().stored_messages("bob")
    );
    assert_eq!(restored.stored_messages("bob").len(), 1);
    assert!(restored.has_blocked("alice", "carol"));
    assert!(!restored.has_blocked("alice", "dave"));
    assert_eq!(
        restored.locked_until("dave", crash_at),
        h.state().locked_until("dave", crash_at)
    );
    assert!(restored.locked_until("dave", crash_at).is_some());
    assert_eq!(restored.last_logout("zed"), h.state().last_logout("zed"));
    // alice's session had no logout record: she counts as online until the restart.
    assert_eq!(restored.last_logout("alice"), Some(crash_at.plus_secs(1)));
    assert!(restored.next_message_id() >= 3);
    assert!(restored.online_users().is_empty());
    assert!(START < crash_at);
}

#[test]
fn records_about_removed_accounts_are_skipped() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "message bob hi");
    let only_alice = vec![Account {
        username: "alice".into(),
        password: "apw".into(),
    }];
    let mut restored = ServerState::new(config(), only_alice, [1; 32]);
    let skipped = restored.restore(h.records().to_vec(), h.now());
    assert_eq!(skipped, 1);
}

/// A session the server's stop cut short (a login stored, no logout) ended at the restart for
/// `whowas` too, newest first, as it did for `whoelsesince`; the session before it, whose logout
/// was stored, is still there after it.
#[test]
fn a_session_cut_short_by_a_stop_is_in_whowas_ended_at_the_restart() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "logout");
    h.advance_secs(5);
    let first_logout = h.state().last_logout("alice").expect("a logout");
    h.login("alice", "apw");
    h.advance_secs(5);
    let restart = h.now().plus_secs(1);

    let mut restored = ServerState::new(config(), accounts(), [1; 32]);
    assert_eq!(restored.restore(h.records().to_vec(), restart), 0);
    let mut h2 = Harness::with_state(restored, restart);
    let bob = h2.login("bob", "bpw");
    h2.send(bob, "whowas alice");
    let got = h2.take(bob);
    let ended: Vec<Timestamp> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::WhowasUser { user, at, .. } if &**user == "alice" => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(ended, vec![restart, first_logout], "{got:?}");
    assert!(
        matches!(got.last(), Some(ServerMsg::WhowasEnd { .. })),
        "{got:?}"
    );
}
