//! IRC sessions under random operations, on the harness beside a natter-protocol user: every line
//! the front writes reads back with the codec and fits IRC's 512 bytes, nothing panics, and every
//! message the natter user sends to an account reaches it exactly once, over IRC or, at the end, as
//! a kept message on natter's own protocol, whatever the IRC connections did meanwhile (registering
//! by PASS or SASL, asking for IRCv3 capabilities (tags, echoes, labeled responses and batches),
//! quitting, dropping, idling out, sending garbage).

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::irc::message::{MAX_BODY, parse};
use crate::protocol::ServerMsg;
use crate::server::harness::Harness;
use crate::server::{Config, ConnId};

const ACCOUNTS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
];
/// The accounts IRC connections use (dave speaks natter's protocol).
const IRC_USERS: usize = 3;
const SLOTS: usize = 3;

#[derive(Clone, Debug)]
enum Line {
    /// A whole registration, by PASS or by SASL, with `server-time` or not.
    Register {
        user: usize,
        sasl: bool,
        time: bool,
    },
    /// A SASL login with the negotiation left open: logged in, the welcome not said yet.
    SaslOnly(usize),
    Pass {
        user: usize,
        right: bool,
    },
    Nick(usize),
    User,
    CapLs,
    CapReq(&'static str),
    CapEnd,
    Sasl {
        user: usize,
        right: bool,
    },
    Ping,
    Privmsg(usize),
    /// A `PRIVMSG` with a label and a client-only tag.
    LabeledPrivmsg(usize),
    /// A `JOIN` with a label (several replies: a batch).
    LabeledJoin,
    Quit,
    Garbage(Vec<u8>),
}

#[derive(Clone, Debug)]
enum Op {
    Irc {
        slot: usize,
        line: Line,
    },
    Reconnect(usize),
    Drop(usize),
    /// dave sends a message to the IRC account.
    Natter(usize),
    Advance(u64),
}

fn line() -> impl Strategy<Value = Line> {
    let user = 0..IRC_USERS;
    prop_oneof![
        4 => (user.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(user, sasl, time)| Line::Register { user, sasl, time }),
        2 => user.clone().prop_map(Line::SaslOnly),
        1 => (user.clone(), prop::bool::weighted(0.8)).prop_map(|(user, right)| Line::Pass { user, right }),
        1 => user.clone().prop_map(Line::Nick),
        1 => Just(Line::User),
        1 => Just(Line::CapLs),
        1 => prop_oneof![
            Just("sasl"),
            Just("server-time"),
            Just("sasl server-time"),
            Just("batch"),
            Just("message-tags echo-message"),
            Just("labeled-response batch"),
            Just("labeled-response"),
            Just("-echo-message"),
        ]
            .prop_map(Line::CapReq),
        1 => Just(Line::CapEnd),
        1 => (user.clone(), prop::bool::weighted(0.8)).prop_map(|(user, right)| Line::Sasl { user, right }),
        1 => Just(Line::Ping),
        1 => (0..ACCOUNTS.len()).prop_map(Line::Privmsg),
        1 => (0..ACCOUNTS.len()).prop_map(Line::LabeledPrivmsg),
        1 => Just(Line::LabeledJoin),
        1 => Just(Line::Quit),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Line::Garbage),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..SLOTS, line()).prop_map(|(slot, line)| Op::Irc { slot, line }),
        1 => (0..SLOTS).prop_map(Op::Reconnect),
        1 => (0..SLOTS).prop_map(Op::Drop),
        3 => (0..IRC_USERS).prop_map(Op::Natter),
        1 => (1u64..200).prop_map(Op::Advance),
    ]
}

fn plain(user: usize, right: bool) -> String {
    use base64::Engine as _;
    let (name, pass) = ACCOUNTS[user];
    let pass = if right { pass } else { "nope" };
    let raw = format!("\0{name}\0{pass}");
    format!(
        "AUTHENTICATE {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

struct World {
    h: Harness,
    slots: [Option<ConnId>; SLOTS],
    dave: ConnId,
    sent: u64,
    /// How often each (recipient, text) of dave's was seen.
    seen: BTreeMap<(String, String), u32>,
    /// dave's messages, by recipient.
    wanted: Vec<(String, String)>,
    /// How many of them came over IRC (the rest came at the end).
    over_irc: usize,
}

impl World {
    fn new() -> Self {
        let mut h = Harness::new(
            Config {
                block_duration_secs: 60,
                timeout_secs: 300,
                idle_warning_secs: 60,
                ..Config::default()
            },
            ACCOUNTS,
        );
        let dave = h.login("dave", "dpw");
        World {
            h,
            slots: [None; SLOTS],
            dave,
            sent: 0,
            seen: BTreeMap::new(),
            wanted: Vec::new(),
            over_irc: 0,
        }
    }

    fn slot(&mut self, i: usize) -> ConnId {
        match self.slots[i] {
            Some(c) if !self.h.is_closed(c) => c,
            _ => {
                let c = self.h.irc_connect();
                self.slots[i] = Some(c);
                c
            }
        }
    }

    /// Reads what every IRC connection got: each line well formed and within 512 bytes; dave's
    /// messages counted.
    fn read_irc(&mut self) {
        for c in self.slots.iter().flatten().copied().collect::<Vec<_>>() {
            let text = self.h.take_irc(c);
            assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
            for l in text.split("\r\n").filter(|l| !l.is_empty()) {
                let m = parse(l.as_bytes()).unwrap_or_else(|e| panic!("{l:?}: {e}"));
                let body = l
                    .strip_prefix('@')
                    .map_or(l, |t| t.split_once(' ').unwrap().1);
                assert!(body.len() + 2 <= MAX_BODY, "{} bytes: {l}", body.len());
                if m.is("PRIVMSG") && m.source == Some("dave!dave@natter") {
                    let key = (m.params[0].to_owned(), m.params[1].to_owned());
                    *self.seen.entry(key).or_default() += 1;
                    self.over_irc += 1;
                }
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Irc { slot, line } => {
                let c = self.slot(*slot);
                let text = match line {
                    Line::Register { user, sasl, time } => {
                        let (name, pass) = ACCOUNTS[*user];
                        let caps = match (sasl, time) {
                            (true, true) => "sasl server-time",
                            (true, false) => "sasl",
                            (false, true) => "server-time",
                            (false, false) => "",
                        };
                        self.h.send(c, "CAP LS 302");
                        if !caps.is_empty() {
                            self.h.send(c, &format!("CAP REQ :{caps}"));
                        }
                        if *sasl {
                            self.h.send(c, "AUTHENTICATE PLAIN");
                            self.h.send(c, &plain(*user, true));
                        } else {
                            self.h.send(c, &format!("PASS {pass}"));
                        }
                        self.h.send(c, &format!("NICK {name}"));
                        self.h.send(c, "USER u 0 * :u");
                        "CAP END".to_owned()
                    }
                    Line::SaslOnly(user) => {
                        self.h.send(c, "CAP REQ :sasl");
                        self.h.send(c, "AUTHENTICATE PLAIN");
                        plain(*user, true)
                    }
                    Line::Pass { user, right } => {
                        format!("PASS {}", if *right { ACCOUNTS[*user].1 } else { "nope" })
                    }
                    Line::Nick(user) => format!("NICK {}", ACCOUNTS[*user].0),
                    Line::User => "USER u 0 * :u".to_owned(),
                    Line::CapLs => "CAP LS 302".to_owned(),
                    Line::CapReq(caps) => format!("CAP REQ :{caps}"),
                    Line::CapEnd => "CAP END".to_owned(),
                    Line::Sasl { user, right } => {
                        self.h.send(c, "AUTHENTICATE PLAIN");
                        plain(*user, *right)
                    }
                    Line::Ping => "PING :x".to_owned(),
                    Line::Privmsg(to) => format!("PRIVMSG {} :from irc", ACCOUNTS[*to].0),
                    Line::LabeledPrivmsg(to) => {
                        format!("@label=p;+x=y PRIVMSG {} :tagged", ACCOUNTS[*to].0)
                    }
                    Line::LabeledJoin => "@label=j JOIN #room".to_owned(),
                    Line::Quit => "@label=q QUIT :bye".to_owned(),
                    Line::Garbage(bytes) => {
                        self.h.send_bytes(c, bytes);
                        self.read_irc();
                        return;
                    }
                };
                self.h.send(c, &text);
            }
            Op::Reconnect(slot) => {
                if let Some(c) = self.slots[*slot].take()
                    && !self.h.is_closed(c)
                {
                    self.h.disconnect(c);
                }
                self.slot(*slot);
            }
            Op::Drop(slot) => {
                if let Some(c) = self.slots[*slot].take()
                    && !self.h.is_closed(c)
                {
                    self.h.disconnect(c);
                }
            }
            Op::Natter(to) => {
                if self.h.is_closed(self.dave) {
                    self.h.advance_secs(11);
                    self.dave = self.h.login("dave", "dpw");
                }
                self.sent += 1;
                let text = format!("m{}", self.sent);
                let to = ACCOUNTS[*to].0.to_owned();
                self.h.send(self.dave, &format!("message {to} {text}"));
                self.wanted.push((to, text));
                self.h.take(self.dave);
            }
            Op::Advance(secs) => self.h.advance_secs(*secs),
        }
        self.read_irc();
    }

    /// Every IRC connection ends; each account then logs in on natter's protocol and reads what was
    /// kept for it. Every message of dave's was seen exactly once.
    fn finish(mut self) {
        for c in self.slots.iter_mut().filter_map(Option::take) {
            if !self.h.is_closed(c) {
                self.h.disconnect(c);
            }
        }
        // Past any lockout and login rationing.
        self.h.advance_secs(600);
        for (name, pass) in &ACCOUNTS[..IRC_USERS] {
            let c = self.h.connect();
            self.h.send(c, name);
            self.h.send(c, pass);
            for m in self.h.take(c) {
                if let ServerMsg::OfflineMessage { from, text, .. } = m
                    && &*from == "dave"
                {
                    *self.seen.entry(((*name).to_owned(), text)).or_default() += 1;
                }
            }
        }
        if std::env::var_os("IRC_PROPS_STATS").is_some() {
            eprintln!("{} sent, {} over IRC", self.wanted.len(), self.over_irc);
        }
        for key in &self.wanted {
            assert_eq!(
                self.seen.get(key),
                Some(&1),
                "{key:?}: seen {:?}",
                self.seen
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn irc_sessions_keep_every_message_once_and_write_only_good_lines(ops in prop::collection::vec(op(), 1..60)) {
        let mut w = World::new();
        for op in &ops {
            w.apply(op);
        }
        w.finish();
    }
}
