//! Files and directories only their owner may read.
//!
//! Everything natter keeps on disk is private to the user running it: the server's store holds
//! messages waiting for offline users and registered accounts' password hashes, its TLS key is its
//! identity; the client's state directory says whom its user talks to (pinned servers, shown message
//! ids, typed commands). So each is created owner-only from the start (never briefly open to others),
//! and one created by an older natter with the default umask is tightened when it is next opened.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Owner read, write and search: a directory of ours.
pub const DIR_MODE: u32 = 0o700;
/// Owner read and write: a file of ours.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) owner-only; if it exists, tightens it to owner-only. Parents
/// that already exist are left as they are: they are not ours.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true).mode(DIR_MODE);
    builder.create(dir)?;
    restrict(dir, DIR_MODE)
}

/// Takes group and other permissions away from an existing file or directory of ours; a path that
/// does not exist is no error (there is nothing to protect).
pub fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Options that create a file owner-only (an existing file keeps its mode: see [`restrict`]).
pub fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.mode(FILE_MODE);
    options
}

/// Writes `bytes` to `path` (replacing it), owner-only, and syncs it.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    restrict(path, FILE_MODE)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_and_old_directories_and_files_end_up_owner_only() {
        let top = tempfile::tempdir().unwrap();
        let fresh = top.path().join("a/b");
        create_private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let old = top.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&old).unwrap();
        assert_eq!(
            mode(&old),
            0o700,
            "a directory an older natter made is tightened"
        );

        let file = old.join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&file, b"y").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"y");
        restrict(&old.join("missing"), FILE_MODE).unwrap();
    }
}
