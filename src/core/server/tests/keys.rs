//! The key directory: publishing, claiming (each one-time key once, even across a crash), the fallback
//! key, replaced identities, the bounds, and the errors.

use super::*;
use crate::protocol::keys::{KeyError, MAX_ONE_TIME_KEYS, SignedKey, sample_key, shaped};
use crate::server::harness::START;
use crate::server::outbox::OutboxConfig;
use crate::server::{Account, ConnId, ServerState};

/// The unit tests' small line limit leaves no room for a key.
fn keys_harness() -> Harness {
    Harness::new(
        Config {
            max_line: 8192,
            ..config()
        },
        ACCOUNTS,
    )
}

fn identity(tag: &str) -> (String, String) {
    (
        shaped(&format!("c{tag}"), 43),
        shaped(&format!("e{tag}"), 43),
    )
}

fn publish(h: &mut Harness, conn: ConnId, tag: &str) {
    let (c, e) = identity(tag);
    h.send(conn, &format!("keys identity {c} {e}"));
}

fn add(h: &mut Harness, conn: ConnId, ids: std::ops::Range<u64>) {
    let keys: Vec<String> = ids.map(|i| sample_key(i).to_string()).collect();
    h.send(conn, &format!("keys add {}", keys.join(" ")));
}

fn left(count: usize) -> ServerMsg {
    ServerMsg::KeysLeft { count }
}

fn keys(user: &str, tag: &str, key: Option<SignedKey>) -> ServerMsg {
    let (curve25519, ed25519) = identity(tag);
    ServerMsg::Keys {
        user: name(user),
        curve25519,
        ed25519,
        key: key.map(Box::new),
    }
}

#[test]
fn published_keys_are_handed_out_one_time_keys_once_then_the_fallback() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    publish(&mut h, bob, "b");
    assert_eq!(h.take(bob), vec![left(0)]);
    add(&mut h, bob, 1..3);
    assert_eq!(h.take(bob), vec![left(2)]);
    h.send(bob, &format!("keys fallback {}", sample_key(9)));
    assert_eq!(h.take(bob), vec![left(2)]);

    let alice = h.login("alice", "apw");
    assert_eq!(h.take(bob), vec![online("alice")]);
    h.send(alice, "keys claim bob");
    assert_eq!(h.take(alice), vec![keys("bob", "b", Some(sample_key(1)))]);
    // Fewer than 20 are left: bob's client is told, so it tops them up.
    assert_eq!(h.take(bob), vec![left(1)]);
    h.send(alice, "keys claim bob");
    assert_eq!(h.take(alice), vec![keys("bob", "b", Some(sample_key(2)))]);
    assert_eq!(h.take(bob), vec![left(0)]);
    for _ in 0..2 {
        h.send(alice, "keys claim bob");
        assert_eq!(h.take(alice), vec![keys("bob", "b", Some(sample_key(9)))]);
    }
    assert!(h.take(bob).is_empty(), "the fallback key is not used up");
    h.send(alice, "keys show bob");
    assert_eq!(h.take(alice), vec![keys("bob", "b", None)]);
}

#[test]
fn a_user_without_keys_has_none_to_give() {
    let mut h = keys_harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "keys claim bob");
    h.send(alice, "keys show bob");
    let none = ServerMsg::NoKeys { user: name("bob") };
    assert_eq!(h.take(alice), vec![none.clone(), none.clone()]);
    // An identity with no one-time key and no fallback key has no key to start a session with.
    let bob = h.login("bob", "bpw");
    publish(&mut h, bob, "b");
    assert_eq!(h.take(alice), vec![online("bob")]);
    h.send(alice, "keys claim bob");
    assert_eq!(h.take(alice), vec![none]);
    h.send(alice, "keys show bob");
    assert_eq!(h.take(alice), vec![keys("bob", "b", None)]);
}

#[test]
fn a_new_identity_drops_the_old_one_s_keys_and_the_same_one_changes_nothing() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    publish(&mut h, bob, "b");
    add(&mut h, bob, 1..4);
    h.send(bob, &format!("keys fallback {}", sample_key(9)));
    h.take(bob);
    let before = h.records().len();
    publish(&mut h, bob, "b");
    assert_eq!(h.take(bob), vec![left(3)]);
    assert_eq!(h.records().len(), before, "nothing changed, nothing kept");
    publish(&mut h, bob, "new");
    assert_eq!(h.take(bob), vec![left(0)]);
    let alice = h.login("alice", "apw");
    h.send(alice, "keys claim bob");
    assert_eq!(h.take(alice), vec![ServerMsg::NoKeys { user: name("bob") }]);
    h.send(alice, "keys show bob");
    assert_eq!(h.take(alice), vec![keys("bob", "new", None)]);
}

#[test]
fn keys_left_follows_the_welcome_of_an_account_with_an_identity() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    h.send(bob, "message alice waiting");
    publish(&mut h, bob, "b");
    h.send(bob, "logout");
    let alice = h.connect();
    h.send(alice, "alice");
    h.send(alice, "apw");
    let got = h.take(alice);
    let welcome = got
        .iter()
        .position(|m| matches!(m, ServerMsg::Welcome { .. }))
        .unwrap();
    assert!(matches!(got[welcome + 1], ServerMsg::OfflineMessage { .. }));
    assert!(!got.iter().any(|m| matches!(m, ServerMsg::KeysLeft { .. })));
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    let got = h.take(bob);
    let welcome = got
        .iter()
        .position(|m| matches!(m, ServerMsg::Welcome { .. }))
        .unwrap();
    assert_eq!(got[welcome + 1], left(0), "right after the welcome");
}

#[test]
fn an_account_holds_at_most_the_cap_and_a_line_at_most_twenty() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    add(&mut h, bob, 0..1);
    assert_eq!(h.take(bob), vec![err(ErrorReply::NoIdentity)]);
    h.send(bob, &format!("keys fallback {}", sample_key(1)));
    assert_eq!(h.take(bob), vec![err(ErrorReply::NoIdentity)]);
    publish(&mut h, bob, "b");
    add(&mut h, bob, 0..21);
    assert_eq!(
        h.take(bob),
        vec![left(0), err(ErrorReply::KeysPerLine { max: 20 })]
    );
    for n in 0..(MAX_ONE_TIME_KEYS as u64 / 20) {
        add(&mut h, bob, n * 20..n * 20 + 20);
    }
    assert_eq!(h.take(bob).last(), Some(&left(MAX_ONE_TIME_KEYS)));
    // Keys already held are not added twice (a client sending again what it is not sure arrived).
    add(&mut h, bob, 0..5);
    assert_eq!(h.take(bob), vec![left(MAX_ONE_TIME_KEYS)]);
    add(&mut h, bob, 500..502);
    assert_eq!(
        h.take(bob),
        vec![err(ErrorReply::KeysFull {
            held: MAX_ONE_TIME_KEYS,
            max: MAX_ONE_TIME_KEYS
        })]
    );
    assert_eq!(
        h.state().published_keys("bob").unwrap().one_time.len(),
        MAX_ONE_TIME_KEYS
    );
}

#[test]
fn malformed_keys_and_unknown_users_are_answered_with_what_was_wrong() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    let (c, _) = identity("b");
    let k = sample_key(1);
    for (line, why) in [
        (format!("keys identity {c} short"), KeyError::Ed25519),
        (format!("keys identity x {c}"), KeyError::Curve25519),
        (format!("keys add {k} {}:{}", k.id, k.key), KeyError::Form),
        (
            format!("keys add bad!:{}:{}", k.key, k.sig),
            KeyError::KeyId,
        ),
        (
            format!("keys fallback 1:{}:{}", k.key, &k.sig[1..]),
            KeyError::Signature,
        ),
    ] {
        h.send(bob, &line);
        assert_eq!(h.take(bob), vec![err(ErrorReply::BadKey(why))], "{line}");
    }
    h.send(bob, "keys claim nobody");
    h.send(bob, "keys show nobody");
    h.send(bob, "keys claim bob");
    h.send(bob, "keys");
    let nobody = err(ErrorReply::NoSuchUser {
        user: "nobody".into(),
    });
    assert_eq!(
        h.take(bob),
        vec![
            nobody.clone(),
            nobody,
            err(ErrorReply::NotYourself {
                command: crate::protocol::CommandName::KeysClaim
            }),
            err(ErrorReply::Usage {
                command: crate::protocol::CommandName::KeysIdentity
            }),
        ]
    );
    assert!(h.records().iter().all(|r| !matches!(
        r,
        crate::server::Record::IdentityPublished { .. }
            | crate::server::Record::OneTimeKeysAdded { .. }
    )));
}

/// A user who blocked someone keeps their one-time keys from them: nobody they blocked can use them up.
#[test]
fn a_blocked_user_cannot_claim_the_blocker_s_keys() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    publish(&mut h, bob, "b");
    add(&mut h, bob, 1..3);
    h.send(bob, "block alice");
    h.take(bob);
    let alice = h.login("alice", "apw");
    h.send(alice, "keys claim bob");
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::BlockedBy { user: name("bob") })]
    );
    assert_eq!(h.state().published_keys("bob").unwrap().one_time.len(), 2);
}

/// A direct message whose text names, as its recipient, an identity the recipient no longer has
/// could never be read: it is refused (`stale-key`), nothing is queued; one for the current identity,
/// or naming none, goes as any text does.
#[test]
fn ciphertext_for_an_identity_the_recipient_no_longer_has_is_refused() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    publish(&mut h, bob, "old");
    let alice = h.login("alice", "apw");
    h.take(bob);
    h.take(alice);
    let (old, _) = identity("old");
    let (new, _) = identity("new");
    h.send(alice, &format!("message bob e2e1:n:{old}:QUJD"));
    assert!(matches!(&h.take(bob)[..], [ServerMsg::Message { .. }]));
    h.take(alice);
    publish(&mut h, bob, "new");
    h.take(bob);
    h.send(alice, &format!("message bob e2e1:n:{old}:QUJD"));
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::StaleKey { user: name("bob") })]
    );
    assert!(h.take(bob).is_empty(), "nothing delivered");
    h.send(alice, &format!("message bob e2e1:p:{new}:QUJD"));
    assert!(matches!(&h.take(bob)[..], [ServerMsg::Message { .. }]));
    h.send(alice, "message bob plain words");
    assert!(matches!(&h.take(bob)[..], [ServerMsg::Message { .. }]));
    // Stored for an offline recipient too, only for the current identity.
    h.send(bob, "logout");
    h.take(alice);
    h.send(alice, &format!("message bob e2e1:n:{old}:QUJD"));
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::StaleKey { user: name("bob") })]
    );
    h.send(alice, &format!("message bob e2e1:n:{new}:QUJD"));
    assert!(matches!(&h.take(alice)[..], [ServerMsg::Stored { .. }]));
}

/// Publishing is the client's bookkeeping, not the user's activity; claiming is.
#[test]
fn publishing_keys_does_not_reset_the_idle_clock() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    h.advance_secs(200);
    publish(&mut h, bob, "b");
    add(&mut h, bob, 1..2);
    h.advance_secs(101);
    assert!(h.is_closed(bob), "idle for 301 s of a 300 s timeout");
    let alice = h.login("alice", "apw");
    h.advance_secs(200);
    h.send(alice, "keys show bob");
    h.advance_secs(101);
    assert!(!h.is_closed(alice));
}

/// The `KEYS` line that hands a one-time key out leaves only once the key's removal is durable: a crash
/// before that loses the claim with its answer, a crash after keeps the key gone.
#[test]
fn a_claimed_key_is_never_handed_out_again_even_across_a_crash() {
    let mut h = keys_harness().manual_commits(OutboxConfig::default());
    let bob = h.login("bob", "bpw");
    publish(&mut h, bob, "b");
    add(&mut h, bob, 1..4);
    h.complete_commits();
    let alice = h.login("alice", "apw");
    h.complete_commits();
    h.take(alice);
    h.send(alice, "keys claim bob");
    assert!(
        h.take(alice).is_empty(),
        "not before the claim is committed"
    );
    h.complete_commits();
    assert_eq!(h.take(alice), vec![keys("bob", "b", Some(sample_key(1)))]);
    // A second claim whose commit never completes: the server dies, and nobody was told its key.
    h.send(alice, "keys claim bob");
    assert!(h.take(alice).is_empty());

    let accounts: Vec<Account> = ACCOUNTS
        .iter()
        .map(|(u, p)| Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    let cfg = h.state().config().clone();
    let mut restored = ServerState::new(cfg, accounts, [1; 32]);
    restored.restore(h.durable_records().to_vec(), START.plus_secs(5));
    let mut h = Harness::with_state(restored, START.plus_secs(5));
    let carol = h.login("carol", "cpw");
    h.send(carol, "keys claim bob");
    assert_eq!(
        h.take(carol),
        vec![keys("bob", "b", Some(sample_key(2)))],
        "key 1 went to alice; key 2 was never told to anyone"
    );
    h.send(carol, "keys claim bob");
    assert_eq!(h.take(carol), vec![keys("bob", "b", Some(sample_key(3)))]);
}

#[test]
fn replaying_the_records_rebuilds_the_directory() {
    let mut h = keys_harness();
    let bob = h.login("bob", "bpw");
    publish(&mut h, bob, "old");
    add(&mut h, bob, 1..5);
    publish(&mut h, bob, "b");
    add(&mut h, bob, 10..15);
    h.send(bob, &format!("keys fallback {}", sample_key(20)));
    h.send(bob, &format!("keys fallback {}", sample_key(21)));
    let alice = h.login("alice", "apw");
    publish(&mut h, alice, "a");
    h.send(alice, "keys claim bob");
    h.send(alice, "keys claim bob");
    let accounts: Vec<Account> = ACCOUNTS
        .iter()
        .map(|(u, p)| Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    let mut restored = ServerState::new(h.state().config().clone(), accounts, [1; 32]);
    restored.restore(h.records().to_vec(), h.now());
    for user in ["alice", "bob", "carol"] {
        assert_eq!(
            restored.published_keys(user),
            h.state().published_keys(user),
            "{user}"
        );
    }
    let bob_keys = restored.published_keys("bob").unwrap();
    assert_eq!(bob_keys.one_time.len(), 3);
    assert_eq!(bob_keys.fallback, Some(sample_key(21).to_string()));
    assert_eq!(restored.published_keys("carol"), None);
}
