//! One device per account, and moving the account to another: nothing is taken from the old device
//! unasked, and nothing sent to it is lost.

use super::*;

#[test]
fn a_device_that_finds_the_account_elsewhere_publishes_sends_and_acknowledges_nothing_until_moved()
{
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    assert!(
        net.devices[&n("bob")].acknowledged,
        "the first device holds the account"
    );
    let old = net.e2e("bob").identity().clone();
    // bob logs in on a second machine.
    net.devices.remove("bob");
    net.join("bob");
    let notes = net.notes("bob");
    assert!(matches!(&notes[..], [Note::Elsewhere { .. }]), "{notes:?}");
    assert!(!net.devices[&n("bob")].acknowledged);
    assert_eq!(
        net.directory[&n("bob")].identity.as_ref(),
        Some(&old),
        "nothing published over the other device's keys"
    );
    // What bob writes meanwhile waits (kept), rather than going out under a key nobody knows.
    net.send("bob", "alice", "from the new machine").unwrap();
    assert!(matches!(
        &net.notes("bob")[..],
        [Note::Waiting {
            why: Wait::NotHere,
            ..
        }]
    ));
    assert!(!net.wire.iter().any(|l| l.starts_with("message alice")));
    // bob moves the account here: published, and what waited goes.
    net.decide("bob", |e, out| e.move_here(out)).unwrap();
    assert_ne!(net.directory[&n("bob")].identity.as_ref(), Some(&old));
    assert!(net.devices[&n("bob")].acknowledged);
    assert_eq!(
        texts(&net.read("alice")),
        vec![(
            "bob",
            Received::Text {
                text: "from the new machine".into(),
                verified: false,
                key_changed: false
            }
        )],
        "alice never met bob before: pinned on first use"
    );
}

#[test]
fn a_message_to_a_device_the_recipient_no_longer_has_is_refused_and_sent_again_once_accepted() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    net.read("bob");
    net.new_device("bob");
    // alice's session is with bob's old device: the server refuses the ciphertext (stale-key); her
    // client claims bob's keys, finds the change, and holds the message for her decision.
    net.send("alice", "bob", "are you there?").unwrap();
    let notes = net.notes("alice");
    assert!(
        matches!(&notes[..], [Note::KeyChanged { user, waiting: 1, .. }] if **user == *"bob"),
        "{notes:?}"
    );
    assert!(
        net.mail.get("bob").is_none_or(|m| m.is_empty()),
        "nothing unreadable stored"
    );
    assert_eq!(net.e2e("alice").outbox().texts_for("bob"), 1);
    let digits = net.digits("alice", "bob");
    net.decide("alice", |e, out| e.accept(&n("bob"), &digits, out))
        .unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("are you there?"))]
    );
}

#[test]
fn messages_stored_for_the_old_device_are_sent_again_by_their_senders_after_a_move() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    net.read("bob");
    // bob is offline; alice writes to his old device; the server stores it.
    net.send("alice", "bob", "while you were away").unwrap();
    let stored: Vec<Mail> = net.mail.remove("bob").unwrap().into();
    // bob logs in on a new machine: the stored message is for the other device. Before the move it
    // stays on the server (not acknowledged); after it, alice is asked to send it again.
    net.devices.remove("bob");
    net.join("bob");
    assert!(matches!(
        &texts(&net.read_mail("bob", stored.clone()))[..],
        [(_, Received::OtherDevice)]
    ));
    assert!(matches!(
        &net.notes("bob")[..],
        [
            Note::Elsewhere { .. },
            Note::ForOtherDevice { held: true, .. }
        ]
    ));
    net.decide("bob", |e, out| e.move_here(out)).unwrap();
    assert!(matches!(
        &net.notes("bob")[..],
        [Note::Moved { bounced: 1 }]
    ));
    // alice gets bob's notice, from bob's new key: the change is announced, the text waits.
    assert!(
        net.read("alice").is_empty(),
        "the notice is not shown as a message"
    );
    let notes = net.notes("alice");
    assert!(
        notes.iter().any(|n| matches!(n, Note::KeyChanged { .. })),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| matches!(
        n,
        Note::Unreadable { text: Some(t), at_once: false, .. } if t == "while you were away"
    )));
    let digits = net.digits("alice", "bob");
    net.decide("alice", |e, out| e.accept(&n("bob"), &digits, out))
        .unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("while you were away"))]
    );
}

#[test]
fn after_a_move_a_stored_message_for_the_old_device_is_bounced_at_once() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    net.read("bob");
    net.send("alice", "bob", "queued for the old one").unwrap();
    let stored: Vec<Mail> = net.mail.remove("bob").unwrap().into();
    net.new_device("bob");
    // Already moved: the message for the old device is bounced as it is read.
    assert!(matches!(
        &texts(&net.read_mail("bob", stored))[..],
        [(_, Received::OtherDevice)]
    ));
    assert!(matches!(
        &net.notes("bob")[..],
        [Note::ForOtherDevice { held: false, .. }]
    ));
    net.read("alice");
    let digits = net.digits("alice", "bob");
    net.decide("alice", |e, out| e.accept(&n("bob"), &digits, out))
        .unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("queued for the old one"))]
    );
}

#[test]
fn a_message_for_a_gone_device_read_before_the_server_says_whose_keys_these_are_is_bounced_after() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.send("alice", "bob", "hi").unwrap();
    net.read("bob");
    net.send("alice", "bob", "stored for the old one").unwrap();
    let stored: Vec<Mail> = net.mail.remove("bob").unwrap().into();
    net.new_device("bob");
    // bob's client starts again; the stored message comes before the answer to 'keys show bob'.
    let dev = net.devices.get_mut("bob").unwrap();
    let files = dev.stored();
    let mut out = Vec::new();
    dev.e2e = E2e::open(dev.engine.clone(), n("bob"), &files, &mut out).unwrap();
    let mut login = Vec::new();
    dev.e2e.on_login(&mut login);
    assert_eq!(*dev.e2e.home(), Home::Asking);
    let (id, from, _, cipher) = stored[0].clone();
    assert_eq!(
        dev.e2e.receive_direct(id, &from, &cipher, &mut out),
        Received::OtherDevice
    );
    assert!(
        out.is_empty(),
        "nothing said or done before the answer: {out:?}"
    );
    net.carry("bob", login);
    assert!(matches!(
        &net.notes("bob")[..],
        [Note::ForOtherDevice { held: false, .. }]
    ));
    net.read("alice");
    let digits = net.digits("alice", "bob");
    net.decide("alice", |e, out| e.accept(&n("bob"), &digits, out))
        .unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("stored for the old one"))]
    );
}
