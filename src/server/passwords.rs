//! Password checks and hashes as jobs for the shell: the core decides everything about a login, but the
//! slow arithmetic of argon2 runs on a worker thread, so a flood of logins never stalls users who are
//! chatting.
//!
//! A password typed for an account stored with a hash becomes [`Effect::CheckPassword`], the connection
//! waits in `Phase::Checking`, and [`Event::PasswordChecked`](super::Event::PasswordChecked) brings the
//! verdict, which is then applied exactly as an immediate one would be (after looking again at what may
//! have changed meanwhile: a lockout, a login elsewhere). A new account's password becomes
//! [`Effect::HashPassword`]; the account is created when the hash comes back, after checking again that
//! nobody took the name meanwhile. Accounts stored in the clear (the original file format) are checked
//! at once, unless the core was not given the password's text (a cluster node keeps it: see
//! [`super::secrets`]); then that check is a job too, a light one. At most `max_password_jobs` argon2
//! jobs are outstanding (the light ones are a comparison each and do not count); past that a login
//! that needs one is answered `ERROR busy` without trying (or counting) the password.

use rustc_hash::FxHashMap;

use super::accounts::UserId;
use super::event::{ConnId, Effect};
use super::record::Record;
use super::secret_shape::Typed;
use super::sessions::Phase;
use super::state::{ServerState, send};
use crate::protocol::{ErrorReply, Name, ServerMsg};
use crate::time::Timestamp;

/// A job handed to the shell, and whom it is for.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) enum Job {
    Check { conn: ConnId, user: UserId },
    Hash { conn: ConnId, name: Name },
}

/// The jobs outstanding.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Jobs {
    next: u64,
    open: FxHashMap<u64, (Job, Weight)>,
    /// How many of them are argon2's (the ones the bound is for).
    heavy: usize,
}

/// What a job costs the shell: argon2's deliberate work, or a comparison (a password stored in the
/// clear, checked away from the core only because the core was not given the typed one).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Heavy,
    Light,
}

impl Jobs {
    fn start(&mut self, job: Job, weight: Weight) -> u64 {
        self.next += 1;
        self.open.insert(self.next, (job, weight));
        if weight == Weight::Heavy {
            self.heavy += 1;
        }
        self.next
    }

    fn finish(&mut self, id: u64) -> Option<Job> {
        let (job, weight) = self.open.remove(&id)?;
        if weight == Weight::Heavy {
            self.heavy -= 1;
        }
        Some(job)
    }

    /// Argon2 jobs outstanding.
    pub(crate) fn heavy(&self) -> usize {
        self.heavy
    }
}

impl ServerState {
    /// Whether another argon2 job may be started; if not, the client is told and asked again.
    fn room_for_job(&self, conn: ConnId, out: &mut Vec<Effect>) -> bool {
        if self.jobs.heavy() < self.config.max_password_jobs {
            return true;
        }
        send(out, conn, ErrorReply::Busy);
        self.reprompt(conn, out);
        false
    }

    /// Tries `input` as `user`'s password: at once for a password stored in the clear, as a job for a
    /// hash.
    pub(crate) fn try_password(
        &mut self,
        conn: ConnId,
        user: UserId,
        input: Typed<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let stored = self.accounts.password(user);
        if let Typed::Text(input) = input
            && !crate::password::is_hash(stored)
        {
            let ok = crate::password::plain_matches(stored, input);
            return self.password_verdict(conn, user, ok, now, out);
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
        let job = self.jobs.start(Job::Check { conn, user }, weight);
        self.sessions.set_login_phase(conn, Phase::Checking { job });
        out.push(Effect::CheckPassword {
            conn,
            job,
            hash,
            password: input.cleartext(),
        });
    }

    pub(crate) fn on_password_checked(
        &mut self,
        job: u64,
        ok: bool,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(Job::Check { conn, user }) = self.jobs.finish(job) else {
            return;
        };
        if !matches!(self.sessions.phase(conn), Some(Phase::Checking { job: j }) if *j == job) {
            // The connection went away meanwhile.
            return;
        }
        self.sessions
            .set_login_phase(conn, Phase::AwaitPassword { user });
        self.password_verdict(conn, user, ok, now, out);
        self.release_held(conn, now, out);
    }

    /// Starts creating the account `name` with the password `input` (already checked for syntax, the
    /// name for being free).
    pub(crate) fn start_registration(
        &mut self,
        conn: ConnId,
        name: Name,
        input: Typed<'_>,
        out: &mut Vec<Effect>,
    ) {
        if !self.room_for_job(conn, out) {
            return;
        }
        let job = self.jobs.start(Job::Hash { conn, name }, Weight::Heavy);
        self.sessions
            .set_login_phase(conn, Phase::Registering { job });
        out.push(Effect::HashPassword {
            conn,
            job,
            password: input.cleartext(),
        });
    }

    pub(crate) fn on_password_hashed(
        &mut self,
        job: u64,
        hash: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(Job::Hash { conn, name }) = self.jobs.finish(job) else {
            return;
        };
        if !matches!(self.sessions.phase(conn), Some(Phase::Registering { job: j }) if *j == job) {
            return;
        }
        if let Err(e) = self.name_is_free(&name) {
            // Someone registered it (or a twin of it) while the hash was being made.
            send(out, conn, e);
            self.sessions.set_login_phase(conn, Phase::AwaitUsername);
            self.reprompt(conn, out);
            self.release_held(conn, now, out);
            return;
        }
        let user = self.add_user(name.clone(), hash.to_owned());
        out.push(Effect::Persist(Record::AccountCreated {
            user: name.clone(),
            password: hash.to_owned(),
        }));
        send(out, conn, ServerMsg::Registered { user: name });
        self.begin_session(conn, user, now, out);
        self.release_held(conn, now, out);
    }

    /// Whether a new account may be called `name`: no account has it, in any letter case.
    pub(crate) fn name_is_free(&self, name: &str) -> Result<(), ErrorReply> {
        if self.find_user(name).is_some() {
            return Err(ErrorReply::NameTaken);
        }
        if let Some(existing) = self.accounts.find_folded(name) {
            return Err(ErrorReply::NameTooSimilar {
                existing: self.name(existing).clone(),
            });
        }
        Ok(())
    }
}
