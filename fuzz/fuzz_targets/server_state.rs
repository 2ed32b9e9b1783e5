//! `ServerState` under structured operations (derived `Arbitrary`): no panic, every named invariant,
//! agreement with the reference model and the persistence replay, after every step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_sim::fuzz::{FuzzRun, run_ops};

fuzz_target!(|run: FuzzRun| run_ops(&run));
