//! Seeded random intentions for the simulator.
//!
//! The generator looks at the clients' state (who is online, who is waiting for a password, who has a
//! private-chat request pending) and mostly picks things that can happen, like a real crowd would, rather than
//! random noise the server rejects. Users and slots are drawn with a skew towards a small "hot" group, so
//! that with hundreds of clients the same few still meet often enough to block, message and lock each other
//! out. Clock jumps aim at the model's deadlines and lockout ends, one or two milliseconds either side.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use super::clients::Clients;
use super::model::{MAcks, MPhase};
use super::step::{AdminOp, Cmd, Edge, Garbage, GroupRef, Op, Password, Slot, UserRef};

/// A seeded source of [`Op`]s. The same seed and the same states give the same ops.
pub struct Generator {
    rng: ChaCha8Rng,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// An index in `0..n`, most often among the first few.
    fn hot(&mut self, n: usize) -> usize {
        if self.chance(60) {
            self.below(n.min(6))
        } else {
            self.below(n)
        }
    }

    fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.below(v.len())])
    }

    fn user(&mut self, c: &Clients) -> UserRef {
        let n = c.model.order.len();
        match self.below(100) {
            0..2 => UserRef::Unknown,
            2..5 if c.setup.config.register => UserRef::New(self.below(4) as u8),
            _ => UserRef::Known(self.hot(n) as u16),
        }
    }

    fn password(&mut self) -> Password {
        match self.below(100) {
            0..75 => Password::Right,
            75..96 => Password::Wrong,
            _ => Password::Invalid,
        }
    }

    /// The next intention, given the clients' current state.
    pub fn op(&mut self, c: &Clients) -> Op {
        let slots = c.slot_count() as usize;
        let mut online = Vec::new();
        let mut empty = Vec::new();
        let mut waiting = Vec::new();
        for s in 0..slots as Slot {
            match c.phase(s) {
                Some(MPhase::Online { .. }) => online.push(s),
                Some(MPhase::Password(_)) | Some(MPhase::NewPassword(_)) => waiting.push(s),
                Some(MPhase::Username) => {}
                None => empty.push(s),
            }
        }
        let any_slot = self.hot(slots) as Slot;
        match self.below(1000) {
            0..130 => {
                let slot = self.pick(&empty).unwrap_or(any_slot);
                Op::Login(slot, self.user(c), self.password())
            }
            130..150 => Op::Username(any_slot, self.user(c)),
            150..170 => {
                let slot = self.pick(&waiting).unwrap_or(any_slot);
                Op::Password(slot, self.password())
            }
            170..250 if !c.model.offers.is_empty() => self.answer(c),
            170..620 => match self.pick(&online) {
                Some(slot) => Op::Command(slot, self.command(c, slot)),
                None => Op::Login(any_slot, self.user(c), Password::Right),
            },
            620..650 => Op::Garbage(any_slot, self.garbage()),
            650..658 => Op::TooLong(any_slot),
            658..690 => Op::Disconnect(self.pick(&online).unwrap_or(any_slot)),
            690..700 => Op::StopReading(self.pick(&online).unwrap_or(any_slot)),
            700..715 => Op::Read(any_slot),
            715..800 => Op::Advance(self.below(3000) as u32),
            800..860 => Op::AdvanceTo(Edge::Deadline(self.below(4) as u8), self.below(5) as i8 - 2),
            860..885 => Op::AdvanceTo(Edge::LockEnd(self.below(4) as u8), self.below(5) as i8 - 2),
            885..900 => {
                let half = c.setup.config.timeout_secs * 500;
                Op::Advance((half + self.below(half as usize + 1) as u64) as u32)
            }
            900..990 => {
                // Bursts of wrong passwords at the hot users, from any connection: the lockout edge.
                let slot = self.pick(&empty).unwrap_or(any_slot);
                let user = UserRef::Known(self.below(c.model.order.len().min(4)) as u16);
                Op::Login(slot, user, Password::Wrong)
            }
            990..993 => Op::Connect(self.pick(&empty).unwrap_or(any_slot)),
            // The operator: mostly at the hot users, so what they do meets logins and lockouts.
            993..996 => {
                let user = UserRef::Known(self.below(c.model.order.len().min(4)) as u16);
                Op::Admin(match self.below(6) {
                    0 => AdminOp::Kick(user, self.chance(50)),
                    1 => AdminOp::Ban(user, self.below(4) as u8),
                    2 => AdminOp::Unban(user),
                    3 => AdminOp::Unlock(user),
                    4 => AdminOp::Notice,
                    _ => AdminOp::SetPassword(user),
                })
            }
            // A crash while a command's batch is being committed: mostly the commands whose replies wait
            // for a commit (a stored message, a block), and acks (whose loss means a redelivery).
            996..998 => match self.pick(&online) {
                Some(slot) => Op::CrashDuring(slot, self.command(c, slot)),
                None => Op::Restart { graceful: false },
            },
            _ => Op::Restart {
                graceful: self.chance(50),
            },
        }
    }

    /// The target of a pending private-chat request answers it (mostly accepting).
    fn answer(&mut self, c: &Clients) -> Op {
        let offers: Vec<_> = c.model.offers.values().collect();
        let o = offers[self.below(offers.len())];
        let requester = c.model.order.iter().position(|n| *n == o.from).unwrap_or(0) as u16;
        let slot = c
            .model
            .user(&o.to)
            .conn
            .and_then(|conn| c.slot_of(conn))
            .unwrap_or(0);
        let who = UserRef::Known(requester);
        match self.below(10) {
            0..7 => Op::Command(slot, Cmd::Accept(who)),
            7..9 => Op::Command(slot, Cmd::Decline(who)),
            _ => Op::Command(slot, Cmd::Block(who)),
        }
    }

    fn garbage(&mut self) -> Garbage {
        match self.below(8) {
            0 => Garbage::InvalidUtf8,
            1 => Garbage::ControlChar,
            2 => Garbage::Empty,
            3 => Garbage::Blank,
            4 => Garbage::UnknownCommand,
            5 => Garbage::Usage,
            6 => Garbage::BadNumber,
            _ => Garbage::LongWord,
        }
    }

    /// A command for the user online on `slot`, aimed where it can do something.
    fn command(&mut self, c: &Clients, slot: Slot) -> Cmd {
        let (me, acks, receipts) = match c.phase(slot) {
            Some(MPhase::Online {
                user,
                acks,
                receipts,
                ..
            }) => (user.clone(), *acks, *receipts),
            _ => return Cmd::Help,
        };
        // Most clients are natter clients, which say at once that they acknowledge (and the full-screen
        // one asks for receipts next); some are people with nc, who say nothing (their first command
        // settles it) or say they do not.
        if acks == MAcks::Undecided {
            match self.below(100) {
                0..70 => return Cmd::Acks(true),
                70..76 => return Cmd::Acks(false),
                _ => {}
            }
        }
        if acks == MAcks::On && !receipts && self.chance(40) {
            return Cmd::Receipts(true);
        }
        // A client that acknowledges does so for what it read (the real one, within moments).
        let unacked = c.slots[usize::from(slot)]
            .newest_read
            .is_some_and(|_| acks == MAcks::On);
        if unacked && self.chance(30) {
            return Cmd::AckReceived;
        }
        let index_of =
            |name: &str| c.model.order.iter().position(|n| &**n == name).unwrap_or(0) as u16;
        let requesters: Vec<u16> = c
            .model
            .offers
            .values()
            .filter(|o| o.to == me)
            .map(|o| index_of(&o.from))
            .collect();
        let online: Vec<u16> = c.model.online().map(|(n, _)| index_of(n)).collect();
        let my_port = c
            .model
            .user(&me)
            .conn
            .and_then(|conn| c.model.p2p_port(conn));
        if my_port.is_none() && self.chance(30) {
            return Cmd::P2pPort(1 + self.below(60_000) as u16);
        }
        if self.chance(25) {
            return self.group_command(c, &me);
        }
        if self.chance(10) {
            return self.keys_command(c, &me);
        }
        match self.below(100) {
            0..25 => Cmd::Message(self.user(c)),
            25..33 => Cmd::Broadcast,
            33..39 => Cmd::WhoElse,
            39..45 => Cmd::WhoElseSince(if self.chance(5) {
                255
            } else {
                self.below(26) as u8
            }),
            45..53 => Cmd::Block(self.user(c)),
            53..57 => Cmd::Unblock(self.user(c)),
            57..58 => Cmd::Blocks,
            58..64 => Cmd::P2pPort(1 + self.below(60_000) as u16),
            64..72 => match self.pick(&online) {
                Some(u) => Cmd::StartPrivate(UserRef::Known(u)),
                None => Cmd::StartPrivate(self.user(c)),
            },
            72..78 => match self.pick(&requesters) {
                Some(u) => Cmd::Accept(UserRef::Known(u)),
                None => Cmd::Accept(self.user(c)),
            },
            78..81 => match self.pick(&requesters) {
                Some(u) => Cmd::Decline(UserRef::Known(u)),
                None => Cmd::Decline(self.user(c)),
            },
            81..83 => Cmd::StopPrivate(self.user(c)),
            83..87 => Cmd::Logout,
            87..88 => Cmd::Help,
            88..91 => Cmd::Active,
            91..99 => Cmd::AckReceived,
            _ => Cmd::AckId(self.below(20) as u8),
        }
    }

    /// The key directory: mostly what the natter client does (publish an identity, top one-time keys
    /// up, claim a contact's keys), sometimes what a person or a broken client might.
    fn keys_command(&mut self, c: &Clients, me: &str) -> Cmd {
        // A natter client publishes its identity first.
        if c.model.user(me).keys.is_none() && self.chance(60) {
            return Cmd::KeysIdentity(0);
        }
        let published: Vec<u16> = c
            .model
            .order
            .iter()
            .enumerate()
            .filter(|(_, n)| c.model.user(n).keys.is_some())
            .map(|(i, _)| i as u16)
            .collect();
        let contact = |g: &mut Self| match g.pick(&published).filter(|_| g.chance(75)) {
            Some(u) => UserRef::Known(u),
            None => g.user(c),
        };
        match self.below(100) {
            0..20 => Cmd::KeysIdentity(if self.chance(80) {
                0
            } else {
                self.below(3) as u8
            }),
            20..45 => Cmd::KeysAdd(if self.chance(90) {
                1 + self.below(20) as u8
            } else {
                21 + self.below(5) as u8
            }),
            45..55 => Cmd::KeysFallback,
            55..88 => Cmd::KeysClaim(contact(self)),
            88..92 => Cmd::KeysShow(contact(self)),
            92..96 => Cmd::MessageSealed(contact(self), self.below(3) as u8),
            _ => Cmd::KeysMalformed(self.below(4) as u8),
        }
    }

    /// Groups, and the small commands that came with them: mostly aimed at groups the user is in.
    fn group_command(&mut self, c: &Clients, me: &str) -> Cmd {
        let mine: Vec<u8> = (0..3u8)
            .filter(|n| {
                c.model
                    .groups
                    .get(format!("g{n}").as_str())
                    .is_some_and(|m| m.iter().any(|u| &**u == me))
            })
            .collect();
        let g = if self.chance(3) {
            GroupRef::Invalid
        } else if let Some(n) = self.pick(&mine).filter(|_| self.chance(75)) {
            GroupRef::Named(n)
        } else {
            GroupRef::Named(self.below(3) as u8)
        };
        match self.below(144) {
            0..15 => Cmd::CreateGroup(g, self.user(c), self.user(c)),
            15..50 => Cmd::MessageGroup(g),
            50..62 => Cmd::GroupAdd(g, self.user(c)),
            62..70 => Cmd::GroupLeave(g),
            70..76 => Cmd::GroupMembers(g),
            76..82 => Cmd::GroupList,
            82..88 => Cmd::Ping(self.user(c)),
            88..91 => Cmd::Receipts(self.chance(70)),
            91..92 => Cmd::Acks(self.chance(50)),
            92..96 => Cmd::WhoLastHr,
            96..100 => Cmd::Offline,
            100..122 => {
                // Mostly a group the user is invited to, as a person answering an invitation.
                let invited: Vec<u8> = (0..3u8)
                    .filter(|n| {
                        c.model
                            .invitations
                            .get(me)
                            .is_some_and(|i| i.contains_key(format!("g{n}").as_str()))
                    })
                    .collect();
                match self.pick(&invited).filter(|_| self.chance(80)) {
                    Some(n) => Cmd::GroupJoin(GroupRef::Named(n)),
                    None => Cmd::GroupJoin(g),
                }
            }
            122..124 => Cmd::GroupDecline(g),
            124..127 => Cmd::GroupRemove(g, self.user(c), self.chance(50)),
            127..131 => Cmd::GroupTopic(g, [0, 1, 1, 1, 2][self.below(5)]),
            131..133 => Cmd::GroupOwner(g, self.user(c)),
            133..138 => Cmd::GroupSet(g, self.below(6) as u8),
            138..141 => Cmd::Away(self.chance(60)),
            _ => Cmd::Whois(self.user(c)),
        }
    }
}
