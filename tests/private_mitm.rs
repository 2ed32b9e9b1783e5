//! A server that puts itself in the middle of its users' private chats (it brokers them: it knows the
//! token and tells each client where the other is), with real natter clients on both ends: whatever
//! it does with the identity proofs, the chat ends loudly on both sides before any text is sent, and
//! the attacker reads no text.

mod kit;

use std::sync::Arc;

use kit::{P2pMitm, PEOPLE, Piped, ProofAttack, Server};
use natter_core::client::e2e::E2e;
use natter_core::protocol::Name;

/// What both ends are told when the other end did not prove who it is.
const WARNING: &str = "WARNING: the other end did not prove it is";

/// alice asks bob for a private chat through the attacker and types a secret as soon as she may; both
/// must be warned that the other end did not prove who it is, and the secret must go nowhere. With
/// `pin_first`, they have written to each other before (each has the other's key pinned), and
/// `key_changed` says whether each must also be told that the key they were shown is not the pinned
/// one.
fn attacked(attack: ProofAttack, pin_first: bool, key_changed: bool) {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let mitm = P2pMitm::start(server.port(), attack);
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "wonderland", mitm.port, &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", mitm.port, &dir.path().join("b"));
    if pin_first {
        // They have written to each other: each has the other's identity key pinned.
        alice.send("message bob hello");
        bob.expect("[message] alice: hello");
        bob.send("message alice hi");
        alice.expect("[message] bob: hi");
    }
    alice.send("startprivate bob");
    bob.expect("? alice asks for a private chat");
    bob.send("accept alice");
    alice.expect("accepted; connecting directly");
    // Typed at once: the chat is not open until bob's end has proved it is bob's.
    alice.send("private bob the eagle lands at midnight");
    alice.expect_any(&["is not open yet", "You have no private chat with bob"]);
    for (client, peer) in [(&mut alice, "bob"), (&mut bob, "alice")] {
        let ended = format!("Private chat with {peer} ended: {WARNING}");
        if !client.saw(&ended) {
            client.expect(&ended);
        }
        if pin_first {
            assert_eq!(
                client.saw("identity key has CHANGED"),
                key_changed,
                "{:?}",
                client.seen
            );
        }
    }
    bob.send("private alice bring the red umbrella");
    bob.expect("You have no private chat with alice.");
    assert_eq!(mitm.hijacked(), 1, "the attacker was in the middle");
    for client in [&alice, &bob] {
        assert!(
            !client.saw("is open"),
            "{} was told the chat was open: {:?}",
            client.name,
            client.seen
        );
        assert!(!client.saw("[private]"), "{:?}", client.seen);
    }
    let read = mitm.read();
    assert!(
        read.iter().all(|l| !l.starts_with("MSG")),
        "the attacker read text: {read:?}"
    );
    for secret in ["eagle", "umbrella"] {
        assert!(
            !read.iter().any(|l| l.contains(secret)),
            "{secret}: {read:?}"
        );
    }
}

#[test]
fn a_server_in_the_middle_that_drops_the_identity_proofs_gets_nothing_and_both_are_warned() {
    attacked(ProofAttack::Drop, true, false);
}

#[test]
fn a_server_in_the_middle_that_passes_the_proofs_on_gets_nothing_and_both_are_warned() {
    attacked(ProofAttack::Forward, false, false);
}

#[test]
fn a_server_in_the_middle_with_keys_of_its_own_is_caught_by_the_pinned_keys() {
    // The attacker made a real natter device for each name, and signs its own sessions with them.
    let engine = Arc::new(natter::olm_engine::Vodozemac::default());
    let fake = |user: &str| {
        E2e::open(engine.clone(), Name::from(user), &[], &mut Vec::new())
            .unwrap()
            .private_identity()
    };
    let (alice, bob) = (fake("alice"), fake("bob"));
    let line = move |user: &str, hash: &[u8]| {
        let id = if user == "alice" { &alice } else { &bob };
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        let sig = id.sign(&format!("natter-private:{user}:{hex}")).unwrap();
        format!(
            "ID {} {} {sig}",
            id.identity.curve25519, id.identity.ed25519
        )
    };
    attacked(ProofAttack::Substitute(Arc::new(line)), true, true);
}
