//! The password jobs handed to the shell and not answered yet, and whom each is for (the rules that
//! start and answer them are in `passwords`).

use rustc_hash::FxHashMap;

use crate::protocol::Name;
use crate::server::event::{ConnId, UserId};

/// A job handed to the shell, and whom it is for.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) enum Job {
    Check {
        conn: ConnId,
        user: UserId,
    },
    Hash {
        conn: ConnId,
        name: Name,
    },
    /// `passwd`: `user`'s current password, typed on `conn`.
    CheckCurrent {
        conn: ConnId,
        user: UserId,
    },
    /// `passwd`: `user`'s new password.
    HashNew {
        conn: ConnId,
        user: UserId,
    },
    /// `oper`: an operator's password, typed on `conn`.
    CheckOper {
        conn: ConnId,
        /// The operator's place in the configuration's list.
        op: usize,
    },
}

/// What a job costs the shell: argon2's deliberate work, or a comparison (a password stored in the
/// clear, checked away from the core only because the core was not given the typed one).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Heavy,
    Light,
}

/// The jobs outstanding.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Jobs {
    next: u64,
    open: FxHashMap<u64, (Job, Weight)>,
    /// How many of them are argon2's (the ones the bound is for).
    heavy: usize,
}

impl Jobs {
    /// Records a job; returns its number.
    pub(crate) fn start(&mut self, job: Job, weight: Weight) -> u64 {
        self.next += 1;
        self.open.insert(self.next, (job, weight));
        if weight == Weight::Heavy {
            self.heavy += 1;
        }
        self.next
    }

    /// Forgets the job numbered `id`, answered; returns whom it was for.
    pub(crate) fn finish(&mut self, id: u64) -> Option<Job> {
        let (job, weight) = self.open.remove(&id)?;
        if weight == Weight::Heavy {
            self.heavy -= 1;
        }
        Some(job)
    }

    /// Whether job `id` is a `passwd`'s (rather than a login's).
    pub(crate) fn is_passwd(&self, id: u64) -> bool {
        matches!(
            self.open.get(&id),
            Some((
                Job::CheckCurrent { .. } | Job::HashNew { .. } | Job::CheckOper { .. },
                _
            ))
        )
    }

    /// Argon2 jobs outstanding.
    pub(crate) fn heavy(&self) -> usize {
        self.heavy
    }
}
