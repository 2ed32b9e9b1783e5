//! The client's decoder for server lines never panics, and what it decodes renders back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| natter_sim::fuzz::decode_round_trip(data));
