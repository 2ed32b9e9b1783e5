//! natter builds vodozemac from `vendor/vodozemac`, patched to keep each sending ratchet's public key
//! beside its secret instead of deriving it again for every message (docs/DESIGN.md, "The patched
//! vodozemac"). These tests hold the patched crate to the stock one, vodozemac 0.10.0 from crates.io,
//! linked beside it under another name:
//!
//! - from the same session state, both encrypt to the same bytes (Olm's encryption is deterministic
//!   once the state is given: the message key, the AES key and IV, the MAC all come from it), and
//!   pickle to the same JSON;
//! - what the patched crate encrypts with a ratchet key it made itself (the first message of a new
//!   chain, whose key is random) the stock crate decrypts, and the other way round;
//! - sessions and accounts pickled by either unpickle in the other (the sessions already on users'
//!   disks were pickled by the stock crate).

use vodozemac::olm::{Account, OlmMessage, Session, SessionConfig, SessionPickle as PatchedPickle};
use vodozemac_stock::olm::{
    Account as StockAccount, OlmMessage as StockMessage, Session as StockSession,
    SessionConfig as StockConfig, SessionPickle as StockPickle,
};

fn to_stock(json: &str) -> StockSession {
    StockSession::from_pickle(serde_json::from_str::<StockPickle>(json).expect("stock unpickles"))
}

fn to_patched(json: &str) -> Session {
    Session::from_pickle(serde_json::from_str::<PatchedPickle>(json).expect("patched unpickles"))
}

fn pickle_stock(session: &StockSession) -> String {
    serde_json::to_string(&session.pickle()).expect("stock pickles")
}

fn pickle_patched(session: &Session) -> String {
    serde_json::to_string(&session.pickle()).expect("patched pickles")
}

/// A message as the other crate reads it.
fn stock_message(message: &OlmMessage) -> StockMessage {
    let (kind, body) = message.to_parts();
    StockMessage::from_parts(kind, &body).expect("stock reads the patched crate's message")
}

fn patched_message(message: &StockMessage) -> OlmMessage {
    let (kind, body) = message.to_parts();
    OlmMessage::from_parts(kind, &body).expect("patched reads the stock crate's message")
}

/// One side's session, as its pickle: each step unpickles it in both crates, runs the step in both
/// where the step is deterministic, and checks they agree.
struct Side(String);

impl Side {
    /// Encrypts `text` in both crates from the same state: the same message, the same state after.
    fn encrypt_both(&mut self, text: &str) -> StockMessage {
        let (mut stock, mut patched) = (to_stock(&self.0), to_patched(&self.0));
        let by_stock = stock.encrypt(text).expect("stock encrypts");
        let by_patched = patched.encrypt(text).expect("patched encrypts");
        assert_eq!(
            by_stock.to_parts(),
            by_patched.to_parts(),
            "the same ciphertext"
        );
        let after = pickle_stock(&stock);
        assert_eq!(after, pickle_patched(&patched), "the same state after");
        self.0 = after;
        by_stock
    }

    /// Encrypts `text` in the patched crate alone (a new chain's first message: its ratchet key is
    /// random, so the two crates cannot agree byte for byte).
    fn encrypt_patched(&mut self, text: &str) -> StockMessage {
        let mut patched = to_patched(&self.0);
        let message = patched.encrypt(text).expect("patched encrypts");
        self.0 = pickle_patched(&patched);
        stock_message(&message)
    }

    /// The same, by the stock crate.
    fn encrypt_stock(&mut self, text: &str) -> StockMessage {
        let mut stock = to_stock(&self.0);
        let message = stock.encrypt(text).expect("stock encrypts");
        self.0 = pickle_stock(&stock);
        message
    }

    /// Decrypts in both crates: the same text, the same state after.
    fn decrypt_both(&mut self, message: &StockMessage) -> String {
        let (mut stock, mut patched) = (to_stock(&self.0), to_patched(&self.0));
        let by_stock = stock.decrypt(message).expect("stock decrypts");
        let by_patched = patched
            .decrypt(&patched_message(message))
            .expect("patched decrypts");
        assert_eq!(by_stock, by_patched);
        let after = pickle_stock(&stock);
        assert_eq!(after, pickle_patched(&patched), "the same state after");
        self.0 = after;
        String::from_utf8(by_stock).expect("text")
    }
}

/// alice's account is the stock crate's, bob's the patched one's; alice opens the session.
fn pair() -> (Side, Side) {
    let alice = StockAccount::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let one_time_key = *bob.one_time_keys().values().next().expect("a one-time key");
    bob.mark_keys_as_published();
    let bob_curve = bob.curve25519_key().to_base64();
    let mut alice_session = alice
        .create_outbound_session(
            StockConfig::version_1(),
            vodozemac_stock::Curve25519PublicKey::from_base64(&bob_curve).expect("key"),
            vodozemac_stock::Curve25519PublicKey::from_base64(&one_time_key.to_base64())
                .expect("key"),
        )
        .expect("an outbound session");
    let first = alice_session.encrypt("hello").expect("encrypts");
    let StockMessage::PreKey(_) = &first else {
        panic!("the first message is a pre-key message");
    };
    let OlmMessage::PreKey(pre_key) = patched_message(&first) else {
        unreachable!();
    };
    let alice_curve =
        vodozemac::Curve25519PublicKey::from_base64(&alice.curve25519_key().to_base64())
            .expect("key");
    let created = bob
        .create_inbound_session(SessionConfig::version_1(), alice_curve, &pre_key)
        .expect("the patched crate opens the stock crate's session");
    assert_eq!(created.plaintext, b"hello");
    (
        Side(pickle_stock(&alice_session)),
        Side(pickle_patched(&created.session)),
    )
}

#[test]
fn the_patched_crate_encrypts_what_the_stock_one_does() {
    let (mut alice, mut bob) = pair();
    for turn in 0..6 {
        let (sender, receiver) = if turn % 2 == 0 {
            (&mut bob, &mut alice)
        } else {
            (&mut alice, &mut bob)
        };
        // A new chain: its ratchet key made by the patched crate on even turns, the stock crate's
        // on odd ones; either way both decrypt it, and both go on from it alike.
        let first = format!("turn {turn}, first");
        let message = if turn % 2 == 0 {
            sender.encrypt_patched(&first)
        } else {
            sender.encrypt_stock(&first)
        };
        assert_eq!(receiver.decrypt_both(&message), first);
        for i in 0..5 {
            let text = format!("turn {turn}, message {i}");
            let message = sender.encrypt_both(&text);
            assert_eq!(receiver.decrypt_both(&message), text);
        }
    }
}

#[test]
fn a_ratchet_key_made_by_the_patched_crate_is_the_one_its_secret_gives() {
    // bob (patched) answers alice: his answer starts a chain on a ratchet key the patched crate
    // made, and sends its public part as the one it kept. The stock crate, given only the pickle
    // (the secret), derives the public key again for the next message: the two must agree.
    let (mut alice, mut bob) = pair();
    let answer = bob.encrypt_patched("answer");
    assert_eq!(alice.decrypt_both(&answer), "answer");
    let (mut stock, mut patched) = (to_stock(&bob.0), to_patched(&bob.0));
    let StockMessage::Normal(by_stock) = stock.encrypt("next").expect("encrypts") else {
        panic!("a normal message");
    };
    let OlmMessage::Normal(by_patched) = patched.encrypt("next").expect("encrypts") else {
        panic!("a normal message");
    };
    let StockMessage::Normal(first) = &answer else {
        panic!("a normal message");
    };
    assert_eq!(
        by_stock.ratchet_key().to_base64(),
        first.ratchet_key().to_base64()
    );
    assert_eq!(
        by_patched.ratchet_key().to_base64(),
        by_stock.ratchet_key().to_base64()
    );
}

#[test]
fn accounts_pickle_alike_in_both_crates() {
    let stock = StockAccount::new();
    let json = serde_json::to_string(&stock.pickle()).expect("pickles");
    let patched = Account::from_pickle(serde_json::from_str(&json).expect("unpickles"));
    assert_eq!(
        json,
        serde_json::to_string(&patched.pickle()).expect("pickles")
    );
    assert_eq!(
        stock.curve25519_key().to_base64(),
        patched.curve25519_key().to_base64()
    );
}

/// What one side holds before the other's first answer: its outbound session, whose every message
/// is a pre-key message (a one-way burst).
fn outbound_pair() -> (Side, Side, StockMessage) {
    let alice = StockAccount::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let one_time_key = *bob.one_time_keys().values().next().expect("a one-time key");
    bob.mark_keys_as_published();
    let alice_session = alice
        .create_outbound_session(
            StockConfig::version_1(),
            vodozemac_stock::Curve25519PublicKey::from_base64(&bob.curve25519_key().to_base64())
                .expect("key"),
            vodozemac_stock::Curve25519PublicKey::from_base64(&one_time_key.to_base64())
                .expect("key"),
        )
        .expect("an outbound session");
    let mut alice = Side(pickle_stock(&alice_session));
    let first = alice.encrypt_both("hello");
    let StockMessage::PreKey(_) = &first else {
        panic!("a pre-key message");
    };
    let OlmMessage::PreKey(pre_key) = patched_message(&first) else {
        unreachable!();
    };
    let alice_curve = pre_key.identity_key();
    let created = bob
        .create_inbound_session(SessionConfig::version_1(), alice_curve, &pre_key)
        .expect("an inbound session");
    assert_eq!(created.plaintext, b"hello");
    (alice, Side(pickle_patched(&created.session)), first)
}

/// Texts of the lengths whose encodings differ: empty, one block, a varint of one byte and of two
/// and three (the ciphertext's length) bytes.
fn text_of_length(i: usize) -> String {
    let lengths = [0, 1, 15, 16, 100, 127, 128, 200, 5000, 20000];
    "x".repeat(lengths[i % lengths.len()])
}

#[test]
fn a_one_way_burst_of_pre_key_messages_is_the_same_in_both_crates() {
    // Every message of the burst is a pre-key message, encrypted from the same state by both crates
    // (its bytes: the outer message with the session's keys, the inner one, its MAC) and decrypted
    // by both; the chain index passes 127 (a varint of two bytes).
    let (mut alice, mut bob, _) = outbound_pair();
    for i in 0..300 {
        let text = text_of_length(i);
        let message = alice.encrypt_both(&text);
        assert!(matches!(message, StockMessage::PreKey(_)), "message {i}");
        assert_eq!(bob.decrypt_both(&message), text);
    }
}

#[test]
fn messages_decrypted_out_of_order_and_after_a_gap_are_the_same_in_both_crates() {
    // A gap longer than the skipped keys kept (40): the receiving chain advances without keeping
    // keys, then keeps the last 40; then skipped messages are decrypted from the kept keys, newest
    // and oldest first, and a message whose key was not kept fails in both.
    let (mut alice, mut bob, _) = outbound_pair();
    let sent: Vec<(String, StockMessage)> = (0..60)
        .map(|i| {
            let text = format!("message {i} {}", text_of_length(i));
            let message = alice.encrypt_both(&text);
            (text, message)
        })
        .collect();
    let order = [59, 58, 30, 21, 40, 50];
    for i in order {
        assert_eq!(bob.decrypt_both(&sent[i].1), sent[i].0, "message {i}");
    }
    // Message 5's key was skipped without being kept (it was more than 40 behind).
    let (mut stock, mut patched) = (to_stock(&bob.0), to_patched(&bob.0));
    assert!(stock.decrypt(&sent[5].1).is_err());
    assert!(patched.decrypt(&patched_message(&sent[5].1)).is_err());
    assert_eq!(pickle_stock(&stock), pickle_patched(&patched));
    // And the burst goes on after it, in both.
    let text = text_of_length(8);
    let message = alice.encrypt_both(&text);
    assert_eq!(bob.decrypt_both(&message), text);
}

/// A chain's first message on a new, random ratchet key (made by one crate alone: the patched one if
/// `patched_first`), then 150 messages encrypted by both from the same state, past index 127.
fn one_chain(sender: &mut Side, receiver: &mut Side, patched_first: bool) {
    let first = if patched_first {
        sender.encrypt_patched("a new chain")
    } else {
        sender.encrypt_stock("a new chain")
    };
    assert_eq!(receiver.decrypt_both(&first), "a new chain");
    for i in 0..150 {
        let text = text_of_length(i);
        let message = sender.encrypt_both(&text);
        assert!(matches!(message, StockMessage::Normal(_)));
        assert_eq!(receiver.decrypt_both(&message), text);
    }
}

#[test]
fn normal_messages_with_long_chains_are_the_same_in_both_crates() {
    // Once bob has answered: normal messages, a long chain each way.
    let (mut alice, mut bob) = pair();
    let answer = bob.encrypt_patched("answer");
    assert_eq!(alice.decrypt_both(&answer), "answer");
    one_chain(&mut alice, &mut bob, true);
    one_chain(&mut bob, &mut alice, false);
}
