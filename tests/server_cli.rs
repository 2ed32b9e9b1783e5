//! The `natter-server` binary: arguments, credentials errors, signals.

mod kit;

use kit::*;
use natter_core::protocol::{ByeReason, ServerMsg};

#[test]
fn help_shows_the_positional_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = run_server_expecting_exit(dir.path(), &["--help"]);
    assert_eq!(code, Some(0));
    let out = std::process::Command::new(server_bin())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "[PORT]",
        "[BLOCK_DURATION]",
        "[TIMEOUT]",
        "[default: 4000]",
        "[default: 60]",
        "[default: 600]",
        "--credentials",
        "--bind",
        "--register",
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
}

#[test]
fn bad_arguments_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["notaport"][..],
        &["70000"],
        &["4000", "-5"],
        &["4000", "60", "0"],
        &["--bind", "not-an-ip"],
    ] {
        let (code, err) = run_server_expecting_exit(dir.path(), args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("error"), "{args:?}: {err}");
    }
}

#[test]
fn missing_credentials_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run_server_expecting_exit(dir.path(), &["0", "--credentials", "nope.txt"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("nope.txt"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn malformed_credentials_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("credentials.txt"), "alice apw\nbob\n").unwrap();
    let (code, err) = run_server_expecting_exit(dir.path(), &["0"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("credentials.txt"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn port_in_use_is_a_clear_error() {
    let server = Server::cmd().raw(&["0"]).start();
    let port = server.addr.port().to_string();
    let (code, err) = run_server_expecting_exit(
        server.dir(),
        &[&port, "--bind", "127.0.0.1", "--data-dir", "other-data"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot listen"), "{err}");
}

#[test]
fn sigterm_tells_clients_and_exits_cleanly() {
    let mut server = Server::cmd()
        .raw(&["0", "60", "600", "--bind", "127.0.0.1", "--plaintext"])
        .start();
    let mut alice = server.connect();
    alice.login("alice", "apw");
    server.signal("TERM");
    let got = alice.until_closed();
    assert_eq!(got.last(), Some(&ServerMsg::Bye(ByeReason::Shutdown)));
    assert_eq!(server.wait(), Some(0));
    assert!(
        server.log().contains("shut down cleanly"),
        "{}",
        server.log()
    );
}

#[test]
fn sigint_too() {
    let mut server = Server::cmd()
        .raw(&["0", "--bind", "127.0.0.1", "--plaintext"])
        .start();
    let mut c = server.connect();
    c.next();
    server.signal("INT");
    assert_eq!(c.until_closed(), vec![ServerMsg::Bye(ByeReason::Shutdown)]);
    assert_eq!(server.wait(), Some(0));
}

#[test]
fn positional_arguments_take_effect() {
    // timeout 1 s: an idle login is logged out quickly.
    let server = Server::cmd()
        .raw(&["0", "30", "1", "--bind", "127.0.0.1", "--plaintext"])
        .start();
    let mut alice = server.connect();
    alice.login("alice", "apw");
    assert_eq!(
        alice.until_closed(),
        vec![ServerMsg::Bye(ByeReason::Timeout { secs: 1 })]
    );
    // block duration 30 s: three failures lock for 30.
    let mut bob = server.connect();
    bob.next();
    bob.say("bob");
    for _ in 0..3 {
        bob.say("wrong");
    }
    let got = bob.until_closed();
    assert!(
        got.contains(&ServerMsg::Error(
            natter_core::protocol::ErrorReply::LockedNow { secs: 30 }
        )),
        "{got:?}"
    );
}

/// The operator's record at the default level: logins (with the address), logouts, lockouts and
/// registrations; never a password or what anyone wrote.
#[test]
fn logins_logouts_lockouts_and_registrations_are_logged_without_secrets() {
    let server = Server::cmd().args(&["600", "--register"]).start();
    let mut alice = server.connect();
    alice.login("alice", "apw");
    alice.say("message bob a-secret-text");
    alice.say("logout");
    alice.until_closed();
    let mut bob = server.connect();
    bob.next();
    bob.say("bob");
    for _ in 0..3 {
        bob.say("wrong-guess");
    }
    bob.until_closed();
    let mut zed = server.connect();
    zed.next();
    zed.say("zed");
    zed.say("zed-secret-pw");
    zed.expect("welcome", |m| matches!(m, ServerMsg::Welcome { .. }));
    let deadline = std::time::Instant::now() + PATIENCE;
    let log = loop {
        let log = server.log();
        if log.contains("zed registered") || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    for want in [
        "alice logged in from 127.0.0.1",
        "alice logged out",
        "bob locked after repeated wrong passwords from 127.0.0.1",
        "zed registered from 127.0.0.1",
    ] {
        assert!(log.contains(want), "no {want:?} in:\n{log}");
    }
    for secret in ["apw", "a-secret-text", "wrong-guess", "zed-secret-pw"] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

#[test]
fn by_default_only_this_host_is_served_and_plain_passwords_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("credentials.txt"),
        "alice wonderland\nbob builder\n",
    )
    .unwrap();
    let server = Server::cmd()
        .in_dir(dir.path())
        .raw(&["0", "--plaintext"])
        .start();
    assert!(server.addr.ip().is_loopback(), "{}", server.addr);
    let log = server.log();
    assert!(log.contains("listening on 127.0.0.1:"), "{log}");
    assert!(
        log.contains("2 of 2 account(s)") && log.contains("plain text (alice, bob)"),
        "{log}"
    );
    assert!(
        !log.contains("demo account"),
        "on loopback the demo passwords harm nobody: {log}"
    );
    drop(server);

    // Listening beyond this host with the README's demo passwords is called out by name.
    let server = Server::cmd()
        .in_dir(dir.path())
        .raw(&["0", "--bind", "0.0.0.0", "--plaintext", "--data-dir", "d2"])
        .start();
    let log = server.log();
    assert!(
        log.contains("the demo account(s) alice, bob keep the passwords printed in the README"),
        "{log}"
    );
}
