//! Limits per source address, on top of the per-account lockout (which stays exactly as the rules say):
//!
//! - **connections logging in**: at most `max_pending` connections from one address that have not
//!   logged in yet. Stops one host from holding thousands of half-open logins (each costs memory and a
//!   login timer) to starve everyone else. Cannot stop many hosts doing it.
//! - **failed logins**: a burst, then one every `failure_refill_secs`; past that, no password or
//!   username from the address is even tried until the rate allows (`ERROR login-throttled`). Stops one
//!   host from guessing passwords at speed, and from locking out many accounts (three failures lock one,
//!   so it can lock at most one account per three refills). Cannot stop a distributed attacker from
//!   locking an account: three failures from anywhere lock it, which is the rule's price.
//! - **registrations** (`--register`): a burst, then one every `register_refill_secs`. Stops one host
//!   from creating accounts by the thousand.
//! - **new connections**: a burst, then `connect_per_sec` a second. Over TLS each connection costs the
//!   server a handshake (an ECDSA signature and a key exchange, a quarter of a millisecond of its one
//!   thread), so one host opening hundreds a second would take that thread from everyone; the shell
//!   asks before it starts a handshake, and a refused connection is told so in plain text. Cannot stop
//!   many hosts doing it.
//! - **successful logins**: a burst, then one every `address_refill_secs` (`LoginLimits`), beside the
//!   same limit per account. Stops one host logging in and out in a loop with many accounts, each
//!   round announced to everyone online. Cannot stop many hosts doing it.
//! - **flood budget**: what all the connections of the address may send together (see `flow`), a few
//!   accounts' worth, so that many accounts do not multiply one host's budget, while a few people
//!   behind one NAT are not held to one person's. Cannot stop many hosts flooding together.
//! - **cool-down**: after `BYE flood`, no login from the address for a while (as for the account), so a
//!   flooder cannot carry on from another account at once. Its price: others behind the same NAT
//!   cannot log in meanwhile (those online are not touched).
//!
//! An address is an IPv4 address, or an IPv6 /64 (what one subscriber usually gets, so taking more
//! addresses from it does not escape the limits). Entries are forgotten once they carry no state.

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::server::config::AddressLimits;
use crate::server::connections::flow::Budget;
use crate::server::rate::{Gcra, Rate};
use crate::time::Timestamp;

/// The key one address's limits are kept under.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AddressKey(u128);

impl AddressKey {
    pub(crate) fn of(peer: SocketAddr) -> Self {
        match peer.ip().to_canonical() {
            IpAddr::V4(v4) => AddressKey(u128::from(u32::from(v4))),
            // The /64, marked so it cannot equal an IPv4 key.
            IpAddr::V6(v6) => AddressKey((u128::from(v6) & !((1u128 << 64) - 1)) | 1),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
struct Entry {
    pending: u32,
    failures: Gcra,
    registrations: Gcra,
    connections: Gcra,
    logins: Gcra,
    flood: Budget,
    cooldown_until: Option<Timestamp>,
}

/// Why an address may not log in now, and until when ([`Addresses::barred`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Barred {
    /// Cooling down after a flood.
    CoolingUntil(Timestamp),
    /// Its logins came too often lately.
    ThrottledUntil(Timestamp),
}

impl Entry {
    /// When the next login from the address may be made, if not at `now`.
    fn logins_throttled(&self, logins: Option<Rate>, now: Timestamp) -> Option<Timestamp> {
        let ready = self.logins.ready_at(logins?, now);
        (ready > now).then_some(ready)
    }

    /// Nothing to remember at `now`: every limit is back to where a new address starts.
    fn is_idle(&self, now: Timestamp) -> bool {
        self.pending == 0
            && self.failures.is_idle(now)
            && self.registrations.is_idle(now)
            && self.connections.is_idle(now)
            && self.logins.is_idle(now)
            && self.flood.is_idle(now)
            && self.cooldown_until.is_none_or(|until| until <= now)
    }
}

/// Every address with something to remember.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Addresses {
    by_key: FxHashMap<AddressKey, Entry>,
}

impl Addresses {
    /// A connection from `key` opens; false if it is one too many logging in.
    pub(crate) fn open(&mut self, key: AddressKey, limits: &AddressLimits) -> bool {
        let e = self.by_key.entry(key).or_default();
        if limits.max_pending > 0 && e.pending >= limits.max_pending {
            return false;
        }
        e.pending += 1;
        true
    }

    /// A connection from `key` logged in or closed before it did.
    pub(crate) fn done_pending(&mut self, key: AddressKey, now: Timestamp) {
        if let Some(e) = self.by_key.get_mut(&key) {
            e.pending = e.pending.saturating_sub(1);
        }
        self.forget_if_idle(key, now);
    }

    /// Takes one new connection for `key`, or says when the next one may be made.
    pub(crate) fn connect(
        &mut self,
        key: AddressKey,
        limits: &AddressLimits,
        now: Timestamp,
    ) -> Result<(), Timestamp> {
        if limits.connect_burst == 0 {
            return Ok(());
        }
        match Rate::per_sec(limits.connect_per_sec, limits.connect_burst) {
            Some(rate) => self
                .by_key
                .entry(key)
                .or_default()
                .connections
                .take(rate, now),
            None => Ok(()),
        }
    }

    /// When logins from `key` may be tried again, if they are throttled at `now`.
    pub(crate) fn login_throttled(
        &self,
        key: AddressKey,
        limits: &AddressLimits,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let rate = Rate::every_secs(limits.failure_refill_secs, limits.failure_burst)?;
        let ready = self.by_key.get(&key)?.failures.ready_at(rate, now);
        (ready > now).then_some(ready)
    }

    /// Counts a failed login (a wrong password or an unknown username) from `key`.
    pub(crate) fn failed_login(&mut self, key: AddressKey, limits: &AddressLimits, now: Timestamp) {
        if let Some(rate) = Rate::every_secs(limits.failure_refill_secs, limits.failure_burst) {
            let _ = self.by_key.entry(key).or_default().failures.take(rate, now);
        }
    }

    /// Takes one registration for `key`, or says when the next one may be made.
    pub(crate) fn register(
        &mut self,
        key: AddressKey,
        limits: &AddressLimits,
        now: Timestamp,
    ) -> Result<(), Timestamp> {
        match Rate::every_secs(limits.register_refill_secs, limits.register_burst) {
            Some(rate) => self
                .by_key
                .entry(key)
                .or_default()
                .registrations
                .take(rate, now),
            None => Ok(()),
        }
    }

    /// Gives back the registration [`Self::register`] took for `key` (its account was not made: the
    /// password's hash could not be).
    pub(crate) fn unregister(&mut self, key: AddressKey, limits: &AddressLimits) {
        if let (Some(rate), Some(entry)) = (
            Rate::every_secs(limits.register_refill_secs, limits.register_burst),
            self.by_key.get_mut(&key),
        ) {
            entry.registrations.give_back(rate);
        }
    }

    /// Why no account may log in from `key` at `now`, if none may: it is cooling down after a flood
    /// ([`Self::cool_down`]), or its logins came too often ([`Self::logged_in`]). The two asked
    /// with one look-up, as every login asks them at each step.
    pub(crate) fn barred(
        &self,
        key: AddressKey,
        logins: Option<Rate>,
        now: Timestamp,
    ) -> Option<Barred> {
        let e = self.by_key.get(&key)?;
        if let Some(until) = e.cooldown_until.filter(|until| *until > now) {
            return Some(Barred::CoolingUntil(until));
        }
        e.logins_throttled(logins, now).map(Barred::ThrottledUntil)
    }

    /// Counts a successful login from `key`.
    pub(crate) fn logged_in(&mut self, key: AddressKey, logins: Option<Rate>, now: Timestamp) {
        if let Some(rate) = logins {
            let _ = self.by_key.entry(key).or_default().logins.take(rate, now);
        }
    }

    /// The flood budget of `key`'s connections together, lent to one connection's flow for one line.
    pub(crate) fn budget(&mut self, key: AddressKey) -> &mut Budget {
        &mut self.by_key.entry(key).or_default().flood
    }

    /// A connection from `key` was disconnected for flooding: no login from it until `until`.
    pub(crate) fn cool_down(&mut self, key: AddressKey, until: Timestamp) {
        let e = self.by_key.entry(key).or_default();
        e.cooldown_until = e.cooldown_until.max(Some(until));
    }

    fn forget_if_idle(&mut self, key: AddressKey, now: Timestamp) {
        if self.by_key.get(&key).is_some_and(|e| e.is_idle(now)) {
            self.by_key.remove(&key);
        }
    }

    /// Forgets every address that carries no state any more; called now and then so addresses that
    /// failed once and never came back do not accumulate.
    pub(crate) fn tidy(&mut self, now: Timestamp) {
        self.by_key.retain(|_, e| !e.is_idle(now));
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_addresses_of_one_slash_64_are_one_address() {
        let a = AddressKey::of(peer("[2001:db8:1:2:aaaa::1]:5000"));
        let b = AddressKey::of(peer("[2001:db8:1:2:bbbb::9]:6000"));
        let c = AddressKey::of(peer("[2001:db8:1:3::1]:5000"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            AddressKey::of(peer("[::ffff:10.0.0.1]:1")),
            AddressKey::of(peer("10.0.0.1:2")),
            "an IPv4-mapped address is the IPv4 address"
        );
    }

    #[test]
    fn pending_logins_are_capped_and_given_back() {
        let limits = AddressLimits {
            max_pending: 2,
            ..AddressLimits::default()
        };
        let mut a = Addresses::default();
        let k = AddressKey::of(peer("10.0.0.1:1"));
        let t = Timestamp::from_millis(0);
        assert!(a.open(k, &limits) && a.open(k, &limits));
        assert!(!a.open(k, &limits));
        assert!(a.open(AddressKey::of(peer("10.0.0.2:1")), &limits));
        a.done_pending(k, t);
        assert!(a.open(k, &limits));
    }

    #[test]
    fn failures_throttle_after_the_burst_and_idle_entries_are_forgotten() {
        let limits = AddressLimits {
            failure_burst: 3,
            failure_refill_secs: 30,
            ..AddressLimits::default()
        };
        let mut a = Addresses::default();
        let k = AddressKey::of(peer("10.0.0.1:1"));
        let t = Timestamp::from_millis(1_000_000);
        for _ in 0..3 {
            assert_eq!(a.login_throttled(k, &limits, t), None);
            a.failed_login(k, &limits, t);
        }
        assert_eq!(a.login_throttled(k, &limits, t), Some(t.plus_secs(30)));
        assert_eq!(a.login_throttled(k, &limits, t.plus_secs(30)), None);
        a.tidy(t.plus_secs(30));
        assert_eq!(a.len(), 1, "still owes two refills");
        a.tidy(t.plus_secs(90));
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn new_connections_are_a_burst_then_a_rate_per_address() {
        let limits = AddressLimits {
            connect_burst: 3,
            connect_per_sec: 2,
            ..AddressLimits::default()
        };
        let mut a = Addresses::default();
        let k = AddressKey::of(peer("10.0.0.1:1"));
        let t = Timestamp::from_millis(1_000_000);
        for _ in 0..3 {
            assert_eq!(a.connect(k, &limits, t), Ok(()));
        }
        assert_eq!(a.connect(k, &limits, t), Err(t.plus_millis(500)));
        assert_eq!(
            a.connect(AddressKey::of(peer("10.0.0.2:1")), &limits, t),
            Ok(()),
            "another address has its own"
        );
        assert_eq!(a.connect(k, &limits, t.plus_millis(500)), Ok(()));
        assert_eq!(a.connect(k, &AddressLimits::none(), t), Ok(()));
        a.tidy(t.plus_secs(3));
        assert_eq!(a.len(), 0, "forgotten once idle");
    }

    #[test]
    fn registrations_are_rationed() {
        let limits = AddressLimits {
            register_burst: 1,
            register_refill_secs: 600,
            ..AddressLimits::default()
        };
        let mut a = Addresses::default();
        let k = AddressKey::of(peer("10.0.0.1:1"));
        let t = Timestamp::from_millis(0);
        assert_eq!(a.register(k, &limits, t), Ok(()));
        assert_eq!(a.register(k, &limits, t), Err(t.plus_secs(600)));
        assert_eq!(a.register(k, &AddressLimits::none(), t), Ok(()));
    }
}
