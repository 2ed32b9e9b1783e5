//! The end-to-end state on disk, with the real binaries: someone holding a client's state directory
//! reads no key and no text without the password, a wrong password opens nothing, and state that
//! cannot be read or saved stops what would be encrypted, in clear or not, with a way out.

mod kit;

use std::path::{Path, PathBuf};
use std::process::Command;

use kit::{PEOPLE, Piped, Relay, Server};
use natter_core::client::e2e::store::device_dir_name;

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

/// Strings that a pickle of vodozemac's (as JSON), natter's own state or the conversation would
/// show in clear.
const MARKERS: &[&str] = &[
    "signing_key",
    "diffie_hellman_key",
    "one_time_keys",
    "fallback_keys",
    "session_keys",
    "sending_ratchet",
    "receiving_chains",
    "\"account\"",
    "\"sessions\"",
    "\"pinned\"",
    "pickle",
    "eagle lands",
    "red umbrella",
];

/// The directory of `user`'s end-to-end state for the server at `port`, under `state`.
fn device_dir(state: &Path, port: u16, user: &str) -> PathBuf {
    state
        .join("e2e")
        .join(device_dir_name(&format!("127.0.0.1:{port}"), user))
}

fn logout(c: &mut Piped) {
    c.send("logout");
    c.wait();
}

/// alice and bob talk encrypted; both log out. Returns their state directories' parent.
fn talk(port: u16, top: &Path) {
    let mut alice = Piped::login("alice", "wonderland", port, &top.join("a"));
    let mut bob = Piped::login("bob", "builder", port, &top.join("b"));
    alice.send("message bob the eagle lands at midnight");
    bob.expect("[message] alice: the eagle lands at midnight");
    bob.send("message alice bring the red umbrella");
    alice.expect("[message] bob: bring the red umbrella");
    logout(&mut alice);
    logout(&mut bob);
}

#[test]
fn keys_and_texts_at_rest_are_unreadable_and_a_wrong_password_opens_nothing() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let top = tempfile::tempdir().unwrap();
    talk(server.port(), top.path());
    for user in ["a", "b"] {
        let all = files(&top.path().join(user).join("e2e"));
        assert!(all.len() >= 2, "a key file and a journal: {all:?}");
        for (path, bytes) in &all {
            for marker in MARKERS {
                assert!(
                    !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                    "{marker} readable in {}",
                    path.display()
                );
            }
        }
    }

    // The same state, reached with another password (the account's was changed at another server:
    // its directory is given that server's name).
    static CHANGED: &[(&str, &str)] = &[("alice", "rabbit-hole"), ("bob", "builder")];
    let other = Server::cmd().accounts(CHANGED).args(&["60", "300"]).start();
    let a = top.path().join("a");
    std::fs::rename(
        device_dir(&a, server.port(), "alice"),
        device_dir(&a, other.port(), "alice"),
    )
    .unwrap();
    let mut alice = Piped::login("alice", "rabbit-hole", other.port(), &a);
    assert!(
        alice.saw("Your end-to-end keys could not be opened: the password does not open them"),
        "{:?}",
        alice.seen
    );
    alice.send("message bob the eagle lands again");
    alice.expect("Not sent: your end-to-end keys are not open");
    // The way out: the password they were locked with; they are locked with the new one then.
    alice.send("e2e-unlock wonderland");
    alice.send("whoelse");
    alice.expect_any(&["* Online now:", "* Nobody else is online."]);
    assert!(
        alice
            .seen
            .iter()
            .filter(|l| l.contains("could not be opened"))
            .count()
            == 1,
        "{:?}",
        alice.seen
    );
    logout(&mut alice);
    let mut alice = Piped::login("alice", "rabbit-hole", other.port(), &a);
    alice.send("whoelse");
    alice.expect_any(&["* Online now:", "* Nobody else is online."]);
    assert!(
        !alice.saw("could not be opened"),
        "the new password opens them now: {:?}",
        alice.seen
    );
    logout(&mut alice);
}

/// `passwd` locks the stored keys with the new password: the next login opens them with it (the
/// same identity: bob sees no change, and what alice kept is there), and the old password opens
/// nothing. Before, the keys stayed locked with the old password and the next login could not open
/// them.
#[test]
fn passwd_locks_the_stored_keys_with_the_new_password() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let top = tempfile::tempdir().unwrap();
    talk(server.port(), top.path());
    let a = top.path().join("a");
    let mut alice = Piped::login("alice", "wonderland", server.port(), &a);
    // A script's lines, all at once: each is read only once the server has asked for it.
    for line in [
        "passwd",
        "wonderland",
        "through-the-looking-glass",
        "through-the-looking-glass",
    ] {
        alice.send(line);
    }
    alice.expect("Your password is changed");
    logout(&mut alice);
    let unlock = |password: &str| {
        natter::shell::e2e_store::open(
            &a,
            &format!("127.0.0.1:{}", server.port()),
            "alice",
            password,
            &natter_core::client::OpenHow::Unlock,
        )
        .map(|_| ())
    };
    assert!(
        unlock("wonderland").is_err(),
        "the old password opens nothing"
    );
    unlock("through-the-looking-glass").unwrap();

    let mut alice = Piped::login("alice", "through-the-looking-glass", server.port(), &a);
    let mut bob = Piped::login("bob", "builder", server.port(), &top.path().join("b"));
    alice.send("message bob still the same key");
    bob.expect("[message] alice: still the same key");
    for c in [&alice, &bob] {
        assert!(
            !c.saw("could not be opened") && !c.saw("CHANGED"),
            "{}: {:?}",
            c.name,
            c.seen
        );
    }
    logout(&mut alice);
    logout(&mut bob);
}

#[test]
fn damaged_keys_send_nothing_in_clear_until_the_user_makes_new_ones() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    // Everything between the clients and the server goes through this recording relay.
    let relay = Relay::start(server.port());
    let top = tempfile::tempdir().unwrap();
    talk(relay.port, top.path());
    // The middle of alice's stored state overwritten (a bad sector, a stray write).
    let journal = device_dir(&top.path().join("a"), relay.port, "alice").join("journal");
    let mut bytes = std::fs::read(&journal).unwrap();
    let n = bytes.len();
    bytes[n / 3..2 * n / 3].fill(0x5a);
    std::fs::write(&journal, &bytes).unwrap();

    let mut alice = Piped::login("alice", "wonderland", relay.port, &top.path().join("a"));
    let mut bob = Piped::login("bob", "builder", relay.port, &top.path().join("b"));
    assert!(
        alice.saw("Your end-to-end keys could not be opened") && alice.saw("e2e-newkeys"),
        "{:?}",
        alice.seen
    );
    // Before, one damaged file switched encryption off, and this went to the server in clear.
    alice.send("message bob the eagle lands on tuesday");
    alice.expect("Not sent: your end-to-end keys are not open");
    alice.send("startprivate bob");
    alice.expect("needs your end-to-end keys");
    // The way out: new keys. bob is told alice's key changed (the old one is gone).
    alice.send("e2e-newkeys");
    alice.send("message bob the eagle lands on friday");
    bob.expect("identity key has CHANGED");
    let wire = relay.recorded();
    for secret in ["tuesday", "friday"] {
        assert!(
            !wire.contains(secret),
            "{secret} crossed the server in clear"
        );
    }
    let aside = std::fs::read_dir(top.path().join("a").join("e2e"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("set-aside"));
    assert!(aside, "the damaged state is kept aside for the user");
}

#[test]
fn state_that_cannot_be_saved_sends_nothing_that_depends_on_it() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let relay = Relay::start(server.port());
    let top = tempfile::tempdir().unwrap();
    talk(relay.port, top.path());
    // alice's client may write no file bigger than her journal is now (a limit on file size, with
    // its signal ignored: to the client it looks as a full disk does, a write that fails).
    let a = top.path().join("a");
    let journal = device_dir(&a, relay.port, "alice").join("journal");
    let limit = std::fs::metadata(&journal).unwrap().len() + 100;
    let before = relay.recorded().len();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "trap '' XFSZ; exec prlimit --fsize={limit} \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_natter"))
        .arg(relay.port.to_string())
        .arg("--state-dir")
        .arg(&a)
        .arg("--plaintext")
        .env_remove("RUST_LOG");
    let mut alice = Piped::spawn_cmd("alice", cmd, &a);
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    let mut bob = Piped::login("bob", "builder", relay.port, &top.path().join("b"));
    alice.send("message bob the eagle lands on sunday");
    alice.expect("NOT sent (to bob)");
    bob.send("whoelse");
    bob.expect_any(&["* Online now:"]);
    assert!(!bob.saw("sunday"), "{:?}", bob.seen);
    let wire = relay.recorded()[before..].to_owned();
    assert!(
        !wire.contains("sunday") && !wire.lines().any(|l| l.starts_with("message bob e2e1:")),
        "nothing of it left alice's client:\n{wire}"
    );
}
