//! The session's end-to-end encryption: the logged-in user's device (the rules are [`super::e2e`]'s),
//! the password that unlocks its stored state, why it could not be opened if it could not, the
//! claims of keys to ask again or to say are slow, and how each conversation used in this session is
//! protected, as last said.
//!
//! It fails closed: without an open device nothing is encrypted, and nothing that should be is sent at
//! all (`state::secure` refuses it, saying why: [`Encryption::failure`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::e2e::{self, E2e, Protection, Setup};
use super::event::{Effect, OpenHow};
use super::timer::Timer;
use crate::protocol::{Conversation, Name};
use crate::time::Timestamp;
use crate::timers::Timers;

use super::marks::{MAYBE_FORGED, NOT_ENCRYPTED};

/// The device the shell read, opened: what was damaged in it (to warn of), and whether it is a new
/// one the user asked for (which takes the account whatever the server says).
pub(super) struct Opened {
    /// Parts of the stored state that could not be read, said as warnings.
    pub(super) damaged: Vec<String>,
    /// The user asked for new keys (`e2e-newkeys`).
    pub(super) new_keys: bool,
}

/// The encryption part. See the [module documentation](self).
pub(super) struct Encryption {
    /// The engine to encrypt with; `None`: messages are sent and shown as the server relays them.
    setup: Option<Setup>,
    /// The logged-in user's device, once opened.
    device: Option<E2e>,
    /// The password typed at login, kept in memory until the device it unlocks is open (and for
    /// `e2e-unlock` and `passwd`, which lock the stored keys with the current one).
    password: Option<String>,
    /// Why the logged-in user's device could not be opened.
    failure: Option<String>,
    /// The device being opened is a new one the user asked for (`e2e-newkeys`): it takes the account.
    new_keys: bool,
    /// Users whose keys are to be asked for again at [`Timer::RetryClaims`].
    retry_claims: Vec<Name>,
    /// Claims to look at again, when each is due ([`Timer::SlowClaims`]), oldest first.
    slow_claims: VecDeque<(Timestamp, Name)>,
    /// How each conversation used in this session is protected, as last said.
    protections: BTreeMap<Conversation, Protection>,
    /// Changes whenever `protections` does.
    protections_version: u64,
    /// Users who wrote in clear while no key of theirs is pinned: the conversation with them is
    /// not end-to-end encrypted (an IRC user, a client without keys), whatever the intent, until
    /// keys of theirs are known.
    clear_from: BTreeSet<Name>,
}

impl Encryption {
    /// Encryption with the engine in `setup`, if any.
    pub(super) fn new(setup: Option<Setup>) -> Self {
        Encryption {
            setup,
            device: None,
            password: None,
            failure: None,
            new_keys: false,
            retry_claims: Vec::new(),
            slow_claims: VecDeque::new(),
            protections: BTreeMap::new(),
            protections_version: 0,
            clear_from: BTreeSet::new(),
        }
    }

    /// Whether messages are encrypted at all (the client was started with an engine).
    pub(super) fn enabled(&self) -> bool {
        self.setup.is_some()
    }

    /// The open device, if any.
    pub(super) fn device(&self) -> Option<&E2e> {
        self.device.as_ref()
    }

    /// The open device, to act on, if any.
    pub(super) fn device_mut(&mut self) -> Option<&mut E2e> {
        self.device.as_mut()
    }

    /// The device's deferred saves ([`E2e::flush`]), as effects, for the commit being asked for
    /// (`commit`); `Err`: they could not all be made, and the commit is to fail.
    pub(super) fn flush(&mut self, out: &mut Vec<Effect>) -> Result<(), String> {
        let Some(device) = self.device.as_mut() else {
            return Ok(());
        };
        let mut outs = Vec::new();
        let result = device.flush(&mut outs);
        for o in outs {
            let user = device.me().clone();
            match o {
                e2e::Out::Save(part, bytes) => out.push(Effect::SaveE2e { user, part, bytes }),
                e2e::Out::Append(part, bytes) => out.push(Effect::AppendE2e { user, part, bytes }),
                _ => {}
            }
        }
        result
    }

    /// Whether what was shown may be acknowledged: not while another device holds the account's
    /// keys (what arrived may be for that device, and the server keeps it for it only if this one
    /// does not acknowledge it).
    pub(super) fn may_acknowledge(&self) -> bool {
        self.device.as_ref().is_none_or(E2e::may_acknowledge)
    }

    /// The password typed at login (or for a new account): what unlocks the stored keys.
    pub(super) fn typed_password(&mut self, line: &str) {
        self.password = Some(line.to_owned());
    }

    /// A new login: the claims of the last one are over (what waits is in the device's outbox).
    pub(super) fn new_session(&mut self) {
        self.retry_claims.clear();
        self.slow_claims.clear();
    }

    /// The device is closed (another user logs in, or it is opened again).
    pub(super) fn close(&mut self) {
        self.device = None;
    }

    /// Asks the shell to open `user`'s stored keys `how`, with the password typed at login; `None`
    /// if none was typed.
    pub(super) fn unlock(&mut self, user: Name, how: OpenHow) -> Option<Effect> {
        let password = self.password.clone()?;
        self.failure = None;
        self.new_keys = how == OpenHow::Fresh;
        Some(Effect::OpenE2e {
            user,
            password,
            how,
        })
    }

    /// The shell read `user`'s stored device (or could not): it is opened, and what opening it
    /// asks for is appended to `outs`; `Err`: why it cannot be used.
    pub(super) fn open(
        &mut self,
        user: Name,
        stored: Result<Vec<(e2e::Part, e2e::Stored)>, String>,
        outs: &mut Vec<e2e::Out>,
    ) -> Result<Opened, String> {
        let new_keys = std::mem::take(&mut self.new_keys);
        let stored = stored?;
        let Some(setup) = &self.setup else {
            return Err("this client was started without it".into());
        };
        let device =
            E2e::open(setup.engine.clone(), user, &stored, outs).map_err(|e| e.to_string())?;
        let damaged = device.damaged_notes();
        self.device = Some(device);
        Ok(Opened { damaged, new_keys })
    }

    /// The device cannot be used, for this reason: nothing is encrypted, and nothing that should be
    /// is sent at all (it would go in clear).
    pub(super) fn fail(&mut self, why: String) {
        self.device = None;
        self.failure = Some(why);
    }

    /// Why the device could not be opened, if it could not.
    pub(super) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The account's password is now `new` (`passwd`): `e2e-unlock` uses it from now on. Returns
    /// the password the stored keys are locked with, when they are to be locked with the new one
    /// (keys that could not be opened are left as they are: `e2e-unlock <the password they were
    /// locked with>` locks them with the new one).
    pub(super) fn password_changed(&mut self, new: &str) -> Option<String> {
        let previous = self.password.replace(new.to_owned());
        if !self.enabled() || self.failure.is_some() {
            return None;
        }
        previous
    }

    /// The server said `user` has no keys: asked again after a moment (in a cluster their keys,
    /// published a moment ago at another node, may not have reached this one yet).
    pub(super) fn retry_claim(&mut self, user: Name, now: Timestamp, timers: &mut Timers<Timer>) {
        if self.retry_claims.is_empty() {
            timers.set(Timer::RetryClaims, now.plus_millis(e2e::RETRY_CLAIM_MS));
        }
        self.retry_claims.push(user);
    }

    /// The users whose keys are to be asked for again now.
    pub(super) fn take_retries(&mut self) -> Vec<Name> {
        std::mem::take(&mut self.retry_claims)
    }

    /// `user`'s keys were claimed: if the answer is slow, the user is told their messages wait.
    pub(super) fn claim_timer(&mut self, user: Name, now: Timestamp, timers: &mut Timers<Timer>) {
        let at = now.plus_millis(e2e::CLAIM_SLOW_MS);
        if self.slow_claims.is_empty() {
            timers.set(Timer::SlowClaims, at);
        }
        self.slow_claims.push_back((at, user));
    }

    /// The claims due at `now`, oldest first; the next one's deadline is set.
    pub(super) fn due_slow_claims(
        &mut self,
        now: Timestamp,
        timers: &mut Timers<Timer>,
    ) -> Vec<Name> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.slow_claims.front()
            && *at <= now
        {
            let (_, user) = self.slow_claims.pop_front().expect("looked at above");
            due.push(user);
        }
        if let Some((at, _)) = self.slow_claims.front() {
            timers.set(Timer::SlowClaims, *at);
        }
        due
    }

    /// How the conversation `to` is protected now.
    pub(super) fn protection(&self, to: &Conversation) -> Protection {
        let Some(e2e) = &self.device else {
            return match to {
                Conversation::Private(_) => Protection::Encrypted,
                _ => Protection::NotEncrypted,
            };
        };
        match to {
            Conversation::User(u)
                if e2e.contacts().get(u).is_none()
                    && (self.clear_from.contains(u) || e2e.said_no_keys(u)) =>
            {
                Protection::NotEncrypted
            }
            // Not pinned and not answered yet: saying "encrypted" now would be a guess the
            // server's answer may contradict a moment later (a user without keys).
            Conversation::User(u) if e2e.contacts().get(u).is_none() => Protection::Waiting,
            Conversation::User(u) => e2e.protection_with(u),
            Conversation::Group(g) => e2e.protection_in(g),
            Conversation::Private(u) => match e2e.protection_with(u) {
                Protection::Verified => Protection::Verified,
                _ => Protection::Encrypted,
            },
            Conversation::Broadcasts => Protection::NotEncrypted,
        }
    }

    /// A message `text` arrived from `from` to the user alone: in clear from someone with no key
    /// pinned, it says that the conversation with them is not encrypted.
    pub(super) fn saw_direct(&mut self, from: &Name, text: &str) {
        if let Some(e2e) = &self.device
            && !e2e::envelope::is_encrypted(text)
            && e2e.contacts().get(from).is_none()
        {
            self.clear_from.insert(from.clone());
        }
    }

    /// `/sendclear <user>` went through: the conversation with them is not encrypted.
    pub(super) fn sent_clear(&mut self, user: Name) {
        self.clear_from.insert(user);
    }

    /// `to` is used (`me` being the logged-in user): how it is protected, if that is to be said
    /// (the first time it is used in this session, and whenever it changes). Nothing is said
    /// without a device, nor of a conversation with oneself.
    pub(super) fn note_protection(
        &mut self,
        to: &Conversation,
        me: Option<&Name>,
    ) -> Option<Protection> {
        self.device.as_ref()?;
        if let Conversation::User(u) = to
            && me == Some(u)
        {
            return None;
        }
        let state = self.protection(to);
        if self.protections.insert(to.clone(), state) == Some(state) {
            return None;
        }
        self.protections_version += 1;
        Some(state)
    }

    /// How each conversation used in this session is protected, as last said (the full-screen
    /// client shows it for the window in view).
    pub(super) fn protections(&self) -> &BTreeMap<Conversation, Protection> {
        &self.protections
    }

    /// Changes whenever [`Self::protections`] does.
    pub(super) fn protections_version(&self) -> u64 {
        self.protections_version
    }

    /// Whether any conversation's protection was said, so may change.
    pub(super) fn protections_said(&self) -> bool {
        self.device.is_some() && !self.protections.is_empty()
    }

    /// Every conversation whose protection was said, to look at again.
    pub(super) fn used(&self) -> Vec<Conversation> {
        self.protections.keys().cloned().collect()
    }

    /// How many of the user's messages wait in the device (for keys, a decision about a changed
    /// key, or a group's members).
    pub(super) fn waiting(&self) -> usize {
        self.device.as_ref().map_or(0, |e| e.outbox().texts())
    }

    /// The text of a stored message shown again (`offline`): an encrypted one from this device's own
    /// store, marked if it is not there (or was not encrypted).
    pub(super) fn recall(
        &self,
        id: u64,
        from: &Name,
        group: Option<&Name>,
        text: String,
    ) -> String {
        let Some(e2e) = &self.device else {
            return text;
        };
        if !e2e::envelope::is_encrypted(&text) {
            if e2e.contacts().get(from).is_some() {
                return format!("{MAYBE_FORGED} {text}");
            }
            return format!("{NOT_ENCRYPTED} {text}");
        }
        match e2e.recall(id, from, group, &text) {
            Some(t) => super::reveal::reveal(&t).into_owned(),
            None => "(encrypted; not kept on this device)".to_owned(),
        }
    }

    /// The password typed at login, for a test to look at.
    #[cfg(test)]
    pub(super) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
}
