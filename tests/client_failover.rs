//! End-to-end: a `natter` client given several servers (`--server HOST:PORT`, repeated) moves to the
//! next when the one in use dies, and logs in again without the user typing anything. Two independent
//! servers on one set of accounts stand in for the nodes of a cluster: what is tested here is the
//! client's part (which server, when, the login repeated, what the user reads).

mod kit;

use std::path::Path;
use std::process::Command;

use kit::{PEOPLE, Piped, Server, free_port};

/// `natter --server 127.0.0.1:P ...` over TLS (the default), state in `state_dir`.
fn natter_servers(ports: &[u16], state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    for p in ports {
        cmd.arg("--server").arg(format!("127.0.0.1:{p}"));
    }
    cmd.arg("--state-dir").arg(state_dir).env_remove("RUST_LOG");
    cmd
}

/// alice's client meets `port` once (logs in and out), so its certificate is pinned in `state_dir`.
fn pin(port: u16, state_dir: &Path) {
    let mut alice = Piped::spawn_cmd("alice", natter_servers(&[port], state_dir), state_dir);
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    alice.send("logout");
    assert_eq!(alice.wait().code(), Some(0));
}

#[test]
fn a_killed_server_is_replaced_by_the_next_and_the_user_retypes_nothing() {
    let a = Server::cmd().accounts(PEOPLE).tls().start();
    let b = Server::cmd().accounts(PEOPLE).tls().start();
    let (pa, pb) = (a.port(), b.port());
    let dir = tempfile::tempdir().unwrap();
    // The password goes by itself only to a server whose certificate alice's client has verified.
    pin(pb, &dir.path().join("a"));

    let mut alice = Piped::spawn_cmd(
        "alice",
        natter_servers(&[pa, pb], &dir.path().join("a")),
        &dir.path().join("a"),
    );
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    let mut bob = Piped::spawn_tls("bob", pb, &dir.path().join("b"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");

    a.kill9();
    alice.expect(&format!(
        "Lost the connection to 127.0.0.1:{pa}; connecting to 127.0.0.1:{pb} to log in again as alice"
    ));
    alice.expect(&format!(
        "Reconnected to 127.0.0.1:{pb}; logged in again as alice."
    ));
    bob.expect("* alice logged in");

    // The session goes on there: commands, messages both ways.
    alice.send("whoelse");
    alice.expect("* Online now: bob");
    alice.send("message bob still here");
    bob.expect("[message] alice: still here");
    bob.send("message alice good");
    alice.expect("[message] bob: good");
    assert!(
        !alice.seen.iter().any(|l| l.contains("wonderland")),
        "the password was shown: {:?}",
        alice.seen
    );

    alice.send("logout");
    assert_eq!(alice.wait().code(), Some(0), "{}", alice.seen.join("\n"));
}

#[test]
fn the_password_is_never_sent_by_itself_to_a_server_not_verified() {
    let a = Server::cmd().accounts(PEOPLE).tls().start();
    let b = Server::cmd().accounts(PEOPLE).tls().start();
    let (pa, pb) = (a.port(), b.port());
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::spawn_cmd("alice", natter_servers(&[pa, pb], dir.path()), dir.path());
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    a.kill9();
    // b's certificate is new to alice's client: it could be anyone's. A script cannot be asked, so
    // the client stops there, having sent the username only.
    alice.expect(&format!(
        "127.0.0.1:{pb} has not proved it is the server you trust"
    ));
    assert_eq!(alice.wait().code(), Some(1));
    let log = b.log();
    assert!(
        !log.contains("alice logged in"),
        "the password reached b: {log}"
    );
}

/// Carol's client is given `first` and then a working server: it says `warning` of `first`, and carol
/// logs in and out through the other without typing anything more than her login.
fn skipped_with_a_warning(first: u16, warning: &str) {
    let b = Server::cmd().accounts(PEOPLE).start();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = natter_servers(&[first, b.port()], dir.path());
    cmd.arg("--plaintext");
    let mut carol = Piped::spawn_cmd("carol", cmd, dir.path());
    carol.expect(warning);
    carol.send("carol");
    carol.send("christmas");
    carol.expect("Welcome to natter, carol!");
    carol.send("logout");
    assert_eq!(carol.wait().code(), Some(0));
}

#[test]
fn a_server_that_is_down_at_start_is_skipped_with_a_warning() {
    let down = free_port();
    skipped_with_a_warning(
        down,
        &format!(
            "Could not use 127.0.0.1:{down}: cannot connect to the server at 127.0.0.1:{down}"
        ),
    );
}

#[test]
fn a_full_server_at_start_is_skipped_with_a_warning() {
    // A server out of descriptors answers `BYE full` and closes: the next one is used.
    let full = Server::cmd()
        .accounts(PEOPLE)
        .args(&[
            "--max-logins-per-address",
            "0",
            "--new-connections-per-address",
            "0",
        ])
        .fd_limit(40)
        .start();
    let mut held = Vec::new();
    let is_full = (0..60).any(|_| {
        let mut c = full.connect();
        if c.next_line().is_some_and(|l| l.starts_with("BYE full")) {
            return true;
        }
        held.push(c);
        false
    });
    assert!(is_full, "the server never ran out: {} held", held.len());
    let p = full.port();
    skipped_with_a_warning(
        p,
        &format!("Could not use 127.0.0.1:{p}: the server at 127.0.0.1:{p} is full"),
    );
}

#[test]
fn no_server_of_several_is_one_clear_error_naming_each() {
    let (p1, p2) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let out = natter_servers(&[p1, p2], dir.path())
        .arg("--plaintext")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("none of the servers could be used")
            && err.contains(&format!("127.0.0.1:{p1}: cannot connect"))
            && err.contains(&format!("127.0.0.1:{p2}: cannot connect")),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_natter"))
        .args(["--server", "127.0.0.1:x"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad --server is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a port number"));
}
