//! The seeded IRC simulator (`natter_sim::irc`): IRC clients (by PASS or SASL, guests) beside
//! natter clients on one core, messages every way, groups as channels, blocks as SILENCE, the
//! service nick, drops, kicks, idle logouts and restarts; the delivery and block rules checked.
//!
//! - `cargo test` runs a few seeds (`SIM_IRC_SEEDS`, default 4).
//! - `SIM_IRC_SEEDS=N` runs seeds `SIM_IRC_FIRST`..`SIM_IRC_FIRST+N`; `SIM_IRC_SEED=S` replays one;
//!   `SIM_IRC_OPS=K` intentions per seed (default 2000).

use std::time::Instant;

use natter_sim::irc::simulate_irc;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number; give a whole number")),
    )
}

#[test]
fn irc_seeds_keep_every_message_once_and_every_block() {
    let ops = env_u64("SIM_IRC_OPS").unwrap_or(2000) as usize;
    let seeds: Vec<u64> = match env_u64("SIM_IRC_SEED") {
        Some(seed) => vec![seed],
        None => {
            let first = env_u64("SIM_IRC_FIRST").unwrap_or(0);
            let n = env_u64("SIM_IRC_SEEDS").unwrap_or(4);
            (first..first + n).collect()
        }
    };
    let started = Instant::now();
    let mut steps = 0;
    let mut coverage = std::collections::BTreeMap::new();
    for &seed in &seeds {
        match simulate_irc(seed, ops) {
            Ok(stats) => {
                steps += stats.steps;
                for (k, n) in stats.coverage {
                    *coverage.entry(k).or_insert(0u64) += n;
                }
            }
            Err(failure) => panic!("\n{failure}"),
        }
    }
    println!(
        "sim_irc: {} seeds, {steps} steps, {:.2} s",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    println!("coverage: {coverage:?}");
    for must in [
        "irc-logins",
        "natter-logins",
        "guest-logins",
        "messages-shown-on-irc",
        "messages-checked-exactly-once",
    ] {
        assert!(
            coverage.get(must).copied().unwrap_or(0) > 0,
            "no {must} in {coverage:?}"
        );
    }
}
