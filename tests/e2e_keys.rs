//! The key directory of end-to-end encryption, through the real server binary: keys published by one
//! client are claimed by others, concurrently and across a clean restart and a `kill -9`, and no one-time
//! key is ever handed out twice.

#[path = "kit/mod.rs"]
mod kit;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use natter_core::protocol::keys::{sample_key, shaped};
use natter_core::protocol::{ErrorReply, ServerMsg, SignedKey};

use kit::{ACCOUNTS, Client, Server, write_credentials};

fn identity() -> (String, String) {
    (shaped("cbob", 43), shaped("ebob", 43))
}

fn is_keys_left(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::KeysLeft { .. })
}

fn keys_left(got: &[ServerMsg]) -> usize {
    match got.last() {
        Some(ServerMsg::KeysLeft { count }) => *count,
        other => panic!("expected KEYS-LEFT, got {other:?} after {got:?}"),
    }
}

/// Bob publishes his identity, the one-time keys numbered `ids` and fallback key 999.
fn publish(addr: SocketAddr, ids: std::ops::Range<u64>) -> usize {
    let mut bob = Client::log_in(addr, "bob", "bpw").unwrap();
    let (c, e) = identity();
    bob.ask(&format!("keys identity {c} {e}"), is_keys_left)
        .unwrap();
    let all: Vec<u64> = ids.collect();
    let mut left = 0;
    for chunk in all.chunks(20) {
        let keys: Vec<String> = chunk.iter().map(|&i| sample_key(i).to_string()).collect();
        left = keys_left(
            &bob.ask(&format!("keys add {}", keys.join(" ")), is_keys_left)
                .unwrap(),
        );
    }
    bob.ask(&format!("keys fallback {}", sample_key(999)), is_keys_left)
        .unwrap();
    bob.ask("logout", |m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();
    left
}

/// One claim of bob's keys: the key handed out, checked against his identity.
fn claim(c: &mut Client) -> Option<SignedKey> {
    let got = c
        .ask("keys claim bob", |m| {
            matches!(
                m,
                ServerMsg::Keys { .. }
                    | ServerMsg::NoKeys { .. }
                    | ServerMsg::Error(ErrorReply::NoSuchUser { .. })
            )
        })
        .unwrap();
    for m in &got[..got.len() - 1] {
        // Others logging in, and many claims at once from one address being slowed down: that is
        // all that may come first.
        assert!(
            matches!(
                m,
                ServerMsg::Presence { .. } | ServerMsg::Error(ErrorReply::SlowDown { .. })
            ),
            "{m:?}"
        );
    }
    match got.last() {
        Some(ServerMsg::Keys {
            user,
            curve25519,
            ed25519,
            key,
        }) => {
            assert_eq!(&**user, "bob");
            assert_eq!((curve25519.clone(), ed25519.clone()), identity());
            key.as_deref().cloned()
        }
        other => panic!("expected KEYS, got {other:?}"),
    }
}

fn one_time(k: &SignedKey) -> bool {
    *k != sample_key(999)
}

#[test]
fn one_time_keys_are_handed_out_once_across_claimers_restarts_and_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(dir.path(), ACCOUNTS);
    let start = || Server::cmd().in_dir(dir.path()).start();
    let mut handed: Vec<SignedKey> = Vec::new();

    // Three claimers at once take 45 of bob's 50 one-time keys.
    let server = start();
    assert_eq!(publish(server.addr, 0..50), 50);
    let addr = server.addr;
    let claimers: Vec<_> = ["alice", "carol", "dave"]
        .into_iter()
        .map(|user| {
            std::thread::spawn(move || {
                let mut c = Client::log_in(addr, user, kit::password_of(user)).unwrap();
                (0..15)
                    .map(|_| claim(&mut c).expect("a key"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in claimers {
        handed.extend(t.join().unwrap());
    }
    assert!(handed.iter().all(one_time), "50 were there for 45 claims");

    // A clean restart: the 5 left are still there, and bob's client hears how many at login.
    assert!(server.stop().success());
    let server = start();
    let mut bob = Client::log_in(server.addr, "bob", "bpw").unwrap();
    assert_eq!(bob.recv().unwrap(), ServerMsg::KeysLeft { count: 5 });
    let mut alice = Client::log_in(server.addr, "alice", "apw").unwrap();
    handed.push(claim(&mut alice).unwrap());
    // Bob, online, is told his keys run low.
    assert_eq!(
        bob.recv_until(is_keys_left).unwrap().last(),
        Some(&ServerMsg::KeysLeft { count: 4 })
    );
    handed.push(claim(&mut alice).unwrap());

    // A crash: what was handed out before it stays gone.
    server.kill9();
    let server = start();
    let mut alice = Client::log_in(server.addr, "alice", "apw").unwrap();
    for _ in 0..3 {
        handed.push(claim(&mut alice).unwrap());
    }
    assert!(handed.iter().all(one_time));
    // None left: the fallback key, as often as asked.
    for _ in 0..2 {
        assert_eq!(claim(&mut alice), Some(sample_key(999)));
    }

    let distinct: BTreeSet<&SignedKey> = handed.iter().collect();
    assert_eq!(distinct.len(), handed.len(), "a one-time key came twice");
    assert_eq!(distinct.len(), 50, "every one-time key was handed out");

    // `keys show` takes nothing and works for anyone.
    alice.say("keys show bob");
    let (c, e) = identity();
    assert_eq!(
        alice.expect("KEYS", |m| matches!(m, ServerMsg::Keys { .. })),
        ServerMsg::Keys {
            user: "bob".into(),
            curve25519: c,
            ed25519: e,
            key: None,
        }
    );
    alice.say("keys claim carol");
    assert_eq!(
        alice.expect("NOKEYS", |m| matches!(m, ServerMsg::NoKeys { .. })),
        ServerMsg::NoKeys {
            user: "carol".into()
        }
    );
    assert!(server.stop().success());
}
