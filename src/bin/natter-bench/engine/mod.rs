//! Runs one workload: worker threads drive the connections, this thread moves the phases along and
//! samples the server's and the generator's counters at the phase boundaries.

mod shared;
mod worker;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hdrhistogram::Histogram;

use crate::procstat::{Proc, Sample};
use crate::workload::Workload;
pub use shared::{FAULT_KINDS, Phase, Shared};
use worker::Worker;
pub use worker::new_histogram;

/// Everything a run measured, before it is turned into a report.
pub struct Outcome {
    pub latency: Histogram<u64>,
    /// Connecting and logging in the users online from the start (and waiting out the presence flood).
    pub setup_secs: f64,
    /// The measured phase: first send to last delivery (`login`: the churn's duration).
    pub measure_secs: f64,
    /// `offline`: recipients logging in until the last stored message arrived.
    pub deliver_secs: Option<f64>,
    /// The server before any connection, after setup, and at the start and end of the measured phase.
    pub server_idle: Option<Sample>,
    pub server_ready: Option<Sample>,
    pub server_start: Option<Sample>,
    pub server_end: Option<Sample>,
    pub gen_start: Sample,
    pub gen_end: Sample,
    pub sent: u64,
    pub delivered: u64,
    pub accepted: u64,
    pub cycles: u64,
    pub noise: u64,
    pub ready: u64,
    /// Expected deliveries that never came.
    pub lost: u64,
    /// Examples of lost deliveries (ledger indices, for debugging).
    pub lost_examples: Vec<u64>,
    /// A phase that could not finish (everything after it was skipped).
    pub incomplete: Option<String>,
}

pub struct Limits {
    /// Give up when nothing progresses for this long.
    pub stall: Duration,
    /// Give up when the setup phase takes longer than this.
    pub setup: Duration,
    /// `idle`: keep the connections open this long before measuring (so several generators filling
    /// one cluster are all connected at once when they measure).
    pub hold: Duration,
}

pub fn run(sh: &Shared, server: Option<&Proc>, limits: &Limits) -> Result<Outcome> {
    let me = Proc::this();
    let server_idle = server.map(|p| p.sample()).transpose()?;
    let mut out = Outcome {
        latency: new_histogram(),
        setup_secs: 0.0,
        measure_secs: 0.0,
        deliver_secs: None,
        server_idle,
        server_ready: None,
        server_start: None,
        server_end: None,
        gen_start: me.sample()?,
        gen_end: Sample::default(),
        sent: 0,
        delivered: 0,
        accepted: 0,
        cycles: 0,
        noise: 0,
        ready: 0,
        lost: 0,
        lost_examples: Vec::new(),
        incomplete: None,
    };
    let results = std::thread::scope(|scope| -> Result<Vec<worker::WorkerResult>> {
        let handles: Vec<_> = (0..sh.threads)
            .map(|t| {
                std::thread::Builder::new()
                    .name(format!("bench-{t}"))
                    .spawn_scoped(scope, move || Worker::new(sh, t).run())
            })
            .collect::<std::io::Result<_>>()?;
        let phases = coordinate(sh, server, limits, &mut out);
        sh.set_phase(Phase::Stop);
        let results = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a worker thread panicked"))
            })
            .collect::<Result<Vec<_>>>()?;
        phases?;
        Ok(results)
    })?;
    for r in results {
        out.latency
            .add(&r.latency)
            .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
    }
    let c = &sh.counters;
    out.sent = c.sent.load(Ordering::Relaxed);
    out.delivered = c.delivered.load(Ordering::Relaxed);
    out.accepted = c.accepted.load(Ordering::Relaxed);
    out.cycles = c.cycles.load(Ordering::Relaxed);
    out.noise = c.noise.load(Ordering::Relaxed);
    let expected = sh.plan.expected_deliveries();
    out.lost = expected.saturating_sub(sh.ledger.count());
    if out.lost > 0 {
        out.lost_examples = sh.ledger.missing(5);
    }
    Ok(out)
}

/// Waits until `done` holds, or nothing has progressed for `limits.stall`, or the server is gone.
/// `Err` says which phase gave up.
fn wait(
    sh: &Shared,
    server: Option<&Proc>,
    limits: &Limits,
    what: &str,
    deadline: Option<Instant>,
    done: &dyn Fn() -> bool,
) -> Result<(), String> {
    let progress = || {
        let c = &sh.counters;
        [
            &c.ready,
            &c.noise,
            &c.sent,
            &c.delivered,
            &c.accepted,
            &c.cycles,
        ]
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .sum::<u64>()
    };
    let mut last = progress();
    let mut since = Instant::now();
    let mut checks = 0u32;
    while !done() {
        std::thread::sleep(Duration::from_millis(1));
        let p = progress();
        if p != last {
            last = p;
            since = Instant::now();
        } else if since.elapsed() >= limits.stall {
            return Err(format!(
                "{what}: nothing happened for {:.0} s",
                limits.stall.as_secs_f64()
            ));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(format!("{what}: not finished within the setup time limit"));
        }
        checks += 1;
        if checks.is_multiple_of(100)
            && let Some(p) = server
            && !p.alive()
        {
            return Err(format!("{what}: the server process {} is gone", p.pid));
        }
    }
    Ok(())
}

fn coordinate(
    sh: &Shared,
    server: Option<&Proc>,
    limits: &Limits,
    out: &mut Outcome,
) -> Result<()> {
    let plan = &sh.plan;
    let c = &sh.counters;
    let sample = || server.map(|p| p.sample()).transpose();
    let setup_start = Instant::now();
    let setup_deadline = Some(setup_start + limits.setup);
    let online = u64::from(plan.online());
    let until = |what: &str, deadline: Option<Instant>, done: &dyn Fn() -> bool| {
        wait(sh, server, limits, what, deadline, done)
    };
    let step = |r: Result<(), String>, out: &mut Outcome| -> bool {
        match r {
            Ok(()) => true,
            Err(e) => {
                out.incomplete = Some(e);
                if out.ready == 0 {
                    // Setup gave up: say how far it got.
                    out.ready = c.ready.load(Ordering::Relaxed);
                }
                false
            }
        }
    };

    // history: the past sessions first, while nobody is online to be told of them.
    if plan.workload == Workload::History {
        let past = u64::from(plan.history);
        let r = until("logging past sessions in and out", setup_deadline, &|| {
            c.cycles.load(Ordering::Relaxed) >= past
        });
        if !step(r, out) {
            return Ok(());
        }
        sh.set_phase(Phase::Setup);
    }

    // Setup: everybody online, then the flood of presence / join lines that causes, fully read.
    let r = until("logging in", setup_deadline, &|| {
        c.ready.load(Ordering::Relaxed) >= online
    });
    if !step(r, out) {
        return Ok(());
    }
    if let Some(expected) = plan.expected_noise() {
        let r = until("reading presence lines", setup_deadline, &|| {
            c.noise.load(Ordering::Relaxed) >= expected
        });
        if !step(r, out) {
            return Ok(());
        }
    }
    out.setup_secs = setup_start.elapsed().as_secs_f64();
    out.ready = c.ready.load(Ordering::Relaxed);
    if plan.workload == Workload::Idle {
        // Let the server finish whatever it does after a login before reading its memory.
        std::thread::sleep(Duration::from_millis(500).max(limits.hold));
    }
    out.server_ready = sample()?;
    if plan.workload == Workload::Idle {
        out.server_start = out.server_ready;
        out.server_end = out.server_ready;
        out.gen_end = Proc::this().sample()?;
        return Ok(());
    }

    // Measure.
    if let Some(p) = server {
        p.reset_peak();
    }
    out.server_start = sample()?;
    out.gen_start = Proc::this().sample()?;
    sh.set_phase(Phase::Measure);
    let start_ns = sh.measure_start_ns.load(Ordering::Acquire);
    match plan.workload {
        Workload::Login => {
            std::thread::sleep(Duration::from_secs_f64(plan.duration));
            out.measure_secs = plan.duration;
            if c.cycles.load(Ordering::Relaxed) == 0 {
                out.incomplete = Some("login churn: no cycle completed".into());
            }
        }
        Workload::Direct | Workload::Fanout | Workload::Group | Workload::History => {
            let expected = plan.expected_deliveries();
            // natter answers a broadcast (BCAST-SENT) and a whoelsesince; a message delivered at once
            // gets no reply, as in IRC.
            let acks = if plan.proto.natter_lines() && plan.workload != Workload::Direct {
                plan.sends()
            } else {
                0
            };
            let r = until("delivering", None, &|| {
                c.delivered.load(Ordering::Relaxed) >= expected
                    && c.accepted.load(Ordering::Relaxed) >= acks
            });
            step(r, out);
            out.measure_secs = secs_between(start_ns, sh, c);
        }
        Workload::Offline => {
            let sends = plan.sends();
            let r = until("storing", None, &|| {
                c.accepted.load(Ordering::Relaxed) >= sends
            });
            out.measure_secs = secs_between(start_ns, sh, c);
            // The server's figures cover storing; delivery at login is reported as a rate only.
            out.server_end = sample()?;
            out.gen_end = Proc::this().sample()?;
            if step(r, out) {
                let deliver_start = sh.now_ns();
                sh.set_phase(Phase::Deliver);
                let expected = plan.expected_deliveries();
                let r = until("delivering stored messages", None, &|| {
                    c.delivered.load(Ordering::Relaxed) >= expected
                });
                step(r, out);
                out.deliver_secs = Some(secs_between(deliver_start, sh, c));
            }
        }
        Workload::Idle => unreachable!("idle has no measured phase"),
    }
    if plan.workload != Workload::Offline {
        out.server_end = sample()?;
        out.gen_end = Proc::this().sample()?;
    }
    Ok(())
}

/// From `start_ns` to the last progress seen (the last delivery), in seconds.
fn secs_between(start_ns: u64, sh: &Shared, c: &shared::Counters) -> f64 {
    let end = c.last_progress_ns.load(Ordering::Relaxed).max(start_ns);
    let end = if end == start_ns { sh.now_ns() } else { end };
    (end - start_ns) as f64 / 1e9
}

/// Refuses a plan the machine cannot carry out: more connections than this process may open.
pub fn check_fd_budget(connections: u64, fd_limit: u64) -> Result<()> {
    // A few descriptors go to the poller, stdio and /proc reads.
    let budget = fd_limit.saturating_sub(32);
    if connections > budget {
        bail!(
            "{connections} connections at once need more file descriptors than this process may open \
             ({fd_limit}, the hard RLIMIT_NOFILE): use at most {budget}"
        );
    }
    Ok(())
}
