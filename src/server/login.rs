//! Logging in: username, then password (or a new password with `--register`), lockout after three
//! failures in a row, and refusing a second session for a user who is online. Checking a hashed
//! password and hashing a new one are jobs for the shell (`passwords`); the limits per source address
//! (`addresses`) apply before a password is tried.

use super::accounts::{Failure, UserId};
use super::addresses::AddressKey;
use super::config::MAX_FAILURES;
use super::event::{ConnId, Effect};
use super::record::Record;
use super::secret_shape::{SecretShape, Typed};
use super::sessions::Phase;
use super::state::{ServerState, send};
use crate::protocol::name::{check_password, check_username};
use crate::protocol::{ByeReason, ErrorReply, Name, Prompt, ServerMsg};
use crate::time::Timestamp;

impl ServerState {
    /// Asks again for whatever the connection's login is waiting for, so that after any error a client
    /// always knows what the next line is taken as.
    pub(crate) fn reprompt(&self, conn: ConnId, out: &mut Vec<Effect>) {
        let prompt = match self.sessions.phase(conn) {
            Some(Phase::AwaitUsername) => Prompt::Username,
            Some(Phase::AwaitPassword { .. }) => Prompt::Password,
            Some(Phase::AwaitNewPassword { name }) => Prompt::NewPassword { user: name.clone() },
            Some(Phase::Online(_) | Phase::Checking { .. } | Phase::Registering { .. }) | None => {
                return;
            }
        };
        send(out, conn, ServerMsg::Prompt(prompt));
    }

    fn set_phase(&mut self, conn: ConnId, phase: Phase) {
        self.sessions.set_login_phase(conn, phase);
    }

    /// A line typed before login finished. Surrounding spaces are dropped: neither names nor passwords
    /// can contain them.
    pub(crate) fn on_login_line(
        &mut self,
        conn: ConnId,
        line: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let input = line.trim();
        match self.sessions.phase(conn) {
            Some(Phase::AwaitUsername) => self.on_username(conn, input, now, out),
            Some(Phase::AwaitPassword { user }) => {
                let user = *user;
                self.on_password(conn, user, Typed::Text(input), now, out)
            }
            Some(Phase::AwaitNewPassword { name }) => {
                let name = name.clone();
                self.on_new_password(conn, name, Typed::Text(input), now, out)
            }
            // (Lines that come while a password job runs are held by `flow`, never handled here.)
            Some(Phase::Online(_) | Phase::Checking { .. } | Phase::Registering { .. }) | None => {}
        }
    }

    /// The address key of a connection, for the per-address limits.
    fn address_of(&self, conn: ConnId) -> Option<AddressKey> {
        self.sessions.conn(conn).map(|c| AddressKey::of(c.peer))
    }

    /// Refuses to try a login from an address that failed too often lately, saying for how long.
    fn refuse_if_throttled(&self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) -> bool {
        let Some(key) = self.address_of(conn) else {
            return false;
        };
        let Some(ready) = self
            .addresses
            .login_throttled(key, &self.config.address_limits, now)
        else {
            return false;
        };
        send(
            out,
            conn,
            ErrorReply::LoginThrottled {
                secs_left: now.secs_until_ceil(ready),
            },
        );
        self.reprompt(conn, out);
        true
    }

    fn count_failure_of_address(&mut self, conn: ConnId, now: Timestamp) {
        if let Some(key) = self.address_of(conn) {
            self.addresses
                .failed_login(key, &self.config.address_limits, now);
        }
    }

    fn on_username(&mut self, conn: ConnId, input: &str, now: Timestamp, out: &mut Vec<Effect>) {
        if self.refuse_if_throttled(conn, now, out) {
            return;
        }
        let Some(user) = self.find_user(input) else {
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
                send(out, conn, ErrorReply::UnknownUser);
            }
            self.reprompt(conn, out);
            return;
        };
        if self.refuse_if_locked(conn, user, now, out) {
            return;
        }
        if self.sessions.session_of(user).is_some() {
            send(out, conn, ErrorReply::AlreadyOnline);
            self.reprompt(conn, out);
            return;
        }
        self.set_phase(conn, Phase::AwaitPassword { user });
        self.reprompt(conn, out);
    }

    /// Refuses (and closes) a login to a locked account, saying how long is left. Checked at the username
    /// and again at the password, because another connection may have locked the account in between.
    fn refuse_if_locked(
        &mut self,
        conn: ConnId,
        user: UserId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(until) = self.accounts.locked_until(user, now) else {
            return false;
        };
        send(
            out,
            conn,
            ErrorReply::Locked {
                secs_left: now.secs_until_ceil(until),
            },
        );
        self.close_with(conn, ByeReason::Locked, now, out);
        true
    }

    /// A password line given without its text (see [`super::secrets`]): decided as the same line in
    /// the clear would be.
    pub(crate) fn on_secret(
        &mut self,
        conn: ConnId,
        shape: SecretShape,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(phase) = self.sessions.phase(conn) else {
            return;
        };
        if let SecretShape::NotText(e) = shape {
            send(out, conn, ErrorReply::from(e));
            self.reprompt(conn, out);
            return;
        }
        let typed = Typed::AtNode { shape };
        match phase {
            Phase::AwaitPassword { user } => {
                let user = *user;
                self.on_password(conn, user, typed, now, out)
            }
            Phase::AwaitNewPassword { name } => {
                let name = name.clone();
                self.on_new_password(conn, name, typed, now, out)
            }
            // Not waiting for a password after all (a node lets a line through only when the core
            // says it is one, so this does not happen): whatever is awaited is asked for again.
            _ => self.reprompt(conn, out),
        }
    }

    fn on_password(
        &mut self,
        conn: ConnId,
        user: UserId,
        input: Typed<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if self.refuse_if_locked(conn, user, now, out) {
            return;
        }
        if self.sessions.session_of(user).is_some() {
            // Someone finished logging in as this user while we waited for the password. Not a failure.
            send(out, conn, ErrorReply::AlreadyOnline);
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return;
        }
        if self.refuse_if_throttled(conn, now, out) {
            return;
        }
        self.try_password(conn, user, input, now, out);
    }

    /// Applies whether the password was right. A check of a hash may have taken a while, so what could
    /// have changed meanwhile is looked at again first.
    pub(crate) fn password_verdict(
        &mut self,
        conn: ConnId,
        user: UserId,
        ok: bool,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if self.refuse_if_locked(conn, user, now, out) {
            return;
        }
        if self.sessions.session_of(user).is_some() {
            send(out, conn, ErrorReply::AlreadyOnline);
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return;
        }
        if ok {
            self.begin_session(conn, user, now, out);
            return;
        }
        self.count_failure_of_address(conn, now);
        let block_secs = self.config.block_duration_secs;
        let until = match self
            .accounts
            .fail(user, MAX_FAILURES, now.plus_secs(block_secs))
        {
            Failure::AttemptsLeft(attempts_left) => {
                send(out, conn, ErrorReply::WrongPassword { attempts_left });
                self.reprompt(conn, out);
                return;
            }
            Failure::LockedUntil(until) => until,
        };
        out.push(Effect::Persist(Record::LockedOut {
            user: self.name(user).clone(),
            until,
        }));
        send(out, conn, ErrorReply::LockedNow { secs: block_secs });
        self.close_with(conn, ByeReason::Locked, now, out);
    }

    fn on_new_password(
        &mut self,
        conn: ConnId,
        name: Name,
        input: Typed<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let fit = match input {
            Typed::Text(text) => check_password(text),
            Typed::AtNode { shape } => shape.fit(),
        };
        if let Err(e) = fit {
            send(out, conn, ErrorReply::InvalidPassword(e));
            self.reprompt(conn, out);
            return;
        }
        if let Err(e) = self.name_is_free(&name) {
            send(out, conn, e);
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return;
        }
        if let Some(key) = self.address_of(conn)
            && let Err(ready) = self
                .addresses
                .register(key, &self.config.address_limits, now)
        {
            send(
                out,
                conn,
                ErrorReply::RegisterThrottled {
                    secs_left: now.secs_until_ceil(ready),
                },
            );
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return;
        }
        self.start_registration(conn, name, input, out);
    }

    /// Says goodbye with `reason`, forgets the connection and closes it.
    pub(crate) fn close_with(
        &mut self,
        conn: ConnId,
        reason: ByeReason,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        send(out, conn, ServerMsg::Bye(reason));
        self.drop_conn(conn, now, out);
        out.push(Effect::Close { conn });
    }
}
