//! Getting back to a server when the one in use is lost: which server to try next, how long to wait
//! between attempts, whether ever to give up, and the login to repeat.
//!
//! A client given several servers of one cluster (`natter --server A --server B ...`) keeps going when
//! its server dies: it connects to the next one and logs in again with the name and password typed at
//! the start, so the user retypes nothing. A person at a terminal with one server gets the same: the
//! client reconnects to it with backoff (a restart, a network blip) and keeps its windows. The
//! password is kept for that alone, in memory only, and sent by itself only to a server whose
//! certificate was verified (the session says which); a server whose certificate changed is not tried
//! again without the user's word.
//!
//! A person at a terminal is never given up on: the client tries for as long as it is open, the
//! waits growing to a cap near a minute ([`DEFAULT_MAX_WAIT_SECS`]), each shortened by a random part
//! (jitter, drawn from the seed the shell passes in, so a test replays it) so that clients cut off
//! together do not come back together. A script gets a bound ([`SCRIPT_GIVE_UP_SECS`]), as it has
//! nobody to wait for: the exit status tells it.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::protocol::Name;
use crate::time::Timestamp;

/// The longest wait between two rounds of attempts, unless the user sets another.
pub const DEFAULT_MAX_WAIT_SECS: u64 = 60;

/// How long a script's client (no person at the terminal) tries to get back to a server before it
/// ends, unless told otherwise: a script has nobody to wait for, and learns of the loss from the exit
/// status.
pub const SCRIPT_GIVE_UP_SECS: u64 = 120;

/// A failure that repeats the one said last is said again after this long at the earliest: a client
/// left trying all night does not fill the screen with one line a minute.
pub(super) const REPEAT_NEWS_SECS: u64 = 300;

/// The most a wait is shortened by its jitter, as a fraction: a quarter.
const JITTER_DIVISOR: u64 = 4;

/// The login to repeat: what the user typed at the server's prompts when the session began.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    /// The account, as the server welcomed it.
    pub(super) user: Name,
    /// The password exactly as typed (or as `passwd` changed it since).
    pub(super) password: String,
}

// Never print the password, even in a debug log.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The servers, the one in use, and the progress of a reconnection.
#[derive(Debug)]
pub(super) struct Reconnect {
    /// The servers as the user named them, for messages.
    servers: Vec<String>,
    /// The one connected to, or being tried.
    current: usize,
    /// What was typed at the prompts of the login in progress.
    typed_user: Option<String>,
    typed_password: Option<String>,
    /// Kept once logged in, when there is another server to move to.
    credentials: Option<Credentials>,
    /// Since when no server has been usable, and how many attempts failed meanwhile.
    lost_at: Option<Timestamp>,
    failures: u32,
    /// Logging in again by itself (answering the prompts with `credentials`).
    relogin: bool,
    /// Waiting at the current server for the earlier session to end (said once).
    waiting_here: bool,
    /// Reconnect to a lone server too (a person at a terminal, not a script).
    alone: bool,
    /// Servers that presented a certificate other than the one trusted: skipped until the user says.
    untrusted: Vec<bool>,
    /// How long after losing its server the client gives up finding one (`None`: never).
    give_up_secs: Option<u64>,
    /// The longest wait between two rounds of attempts.
    max_wait_ms: u64,
    /// Draws each wait's jitter: seeded, so the same seed gives the same waits.
    jitter: ChaCha20Rng,
    /// When the next attempt is due, while one waits.
    next_try: Option<Timestamp>,
    /// The server and the reason of the last failed attempt to get back to one: a reason is said
    /// once, and after that only that it still holds.
    last_failure: Option<(String, String)>,
    /// When the news of a failed attempt was last said: a failure that only repeats the last is
    /// said again at most every [`REPEAT_NEWS_SECS`] (the status bar shows the rest).
    news_said_at: Option<Timestamp>,
    /// Changes whenever the server in use, or whether it was lost, may have.
    version: u64,
}

/// The wait before asking a server again whether the earlier session has ended.
const WAIT_HERE_MS: u64 = 1_000;

impl Reconnect {
    /// The `servers` as the user named them, the first connection going to number `current`;
    /// `alone`: a person at a terminal, for whom a lone server is reconnected to too. How long to
    /// keep trying and how long to wait at most are `policy`'s; the jitter is drawn from `seed`.
    pub(super) fn new(
        servers: Vec<String>,
        current: usize,
        alone: bool,
        policy: Policy,
        seed: [u8; 32],
    ) -> Self {
        let current = current.min(servers.len().saturating_sub(1));
        let mut jitter = ChaCha20Rng::from_seed(seed);
        // A stream of its own: the private chats draw their keys from the same seed.
        jitter.set_stream(1);
        Reconnect {
            untrusted: vec![false; servers.len()],
            give_up_secs: match policy.give_up_secs {
                Some(secs) => Some(secs),
                None if alone => None,
                None => Some(SCRIPT_GIVE_UP_SECS),
            },
            max_wait_ms: policy.max_wait_secs.max(1).saturating_mul(1000),
            jitter,
            next_try: None,
            last_failure: None,
            news_said_at: None,
            version: 0,
            alone,
            servers,
            current,
            typed_user: None,
            typed_password: None,
            credentials: None,
            lost_at: None,
            failures: 0,
            relogin: false,
            waiting_here: false,
        }
    }

    /// Whether a lost server is replaced (or reconnected to): with more than one to choose from, or
    /// with one when the client is told to (interactive use; a script learns of the loss from the
    /// exit status instead).
    pub(super) fn enabled(&self) -> bool {
        self.servers.len() > 1 || (self.alone && !self.servers.is_empty())
    }

    /// The server in use (or being tried), as the user named it.
    pub(super) fn current(&self) -> &str {
        self.servers.get(self.current).map_or("the server", |s| s)
    }

    /// Changes whenever [`Self::current`] or [`Self::was_lost`] may have.
    pub(super) fn version(&self) -> u64 {
        self.version
    }

    /// The server in use (or being tried), as its number in the list the client was given.
    pub(super) fn current_index(&self) -> usize {
        self.current
    }

    /// Whether the client logs in again by itself, answering the prompts with what was typed at
    /// the start.
    pub(super) fn relogin(&self) -> bool {
        self.relogin
    }

    /// Whether a person at a terminal answers the prompts (not a script): only they can confirm a
    /// changed certificate, or type a password a server not verified must not get by itself.
    pub(super) fn interactive(&self) -> bool {
        self.alone
    }

    /// How long after losing its server the client gives up finding one (`None`: never).
    pub(super) fn give_up_secs(&self) -> Option<u64> {
        self.give_up_secs
    }

    /// Since when the client has been without a server, if it is.
    pub(super) fn lost_since(&self) -> Option<Timestamp> {
        self.lost_at
    }

    /// When the next attempt is due, while the client waits for it.
    pub(super) fn next_try(&self) -> Option<Timestamp> {
        self.next_try
    }

    /// The next attempt is due at `at` (`None`: one is under way, or none is coming).
    pub(super) fn set_next_try(&mut self, at: Option<Timestamp>) {
        if self.next_try != at {
            self.next_try = at;
            self.version += 1;
        }
    }

    /// Notes that getting back to `server` failed because of `why` at `now`; returns whether that was
    /// said already (the same server, for the same reason), so the reason is said once, and `None`
    /// when this failure need not be said at all: it repeats the last, said less than
    /// [`REPEAT_NEWS_SECS`] ago.
    pub(super) fn failure_said(&mut self, server: &str, why: &str, now: Timestamp) -> Option<bool> {
        let said = self
            .last_failure
            .as_ref()
            .is_some_and(|(f, w)| (f.as_str(), w.as_str()) == (server, why));
        self.last_failure = Some((server.to_owned(), why.to_owned()));
        let recent = self
            .news_said_at
            .is_some_and(|at| now.millis_since(at) < REPEAT_NEWS_SECS * 1000);
        if said && recent {
            return None;
        }
        self.news_said_at = Some(now);
        Some(said)
    }

    /// Whether the server in use was lost and no login has succeeded since.
    pub(super) fn was_lost(&self) -> bool {
        self.lost_at.is_some()
    }

    /// The login kept for logging in again, if one is.
    pub(super) fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Remembers a username typed at the server's prompt.
    pub(super) fn typed_username(&mut self, line: &str) {
        self.typed_user = Some(line.trim().to_owned());
    }

    /// Remembers a password typed at the server's prompt, exactly as typed.
    pub(super) fn typed_password(&mut self, line: &str) {
        if self.enabled() {
            self.typed_password = Some(line.to_owned());
        }
    }

    /// The account's password was changed (`passwd`): a login again uses the new one.
    pub(super) fn password_changed(&mut self, password: &str) {
        if let Some(c) = &mut self.credentials {
            c.password = password.to_owned();
        }
    }

    /// The server welcomed `user`: keep the login for later if it may be needed, and end any
    /// reconnection.
    pub(super) fn logged_in(&mut self, user: &Name) {
        let password = self.typed_password.take();
        self.typed_user = None;
        if self.enabled()
            && let Some(password) = password
        {
            self.credentials = Some(Credentials {
                user: user.clone(),
                password,
            });
        }
        self.lost_at = None;
        self.next_try = None;
        self.failures = 0;
        self.relogin = false;
        self.last_failure = None;
        self.news_said_at = None;
        self.version += 1;
    }

    /// Whether the session can move to another server now.
    pub(super) fn can_move(&self) -> bool {
        self.enabled() && self.credentials.is_some()
    }

    /// The server was lost at `now`: moves to the next one. Returns the lost server's name.
    pub(super) fn lost(&mut self, now: Timestamp) -> String {
        let lost = self.current().to_owned();
        self.lost_at = Some(now);
        self.failures = 0;
        self.relogin = true;
        self.waiting_here = false;
        self.advance();
        lost
    }

    /// The session ended while the server is still there (an idle logout, `/disconnect`), and the
    /// user now wants it back (`now`): the same server is tried at once, logging in again with the
    /// login kept.
    pub(super) fn again(&mut self, now: Timestamp) {
        self.lost_at = Some(now);
        self.next_try = None;
        self.failures = 0;
        self.relogin = true;
        self.waiting_here = false;
        self.last_failure = None;
        self.news_said_at = None;
        self.version += 1;
    }

    /// Trying stops (`/disconnect`): nothing is due until the user says.
    pub(super) fn stop(&mut self) {
        self.lost_at = None;
        self.next_try = None;
        self.relogin = false;
        self.version += 1;
    }

    /// The login is no longer automatic (it failed in a way the user must answer).
    pub(super) fn stop_relogin(&mut self) {
        self.relogin = false;
    }

    /// An attempt failed: moves to the next server and returns how many milliseconds to wait before
    /// trying it, or `None` if the bound since the server was lost has passed, or no server is left
    /// that may be tried.
    pub(super) fn failed(&mut self, now: Timestamp) -> Option<u64> {
        if self.given_up(now) || !self.any_trusted() {
            return None;
        }
        self.failures += 1;
        self.advance();
        let jitter = self.jitter.next_u64() % 1_001;
        Some(delay_ms(
            self.failures,
            self.trusted_count(),
            self.max_wait_ms,
            jitter,
        ))
    }

    /// The current server presented a certificate other than the one trusted: it is not tried again
    /// until the user says to ([`Self::trust_again`]).
    pub(super) fn distrust(&mut self) {
        if let Some(u) = self.untrusted.get_mut(self.current) {
            *u = true;
        }
    }

    /// The user trusts the current server's new certificate.
    pub(super) fn trust_again(&mut self) {
        if let Some(u) = self.untrusted.get_mut(self.current) {
            *u = false;
        }
    }

    fn any_trusted(&self) -> bool {
        self.trusted_count() > 0
    }

    fn trusted_count(&self) -> usize {
        self.untrusted.iter().filter(|u| !**u).count()
    }

    /// The current server answers, but the earlier session has not ended yet (a dead server's sessions
    /// end within a bounded time): it is tried again in a second, rather than the others, which may be
    /// dead. Returns the wait and whether this is the first such wait (to say so once), or `None` if
    /// the bound since the server was lost has passed.
    pub(super) fn wait_here(&mut self, now: Timestamp) -> Option<(u64, bool)> {
        if self.given_up(now) {
            return None;
        }
        let first = !std::mem::replace(&mut self.waiting_here, true);
        Some((WAIT_HERE_MS, first))
    }

    /// Whether the bound, if there is one, has passed since the server was lost (counted from now
    /// if it was not noted yet).
    fn given_up(&mut self, now: Timestamp) -> bool {
        let lost_at = *self.lost_at.get_or_insert(now);
        self.give_up_secs
            .is_some_and(|secs| now.millis_since(lost_at) >= secs.saturating_mul(1000))
    }

    /// On to the next server that may be tried (the same one, if it is the only one).
    fn advance(&mut self) {
        self.version += 1;
        let n = self.servers.len();
        for step in 1..=n {
            let next = (self.current + step) % n;
            if !self.untrusted[next] {
                self.current = next;
                return;
            }
        }
    }
}

/// How long to keep trying, and how long to wait at most, as the user set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Stop trying this long after the server was lost. `None`: never at a terminal, and
    /// [`SCRIPT_GIVE_UP_SECS`] for a script.
    pub give_up_secs: Option<u64>,
    /// The longest wait between two rounds of attempts (at least a second).
    pub max_wait_secs: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            give_up_secs: None,
            max_wait_secs: DEFAULT_MAX_WAIT_SECS,
        }
    }
}

/// The wait before the attempt after `failures` failed ones, with `servers` to choose from: each server
/// is tried once at once (a dead node's neighbours are usually up), then whole rounds wait 1 s, 2 s,
/// 4 s, ... up to `max_ms`, so a cluster that is down entirely is not hammered. Each wait is
/// shortened by up to a quarter, by `jitter` thousandths of that quarter (0 to 1,000): clients cut
/// off together do not all come back in the same instant, and no wait is longer than the cap.
pub(super) fn delay_ms(failures: u32, servers: usize, max_ms: u64, jitter: u64) -> u64 {
    let servers = servers.max(1) as u32;
    if failures < servers {
        return 0;
    }
    let round = (failures / servers).min(16);
    let base = (1_000u64 << (round - 1)).min(max_ms);
    base - base / JITTER_DIVISOR * jitter.min(1_000) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [7; 32];

    fn script() -> Policy {
        Policy {
            give_up_secs: Some(60),
            ..Policy::default()
        }
    }

    #[test]
    fn every_server_is_tried_at_once_then_rounds_back_off_to_a_cap() {
        let d: Vec<u64> = (1..=12).map(|f| delay_ms(f, 3, 8_000, 0)).collect();
        assert_eq!(
            d,
            [
                0, 0, 1_000, 1_000, 1_000, 2_000, 2_000, 2_000, 4_000, 4_000, 4_000, 8_000
            ]
        );
        assert_eq!(delay_ms(1_000, 3, 60_000, 0), 60_000);
        assert_eq!(delay_ms(u32::MAX, 2, 60_000, 0), 60_000);
        let lone: Vec<u64> = (1..=8).map(|f| delay_ms(f, 1, 60_000, 0)).collect();
        assert_eq!(
            lone,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
        );
    }

    #[test]
    fn jitter_shortens_a_wait_by_at_most_a_quarter_and_never_lengthens_it() {
        assert_eq!(delay_ms(7, 1, 60_000, 0), 60_000);
        assert_eq!(delay_ms(7, 1, 60_000, 1_000), 45_000);
        assert_eq!(delay_ms(7, 1, 60_000, 500), 52_500);
        assert_eq!(
            delay_ms(7, 1, 60_000, 99_999),
            45_000,
            "out of range is capped"
        );
        assert_eq!(
            delay_ms(1, 2, 60_000, 1_000),
            0,
            "the first round has no wait"
        );
    }

    #[test]
    fn the_password_is_kept_only_when_there_is_another_server() {
        let alice = Name::from("alice");
        let mut one = Reconnect::new(vec!["a:1".into()], 0, false, script(), SEED);
        one.typed_username("alice");
        one.typed_password("secret");
        one.logged_in(&alice);
        assert!(one.credentials().is_none());
        assert!(!one.can_move());

        let mut two = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0, false, script(), SEED);
        two.typed_username("alice");
        two.typed_password("secret");
        two.logged_in(&alice);
        assert_eq!(
            two.credentials().map(|c| c.password.as_str()),
            Some("secret")
        );
        assert!(!format!("{:?}", two.credentials()).contains("secret"));
    }

    #[test]
    fn a_lost_server_moves_to_the_next_and_a_script_gives_up_after_the_bound() {
        let mut r = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0, false, script(), SEED);
        let t0 = Timestamp::from_millis(1_000);
        assert_eq!(r.lost(t0), "a:1");
        assert_eq!(r.current(), "b:2");
        assert_eq!(r.failed(t0.plus_millis(10)), Some(0));
        assert_eq!(r.current(), "a:1");
        let wait = r.failed(t0.plus_millis(20)).unwrap();
        assert!((750..=1_000).contains(&wait), "{wait}");
        assert_eq!(r.current(), "b:2");
        assert_eq!(r.failed(t0.plus_secs(60)), None);
    }

    #[test]
    fn a_script_without_a_bound_set_gets_the_scripts_one_and_a_person_none() {
        let p = Policy::default();
        let script = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0, false, p, SEED);
        assert_eq!(script.give_up_secs(), Some(SCRIPT_GIVE_UP_SECS));
        let person = Reconnect::new(vec!["a:1".into()], 0, true, p, SEED);
        assert_eq!(person.give_up_secs(), None);
        let bounded = Policy {
            give_up_secs: Some(30),
            ..p
        };
        let person = Reconnect::new(vec!["a:1".into()], 0, true, bounded, SEED);
        assert_eq!(person.give_up_secs(), Some(30));
    }

    /// The waits of a lone server lost at a terminal, for a day.
    fn waits_for_a_day(seed: [u8; 32]) -> Vec<u64> {
        let alice = Name::from("alice");
        let mut r = Reconnect::new(vec!["a:1".into()], 0, true, Policy::default(), seed);
        r.typed_username("alice");
        r.typed_password("secret");
        r.logged_in(&alice);
        let mut now = Timestamp::from_millis(1_000);
        r.lost(now);
        let mut waits = Vec::new();
        while now.millis_since(Timestamp::from_millis(1_000)) < 86_400_000 {
            let wait = r
                .failed(now)
                .expect("a person at a terminal is never given up on");
            waits.push(wait);
            now = now.plus_millis(wait);
        }
        waits
    }

    #[test]
    fn a_lone_server_is_tried_forever_at_a_terminal_backing_off_to_a_minute_with_jitter() {
        let waits = waits_for_a_day(SEED);
        let bases = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000];
        for (wait, base) in waits.iter().zip(bases) {
            assert!(
                (base * 3 / 4..=base).contains(wait),
                "{wait} for a base of {base}: {waits:?}"
            );
        }
        let capped = &waits[bases.len()..];
        assert!(capped.len() > 1_000, "tried all day: {}", capped.len());
        assert!(
            capped.iter().all(|w| (45_000..=60_000).contains(w)),
            "capped near a minute: {capped:?}"
        );
        let distinct: std::collections::BTreeSet<_> = capped.iter().collect();
        assert!(distinct.len() > 100, "the waits are jittered");
        assert_eq!(
            waits,
            waits_for_a_day(SEED),
            "the same seed, the same waits"
        );
        assert_ne!(waits, waits_for_a_day([8; 32]), "another seed, other waits");
    }

    #[test]
    fn the_cap_is_the_users_to_set() {
        let policy = Policy {
            give_up_secs: None,
            max_wait_secs: 2,
        };
        let mut r = Reconnect::new(vec!["a:1".into()], 0, true, policy, SEED);
        let t0 = Timestamp::from_millis(1_000);
        r.lost(t0);
        let waits: Vec<u64> = (1..=6)
            .map(|i| r.failed(t0.plus_secs(i)).unwrap())
            .collect();
        assert!(waits.iter().all(|w| *w <= 2_000), "{waits:?}");
        assert!(waits[3..].iter().all(|w| *w >= 1_500), "{waits:?}");
    }

    #[test]
    fn a_server_whose_certificate_changed_is_skipped_until_trusted_again() {
        let mut r = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0, false, script(), SEED);
        let t0 = Timestamp::from_millis(1_000);
        r.lost(t0);
        assert_eq!(r.current(), "b:2");
        r.distrust();
        assert!(r.failed(t0).is_some_and(|w| w > 0));
        assert_eq!(r.current(), "a:1");
        assert!(r.failed(t0).is_some());
        assert_eq!(r.current(), "a:1", "b:2 is not tried again by itself");
        r.distrust();
        assert_eq!(r.failed(t0), None, "no server left to try");
        r.trust_again();
        assert!(r.failed(t0).is_some());
    }
}
