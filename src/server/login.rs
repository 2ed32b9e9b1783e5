//! Logging in: username, then password (or a new password with `--register`), lockout after three
//! failures in a row, and refusing a second session for a user who is online.

use super::accounts::{Failure, UserId};
use super::config::MAX_FAILURES;
use super::event::{ConnId, Effect};
use super::record::Record;
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
            Some(Phase::Online(_)) | None => return,
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
                self.on_password(conn, user, input, now, out)
            }
            Some(Phase::AwaitNewPassword { name }) => {
                let name = name.clone();
                self.on_new_password(conn, name, input, now, out)
            }
            Some(Phase::Online(_)) | None => {}
        }
    }

    fn on_username(&mut self, conn: ConnId, input: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(user) = self.find_user(input) else {
            if let Err(e) = check_username(input) {
                send(out, conn, ErrorReply::InvalidUsername(e));
            } else if self.config.register {
                let name = Name::from(input);
                self.set_phase(conn, Phase::AwaitNewPassword { name });
            } else {
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

    fn on_password(
        &mut self,
        conn: ConnId,
        user: UserId,
        input: &str,
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
        if self.accounts.password(user) == input {
            self.begin_session(conn, user, now, out);
            return;
        }
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
        input: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if let Err(e) = check_password(input) {
            send(out, conn, ErrorReply::InvalidPassword(e));
            self.reprompt(conn, out);
            return;
        }
        if self.find_user(&name).is_some() {
            send(out, conn, ErrorReply::NameTaken);
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return;
        }
        let user = self.add_user(name.clone(), input.to_owned());
        out.push(Effect::Persist(Record::AccountCreated {
            user: name.clone(),
            password: input.to_owned(),
        }));
        send(out, conn, ServerMsg::Registered { user: name });
        self.begin_session(conn, user, now, out);
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
