//! Guests: a session with no account, as IRC networks admit anyone under a free nick. Only when the
//! operator allows it (`Config::guests`, `--irc-guests`): the connection's first line is
//! `guest <nick>` instead of a username (an IRC client that gives no password is logged in so by its
//! front), and there is no password.
//!
//! What holds for a guest:
//!
//! - The nick must be a valid name that is no account's and looks like none (an account's name
//!   would let a guest pass for its owner: `name-is-account`, `name-too-similar`), and no other
//!   guest online has it (`already-online`). A name the operator banned is refused as for an account.
//! - Every limit of a login applies as to an account's: the address's throttles and cool-downs,
//!   its count of logins, the login deadline. Once in, the guest is an entry of its own in the
//!   accounts (`Accounts::add_guest`), so flood control, idle logout, presence and blocks apply to it
//!   as to anyone; the entry goes when the session ends, and the name is free again.
//! - Nothing of a guest is stored: no login history, no mailbox (a message to a guest who has left is
//!   refused as to an unknown user), and what needs an account is refused (`needs-account`; the
//!   list is in `state::input`).

use super::rule::{Login, Outcome};
use crate::protocol::name::check_username;
use crate::protocol::{ByeReason, ErrorReply, Name};
use crate::server::event::{ConnId, Effect, LoginFailure, send};
use crate::time::Timestamp;

/// The word that starts a guest's login line.
const WORD: &str = "guest ";

impl Login<'_> {
    /// The nick a login line asks to be a guest under, if it is `guest <nick>` (a username never
    /// holds a space, so no account's name reads so).
    pub(super) fn guest_asked(line: &str) -> Option<&str> {
        line.strip_prefix(WORD).map(str::trim)
    }

    /// `guest <nick>`: admits the connection as a guest, or says why not and asks for the username
    /// again (none of these refusals counts as a failed login: no password was tried).
    pub(super) fn guest(
        &mut self,
        conn: ConnId,
        nick: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        if self.refuse_if_throttled(conn, now, out) {
            return Outcome::Pending;
        }
        if let Some(refusal) = self.guest_refusal(conn, nick, now) {
            if let ErrorReply::Banned { .. } = refusal {
                out.push(Effect::LoginFailed {
                    conn,
                    user: Some(Name::from(nick)),
                    reason: LoginFailure::Banned,
                });
                send(out, conn, refusal);
                return Outcome::Refused(ByeReason::Banned);
            }
            send(out, conn, refusal);
            self.reprompt(conn, out);
            return Outcome::Pending;
        }
        let limits = &self.config.login_limits;
        if let Some(key) = self.address_of(conn) {
            self.addresses.logged_in(key, limits.per_address(), now);
        }
        self.no_longer_pending(conn, now);
        Outcome::Guest(Name::from(nick))
    }

    /// Why `nick` may not be a guest's on `conn` now, if it may not.
    fn guest_refusal(&self, conn: ConnId, nick: &str, now: Timestamp) -> Option<ErrorReply> {
        if !self.config.guests {
            return Some(ErrorReply::GuestsOff);
        }
        if let Err(e) = check_username(nick) {
            return Some(ErrorReply::InvalidUsername(e));
        }
        if let Some(e) = self.address_barred(conn, now) {
            return Some(e);
        }
        if let Some(ban) = self.bans.user(nick, now) {
            return Some(ErrorReply::Banned {
                secs_left: ban.secs_left(now),
            });
        }
        if let Some(holder) = self.accounts.find(nick) {
            return Some(if self.accounts.is_guest(holder) {
                ErrorReply::AlreadyOnline
            } else {
                ErrorReply::NameIsAccount
            });
        }
        if let Some(existing) = self.accounts.find_look_alike(nick) {
            return Some(ErrorReply::NameTooSimilar {
                existing: self.accounts.name(existing).clone(),
            });
        }
        None
    }
}
