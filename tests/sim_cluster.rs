//! The cluster simulator: several nodes on a simulated Redis with latency, under injected faults
//! (`natter_sim::cluster`), every invariant checked on every seed.
//!
//! - `cargo test` runs a few seeds (`SIM_SEEDS`, default 3); `SIM_SEEDS=300 cargo test --release
//!   --test sim_cluster` runs more, from `SIM_FIRST`.
//! - `SIM_SEED=S` replays one seed.
//! - A `DELIVERED` message lost with its recipient's node fails the run, as every other lost
//!   acknowledged message (`DELIVERED` waits for the recipient's client to acknowledge it);
//!   `SIM_STRICT=0` only counts and prints such losses.
//! - Faults can also be scripted by name and time (`SimConfig::script`): the tests at the end each
//!   put one story of faults on a cluster with no others, every invariant checked as for a seed.

use natter_sim::cluster::{Fault, SimConfig, run};

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

/// Runs `script` on a cluster that meets no other fault, with users typing as in any seed, and
/// returns what the run did; every invariant is checked as for a drawn run.
fn scripted(seed: u64, script: Vec<(u64, Fault)>) -> natter_sim::cluster::Report {
    let cfg = SimConfig {
        faults: false,
        script,
        ..SimConfig::default()
    };
    run(seed, &cfg).unwrap_or_else(|v| panic!("broke {}: {}", v.invariant, v.detail))
}

/// Node 2 dies at 3 s (its users lose their connection and log in at another node; the others
/// find it dead and end its sessions), and Redis restarts at 5 s with the answers to two appends in
/// flight lost (their nodes send them again, and they land twice).
#[test]
fn a_node_killed_at_3_s_and_redis_restarted_at_5_s_keep_every_invariant() {
    let r = scripted(
        1,
        vec![
            (3_000, Fault::Kill { node: 2 }),
            (
                5_000,
                Fault::RedisRestart {
                    down_ms: 1_500,
                    landed: 2,
                },
            ),
        ],
    );
    assert_eq!((r.kills, r.redis_restarts), (1, 1));
    assert_eq!(
        (r.freezes, r.lease_lapses, r.stalls, r.slow_links),
        (0, 0, 0, 0)
    );
    assert!(r.acknowledged > 0, "users kept talking: {r:?}");
}

/// Node 1 is frozen for 8 s at 2 s, past its lease: it must stop serving before the others end its
/// sessions, refuse its users when it thaws, and come back; a node joins at 4 s, from a snapshot;
/// node 3's appends crawl for 3 s from 6 s, arriving after the others may have found it dead.
#[test]
fn a_frozen_node_a_late_joiner_and_a_slow_link_keep_every_invariant() {
    let r = scripted(
        2,
        vec![
            (2_000, Fault::Freeze { node: 1, ms: 8_000 }),
            (4_000, Fault::Join),
            (
                6_000,
                Fault::SlowLink {
                    node: 3,
                    delay_ms: 6_000,
                    for_ms: 3_000,
                },
            ),
            (9_000, Fault::LeaseLapse { node: 2, ms: 6_000 }),
            (12_000, Fault::RedisStall { ms: 3_000 }),
        ],
    );
    assert_eq!(
        (r.freezes, r.joins, r.slow_links, r.lease_lapses, r.stalls),
        (1, 1, 1, 1, 1)
    );
}
