//! What the worker threads and the coordinator share: the plan, the phase, counters, the ledger, and
//! the queues by which one thread tells another that its senders' messages were delivered.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use polling::Poller;

use crate::proto::Proto;
use crate::verify::Ledger;
use crate::workload::Plan;

/// Where a run is. Only the coordinator moves it forward (and then wakes every worker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Phase {
    /// `history`: log the past sessions in and out once.
    Prime = 0,
    /// Connect and log in the users online from the start.
    Setup = 1,
    /// Send (or churn): the measured phase.
    Measure = 2,
    /// `offline`: the recipients log in and receive what was stored.
    Deliver = 3,
    /// Close everything and hand the results back.
    Stop = 4,
}

/// What went wrong, by kind. Any of these makes the run fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A message arrived twice.
    Duplicate,
    /// A message reached the wrong user, or the server named the wrong sender, or the text was not ours.
    Misdelivered,
    /// A line the server should not have sent (an error reply, something that does not parse).
    Unexpected,
    /// A connection failed or was closed by the server before the run ended.
    Disconnected,
}

pub const FAULT_KINDS: [Fault; 4] = [
    Fault::Duplicate,
    Fault::Misdelivered,
    Fault::Unexpected,
    Fault::Disconnected,
];

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Duplicate => "duplicate",
            Fault::Misdelivered => "misdelivered",
            Fault::Unexpected => "unexpected",
            Fault::Disconnected => "disconnected",
        }
    }
}

/// How many faults of each kind, and the first few in words.
#[derive(Default)]
pub struct Faults {
    counts: [AtomicU64; 4],
    examples: Mutex<Vec<String>>,
}

const EXAMPLES: usize = 12;

impl Faults {
    pub fn add(&self, kind: Fault, what: impl FnOnce() -> String) {
        let before = self.counts[kind as usize].fetch_add(1, Ordering::Relaxed);
        if before < 3 {
            let mut ex = self.examples.lock().unwrap_or_else(|e| e.into_inner());
            if ex.len() < EXAMPLES {
                ex.push(format!("{}: {}", kind.name(), what()));
            }
        }
    }

    pub fn count(&self, kind: Fault) -> u64 {
        self.counts[kind as usize].load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        FAULT_KINDS.iter().map(|k| self.count(*k)).sum()
    }

    pub fn examples(&self) -> Vec<String> {
        self.examples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Counters the workers publish once per batch of events (not per message, to keep cache lines quiet).
#[derive(Default)]
pub struct Counters {
    /// Connections logged in (and, for IRC `fanout`, joined).
    pub ready: AtomicU64,
    /// Presence / join lines about other users.
    pub noise: AtomicU64,
    /// Messages written.
    pub sent: AtomicU64,
    /// Verified first deliveries.
    pub delivered: AtomicU64,
    /// natter's acknowledgements of our messages (`SENT`, `STORED`, `BCAST-SENT`).
    pub accepted: AtomicU64,
    /// `login`, and `history`'s past sessions: completed connect–login–logout cycles.
    pub cycles: AtomicU64,
    /// When the last delivery (or acknowledgement, or cycle) was seen, ns since the epoch.
    pub last_progress_ns: AtomicU64,
}

pub struct Shared {
    pub plan: Plan,
    pub proto: Proto,
    pub servers: Vec<SocketAddr>,
    pub sources: u8,
    pub threads: usize,
    /// Connection attempts in flight per thread during setup.
    pub dial_limit: u32,
    /// Every timestamp in a message is nanoseconds since this instant.
    pub epoch: Instant,
    phase: AtomicU8,
    /// When the measured phase began, ns since the epoch.
    pub measure_start_ns: AtomicU64,
    pub counters: Counters,
    pub faults: Faults,
    pub ledger: Ledger,
    /// Per sender: deliveries (or acknowledgements) credited so far, for the closed-loop window.
    pub credited: Vec<AtomicU64>,
    /// Per thread: senders of that thread whose window may have opened.
    pub kicks: Vec<Mutex<Vec<u32>>>,
    pub pollers: Vec<Arc<Poller>>,
    /// The TLS settings, with `--tls`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Shared {
    pub fn new(
        plan: Plan,
        servers: Vec<SocketAddr>,
        sources: u8,
        threads: usize,
        dial_limit: u32,
    ) -> std::io::Result<Shared> {
        let proto = Proto::new(plan.proto, plan.accounts(), plan.first_user);
        let ledger_len = match plan.workload {
            // Fanout: one bit per (recipient, sender, message).
            crate::workload::Workload::Fanout | crate::workload::Workload::Group => {
                u64::from(plan.users) * u64::from(plan.senders) * u64::from(plan.messages)
            }
            _ => plan.expected_deliveries(),
        };
        let first = match plan.workload {
            crate::workload::Workload::History => Phase::Prime,
            _ => Phase::Setup,
        };
        let pollers = (0..threads)
            .map(|_| Poller::new().map(Arc::new))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Shared {
            proto,
            servers,
            sources,
            threads,
            dial_limit,
            epoch: Instant::now(),
            phase: AtomicU8::new(first as u8),
            measure_start_ns: AtomicU64::new(0),
            counters: Counters::default(),
            faults: Faults::default(),
            ledger: Ledger::new(ledger_len),
            credited: (0..plan.accounts()).map(|_| AtomicU64::new(0)).collect(),
            kicks: (0..threads).map(|_| Mutex::new(Vec::new())).collect(),
            pollers,
            tls: plan.tls.then(crate::tls::client_config),
            plan,
        })
    }

    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Prime,
            1 => Phase::Setup,
            2 => Phase::Measure,
            3 => Phase::Deliver,
            _ => Phase::Stop,
        }
    }

    /// Moves to `phase` and wakes every worker so it sees it at once.
    pub fn set_phase(&self, phase: Phase) {
        if phase == Phase::Measure {
            self.measure_start_ns
                .store(self.now_ns(), Ordering::Release);
        }
        self.phase.store(phase as u8, Ordering::Release);
        for p in &self.pollers {
            let _ = p.notify();
        }
    }

    /// The thread that owns user `u`'s connection.
    pub fn owner(&self, u: u32) -> usize {
        u as usize % self.threads
    }

    pub fn progress(&self, now_ns: u64) {
        self.counters
            .last_progress_ns
            .fetch_max(now_ns, Ordering::Relaxed);
    }
}
