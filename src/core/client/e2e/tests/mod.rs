//! End-to-end encryption between devices, with the deterministic test engine (the policy, not the
//! cryptography: the real engine keeps the same contract, tested where it lives), through a small key
//! directory and mailbox that do what the server's do (publish, claim one one-time key or the
//! fallback, refuse a claim by a user one blocked, refuse ciphertext for a device the recipient no
//! longer has, relay text in order with ids). Every device is reopened from what it saved before it
//! reads, so persistence is exercised on every path. The server here can also do what a hostile one
//! would (hold claims, answer `NOKEYS` falsely, send lines nobody asked for); each rule of the
//! device's policy has a test in one of the files beside this one.

mod devices;
mod direct;
mod groups;
mod keys;

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
    /// (blocker, blocked).
    blocks: BTreeSet<(Name, Name)>,
    next_id: u64,
    /// Every line that went to the server, for checks on what it saw.
    wire: Vec<String>,
    /// Tamper with the signature of the next key a claim hands out.
    tamper_next_claim: bool,
    /// Do not answer claims yet: they are kept here.
    held_claims: Option<Vec<(Name, Name)>>,
    /// Claims asked again after "no keys".
    retries: u32,
    /// Users the server says have no keys, whatever it holds (a lying server).
    hide_keys: BTreeSet<Name>,
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
    /// Whether it asked to acknowledge what it was shown (its account moved here).
    acknowledged: bool,
}

impl Dev {
    /// What it saved, as the shell gives it back at the next start.
    fn stored(&self) -> Vec<(Part, Stored)> {
        self.files
            .iter()
            .flat_map(|(p, pieces)| pieces.iter().map(move |s| (p.clone(), s.clone())))
            .collect()
    }

    /// A part saved whole, as it is now (with nothing appended since).
    fn whole(&self, part: &Part) -> &[u8] {
        match &self.files[part][..] {
            [Stored::Whole(bytes)] => bytes,
            other => panic!("{part:?} is not one whole piece: {other:?}"),
        }
    }
}

impl Net {
    fn new() -> Self {
        Net {
            next_id: 1,
            ..Net::default()
        }
    }

    /// A new device for `user` that logs in (publishes, the account having no keys yet), with
    /// one-time keys topped up.
    fn join(&mut self, user: &str) {
        self.add_device(user);
        self.login(user);
    }

    /// A new device for `user` (a reinstall, another machine): it logs in, finds the account's keys
    /// elsewhere, and the user moves the account here.
    fn new_device(&mut self, user: &str) {
        self.devices.remove(user);
        self.join(user);
        assert!(
            matches!(self.dev(user).e2e.home(), Home::Elsewhere(_)),
            "the directory held the old device's keys"
        );
        let mut out = Vec::new();
        self.dev(user).e2e.move_here(&mut out).unwrap();
        self.carry(user, out);
        let notes = self.notes(user);
        assert!(
            matches!(&notes[..], [Note::Elsewhere { .. }, Note::Moved { .. }]),
            "{notes:?}"
        );
    }

    fn add_device(&mut self, user: &str) {
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
                acknowledged: false,
            },
        );
        self.carry(user, out);
    }

    fn login(&mut self, user: &str) {
        let mut out = Vec::new();
        self.dev(user).e2e.on_login(&mut out);
        self.carry(user, out);
    }

    fn dev(&mut self, user: &str) -> &mut Dev {
        self.devices.get_mut(user).expect("a device")
    }

    fn e2e(&self, user: &str) -> &E2e {
        &self.devices[&n(user)].e2e
    }

    /// Closes `user`'s device and opens it again from its files (as at the next start), logged in.
    fn reopen(&mut self, user: &str) {
        let dev = self.devices.get_mut(user).unwrap();
        let files = dev.stored();
        let mut out = Vec::new();
        dev.e2e = E2e::open(dev.engine.clone(), n(user), &files, &mut out).unwrap();
        assert!(out.is_empty(), "an existing device is not made again");
        self.login(user);
        let groups: Vec<(Name, BTreeSet<Name>)> = self
            .groups
            .iter()
            .filter(|(_, m)| m.contains(user))
            .map(|(g, m)| (g.clone(), m.clone()))
            .collect();
        for (g, m) in groups {
            let mut out = Vec::new();
            self.dev(user).e2e.set_members(&g, m, true, &mut out);
            self.carry(user, out);
        }
    }

    /// Carries out what `user`'s device asked for, and whatever the answers cause, to the end.
    fn carry(&mut self, user: &str, out: Vec<Out>) {
        let mut queue: VecDeque<(Name, Out)> = out.into_iter().map(|o| (n(user), o)).collect();
        while let Some((who, o)) = queue.pop_front() {
            let mut more = Vec::new();
            match o {
                Out::Save(part, bytes) => {
                    assert!(
                        !String::from_utf8_lossy(&bytes)
                            .contains(crate::client::e2e::test_engine::PENDING),
                        "a pending pickle saved (not materialised) in {part:?}"
                    );
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
                Out::Changed(_) => {
                    // A commit at every change: the saves made now, before what follows.
                    let mut saves = Vec::new();
                    self.dev(&who).e2e.flush(&mut saves).expect("saves made");
                    for save in saves.into_iter().rev() {
                        queue.push_front((who.clone(), save));
                    }
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
                    self.dev(&who)
                        .sent
                        .push((to.clone(), text.clone(), encrypted));
                    let resend = (encrypted && matches!(to, Conversation::User(_))).then_some(text);
                    self.relay(&who, &line, resend, &mut more);
                }
                Out::KeyShare { line, .. } | Out::Quiet { line, .. } => {
                    self.wire.push(line.clone());
                    self.relay(&who, &line, None, &mut more);
                }
                Out::RetryClaim(user) => {
                    self.retries += 1;
                    self.dev(&who).e2e.retry_claim(&user, &mut more);
                }
                Out::ClaimTimer(_) => {}
                Out::AskMembers(group) => {
                    let members = self.groups.get(&group).cloned().unwrap_or_default();
                    let dev = self.dev(&who);
                    dev.e2e.set_members(&group, members, false, &mut more);
                    dev.e2e.members_known(&group, &mut more);
                }
                Out::Acknowledge => self.dev(&who).acknowledged = true,
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
                let id = self
                    .directory
                    .get(&user)
                    .and_then(|e| e.identity.clone())
                    .filter(|_| !self.hide_keys.contains(&user));
                match id {
                    Some(id) => self.dev(who).e2e.on_keys(&user, id, None, out),
                    None => self.dev(who).e2e.on_no_keys(&user, out),
                }
            }
            other => panic!("unknown keys line {other}"),
        }
    }

    fn answer_claim(&mut self, who: &Name, user: &Name, out: &mut Vec<Out>) {
        if self.blocks.contains(&(user.clone(), who.clone())) {
            let refused =
                self.dev(who)
                    .e2e
                    .on_claim_refused(user, Refusal::BlockedBy(user.clone()), out);
            assert!(refused, "a claim was out");
            return;
        }
        let tamper = std::mem::take(&mut self.tamper_next_claim);
        let answer = self
            .directory
            .get_mut(user)
            .filter(|_| !self.hide_keys.contains(user))
            .and_then(|e| {
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

    /// What the server does with a `message` line: into the recipients' mailboxes, with an id; a
    /// direct message encrypted for an identity that is not the recipient's current one is refused
    /// (`stale-key`), and the sender's client gets its text back (`resend`) as the real client does.
    fn relay(&mut self, from: &Name, line: &str, resend: Option<String>, out: &mut Vec<Out>) {
        let rest = line
            .strip_prefix("message ")
            .or_else(|| line.strip_prefix("note "))
            .unwrap();
        if let Some(rest) = rest.strip_prefix("group ") {
            let id = self.take_id();
            let (group, text) = rest.split_once(' ').unwrap();
            let group = n(group);
            for m in self.groups[&group].clone() {
                if m != *from && !self.blocks.contains(&(m.clone(), from.clone())) {
                    self.mail.entry(m).or_default().push_back((
                        id,
                        from.clone(),
                        Some(group.clone()),
                        text.to_owned(),
                    ));
                }
            }
            return;
        }
        let (to, text) = rest.split_once(' ').unwrap();
        let to = n(to);
        let current = self
            .directory
            .get(&to)
            .and_then(|e| e.identity.as_ref())
            .map(|i| i.curve25519.clone());
        if let (Some(for_key), Some(current)) =
            (crate::protocol::keys::encrypted_for(text), current)
            && for_key != current
        {
            self.dev(from).e2e.on_stale(&to, resend, out);
            return;
        }
        let id = self.take_id();
        self.mail
            .entry(to)
            .or_default()
            .push_back((id, from.clone(), None, text.to_owned()));
    }

    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
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

    /// Runs one of the user's decisions (`verify`, `trust`, `reject`...) on `user`'s device.
    fn decide<T>(&mut self, user: &str, f: impl FnOnce(&mut E2e, &mut Vec<Out>) -> T) -> T {
        let mut out = Vec::new();
        let r = f(&mut self.dev(user).e2e, &mut out);
        self.carry(user, out);
        r
    }

    /// Makes a group; every member's device learns its members (shown).
    fn group(&mut self, group: &str, members: &[&str]) {
        let set: BTreeSet<Name> = members.iter().map(|m| n(m)).collect();
        self.groups.insert(n(group), set.clone());
        for m in members {
            if self.devices.contains_key(*m) {
                let mut out = Vec::new();
                self.dev(m)
                    .e2e
                    .set_members(&n(group), set.clone(), true, &mut out);
                self.carry(m, out);
            }
        }
    }

    fn leave(&mut self, group: &str, user: &str) {
        self.groups.get_mut(group).unwrap().remove(user);
        for m in self.groups[group].clone() {
            self.decide(&m, |e, out| e.member_left(&n(group), &n(user), out));
        }
        self.decide(user, |e, out| e.member_left(&n(group), &n(user), out));
    }

    fn add(&mut self, group: &str, user: &str) {
        self.groups.get_mut(group).unwrap().insert(n(user));
        let set = self.groups[group].clone();
        for m in set.iter().filter(|m| m.as_ref() != user) {
            self.decide(m, |e, out| e.member_joined(&n(group), &n(user), out));
        }
        self.decide(user, |e, out| e.set_members(&n(group), set, true, out));
    }

    fn notes(&mut self, user: &str) -> Vec<Note> {
        std::mem::take(&mut self.dev(user).notes)
    }

    /// The safety-number digits `user`'s device shows for `of` (it is asked to show them).
    fn digits(&mut self, user: &str, of: &str) -> String {
        self.decide(user, |e, out| e.verify(&n(of), out));
        let notes = self.notes(user);
        notes
            .iter()
            .find_map(|note| match note {
                Note::SafetyNumber { confirm, .. } => Some(confirm.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("a safety number in {notes:?}"))
    }

    /// Every message line on the wire.
    fn messages_on_wire(&self) -> Vec<&String> {
        self.wire
            .iter()
            .filter(|l| l.starts_with("message "))
            .collect()
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
