//! Group messages: who gets the group's key (only members shown, never anyone in clear), and every
//! change of the members shown.

use super::*;

fn group_lines<'a>(net: &'a Net, group: &str) -> Vec<&'a String> {
    let head = format!("message group {group} ");
    net.wire.iter().filter(|l| l.starts_with(&head)).collect()
}

#[test]
fn group_messages_reach_members_and_rotation_locks_out_who_left_and_who_came_later() {
    let mut net = Net::new();
    for u in ["alice", "bob", "carol", "dave"] {
        net.join(u);
    }
    net.group("devs", &["alice", "bob", "carol"]);
    net.send_group("alice", "devs", "standup at ten").unwrap();
    assert_eq!(
        group_lines(&net, "devs").len(),
        1,
        "encrypted once for the group"
    );
    for u in ["bob", "carol"] {
        assert_eq!(texts(&net.read(u)), vec![("alice", text("standup at ten"))]);
    }
    // A second message uses the same session: no new key.
    let shares_before = net.wire.len();
    net.send_group("alice", "devs", "bring coffee").unwrap();
    assert_eq!(net.wire.len(), shares_before + 1, "one line, no key share");
    // Keep carol's copy of the next message to try it later.
    net.leave("devs", "carol");
    net.send_group("alice", "devs", "after carol left").unwrap();
    let last = group_lines(&net, "devs").last().unwrap().to_string();
    let body = last.strip_prefix("message group devs ").unwrap().to_owned();
    assert_eq!(
        texts(&net.read("bob")),
        vec![
            ("alice", text("bring coffee")),
            ("alice", text("after carol left"))
        ]
    );
    let carol = net.read("carol");
    assert_eq!(texts(&carol), vec![("alice", text("bring coffee"))]);
    let tried = net.read_mail("carol", vec![(999, n("alice"), Some(n("devs")), body)]);
    assert!(
        matches!(&tried[0].1, Received::Failed(why) if why.contains("no key")),
        "a removed member cannot read what follows: {tried:?}"
    );

    // dave joins: he reads what is sent now, but not what was sent before.
    let before = group_lines(&net, "devs")
        .last()
        .unwrap()
        .strip_prefix("message group devs ")
        .unwrap()
        .to_owned();
    net.add("devs", "dave");
    net.send_group("alice", "devs", "hi dave").unwrap();
    assert_eq!(texts(&net.read("dave")), vec![("alice", text("hi dave"))]);
    let old = net.read_mail("dave", vec![(998, n("alice"), Some(n("devs")), before)]);
    assert!(
        matches!(&old[0].1, Received::Failed(_)),
        "a new member cannot read what came before: {old:?}"
    );
    // bob writes too: his own session, shared with each member.
    net.send_group("bob", "devs", "from bob").unwrap();
    for u in ["alice", "dave"] {
        assert_eq!(texts(&net.read(u)), vec![("bob", text("from bob"))]);
    }
}

#[test]
fn a_group_message_replayed_under_a_new_id_is_refused() {
    let mut net = Net::new();
    for u in ["alice", "bob"] {
        net.join(u);
    }
    net.group("g", &["alice", "bob"]);
    net.send_group("alice", "g", "pay 10").unwrap();
    let mail: Vec<Mail> = net.mail[&n("bob")].iter().cloned().collect();
    assert_eq!(texts(&net.read("bob")), vec![("alice", text("pay 10"))]);
    let (_, from, group, text) = mail.last().unwrap().clone();
    let replay = net.read_mail("bob", vec![(12345, from, group, text)]);
    assert!(matches!(&replay[0].1, Received::Failed(why) if why.contains("replay")));
}

#[test]
fn a_member_without_keys_is_left_out_and_named_and_nothing_goes_in_clear() {
    let mut net = Net::new();
    for u in ["alice", "bob"] {
        net.join(u);
    }
    net.group("g", &["alice", "bob", "ghost"]);
    net.held_claims = Some(Vec::new());
    net.send_group("alice", "g", "one").unwrap();
    net.send_group("alice", "g", "two").unwrap();
    assert!(
        group_lines(&net, "g").is_empty(),
        "held until the members have the key"
    );
    net.release_claims();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::LeftOut { users, .. }] if users == &vec![(n("ghost"), LeftOut::NoKeys)]
    ));
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("one")), ("alice", text("two"))],
        "in order, encrypted: the keyless member does not make anyone's copy clear"
    );
    for line in &net.wire {
        assert!(!line.ends_with(" one") && !line.ends_with(" two"), "{line}");
    }
    // Still keyless: the next one goes at once, and ghost is not named again for this key.
    net.send_group("alice", "g", "three").unwrap();
    assert!(net.notes("alice").is_empty());
    assert_eq!(texts(&net.read("bob")), vec![("alice", text("three"))]);
    // ghost logs in for the first time and publishes keys: from then on, ghost gets the key too.
    net.join("ghost");
    net.decide("alice", |e, out| e.on_online(&n("ghost"), out));
    net.send_group("alice", "g", "now for ghost too").unwrap();
    let ghost = net.read("ghost");
    assert_eq!(
        ghost.last().map(|(f, r)| (&**f, r.clone())),
        Some(("alice", text("now for ghost too")))
    );
    let Note::SharedWith { with, left_out, .. } = net.e2e("alice").shared_with(&n("g")) else {
        panic!()
    };
    assert_eq!(with, vec![n("bob"), n("ghost")]);
    assert!(left_out.is_empty());
}

#[test]
fn a_member_who_blocked_the_sender_is_skipped_and_every_other_member_gets_the_message() {
    let mut net = Net::new();
    for u in ["alice", "bob", "carol"] {
        net.join(u);
    }
    net.group("g", &["alice", "bob", "carol"]);
    net.blocks.insert((n("carol"), n("alice")));
    net.send_group("alice", "g", "for everyone who will have it")
        .unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::LeftOut { users, .. }] if users == &vec![(n("carol"), LeftOut::BlockedYou)]
    ));
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("for everyone who will have it"))]
    );
    assert!(
        net.read("carol").is_empty(),
        "the server skips the blocker too"
    );
    let Note::SharedWith { with, left_out, .. } = net.e2e("alice").shared_with(&n("g")) else {
        panic!()
    };
    assert_eq!(with, vec![n("bob")]);
    assert_eq!(left_out, vec![(n("carol"), LeftOut::BlockedYou)]);
    // The next message does not wait for carol either.
    net.send_group("alice", "g", "and again").unwrap();
    assert_eq!(texts(&net.read("bob")), vec![("alice", text("and again"))]);
}

#[test]
fn a_member_whose_key_changed_is_left_out_until_accepted() {
    let mut net = Net::new();
    for u in ["alice", "bob", "carol"] {
        net.join(u);
    }
    net.group("g", &["alice", "bob", "carol"]);
    net.send_group("alice", "g", "first").unwrap();
    net.read("bob");
    net.new_device("bob");
    net.send("bob", "alice", "new device").unwrap();
    net.read("alice");
    net.notes("alice");
    net.send_group("alice", "g", "second").unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::LeftOut { users, .. }] if users == &vec![(n("bob"), LeftOut::KeyChanged)]
    ));
    assert!(
        texts(&net.read("carol"))
            .iter()
            .any(|(_, r)| *r == text("second")),
        "the others still get it"
    );
}

#[test]
fn every_change_of_the_members_is_shown_and_the_key_goes_only_to_members_shown() {
    let mut net = Net::new();
    for u in ["alice", "bob", "eve"] {
        net.join(u);
    }
    // alice learns the group quietly (a line not shown): the list is said.
    let mut out = Vec::new();
    net.dev("alice")
        .e2e
        .set_members(&n("g"), [n("alice"), n("bob")], false, &mut out);
    net.carry("alice", out);
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::Members { first: true, all, .. }] if all == &vec![n("bob")]
    ));
    // The server quietly adds eve (a member list answering a request the client made itself).
    net.groups
        .insert(n("g"), [n("alice"), n("bob"), n("eve")].into());
    let mut out = Vec::new();
    net.dev("alice")
        .e2e
        .set_members(&n("g"), [n("alice"), n("bob"), n("eve")], false, &mut out);
    net.carry("alice", out);
    let notes = net.notes("alice");
    assert!(
        matches!(&notes[..], [Note::Members { added, first: false, .. }] if added == &vec![n("eve")]),
        "{notes:?}"
    );
    // The key goes to exactly the members the user was shown.
    net.send_group("alice", "g", "who reads this?").unwrap();
    let Note::SharedWith { with, .. } = net.e2e("alice").shared_with(&n("g")) else {
        panic!()
    };
    assert_eq!(with, vec![n("bob"), n("eve")]);
    // Kept in the group's file: after a restart, a list that differs from the last shown is said
    // even when the line showed it whole; the same list again is not.
    net.reopen("alice");
    net.notes("alice");
    let mut out = Vec::new();
    net.dev("alice")
        .e2e
        .set_members(&n("g"), [n("alice"), n("eve")], true, &mut out);
    net.carry("alice", out);
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::Members { removed, .. }] if removed == &vec![n("bob")]
    ));
    let mut out = Vec::new();
    net.dev("alice")
        .e2e
        .set_members(&n("g"), [n("alice"), n("eve")], false, &mut out);
    net.carry("alice", out);
    assert!(net.notes("alice").is_empty());
}

#[test]
fn a_group_message_before_the_members_are_known_waits_on_disk_and_goes_once_they_are() {
    let mut net = Net::new();
    for u in ["alice", "bob"] {
        net.join(u);
    }
    net.groups.insert(n("g"), [n("alice"), n("bob")].into());
    net.send_group("alice", "g", "hello group").unwrap();
    assert_eq!(
        group_lines(&net, "g").len(),
        1,
        "asked for the members, then sent"
    );
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("hello group"))]
    );
    assert!(net.e2e("alice").outbox().is_empty());
}
