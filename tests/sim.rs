//! The deterministic simulator: hundreds of clients on a virtual clock, the core checked against the model
//! and the named invariants after every step.
//!
//! - `cargo test` runs a bounded number of seeds (`SIM_SEEDS`, default 4).
//! - `SIM_SEEDS=N` runs seeds `SIM_FIRST`..`SIM_FIRST+N` (`just sim SEEDS=N`), printing steps per second.
//! - `SIM_SEED=S` replays one seed (what a failure report asks you to run).
//! - `SIM_OPS=K` changes the number of random intentions per seed (default 3000).

use std::time::Instant;

use natter_sim::run::{SimParams, simulate};

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number; give a whole number")),
    )
}

fn params() -> SimParams {
    let mut p = SimParams::standard();
    if let Some(ops) = env_u64("SIM_OPS") {
        p.ops = ops as usize;
    }
    p
}

#[test]
fn seeds_pass_every_invariant() {
    let params = params();
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let first = env_u64("SIM_FIRST").unwrap_or(0);
            let n = env_u64("SIM_SEEDS").unwrap_or(4);
            (first..first + n).collect()
        }
    };
    let started = Instant::now();
    let (mut steps, mut lines) = (0usize, 0u64);
    let mut coverage = std::collections::BTreeMap::new();
    for &seed in &seeds {
        match simulate(seed, &params) {
            Ok(stats) => {
                steps += stats.steps;
                lines += stats.lines;
                for (k, n) in stats.coverage {
                    *coverage.entry(k).or_insert(0u64) += n;
                }
            }
            Err(failure) => panic!("\n{failure}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sim: {} seeds, {steps} steps, {lines} lines sent, {secs:.2} s, {:.0} steps/s",
        seeds.len(),
        steps as f64 / secs
    );
    println!("sim: lines by kind: {coverage:?}");
    // Each rule the invariants check was actually reached.
    for kind in [
        "welcome",
        "offline-message",
        "presence",
        "whoelse",
        "whoelsesince",
        "private-accepted",
        "bye-timeout",
        "locked-now",
        "locked",
        "blocked-by",
        "message",
        "group-message",
        "sent",
        "delivered",
        "stored-at-session-end",
        "mail-waits-for-a-drain",
        "keys-claimed",
        "keys-shown",
        "no-keys",
        "keys-left",
    ] {
        assert!(
            coverage.contains_key(kind),
            "no {kind} line in the whole run"
        );
    }
}

/// The same seed gives the same run, step for step and record for record (turmoil's determinism check).
#[test]
fn a_seed_always_gives_the_same_run() {
    let mut params = params();
    params.ops = 800;
    let a = simulate(12345, &params).unwrap_or_else(|f| panic!("\n{f}"));
    let b = simulate(12345, &params).unwrap_or_else(|f| panic!("\n{f}"));
    assert_eq!(a, b);
    let c = simulate(12346, &params).unwrap_or_else(|f| panic!("\n{f}"));
    assert_ne!(
        a.trace, c.trace,
        "different seeds should give different runs"
    );
}
