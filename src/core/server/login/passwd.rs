//! `passwd`: a logged-in user changes their own password. The server asks for the current one
//! (checked like a login's, off the core's thread for a hash), then for the new one (held to the
//! password policy, then hashed), and answers `PASSWORD-CHANGED` once the new hash is durable. The two
//! lines are passwords, so, as at login, a cluster node lets them into its log as their shape only
//! (`secrets`), and the lines typed while a job runs wait. A wrong current password ends the `passwd`
//! with an error (it counts toward no lockout: the user is logged in already; each try costs a
//! password check and a line of their flood budget).

use super::jobs::{Job, Weight};
use super::policy::weak;
use super::rule::{Login, Typed};
use crate::protocol::name::check_password;
use crate::protocol::{ErrorReply, Prompt, ServerMsg};
use crate::server::connections::sessions::{Passwd, Phase};
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::record::Record;
use crate::server::secret_shape::SecretShape;

impl Login<'_> {
    /// `passwd`: the next line is the current password.
    pub(crate) fn passwd(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        self.sessions.set_passwd(conn, Passwd::AwaitCurrent);
        send(out, conn, ServerMsg::Prompt(Prompt::CurrentPassword));
    }

    /// A password line while `passwd` awaits one (`step`).
    pub(crate) fn passwd_line(
        &mut self,
        conn: ConnId,
        user: UserId,
        step: Passwd,
        input: Typed<'_>,
        out: &mut Vec<Effect>,
    ) {
        if let Typed::AtNode {
            shape: SecretShape::NotText(e),
        } = input
        {
            send(out, conn, ErrorReply::from(e));
            self.reprompt(conn, out);
            return;
        }
        match step {
            Passwd::AwaitCurrent => self.check_current(conn, user, input, out),
            Passwd::AwaitNew => self.set_new(conn, user, input, out),
            Passwd::AwaitOper { op } => self.check_oper(conn, op, input, out),
            _ => {}
        }
    }

    fn check_current(
        &mut self,
        conn: ConnId,
        user: UserId,
        input: Typed<'_>,
        out: &mut Vec<Effect>,
    ) {
        let stored = self.accounts.password(user);
        if let Typed::Text(text) = input
            && !crate::password::is_hash(stored)
        {
            let ok = crate::password::plain_matches(stored, text);
            return self.current_verdict(conn, ok, out);
        }
        let weight = if crate::password::is_hash(stored) {
            Weight::Heavy
        } else {
            Weight::Light
        };
        if weight == Weight::Heavy && !self.room_for_job(conn, out) {
            return;
        }
        let hash = stored.to_owned();
        let job = self.jobs.start(Job::CheckCurrent { conn, user }, weight);
        self.sessions.set_passwd(conn, Passwd::Checking { job });
        out.push(Effect::CheckPassword {
            conn,
            job,
            hash,
            password: input.cleartext(),
        });
    }

    fn current_verdict(&mut self, conn: ConnId, ok: bool, out: &mut Vec<Effect>) {
        if ok {
            self.sessions.set_passwd(conn, Passwd::AwaitNew);
            send(out, conn, ServerMsg::Prompt(Prompt::ChosenPassword));
        } else {
            self.sessions.set_passwd(conn, Passwd::Idle);
            send(out, conn, ErrorReply::WrongCurrentPassword);
        }
    }

    fn set_new(&mut self, conn: ConnId, user: UserId, input: Typed<'_>, out: &mut Vec<Effect>) {
        let min = self.config.min_password_length;
        let (fit, is_weak) = match input {
            Typed::Text(text) => (
                check_password(text),
                weak(self.accounts.name(user), text, min),
            ),
            Typed::AtNode { shape } => (shape.fit(), shape == SecretShape::Weak),
        };
        if let Err(e) = fit {
            send(out, conn, ErrorReply::InvalidPassword(e));
            self.reprompt(conn, out);
            return;
        }
        if is_weak {
            send(out, conn, ErrorReply::WeakPassword { min });
            self.reprompt(conn, out);
            return;
        }
        if !self.room_for_job(conn, out) {
            return;
        }
        let job = self.jobs.start(Job::HashNew { conn, user }, Weight::Heavy);
        self.sessions.set_passwd(conn, Passwd::Hashing { job });
        out.push(Effect::HashPassword {
            conn,
            job,
            password: input.cleartext(),
        });
    }

    /// The verdict on a `passwd`'s current password: the connection it was for (`None` for a job
    /// nobody waits for any more).
    pub(crate) fn passwd_checked(
        &mut self,
        job: u64,
        ok: bool,
        out: &mut Vec<Effect>,
    ) -> Option<ConnId> {
        let (conn, oper) = match self.jobs.finish(job) {
            Some(Job::CheckCurrent { conn, .. }) => (conn, None),
            Some(Job::CheckOper { conn, op }) => (conn, Some(op)),
            _ => return None,
        };
        if !self.passwd_waits_for(conn, job) {
            return None;
        }
        match oper {
            Some(op) => self.oper_verdict(conn, op, ok, out),
            None => self.current_verdict(conn, ok, out),
        }
        Some(conn)
    }

    /// The new password's hash for a `passwd`: kept, and the user told once it is durable.
    pub(crate) fn passwd_hashed(
        &mut self,
        job: u64,
        hash: &str,
        out: &mut Vec<Effect>,
    ) -> Option<ConnId> {
        let Some(Job::HashNew { conn, user }) = self.jobs.finish(job) else {
            return None;
        };
        if !self.passwd_waits_for(conn, job) {
            return None;
        }
        self.accounts.set_password(user, hash.to_owned());
        let name = self.accounts.name(user).clone();
        out.push(Effect::Persist(Record::PasswordSet {
            user: name.clone(),
            password: hash.to_owned(),
        }));
        self.sessions.set_passwd(conn, Passwd::Idle);
        send(out, conn, ServerMsg::PasswordChanged { user: name });
        Some(conn)
    }

    /// A `passwd`'s (or an `oper`'s) job the shell could not do: the command ends, nothing changed, and
    /// the user is told to start it again. `None` for a job nobody waits for any more.
    pub(crate) fn passwd_failed(&mut self, job: u64, out: &mut Vec<Effect>) -> Option<ConnId> {
        let conn = match self.jobs.finish(job)? {
            Job::CheckCurrent { conn, .. }
            | Job::HashNew { conn, .. }
            | Job::CheckOper { conn, .. } => conn,
            _ => return None,
        };
        if !self.passwd_waits_for(conn, job) {
            return None;
        }
        self.sessions.set_passwd(conn, Passwd::Idle);
        send(out, conn, ErrorReply::PasswordJobFailed);
        Some(conn)
    }

    /// Whether `conn`'s session still waits for `job` (it may have ended meanwhile).
    fn passwd_waits_for(&self, conn: ConnId, job: u64) -> bool {
        matches!(
            self.sessions.phase(conn),
            Some(Phase::Online(s)) if matches!(s.passwd(), Passwd::Checking { job: j } | Passwd::Hashing { job: j } if j == job)
        )
    }
}
