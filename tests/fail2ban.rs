//! The fail2ban filter shipped in docs/fail2ban/ against the log of real failed logins, checked with
//! Debian's `fail2ban-regex`: it finds every failure (and only those), with the address it came from,
//! in the human log and in the JSON log. Skipped, saying so, where fail2ban is not installed, unless
//! NATTER_REQUIRE_FAIL2BAN is set (CI sets it, having installed fail2ban), which fails instead.

mod kit;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kit::{PATIENCE, Server};

fn fail2ban_regex() -> Option<&'static str> {
    let found = Command::new("fail2ban-regex")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("fail2ban-regex");
    }
    assert!(
        std::env::var_os("NATTER_REQUIRE_FAIL2BAN").is_none(),
        "fail2ban-regex is missing and NATTER_REQUIRE_FAIL2BAN is set: apt-get install fail2ban"
    );
    eprintln!(
        "SKIPPED: fail2ban-regex is not installed (apt-get install fail2ban) — the filter is untested here"
    );
    None
}

/// Fails to log in from 127.0.0.1 in every way there is (an unknown name, wrong passwords that end in
/// a lockout, a try on the locked account, a logged-in user's wrong operator password); returns the
/// server once every failure is in its log, and how many there are.
fn failed_logins(format: &str) -> (Server, usize) {
    let root = natter_core::password::hash(
        "root-secret",
        &[3; 16],
        natter_core::password::Strength::Minimal,
    );
    let operator = format!("root {root}");
    let server = Server::start(&["--log-format", format, "--operator", &operator]);
    let mut alice = server.connect();
    alice.login("alice", "apw");
    alice.say("oper root");
    alice.say("not-the-password");
    let mut c = server.connect();
    c.next();
    c.say("nobody");
    c.say("bob");
    for _ in 0..3 {
        c.say("wrong");
    }
    c.until_closed();
    let mut again = server.connect();
    again.next();
    again.say("bob");
    again.until_closed();
    // operator-password, unknown-user, wrong-password twice, locked (the third), locked (the try
    // after).
    let want = 6;
    let until = Instant::now() + PATIENCE;
    while server.log().matches("login failed").count() < want {
        assert!(Instant::now() < until, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, want)
}

fn check(format: &str) {
    let Some(tool) = fail2ban_regex() else {
        return;
    };
    let (server, want) = failed_logins(format);
    let log = server.dir().join("natter.log");
    std::fs::write(&log, server.log()).unwrap();
    let filter = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fail2ban/filter.d/natter.conf");
    let out = Command::new(tool)
        .arg("--print-all-matched")
        .arg(&log)
        .arg(&filter)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = server.log().lines().count();
    assert!(
        text.contains(&format!("Lines: {lines} lines, 0 ignored, {want} matched")),
        "every failed login and nothing else:\n{text}\nlog:\n{}",
        server.log()
    );
    assert!(text.contains("127.0.0.1"), "{text}");
}

#[test]
fn the_filter_matches_every_failed_login_in_the_human_log() {
    check("human");
}

#[test]
fn the_filter_matches_every_failed_login_in_the_json_log() {
    check("json");
}
