//! The client's small state file: which offline messages were already shown ([`natter_core::client::seen`]).
//!
//! Written as a whole to a temporary file that is then renamed over the old one, so a crash leaves the
//! old file or the new one, never half of either. Another client (another user on the same account on
//! this machine) may write it meanwhile, so each save re-reads and merges before writing.

use std::path::{Path, PathBuf};

use natter_core::client::{Seen, SeenBook};

/// The file's name inside the state directory.
pub const FILE_NAME: &str = "seen";

/// The default state directory: `$XDG_STATE_HOME/natter`, else `~/.local/state/natter`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("natter"))
}

/// What the consequences of a state-file problem are, for the warnings.
const CONSEQUENCE: &str = "offline messages re-sent after a server crash may be shown twice";

#[derive(Debug)]
pub struct StateFile {
    path: Option<PathBuf>,
    /// Set after the first failed save, so the user is warned once, not at every message.
    save_failed: bool,
}

impl StateFile {
    /// Opens the state file in `dir` (none: remembering is off) and reads it. Problems come back as
    /// warnings; a missing file is not one.
    pub fn load(dir: Option<&Path>) -> (StateFile, SeenBook, Vec<String>) {
        let Some(dir) = dir else {
            return (
                StateFile {
                    path: None,
                    save_failed: true,
                },
                SeenBook::default(),
                vec![format!(
                    "no state directory (set HOME or XDG_STATE_HOME, or give --state-dir); {CONSEQUENCE}."
                )],
            );
        };
        let path = dir.join(FILE_NAME);
        // Made by an older natter with the default umask: it says whom the user talks to.
        let _ = crate::private_fs::restrict(dir, crate::private_fs::DIR_MODE);
        let _ = crate::private_fs::restrict(&path, crate::private_fs::FILE_MODE);
        let mut warnings = Vec::new();
        let book = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let (book, errors) = SeenBook::parse(&text);
                    for e in errors {
                        warnings.push(format!(
                            "state file {} is damaged ({e}); that part is ignored, so {CONSEQUENCE}.",
                            path.display()
                        ));
                    }
                    book
                }
                Err(_) => {
                    warnings.push(format!(
                        "state file {} is not text; it is ignored, so {CONSEQUENCE}.",
                        path.display()
                    ));
                    SeenBook::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SeenBook::default(),
            Err(e) => {
                warnings.push(format!(
                    "cannot read state file {} ({e}); {CONSEQUENCE}.",
                    path.display()
                ));
                SeenBook::default()
            }
        };
        (
            StateFile {
                path: Some(path),
                save_failed: false,
            },
            book,
            warnings,
        )
    }

    /// Records `seen` for (`server`, `user`). A failure is returned as a warning the first time only.
    pub fn save(&mut self, server: &str, user: &str, seen: Seen) -> Option<String> {
        let path = self.path.clone()?;
        match write_merged(&path, server, user, seen) {
            Ok(()) => None,
            Err(e) if !self.save_failed => {
                self.save_failed = true;
                Some(format!(
                    "cannot write state file {} ({e}); {CONSEQUENCE}.",
                    path.display()
                ))
            }
            Err(_) => None,
        }
    }
}

fn write_merged(path: &Path, server: &str, user: &str, seen: Seen) -> std::io::Result<()> {
    let mut book = match std::fs::read_to_string(path) {
        Ok(text) => SeenBook::parse(&text).0,
        Err(_) => SeenBook::default(),
    };
    book.record(server, user, seen);
    if let Some(dir) = path.parent() {
        crate::private_fs::create_private_dir(dir)?;
    }
    crate::private_fs::replace_private(path, book.render().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_core::time::Timestamp;

    #[test]
    fn the_state_directory_and_the_seen_file_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("state/natter");
        let (mut file, _, _) = StateFile::load(Some(&dir));
        let seen = Seen {
            id: 1,
            sent_at: Timestamp(5),
        };
        assert_eq!(file.save("s:1", "alice", seen), None);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);
        // An older natter's open ones are tightened when the client next starts.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.join(FILE_NAME), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        StateFile::load(Some(&dir));
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);
    }

    #[test]
    fn saves_merge_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut f, book, warnings) = StateFile::load(Some(dir.path()));
        assert!(warnings.is_empty());
        assert_eq!(book, SeenBook::default());
        let seen = Seen {
            id: 4,
            sent_at: Timestamp(99),
        };
        assert_eq!(f.save("h:1", "alice", seen), None);
        let (mut g, _, _) = StateFile::load(Some(dir.path()));
        assert_eq!(g.save("h:1", "bob", seen), None);
        let (_, book, warnings) = StateFile::load(Some(dir.path()));
        assert!(warnings.is_empty());
        assert_eq!(book.get("h:1", "alice"), Some(seen));
        assert_eq!(book.get("h:1", "bob"), Some(seen));
    }

    #[test]
    fn damage_and_unwritable_places_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"\xff\xfe").unwrap();
        let (_, _, warnings) = StateFile::load(Some(dir.path()));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // A state "directory" that is a file cannot be written to.
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"x").unwrap();
        let (mut f, _, warnings) = StateFile::load(Some(&blocker));
        assert!(warnings.len() <= 1);
        let seen = Seen {
            id: 1,
            sent_at: Timestamp(1),
        };
        assert!(f.save("h:1", "alice", seen).is_some());
        assert_eq!(f.save("h:1", "alice", seen), None, "warned once");
    }
}
