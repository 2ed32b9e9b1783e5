//! The IRC codec never panics, reads back what it writes, and an IRC front takes any line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| natter_sim::fuzz::irc_round_trip(data));
