//! Safety numbers, checked by an implementation of their own: written from docs/PROTOCOL.md ("Safety
//! numbers") with other libraries than the client's (ring's SHA-512, the `base64` crate), it must give
//! the document's test vectors, natter's own numbers, and the numbers two real natter clients show;
//! and with the real binaries, a server handing out a key of its own (made by a real natter client)
//! shows as a part that does not match.

#[path = "kit/mod.rs"]
mod kit;

use base64::Engine as _;
use ring::digest::{Context, SHA512};

use kit::{Client, Dir, Fate, HostileRelay, Piped, Server, forged_keys};

/// One party's part, as the document says: SHA-512 over version (two zero bytes), key, name, key;
/// then 5,199 times over the hash and the key; then six five-byte big-endian numbers modulo 100,000.
fn part(ed25519: &[u8], name: &str) -> String {
    let mut ctx = Context::new(&SHA512);
    ctx.update(&[0, 0]);
    ctx.update(ed25519);
    ctx.update(name.as_bytes());
    ctx.update(ed25519);
    let mut hash = ctx.finish();
    for _ in 1..5200 {
        let mut ctx = Context::new(&SHA512);
        ctx.update(hash.as_ref());
        ctx.update(ed25519);
        hash = ctx.finish();
    }
    hash.as_ref()[..30]
        .chunks(5)
        .map(|c| {
            let n = c.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
            format!("{:05}", n % 100_000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn key_bytes(b64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64)
        .expect("a key in unpadded standard base64")
}

/// The test vectors of docs/PROTOCOL.md: `key name digits` in the block that follows "Test vectors".
fn vectors() -> Vec<(String, String, String)> {
    let doc = include_str!("../docs/PROTOCOL.md");
    let start = doc
        .find("Safety-number test vectors")
        .expect("the vectors are documented");
    let block = doc[start..].split("```").nth(1).expect("a code block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut w = l.split_whitespace();
            let key = w.next().unwrap().to_owned();
            let name = w.next().unwrap().to_owned();
            let digits = w.collect::<Vec<_>>().join(" ");
            (key, name, digits)
        })
        .collect()
}

#[test]
fn the_documented_vectors_are_reproduced_by_an_independent_implementation_and_by_natter() {
    let vectors = vectors();
    assert!(vectors.len() >= 2, "{vectors:?}");
    for (key, name, digits) in vectors {
        assert_eq!(part(&key_bytes(&key), &name), digits, "independent, {name}");
        assert_eq!(
            natter_core::client::e2e::safety::fingerprint(&key, &name),
            digits,
            "natter, {name}"
        );
    }
}

const PEOPLE: &[(&str, &str)] = &[("alice", "apw"), ("bob", "bpw"), ("carol", "cpw")];

/// The number a client shows for `with`: its line, from "Safety number with <with>: ".
fn shown_number(c: &mut Piped, with: &str) -> String {
    let line = kit::safety_line(c, with);
    line.split_once(&format!("Safety number with {with}: "))
        .unwrap()
        .1
        .split(". ")
        .next()
        .unwrap()
        .to_owned()
}

/// The part labelled `name` in a shown number (`alice: 12345 ... | bob: 67890 ...`).
fn labelled(number: &str, name: &str) -> String {
    number
        .split(" | ")
        .find_map(|p| p.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no part for {name} in {number}"))
        .to_owned()
}

#[test]
fn real_clients_show_each_party_s_own_part_and_a_substituted_key_does_not_match() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "600"]).start();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    // The real identity keys, from the directory (asked again until the client, which publishes
    // once the server said the account is its own, has).
    let mut look = Client::log_in(server.addr, "carol", "cpw").unwrap();
    let ed = |look: &mut Client, user: &str| loop {
        use natter_core::protocol::ServerMsg;
        look.say(&format!("keys show {user}"));
        match look.expect("KEYS or NOKEYS", |m| {
            matches!(m, ServerMsg::Keys { .. } | ServerMsg::NoKeys { .. })
        }) {
            ServerMsg::Keys { ed25519, .. } => return ed25519,
            _ => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    let (alice_ed, bob_ed) = (ed(&mut look, "alice"), ed(&mut look, "bob"));
    let a = shown_number(&mut alice, "bob");
    let b = shown_number(&mut bob, "alice");
    assert_eq!(a, b, "both screens show the same line");
    assert_eq!(labelled(&a, "alice"), part(&key_bytes(&alice_ed), "alice"));
    assert_eq!(labelled(&a, "bob"), part(&key_bytes(&bob_ed), "bob"));

    // A fresh alice (another state directory) asks again; the relay hands out keys of its own for
    // bob, made by a real natter client: bob's part on alice's screen is not the one bob reads out.
    let forged = forged_keys("bob", &dir.path().join("mallory"));
    alice.send("logout");
    alice.expect("Goodbye");
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a2"));
    alice.send("movehere");
    alice.expect("This device now holds");
    let answer = forged.show_answer("bob");
    relay.on(Dir::Down, move |line| {
        if line.starts_with("KEYS bob ") {
            Fate::Rewrite(vec![answer.clone()])
        } else {
            Fate::Pass
        }
    });
    let a = shown_number(&mut alice, "bob");
    assert_ne!(
        labelled(&a, "bob"),
        part(&key_bytes(&bob_ed), "bob"),
        "the substitution shows"
    );
    assert_eq!(
        labelled(&a, "bob"),
        part(&key_bytes(&forged.ed25519), "bob"),
        "it is the forged key's own number"
    );
}
