//! The accounts the tests log in with, and writing them as a credentials file.

use std::path::{Path, PathBuf};

/// The accounts most tests use.
pub const ACCOUNTS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
];

/// [`ACCOUNTS`] and the senders and recipients of the crash test's load.
pub const LOAD_ACCOUNTS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
    ("s0", "p"),
    ("s1", "p"),
    ("s2", "p"),
    ("r0", "p"),
    ("r1", "p"),
    ("r2", "p"),
    ("q0", "p"),
    ("q1", "p"),
];

/// The shipped credentials' passwords, which the client tests type as a person would.
pub const PEOPLE: &[(&str, &str)] = &[
    ("alice", "wonderland"),
    ("bob", "builder"),
    ("carol", "christmas"),
    ("dave", "grohl42"),
];

/// Writes `accounts` as `credentials.txt` in `dir`; returns its path.
pub fn write_credentials(dir: &Path, accounts: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("credentials.txt");
    let text: String = accounts.iter().map(|(u, p)| format!("{u} {p}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// A fresh temporary directory holding a `credentials.txt` with `accounts`.
pub fn dir_with(accounts: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(dir.path(), accounts);
    dir
}

/// The password of one of [`ACCOUNTS`].
pub fn password_of(user: &str) -> &'static str {
    ACCOUNTS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, p)| *p)
        .unwrap_or("?")
}
