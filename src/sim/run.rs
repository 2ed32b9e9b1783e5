//! One simulated run per seed, and what happens when one fails: shrink the trace, print it, replay it.
//!
//! A run is a pure function of its seed: the generator, the core's token RNG and every timestamp come from
//! it, and every collection iterated is ordered. [`simulate`] runs a safety phase (random ops, invariants
//! after every step) and then the liveness phase ([`World::liveness`]). On failure it keeps the steps up to
//! the failing one and shrinks them by delta debugging (replaying sub-lists in a fresh world, keeping any
//! that still break the same invariant), so the report shows the shortest trace it found.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use super::clients::Setup;
use super::generate::Generator;
use super::invariants::{Violation, name};
use super::step::{Step, Trace};
use super::world::{Failure, World};

/// What a simulation run does.
#[derive(Clone, Debug)]
pub struct SimParams {
    pub setup: Setup,
    /// Random intentions in the safety phase.
    pub ops: usize,
    /// How long shrinking a failure may take before the best trace so far is printed.
    pub shrink_budget: Duration,
}

impl SimParams {
    /// Hundreds of clients: 200 accounts, 300 client slots, 3000 intentions.
    pub fn standard() -> Self {
        let mut setup = Setup::small(200, 300);
        setup.restore_check_every = 500;
        setup.replica_check = true;
        SimParams {
            setup,
            ops: 3000,
            shrink_budget: Duration::from_secs(60),
        }
    }

    /// The setup a given seed runs with: every fourth seed runs with `--register` on, and every odd
    /// seed feeds passwords as a cluster node does (without their text).
    pub fn setup_for(&self, seed: u64) -> Setup {
        let mut s = self.setup.clone();
        s.config.register = seed.is_multiple_of(4);
        s.gate_passwords = seed % 2 == 1;
        s
    }
}

/// What a passing run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStats {
    pub seed: u64,
    pub steps: usize,
    pub lines: u64,
    /// Every step, for determinism checks.
    pub trace: Vec<Step>,
    pub records: usize,
    /// Lines sent by kind (see [`World::coverage`]).
    pub coverage: std::collections::BTreeMap<&'static str, u64>,
}

/// A failing run, ready to print.
#[derive(Clone, Debug)]
pub struct SimFailure {
    pub seed: u64,
    pub setup: Setup,
    pub failure: Failure,
    pub steps: usize,
    pub shrunk: Vec<Step>,
    pub shrunk_failure: Failure,
}

impl std::fmt::Display for SimFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "simulation seed {} failed (register: {}, passwords without text: {}): {}",
            self.seed, self.setup.config.register, self.setup.gate_passwords, self.failure
        )?;
        writeln!(
            f,
            "shortest trace found: {} of {} steps; it fails with: {}",
            self.shrunk.len(),
            self.steps,
            self.shrunk_failure
        )?;
        write!(f, "{}", Trace(&self.shrunk))?;
        writeln!(
            f,
            "replay with: SIM_SEED={} cargo test --release --test sim -- --nocapture",
            self.seed
        )
    }
}

/// Runs the safety and liveness phases for `seed`.
pub fn simulate(seed: u64, params: &SimParams) -> Result<RunStats, Box<SimFailure>> {
    let setup = params.setup_for(seed);
    let mut world = World::new(setup.clone());
    let mut generator = Generator::new(seed);
    let result = guarded(&mut world, |w| {
        for _ in 0..params.ops {
            let op = generator.op(w.clients());
            w.apply_op(op)?;
        }
        w.liveness()
    });
    match result {
        Ok(()) => Ok(RunStats {
            seed,
            steps: world.trace().len(),
            lines: world.lines_sent(),
            trace: world.trace().to_vec(),
            records: world.all_records().len(),
            coverage: world.coverage().clone(),
        }),
        Err(failure) => {
            let upto = (failure.step + 1).min(world.trace().len());
            let steps = world.trace()[..upto].to_vec();
            let (shrunk, shrunk_failure) = shrink(&setup, steps, &failure, params.shrink_budget);
            Err(Box::new(SimFailure {
                seed,
                setup,
                failure,
                steps: upto,
                shrunk,
                shrunk_failure,
            }))
        }
    }
}

/// Runs `f` on `world`, turning a panic (in the core or in the harness's own checks) into a failure at the
/// step under way.
fn guarded(
    world: &mut World,
    f: impl FnOnce(&mut World) -> Result<(), Failure>,
) -> Result<(), Failure> {
    match catch_unwind(AssertUnwindSafe(|| f(world))) {
        Ok(r) => r,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-string panic".into());
            Err(Failure {
                step: world.trace().len().saturating_sub(1),
                violation: Violation {
                    invariant: name::PANIC,
                    detail,
                },
            })
        }
    }
}

/// Replays concrete steps in a fresh world, checking after each.
pub fn replay(setup: &Setup, steps: &[Step]) -> Result<(), Failure> {
    let mut world = World::replaying(setup.clone());
    guarded(&mut world, |w| {
        for s in steps {
            w.step(s.clone())?;
        }
        w.check_restore()
    })
}

/// Delta debugging: the shortest sub-list of `steps` found within `budget` that still breaks the same
/// invariant, and how it fails.
pub fn shrink(
    setup: &Setup,
    steps: Vec<Step>,
    original: &Failure,
    budget: Duration,
) -> (Vec<Step>, Failure) {
    let started = Instant::now();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let fails_same = |candidate: &[Step]| match replay(setup, candidate) {
        Err(f) if f.violation.invariant == original.violation.invariant => Some(f),
        _ => None,
    };
    let mut best = steps;
    let mut best_failure = fails_same(&best).unwrap_or_else(|| original.clone());
    let mut chunks = 2usize;
    while best.len() >= 2 && started.elapsed() < budget {
        let size = best.len().div_ceil(chunks);
        let mut reduced = false;
        let n = chunks;
        for i in 0..n {
            let (from, to) = (i * size, ((i + 1) * size).min(best.len()));
            if from >= to {
                break;
            }
            let candidate: Vec<Step> = best[..from].iter().chain(&best[to..]).cloned().collect();
            if let Some(f) = fails_same(&candidate) {
                best = candidate;
                best_failure = f;
                chunks = (chunks - 1).max(2);
                reduced = true;
                break;
            }
            if started.elapsed() >= budget {
                break;
            }
        }
        if !reduced {
            if chunks >= best.len() {
                break;
            }
            chunks = (chunks * 2).min(best.len());
        }
    }
    std::panic::set_hook(quiet);
    (best, best_failure)
}
