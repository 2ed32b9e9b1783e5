//! Replaying persisted records rebuilds the durable state.

use super::*;
use crate::server::harness::START;
use crate::server::{Account, Record, ServerState};

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
    h.send(c, "zpw");
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
        h.state.stored_messages("bob")
    );
    assert_eq!(restored.stored_messages("bob").len(), 1);
    assert!(restored.has_blocked("alice", "carol"));
    assert!(!restored.has_blocked("alice", "dave"));
    assert_eq!(
        restored.locked_until("dave", crash_at),
        h.state.locked_until("dave", crash_at)
    );
    assert!(restored.locked_until("dave", crash_at).is_some());
    assert_eq!(restored.last_logout("zed"), h.state.last_logout("zed"));
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

/// Found by the simulator (persistence check): a session cut short by a crash was closed at the restart
/// time in memory only, so a second restart moved that logout to its own time.
#[test]
fn a_session_cut_by_a_crash_ends_at_the_first_restart_for_good() {
    let mut h = harness();
    h.login("alice", "apw");
    let first = h.now().plus_secs(10);
    let mut restored = ServerState::new(config(), accounts(), [1; 32]);
    restored.restore(h.records().to_vec(), first);
    assert_eq!(restored.last_logout("alice"), Some(first));
    // The inferred logout is persisted with the first event after the restart.
    let mut h2 = Harness::with_state(restored, first);
    h2.connect();
    let mut records = h.records().to_vec();
    records.extend_from_slice(h2.records());
    assert!(records.contains(&Record::LoggedOut {
        user: name("alice"),
        at: first,
    }));
    let mut again = ServerState::new(config(), accounts(), [1; 32]);
    again.restore(records, first.plus_secs(3600));
    assert_eq!(again.last_logout("alice"), Some(first));
}

#[test]
fn a_shell_can_commit_the_inferred_logouts_before_serving() {
    let mut h = harness();
    h.login("alice", "apw");
    h.login("bob", "bpw");
    let at = h.now().plus_secs(1);
    let mut restored = ServerState::new(config(), accounts(), [1; 32]);
    restored.restore(h.records().to_vec(), at);
    let inferred = restored.take_inferred_records();
    assert_eq!(
        inferred,
        vec![
            Record::LoggedOut {
                user: name("alice"),
                at
            },
            Record::LoggedOut {
                user: name("bob"),
                at
            },
        ]
    );
    // Taken once: the first event does not persist them again.
    let mut h2 = Harness::with_state(restored, at);
    h2.connect();
    assert!(h2.records().is_empty());
}
