//! The user's decisions about keys: verification and acceptance bound to the exact key whose number
//! was shown, every change announced, rejecting a change, and `KEYS` lines nobody asked for.

use super::*;

/// A second device's identity for `user`: an account of the engine's own (what a server would hand
/// out in place of the genuine one, made by a client of its own).
fn other_identity() -> Identity {
    static ENGINE: std::sync::LazyLock<test_engine::TestEngine> =
        std::sync::LazyLock::new(|| test_engine::TestEngine::named("the server's own"));
    ENGINE.identity(&ENGINE.new_account().unwrap()).unwrap()
}

#[test]
fn verifying_marks_the_contact_and_both_sides_see_one_number_with_each_part_their_own() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    // alice has never talked to bob: verify asks the directory for bob's identity.
    net.decide("alice", |e, out| e.verify(&n("bob"), out));
    assert!(net.wire.iter().any(|l| l == "keys show bob"));
    let Note::SafetyNumber {
        number,
        verified,
        confirm,
        ..
    } = net.notes("alice").remove(0)
    else {
        panic!()
    };
    assert!(!verified);
    let (a, b) = (
        net.e2e("alice").identity().ed25519.clone(),
        net.e2e("bob").identity().ed25519.clone(),
    );
    assert_eq!(number, safety::safety_number((&a, "alice"), (&b, "bob")));
    assert!(number.contains(&safety::fingerprint(&b, "bob")));
    assert!(number.contains(&safety::fingerprint(&a, "alice")));
    net.decide("bob", |e, out| e.verify(&n("alice"), out));
    let Note::SafetyNumber { number: bobs, .. } = net.notes("bob").remove(0) else {
        panic!()
    };
    assert_eq!(number, bobs, "both screens show the same line");
    // The wrong digits mark nothing.
    let wrong = if confirm == "00000" { "00001" } else { "00000" };
    assert!(
        net.decide("alice", |e, out| e.mark_verified(
            &n("bob"),
            Some(wrong),
            out
        ))
        .is_err()
    );
    assert!(!net.e2e("alice").contacts().is_verified("bob"));
    net.decide("alice", |e, out| {
        e.mark_verified(&n("bob"), Some(&confirm), out)
    })
    .unwrap();
    net.send("bob", "alice", "verified?").unwrap();
    assert_eq!(
        texts(&net.read("alice")),
        vec![(
            "bob",
            Received::Text {
                text: "verified?".into(),
                verified: true,
                key_changed: false
            }
        )],
        "the mark survives reopening and shows on messages"
    );
    // 'verify bob no' takes it back.
    net.decide("alice", |e, out| e.mark_verified(&n("bob"), None, out))
        .unwrap();
    assert!(!net.e2e("alice").contacts().is_verified("bob"));
}

#[test]
fn a_key_slipped_in_between_the_number_shown_and_the_answer_is_not_verified_nor_accepted() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    let digits = net.digits("alice", "bob");
    // Between the showing and the answer, the server hands out a key of its own (a real device's).
    let mallory = other_identity();
    net.dev("alice").e2e.showing.insert(n("bob"));
    net.decide("alice", |e, out| {
        e.on_keys(&n("bob"), mallory.clone(), None, out)
    });
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::KeyChanged { .. }, ..]
    ));
    // 'verify bob yes <digits>' names the key compared, which is not the one current now.
    assert!(matches!(
        net.decide("alice", |e, out| e.mark_verified(
            &n("bob"),
            Some(&digits),
            out
        )),
        Err(contacts::ContactError::NotShown { .. })
    ));
    assert!(!net.e2e("alice").contacts().is_verified("bob"));
    assert!(net.e2e("alice").contacts().is_changed("bob"));
    // Nor does 'trust bob <digits of the old key>' accept mallory's.
    assert!(
        net.decide("alice", |e, out| e.accept(&n("bob"), &digits, out))
            .is_err()
    );
    assert_eq!(
        net.e2e("alice").contacts().get("bob").unwrap().pinned,
        *net.e2e("bob").identity()
    );
}

#[test]
fn every_key_change_is_announced_and_trust_accepts_only_the_key_shown() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    let first = other_identity();
    let second = other_identity();
    for id in [&first, &first, &second] {
        net.dev("alice").e2e.showing.insert(n("bob"));
        net.decide("alice", |e, out| {
            e.on_keys(&n("bob"), id.clone(), None, out)
        });
    }
    let notes = net.notes("alice");
    let changes: Vec<&Note> = notes
        .iter()
        .filter(|n| matches!(n, Note::KeyChanged { .. }))
        .collect();
    assert_eq!(
        changes.len(),
        2,
        "the second change as loud as the first: {notes:?}"
    );
    let Note::KeyChanged {
        confirm: first_digits,
        ..
    } = changes[0]
    else {
        unreachable!()
    };
    let Note::KeyChanged {
        confirm: second_digits,
        ..
    } = changes[1]
    else {
        unreachable!()
    };
    // The digits of the first change no longer accept anything; the second's accept the second.
    assert!(
        net.decide("alice", |e, out| e.accept(&n("bob"), first_digits, out))
            .is_err()
    );
    net.decide("alice", |e, out| e.accept(&n("bob"), second_digits, out))
        .unwrap();
    assert_eq!(
        net.e2e("alice").contacts().get("bob").unwrap().pinned,
        second
    );
}

#[test]
fn keys_nobody_asked_for_are_ignored() {
    let mut net = Net::new();
    net.join("alice");
    let mallory = other_identity();
    // Unasked: neither a claim's answer nor a `keys show` one. Nothing is pinned, nothing said.
    net.decide("alice", |e, out| {
        e.on_keys(&n("bob"), mallory.clone(), None, out)
    });
    let key = SignedKey {
        key_id: "AAAAAAAAAAA".into(),
        curve25519: "C".repeat(43),
        signature: "S".repeat(86),
    };
    net.decide("alice", |e, out| {
        e.on_keys(&n("carol"), mallory.clone(), Some(key), out)
    });
    assert!(net.e2e("alice").contacts().get("bob").is_none());
    assert!(net.e2e("alice").contacts().get("carol").is_none());
    assert!(net.notes("alice").is_empty());
    // Nor may an unasked line mark a pinned contact changed.
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    net.decide("alice", |e, out| {
        e.on_keys(&n("bob"), mallory.clone(), None, out)
    });
    assert!(!net.e2e("alice").contacts().is_changed("bob"));
}

#[test]
fn verify_for_a_user_without_keys_answers() {
    let mut net = Net::new();
    net.join("alice");
    net.decide("alice", |e, out| e.verify(&n("carol"), out));
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::NoSafetyNumber { user }] if **user == *"carol"
    ));
}

#[test]
fn a_changed_key_is_detected_and_nothing_is_sent_until_it_is_accepted() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.join("carol");
    net.send("alice", "bob", "before").unwrap();
    net.send("carol", "bob", "before").unwrap();
    net.read("bob");
    let old_bob = net.e2e("bob").identity().clone();

    // bob moves to a new device: new keys, published over the old ones.
    net.new_device("bob");
    assert_ne!(*net.e2e("bob").identity(), old_bob);

    // A claim of bob's keys finds the change: held, loudly.
    net.dev("alice").e2e.peers.clear();
    net.send("alice", "bob", "claimed").unwrap();
    let notes = net.notes("alice");
    assert!(
        matches!(&notes[..], [Note::KeyChanged { user, waiting: 1, .. }] if **user == *"bob"),
        "{notes:?}"
    );
    assert_eq!(
        net.send("alice", "bob", "again"),
        Err(Refusal::KeyChanged(n("bob"))),
        "refused at once while the change is not accepted"
    );
    assert!(net.mail.get("bob").is_none_or(|m| m.is_empty()));

    // bob writes to carol from his new device: carol sees it, marked, and the change.
    net.send("bob", "carol", "new phone").unwrap();
    assert_eq!(
        texts(&net.read("carol")),
        vec![(
            "bob",
            Received::Text {
                text: "new phone".into(),
                verified: false,
                key_changed: true
            }
        )]
    );
    assert!(matches!(&net.notes("carol")[..], [Note::KeyChanged { .. }]));
    assert_eq!(
        net.send("carol", "bob", "reply"),
        Err(Refusal::KeyChanged(n("bob")))
    );

    // alice accepts the new key (the digits she was shown): what waited goes to the new device.
    let digits = net.digits("alice", "bob");
    net.decide("alice", |e, out| e.accept(&n("bob"), &digits, out))
        .unwrap();
    assert_eq!(texts(&net.read("bob")), vec![("alice", text("claimed"))]);
}

#[test]
fn rejecting_a_changed_key_keeps_the_old_one_and_says_what_was_dropped() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "before").unwrap();
    net.read("bob");
    let old_bob = net.e2e("bob").identity().clone();
    net.new_device("bob");
    net.dev("alice").e2e.peers.clear();
    net.send("alice", "bob", "to whom?").unwrap();
    net.notes("alice");
    net.decide("alice", |e, out| e.reject(&n("bob"), out))
        .unwrap();
    let notes = net.notes("alice");
    assert!(
        matches!(
            &notes[..],
            [
                Note::NotSent {
                    why: Refusal::Rejected(_),
                    ..
                },
                Note::Rejected { refused: 1, .. }
            ]
        ),
        "{notes:?}"
    );
    let c = net.e2e("alice").contacts().get("bob").unwrap().clone();
    assert_eq!(c.pinned, old_bob, "the old key stays pinned");
    assert!(c.changed.is_none());
    assert!(net.mail.get("bob").is_none_or(|m| m.is_empty()));
    assert!(net.e2e("alice").outbox().is_empty());
}

#[test]
fn an_undecided_change_is_looked_at_again_at_login_and_a_further_change_announced() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    net.read("bob");
    net.new_device("bob");
    net.dev("alice").e2e.peers.clear();
    net.send("alice", "bob", "waits for a decision").unwrap();
    assert_eq!(
        net.notes("alice")
            .iter()
            .filter(|n| matches!(n, Note::KeyChanged { .. }))
            .count(),
        1
    );
    // bob moves again before alice decides: at her next login the key is looked at (no one-time
    // key taken), and the second change is announced as the first was.
    net.new_device("bob");
    let claims = net.wire.iter().filter(|l| *l == "keys claim bob").count();
    net.reopen("alice");
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::KeyChanged { waiting: 1, .. }]
    ));
    assert_eq!(
        net.wire.iter().filter(|l| *l == "keys claim bob").count(),
        claims,
        "looked at with 'keys show', nothing claimed"
    );
    let digits = net.digits("alice", "bob");
    net.decide("alice", |e, out| e.accept(&n("bob"), &digits, out))
        .unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("waits for a decision"))]
    );
}
