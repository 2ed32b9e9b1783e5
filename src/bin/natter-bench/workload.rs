//! The five workloads: who is online, who sends what to whom, and how many deliveries to expect.
//!
//! Users are numbered; bench user `i` is called `u<i>` with password `pw-<i>` in both protocols. The
//! layout of a run:
//!
//! | workload | online from the start | sends | expected deliveries |
//! |---|---|---|---|
//! | `direct` | `u0..uN` | each of the N sends M messages, each to a random other online user | N·M |
//! | `fanout` | `u0..uN` | `u0..uK` each send M broadcasts (IRC: to one channel all N joined) | K·M·(N−1) |
//! | `group` | `u0..uN`, all in one group `u0` creates (IRC: one channel, as `fanout`) | `u0..uK` each send M group messages | K·M·(N−1) |
//! | `idle` | `u0..uN` | nothing: server memory per logged-in connection | 0 |
//! | `login` | `u0..uB` (background, see `--idle-users`) | C churners log `uB..uB+N` in and out | 0 |
//! | `offline` | `u0..uN` | each sends M messages to random users of `uN..uN+R`, who are offline; then those R log in and receive them | N·M |
//! | `history` | `u0..uN`, after `uN..uN+H` have each logged in and out once | each sends M `whoelsesince 0` | 0 (N·M replies) |

use serde::Serialize;

use crate::proto::ProtoKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// N users each send M messages to random online users, a bounded number in flight.
    Direct,
    /// N users online; K of them broadcast M messages each.
    Fanout,
    /// N users online, all in one group; K of them send M group messages each.
    Group,
    /// N logged-in idle connections: server memory per connection.
    Idle,
    /// Connect, log in, log out, over and over, with a fixed number in flight.
    Login,
    /// Messages to offline users (stored), then delivered when they log in.
    Offline,
    /// H past sessions first, then N online users query `whoelsesince 0`: its cost must not grow with H.
    History,
}

impl Workload {
    /// Whether each message goes to every other user online (a broadcast, or a group all of them are
    /// in).
    pub fn to_all(self) -> bool {
        matches!(self, Workload::Fanout | Workload::Group)
    }

    pub fn name(self) -> &'static str {
        match self {
            Workload::Direct => "direct",
            Workload::Fanout => "fanout",
            Workload::Group => "group",
            Workload::Idle => "idle",
            Workload::Login => "login",
            Workload::Offline => "offline",
            Workload::History => "history",
        }
    }
}

/// Everything that shapes one run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub workload: Workload,
    pub proto: ProtoKind,
    /// Online users (`direct`, `fanout`, `idle`, `offline` senders); the account pool for `login`.
    pub users: u32,
    /// `fanout`: how many of the users broadcast.
    pub senders: u32,
    /// `offline`: how many offline users the messages go to.
    pub recipients: u32,
    /// Messages per sender.
    pub messages: u32,
    /// Closed loop: most messages a sender has in flight (sent, not yet delivered).
    pub window: u32,
    /// Open loop: messages per second offered, over all senders; `None` is closed loop.
    pub rate: Option<f64>,
    /// Bytes of message text.
    pub size: usize,
    /// `login`: cycles in flight.
    pub concurrency: u32,
    /// `login`: users logged in (and receiving every presence change) while the churn runs.
    pub idle_users: u32,
    /// `login`: how long the churn runs, in seconds.
    pub duration: f64,
    /// `history`: sessions that log in and out once before the queries start.
    pub history: u32,
    pub seed: u64,
    /// Speak TLS to the server.
    pub tls: bool,
    /// natter: acknowledge every message received (`acks on`, `ack <id>`), as the natter client does;
    /// the server then keeps each message until it is acknowledged.
    pub acks: bool,
    /// `login`: each cycle is a connection up to the server's first line (with `--tls`, a full
    /// handshake), then closed: connections (handshakes) per second.
    pub handshake_only: bool,
    /// The servers the users are spread over (user `u` on number `u % nodes`): the nodes of one
    /// cluster. With more than one, every direct message goes to a user on another node.
    pub nodes: u32,
    /// The number of the first user's name (`u<first>`): several generators can share a server.
    pub first_user: u32,
}

impl Plan {
    /// Users connected in the setup phase, before anything is measured.
    pub fn online(&self) -> u32 {
        match self.workload {
            Workload::Login => self.idle_users,
            _ => self.users,
        }
    }

    /// Accounts the server needs (`gen-credentials` makes `u0..` this many).
    pub fn accounts(&self) -> u32 {
        match self.workload {
            Workload::Login => self.idle_users + self.users,
            Workload::Offline => self.users + self.recipients,
            Workload::History => self.users + self.history,
            _ => self.users,
        }
    }

    /// The users that send messages.
    pub fn sender_count(&self) -> u32 {
        match self.workload {
            Workload::Direct | Workload::Offline | Workload::History => self.users,
            Workload::Fanout | Workload::Group => self.senders,
            Workload::Idle | Workload::Login => 0,
        }
    }

    /// Deliveries one message makes.
    pub fn fan(&self) -> u64 {
        match self.workload {
            Workload::Fanout | Workload::Group => u64::from(self.users.saturating_sub(1)),
            _ => 1,
        }
    }

    pub fn sends(&self) -> u64 {
        u64::from(self.sender_count()) * u64::from(self.messages)
    }

    pub fn expected_deliveries(&self) -> u64 {
        match self.workload {
            // Queries are answered, not delivered.
            Workload::History => 0,
            _ => self.sends() * self.fan(),
        }
    }

    /// Lines about other users that logging everybody in produces, so the setup phase can wait for the
    /// flood to end before measuring: natter tells every online user of each login; IRC tells every
    /// channel member of each `JOIN`, including the joiner itself; the relay tells nobody.
    pub fn expected_noise(&self) -> Option<u64> {
        let n = u64::from(self.online());
        match (self.proto, self.workload) {
            (ProtoKind::Natter, _) => Some(n * n.saturating_sub(1) / 2),
            // The relay tells nobody of anybody.
            (ProtoKind::Relay, _) => Some(0),
            (ProtoKind::Irc, Workload::Fanout | Workload::Group) => Some(n * (n + 1) / 2),
            (ProtoKind::Irc, _) => Some(0),
        }
    }

    /// Checks the plan makes sense before any connection is opened.
    pub fn validate(&self) -> Result<(), String> {
        let need = |ok: bool, msg: &str| if ok { Ok(()) } else { Err(msg.to_owned()) };
        match self.workload {
            Workload::Direct => {
                need(self.users >= 2, "direct needs --users 2 or more")?;
                need(
                    self.nodes <= 1 || self.users.is_multiple_of(self.nodes),
                    "with several --addr, direct needs --users a multiple of their number",
                )?
            }
            Workload::Fanout | Workload::Group => {
                let name = self.workload.name();
                need(self.users >= 2, &format!("{name} needs --users 2 or more"))?;
                need(
                    (1..=self.users).contains(&self.senders),
                    &format!("{name} needs 1 <= --senders <= --users"),
                )?;
            }
            Workload::Offline => {
                need(self.users >= 1, "offline needs --users 1 or more")?;
                need(self.recipients >= 1, "offline needs --recipients 1 or more")?;
                need(
                    self.proto == ProtoKind::Natter,
                    "offline needs --proto natter (IRC and the relay keep no messages for offline users)",
                )?;
            }
            Workload::Login => {
                need(self.concurrency >= 1, "login needs --concurrency 1 or more")?;
                need(
                    self.users >= self.concurrency,
                    "login needs --users >= --concurrency (each cycle in flight uses its own account)",
                )?;
                need(self.duration > 0.0, "login needs --duration above 0")?;
            }
            Workload::Idle => need(self.users >= 1, "idle needs --users 1 or more")?,
            Workload::History => {
                need(self.users >= 1, "history needs --users 1 or more")?;
                need(self.history >= 1, "history needs --history 1 or more")?;
                need(
                    self.concurrency >= 1,
                    "history needs --concurrency 1 or more",
                )?;
                need(
                    self.proto == ProtoKind::Natter,
                    "history needs --proto natter (IRC and the relay have no whoelsesince)",
                )?;
            }
        }
        need(
            !self.acks || self.proto.natter_lines(),
            "--acks needs --proto natter or relay (IRC has no acknowledgements)",
        )?;
        need(
            !(self.handshake_only && self.proto == ProtoKind::Relay),
            "--handshake-only needs a server that speaks first (the relay answers a whole login)",
        )?;
        if self.sender_count() > 0 {
            need(self.messages >= 1, "--messages must be 1 or more")?;
            need(self.window >= 1, "--window must be 1 or more")?;
        }
        if let Some(r) = self.rate {
            need(r > 0.0 && r.is_finite(), "--rate must be above 0")?;
            need(
                matches!(
                    self.workload,
                    Workload::Direct | Workload::Fanout | Workload::Group
                ),
                "--rate (open loop) applies to direct, fanout and group",
            )?;
        }
        need(
            self.size <= 400,
            "--size is at most 400 bytes (IRC lines are limited to 512)",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(workload: Workload) -> Plan {
        Plan {
            workload,
            proto: ProtoKind::Natter,
            users: 10,
            senders: 2,
            recipients: 4,
            messages: 5,
            window: 3,
            rate: None,
            size: 48,
            concurrency: 2,
            idle_users: 3,
            duration: 1.0,
            history: 7,
            seed: 1,
            tls: false,
            acks: false,
            handshake_only: false,
            nodes: 1,
            first_user: 0,
        }
    }

    #[test]
    fn expected_counts() {
        assert_eq!(plan(Workload::Direct).expected_deliveries(), 50);
        assert_eq!(plan(Workload::Fanout).expected_deliveries(), 2 * 5 * 9);
        assert_eq!(plan(Workload::Offline).expected_deliveries(), 50);
        assert_eq!(plan(Workload::Offline).accounts(), 14);
        assert_eq!(plan(Workload::Login).accounts(), 13);
        assert_eq!(plan(Workload::Login).online(), 3);
        assert_eq!(plan(Workload::Idle).expected_deliveries(), 0);
        assert_eq!(plan(Workload::History).expected_deliveries(), 0);
        assert_eq!(plan(Workload::History).sends(), 50);
        assert_eq!(plan(Workload::History).accounts(), 17);
        assert_eq!(plan(Workload::Direct).expected_noise(), Some(45));
        let mut irc = plan(Workload::Fanout);
        irc.proto = ProtoKind::Irc;
        assert_eq!(irc.expected_noise(), Some(55));
        let mut relay = plan(Workload::Direct);
        relay.proto = ProtoKind::Relay;
        assert_eq!(relay.expected_noise(), Some(0));
    }

    #[test]
    fn nonsense_is_refused() {
        let mut p = plan(Workload::Offline);
        p.proto = ProtoKind::Irc;
        assert!(p.validate().is_err());
        let mut p = plan(Workload::Fanout);
        p.senders = 11;
        assert!(p.validate().is_err());
        let mut p = plan(Workload::Idle);
        p.rate = Some(10.0);
        assert!(p.validate().is_err());
        let mut p = plan(Workload::History);
        p.proto = ProtoKind::Relay;
        assert!(p.validate().is_err());
        let mut p = plan(Workload::Login);
        p.proto = ProtoKind::Relay;
        assert!(p.validate().is_ok());
        p.handshake_only = true;
        assert!(p.validate().is_err());
        let mut p = plan(Workload::Direct);
        p.acks = true;
        assert!(p.validate().is_ok());
        p.proto = ProtoKind::Irc;
        assert!(p.validate().is_err());
        assert!(plan(Workload::Direct).validate().is_ok());
    }
}
