//! Delivery against a server that is the adversary, with the real binaries: alice's client talks to
//! the real server through a relay that drops, rewrites, holds back or injects lines as whoever runs
//! the server could. In every test nothing alice wrote crosses the relay readable, and nothing she
//! wrote is lost without her being told.

#[path = "kit/mod.rs"]
mod kit;

use kit::{Dir, Fate, HostileRelay, Piped, Server, assert_unread};

const PEOPLE: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
    ("eve", "epw"),
];

fn server() -> Server {
    Server::cmd().accounts(PEOPLE).args(&["60", "600"]).start()
}

/// Point 0: a claim answered `blocked-by` does not leave alice's client waiting; after `unblock`
/// messages go; in a group, the member who blocked alice is skipped, named, and every other member
/// gets the message.
#[test]
fn blocking_refuses_what_waited_unblocking_lets_messages_go_and_a_group_skips_only_the_blocker() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let mut carol = Piped::login("carol", "cpw", server.port(), &dir.path().join("c"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    // The group first: nobody may be put in a group by someone they block.
    alice.send("create group team bob carol");
    alice.expect("created group team");
    for who in [&mut bob, &mut carol] {
        who.expect("alice invites you to group team");
        who.send("group join team");
    }
    alice.expect("[team] carol joined");
    bob.send("block alice");
    bob.expect("blocked alice");
    alice.send("message bob first try");
    alice.expect("Not sent to bob ('first try'): bob has blocked you");
    bob.send("unblock alice");
    bob.expect("unblocked alice");
    alice.send("message bob second try");
    bob.expect("[message] alice: second try");

    carol.send("block alice");
    carol.expect("blocked alice");
    alice.send("message group team hello team");
    let left_out = alice.expect("Left out of your messages to team");
    assert!(left_out.contains("carol (has blocked you)"), "{left_out}");
    bob.expect("[team] alice: hello team");
    alice.send("message group team again");
    bob.expect("[team] alice: again");
    assert!(!carol.saw("hello team"));
    assert_unread(&relay, &["first try", "second try", "hello team"]);
}

/// Point 3: the server saying a user has no keys does not make alice's client send in clear: the
/// message waits and she is asked; for a user whose keys were pinned, never; in a group, a member
/// without keys is left out and named, and the others get it encrypted.
#[test]
fn no_keys_from_the_server_never_makes_the_client_send_in_clear_unasked() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    // The relay answers every claim of bob's keys "no keys".
    relay.on(Dir::Down, |line| {
        if line.starts_with("KEYS bob ") {
            Fate::Rewrite(vec!["NOKEYS bob none".into()])
        } else {
            Fate::Pass
        }
    });
    alice.send("message bob never in clear");
    alice.expect("The server says bob has never published encryption keys");
    assert!(alice.saw("'/sendclear bob'"));
    // The server stops lying: bob's next login makes alice's client ask again, and it goes.
    relay.honest(Dir::Down);
    bob.send("logout");
    bob.expect("Goodbye");
    bob.wait();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    // (Stored for him, or sent as he comes online.)
    bob.saw_or_expect("[message] alice: never in clear");

    // bob is pinned now: the server's "no keys" is not believed, and sendclear is refused.
    alice.send("sendclear bob");
    alice.expect("bob's keys were pinned: nothing goes to bob unencrypted");

    // A group with a member who never had keys (dave never logged in): left out, named; bob gets it
    // encrypted; dave's copy is nothing he could read in clear.
    alice.send("create group team");
    alice.expect("created group team");
    alice.send("group set team add direct");
    alice.send("group add team bob");
    alice.send("group add team dave");
    alice.expect("alice added dave");
    alice.send("message group team secret plans");
    alice.expect("dave (no encryption keys)");
    bob.expect("[team] alice: secret plans");
    let stored = std::fs::read(server.dir().join("natter.db")).unwrap_or_default();
    assert!(!stored.windows(12).any(|w| w == b"secret plans"));
    assert_unread(&relay, &["never in clear", "secret plans"]);
}

/// Point 4: a member the server adds quietly (in the answer to a request the client made itself) is
/// shown before the group's key goes to them, and the list the key went to can be listed.
#[test]
fn a_member_added_quietly_by_the_server_is_shown_before_the_key_goes_to_them() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let eve = Piped::login("eve", "epw", server.port(), &dir.path().join("e"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    // bob makes a group with alice; alice's client learns its members as she joins (by invitation:
    // the join does not list them), by asking quietly; the relay adds eve (a real account, with a
    // real client) to the answer. The relay is told before the join: the question leaves as the
    // join is shown, and its answer may come back before a test thread that waited for the join
    // (on a loaded machine) could tell the relay anything.
    bob.send("create group crew alice");
    bob.expect("created group crew");
    alice.expect("bob invites you to group crew");
    relay.on(Dir::Down, |line| {
        match line.strip_prefix("GROUP-MEMBERS crew 2 alice bob") {
            Some(rest) => Fate::Rewrite(vec![format!("GROUP-MEMBERS crew 3 alice bob eve{rest}")]),
            None => Fate::Pass,
        }
    });
    alice.send("group join crew");
    alice.expect("[crew] alice joined");
    alice.send("message group crew hello crew");
    let note = alice.expect("Members of crew, as the server says");
    assert!(note.contains("bob, eve"), "{note}");
    // The key share to eve is "on its way" until the server has answered for it; asked again
    // (boundedly) until it has, so the listing below is of what went, not of a race with the answer.
    let mut shared = String::new();
    for _ in 0..50 {
        alice.send("sharedwith crew");
        shared = alice.expect("Your current key for crew went to");
        if !shared.contains("on its way") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(shared.contains("bob, eve"), "{shared}");
    bob.expect("[crew] alice: hello crew");
    drop(eve);
    assert_unread(&relay, &["hello crew"]);
}

/// Point 6: nothing lost without a word. A claim the server never answers leaves the message
/// waiting, said, kept across an exit, and sent at the next login; a message the server holds back
/// past later ones is shown (marked) when it comes; a message for a device the recipient no longer
/// has is refused by the server and sent again, encrypted for the new one, once accepted.
#[test]
fn nothing_is_lost_without_a_word() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "bpw", server.port(), &dir.path().join("b"));
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    // The server never answers the claim of bob's keys.
    relay.on(Dir::Down, |line| {
        if line.starts_with("KEYS bob ") {
            Fate::Drop
        } else {
            Fate::Pass
        }
    });
    alice.send("message bob are you getting these");
    alice.expect("The server has not answered for bob's encryption keys");
    alice.send("logout");
    alice.expect("1 message still waits");
    alice.wait();
    relay.honest(Dir::Down);
    let mut alice = Piped::login("alice", "apw", relay.port, &dir.path().join("a"));
    bob.expect("[message] alice: are you getting these");
    // bob's client confirms the session alice's pre-key message made (one encrypted line, shown
    // to nobody), so that her next messages are normal ones; it is let through before the hold
    // below, which is for bob's first message of his own.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !relay
        .seen(Dir::Down)
        .iter()
        .any(|l| l.starts_with("MSG ") && l.split(' ').nth(3) == Some("bob"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "bob's client never confirmed the session"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // The server holds one of bob's messages back past the next two: shown, marked, when it comes.
    let mut holding = true;
    relay.on(Dir::Down, move |line| {
        if holding && line.starts_with("MSG ") {
            holding = false;
            Fate::Hold
        } else {
            Fate::Pass
        }
    });
    bob.send("message alice held back");
    bob.send("message alice after one");
    bob.send("message alice after two");
    alice.expect("after two");
    relay.release(Dir::Down);
    let late = alice.expect("held back");
    assert!(late.contains("delayed"), "{late}");

    // bob moves to a new device; alice's next message (on her session with the old one) is refused
    // by the server as stale, held, and sent again for the new device once she accepts its key.
    relay.honest(Dir::Down);
    bob.send("logout");
    bob.expect("Goodbye");
    bob.wait();
    let mut bob2 = Piped::login("bob", "bpw", server.port(), &dir.path().join("b2"));
    bob2.send("movehere");
    bob2.expect("This device now holds");
    // (A command answered after the move: the server has the new keys before alice writes.)
    bob2.send("whoelse");
    bob2.expect("Online now");
    alice.send("message bob to whichever device");
    let warning = alice.expect("bob's identity key has CHANGED");
    assert!(warning.contains("1 message to bob waits"), "{warning}");
    let digits = kit::digits_after(&warning, "'/trust bob ");
    alice.send(&format!("trust bob {digits}"));
    bob2.expect("[message] alice: to whichever device");
    assert_unread(
        &relay,
        &["are you getting these", "held back", "to whichever device"],
    );
}
