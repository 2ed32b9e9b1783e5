//! What the Olm engine alone costs per direct message, as the client core calls it, in the two shapes
//! a conversation has: a one-way burst, where every message is a *pre-key* message (Olm repeats the
//! session's keys until the peer's first answer) and the receiver first asks which session a message
//! names (`session_of`) and then decrypts it; and normal messages, once the peer has answered. The
//! sessions are made whole (`materialise`) once per commit of 32 messages, as the core does. No
//! store, no protocol: natter's own costs around the engine are in the `e2e` bench.
//!
//! `cargo bench --bench olm_engine [MESSAGES]` prints microseconds per message for each side; under
//! `valgrind --tool=callgrind` run it with two message counts and subtract (the set-up drops out).

use std::time::Instant;

use natter::olm_engine::Vodozemac;
use natter_core::client::e2e::engine::{Engine, OlmMessage, Pickle};

/// Messages per commit, as the e2e bench.
const BURST: u64 = 32;
const TEXT: &[u8] = b"a message of an ordinary length, about seventy bytes, typed by a person";

struct Pair {
    alice: Vodozemac,
    bob: Vodozemac,
    /// alice's session to bob, bob's to alice, and its id.
    sent: Pickle,
    got: Pickle,
    id: String,
}

fn pair() -> Pair {
    let (alice, bob) = (Vodozemac::default(), Vodozemac::default());
    let alice_account = alice.new_account().unwrap();
    let mut bob_account = bob.new_account().unwrap();
    let key = bob
        .new_one_time_keys(&mut bob_account, 1)
        .unwrap()
        .remove(0);
    let bob_curve = bob.identity(&bob_account).unwrap().curve25519;
    let mut sent = alice
        .outbound(&alice_account, &bob_curve, &key.curve25519)
        .unwrap()
        .pickle;
    let first = alice.encrypt(&mut sent, b"hello").unwrap();
    let inbound = bob.inbound(&mut bob_account, &first).unwrap();
    Pair {
        alice,
        bob,
        sent,
        got: inbound.session.pickle,
        id: inbound.session.session_id,
    }
}

/// `n` messages from alice to bob: (encrypt, receive) nanoseconds in all.
fn burst(p: &mut Pair, n: u64, pre_key: bool) -> (u128, u128) {
    let (mut encrypt, mut receive) = (0u128, 0u128);
    for i in 0..n {
        let t = Instant::now();
        let message: OlmMessage = p.alice.encrypt(&mut p.sent, TEXT).unwrap();
        if (i + 1) % BURST == 0 {
            p.alice.materialise(&mut p.sent).unwrap();
        }
        encrypt += t.elapsed().as_nanos();
        assert_eq!(message.pre_key, pre_key);
        let t = Instant::now();
        if let Some(id) = p.bob.session_of(&message).unwrap() {
            assert_eq!(id, p.id);
        }
        let plain = p.bob.decrypt(&mut p.got, &message).unwrap();
        if (i + 1) % BURST == 0 {
            p.bob.materialise(&mut p.got).unwrap();
        }
        receive += t.elapsed().as_nanos();
        assert_eq!(plain, TEXT);
    }
    (encrypt, receive)
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let per = |ns: u128| ns as f64 / n as f64 / 1000.0;
    let mut p = pair();
    let (e, r) = burst(&mut p, n, true);
    println!(
        "pre-key messages (one-way burst): encrypt {:.2} us, session_of + decrypt {:.2} us per message",
        per(e),
        per(r)
    );
    // bob answers: from then on alice's messages are normal ones.
    let answer = p.bob.encrypt(&mut p.got, b"hi").unwrap();
    p.alice.decrypt(&mut p.sent, &answer).unwrap();
    let (e, r) = burst(&mut p, n, false);
    println!(
        "normal messages: encrypt {:.2} us, session_of + decrypt {:.2} us per message",
        per(e),
        per(r)
    );
}
