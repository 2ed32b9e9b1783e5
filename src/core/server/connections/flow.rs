//! The pace and order in which a connection's lines reach the rules: flood control, and lines that
//! arrive while the connection waits for a password check.
//!
//! Every line of a connection passes through its [`Flow`], a plain value that decides and leaves the
//! acting to its caller. The budgets a line is charged to are not the connection's: they belong to the
//! account (once logged in) and to the source address, and are lent to the flow for the call
//! ([`Charged`]), so a new session of the same account, or another connection from the same host, does
//! not start with a fresh burst. Each budget ([`Budget`]) has two buckets: one for commands (a burst,
//! then `flood_rate` a second: the IRC servers' flood control) and one, far more generous, for the
//! protocol's own bookkeeping lines (`ack`, `p2pport`, `receipts`, publishing keys: what a client sends
//! by itself, never counted as flooding, yet bounded so that they cannot be used to flood either). Which
//! bucket a line goes to is decided by its command words alone ([`Class::of_line`]), before the line is
//! parsed.
//!
//! A line is handled at once ([`Offer::Admit`]) when nothing is held and every budget it is charged to
//! allows it. Otherwise it is held, in order ([`Offer::Hold`]), and the shell is told to stop reading the
//! connection ([`Effect::PauseReading`]), so a flooding client is slowed by its own TCP window rather than
//! by the server's memory or time; held lines come out as the budgets allow ([`Flow::release`], when the
//! connection's flow deadline comes) and reading resumes once none are left. The client is told why
//! (`ERROR slow-down`) once per episode: an episode ends only when every budget it is charged to is
//! full again, so a client pacing itself right at the limit, or held back by others behind its address,
//! hears it once, not at every line. Nothing is dropped: a line is handled late, never lost. A client
//! that keeps going until more than [`HELD_SECS`] of its rate (or [`HELD_MAX_BYTES`]) is held is flooding
//! ([`Offer::Flood`]): that is persistent abuse, not a burst, and its caller disconnects it (`BYE flood`).
//!
//! Lines that come while the connection's password is being checked (which happens off the core's
//! thread) are held the same way, so a client that sends its username, password and first command in
//! one write still has them handled in that order.

use std::collections::VecDeque;

use crate::protocol::{CommandName, ErrorReply};
use crate::server::config::Config;
use crate::server::event::{ConnId, Effect, send};
use crate::server::rate::{Gcra, Rate};
use crate::server::secret_shape::SecretShape;
use crate::time::Timestamp;

/// The most seconds of its rate a connection may have held before it is disconnected.
pub(crate) const HELD_SECS: u32 = 30;
/// The most lines held when there is no rate (a connection waiting for a password check).
const HELD_MAX_LINES_UNLIMITED: usize = 1000;
/// The most bytes of lines held for one connection. Reading stops as soon as the shell hears of the
/// pause, but a few reads (of up to 64 KiB each) may already have happened by then.
pub(crate) const HELD_MAX_BYTES: usize = 1024 * 1024;

/// Which bucket of a budget a line is charged to.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Anything a person does, and every line before login.
    Command,
    /// The protocol's own bookkeeping: a command a client sends by itself, which is not the user's
    /// activity (`ack`, `p2pport`, `receipts`).
    Bookkeeping,
}

/// The next word of `bytes` (after blanks) and what follows it; `None` for a word longer than any
/// command word (16 bytes), which names no command and is not looked up.
fn next_word(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let rest = &bytes[start..];
    let end = rest
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(rest.len());
    (end <= 16).then(|| (&rest[..end], &rest[end..]))
}

impl Class {
    /// The class of a logged-in connection's line, by its command words alone: a bookkeeping line is
    /// one whose command the table says is not the user's activity (the commands a client sends on its
    /// own). This looks at a few bytes and never parses the line, so a flood of long lines costs no
    /// more here than a flood of short ones. A line that is not text, or names no command, is a
    /// command (it will be answered with an error, which is the user's doing).
    pub(crate) fn of_line(line: &[u8]) -> Class {
        let Some((word, rest)) = next_word(line) else {
            return Class::Command;
        };
        let Some(word) = std::str::from_utf8(word).ok() else {
            return Class::Command;
        };
        let Some(first) = CommandName::from_word(word) else {
            return Class::Command;
        };
        let name = if first.spec().sub.is_some() {
            // A family whose members differ (`keys add` is the client's bookkeeping, `keys claim` the
            // user's doing): its second word decides, looked at as sparingly as the first.
            let Some((sub, _)) = next_word(rest) else {
                return Class::Command;
            };
            std::str::from_utf8(sub)
                .ok()
                .and_then(|sub| CommandName::from_words(word, Some(sub)))
        } else {
            Some(first)
        };
        match name {
            // A note is not the user's doing, but it is a message all the same.
            Some(CommandName::Note) => Class::Command,
            Some(name) if !name.spec().activity => Class::Bookkeeping,
            _ => Class::Command,
        }
    }
}

/// One owner's flood budget: an account's, or a source address's. Kept by the part that owns the
/// account or the address; lent to a connection's flow for each line.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Budget {
    commands: Gcra,
    bookkeeping: Gcra,
}

impl Budget {
    fn bucket(&mut self, class: Class) -> &mut Gcra {
        match class {
            Class::Command => &mut self.commands,
            Class::Bookkeeping => &mut self.bookkeeping,
        }
    }

    /// Both buckets are full again at `now`: nothing to remember.
    pub(crate) fn is_idle(&self, now: Timestamp) -> bool {
        self.commands.is_idle(now) && self.bookkeeping.is_idle(now)
    }
}

/// The budgets a connection's line is charged to, borrowed for one call: its account's (once logged
/// in) and its address's (when there is a per-address budget).
#[derive(Debug, Default)]
pub(crate) struct Charged<'a> {
    pub(crate) account: Option<&'a mut Budget>,
    pub(crate) address: Option<&'a mut Budget>,
}

impl Charged<'_> {
    /// When a line of `class` may be taken: `now` or earlier if it may now.
    fn ready_at(&self, class: Class, limits: &FlowLimits, now: Timestamp) -> Timestamp {
        let mut ready = now;
        if let (Some(b), Some(rate)) = (&self.account, limits.account.of(class)) {
            let bucket = match class {
                Class::Command => &b.commands,
                Class::Bookkeeping => &b.bookkeeping,
            };
            ready = ready.max(bucket.ready_at(rate, now));
        }
        if let (Some(b), Some(rate)) = (&self.address, limits.address.of(class)) {
            let bucket = match class {
                Class::Command => &b.commands,
                Class::Bookkeeping => &b.bookkeeping,
            };
            ready = ready.max(bucket.ready_at(rate, now));
        }
        ready
    }

    /// Takes one line of `class` from every budget, if all allow it; otherwise says when they will.
    fn take(&mut self, class: Class, limits: &FlowLimits, now: Timestamp) -> Result<(), Timestamp> {
        let ready = self.ready_at(class, limits, now);
        if ready > now {
            return Err(ready);
        }
        if let (Some(b), Some(rate)) = (self.account.as_deref_mut(), limits.account.of(class)) {
            let _ = b.bucket(class).take(rate, now);
        }
        if let (Some(b), Some(rate)) = (self.address.as_deref_mut(), limits.address.of(class)) {
            let _ = b.bucket(class).take(rate, now);
        }
        Ok(())
    }

    /// Every budget the line is charged to is full again: the sender has kept within its rate long
    /// enough for a slowing-down episode to be over. (While others behind the same address keep its
    /// budget busy, the episode goes on: the sender is still slowed, and told so once, not at every
    /// line.)
    fn rested(&self, now: Timestamp) -> bool {
        let idle = |b: &Option<&mut Budget>| b.as_deref().is_none_or(|b| b.is_idle(now));
        idle(&self.account) && idle(&self.address)
    }
}

/// The rates of one kind of owner (an account, or an address), per class; `None`: no limit.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rates {
    commands: Option<Rate>,
    bookkeeping: Option<Rate>,
}

impl Rates {
    fn of(&self, class: Class) -> Option<Rate> {
        match class {
            Class::Command => self.commands,
            Class::Bookkeeping => self.bookkeeping,
        }
    }

    fn is_some(&self) -> bool {
        self.commands.is_some() || self.bookkeeping.is_some()
    }
}

/// The settings' numbers, as the flow uses them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowLimits {
    account: Rates,
    address: Rates,
    /// The commands' and the bookkeeping lines' rates a second, for `ERROR slow-down`.
    per_sec: u32,
    bookkeeping_per_sec: u32,
    /// Lines of each class held past which the connection is flooding.
    max_commands: usize,
    max_bookkeeping: usize,
}

/// No limits (flood control off), until a configuration says otherwise.
impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            account: Rates::default(),
            address: Rates::default(),
            per_sec: 0,
            bookkeeping_per_sec: 0,
            max_commands: HELD_MAX_LINES_UNLIMITED,
            max_bookkeeping: HELD_MAX_LINES_UNLIMITED,
        }
    }
}

impl FlowLimits {
    pub(crate) fn of(config: &Config) -> Self {
        let on = config.flood_rate > 0;
        let per_account =
            |rate: u32, burst: u32| if on { Rate::per_sec(rate, burst) } else { None };
        let times = config.address_flood_accounts;
        let per_address = |rate: u32, burst: u32| {
            per_account(rate.saturating_mul(times), burst.saturating_mul(times))
                .filter(|_| times > 0)
        };
        let account = Rates {
            commands: per_account(config.flood_rate, config.flood_burst),
            bookkeeping: per_account(config.bookkeeping_rate, config.bookkeeping_burst),
        };
        let address = Rates {
            commands: per_address(config.flood_rate, config.flood_burst),
            bookkeeping: per_address(config.bookkeeping_rate, config.bookkeeping_burst),
        };
        let held = |rate: Option<Rate>, per_sec: u32, burst: u32| match rate {
            Some(_) => (per_sec as usize * HELD_SECS as usize).max(burst as usize),
            None => HELD_MAX_LINES_UNLIMITED,
        };
        FlowLimits {
            account,
            address,
            per_sec: config.flood_rate,
            bookkeeping_per_sec: config.bookkeeping_rate,
            max_commands: held(account.commands, config.flood_rate, config.flood_burst),
            max_bookkeeping: held(
                account.bookkeeping,
                config.bookkeeping_rate,
                config.bookkeeping_burst,
            ),
        }
    }

    /// Whether accounts have budgets to lend (flood control is on).
    pub(crate) fn per_account(&self) -> bool {
        self.account.is_some()
    }

    /// Whether addresses have budgets to lend.
    pub(crate) fn per_address(&self) -> bool {
        self.address.is_some()
    }
}

/// One input of a connection, as the flow holds it.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) enum Held {
    Line(Box<[u8]>, Class),
    TooLong,
    Secret(SecretShape),
}

impl Held {
    /// The input as it is handled.
    pub(crate) fn as_input(&self) -> Input<'_> {
        match self {
            Held::Line(line, _) => Input::Line(line),
            Held::TooLong => Input::TooLong,
            Held::Secret(shape) => Input::Secret(*shape),
        }
    }

    fn class(&self) -> Class {
        match self {
            Held::Line(_, class) => *class,
            Held::TooLong | Held::Secret(_) => Class::Command,
        }
    }
}

/// An input as it arrives (borrowed from the event).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Input<'a> {
    Line(&'a [u8]),
    TooLong,
    /// A password line, of which only the shape is known here.
    Secret(SecretShape),
}

/// What to do with an input offered to the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Handle it now.
    Admit,
    /// It is held. With a time, the flow has just started holding for its rate: look again then
    /// ([`Flow::release`]); without, a deadline or a password job's answer is already due to.
    Hold(Option<Timestamp>),
    /// Too much is held: the client is flooding, and is to be disconnected.
    Flood,
}

/// What comes out of the flow when the caller looks again.
#[derive(Debug)]
pub(crate) enum Release {
    /// This held input, to be handled now; then look again.
    Now(Held),
    /// Nothing before then (the rate): look again at that time.
    At(Timestamp),
    /// Nothing: none is held, or a password job runs (its answer looks again).
    Nothing,
}

/// A connection's flow state: what it holds back, and whether it was told to slow down. Its budgets
/// are its account's and its address's (see the module documentation).
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Flow {
    /// What is held back; `None` when nothing is (as almost always: a connection's flow stays small,
    /// there being one per connection).
    held: Option<Box<HeldLines>>,
    /// The shell was told to stop reading the connection.
    paused: bool,
    /// The client was told to slow down in this episode.
    warned: bool,
}

/// The inputs a flow holds back, oldest first, and their counts.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
struct HeldLines {
    lines: VecDeque<Held>,
    bytes: usize,
    /// Held lines of each class.
    commands: usize,
    bookkeeping: usize,
}

impl Flow {
    /// One input of `conn`, of `class`, which is `waiting` for a password job or not: handled now, or
    /// held (see the module documentation), charged to `budgets`. Tells the client and the shell what
    /// they must know (`ERROR slow-down`, pause reading) in `out`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn offer(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
        class: Class,
        waiting: bool,
        mut budgets: Charged<'_>,
        limits: &FlowLimits,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Offer {
        let mut look_again = None;
        if self.held.is_none() && !waiting {
            if self.warned && budgets.rested(now) {
                self.warned = false;
            }
            match budgets.take(class, limits, now) {
                Ok(()) => return Offer::Admit,
                Err(ready) => {
                    look_again = Some(ready);
                    if !self.warned {
                        self.warned = true;
                        let per_sec = match class {
                            Class::Command => limits.per_sec,
                            Class::Bookkeeping => limits.bookkeeping_per_sec,
                        };
                        send(out, conn, ErrorReply::SlowDown { per_sec });
                    }
                }
            }
        }
        let held = self.hold(input, class);
        if held.commands > limits.max_commands
            || held.bookkeeping > limits.max_bookkeeping
            || held.bytes > HELD_MAX_BYTES
        {
            tracing::debug!("{conn} kept flooding: {} lines held", held.lines.len());
            return Offer::Flood;
        }
        if !self.paused {
            self.paused = true;
            out.push(Effect::PauseReading { conn });
        }
        Offer::Hold(look_again)
    }

    /// The next held input of `conn` that may be handled now, if its budgets allow and it is not
    /// `waiting` for a password job; once none are left, reading resumes (the episode goes on until
    /// the budget is full again).
    pub(crate) fn release(
        &mut self,
        conn: ConnId,
        waiting: bool,
        mut budgets: Charged<'_>,
        limits: &FlowLimits,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Release {
        if waiting {
            return Release::Nothing;
        }
        let Some(class) = self
            .held
            .as_ref()
            .and_then(|h| h.lines.front())
            .map(Held::class)
        else {
            if self.paused {
                self.paused = false;
                out.push(Effect::ResumeReading { conn });
            }
            return Release::Nothing;
        };
        if let Err(ready) = budgets.take(class, limits, now) {
            return Release::At(ready);
        }
        match self.pop() {
            Some(held) => Release::Now(held),
            None => Release::Nothing,
        }
    }

    /// Whether lines are held (flood control, or a password job running).
    pub(crate) fn holds_lines(&self) -> bool {
        self.held.is_some()
    }

    /// Holds `input` back; what is held now.
    fn hold(&mut self, input: Input<'_>, class: Class) -> &HeldLines {
        // Only a line can be bookkeeping: an overlong line or a password is the user's doing.
        let class = match input {
            Input::Line(_) => class,
            Input::TooLong | Input::Secret(_) => Class::Command,
        };
        let held = self.held.get_or_insert_with(Box::default);
        match class {
            Class::Command => held.commands += 1,
            Class::Bookkeeping => held.bookkeeping += 1,
        }
        match input {
            Input::Line(line) => {
                held.bytes += line.len();
                held.lines.push_back(Held::Line(line.into(), class));
            }
            Input::TooLong => held.lines.push_back(Held::TooLong),
            Input::Secret(shape) => held.lines.push_back(Held::Secret(shape)),
        }
        held
    }

    /// The oldest held input; the held set goes once it is empty.
    fn pop(&mut self) -> Option<Held> {
        let held = self.held.as_mut()?;
        let h = held.lines.pop_front()?;
        match h.class() {
            Class::Command => held.commands -= 1,
            Class::Bookkeeping => held.bookkeeping -= 1,
        }
        if let Held::Line(line, _) = &h {
            held.bytes -= line.len();
        }
        if held.lines.is_empty() {
            self.held = None;
        }
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> FlowLimits {
        FlowLimits::of(&Config {
            flood_rate: 2,
            flood_burst: 2,
            bookkeeping_rate: 10,
            bookkeeping_burst: 5,
            address_flood_accounts: 0,
            ..Config::default()
        })
    }

    /// A connection's flow, charged to one account's budget.
    struct Conn {
        flow: Flow,
        out: Vec<Effect>,
    }

    impl Conn {
        fn new() -> Self {
            Conn {
                flow: Flow::default(),
                out: Vec::new(),
            }
        }

        fn offer(&mut self, budget: &mut Budget, line: &[u8], t: Timestamp) -> Offer {
            let charged = Charged {
                account: Some(budget),
                address: None,
            };
            let class = Class::of_line(line);
            let (c, l) = (ConnId(1), limits());
            self.flow.offer(
                c,
                Input::Line(line),
                class,
                false,
                charged,
                &l,
                t,
                &mut self.out,
            )
        }

        fn release(&mut self, budget: &mut Budget, t: Timestamp) -> Release {
            let charged = Charged {
                account: Some(budget),
                address: None,
            };
            let (c, l) = (ConnId(1), limits());
            self.flow.release(c, false, charged, &l, t, &mut self.out)
        }

        fn slow_downs(&self) -> usize {
            let warning = |e: &&Effect| {
                matches!(
                    e,
                    Effect::Send {
                        msg: crate::protocol::ServerMsg::Error(ErrorReply::SlowDown { .. }),
                        ..
                    }
                )
            };
            self.out.iter().filter(warning).count()
        }
    }

    #[test]
    fn a_burst_passes_then_lines_wait_their_turn_in_order() {
        let (mut c, mut b) = (Conn::new(), Budget::default());
        let t = Timestamp(10_000);
        for _ in 0..2 {
            assert_eq!(c.offer(&mut b, b"whoelse", t), Offer::Admit);
        }
        assert_eq!(
            c.offer(&mut b, b"message bob a", t),
            Offer::Hold(Some(Timestamp(10_500)))
        );
        assert_eq!(
            c.offer(&mut b, b"message bob b", t),
            Offer::Hold(None),
            "one look-again time per episode"
        );
        assert!(
            matches!(
                &c.out[..],
                [Effect::Send { .. }, Effect::PauseReading { .. }]
            ),
            "{:?}",
            c.out
        );
        c.out.clear();
        assert!(matches!(c.release(&mut b, t), Release::At(_)));
        let at = Timestamp(10_500);
        assert!(
            matches!(c.release(&mut b, at), Release::Now(Held::Line(l, _)) if &*l == b"message bob a")
        );
        assert!(matches!(c.release(&mut b, at), Release::At(_)));
        let later = Timestamp(11_000);
        assert!(
            matches!(c.release(&mut b, later), Release::Now(Held::Line(l, _)) if &*l == b"message bob b")
        );
        assert!(c.out.is_empty());
        assert!(matches!(c.release(&mut b, later), Release::Nothing));
        assert_eq!(c.out, vec![Effect::ResumeReading { conn: ConnId(1) }]);
    }

    #[test]
    fn the_budget_is_the_owners_so_a_new_session_gets_no_fresh_burst() {
        let mut account = Budget::default();
        let t = Timestamp(10_000);
        let mut first = Conn::new();
        for _ in 0..2 {
            assert_eq!(first.offer(&mut account, b"whoelse", t), Offer::Admit);
        }
        // The session ends and another begins at once: the same account, the same budget.
        let mut second = Conn::new();
        assert_eq!(
            second.offer(&mut account, b"whoelse", t),
            Offer::Hold(Some(Timestamp(10_500)))
        );
        assert_eq!(second.slow_downs(), 1, "the new connection is told why");
        // Another account's budget is its own.
        let mut other = Budget::default();
        assert_eq!(Conn::new().offer(&mut other, b"whoelse", t), Offer::Admit);
    }

    #[test]
    fn the_address_budget_binds_all_its_connections_together() {
        let l = FlowLimits::of(&Config {
            flood_rate: 2,
            flood_burst: 2,
            address_flood_accounts: 2,
            ..Config::default()
        });
        let mut address = Budget::default();
        let t = Timestamp(10_000);
        let mut admitted = 0;
        // Four accounts, each well within its own budget, share one address's.
        for _ in 0..4 {
            let (mut f, mut account, mut out) = (Flow::default(), Budget::default(), Vec::new());
            for _ in 0..2 {
                let charged = Charged {
                    account: Some(&mut account),
                    address: Some(&mut address),
                };
                let input = Input::Line(b"whoelse");
                let class = Class::Command;
                if f.offer(ConnId(1), input, class, false, charged, &l, t, &mut out) == Offer::Admit
                {
                    admitted += 1;
                }
            }
        }
        assert_eq!(admitted, 4, "two accounts' worth");
    }

    #[test]
    fn bookkeeping_lines_are_not_commands_and_have_a_bound_of_their_own() {
        let (mut c, mut b) = (Conn::new(), Budget::default());
        let t = Timestamp(10_000);
        for _ in 0..2 {
            assert_eq!(c.offer(&mut b, b"whoelse", t), Offer::Admit);
        }
        // The commands' budget is spent; acknowledgements still go through, up to their own burst.
        for i in 0..5 {
            assert_eq!(
                c.offer(&mut b, format!("ack {i}").as_bytes(), t),
                Offer::Admit
            );
        }
        assert_eq!(
            c.offer(&mut b, b"receipts on", t),
            Offer::Hold(Some(Timestamp(10_100)))
        );
        assert_eq!(c.slow_downs(), 1);
        assert!(c.out.iter().any(|e| matches!(
            e,
            Effect::Send {
                msg: crate::protocol::ServerMsg::Error(ErrorReply::SlowDown { per_sec: 10 }),
                ..
            }
        )));
        // Held lines keep their order across classes: a command behind an ack waits for both budgets.
        assert_eq!(c.offer(&mut b, b"whoelse", t), Offer::Hold(None));
        assert!(
            matches!(c.release(&mut b, Timestamp(10_100)), Release::Now(Held::Line(l, Class::Bookkeeping)) if &*l == b"receipts on")
        );
        assert!(matches!(
            c.release(&mut b, Timestamp(10_100)),
            Release::At(Timestamp(10_500))
        ));
    }

    #[test]
    fn a_sender_pacing_at_the_limit_is_told_once_until_its_budget_is_full_again() {
        let (mut c, mut b) = (Conn::new(), Budget::default());
        let mut t = Timestamp(10_000);
        // Twice the rate for a moment, then exactly the rate (one line per 500 ms) for a minute.
        for _ in 0..4 {
            let _ = c.offer(&mut b, b"whoelse", t);
        }
        for _ in 0..120 {
            while let Release::Now(_) = c.release(&mut b, t) {}
            let _ = c.offer(&mut b, b"whoelse", t);
            t = t.plus_millis(500);
        }
        assert_eq!(c.slow_downs(), 1, "once for the whole episode");
        // What is held comes out; then quiet until the budget is full again: the episode is over, and
        // the next one is told.
        while let Release::Now(_) = c.release(&mut b, t) {
            t = t.plus_millis(500);
        }
        t = t.plus_millis(5_000);
        for _ in 0..4 {
            let _ = c.offer(&mut b, b"whoelse", t);
        }
        assert_eq!(c.slow_downs(), 2);
    }

    #[test]
    fn a_user_held_back_by_a_busy_address_is_told_once() {
        let l = FlowLimits::of(&Config {
            flood_rate: 2,
            flood_burst: 2,
            address_flood_accounts: 1,
            ..Config::default()
        });
        let (mut address, mut me) = (Budget::default(), Budget::default());
        let (mut mine, mut out, c) = (Flow::default(), Vec::new(), ConnId(1));
        // Others behind the same address use up its budget whenever they can.
        let drain = |address: &mut Budget, t: Timestamp| {
            let mut others = Charged {
                account: None,
                address: Some(address),
            };
            while others.take(Class::Command, &l, t).is_ok() {}
        };
        let mut t = Timestamp(10_000);
        for _ in 0..20 {
            // I send one line every 2 s, far within my account's budget: it waits for the address's,
            // goes out, and my account's budget is full again before my next line.
            drain(&mut address, t);
            let charged = Charged {
                account: Some(&mut me),
                address: Some(&mut address),
            };
            let input = Input::Line(b"whoelse");
            let offered = mine.offer(c, input, Class::Command, false, charged, &l, t, &mut out);
            assert!(matches!(offered, Offer::Hold(_)));
            for _ in 0..2 {
                let charged = Charged {
                    account: Some(&mut me),
                    address: Some(&mut address),
                };
                let _ = mine.release(c, false, charged, &l, t.plus_millis(600), &mut out);
            }
            assert!(!mine.holds_lines());
            drain(&mut address, t.plus_millis(700));
            t = t.plus_millis(2000);
        }
        let warnings = out
            .iter()
            .filter(|e| matches!(e, Effect::Send { .. }))
            .count();
        assert_eq!(warnings, 1, "{out:?}");
    }

    #[test]
    fn lines_are_classed_by_their_command_words_alone() {
        for line in [
            &b"ack 12"[..],
            b"  ACK 12",
            b"p2pport 4000",
            b"receipts on",
            b"acks on",
            b"Acks off",
            b"ack",
            b"keys add x",
            b"KEYS  identity a b",
            b"keys\tfallback k",
        ] {
            assert_eq!(Class::of_line(line), Class::Bookkeeping, "{line:?}");
        }
        for line in [
            &b"message bob ack"[..],
            b"active",
            b"acknowledge",
            b"whoelse",
            b"keys claim bob",
            b"keys show bob",
            b"keys",
            b"keys burn",
            b"keys addaddaddaddaddaddadd x",
            b"",
            b"\xff\xfe",
            &[b'a'; 4000][..],
        ] {
            assert_eq!(Class::of_line(line), Class::Command, "{line:?}");
        }
    }

    #[test]
    fn a_password_job_holds_everything_until_its_answer() {
        let (mut f, mut out, c) = (Flow::default(), Vec::new(), ConnId(1));
        let t = Timestamp(0);
        let l = limits();
        let input = Input::Line(b"whoelse");
        let held = f.offer(
            c,
            input,
            Class::Command,
            true,
            Charged::default(),
            &l,
            t,
            &mut out,
        );
        assert_eq!(held, Offer::Hold(None));
        assert!(matches!(
            f.release(c, true, Charged::default(), &l, t, &mut out),
            Release::Nothing
        ));
        assert!(matches!(
            f.release(c, false, Charged::default(), &l, t, &mut out),
            Release::Now(_)
        ));
    }

    #[test]
    fn holding_past_the_bound_is_a_flood() {
        let (mut c, mut b) = (Conn::new(), Budget::default());
        let mut offers = 0;
        while c.offer(&mut b, b"x", Timestamp(0)) != Offer::Flood {
            offers += 1;
        }
        assert_eq!(offers, 2 + limits().max_commands);
    }
}
