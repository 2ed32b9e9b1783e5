//! Where the full-screen client's windows are kept across restarts (what is kept, and when, is the
//! core's: [`natter_core::client::screen::saved`]): one file per server and account,
//! `<state dir>/windows/<server>/<user>`, written whole to a new file renamed over the old one (a
//! crash leaves the old windows or the new, never a mix), directories and files owner-only (they
//! hold what was said). A file the core could not restore is renamed aside, `<user>.unreadable`.

use std::path::{Path, PathBuf};

use natter_core::protocol::Name;

use super::chatlog::component;

/// The windows' files of one server.
pub(super) struct WindowsFiles {
    /// `<state dir>/windows/<server>`; `None`: nothing is kept.
    dir: Option<PathBuf>,
    /// Set after the first failed save, so the user is told once.
    save_failed: bool,
}

impl WindowsFiles {
    /// The files of `server`'s windows under `state_dir`, if there is one.
    pub(super) fn new(state_dir: Option<&Path>, server: &str) -> Self {
        WindowsFiles {
            dir: state_dir.map(|d| d.join("windows").join(component(server))),
            save_failed: false,
        }
    }

    /// What was kept for `user` (`None`: nothing), or why it could not be read.
    pub(super) fn load(&self, user: &Name) -> Result<Option<Vec<u8>>, String> {
        let Some(path) = self.path(user) else {
            return Ok(None);
        };
        // Made by hand, or by a copy with another umask: it says what was said.
        let _ = crate::private_fs::restrict(&path, crate::private_fs::FILE_MODE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Where `user`'s windows are kept (`None`: nothing is kept).
    pub(super) fn path(&self, user: &Name) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(component(user)))
    }

    /// Writes `bytes` as the windows at `path` (its directories made owner-only): run off the
    /// driver, one at a time.
    pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
        path.parent()
            .map_or(Ok(()), crate::private_fs::create_private_dir)
            .and_then(|()| crate::private_fs::replace_private(path, bytes))
            .map_err(|e| {
                format!(
                    "Cannot keep your windows in {} ({e}); they will not be restored at the next start.",
                    path.display()
                )
            })
    }

    /// A save failed (`why`): said the first time only.
    pub(super) fn failed(&mut self, why: String) -> Option<String> {
        (!std::mem::replace(&mut self.save_failed, true)).then_some(why)
    }

    /// Renames `user`'s file aside (`<user>.unreadable`, replacing an earlier one). A failure comes
    /// back as a warning.
    pub(super) fn set_aside(&self, user: &Name) -> Option<String> {
        let path = self.path(user)?;
        let aside = path.with_file_name(format!("{}.unreadable", component(user)));
        std::fs::rename(&path, &aside).err().map(|e| {
            format!(
                "Cannot rename {} aside ({e}); this run's windows will replace it.",
                path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn kept_per_server_and_account_owner_only_and_set_aside_when_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let files = WindowsFiles::new(Some(dir.path()), "127.0.0.1:4000");
        let alice = Name::from("alice");
        assert_eq!(files.load(&alice), Ok(None));
        let path = files.path(&alice).unwrap();
        assert_eq!(WindowsFiles::write(&path, b"one"), Ok(()));
        assert_eq!(WindowsFiles::write(&path, b"two"), Ok(()));
        assert_eq!(files.load(&alice), Ok(Some(b"two".to_vec())));
        assert_eq!(files.load(&Name::from("bob")), Ok(None), "per account");
        let other = WindowsFiles::new(Some(dir.path()), "127.0.0.1:4001");
        assert_eq!(other.load(&alice), Ok(None), "per server");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let server_dir = dir.path().join("windows/127.0.0.1:4000");
        assert_eq!(mode(&server_dir.join("alice")), 0o600);
        assert_eq!(mode(&server_dir), 0o700);
        assert_eq!(mode(&dir.path().join("windows")), 0o700);
        assert_eq!(files.set_aside(&alice), None);
        assert_eq!(files.load(&alice), Ok(None));
        assert_eq!(
            std::fs::read(server_dir.join("alice.unreadable")).unwrap(),
            b"two"
        );
        // Without a state directory nothing is kept, and nothing fails.
        let none = WindowsFiles::new(None, "s");
        assert_eq!(none.path(&alice), None);
        assert_eq!(none.load(&alice), Ok(None));
    }

    #[test]
    fn an_unwritable_place_is_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"x").unwrap();
        let mut files = WindowsFiles::new(Some(&blocker), "s");
        let alice = Name::from("alice");
        let why = WindowsFiles::write(&files.path(&alice).unwrap(), b"x").unwrap_err();
        assert!(files.failed(why.clone()).is_some());
        assert_eq!(files.failed(why), None, "said once");
        assert!(files.load(&alice).is_err());
    }
}
