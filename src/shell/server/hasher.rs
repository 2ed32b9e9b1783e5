//! The password worker: argon2 checks and hashes, on threads of their own so that the server's thread
//! (every connection's I/O and the core) never waits for them.
//!
//! The core bounds how many jobs are outstanding (`max_password_jobs`), so the queue here is bounded
//! too. Answers come back through a channel that a task on the server's thread turns into inputs for
//! the driver.

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
        let answer = match job {
            // The driver fills in a password the core was not given (a cluster node keeps it); without
            // one there is nothing to check, and nothing to hash.
            Effect::CheckPassword {
                conn,
                job,
                hash,
                password,
            } => Answer::Checked {
                conn,
                job,
                ok: password.is_some_and(|p| password::matches(&hash, &p.0)),
            },
            Effect::HashPassword {
                conn,
                job,
                password: Some(password),
            } => {
                let mut salt = [0u8; 16];
                if let Err(e) = getrandom::fill(&mut salt) {
                    // Without randomness no salt is safe; refuse rather than hash with a fixed one.
                    tracing::error!("no OS randomness for a password salt: {e}");
                    continue;
                }
                Answer::Hashed {
                    conn,
                    job,
                    hash: password::hash(&password.0, &salt, Strength::Standard),
                }
            }
            Effect::HashPassword { conn, .. } => {
                tracing::error!("{conn}: a new password to hash, but its text is not here");
                continue;
            }
            other => {
                tracing::error!("not a password job: {other:?}");
                continue;
            }
        };
        if answers.send_blocking(answer).is_err() {
            return;
        }
    }
}
