//! A data directory the server cannot vouch for stops it at start, with an error naming the problem and
//! the path; it never starts afresh over it.

use crate::kit::{Client, Failed, LOAD_ACCOUNTS, Server, write_credentials};

fn refused(dir: &std::path::Path, args: &[&str]) -> Failed {
    match Server::cmd().in_dir(dir).args(args).try_start() {
        Ok(s) => panic!("server started on {}: {}", s.addr, s.log()),
        Err(f) => {
            assert!(
                f.status.is_some_and(|s| !s.success()),
                "should exit with an error: {f:?}"
            );
            f
        }
    }
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(dir.path(), LOAD_ACCOUNTS);
    let first = Server::cmd().in_dir(dir.path()).start();
    let f = refused(dir.path(), &[]);
    assert!(
        f.stderr.contains("in use by another natter-server")
            && f.stderr.contains("natter-data")
            && f.stderr.contains(&format!("pid {}", first.pid())),
        "{}",
        f.stderr
    );
    // The first one is unharmed.
    Client::log_in(first.addr, "alice", "apw").unwrap();
    assert!(first.stop().success());
}

/// A data directory with a store closed cleanly, and the store file's path.
fn stopped_store(dir: &std::path::Path) -> std::path::PathBuf {
    write_credentials(dir, LOAD_ACCOUNTS);
    let server = Server::cmd().in_dir(dir).start();
    let mut alice = Client::log_in(server.addr, "alice", "apw").unwrap();
    alice.send("message bob something to keep").unwrap();
    alice.send("logout").unwrap();
    let _ = alice.recv_until(|m| matches!(m, natter_core::protocol::ServerMsg::Bye(_)));
    assert!(server.stop().success());
    dir.join("natter-data").join(natter::store::DB_FILE)
}

#[test]
fn a_damaged_store_is_reported_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = stopped_store(dir.path());
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..16].copy_from_slice(&[0xAB; 16]);
    std::fs::write(&db, &bytes).unwrap();
    let f = refused(dir.path(), &[]);
    assert!(
        f.stderr.contains("is damaged") && f.stderr.contains(&db.display().to_string()),
        "{}",
        f.stderr
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the store is left as it was"
    );
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = stopped_store(dir.path());
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 9)
        .unwrap();
    let f = refused(dir.path(), &[]);
    assert!(
        f.stderr.contains("newer natter") && f.stderr.contains("format version 9"),
        "{}",
        f.stderr
    );
}

#[test]
fn a_data_directory_that_cannot_be_used_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(dir.path(), LOAD_ACCOUNTS);
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let f = refused(dir.path(), &["--data-dir", file.to_str().unwrap()]);
    assert!(
        f.stderr.contains("is not a directory") && f.stderr.contains("plain-file"),
        "{}",
        f.stderr
    );
}
