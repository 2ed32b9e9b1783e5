//! The load generator's smoke mode against a real natter-server and against the do-nothing relay
//! (`natter-bench relay`): every workload, a few clients each, every delivery verified. It proves
//! natter-bench and the relay work; it measures nothing (no timing is asserted).

use std::process::Command;

#[test]
fn every_workload_runs_and_verifies() {
    let out = Command::new(env!("CARGO_BIN_EXE_natter-bench"))
        .args(["smoke", "--server-bin", env!("CARGO_BIN_EXE_natter-server")])
        .output()
        .expect("natter-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "smoke failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("smoke: 19 runs, all verified"), "{stdout}");
    for case in [
        "direct",
        "fanout",
        "group",
        "idle",
        "login",
        "offline",
        "@ 400/s",
        "whoelsesince",
        "[natter+tls] direct",
        "TLS handshake",
        "[natter] direct 8 users, 4 in flight, acks on",
        "[relay] direct",
        "[relay] fanout",
        "[relay] group",
        "[relay] idle",
        "[relay] login churn",
        "[relay+tls] direct",
        "[relay] direct 8 users, 4 in flight, acks on",
    ] {
        assert!(stdout.contains(case), "no {case} run in:\n{stdout}");
    }
}
