//! What the operator's log says of refusals: which address was refused what, how often, aggregated and
//! rate-limited, as a sans-IO value with time passed in (like [`pacing`](super::pacing)).
//!
//! The server turns clients away for many reasons an operator wants to know of: a session ended for
//! flooding (`BYE flood`), logins refused (throttled, cooling down, too frequent), registrations
//! throttled, connections refused (too many logging in, new connections too fast, out of file
//! descriptors), logins never finished (`login-timeout`: a slowloris holds connections that way),
//! clients dropped for not reading what they were sent (the other slowloris), and a client speaking
//! plain text at the TLS port or TLS at the plain-text one. Logged one by one, an
//! attacker would write the log as fast as it can connect; not logged, the operator never learns of it.
//! So they are summed up per address:
//!
//! - The first refusal of an address that had no line for a minute is logged at once (the operator
//!   learns of a new source promptly), and opens that address's minute.
//! - What the address does during its minute is counted; when the minute is up, the counts are one line
//!   (which opens the next minute), so an address gets at most one line a minute however hard it tries.
//! - At most [`OperatorLogConfig::max_addresses`] addresses are kept apart; refusals of any others are
//!   counted together and logged as one line a minute, so many addresses cannot flood the log either,
//!   nor this value's memory. Lines logged at once are rationed too (a burst, then one a second);
//!   past that, the refusal waits for its address's summary.
//!
//! Lines name the address, the account when the server knows it (never a name typed at the username
//! prompt: that may be a mistyped password), the protocol code, and the end of a cool-down as a UTC
//! time (ISO 8601). Never a password or what anybody wrote.
//!
//! The shell feeds it what it sees: each output of the core, effect by effect
//! ([`OperatorLog::note_sent`], [`OperatorLog::note_record`], then [`OperatorLog::end_output`]: the
//! goodbyes and errors the core sends, [`Refusal::of`]), and its own refusals
//! ([`OperatorLog::note`]); its one deadline ([`OperatorLog::poll_timeout`]) joins the driver's one
//! timer.

use std::collections::HashMap;
use std::fmt::Write;
use std::net::IpAddr;

use crate::protocol::{ByeReason, ErrorReply, Name, ServerMsg};
use crate::server::record::Record;
use crate::time::{Timestamp, utc};

/// What reading one output of the core has seen so far that waits for the rest of it: a `BYE flood`,
/// whose account is named by the logout record that follows it in the same output (the goodbye itself
/// names none). Its address, and when its cool-down ends.
#[derive(Debug, Default)]
pub struct OutputNotes {
    flooded: Option<(IpAddr, Option<Timestamp>)>,
}

/// Why a client was turned away, as the operator reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Disconnected for flooding (`BYE flood`).
    Flood,
    /// A login refused while the account or address cools down after a flood (`flood-cooldown`).
    FloodCooldown,
    /// A login refused: the account or address logged in too often (`too-many-logins`).
    TooManyLogins,
    /// A login refused: too many failed logins from the address (`login-throttled`).
    LoginThrottled,
    /// A registration refused: too many accounts created from the address (`register-throttled`).
    RegisterThrottled,
    /// A connection refused: too many from the address are logging in (`too-many-connections`).
    TooManyConnections,
    /// A connection refused before its handshake: new connections too fast (`connect-throttled`).
    ConnectThrottled,
    /// A connection refused: no file descriptor left (`full`).
    Full,
    /// A login not finished in time (`login-timeout`): a slowloris, or someone who walked away.
    LoginTimeout,
    /// Dropped for not reading what it was sent, past the outbound bound: a slow-reading slowloris
    /// (or a client stuck on a dead link). No goodbye is sent: it would not be read.
    SlowReader,
    /// Plain text at the TLS port (`tls-required`).
    PlainTextAtTls,
    /// A TLS handshake at the plain-text port (`plaintext-only`).
    TlsAtPlainText,
}

const KINDS: usize = 12;

impl Refusal {
    const ALL: [Refusal; KINDS] = [
        Refusal::Flood,
        Refusal::FloodCooldown,
        Refusal::TooManyLogins,
        Refusal::LoginThrottled,
        Refusal::RegisterThrottled,
        Refusal::TooManyConnections,
        Refusal::ConnectThrottled,
        Refusal::Full,
        Refusal::LoginTimeout,
        Refusal::SlowReader,
        Refusal::PlainTextAtTls,
        Refusal::TlsAtPlainText,
    ];

    /// The refusal a line the server sends is, if it is one.
    pub fn of(msg: &ServerMsg) -> Option<Refusal> {
        Some(match msg {
            ServerMsg::Bye(reason) => match reason {
                ByeReason::Flood { .. } => Refusal::Flood,
                ByeReason::TooManyConnections { .. } => Refusal::TooManyConnections,
                ByeReason::ConnectThrottled { .. } => Refusal::ConnectThrottled,
                ByeReason::Full => Refusal::Full,
                ByeReason::LoginTimeout { .. } => Refusal::LoginTimeout,
                ByeReason::TlsRequired => Refusal::PlainTextAtTls,
                ByeReason::PlainTextOnly => Refusal::TlsAtPlainText,
                _ => return None,
            },
            ServerMsg::Error(e) => match e {
                ErrorReply::FloodCooldown { .. } => Refusal::FloodCooldown,
                ErrorReply::TooManyLogins { .. } => Refusal::TooManyLogins,
                ErrorReply::LoginThrottled { .. } => Refusal::LoginThrottled,
                ErrorReply::RegisterThrottled { .. } => Refusal::RegisterThrottled,
                _ => return None,
            },
            _ => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }

    /// What happened, for the operator, with the protocol's code.
    fn describe(self) -> &'static str {
        match self {
            Refusal::Flood => "disconnected for flooding (BYE flood)",
            Refusal::FloodCooldown => "login refused during a flood cool-down (flood-cooldown)",
            Refusal::TooManyLogins => "login refused: logged in too often (too-many-logins)",
            Refusal::LoginThrottled => "login refused: too many failed logins (login-throttled)",
            Refusal::RegisterThrottled => {
                "registration refused: too many accounts created (register-throttled)"
            }
            Refusal::TooManyConnections => {
                "connection refused: too many logging in at once (too-many-connections)"
            }
            Refusal::ConnectThrottled => {
                "connection refused before its handshake: new connections too fast (connect-throttled)"
            }
            Refusal::Full => "connection refused: no file descriptor left (full)",
            Refusal::LoginTimeout => "login not finished in time (login-timeout)",
            Refusal::SlowReader => "dropped: not reading what it was sent (slow reader)",
            Refusal::PlainTextAtTls => "plain text at the TLS port (tls-required)",
            Refusal::TlsAtPlainText => "TLS handshake at the plain-text port (plaintext-only)",
        }
    }

    /// Abuse, or a limit at work, is a warning; what a misconfigured or absent-minded client does is
    /// information.
    fn level(self) -> Level {
        match self {
            Refusal::LoginTimeout | Refusal::PlainTextAtTls | Refusal::TlsAtPlainText => {
                Level::Info
            }
            _ => Level::Warn,
        }
    }
}

/// How loud a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something to know, not to act on: a client that is misconfigured or gave up.
    Info,
    /// Abuse, or a limit at work.
    Warn,
}

/// One line for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// How loud it is.
    pub level: Level,
    /// The line, naming the address and what it was refused.
    pub text: String,
}

/// The numbers of the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorLogConfig {
    /// An address's minute: at most one line per address per this long.
    pub window_ms: u64,
    /// Addresses kept apart; refusals of others are summed up together.
    pub max_addresses: usize,
    /// Lines logged at once (first refusals of an address): a burst, then one per `immediate_every_ms`.
    pub immediate_burst: u32,
    /// Milliseconds per line logged at once, once the burst is spent.
    pub immediate_every_ms: u64,
    /// Account names kept per line.
    pub max_names: usize,
}

impl Default for OperatorLogConfig {
    fn default() -> Self {
        OperatorLogConfig {
            window_ms: 60_000,
            max_addresses: 4096,
            immediate_burst: 20,
            immediate_every_ms: 1000,
            max_names: 5,
        }
    }
}

/// What one address (or all the others together) did since its last line.
#[derive(Debug, Default)]
struct Tally {
    counts: [u32; KINDS],
    /// Accounts named, at most `max_names` (the rest are counted).
    names: Vec<Name>,
    more_names: u32,
    /// The latest end of a cool-down among them.
    until: Option<Timestamp>,
    /// The end of its minute: no line before then.
    quiet_until: Timestamp,
}

impl Tally {
    fn is_empty(&self) -> bool {
        self.counts.iter().all(|&n| n == 0)
    }

    fn add(
        &mut self,
        what: Refusal,
        user: Option<&Name>,
        until: Option<Timestamp>,
        max_names: usize,
    ) {
        self.counts[what.index()] = self.counts[what.index()].saturating_add(1);
        if let Some(user) = user
            && !self.names.contains(user)
        {
            if self.names.len() < max_names {
                self.names.push(user.clone());
            } else {
                self.more_names = self.more_names.saturating_add(1);
            }
        }
        self.until = self.until.max(until);
    }

    /// The line for what was counted, and a fresh count.
    fn take_line(&mut self, subject: &str, span: Option<u64>) -> LogLine {
        let mut text = String::new();
        let mut level = Level::Info;
        let _ = write!(text, "{subject}");
        if let Some(secs) = span {
            let _ = write!(text, " in the last {secs} s");
        }
        text.push(':');
        let mut first = true;
        for what in Refusal::ALL {
            let n = self.counts[what.index()];
            if n == 0 {
                continue;
            }
            level = level.max(what.level());
            text.push_str(if first { " " } else { "; " });
            first = false;
            if n > 1 || span.is_some() {
                let _ = write!(text, "{n} x ");
            }
            text.push_str(what.describe());
        }
        if !self.names.is_empty() {
            let names: Vec<&str> = self.names.iter().map(|n| &**n).collect();
            let _ = write!(
                text,
                "; account{} {}",
                plural(names.len()),
                names.join(", ")
            );
            if self.more_names > 0 {
                let _ = write!(text, " and {} more", self.more_names);
            }
        }
        if let Some(until) = self.until {
            let _ = write!(
                text,
                "; no login from this address or by the account until {}",
                utc(until)
            );
        }
        *self = Tally {
            quiet_until: self.quiet_until,
            ..Tally::default()
        };
        LogLine { level, text }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The policy's state. See the [module documentation](self).
#[derive(Debug)]
pub struct OperatorLog {
    cfg: OperatorLogConfig,
    by_address: HashMap<IpAddr, Tally>,
    /// Refusals of addresses beyond `max_addresses`, together.
    others: Tally,
    /// Lines logged at once, rationed: when the next may be (its bucket is the burst ahead of it).
    immediate_tat: Timestamp,
    /// The earliest end of a minute with something counted.
    next: Option<Timestamp>,
}

impl OperatorLog {
    /// A log that has counted nothing yet.
    pub fn new(cfg: OperatorLogConfig) -> Self {
        OperatorLog {
            cfg,
            by_address: HashMap::new(),
            others: Tally::default(),
            immediate_tat: Timestamp::ZERO,
            next: None,
        }
    }

    /// `address` was refused `what` at `now` (the account `user`, when the server knows it; a
    /// cool-down that ends at `until`). Returns the line to log at once, if this is the first refusal
    /// of the address in a minute; otherwise it is counted for the address's next line.
    pub fn note(
        &mut self,
        address: IpAddr,
        what: Refusal,
        user: Option<&Name>,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<LogLine> {
        let address = address.to_canonical();
        let max_names = self.cfg.max_names;
        if !self.by_address.contains_key(&address)
            && self.by_address.len() >= self.cfg.max_addresses
        {
            self.sweep(now);
        }
        if !self.by_address.contains_key(&address)
            && self.by_address.len() >= self.cfg.max_addresses
        {
            let others = &mut self.others;
            if others.is_empty() {
                others.quiet_until = now.plus_millis(self.cfg.window_ms);
            }
            others.add(what, user, until, max_names);
            self.next = Some(
                self.next
                    .map_or(others.quiet_until, |n| n.min(others.quiet_until)),
            );
            return None;
        }
        let window = self.cfg.window_ms;
        let fresh = self
            .by_address
            .get(&address)
            .is_none_or(|t| t.quiet_until <= now && t.is_empty());
        let at_once = fresh && self.take_immediate(now);
        let tally = self.by_address.entry(address).or_default();
        tally.add(what, user, until, max_names);
        if fresh {
            // Its minute begins. (A refusal not logged at once, for the ration, waits for the
            // address's line at the end of it.)
            tally.quiet_until = now.plus_millis(window);
        }
        let due = tally.quiet_until;
        let line = at_once.then(|| tally.take_line(&format!("refused {address}"), None));
        self.next = Some(self.next.map_or(due, |n| n.min(due)));
        line
    }

    /// The core sent `msg` to a client at `ip`: a refusal is noted at once, but a `BYE flood`, which
    /// waits in `notes` for the logout record that names its account. `now` is asked for only when
    /// `msg` is a refusal (this runs for every line the core sends).
    pub fn note_sent(
        &mut self,
        notes: &mut OutputNotes,
        ip: IpAddr,
        msg: &ServerMsg,
        now: &mut impl FnMut() -> Timestamp,
        out: &mut Vec<LogLine>,
    ) {
        let Some(what) = Refusal::of(msg) else {
            return;
        };
        if let ServerMsg::Bye(ByeReason::Flood { cooldown_secs }) = msg {
            let until = (*cooldown_secs > 0).then(|| now().plus_secs(*cooldown_secs));
            if let Some((earlier, until)) = notes.flooded.replace((ip, until)) {
                out.extend(self.note(earlier, Refusal::Flood, None, until, now()));
            }
        } else {
            out.extend(self.note(ip, what, None, None, now()));
        }
    }

    /// The core made `record` in the same output: the logout of a session ended for flooding names
    /// the account of the `BYE flood` waiting in `notes`.
    pub fn note_record(
        &mut self,
        notes: &mut OutputNotes,
        record: &Record,
        now: &mut impl FnMut() -> Timestamp,
        out: &mut Vec<LogLine>,
    ) {
        if let Record::LoggedOut { user, .. } = record
            && let Some((ip, until)) = notes.flooded.take()
        {
            out.extend(self.note(ip, Refusal::Flood, Some(user), until, now()));
        }
    }

    /// The output is over: a `BYE flood` no record named is noted without its account.
    pub fn end_output(
        &mut self,
        notes: OutputNotes,
        now: &mut impl FnMut() -> Timestamp,
        out: &mut Vec<LogLine>,
    ) {
        if let Some((ip, until)) = notes.flooded {
            out.extend(self.note(ip, Refusal::Flood, None, until, now()));
        }
    }

    /// When [`Self::handle_timeout`] must next be called (`None`: nothing is counted).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next
    }

    /// Lets time pass to `now`: the lines of every minute that is up and counted something are
    /// appended to `out`.
    pub fn handle_timeout(&mut self, now: Timestamp, out: &mut Vec<LogLine>) {
        if self.next.is_none_or(|at| at > now) {
            return;
        }
        let span = self.cfg.window_ms / 1000;
        let window = self.cfg.window_ms;
        let mut next: Option<Timestamp> = None;
        let mut due: Vec<IpAddr> = self
            .by_address
            .iter()
            .filter(|(_, t)| !t.is_empty() && t.quiet_until <= now)
            .map(|(a, _)| *a)
            .collect();
        due.sort();
        for address in due {
            if let Some(t) = self.by_address.get_mut(&address) {
                out.push(t.take_line(&format!("refused {address}"), Some(span)));
                t.quiet_until = now.plus_millis(window);
            }
        }
        if !self.others.is_empty() && self.others.quiet_until <= now {
            let subject = format!(
                "refused more addresses (beyond the {} logged apart)",
                self.cfg.max_addresses
            );
            out.push(self.others.take_line(&subject, Some(span)));
        }
        self.sweep(now);
        // Every address kept has its minute's end to come: a line then, or forgetting it.
        let others = (!self.others.is_empty()).then_some(&self.others);
        for t in self.by_address.values().chain(others) {
            next = Some(next.map_or(t.quiet_until, |n| n.min(t.quiet_until)));
        }
        self.next = next;
    }

    /// Forgets the addresses whose minute is up with nothing counted.
    fn sweep(&mut self, now: Timestamp) {
        self.by_address
            .retain(|_, t| !t.is_empty() || t.quiet_until > now);
    }

    /// Takes one of the lines that may be logged at once, if the ration allows.
    fn take_immediate(&mut self, now: Timestamp) -> bool {
        let every = self.cfg.immediate_every_ms;
        let tolerance = every.saturating_mul(u64::from(self.cfg.immediate_burst.saturating_sub(1)));
        let tat = self.immediate_tat.max(now);
        if tat.minus_millis(tolerance) > now {
            return false;
        }
        self.immediate_tat = tat.plus_millis(every);
        true
    }

    /// Addresses kept apart now (for tests).
    pub fn addresses(&self) -> usize {
        self.by_address.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp(1_700_000_000_000);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn texts(lines: &[LogLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn the_first_refusal_is_logged_at_once_and_the_rest_once_a_minute_with_counts() {
        let mut log = OperatorLog::new(OperatorLogConfig::default());
        let a = ip("10.0.0.1");
        let first = log.note(a, Refusal::LoginThrottled, None, None, T).unwrap();
        assert_eq!(first.level, Level::Warn);
        assert_eq!(
            first.text,
            "refused 10.0.0.1: login refused: too many failed logins (login-throttled)"
        );
        for i in 0..40 {
            let at = T.plus_millis(100 * i);
            assert_eq!(log.note(a, Refusal::LoginThrottled, None, None, at), None);
        }
        let alice = Name::from("alice");
        let until = T.plus_secs(70);
        assert_eq!(
            log.note(
                a,
                Refusal::Flood,
                Some(&alice),
                Some(until),
                T.plus_secs(10)
            ),
            None
        );
        assert_eq!(log.poll_timeout(), Some(T.plus_secs(60)));
        let mut out = Vec::new();
        log.handle_timeout(T.plus_secs(59), &mut out);
        assert!(out.is_empty(), "not before the minute is up");
        log.handle_timeout(T.plus_secs(60), &mut out);
        assert_eq!(
            texts(&out),
            vec![
                "refused 10.0.0.1 in the last 60 s: 1 x disconnected for flooding (BYE flood); \
                 40 x login refused: too many failed logins (login-throttled); account alice; \
                 no login from this address or by the account until 2023-11-14T22:14:30Z"
            ]
        );
        // The next minute is counted, never logged at once.
        assert_eq!(
            log.note(a, Refusal::LoginThrottled, None, None, T.plus_secs(61)),
            None
        );
        out.clear();
        log.handle_timeout(T.plus_secs(120), &mut out);
        assert_eq!(out.len(), 1);
        // A quiet minute: the address is forgotten, and its next refusal is news again.
        out.clear();
        log.handle_timeout(T.plus_secs(181), &mut out);
        assert!(out.is_empty());
        assert_eq!(log.addresses(), 0);
        assert_eq!(log.poll_timeout(), None);
        assert!(
            log.note(a, Refusal::LoginTimeout, None, None, T.plus_secs(200))
                .is_some()
        );
    }

    #[test]
    fn a_flood_goodbye_is_named_by_the_logout_that_follows_it_in_the_same_output() {
        let mut log = OperatorLog::new(OperatorLogConfig::default());
        let mut lines = Vec::new();
        let mut reads = 0;
        let mut now = || {
            reads += 1;
            T
        };
        let bye = ServerMsg::Bye(ByeReason::Flood { cooldown_secs: 70 });
        let alice = Name::from("alice");
        // An ordinary line neither waits nor asks the time.
        let mut notes = OutputNotes::default();
        let hello = ServerMsg::Welcome {
            user: alice.clone(),
        };
        log.note_sent(&mut notes, ip("10.0.0.3"), &hello, &mut now, &mut lines);
        log.note_sent(&mut notes, ip("10.0.0.3"), &bye, &mut now, &mut lines);
        assert!(lines.is_empty(), "the goodbye waits for its account");
        let logout = Record::LoggedOut {
            user: alice.clone(),
            at: T,
        };
        log.note_record(&mut notes, &logout, &mut now, &mut lines);
        log.end_output(notes, &mut now, &mut lines);
        assert_eq!(
            texts(&lines),
            vec![
                "refused 10.0.0.3: disconnected for flooding (BYE flood); account alice; \
                 no login from this address or by the account until 2023-11-14T22:14:30Z"
            ]
        );
        // One no record names is noted at the output's end, without an account.
        let mut notes = OutputNotes::default();
        lines.clear();
        log.note_sent(&mut notes, ip("10.0.0.4"), &bye, &mut now, &mut lines);
        log.end_output(notes, &mut now, &mut lines);
        assert_eq!(lines.len(), 1);
        assert!(!lines[0].text.contains("; account "), "{}", lines[0].text);
        assert!(reads > 0);
    }

    #[test]
    fn mismatches_and_slow_logins_are_information_not_warnings() {
        let mut log = OperatorLog::new(OperatorLogConfig::default());
        let line = log
            .note(ip("10.0.0.2"), Refusal::PlainTextAtTls, None, None, T)
            .unwrap();
        assert_eq!(line.level, Level::Info);
        assert_eq!(
            line.text,
            "refused 10.0.0.2: plain text at the TLS port (tls-required)"
        );
    }

    #[test]
    fn many_addresses_cannot_flood_the_log_or_its_memory() {
        let cfg = OperatorLogConfig {
            max_addresses: 100,
            ..OperatorLogConfig::default()
        };
        let mut log = OperatorLog::new(cfg);
        let mut at_once = 0;
        for i in 0..10_000u32 {
            let a = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            if log
                .note(a, Refusal::ConnectThrottled, None, None, T)
                .is_some()
            {
                at_once += 1;
            }
        }
        assert_eq!(at_once, 20, "the burst of lines logged at once");
        assert!(log.addresses() <= 100);
        let mut out = Vec::new();
        log.handle_timeout(T.plus_secs(60), &mut out);
        assert_eq!(
            out.len(),
            81,
            "80 addresses counted apart, and one line for all the others"
        );
        assert!(
            out.last().unwrap().text.starts_with(
                "refused more addresses (beyond the 100 logged apart) in the last 60 s: 9900 x \
                 connection refused"
            ),
            "{}",
            out.last().unwrap().text
        );
    }

    #[test]
    fn the_addresses_of_one_ipv4_client_are_one_whatever_the_socket_family() {
        let mut log = OperatorLog::new(OperatorLogConfig::default());
        assert!(
            log.note(ip("::ffff:10.0.0.3"), Refusal::Full, None, None, T)
                .is_some()
        );
        assert!(
            log.note(ip("10.0.0.3"), Refusal::Full, None, None, T)
                .is_none()
        );
    }

    #[test]
    fn the_core_s_goodbyes_and_errors_that_are_refusals_are_recognised() {
        let flood = ServerMsg::Bye(ByeReason::Flood { cooldown_secs: 60 });
        assert_eq!(Refusal::of(&flood), Some(Refusal::Flood));
        assert_eq!(
            Refusal::of(&ServerMsg::Error(ErrorReply::LoginThrottled {
                secs_left: 3
            })),
            Some(Refusal::LoginThrottled)
        );
        for (msg, what) in [
            (
                ServerMsg::Error(ErrorReply::FloodCooldown {
                    address: true,
                    secs_left: 60,
                }),
                Refusal::FloodCooldown,
            ),
            (
                ServerMsg::Error(ErrorReply::TooManyLogins {
                    address: false,
                    secs_left: 10,
                }),
                Refusal::TooManyLogins,
            ),
            (
                ServerMsg::Error(ErrorReply::RegisterThrottled { secs_left: 600 }),
                Refusal::RegisterThrottled,
            ),
            (
                ServerMsg::Bye(ByeReason::TooManyConnections { max: 16 }),
                Refusal::TooManyConnections,
            ),
            (
                ServerMsg::Bye(ByeReason::ConnectThrottled { secs: 1 }),
                Refusal::ConnectThrottled,
            ),
            (ServerMsg::Bye(ByeReason::Full), Refusal::Full),
            (
                ServerMsg::Bye(ByeReason::LoginTimeout { secs: 120 }),
                Refusal::LoginTimeout,
            ),
            (
                ServerMsg::Bye(ByeReason::TlsRequired),
                Refusal::PlainTextAtTls,
            ),
            (
                ServerMsg::Bye(ByeReason::PlainTextOnly),
                Refusal::TlsAtPlainText,
            ),
        ] {
            assert_eq!(Refusal::of(&msg), Some(what), "{msg:?}");
        }
        assert_eq!(Refusal::of(&ServerMsg::Bye(ByeReason::Logout)), None);
        assert_eq!(
            Refusal::of(&ServerMsg::Error(ErrorReply::UnknownUser)),
            None
        );
    }
}
