//! The login rule: username, then password (or a new password with `--register`), the lockout after
//! three failures in a row, one session per user, and the per-address limits, step by step. The
//! password steps that need the shell's workers are in `passwords`.

use super::addresses::{AddressKey, Addresses, Barred};
use super::jobs::Jobs;
use crate::password::Cleartext;
use crate::protocol::name::{check_password, check_username};
use crate::protocol::{ByeReason, ErrorReply, Name, Prompt, ServerMsg};
use crate::server::admin::bans::Bans;
use crate::server::config::{Config, MAX_FAILURES};
use crate::server::connections::sessions::{Passwd, Phase, Sessions};
use crate::server::event::{ConnId, Effect, LoginFailure, UserId, send};
use crate::server::login::accounts::{Accounts, Failure};
use crate::server::record::Record;
use crate::server::secret_shape::SecretShape;
use crate::time::Timestamp;

/// What the login touches: the accounts (their passwords and lockout counters), the connections'
/// login phases, the per-address limits and the password jobs. Nothing else: what a login leads to
/// beyond these (a session, a closed connection, a new account) it says as an [`Outcome`].
pub(crate) struct Login<'a> {
    pub(in crate::server) config: &'a Config,
    pub(in crate::server) accounts: &'a mut Accounts,
    pub(in crate::server) sessions: &'a mut Sessions,
    pub(in crate::server) addresses: &'a mut Addresses,
    pub(in crate::server) jobs: &'a mut Jobs,
    pub(in crate::server) bans: &'a Bans,
}

/// Where a login step leaves the connection, for the state to carry out.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Outcome {
    /// Still logging in: it waits for its next line, or for a password job.
    Pending,
    /// Told why it may not log in: it is to be closed, with this goodbye.
    Refused(ByeReason),
    /// `user` is now logged in on it: the session begins.
    LoggedIn(UserId),
    /// A new account, recorded and announced: it is to be added (with `password` as the account keeps
    /// it: the hash), and its session begins.
    Registered { name: Name, password: String },
    /// A guest admitted under `name` (see `guest`): it is to be added as a guest, and its session
    /// begins.
    Guest(Name),
}

/// A password as the core was given it: typed text, or only its shape, the text staying with the
/// connection's node (a cluster's; see `cluster::gates`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Typed<'a> {
    Text(&'a str),
    AtNode { shape: SecretShape },
}

impl Typed<'_> {
    /// The text, for a password job (`None`: the node that holds it fills it in).
    pub(crate) fn cleartext(self) -> Option<Cleartext> {
        match self {
            Typed::Text(t) => Some(Cleartext(t.to_owned())),
            Typed::AtNode { .. } => None,
        }
    }
}

/// Tells the operator's log that a login on `conn` failed.
fn failed(out: &mut Vec<Effect>, conn: ConnId, user: Option<Name>, reason: LoginFailure) {
    out.push(Effect::LoginFailed { conn, user, reason });
}

/// Asks again for whatever the connection's login is waiting for, so that after any error a client
/// always knows what the next line is taken as.
pub(crate) fn reprompt(sessions: &Sessions, conn: ConnId, out: &mut Vec<Effect>) {
    let prompt = match sessions.phase(conn) {
        Some(Phase::Online(s)) => match s.passwd() {
            Passwd::AwaitCurrent => Prompt::CurrentPassword,
            Passwd::AwaitNew => Prompt::ChosenPassword,
            Passwd::AwaitOper { .. } => Prompt::OperatorPassword,
            _ => return,
        },
        Some(Phase::AwaitUsername) => Prompt::Username,
        Some(Phase::AwaitPassword { .. }) => Prompt::Password,
        Some(Phase::AwaitNewPassword { name }) => Prompt::NewPassword { user: name.clone() },
        Some(Phase::Checking { .. } | Phase::Registering { .. }) | None => {
            return;
        }
    };
    send(out, conn, ServerMsg::Prompt(prompt));
}

impl Login<'_> {
    pub(super) fn reprompt(&self, conn: ConnId, out: &mut Vec<Effect>) {
        reprompt(self.sessions, conn, out);
    }

    pub(super) fn set_phase(&mut self, conn: ConnId, phase: Phase) {
        self.sessions.set_login_phase(conn, phase);
    }

    /// A line typed before login finished. Surrounding spaces are dropped: neither names nor passwords
    /// can contain them.
    pub(crate) fn line(
        &mut self,
        conn: ConnId,
        line: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        let input = line.trim();
        match self.sessions.phase(conn) {
            Some(Phase::AwaitUsername) => match Login::guest_asked(input) {
                Some(nick) => self.guest(conn, nick, now, out),
                None => self.username(conn, input, now, out),
            },
            Some(Phase::AwaitPassword { user }) => {
                let user = *user;
                self.password(conn, user, Typed::Text(input), now, out)
            }
            Some(Phase::AwaitNewPassword { name }) => {
                let name = name.clone();
                self.new_password(conn, name, Typed::Text(input), now, out)
            }
            // (Lines that come while a password job runs are held by `flow`, never handled here.)
            Some(Phase::Online(_) | Phase::Checking { .. } | Phase::Registering { .. }) | None => {
                Outcome::Pending
            }
        }
    }

    /// A password line given without its text (see `cluster::gates`): decided as the same line in the clear
    /// would be.
    pub(crate) fn secret(
        &mut self,
        conn: ConnId,
        shape: SecretShape,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        let Some(phase) = self.sessions.phase(conn) else {
            return Outcome::Pending;
        };
        if let SecretShape::NotText(e) = shape {
            send(out, conn, ErrorReply::from(e));
            self.reprompt(conn, out);
            return Outcome::Pending;
        }
        let typed = Typed::AtNode { shape };
        match phase {
            Phase::AwaitPassword { user } => {
                let user = *user;
                self.password(conn, user, typed, now, out)
            }
            Phase::AwaitNewPassword { name } => {
                let name = name.clone();
                self.new_password(conn, name, typed, now, out)
            }
            // Not waiting for a password after all (a node lets a line through only when the core
            // says it is one, so this does not happen): whatever is awaited is asked for again.
            _ => {
                self.reprompt(conn, out);
                Outcome::Pending
            }
        }
    }

    fn username(
        &mut self,
        conn: ConnId,
        input: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        if self.refuse_if_throttled(conn, now, out) {
            return Outcome::Pending;
        }
        if let Some(e) = self.address_barred(conn, now) {
            send(out, conn, e);
            self.reprompt(conn, out);
            return Outcome::Pending;
        }
        let Some(user) = self.accounts.find(input) else {
            if let Err(e) = check_username(input) {
                send(out, conn, ErrorReply::InvalidUsername(e));
            } else if self.config.register {
                match self.name_is_free(input) {
                    Ok(()) => {
                        let name = Name::from(input);
                        self.set_phase(conn, Phase::AwaitNewPassword { name });
                    }
                    Err(e) => send(out, conn, e),
                }
            } else {
                self.count_failure_of_address(conn, now);
                failed(out, conn, None, LoginFailure::UnknownUser);
                send(out, conn, ErrorReply::UnknownUser);
            }
            self.reprompt(conn, out);
            return Outcome::Pending;
        };
        if let Err(stop) = self.may_try(conn, user, now, out) {
            return stop;
        }
        self.set_phase(conn, Phase::AwaitPassword { user });
        self.reprompt(conn, out);
        Outcome::Pending
    }

    /// What must hold for `user`'s login to go on, looked at again at each step (the username, the
    /// password, a check's verdict) because another connection may have changed it in between: the
    /// account is not locked (else it is refused, saying how long is left); neither the account nor the
    /// address is cooling down after a flood or has logged in too often lately, and the user is not
    /// online (else the login starts again at the username, saying why; none of these is a failure).
    pub(super) fn may_try(
        &mut self,
        conn: ConnId,
        user: UserId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Result<(), Outcome> {
        if let Some(ban) = self.bans.user(self.accounts.name(user), now) {
            let secs_left = ban.secs_left(now);
            let name = self.accounts.name(user).clone();
            failed(out, conn, Some(name), LoginFailure::Banned);
            send(out, conn, ErrorReply::Banned { secs_left });
            return Err(Outcome::Refused(ByeReason::Banned));
        }
        if let Some(until) = self.accounts.locked_until(user, now) {
            let secs_left = now.secs_until_ceil(until);
            let name = self.accounts.name(user).clone();
            failed(out, conn, Some(name), LoginFailure::Locked);
            send(out, conn, ErrorReply::Locked { secs_left });
            return Err(Outcome::Refused(ByeReason::Locked));
        }
        let per_account = self.config.login_limits.per_account();
        let barred = if let Some(until) = self.accounts.cooling_until(user, now) {
            Some(ErrorReply::FloodCooldown {
                address: false,
                secs_left: now.secs_until_ceil(until),
            })
        } else if let Some(at) = self.accounts.logins_throttled(user, per_account, now) {
            Some(ErrorReply::TooManyLogins {
                address: false,
                secs_left: now.secs_until_ceil(at),
            })
        } else if let Some(e) = self.address_barred(conn, now) {
            Some(e)
        } else if self.sessions.session_of(user).is_some() {
            Some(ErrorReply::AlreadyOnline)
        } else {
            None
        };
        if let Some(e) = barred {
            send(out, conn, e);
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return Err(Outcome::Pending);
        }
        Ok(())
    }

    /// Why no account may log in from the connection's address now, if none may: a connection from it
    /// was disconnected for flooding a moment ago, or its logins came too often lately.
    pub(super) fn address_barred(&self, conn: ConnId, now: Timestamp) -> Option<ErrorReply> {
        let key = self.address_of(conn)?;
        let per_address = self.config.login_limits.per_address();
        Some(match self.addresses.barred(key, per_address, now)? {
            Barred::CoolingUntil(until) => ErrorReply::FloodCooldown {
                address: true,
                secs_left: now.secs_until_ceil(until),
            },
            Barred::ThrottledUntil(at) => ErrorReply::TooManyLogins {
                address: true,
                secs_left: now.secs_until_ceil(at),
            },
        })
    }

    fn password(
        &mut self,
        conn: ConnId,
        user: UserId,
        input: Typed<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        if let Err(stop) = self.may_try(conn, user, now, out) {
            return stop;
        }
        if self.refuse_if_throttled(conn, now, out) {
            return Outcome::Pending;
        }
        self.try_password(conn, user, input, now, out)
    }

    /// Applies whether the password was right. A check of a hash may have taken a while, so what could
    /// have changed meanwhile is looked at again first.
    pub(super) fn verdict(
        &mut self,
        conn: ConnId,
        user: UserId,
        ok: bool,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        if let Err(stop) = self.may_try(conn, user, now, out) {
            return stop;
        }
        self.apply_verdict(conn, user, ok, now, out)
    }

    /// [`Login::verdict`] where nothing can have changed since [`Login::may_try`] last held: a
    /// password compared at once, in the same step as the checks before it.
    pub(super) fn apply_verdict(
        &mut self,
        conn: ConnId,
        user: UserId,
        ok: bool,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        if ok {
            let limits = &self.config.login_limits;
            self.accounts.succeeded(user, limits.per_account(), now);
            if let Some(key) = self.address_of(conn) {
                self.addresses.logged_in(key, limits.per_address(), now);
            }
            self.no_longer_pending(conn, now);
            return Outcome::LoggedIn(user);
        }
        self.count_failure_of_address(conn, now);
        let block_secs = self.config.block_duration_secs;
        let name = self.accounts.name(user).clone();
        let until = match self
            .accounts
            .fail(user, MAX_FAILURES, now.plus_secs(block_secs))
        {
            Failure::AttemptsLeft(attempts_left) => {
                failed(out, conn, Some(name), LoginFailure::WrongPassword);
                send(out, conn, ErrorReply::WrongPassword { attempts_left });
                self.reprompt(conn, out);
                return Outcome::Pending;
            }
            Failure::LockedUntil(until) => {
                failed(out, conn, Some(name), LoginFailure::Locked);
                until
            }
        };
        out.push(Effect::Persist(Record::LockedOut {
            user: self.accounts.name(user).clone(),
            until,
        }));
        send(out, conn, ErrorReply::LockedNow { secs: block_secs });
        Outcome::Refused(ByeReason::Locked)
    }

    fn new_password(
        &mut self,
        conn: ConnId,
        name: Name,
        input: Typed<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        let min = self.config.min_password_length;
        let (fit, is_weak) = match input {
            Typed::Text(text) => (check_password(text), super::policy::weak(&name, text, min)),
            Typed::AtNode { shape } => (shape.fit(), shape == SecretShape::Weak),
        };
        if let Err(e) = fit {
            send(out, conn, ErrorReply::InvalidPassword(e));
            self.reprompt(conn, out);
            return Outcome::Pending;
        }
        if is_weak {
            send(out, conn, ErrorReply::WeakPassword { min });
            self.reprompt(conn, out);
            return Outcome::Pending;
        }
        if let Err(e) = self.name_is_free(&name) {
            send(out, conn, e);
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return Outcome::Pending;
        }
        self.start_registration(conn, name, input, now, out)
    }

    /// Whether a new account may be called `name`: no account has it, nor a name that looks like it
    /// (in another letter case, or with letters that look alike: see `lookalike`).
    pub(super) fn name_is_free(&self, name: &str) -> Result<(), ErrorReply> {
        if self.accounts.find(name).is_some() {
            return Err(ErrorReply::NameTaken);
        }
        if let Some(existing) = self.accounts.find_look_alike(name) {
            return Err(ErrorReply::NameTooSimilar {
                existing: self.accounts.name(existing).clone(),
            });
        }
        Ok(())
    }

    /// The connection has logged in (or is about to, with a new account): its address no longer
    /// counts it among those logging in.
    pub(super) fn no_longer_pending(&mut self, conn: ConnId, now: Timestamp) {
        if let Some(peer) = self.sessions.take_pending_login(conn) {
            self.addresses.done_pending(AddressKey::of(peer), now);
        }
    }

    /// The address key of a connection, for the per-address limits.
    pub(super) fn address_of(&self, conn: ConnId) -> Option<AddressKey> {
        self.sessions.conn(conn).map(|c| AddressKey::of(c.peer()))
    }

    /// Refuses to try a login from an address that failed too often lately, saying for how long.
    pub(super) fn refuse_if_throttled(
        &self,
        conn: ConnId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(key) = self.address_of(conn) else {
            return false;
        };
        let limits = &self.config.address_limits;
        let Some(ready) = self.addresses.login_throttled(key, limits, now) else {
            return false;
        };
        let secs_left = now.secs_until_ceil(ready);
        send(out, conn, ErrorReply::LoginThrottled { secs_left });
        self.reprompt(conn, out);
        true
    }

    fn count_failure_of_address(&mut self, conn: ConnId, now: Timestamp) {
        if let Some(key) = self.address_of(conn) {
            self.addresses
                .failed_login(key, &self.config.address_limits, now);
        }
    }
}
