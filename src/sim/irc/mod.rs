//! The seeded IRC simulator: IRC clients beside natter-protocol clients on one core, through the
//! composed server the real server runs (`tests/sim_irc.rs`, `SIM_IRC_SEEDS=N`).
//!
//! Each seed draws a run of intentions: natter clients log in (acknowledging what they read, as the
//! real client does, though now and then not before they go); IRC clients register with `PASS` or
//! with SASL PLAIN (now and then with a wrong password), or as guests; messages go every way (natter
//! to IRC, IRC to natter, IRC to IRC, to guests, actions as `/me` and CTCP `ACTION`); groups are
//! made, joined and left, and written to, as channels and as groups; blocks are made and undone
//! (`SILENCE` and `block`); the service nick is asked; connections drop, quit, are kicked by the
//! operator and idle out; the server stops and starts again from what it stored. After every step,
//! every IRC line written must read back with the codec within 512 bytes, and the reference model's
//! rules hold ([`ledger`]): nothing a recipient blocks reaches them, nothing is shown twice; at the
//! end every account logs in on natter's protocol for what was kept, and every message the server
//! took for an account was shown to it exactly once.
//!
//! The line-by-line model comparison of [`super::world`] does not cover IRC connections (the model
//! speaks natter's protocol only); these rules are checked on what the clients were shown instead.

pub mod ledger;

use std::collections::BTreeMap;

use base64::Engine as _;
use natter_core::irc::message::MAX_BODY;
use natter_core::irc::parse;
use natter_core::protocol::ServerMsg;
use natter_core::server::harness::{Harness, START};
use natter_core::server::{Account, Admin, Config, ConnId, Record, ServerState};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use ledger::Ledger;

/// Accounts `u0`…, passwords `p0`….
const USERS: usize = 8;
/// Client slots.
const SLOTS: usize = 12;
/// Groups `g0`…, as channels `#g0`….
const GROUPS: usize = 3;

/// What a slot's client speaks, and as whom.
#[derive(Clone, Debug)]
enum Kind {
    /// natter's protocol, as account `user`; `newest`: the newest message id it read.
    Natter { user: usize, newest: u64 },
    /// IRC, as `nick` (an account's name, or a guest's).
    Irc { nick: String, guest: bool },
}

#[derive(Clone, Debug)]
struct Slot {
    conn: ConnId,
    kind: Kind,
    /// Welcomed (and not gone).
    online: bool,
}

/// A passing run.
#[derive(Clone, Debug, Default)]
pub struct IrcRunStats {
    /// Steps taken (each a line, a connection, a drop, time passing, a restart).
    pub steps: usize,
    /// What the run reached, by name.
    pub coverage: BTreeMap<&'static str, u64>,
}

/// One seed's run: `ops` intentions, then the end (every account reads its mail). A failure says
/// the seed, the rule, and the last steps.
pub fn simulate_irc(seed: u64, ops: usize) -> Result<IrcRunStats, String> {
    let mut w = IrcWorld::new(seed);
    let result = (0..ops).try_for_each(|_| w.op()).and_then(|()| w.finish());
    match result {
        Ok(()) => Ok(IrcRunStats {
            steps: w.trace.len(),
            coverage: w.coverage,
        }),
        Err(e) => {
            let keep = std::env::var("SIM_IRC_TRACE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(40);
            let from = w.trace.len().saturating_sub(keep);
            let mut text = format!(
                "IRC simulation seed {seed} failed at step {}: {e}\nthe last steps:\n",
                w.trace.len()
            );
            for (i, s) in w.trace.iter().enumerate().skip(from) {
                text.push_str(&format!("{i:6}: {s}\n"));
            }
            text.push_str(&format!(
                "replay with: SIM_IRC_SEED={seed} cargo test --test sim_irc -- --nocapture\n"
            ));
            Err(text)
        }
    }
}

struct IrcWorld {
    h: Harness,
    rng: ChaCha8Rng,
    config: Config,
    slots: Vec<Option<Slot>>,
    ledger: Ledger,
    /// Every step, as text (for a failure's report).
    trace: Vec<String>,
    /// For unique texts and guest nicks.
    seq: u64,
    /// Durable records of the server's earlier runs (before restarts).
    records: Vec<Record>,
    restarts: u8,
    coverage: BTreeMap<&'static str, u64>,
}

fn account(i: usize) -> (String, String) {
    (format!("u{i}"), format!("p{i}"))
}

fn accounts() -> Vec<Account> {
    (0..USERS)
        .map(|i| {
            let (u, p) = account(i);
            Account {
                username: u,
                password: p,
            }
        })
        .collect()
}

impl IrcWorld {
    fn new(seed: u64) -> Self {
        let config = Config {
            guests: true,
            timeout_secs: 120,
            idle_warning_secs: 30,
            block_duration_secs: 20,
            login_timeout_secs: 60,
            ..Config::default()
        }
        .unlimited();
        let state = ServerState::new(config.clone(), accounts(), [0; 32]);
        IrcWorld {
            h: Harness::with_state(state, START),
            rng: ChaCha8Rng::seed_from_u64(seed),
            config,
            slots: vec![None; SLOTS],
            ledger: Ledger::default(),
            trace: Vec::new(),
            seq: 0,
            records: Vec::new(),
            restarts: 0,
            coverage: BTreeMap::new(),
        }
    }

    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn count(&mut self, what: &'static str) {
        *self.coverage.entry(what).or_default() += 1;
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// One intention.
    fn op(&mut self) -> Result<(), String> {
        match self.below(100) {
            0..=9 => self.login_natter(),
            10..=21 => self.login_irc(),
            22..=25 => self.login_guest(),
            26..=55 => self.direct_message(),
            56..=65 => self.group_op(),
            66..=70 => self.block_op(),
            71..=73 => self.ask_service(),
            74..=79 => self.drop_op(),
            80..=81 => self.kick(),
            82..=97 => {
                let ms = 1 + self.below(40_000) as u64;
                self.trace.push(format!("advance {ms} ms"));
                self.h.advance(ms);
                self.collect(None)
            }
            _ => self.restart(),
        }
    }

    /// A slot with nobody in it, if any.
    fn free_slot(&mut self) -> Option<usize> {
        let free: Vec<usize> = (0..SLOTS).filter(|&i| self.slots[i].is_none()).collect();
        (!free.is_empty()).then(|| free[self.below(free.len())])
    }

    /// A slot whose client is online, if any.
    fn online_slot(&mut self) -> Option<usize> {
        let on: Vec<usize> = (0..SLOTS)
            .filter(|&i| self.slots[i].as_ref().is_some_and(|s| s.online))
            .collect();
        (!on.is_empty()).then(|| on[self.below(on.len())])
    }

    /// Sends one line from slot `i`'s client.
    fn send(&mut self, i: usize, line: &str) {
        let Some(slot) = &self.slots[i] else { return };
        let conn = slot.conn;
        if self.h.is_closed(conn) {
            return;
        }
        self.trace.push(format!("{conn} sends {line:?}"));
        self.h.send(conn, line);
    }

    fn login_natter(&mut self) -> Result<(), String> {
        let Some(i) = self.free_slot() else {
            return Ok(());
        };
        let user = self.below(USERS);
        let (name, pass) = account(user);
        let conn = self.h.connect();
        self.trace
            .push(format!("{conn} connects (natter, as {name})"));
        self.slots[i] = Some(Slot {
            conn,
            kind: Kind::Natter { user, newest: 0 },
            online: false,
        });
        self.send(i, &name);
        self.send(i, &pass);
        self.send(i, "acks on");
        self.send(i, "receipts on");
        self.collect(None)
    }

    fn login_irc(&mut self) -> Result<(), String> {
        let Some(i) = self.free_slot() else {
            return Ok(());
        };
        let user = self.below(USERS);
        let (name, right) = account(user);
        let pass = if self.chance(5) {
            "wrong".to_owned()
        } else {
            right
        };
        let sasl = self.chance(40);
        let conn = self.h.irc_connect();
        self.trace.push(format!(
            "{conn} connects (IRC, as {name}, by {})",
            if sasl { "SASL" } else { "PASS" }
        ));
        self.slots[i] = Some(Slot {
            conn,
            kind: Kind::Irc {
                nick: name.clone(),
                guest: false,
            },
            online: false,
        });
        if sasl {
            self.count("irc-logins-sasl-tried");
            let caps = if self.chance(50) {
                "sasl server-time"
            } else {
                "sasl"
            };
            self.send(i, "CAP LS 302");
            self.send(i, &format!("CAP REQ :{caps}"));
            self.send(i, "AUTHENTICATE PLAIN");
            let payload =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{name}\0{pass}"));
            self.send(i, &format!("AUTHENTICATE {payload}"));
            self.send(i, &format!("NICK {name}"));
            self.send(i, "USER u 0 * :sim");
            self.send(i, "CAP END");
        } else {
            self.count("irc-logins-pass-tried");
            self.send(i, &format!("PASS {pass}"));
            self.send(i, &format!("NICK {name}"));
            self.send(i, "USER u 0 * :sim");
        }
        self.collect(None)?;
        // A client refused (a second login, a wrong password) goes away.
        if let Some(s) = &self.slots[i]
            && !s.online
        {
            let conn = s.conn;
            if !self.h.is_closed(conn) {
                self.trace.push(format!("{conn} drops"));
                self.h.disconnect(conn);
            }
            self.clear(i);
            return self.collect(None);
        }
        Ok(())
    }

    fn login_guest(&mut self) -> Result<(), String> {
        let Some(i) = self.free_slot() else {
            return Ok(());
        };
        let nick = format!("guest{}", self.next());
        let conn = self.h.irc_connect();
        self.trace
            .push(format!("{conn} connects (IRC, a guest, {nick})"));
        self.slots[i] = Some(Slot {
            conn,
            kind: Kind::Irc {
                nick: nick.clone(),
                guest: true,
            },
            online: false,
        });
        self.send(i, &format!("NICK {nick}"));
        self.send(i, "USER g 0 * :guest");
        self.collect(None)
    }

    /// Who slot `i`'s client is.
    fn who(&self, i: usize) -> Option<(String, bool)> {
        self.slots[i].as_ref().map(|s| match &s.kind {
            Kind::Natter { user, .. } => (account(*user).0, false),
            Kind::Irc { nick, guest } => (nick.clone(), *guest),
        })
    }

    /// A recipient: an account (online or not), or a guest online now.
    fn recipient(&mut self) -> (String, bool) {
        if self.chance(20) {
            let guests: Vec<String> = self
                .slots
                .iter()
                .flatten()
                .filter_map(|s| match &s.kind {
                    Kind::Irc { nick, guest: true } if s.online => Some(nick.clone()),
                    _ => None,
                })
                .collect();
            if !guests.is_empty() {
                return (guests[self.below(guests.len())].clone(), true);
            }
        }
        (account(self.below(USERS)).0, false)
    }

    fn direct_message(&mut self) -> Result<(), String> {
        let Some(i) = self.online_slot() else {
            return Ok(());
        };
        let (me, _) = self.who(i).unwrap_or_default();
        let (to, guest) = self.recipient();
        if to == me {
            return Ok(());
        }
        let n = self.next();
        let action = self.chance(20);
        let text = if action {
            format!("/me m{n}")
        } else {
            format!("m{n}")
        };
        let step = self.trace.len();
        self.ledger.sent(&text, &me, &to, step, guest);
        let line = match &self.slots[i].as_ref().map(|s| s.kind.clone()) {
            Some(Kind::Natter { .. }) => format!("message {to} {text}"),
            _ if action => format!("PRIVMSG {to} :\x01ACTION m{n}\x01"),
            _ => format!("PRIVMSG {to} :{text}"),
        };
        self.send(i, &line);
        self.collect(Some((i, text)))
    }

    fn group_op(&mut self) -> Result<(), String> {
        let Some(i) = self.online_slot() else {
            return Ok(());
        };
        let g = self.below(GROUPS);
        let natter = matches!(
            self.slots[i].as_ref().map(|s| &s.kind),
            Some(Kind::Natter { .. })
        );
        let (me, _) = self.who(i).unwrap_or_default();
        match self.below(4) {
            0 => {
                let line = if natter {
                    format!("group join g{g}")
                } else {
                    format!("JOIN #g{g}")
                };
                self.send(i, &line);
                self.collect(None)
            }
            1 => {
                let line = if natter {
                    format!("group leave g{g}")
                } else {
                    format!("PART #g{g}")
                };
                self.send(i, &line);
                self.collect(None)
            }
            _ => {
                let text = format!("gm{}", self.next());
                let step = self.trace.len();
                self.ledger.sent(&text, &me, &format!("#g{g}"), step, false);
                let line = if natter {
                    format!("message group g{g} {text}")
                } else {
                    format!("PRIVMSG #g{g} :{text}")
                };
                self.send(i, &line);
                self.collect(Some((i, text)))
            }
        }
    }

    fn block_op(&mut self) -> Result<(), String> {
        let Some(i) = self.online_slot() else {
            return Ok(());
        };
        let (other, _) = self.recipient();
        let on = self.chance(60);
        let list = self.chance(20);
        let line = match &self.slots[i].as_ref().map(|s| s.kind.clone()) {
            Some(Kind::Natter { .. }) if list => "blocks".to_owned(),
            Some(Kind::Natter { .. }) => {
                format!("{} {other}", if on { "block" } else { "unblock" })
            }
            _ if list => "SILENCE".to_owned(),
            _ => format!("SILENCE {}{other}", if on { '+' } else { '-' }),
        };
        self.send(i, &line);
        self.collect(None)
    }

    fn ask_service(&mut self) -> Result<(), String> {
        let irc: Vec<usize> = (0..SLOTS)
            .filter(|&i| {
                self.slots[i]
                    .as_ref()
                    .is_some_and(|s| s.online && matches!(s.kind, Kind::Irc { .. }))
            })
            .collect();
        if irc.is_empty() {
            return Ok(());
        }
        let i = irc[self.below(irc.len())];
        let ask = [
            "whoelse",
            "wholasthr",
            "offline",
            "whoelsesince 60",
            "frobnicate",
        ][self.below(5)];
        let conn = self.slots[i].as_ref().map(|s| s.conn);
        self.send(i, &format!("PRIVMSG natter :{ask}"));
        let before = self.coverage.get("service-answers").copied();
        self.collect(None)?;
        let still = conn.is_some_and(|c| !self.h.is_closed(c));
        if still && self.coverage.get("service-answers").copied() == before {
            return Err(format!("the service did not answer {ask:?}"));
        }
        Ok(())
    }

    fn drop_op(&mut self) -> Result<(), String> {
        let taken: Vec<usize> = (0..SLOTS).filter(|&i| self.slots[i].is_some()).collect();
        if taken.is_empty() {
            return Ok(());
        }
        let i = taken[self.below(taken.len())];
        let Some(slot) = self.slots[i].clone() else {
            return Ok(());
        };
        if self.chance(50) && !self.h.is_closed(slot.conn) {
            let line = match slot.kind {
                Kind::Natter { .. } => "logout",
                Kind::Irc { .. } => "QUIT :sim",
            };
            self.send(i, line);
            self.count("quits");
        } else {
            if !self.h.is_closed(slot.conn) {
                self.trace.push(format!("{} drops", slot.conn));
                self.h.disconnect(slot.conn);
            }
            self.count("drops");
        }
        self.collect(None)?;
        if let Some(s) = &self.slots[i]
            && !self.h.is_closed(s.conn)
        {
            self.h.disconnect(s.conn);
        }
        self.clear(i);
        self.collect(None)
    }

    fn kick(&mut self) -> Result<(), String> {
        let Some(i) = self.online_slot() else {
            return Ok(());
        };
        let (user, guest) = self.who(i).unwrap_or_default();
        if guest {
            return Ok(());
        }
        self.trace.push(format!("the operator kicks {user}"));
        self.count("kicks");
        self.h.admin(Admin::Kick {
            user,
            reason: "the simulator's operator".into(),
        });
        self.collect(None)
    }

    /// The server stops (as its operator stops it) and starts again on what it stored.
    fn restart(&mut self) -> Result<(), String> {
        self.trace.push("the server stops and starts again".into());
        self.count("restarts");
        self.h.shutdown();
        self.h.flush_lazy();
        self.collect(None)?;
        self.records.extend_from_slice(self.h.durable_records());
        self.restarts = self.restarts.wrapping_add(1);
        let now = self.h.now();
        let mut state = ServerState::new(self.config.clone(), accounts(), [self.restarts; 32]);
        state.restore(self.records.clone(), now);
        self.h = Harness::with_state(state, now);
        for i in 0..SLOTS {
            self.clear(i);
        }
        Ok(())
    }

    /// Slot `i`'s client is gone: a guest's blocks go with it.
    fn clear(&mut self, i: usize) {
        if let Some(Slot {
            kind: Kind::Irc { nick, guest: true },
            ..
        }) = self.slots[i].take()
        {
            self.ledger.guest_gone(&nick);
        }
    }

    /// Slot `i`'s natter client acknowledges what it read, up to `id`.
    fn ack(&mut self, i: usize, id: u64) {
        let Some((user, _)) = self.who(i) else { return };
        let open = self.slots[i]
            .as_ref()
            .is_some_and(|s| !self.h.is_closed(s.conn));
        if open {
            self.send(i, &format!("ack {id}"));
            self.ledger.acked(&user, id);
        }
    }

    /// Reads what every client was shown, checking it. `sent`: the slot that just sent a message and
    /// its text, refused if that client was told of a refusal.
    fn collect(&mut self, sent: Option<(usize, String)>) -> Result<(), String> {
        let mut refused = false;
        for _round in 0..50 {
            let mut acks = Vec::new();
            for i in 0..SLOTS {
                let Some(slot) = self.slots[i].clone() else {
                    continue;
                };
                let is_sender = sent.as_ref().is_some_and(|(s, _)| *s == i);
                match &slot.kind {
                    Kind::Natter { user, newest } => {
                        let mut newest = *newest;
                        let me = account(*user).0;
                        for m in self.h.take(slot.conn) {
                            refused |= is_sender && matches!(m, ServerMsg::Error(_));
                            self.natter_line(i, &me, &m, &mut newest)?;
                        }
                        if let Some(Slot {
                            kind: Kind::Natter { newest: n, .. },
                            ..
                        }) = self.slots[i].as_mut()
                        {
                            if newest > *n && self.rng.next_u64() % 10 < 8 {
                                acks.push((i, newest));
                            }
                            *n = newest;
                        }
                    }
                    Kind::Irc { nick, guest } => {
                        let text = self.h.take_irc(slot.conn);
                        refused |= is_sender && irc_refusal(&text);
                        self.irc_lines(i, nick, *guest, &text)?;
                    }
                }
                if self.h.is_closed(slot.conn) {
                    self.clear(i);
                }
            }
            if acks.is_empty() {
                break;
            }
            for (i, id) in acks {
                self.ack(i, id);
            }
        }
        if let Some((_, text)) = sent
            && refused
        {
            self.count("messages-refused");
            self.ledger.refused(&text)?;
        }
        Ok(())
    }

    fn natter_line(
        &mut self,
        i: usize,
        me: &str,
        m: &ServerMsg,
        newest: &mut u64,
    ) -> Result<(), String> {
        match m {
            ServerMsg::Welcome { .. } => {
                self.count("natter-logins");
                if let Some(s) = self.slots[i].as_mut() {
                    s.online = true;
                }
            }
            ServerMsg::Message { id, from, text, .. }
            | ServerMsg::OfflineMessage { id, from, text, .. }
            | ServerMsg::GroupMessage { id, from, text, .. } => {
                *newest = (*newest).max(*id);
                if text.starts_with("/me ") {
                    self.count("actions-shown-on-natter");
                }
                self.ledger.shown(me, from, text, Some(*id))?;
            }
            ServerMsg::Presence { user, .. } => self.ledger.presence(me, user)?,
            ServerMsg::Blocked { user } => {
                let step = self.trace.len();
                self.ledger.block(me, user, true, step);
            }
            ServerMsg::Unblocked { user } => {
                let step = self.trace.len();
                self.ledger.block(me, user, false, step);
            }
            ServerMsg::Blocks { users } => {
                let listed: Vec<String> = users.iter().map(|u| u.to_string()).collect();
                self.check_block_list(me, listed)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn irc_lines(&mut self, i: usize, me: &str, guest: bool, text: &str) -> Result<(), String> {
        if !text.is_empty() && !text.ends_with("\r\n") {
            return Err(format!("an IRC line without its ending: {text:?}"));
        }
        let mut silenced = Vec::new();
        for l in text.split("\r\n").filter(|l| !l.is_empty()) {
            let m = parse(l.as_bytes()).map_err(|e| format!("an IRC line {l:?}: {e}"))?;
            let body = l
                .strip_prefix('@')
                .map_or(l, |t| t.split_once(' ').map_or(t, |x| x.1));
            if body.len() + 2 > MAX_BODY {
                return Err(format!("an IRC line of {} bytes: {l:?}", body.len() + 2));
            }
            let nick = m.source.and_then(|s| s.split_once('!')).map(|(n, _)| n);
            match m.command {
                "001" => {
                    self.count(if guest { "guest-logins" } else { "irc-logins" });
                    if let Some(s) = self.slots[i].as_mut() {
                        s.online = true;
                    }
                }
                "PRIVMSG" => {
                    let (Some(from), Some(said)) = (nick, m.params.get(1)) else {
                        return Err(format!("a PRIVMSG without a sender or text: {l:?}"));
                    };
                    let shown = match said
                        .strip_prefix("\x01ACTION ")
                        .map(|a| a.strip_suffix('\x01').unwrap_or(a))
                    {
                        Some(action) => {
                            self.count("actions-shown-on-irc");
                            format!("/me {action}")
                        }
                        None => (*said).to_owned(),
                    };
                    if m.params[0].starts_with('#') {
                        self.count("group-messages-shown-on-irc");
                    } else {
                        self.count("messages-shown-on-irc");
                    }
                    if m.tags.iter().any(|t| t.key == "time") {
                        self.count("server-time-tags");
                    }
                    self.ledger.shown(me, from, &shown, None)?;
                }
                "SILENCE" => {
                    let entry = m.params.first().copied().unwrap_or("");
                    let user = entry[1..].split('!').next().unwrap_or("");
                    let step = self.trace.len();
                    self.count("silences");
                    self.ledger.block(me, user, entry.starts_with('+'), step);
                }
                "271" => {
                    let entry = m.params.get(2).copied().unwrap_or("");
                    silenced.push(entry.split('!').next().unwrap_or("").to_owned());
                }
                "272" => self.check_block_list(me, std::mem::take(&mut silenced))?,
                "NOTICE" if nick == Some("natter") => {
                    self.count("service-answers");
                    if m.params
                        .get(1)
                        .is_some_and(|t| t.contains("needs a natter account"))
                    {
                        self.count("silence-refused-to-guests");
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A block list `me` was shown (`blocks`, `SILENCE`) is the blocks the server confirmed.
    fn check_block_list(&mut self, me: &str, mut listed: Vec<String>) -> Result<(), String> {
        self.count("block-lists");
        listed.sort();
        let want = self.ledger.blocked_by(me);
        if listed != want {
            return Err(format!(
                "3-blacklist: {me}'s block list reads {listed:?}; the server confirmed {want:?}"
            ));
        }
        Ok(())
    }

    /// The end: every client goes, every deadline passes, then each account logs in on natter's
    /// protocol and reads (and acknowledges) what was kept for it, window after window; every message
    /// taken for an account must then have been shown to it exactly once.
    fn finish(&mut self) -> Result<(), String> {
        for i in 0..SLOTS {
            if let Some(s) = &self.slots[i]
                && !self.h.is_closed(s.conn)
            {
                self.h.disconnect(s.conn);
            }
            self.clear(i);
        }
        self.trace
            .push("every client goes; the clock passes every deadline".into());
        self.h.advance(600_000);
        for user in 0..USERS {
            let (name, pass) = account(user);
            let conn = self.h.connect();
            self.trace
                .push(format!("{conn} logs in as {name} for what was kept"));
            self.slots[0] = Some(Slot {
                conn,
                kind: Kind::Natter { user, newest: 0 },
                online: false,
            });
            self.send(0, &name);
            self.send(0, &pass);
            self.send(0, "acks on");
            for _ in 0..200 {
                self.collect(None)?;
                let Some(Slot {
                    kind: Kind::Natter { newest, .. },
                    ..
                }) = self.slots[0].clone()
                else {
                    break;
                };
                self.ack(0, newest);
                if self.h.peek(conn).is_empty() {
                    break;
                }
            }
            self.send(0, "logout");
            self.collect(None)?;
            self.slots[0] = None;
        }
        let checked = self.ledger.check_all_arrived()?;
        *self
            .coverage
            .entry("messages-checked-exactly-once")
            .or_default() += checked as u64;
        *self.coverage.entry("messages-taken").or_default() += self.ledger.taken() as u64;
        *self
            .coverage
            .entry("redelivered-unacknowledged")
            .or_default() += self.ledger.redelivered;
        Ok(())
    }
}

/// Whether an IRC client's lines tell of a refusal of what it sent: an error numeric, or a notice
/// of the service's that is not the news that the recipient is offline (its message kept).
fn irc_refusal(text: &str) -> bool {
    text.split("\r\n").any(|l| {
        let mut words = l.split(' ');
        let _source = words.next();
        let code = words.next().unwrap_or("");
        let numeric_error = code.len() == 3 && (code.starts_with('4') || code.starts_with('5'));
        let notice = code == "NOTICE" && l.starts_with(":natter!") && !l.contains(" is offline");
        numeric_error || notice
    })
}
