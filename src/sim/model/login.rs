//! Logging in, in the model: the username, the password (three wrong ones in a row lock the account),
//! registration, one session per user, and the session that begins.

use super::{MAcks, MPasswd, MPhase, MStored, Model, Out};
use natter_core::protocol::name::{check_password, check_username};
use natter_core::protocol::{ByeReason, ErrorReply, Name, Prompt, ServerMsg};
use natter_core::server::{ConnId, MAX_FAILURES};
use natter_core::time::Timestamp;

impl Model {
    pub(super) fn login_line(&mut self, conn: ConnId, input: &str, out: &mut Out) {
        let phase = self.conns[&conn].phase.clone();
        match phase {
            MPhase::Username => self.username(conn, input, out),
            MPhase::Password(user) => self.password(conn, &user, input, out),
            MPhase::NewPassword(name) => self.new_password(conn, name, input, out),
            MPhase::Online { .. } => unreachable!("login lines come before login"),
        }
    }

    pub(super) fn username(&mut self, conn: ConnId, input: &str, out: &mut Out) {
        // A guest's login line (`guest <nick>`): the simulator's servers admit no guests, so it is
        // refused and the username asked for again, whatever the nick. (Guests themselves are
        // covered by the core's unit tests and the IRC tests, not by the model yet.)
        if input.starts_with("guest ") && !self.cfg.guests {
            out.send(conn, ErrorReply::GuestsOff);
            self.reprompt(conn, out);
            return;
        }
        if let Some((name, _)) = self.users.get_key_value(input) {
            let name = name.clone();
            if self.refuse_locked(conn, &name, out) {
                return;
            }
            if self.user(&name).conn.is_some() {
                out.send(conn, ErrorReply::AlreadyOnline);
            } else {
                self.set_phase(conn, MPhase::Password(name));
            }
        } else if let Err(e) = check_username(input) {
            out.send(conn, ErrorReply::InvalidUsername(e));
        } else if self.cfg.register {
            match self.case_twin(input) {
                Some(existing) => out.send(conn, ErrorReply::NameTooSimilar { existing }),
                None => self.set_phase(conn, MPhase::NewPassword(Name::from(input))),
            }
        } else {
            out.send(conn, ErrorReply::UnknownUser);
        }
        self.reprompt(conn, out);
    }

    /// The account, first in creation order, whose name equals `name` but for letter case.
    pub(super) fn case_twin(&self, name: &str) -> Option<Name> {
        self.order
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .cloned()
    }

    pub(super) fn refuse_locked(&mut self, conn: ConnId, user: &Name, out: &mut Out) -> bool {
        if let Some(until) = self.ban_of(user) {
            let secs_left = until.map_or(0, |u| self.now.secs_until_ceil(u).max(1));
            out.send(conn, ErrorReply::Banned { secs_left });
            self.close(conn, ByeReason::Banned, out);
            return true;
        }
        if !self.is_locked(user) {
            return false;
        }
        let until = self.user(user).locked_until.expect("locked");
        let secs_left = (until.as_millis() - self.now.as_millis()).div_ceil(1000);
        out.send(conn, ErrorReply::Locked { secs_left });
        self.close(conn, ByeReason::Locked, out);
        true
    }

    pub(super) fn password(&mut self, conn: ConnId, user: &Name, input: &str, out: &mut Out) {
        if self.refuse_locked(conn, user, out) {
            return;
        }
        if self.user(user).conn.is_some() {
            out.send(conn, ErrorReply::AlreadyOnline);
            self.set_phase(conn, MPhase::Username);
            self.reprompt(conn, out);
            return;
        }
        if self.user(user).password == input {
            self.begin_session(conn, user, out);
            return;
        }
        let block = self.cfg.block_duration_secs;
        let now = self.now;
        let u = self.user_mut(user);
        u.failures += 1;
        if u.failures < MAX_FAILURES {
            let attempts_left = MAX_FAILURES - u.failures;
            out.send(conn, ErrorReply::WrongPassword { attempts_left });
            self.reprompt(conn, out);
            return;
        }
        u.failures = 0;
        u.locked_until = Some(now.plus_secs(block));
        self.acknowledged_change();
        out.send(conn, ErrorReply::LockedNow { secs: block });
        self.close(conn, ByeReason::Locked, out);
    }

    pub(super) fn new_password(&mut self, conn: ConnId, name: Name, input: &str, out: &mut Out) {
        if let Err(e) = check_password(input) {
            out.send(conn, ErrorReply::InvalidPassword(e));
            self.reprompt(conn, out);
            return;
        }
        if self.weak(&name, input) {
            let min = self.cfg.min_password_length;
            out.send(conn, ErrorReply::WeakPassword { min });
            self.reprompt(conn, out);
            return;
        }
        if self.users.contains_key(&name) {
            out.send(conn, ErrorReply::NameTaken);
            self.set_phase(conn, MPhase::Username);
            self.reprompt(conn, out);
            return;
        }
        if let Some(existing) = self.case_twin(&name) {
            out.send(conn, ErrorReply::NameTooSimilar { existing });
            self.set_phase(conn, MPhase::Username);
            self.reprompt(conn, out);
            return;
        }
        self.add_user(name.clone(), input.to_owned());
        self.acknowledged_change();
        out.send(conn, ServerMsg::Registered { user: name.clone() });
        self.begin_session(conn, &name, out);
    }

    pub(super) fn begin_session(&mut self, conn: ConnId, user: &Name, out: &mut Out) {
        let now = self.now;
        let u = self.user_mut(user);
        u.failures = 0;
        u.conn = Some(conn);
        let waiting: Vec<MStored> = u.stored().cloned().collect();
        self.lazy_change();
        self.set_phase(
            conn,
            MPhase::Online {
                user: user.clone(),
                last_cmd: now,
                p2p: None,
                sent_through: 0,
                waiting,
                replay: None,
                warned: false,
                receipts: false,
                acks: MAcks::Undecided,
                mail: 0,
                watching: false,
                since_watch: 0,
                passwd: MPasswd::Idle,
                since: now,
                away: None,
            },
        );
        out.send(conn, ServerMsg::Welcome { user: user.clone() });
        if let Some(k) = &self.user(user).keys {
            let count = k.one_time.len();
            out.send(conn, ServerMsg::KeysLeft { count });
        }
        self.pump(user, out);
        self.invitations_at_login(conn, user, out);
        self.announce(user, true, out);
    }

    /// The ban on `user` that holds now: until when (`None`: for good).
    pub fn ban_of(&self, user: &str) -> Option<Option<Timestamp>> {
        self.bans
            .get(user)
            .copied()
            .filter(|until| until.is_none_or(|u| u > self.now))
    }

    /// The password policy: at least `min_password_length` characters, and not the username.
    fn weak(&self, user: &str, password: &str) -> bool {
        password.chars().count() < self.cfg.min_password_length
            || password.eq_ignore_ascii_case(user)
    }

    pub(super) fn set_passwd(&mut self, conn: ConnId, step: MPasswd) {
        if let Some(MPhase::Online { passwd, .. }) = self.session_mut(conn) {
            *passwd = step;
        }
    }

    /// A line while `passwd` waits for a password: the current one (compared), then the new one
    /// (held to the policy, then kept, an acknowledged change).
    pub(super) fn passwd_line(
        &mut self,
        conn: ConnId,
        user: &Name,
        step: MPasswd,
        input: &str,
        out: &mut Out,
    ) {
        match step {
            MPasswd::Oper => {
                self.set_passwd(conn, MPasswd::Idle);
                out.send(conn, ErrorReply::OperFailed);
            }
            MPasswd::Current => {
                if self.user(user).password == input {
                    self.set_passwd(conn, MPasswd::New);
                    out.send(conn, ServerMsg::Prompt(Prompt::ChosenPassword));
                } else {
                    self.set_passwd(conn, MPasswd::Idle);
                    out.send(conn, ErrorReply::WrongCurrentPassword);
                }
            }
            MPasswd::New => {
                if let Err(e) = check_password(input) {
                    out.send(conn, ErrorReply::InvalidPassword(e));
                    self.reprompt(conn, out);
                    return;
                }
                if self.weak(user, input) {
                    let min = self.cfg.min_password_length;
                    out.send(conn, ErrorReply::WeakPassword { min });
                    self.reprompt(conn, out);
                    return;
                }
                self.user_mut(user).password = input.to_owned();
                self.acknowledged_change();
                self.set_passwd(conn, MPasswd::Idle);
                out.send(conn, ServerMsg::PasswordChanged { user: user.clone() });
            }
            MPasswd::Idle => {}
        }
    }
}
