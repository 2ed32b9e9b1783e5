//! When to call `write`: the server shell's timing policy for lines already released by the
//! [`Outbox`](super::outbox::Outbox), as a sans-IO value with time passed in.
//!
//! None of this changes what a client receives or in which order; it changes how many lines share one
//! `write` (and so one wake-up of the client, and one trip through the kernel), and when the shell gives
//! memory back. It lives beside the core rather than in the shell so that every timing decision the
//! server makes is a plain function of numbers that a unit test can drive.
//!
//! - **Notices that may wait.** A line nobody is waiting for ([`ServerMsg::can_wait`]: presence notices,
//!   the first username prompt) may be held for the recipient's next lines, as long as the connection
//!   holds at most [`PacingConfig::notice_held_max`] bytes. Any line that may not wait takes the held
//!   ones with it, so holding never reorders a connection's lines. The two kinds wait in lanes of their
//!   own ([`Lane`]), each with its deadline, counted from the lines held in it:
//!   - the prompt [`PacingConfig::notice_delay_ms`] (10 ms) after the newest prompt held, and at most
//!     [`PacingConfig::notice_delay_max_ms`] (100 ms) after the oldest: long enough for a client that
//!     sends its name at once to get the prompt with the welcome, short enough that nobody notices.
//!     Counted from the oldest alone, a lane's deadline would write, with the oldest, every prompt
//!     queued just before it, even one a millisecond old whose client's name was about to be read: with
//!     a thousand clients connecting at once a third of the prompts went out in writes of their own
//!     (each a trip through the kernel for both ends), for nothing anybody waited for;
//!   - presence up to [`PacingConfig::presence_delay_ms`] (100 ms). With many users online, every login
//!     and logout is a line to each of them, and each line written alone is a `write` (over TLS, a
//!     record sealed) per reader per change: a burst of logins within the window reaches each reader as
//!     one write instead. A person cannot tell a login shown a tenth of a second late. Had both kinds
//!     shared the prompt's deadline, every login's prompt would write every reader's presence after
//!     10 ms, whatever the presence window.
//! - **Coalescing under load.** A batch of at least [`PacingConfig::coalesce_min`] inputs means clients
//!   send faster than one turn takes, so queueing delay already exceeds one more turn: the shell may let
//!   the readers add what has arrived before writing, until the held output averages
//!   [`PacingConfig::coalesce_lines_per_conn`] lines per connection, for at most
//!   [`PacingConfig::coalesce_turns`] turns. A small batch (light load) is always written at once, so
//!   coalescing never adds latency there.
//! - **Giving memory back** when a burst is over, so an idle server's size reflects its connections,
//!   not its busiest moment: a server that has written at least [`PacingConfig::tidy_final_bytes`]
//!   since its last tidy-up and then nothing for [`PacingConfig::tidy_quiet_ms`] tidies up then,
//!   whatever the amount. A load that never pauses that long gets one every
//!   [`PacingConfig::tidy_every_ms`] once [`PacingConfig::tidy_after_bytes`] were written, and no
//!   more: a tidy-up under load gives back what the next moment needs again (the spare strings and
//!   buffers are made again, the pages the allocator returned fault back in). At one every 200 ms,
//!   as it once was, that was 8% of a busy server's CPU and 11% of a cluster node's.

use crate::protocol::ServerMsg;
use crate::time::Timestamp;

/// The numbers of the write policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacingConfig {
    /// How long a notice that may wait (the first username prompt) is held for the recipient's next
    /// lines, after the newest one held.
    pub notice_delay_ms: u64,
    /// How long the oldest such notice is held at most, while newer ones keep coming.
    pub notice_delay_max_ms: u64,
    /// How long presence notices are held for the recipient's next lines (other presence notices, most
    /// of the time).
    pub presence_delay_ms: u64,
    /// Bytes queued on one connection beyond which held notices are written with the batch anyway:
    /// holding is for small notices, not a way to build up memory.
    pub notice_held_max: usize,
    /// Inputs in a batch from which the server counts as busy.
    pub coalesce_min: usize,
    /// Lines queued in a turn from which the server counts as busy even with few inputs (one login with a
    /// thousand users online queues a thousand presence lines).
    pub coalesce_min_lines: usize,
    /// Held lines per connection at which coalescing has done its job: writes are then worth making.
    /// 32, about what a busy client has on its way at once (the load generator keeps 32 messages in
    /// flight per user): at 8, such a connection was written four times for what one write carries,
    /// and every extra write is a system call for the server and a wake-up for the client. With 32,
    /// a cluster node spends a tenth less CPU a message and a server alone with 10,000 users a
    /// fifth less, with no worse latency (the turns held are bounded all the same, below, and
    /// light load is never held).
    pub coalesce_lines_per_conn: usize,
    /// Turns a batch's output may be held at most.
    pub coalesce_turns: u32,
    /// Bytes written since the last tidy-up beyond which going idle triggers one.
    pub tidy_after_bytes: usize,
    /// At most one tidy-up per this long while the server keeps writing (a burst's end, below, is
    /// not held to it).
    pub tidy_every_ms: u64,
    /// How long nothing must be written for a burst to count as over (its last tidy-up).
    pub tidy_quiet_ms: u64,
    /// Bytes written since the last tidy-up from which a burst's end is worth a tidy-up: a quiet
    /// server's occasional line is not (each tidy-up makes the next commit read its pages again).
    pub tidy_final_bytes: usize,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            notice_delay_ms: 10,
            notice_delay_max_ms: 100,
            presence_delay_ms: 100,
            notice_held_max: 4096,
            coalesce_min: 64,
            coalesce_min_lines: 1024,
            coalesce_lines_per_conn: 32,
            coalesce_turns: 16,
            tidy_after_bytes: 1 << 20,
            tidy_every_ms: 5_000,
            tidy_quiet_ms: 100,
            tidy_final_bytes: 64 << 10,
        }
    }
}

/// What the shell knows of one connection when a line is queued on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The connection is already to be written at the end of this batch.
    pub due: bool,
    /// Bytes queued on it, this line included.
    pub bytes: usize,
}

/// Which deadline a held line waits for. See the [module documentation](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The first username prompt: [`PacingConfig::notice_delay_ms`].
    Prompt,
    /// Presence notices: [`PacingConfig::presence_delay_ms`].
    Presence,
}

impl Lane {
    /// Every lane, in the order their due connections are written when both fall due at once.
    pub const ALL: [Lane; 2] = [Lane::Prompt, Lane::Presence];

    /// Its place in a per-lane array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The lane `msg` may wait in, or none if it may not wait ([`ServerMsg::can_wait`]). Looked at
    /// once per line, however many it goes to (a presence notice goes to everyone online).
    #[inline]
    pub fn waiting(msg: &ServerMsg) -> Option<Lane> {
        match msg {
            ServerMsg::Presence { .. } => Some(Lane::Presence),
            _ if msg.can_wait() => Some(Lane::Prompt),
            _ => None,
        }
    }
}

/// What to do with a connection after a line was queued on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Write it at the end of the batch (mark it due, if it is not already).
    WithBatch,
    /// Leave it until the lane's deadline (add it to the lane's held connections, if it is not there
    /// already). A connection may be held in both lanes; whichever falls due first writes it all.
    Hold(Lane),
}

/// Whether to tidy up now that the server is idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tidy {
    /// Not enough was written since the last tidy-up to be worth one.
    No,
    /// Tidy up now.
    Now,
}

/// When the lines held in a lane were queued: the first of them and the last.
#[derive(Clone, Copy, Debug)]
struct Held {
    oldest: Timestamp,
    newest: Timestamp,
}

/// The write policy's state. See the [module documentation](self).
#[derive(Debug)]
pub struct Pacer {
    cfg: PacingConfig,
    /// Per lane, the lines held in it, if any.
    held: [Option<Held>; 2],
    /// Turns whose output has been held back since the last write.
    coalesced: u32,
    /// Lines queued since the last write.
    lines: usize,
    last_tidy: Option<Timestamp>,
    /// What the shell had written (since the last tidy-up) when it last went idle: more at the next
    /// idle means the burst goes on.
    written_when_idle: usize,
    /// When the burst's last tidy-up is due, if nothing more is written before.
    final_due: Option<Timestamp>,
    /// The final tidy-up's time has come: the next idle with nothing more written does it.
    final_ripe: bool,
}

impl Pacer {
    /// A pacer with nothing held.
    pub fn new(cfg: PacingConfig) -> Self {
        Pacer {
            cfg,
            held: [None; 2],
            coalesced: 0,
            lines: 0,
            last_tidy: None,
            written_when_idle: 0,
            final_due: None,
            final_ripe: false,
        }
    }

    /// A line `msg` was queued on a connection in state `conn`, at `now`: write it with the batch, or
    /// hold it.
    pub fn queued(&mut self, msg: &ServerMsg, conn: Queued, now: Timestamp) -> Write {
        self.queued_in(Lane::waiting(msg), conn, now)
    }

    /// As [`Self::queued`], for a line that may wait in `waits` ([`Lane::waiting`], looked at once for
    /// all the line's recipients).
    #[inline]
    pub fn queued_in(&mut self, waits: Option<Lane>, conn: Queued, now: Timestamp) -> Write {
        if conn.due {
            self.lines += 1;
            return Write::WithBatch;
        }
        if let Some(lane) = waits
            && conn.bytes <= self.cfg.notice_held_max
        {
            // The lane's oldest line stays the one held first; its newest is this one.
            self.held[lane.index()]
                .get_or_insert(Held {
                    oldest: now,
                    newest: now,
                })
                .newest = now;
            return Write::Hold(lane);
        }
        self.lines += 1;
        Write::WithBatch
    }

    /// When the lines held in `lane` must be written, if any are held.
    pub fn held_due(&self, lane: Lane) -> Option<Timestamp> {
        let held = self.held[lane.index()]?;
        Some(match lane {
            Lane::Prompt => (held.newest.plus_millis(self.cfg.notice_delay_ms))
                .min(held.oldest.plus_millis(self.cfg.notice_delay_max_ms)),
            Lane::Presence => held.oldest.plus_millis(self.cfg.presence_delay_ms),
        })
    }

    /// Whether the lines held in `lane` are due at `now`; if so the shell writes every connection
    /// held in that lane, and its deadline is cleared.
    pub fn take_held_due(&mut self, lane: Lane, now: Timestamp) -> bool {
        if self.held_due(lane).is_some_and(|due| due <= now) {
            self.held[lane.index()] = None;
            true
        } else {
            false
        }
    }

    /// Time has passed to `now`: a burst's final tidy-up that has come is forgotten (the shell
    /// asks again, [`Self::tidy`], when it next goes idle, and it is done then if nothing was written
    /// meanwhile), so its deadline does not keep waking the shell. Which lanes are due is
    /// [`Self::take_held_due`]'s.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.final_due.is_some_and(|due| due <= now) {
            self.final_due = None;
            self.final_ripe = true;
        }
    }

    /// After a batch of `inputs` that left `due_conns` connections to write: hold the writes for another
    /// turn (true), or write now (false). Counts the turn if it holds.
    pub fn coalesce(&mut self, inputs: usize, due_conns: usize) -> bool {
        let busy = inputs >= self.cfg.coalesce_min || self.lines >= self.cfg.coalesce_min_lines;
        let hold = due_conns > 0
            && busy
            && self.coalesced < self.cfg.coalesce_turns
            && self.lines < self.cfg.coalesce_lines_per_conn * due_conns;
        if hold {
            self.coalesced += 1;
        }
        hold
    }

    /// The due connections were written.
    pub fn wrote(&mut self) {
        self.coalesced = 0;
        self.lines = 0;
    }

    /// Going idle having written `written` bytes since the last tidy-up (the shell counts from zero
    /// again after each one): tidy up now or not. A burst that may be ending is looked at again when
    /// its quiet while is over ([`Self::poll_timeout`]).
    pub fn tidy(&mut self, now: Timestamp, written: usize) -> Tidy {
        if written != self.written_when_idle {
            // Still writing: the burst's end, if this is it, is a quiet while from now.
            self.written_when_idle = written;
            self.final_ripe = false;
            self.final_due = (written >= self.cfg.tidy_final_bytes)
                .then(|| now.plus_millis(self.cfg.tidy_quiet_ms));
        }
        // Ripe only while nothing more was written since it was set due, which needs the final
        // tidy-up's bytes: the burst is over.
        let over = self.final_ripe;
        let periodic = written >= self.cfg.tidy_after_bytes
            && self
                .last_tidy
                .is_none_or(|last| now >= last.plus_millis(self.cfg.tidy_every_ms));
        if !(over || periodic) {
            return Tidy::No;
        }
        self.last_tidy = Some(now);
        self.written_when_idle = 0;
        self.final_due = None;
        self.final_ripe = false;
        Tidy::Now
    }

    /// The earliest time the shell must look again for the pacer's sake: held notices, a put-off
    /// tidy-up, a burst's final one.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        Lane::ALL
            .into_iter()
            .filter_map(|lane| self.held_due(lane))
            .chain(self.final_due)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Prompt;

    fn presence() -> ServerMsg {
        ServerMsg::Presence {
            user: "bob".into(),
            online: true,
        }
    }

    fn reply() -> ServerMsg {
        ServerMsg::WhoElse { users: vec![] }
    }

    const FRESH: Queued = Queued {
        due: false,
        bytes: 30,
    };

    #[test]
    fn notices_wait_replies_do_not() {
        let mut p = Pacer::new(PacingConfig::default());
        let t = Timestamp(1000);
        assert_eq!(p.queued(&presence(), FRESH, t), Write::Hold(Lane::Presence));
        assert_eq!(
            p.queued(&ServerMsg::Prompt(Prompt::Username), FRESH, t),
            Write::Hold(Lane::Prompt)
        );
        assert_eq!(p.queued(&reply(), FRESH, t), Write::WithBatch);
        assert_eq!(p.held_due(Lane::Prompt), Some(Timestamp(1010)));
        assert_eq!(p.held_due(Lane::Presence), Some(Timestamp(1100)));
        assert_eq!(p.poll_timeout(), Some(Timestamp(1010)));
        assert!(!p.take_held_due(Lane::Prompt, Timestamp(1009)));
        assert!(p.take_held_due(Lane::Prompt, Timestamp(1010)));
        assert!(
            !p.take_held_due(Lane::Presence, Timestamp(1010)),
            "the prompt's deadline does not write presence"
        );
        assert_eq!(p.held_due(Lane::Prompt), None);
        assert_eq!(p.poll_timeout(), Some(Timestamp(1100)));
        assert!(p.take_held_due(Lane::Presence, Timestamp(1100)));
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn a_burst_of_presence_within_the_window_shares_one_deadline() {
        // A login every 5 ms, told to the same reader: every line up to the deadline of the first is
        // held for it, so the reader gets one write per window, not one per login.
        let mut p = Pacer::new(PacingConfig::default());
        let mut bytes = 0;
        for i in 0..20 {
            bytes += 30;
            let q = Queued { due: false, bytes };
            assert_eq!(
                p.queued(&presence(), q, Timestamp(1000 + 5 * i)),
                Write::Hold(Lane::Presence)
            );
        }
        assert_eq!(p.held_due(Lane::Presence), Some(Timestamp(1100)));
        assert!(p.take_held_due(Lane::Presence, Timestamp(1100)));
        // The next change starts a new window.
        p.queued(&presence(), FRESH, Timestamp(1100));
        assert_eq!(p.held_due(Lane::Presence), Some(Timestamp(1200)));
    }

    #[test]
    fn a_notice_joins_a_connection_already_due_and_big_queues_are_not_held() {
        let mut p = Pacer::new(PacingConfig::default());
        let due = Queued { due: true, ..FRESH };
        assert_eq!(p.queued(&presence(), due, Timestamp(0)), Write::WithBatch);
        let big = Queued {
            bytes: 5000,
            ..FRESH
        };
        assert_eq!(p.queued(&presence(), big, Timestamp(0)), Write::WithBatch);
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn prompts_wait_ten_milliseconds_after_the_newest_and_a_tenth_of_a_second_at_most() {
        let prompt = ServerMsg::Prompt(Prompt::Username);
        let mut p = Pacer::new(PacingConfig::default());
        // A lone prompt: 10 ms, as before.
        p.queued(&prompt, FRESH, Timestamp(1000));
        assert_eq!(p.held_due(Lane::Prompt), Some(Timestamp(1010)));
        // Another 5 ms later: the one just queued gets its 10 ms too.
        p.queued(&prompt, FRESH, Timestamp(1005));
        assert_eq!(p.held_due(Lane::Prompt), Some(Timestamp(1015)));
        assert!(!p.take_held_due(Lane::Prompt, Timestamp(1010)));
        // A connection every 5 ms, without end: the oldest is still written 100 ms after it came.
        for t in (1010..1200).step_by(5) {
            p.queued(&prompt, FRESH, Timestamp(t));
        }
        assert_eq!(p.held_due(Lane::Prompt), Some(Timestamp(1100)));
        assert!(p.take_held_due(Lane::Prompt, Timestamp(1100)));
        // Written: the next prompt starts the lane again, from itself.
        assert_eq!(p.held_due(Lane::Prompt), None);
        p.queued(&prompt, FRESH, Timestamp(1201));
        assert_eq!(p.held_due(Lane::Prompt), Some(Timestamp(1211)));
        // Presence keeps its deadline from its oldest line, whatever the prompts do.
        p.queued(&presence(), FRESH, Timestamp(1202));
        p.queued(&prompt, FRESH, Timestamp(1209));
        assert_eq!(p.held_due(Lane::Presence), Some(Timestamp(1302)));
        assert_eq!(p.held_due(Lane::Prompt), Some(Timestamp(1219)));
    }

    #[test]
    fn the_held_deadline_counts_from_the_oldest_notice() {
        let mut p = Pacer::new(PacingConfig::default());
        p.queued(&presence(), FRESH, Timestamp(100));
        p.queued(&presence(), FRESH, Timestamp(105));
        p.queued(&presence(), FRESH, Timestamp(106));
        assert_eq!(p.held_due(Lane::Presence), Some(Timestamp(200)));
    }

    #[test]
    fn coalescing_only_when_busy_and_bounded() {
        let mut p = Pacer::new(PacingConfig::default());
        assert!(!p.coalesce(3, 3), "light load writes at once");
        for _ in 0..64 {
            p.queued(&reply(), FRESH, Timestamp(0));
        }
        assert!(p.coalesce(64, 10), "busy, few lines per connection yet");
        assert!(!p.coalesce(64, 2), "32 lines per connection: worth writing");
        p.wrote();
        let mut turns = 0;
        while p.coalesce(1000, 1000) {
            turns += 1;
        }
        assert_eq!(turns, 16);
        assert!(!p.coalesce(1000, 0), "nothing to write, nothing to hold");
    }

    #[test]
    fn a_load_that_never_pauses_is_tidied_up_once_a_period() {
        let mut p = Pacer::new(PacingConfig::default());
        let mib = |n: usize| n << 20;
        assert_eq!(p.tidy(Timestamp(0), 10), Tidy::No);
        assert_eq!(
            p.tidy(Timestamp(0), mib(2)),
            Tidy::Now,
            "the first megabyte"
        );
        // Writing on, never quiet for long: not again within the period, however much is written.
        for (i, at) in (50..5_000).step_by(50).enumerate() {
            assert_eq!(p.tidy(Timestamp(at), mib(2 + i)), Tidy::No, "at {at} ms");
        }
        assert_eq!(p.tidy(Timestamp(5_000), mib(200)), Tidy::Now);
        assert_eq!(p.tidy(Timestamp(5_050), mib(1)), Tidy::No);
    }

    #[test]
    fn a_burst_s_end_is_tidied_up_however_soon_after_the_last() {
        let mut p = Pacer::new(PacingConfig::default());
        let mib = |n: usize| n << 20;
        assert_eq!(p.tidy(Timestamp(0), mib(2)), Tidy::Now);
        assert_eq!(p.tidy(Timestamp(50), mib(3)), Tidy::No);
        assert_eq!(p.poll_timeout(), Some(Timestamp(150)));
        p.handle_timeout(Timestamp(150));
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(
            p.tidy(Timestamp(150), mib(3)),
            Tidy::Now,
            "quiet: the burst is over"
        );
        assert_eq!(p.tidy(Timestamp(400), 0), Tidy::No);
    }

    #[test]
    fn a_burst_s_end_gets_a_last_tidy_up_whatever_it_wrote() {
        let mut p = Pacer::new(PacingConfig::default());
        let kib = |n: usize| n << 10;
        assert_eq!(p.tidy(Timestamp(0), kib(2048)), Tidy::Now);
        // The shell counts from zero again; the burst goes on, below the megabyte.
        assert_eq!(p.tidy(Timestamp(10), kib(100)), Tidy::No);
        assert_eq!(p.poll_timeout(), Some(Timestamp(110)));
        assert_eq!(p.tidy(Timestamp(50), kib(300)), Tidy::No);
        assert_eq!(
            p.poll_timeout(),
            Some(Timestamp(150)),
            "the quiet counts from the last write"
        );
        // Woken with nothing new: not yet.
        p.handle_timeout(Timestamp(120));
        assert_eq!(p.tidy(Timestamp(120), kib(300)), Tidy::No);
        p.handle_timeout(Timestamp(150));
        assert_eq!(
            p.poll_timeout(),
            None,
            "a ripe tidy-up does not keep waking the shell"
        );
        assert_eq!(p.tidy(Timestamp(150), kib(300)), Tidy::Now);
        assert_eq!(p.poll_timeout(), None);
        // Idle again with nothing written: nothing more.
        assert_eq!(p.tidy(Timestamp(400), 0), Tidy::No);
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn writing_after_the_quiet_while_began_puts_the_last_tidy_up_off() {
        let mut p = Pacer::new(PacingConfig::default());
        let kib = |n: usize| n << 10;
        assert_eq!(p.tidy(Timestamp(0), kib(100)), Tidy::No);
        p.handle_timeout(Timestamp(100));
        // More was written when the shell woke: the burst was not over.
        assert_eq!(p.tidy(Timestamp(100), kib(150)), Tidy::No);
        assert_eq!(p.poll_timeout(), Some(Timestamp(200)));
        p.handle_timeout(Timestamp(200));
        assert_eq!(p.tidy(Timestamp(200), kib(150)), Tidy::Now);
    }

    #[test]
    fn a_quiet_server_s_few_lines_are_not_worth_a_tidy_up() {
        let mut p = Pacer::new(PacingConfig::default());
        assert_eq!(p.tidy(Timestamp(0), 500), Tidy::No);
        assert_eq!(p.poll_timeout(), None);
        p.handle_timeout(Timestamp(1000));
        assert_eq!(p.tidy(Timestamp(1000), 500), Tidy::No);
    }
}
