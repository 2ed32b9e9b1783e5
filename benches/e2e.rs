//! What end-to-end encryption costs the client per message: encrypting a direct message (Olm, the
//! session already set up), decrypting it, and the same for a group message (Megolm), through the
//! client's own `E2e` core with the real engine (vodozemac), including the state it persists per
//! message (serialised, not written: the write is the shell's, and costs what the disk costs).
//!
//! `cargo bench --bench e2e`

use std::sync::Arc;
use std::time::Instant;

use natter::olm_engine::Vodozemac;
use natter_core::client::e2e::{E2e, Identity, Out, Received, SignedKey};
use natter_core::protocol::Name;

const ROUNDS: u64 = 2_000;
/// Messages per commit: a burst's saves are made once, when its commit is asked for.
const BURST: u64 = 32;
const TEXT: &str = "a message of an ordinary length, about seventy bytes, typed by a person";

/// A device logged in, told by the directory that the account has no keys yet (so it publishes).
fn device(user: &str) -> E2e {
    let mut d = E2e::open(
        Arc::new(Vodozemac::default()),
        Name::from(user),
        &[],
        &mut Vec::new(),
    )
    .unwrap();
    let mut out = Vec::new();
    d.on_login(&mut out);
    d.on_no_keys(&Name::from(user), &mut out);
    d
}

/// The line of the `message` that `out` holds, and the bytes it asked to persist.
fn line_of(out: &[Out]) -> (String, usize) {
    let mut saved = 0;
    let mut line = None;
    for o in out {
        match o {
            Out::Save(_, bytes) => saved += bytes.len(),
            Out::Message { line: l, .. } | Out::KeyShare { line: l, .. } => line = Some(l.clone()),
            _ => {}
        }
    }
    (line.expect("a message line"), saved)
}

fn text_of(line: &str) -> &str {
    line.splitn(3, ' ').nth(2).unwrap()
}

fn main() {
    let (alice_n, bob_n) = (Name::from("alice"), Name::from("bob"));
    let mut alice = device("alice");
    let mut bob = device("bob");
    // bob publishes (he did at login): his one-time keys come back as `keys add` lines.
    let mut out = Vec::new();
    // The answers to its identity and fallback lines; the last one tops the one-time keys up.
    bob.on_keys_left(0, &mut out);
    bob.on_keys_left(0, &mut out);
    let add = out
        .iter()
        .find_map(|o| match o {
            Out::Keys(l) if l.starts_with("keys add ") => Some(l.clone()),
            _ => None,
        })
        .unwrap();
    let key = SignedKey::parse(add.split(' ').nth(2).unwrap()).unwrap();
    let bob_id: Identity = bob.identity().clone();

    // The session: alice claims, sends; bob receives; both directions are then normal messages.
    let mut out = Vec::new();
    alice.send_direct(&bob_n, "hello", 8192, &mut out).unwrap();
    alice.on_keys(&bob_n, bob_id, Some(key), &mut out);
    let (line, _) = line_of(&out);
    let mut id = 1;
    assert!(matches!(
        bob.receive_direct(id, &alice_n, text_of(&line), &mut Vec::new()),
        Received::Text { .. }
    ));
    let mut out = Vec::new();
    bob.send_direct(&alice_n, "hi", 8192, &mut out).unwrap();
    let (line, _) = line_of(&out);
    id += 1;
    alice.receive_direct(id, &bob_n, text_of(&line), &mut Vec::new());

    let mut encrypt = 0u128;
    let mut decrypt = 0u128;
    let mut persisted = 0;
    for i in 0..ROUNDS {
        // The saves of a burst are made once, at its commit (`E2e::flush`): every BURST messages.
        let commit = (i + 1) % BURST == 0;
        let mut out = Vec::new();
        let t = Instant::now();
        alice.send_direct(&bob_n, TEXT, 8192, &mut out).unwrap();
        if commit {
            alice.flush(&mut out).unwrap();
        }
        encrypt += t.elapsed().as_nanos();
        let (line, saved) = line_of(&out);
        persisted += saved;
        id += 1;
        let t = Instant::now();
        let mut out = Vec::new();
        let r = bob.receive_direct(id, &alice_n, text_of(&line), &mut out);
        if commit {
            bob.flush(&mut out).unwrap();
        }
        decrypt += t.elapsed().as_nanos();
        assert!(matches!(r, Received::Text { .. }));
    }
    let per = |ns: u128| ns as f64 / ROUNDS as f64 / 1000.0;
    println!(
        "direct (Olm): encrypt {:.1} us, decrypt {:.1} us per message, a commit every {BURST}; {} bytes persisted per message sent",
        per(encrypt),
        per(decrypt),
        persisted as u64 / ROUNDS
    );

    // A group of two: alice's Megolm session, its key over the Olm session.
    let group = Name::from("team");
    for d in [&mut alice, &mut bob] {
        d.set_members(
            &group,
            [alice_n.clone(), bob_n.clone()],
            true,
            &mut Vec::new(),
        );
    }
    let mut out = Vec::new();
    alice.send_group(&group, "first", 8192, &mut out).unwrap();
    for o in &out {
        if let Out::KeyShare { line, .. } = o {
            id += 1;
            assert_eq!(
                bob.receive_direct(id, &alice_n, text_of(line), &mut Vec::new()),
                Received::GroupKey
            );
        }
    }
    let mut encrypt = 0u128;
    let mut decrypt = 0u128;
    for _ in 0..ROUNDS {
        let mut out = Vec::new();
        let t = Instant::now();
        alice.send_group(&group, TEXT, 8192, &mut out).unwrap();
        encrypt += t.elapsed().as_nanos();
        let Some(line) = out.iter().find_map(|o| match o {
            Out::Message { line, .. } => Some(line.clone()),
            _ => None,
        }) else {
            // A rotation after 100 messages: the new key goes to bob first.
            continue;
        };
        for o in &out {
            if let Out::KeyShare { line, .. } = o {
                id += 1;
                bob.receive_direct(id, &alice_n, text_of(line), &mut Vec::new());
            }
        }
        id += 1;
        let text = line.splitn(4, ' ').nth(3).unwrap();
        let t = Instant::now();
        let r = bob.receive_group(id, &group, &alice_n, text, &mut Vec::new());
        decrypt += t.elapsed().as_nanos();
        assert!(matches!(r, Received::Text { .. }), "{r:?}");
    }
    println!(
        "group (Megolm, rotation every 100 included): encrypt {:.1} us, decrypt {:.1} us per message",
        per(encrypt),
        per(decrypt)
    );
}
