//! The line check is its definition, the command parser never panics, and a parsed command renders
//! to a line that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| natter_sim::fuzz::parse_round_trip(data));
