//! Moving to another server when the one in use is lost: which server to try next, how long to wait
//! between attempts, when to give up, and the login to repeat.
//!
//! A client given several servers of one cluster (`natter --server A --server B ...`) keeps going when
//! its server dies: it connects to the next one and logs in again with the name and password typed at
//! the start, so the user retypes nothing. The password is kept for that alone, in memory only, and only
//! when there is another server to move to.

use crate::protocol::Name;
use crate::time::Timestamp;

/// The login to repeat: what the user typed at the server's prompts when the session began.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub(super) user: Name,
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
}

/// The longest wait between two attempts.
const MAX_DELAY_MS: u64 = 8_000;

/// The wait before asking a server again whether the earlier session has ended.
const WAIT_HERE_MS: u64 = 1_000;

impl Reconnect {
    pub(super) fn new(servers: Vec<String>, current: usize) -> Self {
        let current = current.min(servers.len().saturating_sub(1));
        Reconnect {
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

    /// Whether a lost server is replaced by another: only with more than one to choose from (with one,
    /// losing it ends the client as it always has, with its exit status).
    pub(super) fn enabled(&self) -> bool {
        self.servers.len() > 1
    }

    /// The server in use (or being tried), as the user named it.
    pub(super) fn current(&self) -> &str {
        self.servers.get(self.current).map_or("the server", |s| s)
    }

    pub(super) fn current_index(&self) -> usize {
        self.current
    }

    pub(super) fn relogin(&self) -> bool {
        self.relogin
    }

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
    /// trying it, or `None` if `give_up_ms` have passed since the server was lost.
    pub(super) fn failed(&mut self, now: Timestamp, give_up_ms: u64) -> Option<u64> {
        if self.given_up(now, give_up_ms) {
            return None;
        }
        self.failures += 1;
        self.advance();
        Some(delay_ms(self.failures, self.servers.len()))
    }

    /// The current server answers, but the earlier session has not ended yet (a dead server's sessions
    /// end within a bounded time): it is tried again in a second, rather than the others, which may be
    /// dead. Returns the wait and whether this is the first such wait (to say so once), or `None` if
    /// `give_up_ms` have passed since the server was lost.
    pub(super) fn wait_here(&mut self, now: Timestamp, give_up_ms: u64) -> Option<(u64, bool)> {
        if self.given_up(now, give_up_ms) {
            return None;
        }
        let first = !std::mem::replace(&mut self.waiting_here, true);
        Some((WAIT_HERE_MS, first))
    }

    /// Whether `give_up_ms` have passed since the server was lost (counted from now if it was not
    /// noted yet).
    fn given_up(&mut self, now: Timestamp, give_up_ms: u64) -> bool {
        let lost_at = *self.lost_at.get_or_insert(now);
        now.millis_since(lost_at) >= give_up_ms
    }

    fn advance(&mut self) {
        if !self.servers.is_empty() {
            self.current = (self.current + 1) % self.servers.len();
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
        let mut one = Reconnect::new(vec!["a:1".into()], 0);
        one.typed_username("alice");
        one.typed_password("secret");
        one.logged_in(&alice);
        assert!(one.credentials().is_none());
        assert!(!one.can_move());

        let mut two = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0);
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
        let mut r = Reconnect::new(vec!["a:1".into(), "b:2".into()], 0);
        let t0 = Timestamp::from_millis(1_000);
        assert_eq!(r.lost(t0), "a:1");
        assert_eq!(r.current(), "b:2");
        assert_eq!(r.failed(t0.plus_millis(10), 60_000), Some(0));
        assert_eq!(r.current(), "a:1");
        assert_eq!(r.failed(t0.plus_millis(20), 60_000), Some(1_000));
        assert_eq!(r.current(), "b:2");
        assert_eq!(r.failed(t0.plus_secs(60), 60_000), None);
    }
}
