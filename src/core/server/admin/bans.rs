//! Bans: accounts and addresses (single addresses or whole networks, as CIDR) the server's operator
//! turned away, for a time or for good. A banned account cannot log in; a connection from a banned
//! address is refused before anything else (before a TLS handshake, like the per-address connection
//! limit). Bans are durable (`Record::Banned`, `Record::Unbanned`), so they survive a restart, and a
//! cluster's copies of the core hold them like any other state.
//!
//! A timed ban simply stops counting once its end has passed; `Bans::tidy` forgets those.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::time::Timestamp;

/// What a ban is on.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum BanTarget {
    /// An account, by name.
    User(String),
    /// An address or a network (`192.0.2.7/32`, `10.0.0.0/8`, `2001:db8::/32`).
    Address(IpNet),
}

impl BanTarget {
    /// Reads what an operator typed: an address, a network in CIDR form, or else an account name.
    pub fn parse(text: &str) -> BanTarget {
        if let Ok(ip) = text.parse::<IpAddr>() {
            return BanTarget::Address(IpNet::from(ip));
        }
        match text.parse::<IpNet>() {
            // The network itself, whatever host bits were typed (`10.1.2.3/8` is `10.0.0.0/8`).
            Ok(net) => BanTarget::Address(net.trunc()),
            Err(_) => BanTarget::User(text.to_owned()),
        }
    }
}

impl std::fmt::Display for BanTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BanTarget::User(name) => f.write_str(name),
            BanTarget::Address(net) if net.prefix_len() == net.max_prefix_len() => {
                write!(f, "{}", net.addr())
            }
            BanTarget::Address(net) => write!(f, "{net}"),
        }
    }
}

/// One ban: until when (`None`: for good), and why (for the operator's list and the user's notice).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ban {
    /// When it ends; `None` for a ban without end.
    pub until: Option<Timestamp>,
    /// Why, as the operator gave it: shown in the operator's list, and told to the banned user.
    pub reason: String,
}

impl Ban {
    /// Whether it still holds at `now`.
    pub fn holds(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| until > now)
    }

    /// Seconds left at `now` (0: for good), as the `banned` error says it.
    pub fn secs_left(&self, now: Timestamp) -> u64 {
        self.until
            .map_or(0, |until| now.secs_until_ceil(until).max(1))
    }
}

/// Every ban. See the [module documentation](self).
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Bans {
    users: BTreeMap<String, Ban>,
    addresses: BTreeMap<IpNet, Ban>,
}

impl Bans {
    /// Bans `target` (replacing a ban it had).
    pub(crate) fn add(&mut self, target: BanTarget, ban: Ban) {
        match target {
            BanTarget::User(name) => self.users.insert(name, ban),
            BanTarget::Address(net) => self.addresses.insert(net, ban),
        };
    }

    /// Lifts the ban on `target`; false if there was none.
    pub(crate) fn remove(&mut self, target: &BanTarget) -> bool {
        match target {
            BanTarget::User(name) => self.users.remove(name).is_some(),
            BanTarget::Address(net) => self.addresses.remove(net).is_some(),
        }
    }

    /// The ban on account `name` that holds at `now`, if any.
    pub(crate) fn user(&self, name: &str, now: Timestamp) -> Option<&Ban> {
        self.users.get(name).filter(|b| b.holds(now))
    }

    /// A ban that holds at `now` on a network `ip` is in, if any (the longest of them).
    pub(crate) fn address(&self, ip: IpAddr, now: Timestamp) -> Option<&Ban> {
        let ip = canonical(ip);
        self.addresses
            .iter()
            .filter(|(net, ban)| net.contains(&ip) && ban.holds(now))
            .map(|(_, ban)| ban)
            .max_by_key(|ban| ban.until.map_or(u64::MAX, Timestamp::as_millis))
    }

    /// An account was renamed: its ban follows it.
    pub(crate) fn renamed(&mut self, from: &str, to: &str) {
        if let Some(ban) = self.users.remove(from) {
            self.users.insert(to.to_owned(), ban);
        }
    }

    /// Forgets the bans that ended by `now`.
    pub(crate) fn tidy(&mut self, now: Timestamp) {
        self.users.retain(|_, b| b.holds(now));
        self.addresses.retain(|_, b| b.holds(now));
    }

    /// Every ban, accounts first, each in order.
    pub(crate) fn all(&self) -> impl Iterator<Item = (BanTarget, &Ban)> {
        self.users
            .iter()
            .map(|(n, b)| (BanTarget::User(n.clone()), b))
            .chain(
                self.addresses
                    .iter()
                    .map(|(net, b)| (BanTarget::Address(*net), b)),
            )
    }
}

/// An IPv4 address a dual-stack socket reports as `::ffff:a.b.c.d` is matched as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn targets_read_as_addresses_networks_or_names() {
        assert_eq!(BanTarget::parse("alice"), BanTarget::User("alice".into()));
        assert_eq!(BanTarget::parse("10.1.2.3").to_string(), "10.1.2.3");
        assert_eq!(BanTarget::parse("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(
            BanTarget::parse("2001:db8::/32").to_string(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn a_network_ban_covers_its_addresses_until_it_ends() {
        let mut bans = Bans::default();
        let BanTarget::Address(net) = BanTarget::parse("10.0.0.0/8") else {
            panic!()
        };
        bans.add(
            BanTarget::Address(net),
            Ban {
                until: Some(t(5000)),
                reason: "spam".into(),
            },
        );
        assert!(bans.address("10.9.8.7".parse().unwrap(), t(1000)).is_some());
        assert!(
            bans.address("::ffff:10.9.8.7".parse().unwrap(), t(1000))
                .is_some()
        );
        assert!(bans.address("11.0.0.1".parse().unwrap(), t(1000)).is_none());
        assert!(bans.address("10.9.8.7".parse().unwrap(), t(5000)).is_none());
        bans.tidy(t(5000));
        assert_eq!(bans.all().count(), 0);
    }

    #[test]
    fn an_account_ban_follows_a_rename_and_is_lifted_once() {
        let mut bans = Bans::default();
        let ban = Ban {
            until: None,
            reason: String::new(),
        };
        bans.add(BanTarget::User("mallory".into()), ban);
        assert_eq!(
            bans.user("mallory", t(u64::MAX)).map(|b| b.secs_left(t(1))),
            Some(0)
        );
        bans.renamed("mallory", "mal");
        assert!(bans.user("mallory", t(1)).is_none());
        assert!(bans.remove(&BanTarget::User("mal".into())));
        assert!(!bans.remove(&BanTarget::User("mal".into())));
    }
}
