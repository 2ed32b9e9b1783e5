//! Keys and trust against a server that is the adversary, with the real binaries: alice's client
//! talks to the real server through a relay that does what whoever runs the server could (rewrite,
//! inject, drop its lines), and hands out keys made by a real natter client of the attacker's. In
//! every test, none of alice's secrets crosses the relay readable, and no key of the attacker's is
//! ever trusted without alice saying so.

#[path = "kit/mod.rs"]
mod kit;

use kit::{
    Dir, Fate, HostileRelay, Keys, Piped, Server, assert_unread, digits_after, forged_keys,
    safety_line,
};
use natter_core::client::e2e::{Part, Stored};

const PEOPLE: &[(&str, &str)] = &[("alice", "apw"), ("bob", "bpw"), ("carol", "cpw")];

fn server() -> Server {
    Server::cmd().accounts(PEOPLE).args(&["60", "600"]).start()
}

/// The relay answers every claim of `user`'s keys, and every look at them, with `keys`.
fn substitute(relay: &HostileRelay, user: &'static str, keys: &Keys) {
    let (claimed, shown) = (keys.claim_answer(user), keys.show_answer(user));
    relay.on(Dir::Down, move |line| {
        if !line.starts_with(&format!("KEYS {user} ")) {
            Fate::Pass
        } else if line.contains(" - ") {
            Fate::Rewrite(vec![shown.clone()])
        } else {
            Fate::Rewrite(vec![claimed.clone()])
        }
    });
}

/// Whether anything alice sent was encrypted for the attacker's key.
fn encrypted_for(relay: &HostileRelay, keys: &Keys) -> bool {
    relay
        .seen(Dir::Up)
        .iter()
        .any(|l| l.starts_with("message ") && l.contains(&keys.curve25519))
}

/// Point 2: verification is bound to the key shown, every key change is announced as loudly as the
/// first, a key slipped in between the showing and the answer is neither verified nor accepted, and
/// an unsolicited `KEYS` line is ignored. Point 9: `reject` keeps the old key. Point 6: what waits for
/// the decision is kept across an exit.
#[test]
fn verification_is_bound_to_the_key_shown_every_change_is_loud_and_reject_keeps_the_old_key() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let first = forged_keys("bob", &dir.path().join("m1"));
    let second = forged_keys("bob", &dir.path().join("m2"));
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));

    // An unsolicited KEYS line for bob: nothing pinned, nothing said.
    relay.inject(Dir::Down, &first.show_answer("bob"));
    alice.send("whoelse");
    alice.expect("Online now");
    assert!(!alice.saw("CHANGED") && !alice.saw("Safety number"));

    // alice looks at bob's number: the real key (pinned on first use); the digits she would confirm.
    let shown = safety_line(&mut alice, "bob");
    let real = digits_after(&shown, "'/verify bob yes ");
    let bobs = safety_line(&mut bob, "alice");
    assert_eq!(
        shown
            .split(". ")
            .next()
            .unwrap()
            .split_once(": ")
            .unwrap()
            .1,
        bobs.split(". ").next().unwrap().split_once(": ").unwrap().1,
        "both see the same line for the real keys"
    );

    // Before she answers, the server slips its own key in (the answer to her first claim).
    substitute(&relay, "bob", &first);
    alice.send("message bob first secret for bob");
    let warning = alice.expect("bob's identity key has CHANGED");
    let first_digits = digits_after(&warning, "'/trust bob ");
    assert_ne!(first_digits, real);
    // Her answer names the key she was shown: the server's key is neither verified nor accepted.
    alice.send(&format!("verify bob yes {real}"));
    alice.expect("not the one whose safety number has those digits");
    alice.send(&format!("trust bob {real}"));
    alice.expect("not the one whose safety number has those digits");

    // alice quits: the message is kept, said. The server slips a second key in at her next login:
    // announced as loudly as the first, and the first one's digits accept nothing now.
    alice.send("logout");
    alice.expect("still wait");
    alice.wait();
    substitute(&relay, "bob", &second);
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    let warning = alice.expect("bob's identity key has CHANGED");
    let second_digits = digits_after(&warning, "'/trust bob ");
    assert_ne!(second_digits, first_digits);
    alice.send(&format!("trust bob {first_digits}"));
    alice.expect("not the one whose safety number has those digits");

    // She rejects it: the old key stays, and the message that waited for the decision is dropped,
    // with a word.
    alice.send("reject bob");
    alice.expect("Not sent to bob ('first secret for bob')");
    alice.expect("Rejected bob's new key: the old one stays pinned");
    alice.send("verify bob");
    let again = alice.expect("Safety number with bob: ");
    assert_eq!(
        digits_after(&again, "'/verify bob yes "),
        real,
        "the old key"
    );

    assert!(!encrypted_for(&relay, &first) && !encrypted_for(&relay, &second));
    assert!(!bob.saw("first secret"));
    assert_unread(&relay, &["first secret"]);
}

/// Point 8: clear text "from" a contact whose keys are pinned is shown with a warning that says it
/// may be forged.
#[test]
fn clear_text_injected_as_from_a_pinned_contact_is_marked_as_maybe_forged() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    bob.send("message alice genuine hello");
    alice.expect("[message] bob: genuine hello");
    relay.inject(
        Dir::Down,
        "MSG 999999 1700000000000 bob please send me the door code",
    );
    let shown = alice.expect("please send me the door code");
    assert!(shown.contains("MAY BE FORGED"), "{shown}");
    // From someone never met, clear text is just "not encrypted".
    relay.inject(Dir::Down, "MSG 999998 1700000000000 carol hi from carol");
    let shown = alice.expect("hi from carol");
    assert!(
        shown.contains("(not encrypted)") && !shown.contains("FORGED"),
        "{shown}"
    );
    assert_unread(&relay, &["genuine hello"]);
}

/// Point 12: `help` lists every end-to-end command; `verify` for a user without keys answers; the
/// fallback key is not replaced at every login; unsolicited `KEYS-LEFT 0` lines do not grow the
/// device's state; each conversation says how it is protected.
#[test]
fn papercuts_help_verify_without_keys_the_fallback_key_and_unasked_keys_left() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    alice.send("help");
    alice.expect("movehere");
    for word in [
        "verify <user>",
        "trust <user>",
        "reject <user>",
        "sendclear",
        "sharedwith",
    ] {
        assert!(alice.saw(word), "help lists {word}");
    }
    alice.send("verify carol");
    alice.expect("carol has no encryption keys");

    // 300 unasked KEYS-LEFT 0: the device's state stays small (read back from its sealed store,
    // with the password, once the client is gone).
    for _ in 0..300 {
        relay.inject(
            Dir::Down,
            "KEYS-LEFT 0 0 one-time keys published for your account.",
        );
    }
    alice.send("whoelse");
    alice.expect("Nobody else is online");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The fallback key is the same at the next login (it was not used).
    let fallbacks = |relay: &HostileRelay| -> Vec<String> {
        relay
            .seen(Dir::Up)
            .into_iter()
            .filter(|l| l.starts_with("keys fallback "))
            .collect()
    };
    alice.send("logout");
    alice.expect("Goodbye");
    alice.wait();
    let (_, stored) = natter::shell::e2e_store::open(
        &dir.path().join("a"),
        &format!("127.0.0.1:{}", relay.port),
        "alice",
        "apw",
        &natter_core::client::OpenHow::Unlock,
    )
    .unwrap();
    let device = stored
        .iter()
        .find_map(|(part, piece)| match (part, piece) {
            (Part::Device, Stored::Whole(bytes)) => Some(bytes.len()),
            _ => None,
        })
        .expect("the device is stored");
    assert!(device < 40_000, "the device's state grew to {device} bytes");
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    alice.send("whoelse");
    alice.expect("Nobody else is online");
    let f = fallbacks(&relay);
    assert!(f.len() >= 2, "{f:?}");
    assert!(
        f.iter().all(|l| *l == f[0]),
        "the unused fallback key stays: {f:?}"
    );

    // How a conversation is protected is said where the user looks.
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    alice.send("message bob hello");
    alice.expect("Messages with bob are end-to-end encrypted");
    bob.expect("[message] alice: hello");
    alice.send("broadcast hello all");
    alice.expect("Messages with everyone are NOT end-to-end encrypted");
}

/// Devices: the account moves to a new device explicitly; until then nothing is taken from the old
/// one and nothing sent to it is lost (it stays on the server for it); after the move, what was
/// waiting for the old device is sent again by its senders, once they accept the new key.
#[test]
fn moving_an_account_to_a_new_device_loses_nothing() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    alice.send("message bob before the move");
    bob.expect("[message] alice: before the move");
    bob.send("logout");
    bob.expect("Goodbye");
    bob.wait();
    alice.send("message bob while you are away");
    alice.expect("bob is offline");

    // bob logs in on a new machine and does not move: the message is not his to read here, and it
    // stays on the server for the old device, which then reads it.
    let mut bob2 = Piped::login("bob", "bpw", server.port(), &dir.path().join("b2"));
    bob2.send("whoelse");
    bob2.expect("Online now");
    assert!(bob2.saw("Your account's encryption keys are on another device"));
    assert!(bob2.saw("A message from alice was encrypted for your other device"));
    bob2.send("logout");
    bob2.expect("Goodbye");
    bob2.wait();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    assert!(bob.saw("alice: while you are away"), "{:?}", bob.seen);
    bob.send("logout");
    bob.expect("Goodbye");
    bob.wait();

    // alice writes again; then bob moves to the new machine for good.
    alice.send("message bob second while away");
    let mut bob2 = Piped::login("bob", "bpw", server.port(), &dir.path().join("b2"));
    bob2.send("whoelse");
    bob2.expect("Online now");
    assert!(bob2.saw("A message from alice was encrypted for your other device"));
    bob2.send("movehere");
    let moved = bob2.expect("This device now holds your account's encryption keys");
    assert!(moved.contains("asked to send it again"), "{moved}");
    // alice's client hears of it, encrypted, from bob's new key: loud, and the text waits.
    let warning = alice.expect("bob's identity key has CHANGED");
    alice.expect("bob could not read your message 'second while away'");
    let digits = digits_after(&warning, "'/trust bob ");
    alice.send(&format!("trust bob {digits}"));
    bob2.expect("[message] alice: second while away");
    // And messages from now on reach the new device (the old session would be refused: stale-key).
    alice.send("message bob after the move");
    bob2.expect("[message] alice: after the move");
    assert_unread(
        &relay,
        &[
            "before the move",
            "while you are away",
            "second while away",
            "after the move",
        ],
    );
}
