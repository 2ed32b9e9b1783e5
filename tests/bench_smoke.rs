//! The load generator's smoke mode against a real natter-server: every workload, a few clients each,
//! every delivery verified. It proves natter-bench works; it measures nothing (no timing is asserted).

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
    assert!(stdout.contains("smoke: 10 runs, all verified"), "{stdout}");
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
    ] {
        assert!(stdout.contains(case), "no {case} run in:\n{stdout}");
    }
}
