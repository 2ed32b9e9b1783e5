//! Password checks and hashes as jobs for the shell: the core decides everything about a login, but the
//! slow arithmetic of argon2 runs on a worker thread, so a flood of logins never stalls users who are
//! chatting.
//!
//! A password typed for an account stored with a hash becomes [`Effect::CheckPassword`], the connection
//! waits in `Phase::Checking`, and `Event::PasswordChecked` brings the verdict, which is then applied
//! exactly as an immediate one would be (after looking again at what may have changed meanwhile: a
//! lockout, a login elsewhere). A new account's password becomes [`Effect::HashPassword`]; the account
//! is created when the hash comes back, after checking again that nobody took the name meanwhile.
//! Accounts stored in the clear (the original file format) are checked at once, unless the core was not
//! given the password's text (a cluster node keeps it: see `cluster::gates`); then that check is a job too, a
//! light one. At most `max_password_jobs` argon2 jobs are outstanding (the light ones are a comparison
//! each and do not count); past that a login that needs one is answered `ERROR busy` without trying (or
//! counting) the password.

use super::jobs::{Job, Weight};
use super::rule::{Login, Outcome, Typed};
use crate::protocol::{ErrorReply, Name, ServerMsg};
use crate::server::connections::sessions::Phase;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::record::Record;
use crate::time::Timestamp;

impl Login<'_> {
    /// Whether another argon2 job may be started; if not, the client is told and asked again.
    pub(super) fn room_for_job(&self, conn: ConnId, out: &mut Vec<Effect>) -> bool {
        if self.jobs.heavy() < self.config.max_password_jobs {
            return true;
        }
        send(out, conn, ErrorReply::Busy);
        self.reprompt(conn, out);
        false
    }

    /// Tries `input` as `user`'s password: at once for a password stored in the clear, as a job for a
    /// hash. Called right after [`Login::may_try`] held for this step (so a password compared at once
    /// is not checked again).
    pub(super) fn try_password(
        &mut self,
        conn: ConnId,
        user: UserId,
        input: Typed<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        let stored = self.accounts.password(user);
        if let Typed::Text(input) = input
            && !crate::password::is_hash(stored)
        {
            // Compared now, in the step that has just checked that the login may go on.
            let ok = crate::password::plain_matches(stored, input);
            return self.apply_verdict(conn, user, ok, now, out);
        }
        let weight = if crate::password::is_hash(stored) {
            Weight::Heavy
        } else {
            Weight::Light
        };
        if weight == Weight::Heavy && !self.room_for_job(conn, out) {
            return Outcome::Pending;
        }
        let hash = stored.to_owned();
        let job = self.jobs.start(Job::Check { conn, user }, weight);
        self.set_phase(conn, Phase::Checking { job });
        out.push(Effect::CheckPassword {
            conn,
            job,
            hash,
            password: input.cleartext(),
        });
        Outcome::Pending
    }

    /// The answer to check `job`: the connection it was for, and where its login now stands (`None`
    /// for a job nobody waits for any more).
    pub(crate) fn password_checked(
        &mut self,
        job: u64,
        ok: bool,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Option<(ConnId, Outcome)> {
        let Some(Job::Check { conn, user }) = self.jobs.finish(job) else {
            return None;
        };
        if !matches!(self.sessions.phase(conn), Some(Phase::Checking { job: j }) if *j == job) {
            // The connection went away meanwhile.
            return None;
        }
        self.set_phase(conn, Phase::AwaitPassword { user });
        Some((conn, self.verdict(conn, user, ok, now, out)))
    }

    /// A login's job the shell could not do: the client is told, and asked again for the password it
    /// typed (nothing was tried or counted). `None` for a job nobody waits for any more.
    pub(crate) fn password_failed(
        &mut self,
        job: u64,
        out: &mut Vec<Effect>,
    ) -> Option<(ConnId, Outcome)> {
        let (conn, phase) = match self.jobs.finish(job)? {
            Job::Check { conn, user } => (conn, Phase::AwaitPassword { user }),
            Job::Hash { conn, name } => (conn, Phase::AwaitNewPassword { name }),
            _ => return None,
        };
        if !matches!(
            self.sessions.phase(conn),
            Some(Phase::Checking { job: j } | Phase::Registering { job: j }) if *j == job
        ) {
            return None;
        }
        if matches!(phase, Phase::AwaitNewPassword { .. })
            && let Some(key) = self.address_of(conn)
        {
            // No account was made: the registration its address spent on it is given back.
            self.addresses.unregister(key, &self.config.address_limits);
        }
        self.set_phase(conn, phase);
        send(out, conn, ErrorReply::PasswordJobFailed);
        self.reprompt(conn, out);
        Some((conn, Outcome::Pending))
    }

    /// Starts creating the account `name` with the password `input` (already checked for syntax, the
    /// name for being free): a registration of its address's taken, then the hash asked for. Room
    /// for the job is asked first, so that `busy` (the password not tried) costs no registration.
    pub(super) fn start_registration(
        &mut self,
        conn: ConnId,
        name: Name,
        input: Typed<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Outcome {
        if !self.room_for_job(conn, out) {
            return Outcome::Pending;
        }
        if let Some(key) = self.address_of(conn)
            && let Err(ready) = self
                .addresses
                .register(key, &self.config.address_limits, now)
        {
            let secs_left = now.secs_until_ceil(ready);
            send(out, conn, ErrorReply::RegisterThrottled { secs_left });
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return Outcome::Pending;
        }
        let job = self.jobs.start(Job::Hash { conn, name }, Weight::Heavy);
        self.set_phase(conn, Phase::Registering { job });
        out.push(Effect::HashPassword {
            conn,
            job,
            password: input.cleartext(),
        });
        Outcome::Pending
    }

    /// The new account's password hash for `job`: the connection it was for, and where its login now
    /// stands (`None` for a job nobody waits for any more).
    pub(crate) fn password_hashed(
        &mut self,
        job: u64,
        hash: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Option<(ConnId, Outcome)> {
        let Some(Job::Hash { conn, name }) = self.jobs.finish(job) else {
            return None;
        };
        if !matches!(self.sessions.phase(conn), Some(Phase::Registering { job: j }) if *j == job) {
            return None;
        }
        if let Err(e) = self.name_is_free(&name) {
            // Someone registered it (or a twin of it) while the hash was being made.
            send(out, conn, e);
            self.set_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            return Some((conn, Outcome::Pending));
        }
        self.no_longer_pending(conn, now);
        out.push(Effect::Persist(Record::AccountCreated {
            user: name.clone(),
            password: hash.to_owned(),
        }));
        send(out, conn, ServerMsg::Registered { user: name.clone() });
        let password = hash.to_owned();
        Some((conn, Outcome::Registered { name, password }))
    }
}
