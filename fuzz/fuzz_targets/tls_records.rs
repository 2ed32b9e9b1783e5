//! The server's TLS record layer after a real handshake, under arbitrary bytes and arbitrary sealed
//! records: no panic, and no plaintext handed over that genuine records did not carry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| natter::shell::server::tls_memory::fuzz_records(data));
