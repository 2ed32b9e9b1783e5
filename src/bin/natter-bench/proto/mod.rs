//! The two protocols the generator speaks: natter's own, and IRC, so the same workloads run against
//! ngircd and InspIRCd.
//!
//! Each mode does two jobs: write the few commands a workload sends (log in, message one user, message
//! everybody, log out) and sort every line the server sends into an [`Incoming`] the engine acts on.

mod irc;
mod natter;

use serde::Serialize;

/// Which protocol to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtoKind {
    /// natter's line protocol (docs/PROTOCOL.md).
    Natter,
    /// IRC (RFC 1459/2812 client commands): NICK/USER, PRIVMSG to a nick, one channel for broadcasts.
    Irc,
    /// natter's lines as the do-nothing relay (`natter-bench relay`) speaks them: no presence lines,
    /// nothing stored, no history.
    Relay,
}

impl ProtoKind {
    /// natter's own lines (natter, or the relay that imitates it).
    pub fn natter_lines(self) -> bool {
        matches!(self, ProtoKind::Natter | ProtoKind::Relay)
    }
}

/// What a server line means to the engine.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Login finished: natter `WELCOME`, IRC end of the MOTD (or "no MOTD").
    Ready,
    /// IRC: our `JOIN` finished (end of the names list).
    Joined,
    /// A message for this user: who the server says sent it, its text, and the id to acknowledge it by
    /// (natter `MSG` and `GROUP-MSG`; a broadcast and an IRC message have none).
    Delivery {
        from: &'a str,
        text: &'a str,
        id: Option<u64>,
    },
    /// natter: a message stored while this user was offline.
    Offline {
        id: u64,
        from: &'a str,
        text: &'a str,
    },
    /// natter: the server took our message (`SENT`, `STORED`, `BCAST-SENT`).
    Accepted,
    /// natter: the answer to `whoelse` / `whoelsesince`, listing this many users.
    Listed(usize),
    /// Other users coming and going (natter `PRESENCE`, IRC `JOIN`): counted, not checked.
    Noise,
    /// The server says goodbye (natter `BYE`, IRC `ERROR`).
    Bye,
    /// Prompts, banners, notices: nothing to do.
    Ignore,
    /// A line that should not happen in a benchmark run (an error reply, a line that does not parse).
    Unexpected(String),
}

/// A protocol mode with the user names of the run.
pub struct Proto {
    pub kind: ProtoKind,
    /// The number of the first user's name.
    first: u32,
    names: Vec<Box<str>>,
}

/// The channel every IRC user joins for `fanout` and `group`.
pub const CHANNEL: &str = "#bench";

/// The natter group of the `group` workload: `u0` creates it with every user of the run in it.
pub const GROUP: &str = "bench";

/// The name of bench user `i`, the same in both protocols (short enough for IRC's 9-character nicks).
pub fn user_name(i: u32) -> String {
    format!("u{i}")
}

/// The password `gen-credentials` gives bench user `i`.
pub fn password(i: u32) -> String {
    format!("pw-{i}")
}

impl Proto {
    /// `users` bench users, named from `u<first>` on (several generators can then share one server,
    /// or one cluster, each with its own users).
    pub fn new(kind: ProtoKind, users: u32, first: u32) -> Proto {
        Proto {
            kind,
            first,
            names: (0..users).map(|i| user_name(first + i).into()).collect(),
        }
    }

    pub fn name(&self, user: u32) -> &str {
        &self.names[user as usize]
    }

    /// The user number in a name we gave out (`u17` → 17).
    pub fn user_of(&self, name: &str) -> Option<u32> {
        let n: u32 = name
            .strip_prefix('u')?
            .parse::<u32>()
            .ok()?
            .checked_sub(self.first)?;
        ((n as usize) < self.names.len() && *self.names[n as usize] == *name).then_some(n)
    }

    /// The longest line either mode accepts from a server.
    pub fn max_line(&self) -> usize {
        64 * 1024
    }

    /// What to send as soon as the connection is up: the whole login, pipelined. `acks`: natter's
    /// acknowledged delivery (the natter client's way), else none.
    pub fn login(&self, user: u32, acks: bool, out: &mut Vec<u8>) {
        match self.kind {
            ProtoKind::Natter | ProtoKind::Relay => {
                natter::login(self.name(user), &password(self.first + user), acks, out)
            }
            ProtoKind::Irc => irc::login(self.name(user), out),
        }
    }

    /// What `user` does once logged in, before it counts as ready; true if it must wait for an answer
    /// ([`Incoming::Joined`]). IRC: every user joins the channel. natter: a broadcast reaches everybody
    /// online without joining anything; for `group`, `u0` creates the group and adds all `users` to it.
    pub fn join(&self, user: u32, group: bool, users: u32, out: &mut Vec<u8>) -> bool {
        match self.kind {
            ProtoKind::Natter if group && user == 0 => {
                let members: Vec<&str> = (1..users).map(|u| self.name(u)).collect();
                natter::create_group_added(GROUP, &members, out);
                true
            }
            ProtoKind::Relay if group && user == 0 => {
                let members: Vec<&str> = (1..users).map(|u| self.name(u)).collect();
                natter::create_group(GROUP, &members, out);
                true
            }
            ProtoKind::Natter | ProtoKind::Relay => false,
            ProtoKind::Irc => {
                irc::join(CHANNEL, out);
                true
            }
        }
    }

    /// One message to the group (natter `message group`; IRC `PRIVMSG` to the channel, as `fanout`).
    pub fn to_group(&self, text: &[u8], out: &mut Vec<u8>) {
        match self.kind {
            ProtoKind::Natter | ProtoKind::Relay => natter::message_group(GROUP, text, out),
            ProtoKind::Irc => irc::privmsg(CHANNEL, text, out),
        }
    }

    /// One message to one user; `text` holds the message text.
    pub fn direct(&self, to: u32, text: &[u8], out: &mut Vec<u8>) {
        match self.kind {
            ProtoKind::Natter | ProtoKind::Relay => natter::message(self.name(to), text, out),
            ProtoKind::Irc => irc::privmsg(self.name(to), text, out),
        }
    }

    /// One message to everybody (natter `broadcast`, IRC `PRIVMSG` to the channel).
    pub fn broadcast(&self, text: &[u8], out: &mut Vec<u8>) {
        match self.kind {
            ProtoKind::Natter | ProtoKind::Relay => natter::broadcast(text, out),
            ProtoKind::Irc => irc::privmsg(CHANNEL, text, out),
        }
    }

    pub fn logout(&self, out: &mut Vec<u8>) {
        match self.kind {
            ProtoKind::Natter | ProtoKind::Relay => natter::logout(out),
            ProtoKind::Irc => irc::quit(out),
        }
    }

    /// natter: ask who is online or was within the last `secs` seconds.
    pub fn whoelsesince(&self, secs: u64, out: &mut Vec<u8>) {
        if self.kind.natter_lines() {
            natter::whoelsesince(secs, out);
        }
    }

    /// natter: confirm stored messages up to `id` were received, so the server may forget them.
    pub fn ack(&self, id: u64, out: &mut Vec<u8>) {
        if self.kind.natter_lines() {
            natter::ack(id, out);
        }
    }

    /// Sorts one server line (without its line ending). Replies the protocol requires at once (an IRC
    /// `PONG`) are appended to `reply`. natter lines are decoded into `holder`, which the result borrows.
    pub fn classify<'a>(
        &self,
        line: &'a [u8],
        holder: &'a mut Option<natter_lib::ServerMsg>,
        reply: &mut Vec<u8>,
    ) -> Incoming<'a> {
        match self.kind {
            ProtoKind::Natter | ProtoKind::Relay => natter::classify(line, holder),
            ProtoKind::Irc => irc::classify(line, reply),
        }
    }
}

/// The crate's protocol types, under a name that does not clash with the `natter` mode.
pub use ::natter_core::protocol as natter_lib;
