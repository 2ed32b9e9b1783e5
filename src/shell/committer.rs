//! The thread that makes records durable, so the driver never blocks on a disk sync.
//!
//! The driver hands over each batch's records with a sequence number and goes on with the next batch;
//! this thread commits what is queued (batches that queued up while it was busy go into one commit) and
//! reports the highest sequence number now durable. The driver sends a batch's replies only after that
//! report covers it. After a failed commit the thread stops: nothing later may be acknowledged.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use smol::channel::{Receiver, Sender, unbounded};

use super::memory::release_free_memory;
use super::metrics::Metrics;
use super::persist::Persister;
use natter_core::server::Record;

struct Job {
    seq: u64,
    records: Vec<Record>,
}

/// A backup asked for: where to write it, and whom to tell how it went.
pub(crate) struct Backup {
    pub(crate) to: std::path::PathBuf,
    pub(crate) done: Sender<Result<(), String>>,
}

/// The driver's end of the commit thread.
pub(crate) struct Committer {
    jobs: Option<Sender<Job>>,
    backups: Sender<Backup>,
    tidies: Sender<()>,
    done: Receiver<io::Result<u64>>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the thread; each commit's time goes to `metrics`, when there are any.
    pub(crate) fn start(
        persister: Box<dyn Persister>,
        metrics: Option<Arc<Metrics>>,
    ) -> io::Result<Self> {
        let (jobs, queued) = unbounded();
        let (report, done) = unbounded();
        let (backups, backups_asked) = unbounded();
        let (tidies, tidies_asked) = unbounded();
        let asked = Asked {
            backups: backups_asked,
            tidies: tidies_asked,
        };
        let thread = std::thread::Builder::new()
            .name("natter-commit".into())
            .spawn(move || commit_loop(persister, queued, report, metrics, asked))?;
        Ok(Committer {
            jobs: Some(jobs),
            backups,
            tidies,
            done,
            thread: Some(thread),
        })
    }

    /// Queues a batch's records. The driver bounds how many batches wait (see `ShellOptions`), so the
    /// queue is unbounded only in type.
    pub(crate) fn submit(&self, seq: u64, records: Vec<Record>) {
        if let Some(jobs) = &self.jobs {
            // If the thread has stopped, its failure report is already waiting in `done`.
            let _ = jobs.try_send(Job { seq, records });
        }
    }

    /// Asks for a backup, written between two commits (see [`Persister::backup`]).
    pub(crate) fn backup(&self, backup: Backup) {
        // Woken by an empty commit if it waits for one.
        if self.backups.try_send(backup).is_ok()
            && let Some(jobs) = &self.jobs
        {
            let _ = jobs.try_send(Job {
                seq: 0,
                records: Vec::new(),
            });
        }
    }

    /// The server has gone quiet after a burst: the thread gives back what it keeps only to make
    /// commits faster (the store's page cache, its buffer for commits of several jobs), between
    /// two commits.
    pub(crate) fn tidy(&self) {
        // One request waiting is enough; woken by an empty commit if it waits for one.
        if self.tidies.is_empty()
            && self.tidies.try_send(()).is_ok()
            && let Some(jobs) = &self.jobs
        {
            let _ = jobs.try_send(Job {
                seq: 0,
                records: Vec::new(),
            });
        }
    }

    /// Where completion reports arrive: `Ok(seq)` once every batch up to `seq` is durable.
    pub(crate) fn reports(&self) -> Receiver<io::Result<u64>> {
        self.done.clone()
    }

    /// Waits for the next report. A thread that died without reporting counts as a failed commit.
    pub(crate) async fn next(&self) -> io::Result<u64> {
        self.done.recv().await.unwrap_or_else(|_| Err(stopped()))
    }

    /// The next report if one is waiting.
    pub(crate) fn try_next(&self) -> Option<io::Result<u64>> {
        match self.done.try_recv() {
            Ok(r) => Some(r),
            Err(smol::channel::TryRecvError::Empty) => None,
            Err(smol::channel::TryRecvError::Closed) => Some(Err(stopped())),
        }
    }

    /// Lets the thread finish what is queued, then waits for it to exit, which closes the store (and
    /// releases the data directory) before the server returns.
    pub(crate) async fn stop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = smol::unblock(move || thread.join()).await;
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("the commit thread stopped unexpectedly")
}

/// What the driver asks of the commit thread besides commits, each with a wake-up (an empty job).
struct Asked {
    backups: Receiver<Backup>,
    tidies: Receiver<()>,
}

fn commit_loop(
    mut persister: Box<dyn Persister>,
    queued: Receiver<Job>,
    report: Sender<io::Result<u64>>,
    metrics: Option<Arc<Metrics>>,
    asked: Asked,
) {
    let mut last = 0;
    // Where the records of a commit of several jobs are gathered; it keeps its room between
    // commits (until a tidy-up), so a busy stretch does not grow it again for every commit.
    let mut gathered = Vec::new();
    while let Ok(first) = queued.recv_blocking() {
        while let Ok(b) = asked.backups.try_recv() {
            let _ = b
                .done
                .try_send(persister.backup(&b.to).map_err(|e| e.to_string()));
        }
        if asked.tidies.try_recv().is_ok() {
            persister.release_memory();
            gathered = Vec::new();
            release_free_memory();
        }
        if first.seq == 0 && first.records.is_empty() {
            // Only a wake-up for a backup or a tidy-up.
            continue;
        }
        last = last.max(first.seq);
        // A commit of one job (most are: a lazy batch of login history holds thousands of
        // records) commits that job's records where they are; copying each into `gathered` cost a
        // `memcpy` of every record. Group commit: jobs that queued up while the previous commit
        // ran go into this one, gathered.
        let mut records = first.records;
        let several = !queued.is_empty();
        if several {
            gathered.append(&mut records);
            while let Ok(more) = queued.try_recv() {
                last = last.max(more.seq);
                gathered.extend(more.records);
            }
            records = std::mem::take(&mut gathered);
        }
        let started = std::time::Instant::now();
        let result = persister.commit(&records).map(|()| last);
        if let Some(m) = &metrics {
            m.commit_took(started.elapsed());
        }
        if several {
            records.clear();
            gathered = records;
        }
        let failed = result.is_err();
        if report.send_blocking(result).is_err() || failed {
            return;
        }
    }
}
