//! What a cluster node reads from Redis (shared-log entries and snapshots), under hostile bytes: no
//! panic, and an accepted entry encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| natter_sim::fuzz::cluster_log(data));
