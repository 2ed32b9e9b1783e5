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

/// Replaces `path` with `bytes` atomically and durably: a new owner-only file beside it (named with
/// this process's id, so two processes replacing one file never write the same new file), synced,
/// renamed over `path`, and the directory synced so the rename itself survives a crash. A reader sees
/// the old contents or the new, never a mix; on failure the new file is removed and `path` is as it was.
/// Every file natter replaces whole goes through here.
pub fn replace_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.{}.new",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write_private(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| std::fs::File::open(dir)?.sync_all());
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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

    #[test]
    fn a_replaced_file_holds_the_new_bytes_owner_only_and_leaves_nothing_beside_it() {
        let top = tempfile::tempdir().unwrap();
        let path = top.path().join("state");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        replace_private(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = std::fs::read_dir(top.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no new file is left beside it");
        // A path whose directory is missing fails, and leaves nothing behind.
        assert!(replace_private(&top.path().join("gone/state"), b"x").is_err());
        assert!(replace_private(Path::new("/"), b"x").is_err());
    }
}
