//! The password worker: argon2 checks and hashes, on threads of their own so that the server's thread
//! (every connection's I/O and the core) never waits for them.
//!
//! The core bounds how many jobs are outstanding (`max_password_jobs`), so the queue here is bounded
//! too. Answers come back through a channel that a task on the server's thread turns into inputs for
//! the driver. Every job is answered, one it could not do included ([`Answer::Failed`]): the core
//! frees a job's place only on its answer, so a job dropped in silence would hold one of the bounded
//! places for good, and leave its client waiting.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use natter_core::password::{self, Strength};
use natter_core::server::{ConnId, Effect};

/// A finished job.
#[derive(Debug)]
pub(super) enum Answer {
    Checked {
        conn: ConnId,
        job: u64,
        ok: bool,
    },
    Hashed {
        conn: ConnId,
        job: u64,
        hash: String,
    },
    /// The job could not be done (see [`work`]); the core tells the client so.
    Failed {
        conn: ConnId,
        job: u64,
    },
}

/// Hands jobs to the worker threads.
pub(super) struct Hasher {
    jobs: mpsc::Sender<Effect>,
}

impl Hasher {
    /// Starts `threads` workers; answers arrive on the returned channel.
    pub(super) fn start(threads: usize) -> (Hasher, smol::channel::Receiver<Answer>) {
        let (jobs, queue) = mpsc::channel::<Effect>();
        let queue = Arc::new(Mutex::new(queue));
        let (answers, answered) = smol::channel::unbounded();
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let answers = answers.clone();
            std::thread::Builder::new()
                .name(format!("passwords-{i}"))
                .spawn(move || work(&queue, &answers))
                .expect("starting a password worker");
        }
        (Hasher { jobs }, answered)
    }

    /// Queues a [`Effect::CheckPassword`] or [`Effect::HashPassword`].
    pub(super) fn submit(&self, job: Effect) {
        let _ = self.jobs.send(job);
    }
}

/// How many worker threads to run: all cores but the one the server's thread needs.
pub(super) fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

fn work(queue: &Mutex<mpsc::Receiver<Effect>>, answers: &smol::channel::Sender<Answer>) {
    loop {
        let job = {
            let Ok(queue) = queue.lock() else {
                return;
            };
            match queue.recv() {
                Ok(job) => job,
                // The server is gone.
                Err(_) => return,
            }
        };
        let Some(answer) = answer(job) else {
            continue;
        };
        if answers.send_blocking(answer).is_err() {
            return;
        }
    }
}

/// Does one job; `None` for an effect that is not a password job (no job to answer).
fn answer(job: Effect) -> Option<Answer> {
    Some(match job {
        // The driver fills in a password the core was not given (a cluster node keeps it); without
        // one there is nothing to check, and nothing to hash: a fault, not a wrong password (which
        // would count toward the account's lockout).
        Effect::CheckPassword {
            conn,
            job,
            hash,
            password: Some(password),
        } => Answer::Checked {
            conn,
            job,
            ok: password::matches(&hash, &password.0),
        },
        Effect::CheckPassword { conn, job, .. } => {
            tracing::error!("{conn}: a password to check, but its text is not here");
            Answer::Failed { conn, job }
        }
        Effect::HashPassword {
            conn,
            job,
            password: Some(password),
        } => {
            let mut salt = [0u8; 16];
            match getrandom::fill(&mut salt) {
                Ok(()) => Answer::Hashed {
                    conn,
                    job,
                    hash: password::hash(&password.0, &salt, Strength::Standard),
                },
                Err(e) => {
                    // Without randomness no salt is safe; refuse rather than hash with a fixed one.
                    tracing::error!("{conn}: no OS randomness for a password salt: {e}");
                    Answer::Failed { conn, job }
                }
            }
        }
        Effect::HashPassword { conn, job, .. } => {
            tracing::error!("{conn}: a new password to hash, but its text is not here");
            Answer::Failed { conn, job }
        }
        other => {
            tracing::error!("not a password job: {other:?}");
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_core::password::Cleartext;

    fn text(s: &str) -> Option<Cleartext> {
        Some(Cleartext(s.to_owned()))
    }

    #[test]
    fn every_password_job_is_answered_even_one_that_cannot_be_done() {
        let conn = ConnId(7);
        let hash = password::hash("secret", &[1; 16], Strength::Minimal);
        let check = |job, password| Effect::CheckPassword {
            conn,
            job,
            hash: hash.clone(),
            password,
        };
        assert!(matches!(
            answer(check(1, text("secret"))),
            Some(Answer::Checked {
                job: 1,
                ok: true,
                ..
            })
        ));
        assert!(matches!(
            answer(check(2, text("wrong"))),
            Some(Answer::Checked {
                job: 2,
                ok: false,
                ..
            })
        ));
        // Without the text there is nothing to check: a fault, not a wrong password.
        assert!(matches!(
            answer(check(3, None)),
            Some(Answer::Failed { job: 3, .. })
        ));
        let made = answer(Effect::HashPassword {
            conn,
            job: 4,
            password: text("new-secret"),
        });
        let Some(Answer::Hashed { job: 4, hash, .. }) = made else {
            panic!("{made:?}");
        };
        assert!(password::matches(&hash, "new-secret"));
        assert!(matches!(
            answer(Effect::HashPassword {
                conn,
                job: 5,
                password: None
            }),
            Some(Answer::Failed { job: 5, .. })
        ));
        // Not a password job: nothing to answer.
        assert!(answer(Effect::Close { conn }).is_none());
    }
}
