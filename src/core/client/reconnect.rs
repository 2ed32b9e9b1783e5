//! Getting back to a server when the one in use is lost: which server to try next, how long to wait
//! between attempts, when to give up, and the login to repeat.
//!
//! A client given several servers of one cluster (`natter --server A --server B ...`) keeps going when
//! its server dies: it connects to the next one and logs in again with the name and password typed at
//! the start, so the user retypes nothing. A person at a terminal with one server gets the same: the
//! client reconnects to it with backoff (a restart, a network blip) and keeps its windows. The
//! password is kept for that alone, in memory only, and sent by itself only to a server whose
//! certificate was verified (the session says which); a server whose certificate changed is not tried
//! again without the user's word.

use crate::protocol::Name;
use crate::time::Timestamp;

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
    /// How long after losing its server the client gives up finding one.
    give_up_secs: u64,
    /// The server and the reason of the last failed attempt to get back to one: a reason is said
    /// once, and after that only that it still holds.
    last_failure: Option<(String, String)>,
    /// Changes whenever the server in use, or whether it was lost, may have.
    version: u64,
}

/// The longest wait between two attempts.
const MAX_DELAY_MS: u64 = 8_000;

/// The wait before asking a server again whether the earlier session has ended.
const WAIT_HERE_MS: u64 = 1_000;

impl Reconnect {
    /// The `servers` as the user named them, the first connection going to number `current`;
    /// `alone`: a person at a terminal, for whom a lone server is reconnected to too; trying stops
    /// `give_up_secs` after the server was lost.
    pub(super) fn new(
        servers: Vec<String>,
        current: usize,
        alone: bool,
        give_up_secs: u64,
    ) -> Self {
        let current = current.min(servers.len().saturating_sub(1));
        Reconnect {
            untrusted: vec![false; servers.len()],
            give_up_secs,
            last_failure: None,
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

    /// How long after losing its server the client gives up finding one.
    pub(super) fn give_up_secs(&self) -> u64 {
        self.give_up_secs
    }

    /// Notes that getting back to `server` failed because of `why`; returns whether that was said
    /// already (the same server, for the same reason), so it is said once.
    pub(super) fn failure_said(&mut self, server: &str, why: &str) -> bool {
        let said = self
            .last_failure
            .as_ref()
            .is_some_and(|(f, w)| (f.as_str(), w.as_str()) == (server, why));
        self.last_failure = Some((server.to_owned(), why.to_owned()));
        said
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
        self.failures = 0;
        self.relogin = false;
        self.last_failure = None;
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
        Some(delay_ms(self.failures, self.trusted_count()))
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

    /// Whether the bound has passed since the server was lost (counted from now if it was not
    /// noted yet).
    fn given_up(&mut self, now: Timestamp) -> bool {
        let lost_at = *self.lost_at.get_or_insert(now);
        now.millis_since(lost_at) >= self.give_up_secs.saturating_mul(1000)
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

/// The wait before the attempt after `failures` failed ones, with `servers` to choose from: each server
/// is tried once at once (a dead node's neighbours are usually up), then whole rounds wait 1 s, 2 s,
/// 4 s, up to 8 s, so a cluster that is down entirely is not hammered.
pub(super) fn delay_ms(failures: u32, servers: usize) -> u64 {
    let servers = servers.max(1) as u32;
    if failures < servers {
        return 0;
    }
    let round = (failures / servers).min(16);
    (1_000u64 << (round - 1)).min(MAX_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_is_tried_at_once_then_rounds_back_off_to_a_cap() {
        let d: Vec<u64> = (1..=12).map(|f| delay_ms(f, 3)).collect();
        assert_eq!(
            d,
            [
                0, 0, 1_000, 1_000, 1_000, 2_000, 2_000, 2_000, 4_000, 4_000, 4_000, 8_000
            ]
        );
        assert_eq!(delay_ms(1_000, 3), MAX_DELAY_MS);
        assert_eq!(delay_ms(u32::MAX, 2), MAX_DELAY_MS);
    }

    #[test]
    fn the_password_is_kept_only_when_there_is_another_server() {
        let alice = Name::from("alice");
        let mut one = Reconnect::new(vec!["a:1".into()], 0, false, 60);
        one.typed_username("alice");
        one.typed_password("secret");
        one.logged_in(&alice);
        assert!(one.credentials().is_none());
        assert!(!one.can_move());

        let mut two = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0, false, 60);
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
    fn a_lost_server_moves_to_the_next_and_gives_up_after_the_bound() {
        let mut r = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0, false, 60);
        let t0 = Timestamp::from_millis(1_000);
        assert_eq!(r.lost(t0), "a:1");
        assert_eq!(r.current(), "b:2");
        assert_eq!(r.failed(t0.plus_millis(10)), Some(0));
        assert_eq!(r.current(), "a:1");
        assert_eq!(r.failed(t0.plus_millis(20)), Some(1_000));
        assert_eq!(r.current(), "b:2");
        assert_eq!(r.failed(t0.plus_secs(60)), None);
    }

    #[test]
    fn a_lone_server_is_tried_again_with_backoff_at_a_terminal() {
        let alice = Name::from("alice");
        let mut r = Reconnect::new(vec!["a:1".into()], 0, true, 60);
        r.typed_username("alice");
        r.typed_password("secret");
        r.logged_in(&alice);
        assert!(r.can_move(), "a person at a terminal keeps going");
        let t0 = Timestamp::from_millis(1_000);
        assert_eq!(r.lost(t0), "a:1");
        assert_eq!(r.current(), "a:1");
        let waits: Vec<Option<u64>> = (1..=5).map(|i| r.failed(t0.plus_secs(i))).collect();
        assert_eq!(
            waits,
            [
                Some(1_000),
                Some(2_000),
                Some(4_000),
                Some(8_000),
                Some(8_000)
            ]
        );
    }

    #[test]
    fn a_server_whose_certificate_changed_is_skipped_until_trusted_again() {
        let mut r = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0, false, 60);
        let t0 = Timestamp::from_millis(1_000);
        r.lost(t0);
        assert_eq!(r.current(), "b:2");
        r.distrust();
        assert_eq!(r.failed(t0), Some(1_000));
        assert_eq!(r.current(), "a:1");
        assert_eq!(r.failed(t0), Some(2_000));
        assert_eq!(r.current(), "a:1", "b:2 is not tried again by itself");
        r.distrust();
        assert_eq!(r.failed(t0), None, "no server left to try");
        r.trust_again();
        assert_eq!(r.failed(t0), Some(4_000));
    }
}
