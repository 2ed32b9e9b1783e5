//! The cluster simulator: several nodes on a simulated Redis with latency, under injected faults
//! (`natter_sim::cluster`), every invariant checked on every seed.
//!
//! - `cargo test` runs a few seeds (`SIM_SEEDS`, default 3); `SIM_SEEDS=300 cargo test --release
//!   --test sim_cluster` runs more, from `SIM_FIRST`.
//! - `SIM_SEED=S` replays one seed.
//! - A `DELIVERED` message lost with its recipient's node fails the run, as every other lost
//!   acknowledged message (`DELIVERED` waits for the recipient's client to acknowledge it);
//!   `SIM_STRICT=0` only counts and prints such losses.

use natter_sim::cluster::{SimConfig, run};

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number; give a whole number")),
    )
}

#[test]
fn cluster_seeds_pass_every_invariant() {
    let cfg = SimConfig {
        strict: env_u64("SIM_STRICT").is_none_or(|v| v != 0),
        ..SimConfig::default()
    };
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let first = env_u64("SIM_FIRST").unwrap_or(0);
            (first..first + env_u64("SIM_SEEDS").unwrap_or(3)).collect()
        }
    };
    let started = std::time::Instant::now();
    let (mut entries, mut acknowledged, mut lost_with_node) = (0, 0, 0);
    let mut faults = [0u32; 8];
    let mut rules = [0u32; 6];
    for seed in &seeds {
        match run(*seed, &cfg) {
            Ok(r) => {
                entries += r.entries;
                acknowledged += r.acknowledged;
                lost_with_node += r.lost_with_node.len();
                for (f, n) in faults.iter_mut().zip([
                    r.kills,
                    r.joins,
                    r.freezes,
                    r.lease_lapses,
                    r.stalls,
                    r.redis_restarts,
                    r.restarts_from_snapshot,
                    r.slow_links,
                ]) {
                    *f += n;
                }
                for (c, n) in rules.iter_mut().zip([
                    r.lockouts,
                    r.lockouts_met,
                    r.lockouts_met_elsewhere,
                    r.refused_blocked,
                    r.group_messages_shown,
                    r.groups_left,
                ]) {
                    *c += n;
                }
            }
            Err(v) => panic!(
                "seed {seed} broke {}: {}\nreplay: SIM_SEED={seed} cargo test --test sim_cluster",
                v.invariant, v.detail
            ),
        }
    }
    println!(
        "{} seeds in {:.1} s: {entries} log entries, {acknowledged} messages acknowledged, \
         {lost_with_node} DELIVERED lost with the recipient's node; faults: {} kills, {} joins, \
         {} freezes, {} lease lapses, {} Redis stalls, {} Redis restarts, {} restarts from a snapshot, {} slow links; \
         rules: {} lockouts, {} logins met one ({} at another node), {} messages refused for a block, \
         {} group messages shown, {} groups left",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        faults[0],
        faults[1],
        faults[2],
        faults[3],
        faults[4],
        faults[5],
        faults[6],
        faults[7],
        rules[0],
        rules[1],
        rules[2],
        rules[3],
        rules[4],
        rules[5]
    );
}
