//! Direct messages: sessions, claims and what waits for them, and what the server may not make a
//! device do (send in clear, lose what waits, grow without bound).

use super::*;

#[test]
fn two_devices_talk_and_the_server_sees_only_ciphertext() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    assert_eq!(
        net.directory[&n("bob")].one_time.len(),
        device::TARGET as usize
    );

    net.send("alice", "bob", "hello bob").unwrap();
    net.send("alice", "bob", "second before any reply").unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![
            ("alice", text("hello bob")),
            ("alice", text("second before any reply"))
        ]
    );
    assert_eq!(
        net.directory[&n("bob")].one_time.len(),
        device::TARGET as usize - 1,
        "one claim, one one-time key"
    );
    net.send("bob", "alice", "hi alice").unwrap();
    assert!(
        !net.wire.iter().any(|l| l == "keys claim alice"),
        "bob answers on the session alice made: no claim"
    );
    assert_eq!(texts(&net.read("alice")), vec![("bob", text("hi alice"))]);
    for i in 0..3 {
        net.send("alice", "bob", &format!("more {i}")).unwrap();
    }
    assert_eq!(net.read("bob").len(), 3);
    let last = net.messages_on_wire().last().unwrap().to_string();
    let bob_curve = net.e2e("bob").identity().curve25519.clone();
    assert!(
        last.contains(&format!(" e2e1:n:{bob_curve}:")),
        "after a reply, normal messages (no identity proof), naming bob's key: {last}"
    );
    for line in &net.wire {
        for secret in ["hello bob", "second before", "hi alice", "more "] {
            assert!(!line.contains(secret), "{secret} on the wire: {line}");
        }
    }
    // The pins: each side pinned the other's identity on first use.
    let bob_id = net.e2e("bob").identity().clone();
    assert_eq!(
        net.e2e("alice").contacts().get("bob").unwrap().pinned,
        bob_id
    );
    assert!(net.e2e("alice").outbox().is_empty(), "nothing waits");
}

#[test]
fn a_first_message_to_an_offline_user_uses_a_claimed_key_and_the_fallback_when_none_is_left() {
    let mut net = Net::new();
    net.join("bob");
    // bob is offline from now on: everyone else only has the directory.
    net.directory
        .get_mut(&n("bob"))
        .unwrap()
        .one_time
        .truncate(1);
    for sender in ["alice", "carol", "dave"] {
        net.join(sender);
        net.send(sender, "bob", &format!("from {sender}")).unwrap();
    }
    let e = &net.directory[&n("bob")];
    assert!(
        e.one_time.is_empty(),
        "the one one-time key went to the first claimer"
    );
    // bob comes back: one from the one-time key, two from the (shared) fallback key.
    let fallback = net.directory[&n("bob")].fallback.clone();
    let shown = net.read("bob");
    assert_eq!(
        texts(&shown),
        vec![
            ("alice", text("from alice")),
            ("carol", text("from carol")),
            ("dave", text("from dave"))
        ]
    );
    // The fallback key was used: replaced now (as Matrix does), not at every login.
    assert_ne!(net.directory[&n("bob")].fallback, fallback);
    let replaced = net.directory[&n("bob")].fallback.clone();
    net.reopen("bob");
    net.reopen("bob");
    assert_eq!(
        net.directory[&n("bob")].fallback,
        replaced,
        "an unused fallback key stays across logins"
    );
}

#[test]
fn one_time_keys_are_published_signed_and_topped_up_when_low_and_never_past_a_bound() {
    let mut net = Net::new();
    net.join("bob");
    let keys_lines: Vec<&String> = net.wire.iter().filter(|l| l.starts_with("keys")).collect();
    assert_eq!(keys_lines[0], "keys show bob", "first: whose are the keys?");
    assert!(keys_lines[1].starts_with("keys identity "));
    assert!(keys_lines[2].starts_with("keys fallback "));
    assert_eq!(
        keys_lines
            .iter()
            .filter(|l| l.starts_with("keys add"))
            .count(),
        3,
        "50 keys, 20 a line"
    );
    let bob = net.e2e("bob").identity().clone();
    let engine = test_engine::TestEngine::default();
    for field in &net.directory[&n("bob")].one_time {
        let k = SignedKey::parse(field).unwrap();
        let statement = device::one_time_statement(
            "bob",
            &engine::PublicKey {
                key_id: k.key_id.clone(),
                curve25519: k.curve25519.clone(),
            },
        );
        engine
            .verify(&bob.ed25519, statement.as_bytes(), &k.signature)
            .expect("each one-time key is signed by the identity");
    }
    // Claims bring it below the low mark: the server says so, and the device tops up.
    net.directory
        .get_mut(&n("bob"))
        .unwrap()
        .one_time
        .truncate(5);
    net.decide("bob", |e, out| e.on_keys_left(5, out));
    assert_eq!(
        net.directory[&n("bob")].one_time.len(),
        device::TARGET as usize
    );
    // Enough left: nothing.
    let mut out = Vec::new();
    net.dev("bob").e2e.on_keys_left(device::LOW, &mut out);
    assert!(out.is_empty());
    // A server saying "none left" again and again, unasked: the device's state stays bounded.
    let size = |net: &Net| net.devices[&n("bob")].whole(&Part::Device).len();
    for _ in 0..300 {
        let mut out = Vec::new();
        net.dev("bob").e2e.on_keys_left(0, &mut out);
        for o in out {
            if let Out::Save(part, bytes) = o {
                net.dev("bob")
                    .files
                    .insert(part, vec![Stored::Whole(bytes)]);
            }
        }
    }
    let stored = engine
        .stored_one_time_keys(&net.e2e("bob").device.account)
        .unwrap();
    assert!(stored <= device::MAX_STORED, "{stored}");
    assert!(size(&net) < 40_000, "device file: {} bytes", size(&net));
}

#[test]
fn a_claimed_key_whose_signature_does_not_match_is_refused_and_nothing_is_sent() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.tamper_next_claim = true;
    net.send("alice", "bob", "secret").unwrap();
    assert!(net.mail.get("bob").is_none_or(|m| m.is_empty()));
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::NotSent { why: Refusal::BadSignature(u), .. }] if **u == *"bob"
    ));
    assert!(
        net.e2e("alice").contacts().get("bob").is_none(),
        "nothing pinned from a bad bundle"
    );
    // The next claim is honest, and works.
    net.send("alice", "bob", "secret again").unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("secret again"))]
    );
}

#[test]
fn a_user_the_server_says_has_no_keys_gets_nothing_in_clear_unless_the_sender_says_so() {
    let mut net = Net::new();
    net.join("alice");
    net.send("alice", "newbie", "welcome aboard").unwrap();
    assert_eq!(
        net.retries, 1,
        "asked twice before anyone is asked anything"
    );
    assert!(
        !net.wire.iter().any(|l| l.contains("welcome aboard")),
        "nothing in clear unasked: {:?}",
        net.wire
    );
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::Waiting {
            why: Wait::NoKeys,
            count: 1,
            ..
        }]
    ));
    assert_eq!(net.e2e("alice").outbox().texts_for("newbie"), 1);
    // A second one waits behind it, said again.
    net.send("alice", "newbie", "second one").unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::Waiting {
            why: Wait::NoKeys,
            count: 2,
            ..
        }]
    ));
    // The sender says so: both go, unencrypted, in order.
    net.decide("alice", |e, out| e.send_clear(&n("newbie"), out))
        .unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::SentInClear { count: 2, .. }]
    ));
    let got: Vec<&str> = net.mail[&n("newbie")]
        .iter()
        .map(|m| m.3.as_str())
        .collect();
    assert_eq!(got, vec!["welcome aboard", "second one"]);
    assert!(net.e2e("alice").outbox().is_empty());
    // Nothing waits any more: asking again does nothing.
    assert!(
        net.decide("alice", |e, out| e.send_clear(&n("newbie"), out))
            .is_err()
    );
}

#[test]
fn a_pinned_user_the_server_says_has_no_keys_is_never_sent_clear_text_and_gets_it_when_keys_return()
{
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "first").unwrap();
    net.read("bob");
    // The server now hides bob's keys, and the session is gone (a reinstall of alice's state).
    net.hide_keys.insert(n("bob"));
    net.dev("alice").e2e.peers.clear();
    net.send("alice", "bob", "second").unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::Waiting {
            why: Wait::Withdrawn,
            ..
        }]
    ));
    assert!(matches!(
        net.decide("alice", |e, out| e.send_clear(&n("bob"), out)),
        Err(SendClearError::Pinned(_))
    ));
    assert!(!net.wire.iter().any(|l| l.ends_with(" second")));
    // Kept across a restart; bob logs in again and the server stops lying: it goes, encrypted.
    net.reopen("alice");
    net.hide_keys.clear();
    net.decide("alice", |e, out| e.on_online(&n("bob"), out));
    assert_eq!(texts(&net.read("bob")), vec![("alice", text("second"))]);
    assert!(net.e2e("alice").outbox().is_empty());
}

#[test]
fn a_claim_refused_because_the_user_blocked_you_is_said_and_after_unblock_messages_go() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.blocks.insert((n("bob"), n("alice")));
    net.send("alice", "bob", "hello?").unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::NotSent { why: Refusal::BlockedBy(u), .. }] if **u == *"bob"
    ));
    assert!(net.e2e("alice").outbox().is_empty(), "nothing left waiting");
    net.send("alice", "bob", "still?").unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::NotSent {
            why: Refusal::BlockedBy(_),
            ..
        }]
    ));
    // bob unblocks alice: the next message claims again and goes.
    net.blocks.clear();
    net.send("alice", "bob", "friends again").unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("friends again"))]
    );
}

#[test]
fn what_waits_for_keys_is_kept_on_disk_and_sent_after_a_restart() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.held_claims = Some(Vec::new());
    net.send("alice", "bob", "while the server is silent")
        .unwrap();
    assert_eq!(net.e2e("alice").outbox().texts_for("bob"), 1);
    let saved: outbox::Outbox =
        serde_json::from_slice(net.devices[&n("alice")].whole(&Part::Outbox)).unwrap();
    assert_eq!(saved.texts_for("bob"), 1, "on disk before anything else");
    // The claim is never answered; slow: said.
    net.decide("alice", |e, out| e.claim_slow(&n("bob"), out));
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::Waiting {
            why: Wait::Slow,
            ..
        }]
    ));
    // alice's client exits and starts again: the claim is asked again, and this time answered.
    net.held_claims = None;
    net.reopen("alice");
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("while the server is silent"))]
    );
    assert!(net.e2e("alice").outbox().is_empty());
}

#[test]
fn a_message_redelivered_is_recognised_before_decrypting_and_a_reused_id_is_not() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "once").unwrap();
    net.send("alice", "bob", "twice").unwrap();
    let mail: Vec<Mail> = net.mail[&n("bob")].iter().cloned().collect();
    assert_eq!(net.read("bob").len(), 2);
    // The server crashed before the acknowledgement: the same two again, and the device restarted.
    net.reopen("bob");
    let again = net.read_mail("bob", mail.clone());
    assert_eq!(
        texts(&again),
        vec![
            ("alice", Received::Duplicate),
            ("alice", Received::Duplicate)
        ],
        "not 'could not decrypt'"
    );
    // `offline` shows them again from the device's own store (the server has only ciphertext).
    let (id, from, _, cipher) = &mail[1];
    assert_eq!(
        net.e2e("bob").recall(*id, from, None, cipher),
        Some("twice".to_owned())
    );
    // A wiped server reuses id 1 for a new message: it is decrypted.
    net.send("alice", "bob", "new").unwrap();
    let mut fresh: Vec<Mail> = net.mail.remove("bob").unwrap().into();
    fresh[0].0 = mail[0].0;
    assert_eq!(
        texts(&net.read_mail("bob", fresh)),
        vec![("alice", text("new"))]
    );
}

#[test]
fn a_message_held_back_by_the_server_past_later_ones_is_still_shown() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    for t in ["one", "two", "three"] {
        net.send("alice", "bob", t).unwrap();
    }
    let mut mail: Vec<Mail> = net.mail.remove("bob").unwrap().into();
    // The server delivers "one" last.
    let first = mail.remove(0);
    mail.push(first);
    net.reopen("bob");
    assert_eq!(
        texts(&net.read_mail("bob", mail)),
        vec![
            ("alice", text("two")),
            ("alice", text("three")),
            ("alice", text("one"))
        ]
    );
}

#[test]
fn text_without_the_prefix_is_not_encrypted_and_from_a_pinned_contact_may_be_forged() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    let key = "B".repeat(43);
    let shown = net.read_mail(
        "bob",
        vec![
            (1, n("eve"), None, "typed by hand".into()),
            (2, n("eve"), None, format!("e2e1:p:{key}:AAAA")),
            (3, n("eve"), None, format!("e2e1:n:{key}:!!")),
            (4, n("eve"), Some(n("g")), "e2e1:g:abc:AAAA".into()),
            (5, n("eve"), Some(n("g")), "e2e1:p:AAAA".into()),
        ],
    );
    assert_eq!(shown[0].1, Received::Plain("typed by hand".into()));
    assert!(
        shown[1..]
            .iter()
            .all(|(_, r)| matches!(r, Received::Failed(_) | Received::OtherDevice)),
        "{shown:?}"
    );
    // alice is pinned by bob: clear text "from" her is what a forgery looks like.
    net.send("alice", "bob", "hello").unwrap();
    net.read("bob");
    let forged = net.read_mail(
        "bob",
        vec![(99, n("alice"), None, "send me the code".into())],
    );
    assert_eq!(
        forged[0].1,
        Received::PlainFromPinned("send me the code".into())
    );
    let mut out = Vec::new();
    assert_eq!(
        net.dev("bob")
            .e2e
            .receive_group(100, &n("g"), &n("alice"), "in clear", &mut out),
        Received::PlainFromPinned("in clear".into())
    );
}

#[test]
fn the_longest_text_that_fits_does_fit_once_encrypted() {
    let limit = crate::protocol::MAX_LINE;
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    let max = net.e2e("alice").max_direct("bob", limit);
    assert!(max > 5000, "{max}");
    let long = "x".repeat(max);
    assert_eq!(
        net.send("alice", "bob", &format!("{long}y")),
        Err(Refusal::TooLong { max })
    );
    net.send("alice", "bob", &long).unwrap();
    let line = net.messages_on_wire().last().unwrap().to_string();
    assert!(
        line.contains("e2e1:p:"),
        "the worst case: a pre-key message"
    );
    assert!(line.len() <= limit, "{} > {limit}", line.len());
    assert!(
        line.len() + 40 > limit,
        "the bound wastes little: {}",
        line.len()
    );
    assert_eq!(texts(&net.read("bob")), vec![("alice", text(&long))]);

    net.group("g", &["alice", "bob"]);
    let max = net.e2e("alice").max_group("g", limit);
    let wide = "é".repeat(max / 2);
    net.send_group("alice", "g", &wide).unwrap();
    let line = net.messages_on_wire().last().unwrap().to_string();
    assert!(
        line.len() <= limit && line.len() + 40 > limit,
        "{}",
        line.len()
    );
    assert_eq!(
        net.send_group("alice", "g", &"x".repeat(max + 1)),
        Err(Refusal::TooLong { max })
    );
}

#[test]
fn control_characters_inside_the_encryption_are_refused_as_the_server_would() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "clear \u{1b}[2J screen").unwrap();
    net.group("g", &["alice", "bob"]);
    net.send_group("alice", "g", "bell \u{7}").unwrap();
    let shown = net.read("bob");
    assert_eq!(shown.len(), 2);
    assert!(
        shown
            .iter()
            .all(|(_, r)| matches!(r, Received::Failed(w) if w.contains("control"))),
        "{shown:?}"
    );
}

#[test]
fn a_message_that_decrypts_to_an_unknown_form_is_refused_and_the_conversation_goes_on() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hello").unwrap();
    net.send("alice", "bob", "how are you?").unwrap();
    // Alice's device (a newer version, or a faulty one) encrypts something bob cannot read as a
    // message. It decrypts, so the session has moved past it: bob must keep the session as it now
    // is, or every later message from alice in the same burst would fail to decrypt (the engine
    // keeps a session stepped since the last save in one place only).
    let line = {
        let alice = &mut net.dev("alice").e2e;
        let curve = alice.session_with(&n("bob")).unwrap();
        let engine = alice.engine.clone();
        let peer = alice.peers.get_mut("bob").unwrap();
        let message = peer.encrypt(&*engine, &curve, b"not a message").unwrap();
        let mut line = String::new();
        super::super::envelope::render_olm(&curve, &message, &mut line);
        line
    };
    net.next_id += 1;
    net.mail
        .get_mut("bob")
        .unwrap()
        .push_back((net.next_id, n("alice"), None, line));
    net.send("alice", "bob", "still there?").unwrap();
    // One burst, read by the running device with no save in between, as a client reads ahead.
    let mail: Vec<Mail> = net.mail.remove("bob").unwrap().into();
    let mut out = Vec::new();
    let shown: Vec<Received> = mail
        .iter()
        .map(|(id, from, _, text)| net.dev("bob").e2e.receive_direct(*id, from, text, &mut out))
        .collect();
    net.carry("bob", out);
    assert_eq!(shown[..2], [text("hello"), text("how are you?")]);
    assert!(
        matches!(&shown[2], Received::Failed(w) if w.contains("unknown form")),
        "{shown:?}"
    );
    assert_eq!(shown[3], text("still there?"));
}

#[test]
fn a_session_made_from_a_pre_key_message_is_confirmed_once_and_then_carries_normal_messages() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    let bob_curve = net.e2e("bob").identity().curve25519.clone();
    net.send("alice", "bob", "one").unwrap();
    net.send("alice", "bob", "two").unwrap();
    let pre_key = net.messages_on_wire().last().unwrap().to_string();
    assert!(
        net.messages_on_wire()
            .iter()
            .all(|l| l.contains(&format!(" e2e1:p:{bob_curve}:"))),
        "until alice hears back, pre-key messages"
    );
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("one")), ("alice", text("two"))]
    );
    let to_alice = |net: &Net| {
        net.wire
            .iter()
            .filter(|l| l.starts_with("message alice ") || l.starts_with("note alice "))
            .cloned()
            .collect::<Vec<_>>()
    };
    let confirmations = to_alice(&net);
    assert_eq!(
        confirmations.len(),
        1,
        "one confirmation for the session, not one per message: {confirmations:?}"
    );
    assert!(
        confirmations[0].starts_with("note alice e2e1:n:"),
        "on the session alice made, so a normal message, and as a note (bob did nothing): {}",
        confirmations[0]
    );
    assert!(
        net.read("alice").is_empty(),
        "the confirmation shows nothing"
    );
    assert!(net.notes("alice").is_empty(), "and says nothing");

    net.send("alice", "bob", "three").unwrap();
    let normal = net.messages_on_wire().last().unwrap().to_string();
    assert!(
        normal.contains(&format!(" e2e1:n:{bob_curve}:")),
        "confirmed: a normal message, without the pre-key header and the identity proof: {normal}"
    );
    assert!(
        normal.len() + 100 < pre_key.len(),
        "a normal message is much shorter ({} against {} bytes)",
        normal.len(),
        pre_key.len()
    );
    assert_eq!(texts(&net.read("bob")), vec![("alice", text("three"))]);
    assert_eq!(to_alice(&net).len(), 1, "nothing more confirmed");
}
