//! End-to-end encryption between devices, with the deterministic test engine (the policy, not the
//! cryptography: the real engine keeps the same contract, tested where it lives), through a small key
//! directory and mailbox that do what the server's do (publish, claim one one-time key or the
//! fallback, relay text in order with ids). Every device is reopened from what it saved before it
//! reads, so persistence is exercised on every path.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use super::direct::SignedKey;
use super::*;
use crate::protocol::{Conversation, Name};

fn n(s: &str) -> Name {
    Name::from(s)
}

/// One account's entry in the key directory.
#[derive(Default)]
struct Entry {
    identity: Option<Identity>,
    one_time: VecDeque<String>,
    fallback: Option<String>,
}

/// A message in a mailbox: (id, from, group, text).
type Mail = (u64, Name, Option<Name>, String);

#[derive(Default)]
struct Net {
    devices: BTreeMap<Name, Dev>,
    directory: BTreeMap<Name, Entry>,
    groups: BTreeMap<Name, BTreeSet<Name>>,
    mail: BTreeMap<Name, VecDeque<Mail>>,
    next_id: u64,
    /// Every line that went to the server, for checks on what it saw.
    wire: Vec<String>,
    /// Tamper with the signature of the next key a claim hands out.
    tamper_next_claim: bool,
    /// Do not answer claims yet: they are kept here.
    held_claims: Option<Vec<(Name, Name)>>,
    /// Claims asked again after "no keys".
    retries: u32,
    /// Devices made so far (each its own engine seed).
    devices_made: u64,
}

struct Dev {
    e2e: E2e,
    /// Kept across reopening, as the one engine of a running client is.
    engine: Arc<test_engine::TestEngine>,
    /// What it saved: per part, its whole content then the records appended since.
    files: BTreeMap<Part, Vec<Stored>>,
    notes: Vec<Note>,
    /// Messages this device sent, as (to, text, encrypted).
    sent: Vec<(Conversation, String, bool)>,
}

impl Net {
    fn new() -> Self {
        Net {
            next_id: 1,
            ..Net::default()
        }
    }

    /// A new device for `user` that logs in (publishes), with one-time keys topped up.
    fn join(&mut self, user: &str) {
        let mut out = Vec::new();
        // Each device its own keys, a reinstall too.
        self.devices_made += 1;
        let engine = Arc::new(test_engine::TestEngine::named(&format!(
            "{user}/{}",
            self.devices_made
        )));
        let e2e = E2e::open(engine.clone(), n(user), &[], &mut out).unwrap();
        self.devices.insert(
            n(user),
            Dev {
                e2e,
                engine,
                files: BTreeMap::new(),
                notes: Vec::new(),
                sent: Vec::new(),
            },
        );
        self.carry(user, out);
        self.login(user);
    }

    fn login(&mut self, user: &str) {
        let mut out = Vec::new();
        self.dev(user).e2e.on_login(&mut out);
        self.carry(user, out);
    }

    fn dev(&mut self, user: &str) -> &mut Dev {
        self.devices.get_mut(user).expect("a device")
    }

    /// Closes `user`'s device and opens it again from its files (as at the next start).
    fn reopen(&mut self, user: &str) {
        let dev = self.devices.get_mut(user).unwrap();
        let files: Vec<(Part, Stored)> = dev
            .files
            .clone()
            .into_iter()
            .flat_map(|(p, pieces)| pieces.into_iter().map(move |s| (p.clone(), s)))
            .collect();
        let mut out = Vec::new();
        dev.e2e = E2e::open(dev.engine.clone(), n(user), &files, &mut out).unwrap();
        assert!(out.is_empty(), "an existing device is not made again");
        let groups: Vec<(Name, BTreeSet<Name>)> = self
            .groups
            .iter()
            .filter(|(_, m)| m.contains(user))
            .map(|(g, m)| (g.clone(), m.clone()))
            .collect();
        for (g, m) in groups {
            self.dev(user).e2e.set_members(&g, m);
        }
    }

    /// Carries out what `user`'s device asked for, and whatever the answers cause, to the end.
    fn carry(&mut self, user: &str, out: Vec<Out>) {
        let mut queue: VecDeque<(Name, Out)> = out.into_iter().map(|o| (n(user), o)).collect();
        while let Some((who, o)) = queue.pop_front() {
            let mut more = Vec::new();
            match o {
                Out::Save(part, bytes) => {
                    self.dev(&who)
                        .files
                        .insert(part, vec![Stored::Whole(bytes)]);
                }
                Out::Append(part, bytes) => {
                    self.dev(&who)
                        .files
                        .entry(part)
                        .or_default()
                        .push(Stored::Appended(bytes));
                }
                Out::Note(note) => self.dev(&who).notes.push(note),
                Out::Keys(line) => {
                    self.wire.push(line.clone());
                    self.key_line(&who, &line, &mut more);
                }
                Out::Message {
                    line,
                    to,
                    text,
                    encrypted,
                } => {
                    self.wire.push(line.clone());
                    // (Short texts could occur in base64 by chance.)
                    if text.len() >= 8 {
                        assert_eq!(
                            encrypted,
                            !line.contains(&text),
                            "the text is on the wire exactly when not encrypted: {line}"
                        );
                    }
                    self.dev(&who).sent.push((to, text, encrypted));
                    self.relay(&who, &line);
                }
                Out::KeyShare { line, .. } => {
                    self.wire.push(line.clone());
                    self.relay(&who, &line);
                }
                Out::RetryClaim(user) => {
                    self.retries += 1;
                    self.dev(&who).e2e.retry_claim(&user, &mut more);
                }
            }
            queue.extend(more.into_iter().map(|o| (who.clone(), o)));
        }
    }

    /// What the server's key directory does with a `keys ...` line.
    fn key_line(&mut self, who: &Name, line: &str, out: &mut Vec<Out>) {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words[0], "keys");
        let left = |e: &Entry| e.one_time.len() as u32;
        match words[1] {
            "identity" => {
                let id = Identity {
                    curve25519: words[2].into(),
                    ed25519: words[3].into(),
                };
                let e = self.directory.entry(who.clone()).or_default();
                if e.identity.as_ref() != Some(&id) {
                    *e = Entry {
                        identity: Some(id),
                        ..Entry::default()
                    };
                }
                let l = left(e);
                self.dev(who).e2e.on_keys_left(l, out);
            }
            "add" => {
                assert!(words.len() - 2 <= 20, "at most 20 a line");
                let e = self.directory.get_mut(who).unwrap();
                e.one_time.extend(words[2..].iter().map(|w| w.to_string()));
                assert!(e.one_time.len() <= 100, "the server's cap");
                let l = left(e);
                self.dev(who).e2e.on_keys_left(l, out);
            }
            "fallback" => {
                let e = self.directory.get_mut(who).unwrap();
                e.fallback = Some(words[2].into());
                let l = left(e);
                self.dev(who).e2e.on_keys_left(l, out);
            }
            "claim" => {
                let user = n(words[2]);
                if let Some(held) = &mut self.held_claims {
                    held.push((who.clone(), user));
                    return;
                }
                self.answer_claim(who, &user, out);
            }
            "show" => {
                let user = n(words[2]);
                match self.directory.get(&user).and_then(|e| e.identity.clone()) {
                    Some(id) => self.dev(who).e2e.on_keys(&user, id, None, out),
                    None => self.dev(who).e2e.on_no_keys(&user, out),
                }
            }
            other => panic!("unknown keys line {other}"),
        }
    }

    fn answer_claim(&mut self, who: &Name, user: &Name, out: &mut Vec<Out>) {
        let tamper = std::mem::take(&mut self.tamper_next_claim);
        let answer = self.directory.get_mut(user).and_then(|e| {
            let id = e.identity.clone()?;
            let key = e.one_time.pop_front().or_else(|| e.fallback.clone())?;
            Some((id, key))
        });
        match answer {
            Some((id, key)) => {
                let mut key = SignedKey::parse(&key).unwrap();
                if tamper {
                    // Another valid signature, over something else: the owner's, but not for this key.
                    let d = &self.devices[user].e2e;
                    key.signature = d
                        .engine
                        .sign(&d.device.account, &[b"something else"])
                        .unwrap()[0]
                        .clone();
                }
                self.dev(who).e2e.on_keys(user, id, Some(key), out)
            }
            None => self.dev(who).e2e.on_no_keys(user, out),
        }
    }

    /// Answers the claims held back so far.
    fn release_claims(&mut self) {
        for (who, user) in self.held_claims.take().unwrap_or_default() {
            let mut out = Vec::new();
            self.answer_claim(&who, &user, &mut out);
            self.carry(&who, out);
        }
    }

    /// What the server does with a `message` line: into the recipients' mailboxes, with an id.
    fn relay(&mut self, from: &Name, line: &str) {
        let rest = line.strip_prefix("message ").unwrap();
        let id = self.next_id;
        self.next_id += 1;
        if let Some(rest) = rest.strip_prefix("group ") {
            let (group, text) = rest.split_once(' ').unwrap();
            let group = n(group);
            for m in self.groups[&group].clone() {
                if m != *from {
                    self.mail.entry(m).or_default().push_back((
                        id,
                        from.clone(),
                        Some(group.clone()),
                        text.to_owned(),
                    ));
                }
            }
        } else {
            let (to, text) = rest.split_once(' ').unwrap();
            self.mail.entry(n(to)).or_default().push_back((
                id,
                from.clone(),
                None,
                text.to_owned(),
            ));
        }
    }

    /// `user` reads their mailbox (after reopening the device from disk): what each message showed.
    fn read(&mut self, user: &str) -> Vec<(Name, Received)> {
        self.reopen(user);
        let mail: Vec<Mail> = self.mail.remove(user).unwrap_or_default().into();
        self.read_mail(user, mail)
    }

    fn read_mail(&mut self, user: &str, mail: Vec<Mail>) -> Vec<(Name, Received)> {
        let mut shown = Vec::new();
        for (id, from, group, text) in mail {
            let mut out = Vec::new();
            let dev = self.dev(user);
            let r = match &group {
                Some(g) => dev.e2e.receive_group(id, g, &from, &text, &mut out),
                None => dev.e2e.receive_direct(id, &from, &text, &mut out),
            };
            self.carry(user, out);
            if r != Received::GroupKey {
                shown.push((from, r));
            }
        }
        shown
    }

    fn send(&mut self, from: &str, to: &str, text: &str) -> Result<(), Refusal> {
        let mut out = Vec::new();
        let r = self
            .dev(from)
            .e2e
            .send_direct(&n(to), text, crate::protocol::MAX_LINE, &mut out);
        self.carry(from, out);
        r
    }

    fn send_group(&mut self, from: &str, group: &str, text: &str) -> Result<(), Refusal> {
        let mut out = Vec::new();
        let r = self
            .dev(from)
            .e2e
            .send_group(&n(group), text, crate::protocol::MAX_LINE, &mut out);
        self.carry(from, out);
        r
    }

    /// Makes a group; every member's device learns its members.
    fn group(&mut self, group: &str, members: &[&str]) {
        let set: BTreeSet<Name> = members.iter().map(|m| n(m)).collect();
        self.groups.insert(n(group), set.clone());
        for m in members {
            if let Some(d) = self.devices.get_mut(*m) {
                d.e2e.set_members(&n(group), set.clone());
            }
        }
    }

    fn leave(&mut self, group: &str, user: &str) {
        self.groups.get_mut(group).unwrap().remove(user);
        for m in self.groups[group].clone() {
            self.dev(&m).e2e.member_left(&n(group), &n(user));
        }
        self.dev(user).e2e.member_left(&n(group), &n(user));
    }

    fn add(&mut self, group: &str, user: &str) {
        self.groups.get_mut(group).unwrap().insert(n(user));
        let set = self.groups[group].clone();
        for m in set.iter().filter(|m| m.as_ref() != user) {
            self.dev(m).e2e.member_joined(&n(group), &n(user));
        }
        self.dev(user).e2e.set_members(&n(group), set);
    }

    fn notes(&mut self, user: &str) -> Vec<Note> {
        std::mem::take(&mut self.dev(user).notes)
    }
}

fn text(t: &str) -> Received {
    Received::Text {
        text: t.into(),
        verified: false,
        key_changed: false,
    }
}

fn texts(shown: &[(Name, Received)]) -> Vec<(&str, Received)> {
    shown.iter().map(|(f, r)| (&**f, r.clone())).collect()
}

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
    let direct: Vec<&String> = net
        .wire
        .iter()
        .filter(|l| l.starts_with("message"))
        .collect();
    assert!(
        direct.last().unwrap().contains(" e2e1:n:"),
        "after a reply, normal messages (no identity proof): {}",
        direct.last().unwrap()
    );
    for line in &net.wire {
        for secret in ["hello bob", "second before", "hi alice", "more "] {
            assert!(!line.contains(secret), "{secret} on the wire: {line}");
        }
    }
    // The pins: each side pinned the other's identity on first use.
    let bob_id = net.devices[&n("bob")].e2e.identity().clone();
    assert_eq!(
        net.devices[&n("alice")]
            .e2e
            .contacts()
            .get("bob")
            .unwrap()
            .pinned,
        bob_id
    );
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
    let shown = net.read("bob");
    assert_eq!(
        texts(&shown),
        vec![
            ("alice", text("from alice")),
            ("carol", text("from carol")),
            ("dave", text("from dave"))
        ]
    );
}

#[test]
fn one_time_keys_are_published_signed_and_topped_up_when_low() {
    let mut net = Net::new();
    net.join("bob");
    let keys_lines: Vec<&String> = net.wire.iter().filter(|l| l.starts_with("keys")).collect();
    assert!(keys_lines[0].starts_with("keys identity "));
    assert!(keys_lines[1].starts_with("keys fallback "));
    assert_eq!(
        keys_lines
            .iter()
            .filter(|l| l.starts_with("keys add"))
            .count(),
        3,
        "50 keys, 20 a line"
    );
    let bob = net.devices[&n("bob")].e2e.identity().clone();
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
    let mut out = Vec::new();
    net.dev("bob").e2e.on_keys_left(5, &mut out);
    net.carry("bob", out);
    assert_eq!(
        net.directory[&n("bob")].one_time.len(),
        device::TARGET as usize
    );
    // Enough left: nothing.
    let mut out = Vec::new();
    net.dev("bob").e2e.on_keys_left(device::LOW, &mut out);
    assert!(out.is_empty());
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
        net.devices[&n("alice")].e2e.contacts().get("bob").is_none(),
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
fn a_changed_key_is_detected_and_nothing_is_sent_until_it_is_accepted() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    net.join("carol");
    net.send("alice", "bob", "before").unwrap();
    net.send("carol", "bob", "before").unwrap();
    net.read("bob");
    let old_bob = net.devices[&n("bob")].e2e.identity().clone();

    // bob reinstalls: a new device, new keys, published over the old ones.
    net.devices.remove("bob");
    net.join("bob");
    assert_ne!(*net.devices[&n("bob")].e2e.identity(), old_bob);

    // carol's next message has a session with the old device: bob's new one cannot read it (it is
    // shown as such, not lost silently)...
    net.send("carol", "bob", "to the old device").unwrap();
    assert!(matches!(&net.read("bob")[..], [(_, Received::Failed(_))]));
    // ...and a claim of bob's keys finds the change: refused, loudly.
    net.dev("alice").e2e.peers.clear();
    net.send("alice", "bob", "claimed").unwrap();
    let notes = net.notes("alice");
    assert!(
        matches!(&notes[..], [Note::KeyChanged { user }, Note::NotSent { why: Refusal::KeyChanged(_), .. }] if **user == *"bob"),
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

    // The safety number carol sees is for the new key; she accepts it and talks to the new device.
    let mut out = Vec::new();
    net.dev("carol").e2e.verify(&n("bob"), &mut out);
    net.carry("carol", out);
    let Note::SafetyNumber { number, .. } = net.notes("carol").remove(0) else {
        panic!("a safety number")
    };
    let mut out = Vec::new();
    net.dev("bob").e2e.verify(&n("carol"), &mut out);
    net.carry("bob", out);
    let Note::SafetyNumber { number: bobs, .. } = net.notes("bob").remove(0) else {
        panic!("a safety number")
    };
    assert_eq!(number, bobs, "both sides compute the same number");
    let mut out = Vec::new();
    net.dev("carol").e2e.accept(&n("bob"), &mut out).unwrap();
    net.carry("carol", out);
    net.send("carol", "bob", "welcome back").unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("carol", text("welcome back"))]
    );
}

#[test]
fn verifying_marks_the_contact_and_both_sides_see_one_number() {
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    // alice has never talked to bob: verify asks the directory for bob's identity.
    let mut out = Vec::new();
    net.dev("alice").e2e.verify(&n("bob"), &mut out);
    net.carry("alice", out);
    assert!(net.wire.iter().any(|l| l == "keys show bob"));
    let Note::SafetyNumber {
        number, verified, ..
    } = net.notes("alice").remove(0)
    else {
        panic!()
    };
    assert!(!verified);
    let expected = safety::safety_number(
        &net.devices[&n("alice")].e2e.identity().ed25519,
        &net.devices[&n("bob")].e2e.identity().ed25519,
    );
    assert_eq!(number, expected);
    let mut out = Vec::new();
    net.dev("alice")
        .e2e
        .mark_verified(&n("bob"), true, &mut out)
        .unwrap();
    net.carry("alice", out);
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
}

#[test]
fn a_user_with_no_keys_gets_the_message_in_clear_with_a_warning_but_a_known_user_does_not() {
    let mut net = Net::new();
    net.join("alice");
    net.send("alice", "newbie", "welcome").unwrap();
    assert_eq!(net.retries, 1, "asked twice before going in clear");
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::SentInClear { .. }]
    ));
    assert_eq!(
        net.mail[&n("newbie")].front().map(|m| m.3.as_str()),
        Some("welcome")
    );
    assert!(!net.devices[&n("alice")].sent[0].2, "sent unencrypted");

    // bob published keys before; the server now says he has none: not believed.
    net.join("bob");
    net.send("alice", "bob", "first").unwrap();
    net.directory.remove(&n("bob"));
    net.dev("alice").e2e.peers.clear();
    net.send("alice", "bob", "second").unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::NotSent {
            why: Refusal::KeysWithdrawn(_),
            ..
        }]
    ));
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
        net.devices[&n("bob")].e2e.recall(*id, from, None, cipher),
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
fn text_without_the_prefix_is_not_encrypted_and_garbage_is_an_error_not_a_panic() {
    let mut net = Net::new();
    net.join("bob");
    let shown = net.read_mail(
        "bob",
        vec![
            (1, n("eve"), None, "typed by hand".into()),
            (2, n("eve"), None, "e2e1:p:AAAA".into()),
            (3, n("eve"), None, "e2e1:n:!!".into()),
            (4, n("eve"), Some(n("g")), "e2e1:g:abc:AAAA".into()),
            (5, n("eve"), Some(n("g")), "e2e1:p:AAAA".into()),
        ],
    );
    assert_eq!(shown[0].1, Received::Plain("typed by hand".into()));
    assert!(
        shown[1..]
            .iter()
            .all(|(_, r)| matches!(r, Received::Failed(_))),
        "{shown:?}"
    );
}

#[test]
fn group_messages_reach_members_and_rotation_locks_out_who_left_and_who_came_later() {
    let mut net = Net::new();
    for u in ["alice", "bob", "carol", "dave"] {
        net.join(u);
    }
    net.group("devs", &["alice", "bob", "carol"]);
    net.send_group("alice", "devs", "standup at ten").unwrap();
    let wire_group = net
        .wire
        .iter()
        .filter(|l| l.starts_with("message group devs "))
        .count();
    assert_eq!(wire_group, 1, "encrypted once for the group");
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
    let last = net.wire.last().unwrap().clone();
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
    let before = net
        .wire
        .iter()
        .rev()
        .find(|l| l.starts_with("message group devs "))
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
fn a_group_message_waits_for_claims_and_goes_in_clear_when_a_member_has_no_keys() {
    let mut net = Net::new();
    for u in ["alice", "bob"] {
        net.join(u);
    }
    net.group("g", &["alice", "bob", "ghost"]);
    net.held_claims = Some(Vec::new());
    net.send_group("alice", "g", "one").unwrap();
    net.send_group("alice", "g", "two").unwrap();
    assert!(
        !net.wire.iter().any(|l| l.starts_with("message group")),
        "held until the members have the key"
    );
    net.release_claims();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::GroupInClear { users, .. }] if users == &vec![n("ghost")]
    ));
    assert_eq!(
        texts(&net.read("bob")),
        vec![
            ("alice", Received::Plain("one".into())),
            ("alice", Received::Plain("two".into()))
        ],
        "in order, unencrypted so that ghost can read them at their first login"
    );
    // Still keyless: the next one goes in clear at once, with the warning again.
    net.send_group("alice", "g", "three").unwrap();
    assert!(matches!(
        &net.notes("alice")[..],
        [Note::GroupInClear { .. }]
    ));
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", Received::Plain("three".into()))]
    );
    // ghost logs in for the first time and publishes keys: from then on, encrypted.
    net.join("ghost");
    net.dev("alice").e2e.on_online(&n("ghost"));
    net.send_group("alice", "g", "now encrypted").unwrap();
    assert_eq!(
        texts(&net.read("bob")),
        vec![("alice", text("now encrypted"))]
    );
    let ghost = net.read("ghost");
    assert_eq!(
        ghost.last().map(|(f, r)| (&**f, r.clone())),
        Some(("alice", text("now encrypted")))
    );
    // A member whose key changed stops the group's messages.
    net.devices.remove("bob");
    net.join("bob");
    net.send("bob", "alice", "new device").unwrap();
    net.read("alice");
    assert_eq!(
        net.send_group("alice", "g", "four"),
        Err(Refusal::KeyChanged(n("bob")))
    );
}

#[test]
fn the_longest_text_that_fits_does_fit_once_encrypted() {
    let limit = crate::protocol::MAX_LINE;
    let mut net = Net::new();
    net.join("alice");
    net.join("bob");
    let max = net.devices[&n("alice")].e2e.max_direct("bob", limit);
    assert!(max > 5000, "{max}");
    let text = "x".repeat(max);
    assert_eq!(
        net.send("alice", "bob", &format!("{text}y")),
        Err(Refusal::TooLong { max })
    );
    net.send("alice", "bob", &text).unwrap();
    let line = net.wire.last().unwrap();
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
    assert_eq!(texts(&net.read("bob")), vec![("alice", text_of(&text))]);

    net.group("g", &["alice", "bob"]);
    let max = net.devices[&n("alice")].e2e.max_group("g", limit);
    let text = "é".repeat(max / 2);
    net.send_group("alice", "g", &text).unwrap();
    let line = net.wire.last().unwrap();
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

fn text_of(t: &str) -> Received {
    text(t)
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
