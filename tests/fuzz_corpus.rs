//! Replays every committed fuzz input through the same checks the fuzz targets run: the seed corpus
//! (`fuzz/corpus/<target>/`) and every input that ever crashed a target (`fuzz/regressions/<target>/`).
//! So `cargo test` keeps each past crash fixed without needing nightly or cargo-fuzz.

use std::path::Path;

use natter_sim::fuzz::{decode_round_trip, irc_round_trip, parse_round_trip, run_ops_bytes};

/// Runs `check` on each file under `fuzz/{corpus,regressions}/<target>/`; returns how many there were.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for kind in ["corpus", "regressions"] {
        let dir = root.join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let result = std::panic::catch_unwind(|| check(&data));
            if let Err(panic) = result {
                let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                panic!("{target}: {} fails again:\n{msg}", file.display());
            }
            n += 1;
        }
    }
    n
}

#[test]
fn parse_command_inputs() {
    assert!(
        replay("parse_command", parse_round_trip) > 0,
        "no corpus for parse_command"
    );
}

#[test]
fn irc_message_inputs() {
    assert!(
        replay("irc_message", irc_round_trip) > 0,
        "no corpus for irc_message"
    );
}

#[test]
fn decode_line_inputs() {
    assert!(
        replay("decode_line", decode_round_trip) > 0,
        "no corpus for decode_line"
    );
}

#[test]
fn server_state_inputs() {
    assert!(
        replay("server_state", run_ops_bytes) > 0,
        "no corpus for server_state"
    );
}

#[test]
fn peer_link_inputs() {
    assert!(
        replay("peer_link", natter_sim::fuzz::peer_link) > 0,
        "no corpus for peer_link"
    );
}

#[test]
fn tls_records_inputs() {
    assert!(
        replay(
            "tls_records",
            natter::shell::server::tls_memory::fuzz_records
        ) > 0,
        "no corpus for tls_records"
    );
}

#[test]
fn tls_differential_inputs() {
    assert!(
        replay(
            "tls_differential",
            natter::shell::server::tls_differential::differential
        ) > 0,
        "no corpus for tls_differential"
    );
}

#[test]
fn cluster_log_inputs() {
    assert!(
        replay("cluster_log", natter_sim::fuzz::cluster_log) > 0,
        "no corpus for cluster_log"
    );
}
