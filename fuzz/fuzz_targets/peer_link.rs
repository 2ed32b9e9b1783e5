//! The private-chat listener under arbitrary bytes on its link: no panic, and nothing shown that the
//! session's keys did not seal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| natter_sim::fuzz::peer_link(data));
