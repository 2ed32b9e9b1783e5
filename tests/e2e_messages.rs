//! End-to-end encrypted messages between real natter clients through the real server: direct, offline
//! and group messages reach every recipient, while no message text appears on the wire (a recording
//! relay between one client and the server) nor in the server's database files (including its WAL).
//! A key change is refused until trusted, and both sides see one safety number.

#[path = "kit/mod.rs"]
mod kit;

use kit::{Piped, Relay, Server};

const PEOPLE: &[(&str, &str)] = &[("alice", "apw"), ("bob", "bpw"), ("carol", "cpw")];

/// Every byte of every file under `dir`.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.extend(b);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn direct_offline_and_group_messages_reach_natter_clients_and_nobody_else_reads_them() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "600"]).start();
    let relay = Relay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    // alice talks to the server through the recording relay.
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    // carol logs in once (her client publishes her keys), then leaves.
    let mut carol = Piped::login("carol", "cpw", server.port(), &dir.path().join("c"));
    carol.send("logout");
    carol.expect("Goodbye");
    carol.wait();

    alice.send("message bob first secret of the day");
    bob.expect("[message] alice: first secret of the day");
    bob.send("message alice second secret reply");
    alice.expect("[message] bob: second secret reply");
    alice.send("message carol third secret for later");
    alice.expect("carol is offline");
    alice.send("create group team bob carol");
    alice.expect("- created group team");
    bob.expect("alice invites you to group team");
    bob.send("group join team");
    alice.expect("* [team] bob joined");
    // carol is offline: added directly, once alice allows it.
    alice.send("group set team add direct");
    alice.send("group add team carol");
    alice.expect("* [team] alice added carol");
    alice.send("message group team fourth secret for the team");
    bob.expect("[team] alice: fourth secret for the team");

    // Both see the same safety number; bob marks alice verified, and her messages show it.
    alice.send("verify bob");
    let a = alice.expect("Safety number with bob: ");
    bob.send("verify alice");
    let b = bob.expect("Safety number with alice: ");
    let number = |l: &str| l.split_once(": ").unwrap().1[..85].to_owned();
    assert_eq!(number(&a), number(&b));
    let digits = b.split("'/verify alice yes ").nth(1).unwrap()[..5].to_owned();
    bob.send(&format!("verify alice yes {digits}"));
    bob.expect("alice is verified");
    alice.send("message bob fifth secret verified");
    bob.expect("[message] alice: ✓ fifth secret verified");

    // carol comes back: the offline and the group message are hers to read.
    let mut carol = Piped::login("carol", "cpw", server.port(), &dir.path().join("c"));
    assert!(
        carol.saw("alice: third secret for later"),
        "{:?}",
        carol.seen
    );
    assert!(carol.saw("] alice: fourth secret for the team"));
    // `offline` shows them again, from carol's own store (the server has only ciphertext).
    carol.send("offline");
    carol.expect("] alice: third secret for later");

    let secrets = [
        "first secret",
        "second secret",
        "third secret",
        "fourth secret",
        "fifth secret",
    ];
    let wire = relay.recorded_bytes();
    assert!(
        contains(&wire, "message bob e2e1:"),
        "the relay recorded alice's lines"
    );
    let stored = all_bytes(server.dir());
    for s in secrets {
        assert!(!contains(&wire, s), "{s} crossed the relay in clear");
        assert!(
            !contains(&stored, s),
            "{s} is in the server's files in clear"
        );
    }
    for c in [&mut alice, &mut bob, &mut carol] {
        c.send("logout");
        c.expect("Goodbye");
    }
}

/// As found by hand: bob joins alice's invite-only group by invitation and writes to it at once. His
/// client learns the members at the join (the join's line names none), so the message goes at once,
/// encrypted for alice, and reaches her once.
#[test]
fn a_group_joined_by_invitation_gets_the_first_message_at_once_and_once() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "600"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "apw", server.port(), &dir.path().join("a"));
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    alice.send("/join #crew");
    alice.expect("- created group crew");
    alice.send("/topic #crew planning the trip");
    alice.expect("topic (set by alice)");
    alice.send("message bob hi bob");
    bob.expect("[message] alice: hi bob");
    alice.send("group add crew bob");
    bob.expect("alice invites you to group crew");
    bob.send("/join #crew");
    bob.expect("* [crew] bob joined");
    bob.expect("Members of crew, as the server says");
    bob.send("message #crew hello crew, I'm here");
    bob.expect("sent to crew: 1 now");
    alice.expect("[crew] bob: hello crew, I'm here");
    // Anything later arrives after it: had it been sent twice, the copy would be before this.
    bob.send("message #crew and that is all");
    alice.expect("[crew] bob: and that is all");
    for c in [&mut alice, &mut bob] {
        c.send("logout");
        c.expect("Goodbye");
        c.wait();
    }
    let count = |c: &Piped, needle: &str| c.seen.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count(&alice, "bob: hello crew, I'm here"),
        1,
        "{:#?}",
        alice.seen
    );
    assert_eq!(count(&bob, "sent to crew"), 2, "{:#?}", bob.seen);
    assert!(
        !bob.seen
            .iter()
            .any(|l| l.contains("wait") && l.contains("member list")),
        "nothing waited: {:#?}",
        bob.seen
    );
}

#[test]
fn a_changed_key_is_refused_until_trusted() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "600"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "apw", server.port(), &dir.path().join("a"));
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    alice.send("message bob hello");
    bob.expect("[message] alice: hello");
    bob.send("logout");
    bob.expect("Goodbye");
    bob.wait();
    // bob on another machine: new keys, once he moves the account there.
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b2"));
    assert!(bob.saw("Your account's encryption keys are on another device"));
    bob.send("movehere");
    bob.expect("This device now holds your account's encryption keys");
    bob.send("message alice new machine");
    let warning = alice.expect("warning: bob's identity key has CHANGED");
    alice.expect("[message] bob: (KEY CHANGED, not trusted) new machine");
    alice.send("message bob are you sure");
    alice.expect("Not sent to bob ('are you sure')");
    let digits = warning.split("'/trust bob ").nth(1).unwrap()[..5].to_owned();
    alice.send(&format!("trust bob {digits}"));
    alice.expect("Accepted bob's new identity key");
    alice.send("message bob welcome back");
    bob.expect("[message] alice: welcome back");
    assert!(!bob.saw("are you sure"));
}

#[test]
fn in_cluster_mode_redis_holds_only_ciphertext() {
    let Some(redis) = kit::Redis::start() else {
        return;
    };
    let node = || {
        Server::cmd()
            .accounts(PEOPLE)
            .args(&["60", "600", "--cluster", &redis.url()])
            .start()
    };
    let (a, b) = (node(), node());
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "apw", a.port(), &dir.path().join("a"));
    let mut bob = Piped::login("bob", "bpw", b.port(), &dir.path().join("b"));
    alice.expect_any(&["bob logged in", "Online now: bob"]);
    alice.send("message bob sixth secret across nodes");
    bob.expect("[message] alice: sixth secret across nodes");
    bob.send("message alice seventh secret back");
    alice.expect("[message] bob: seventh secret back");
    for c in [&mut alice, &mut bob] {
        c.send("logout");
        c.expect("Goodbye");
    }
    let held = all_bytes(redis.dir());
    assert!(
        contains(&held, "e2e1:"),
        "the check reads where the log is kept"
    );
    for s in ["sixth secret", "seventh secret"] {
        assert!(!contains(&held, s), "{s} is in Redis in clear");
    }
}
