//! The server's compact TLS record layer against rustls: after a real handshake with each, the same
//! client records must get the same verdict from both (see `natter::shell::server::tls_differential::differential`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| natter::shell::server::tls_differential::differential(data));
