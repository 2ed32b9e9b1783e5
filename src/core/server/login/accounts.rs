//! Accounts: who may log in, with what password, how close each account is to a lockout, and what
//! belongs to the account rather than to one of its sessions: its flood budget (shared by every
//! session, so logging in again gives no fresh burst), its rate of logins, and the cool-down after it
//! was disconnected for flooding.
//!
//! Accounts are numbered densely ([`UserId`]) in creation order and their numbers are never reused, so
//! every other part keeps its per-user data in a `Vec` indexed by that number: the lookups on the hot
//! path (a message to an online user, a broadcast, a presence fan-out) cost an index, not a hash. An
//! account the operator removes keeps its number as an empty slot: no name finds it, and no list
//! shows it.

use rustc_hash::FxHashMap;

use crate::protocol::Name;
use crate::server::connections::flow::Budget;
use crate::server::event::UserId;
use crate::server::login::lookalike::look_keys;
use crate::server::rate::{Gcra, Rate};
use crate::time::Timestamp;

#[derive(serde::Serialize, serde::Deserialize, Debug)]
struct Entry {
    name: Name,
    password: String,
    /// Wrong passwords in a row since the last success or lockout.
    failures: u32,
    locked_until: Option<Timestamp>,
    /// What its sessions may send (flood control), over all of them.
    flood: Budget,
    /// Its successful logins.
    logins: Gcra,
    /// Disconnected for flooding: no login until then.
    cooldown_until: Option<Timestamp>,
    /// Removed by the operator: an empty slot that keeps its number.
    removed: bool,
    /// A guest's: no password, nothing stored, and removed when its session ends.
    #[serde(default)]
    guest: bool,
}

/// What a wrong password did to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Not locked yet: this many attempts are left.
    AttemptsLeft(u32),
    /// That was the last allowed failure: locked until then, and the count starts again.
    LockedUntil(Timestamp),
}

/// Every account. See the [module documentation](self).
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Accounts {
    list: Vec<Entry>,
    by_name: FxHashMap<Name, UserId>,
    /// By look key (`login::lookalike`), for refusing a new name that looks like an existing one (in
    /// another letter case, with `1` for `l`...). The first account wins if the file already has such
    /// twins.
    by_look: FxHashMap<Box<str>, UserId>,
}

impl Accounts {
    /// Adds an account; the caller gives every other part a slot for it too.
    pub(crate) fn add(&mut self, name: Name, password: String) -> UserId {
        self.push(name, password, false)
    }

    /// Adds a guest under `name` (the login rule checked it is free): an entry with no password that
    /// lives as long as its session, so that every rule that goes by [`UserId`] (flood budgets,
    /// blocks, presence, delivery) applies to guests unchanged. Its number, like an account's, is
    /// never reused.
    pub(crate) fn add_guest(&mut self, name: Name) -> UserId {
        self.push(name, String::new(), true)
    }

    /// Whether `id` is a guest's (see [`Self::add_guest`]).
    pub(crate) fn is_guest(&self, id: UserId) -> bool {
        self.list[id.index()].guest
    }

    fn push(&mut self, name: Name, password: String, guest: bool) -> UserId {
        let id = UserId(u32::try_from(self.list.len()).expect("fewer than 2^32 accounts"));
        self.by_name.insert(name.clone(), id);
        for key in look_keys(&name).into_iter().flatten() {
            self.by_look.entry(key).or_insert(id);
        }
        self.list.push(Entry {
            name,
            password,
            failures: 0,
            locked_until: None,
            flood: Budget::default(),
            logins: Gcra::default(),
            cooldown_until: None,
            removed: false,
            guest,
        });
        id
    }

    /// Removes an account: no name finds it any more, and [`Self::ids`] skips it. Its number is not
    /// reused (the other parts' slots for it stay, emptied by their owners).
    pub(crate) fn remove(&mut self, id: UserId) {
        let name = self.list[id.index()].name.clone();
        self.by_name.remove(&name);
        self.forget_looks(id, &name);
        let e = &mut self.list[id.index()];
        e.removed = true;
        e.password.clear();
        e.failures = 0;
        e.locked_until = None;
    }

    /// Renames an account; the caller has checked that `to` is free.
    pub(crate) fn rename(&mut self, id: UserId, to: Name) {
        let from = std::mem::replace(&mut self.list[id.index()].name, to.clone());
        self.by_name.remove(&from);
        self.by_name.insert(to.clone(), id);
        self.forget_looks(id, &from);
        for key in look_keys(&to).into_iter().flatten() {
            self.by_look.entry(key).or_insert(id);
        }
    }

    /// The look keys `name` (of account `id`) held go to another account that looks the same, if
    /// any (the credentials file may hold such twins), else away.
    fn forget_looks(&mut self, id: UserId, name: &str) {
        let keys: Vec<Box<str>> = look_keys(name)
            .into_iter()
            .flatten()
            .filter(|k| self.by_look.get(k) == Some(&id))
            .collect();
        if keys.is_empty() {
            return;
        }
        for key in &keys {
            self.by_look.remove(key);
        }
        let others: Vec<UserId> = self.ids().collect();
        for other in others {
            if other == id {
                continue;
            }
            for key in look_keys(&self.list[other.index()].name)
                .into_iter()
                .flatten()
            {
                if keys.contains(&key) {
                    self.by_look.entry(key).or_insert(other);
                }
            }
        }
    }

    pub(crate) fn set_password(&mut self, id: UserId, password: String) {
        self.list[id.index()].password = password;
    }

    /// Lifts the account's lockout and forgets its failures; false if it was not locked at `now`.
    pub(crate) fn unlock(&mut self, id: UserId, now: Timestamp) -> bool {
        let e = &mut self.list[id.index()];
        let was = e.locked_until.is_some_and(|until| until > now);
        e.locked_until = None;
        e.failures = 0;
        was
    }

    pub(crate) fn find(&self, name: &str) -> Option<UserId> {
        self.by_name.get(name).copied()
    }

    /// An account whose name looks like `name` (see `login::lookalike`), if any.
    pub(crate) fn find_look_alike(&self, name: &str) -> Option<UserId> {
        look_keys(name)
            .iter()
            .flatten()
            .find_map(|k| self.by_look.get(k).copied())
    }

    pub(crate) fn name(&self, id: UserId) -> &Name {
        &self.list[id.index()].name
    }

    pub(crate) fn password(&self, id: UserId) -> &str {
        &self.list[id.index()].password
    }

    /// How many accounts there are.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Every account id, in creation order (removed accounts' and guests' skipped: a guest is no
    /// account, and none of what lists accounts, such as the durable view, shows it).
    pub(crate) fn ids(&self) -> impl Iterator<Item = UserId> + '_ {
        (0..self.list.len() as u32).map(UserId).filter(|id| {
            let e = &self.list[id.index()];
            !e.removed && !e.guest
        })
    }

    /// When the account's lockout ends, if it is locked at `now`.
    pub(crate) fn locked_until(&self, id: UserId, now: Timestamp) -> Option<Timestamp> {
        self.list[id.index()]
            .locked_until
            .filter(|until| *until > now)
    }

    /// The lockout end as recorded, even if it has passed (for the durable view).
    pub(crate) fn lockout(&self, id: UserId) -> Option<Timestamp> {
        self.list[id.index()].locked_until
    }

    /// Counts a wrong password. The `max`-th in a row locks the account until `lock_until` and starts
    /// the count again.
    pub(crate) fn fail(&mut self, id: UserId, max: u32, lock_until: Timestamp) -> Failure {
        let e = &mut self.list[id.index()];
        e.failures += 1;
        if e.failures < max {
            return Failure::AttemptsLeft(max - e.failures);
        }
        e.failures = 0;
        e.locked_until = Some(lock_until);
        Failure::LockedUntil(lock_until)
    }

    /// A successful login: the count of failures starts again, and the login is counted against the
    /// account's rate of logins.
    pub(crate) fn succeeded(&mut self, id: UserId, logins: Option<Rate>, now: Timestamp) {
        let e = &mut self.list[id.index()];
        e.failures = 0;
        if let Some(rate) = logins {
            let _ = e.logins.take(rate, now);
        }
    }

    /// When the account may next log in, if its logins have come too often at `now`.
    pub(crate) fn logins_throttled(
        &self,
        id: UserId,
        logins: Option<Rate>,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let ready = self.list[id.index()].logins.ready_at(logins?, now);
        (ready > now).then_some(ready)
    }

    /// The account's flood budget, lent to a session's flow for one line.
    pub(crate) fn budget(&mut self, id: UserId) -> &mut Budget {
        &mut self.list[id.index()].flood
    }

    /// The account was disconnected for flooding: no login until `until`.
    pub(crate) fn cool_down(&mut self, id: UserId, until: Timestamp) {
        let e = &mut self.list[id.index()];
        e.cooldown_until = e.cooldown_until.max(Some(until));
    }

    /// When the account's cool-down ends, if it is cooling down at `now`.
    pub(crate) fn cooling_until(&self, id: UserId, now: Timestamp) -> Option<Timestamp> {
        self.list[id.index()]
            .cooldown_until
            .filter(|until| *until > now)
    }

    /// Restores a lockout from the durable record.
    pub(crate) fn restore_lockout(&mut self, id: UserId, until: Timestamp) {
        let e = &mut self.list[id.index()];
        e.locked_until = Some(until);
        e.failures = 0;
    }
}
