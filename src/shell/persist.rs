//! Where the server's [`Record`]s go.
//!
//! The driver collects the records of one batch of events and hands them to a [`Persister`] in one call
//! (on the commit thread): one durable write per batch, and no reply from that batch is sent before it
//! returns. The server's persister is [`Durable`]: registered accounts go to the credentials file, and
//! everything to the [`Store`].

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::store::Store;
use natter_core::server::Record;
use natter_core::server::append_line;

/// Makes records durable.
pub trait Persister: Send {
    /// Stores every record, in order, durably, before returning. An error means none of the batch's
    /// replies may be sent; the server stops rather than acknowledge what it could not keep.
    fn commit(&mut self, records: &[Record]) -> io::Result<()>;

    /// Gives back memory kept only to make the next commits faster (caches), between commits, when
    /// the server has gone quiet.
    fn release_memory(&mut self) {}

    /// Writes a consistent copy of what is kept to `to`, while the server runs (between commits).
    fn backup(&mut self, to: &Path) -> io::Result<()> {
        let _ = to;
        Err(io::Error::other(
            "this server keeps no store of its own (a cluster node's durable state is the \
             cluster's Redis: back that up)",
        ))
    }
}

/// A cluster node's: every record is already durable, in the cluster's shared log (the events that
/// made it are there, and every node's core replays them), so there is nothing more to write.
#[derive(Debug, Default)]
pub struct InLog;

impl Persister for InLog {
    fn commit(&mut self, _records: &[Record]) -> io::Result<()> {
        Ok(())
    }
}

/// Keeps only what the credentials file holds: accounts created by `--register`, appended to it.
/// (The embedded store for everything else is [`Store`]; [`Durable`] writes to both.)
#[derive(Debug)]
pub struct CredentialsFile {
    path: PathBuf,
}

impl CredentialsFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CredentialsFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one account as a single write to a file opened for appending (so a concurrent reader never
    /// sees half a line), starting a new line if the file lacks a final newline, then syncs it.
    pub fn append(&self, username: &str, password: &str) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        let len = file.metadata()?.len();
        let last = if len == 0 {
            None
        } else {
            let mut b = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut b)?;
            Some(b[0])
        };
        file.write_all(append_line(last, username, password).as_bytes())?;
        file.sync_data()
    }
}

/// One change to the credentials file's lines.
enum Edit<'a> {
    /// `user`'s line says `password` (added at the end if there is none).
    Set {
        user: &'a str,
        password: &'a str,
    },
    Remove {
        user: &'a str,
    },
    Rename {
        from: &'a str,
        to: &'a str,
    },
}

impl CredentialsFile {
    /// Makes the file say what the records say of accounts: each edit is idempotent (an account
    /// already there with that password, or a removed one already gone, changes nothing), since a
    /// reload hands the core accounts the file already holds. Only appends: one appending write, as
    /// `--register` has always done. Anything else: the whole file written anew beside it, synced,
    /// and renamed over it, so a reader (or a crash) sees the old file or the new one, never half.
    fn edit(&self, edits: &[Edit<'_>]) -> io::Result<()> {
        let text = std::fs::read_to_string(&self.path)?;
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut appended = Vec::new();
        let mut rewritten = false;
        let user_of = |line: &str| -> Option<String> {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                return None;
            }
            t.split_whitespace().next().map(str::to_owned)
        };
        for edit in edits {
            match *edit {
                Edit::Set { user, password } => {
                    let found = lines
                        .iter()
                        .position(|l| user_of(l).as_deref() == Some(user));
                    match found {
                        Some(i) => {
                            if lines[i].split_whitespace().nth(1) != Some(password) {
                                lines[i] = format!("{user} {password}");
                                rewritten = true;
                            }
                        }
                        None => {
                            let line = format!("{user} {password}");
                            lines.push(line.clone());
                            appended.push(line);
                        }
                    }
                }
                Edit::Remove { user } => {
                    let before = lines.len();
                    lines.retain(|l| user_of(l).as_deref() != Some(user));
                    rewritten |= lines.len() != before;
                    appended.retain(|l| user_of(l).as_deref() != Some(user));
                }
                Edit::Rename { from, to } => {
                    for l in &mut lines {
                        if user_of(l).as_deref() == Some(from) {
                            let rest: Vec<&str> = l.split_whitespace().skip(1).collect();
                            *l = format!("{to} {}", rest.join(" "));
                            rewritten = true;
                        }
                    }
                }
            }
        }
        if !rewritten {
            for line in appended {
                let (user, password) = line.split_once(' ').unwrap_or((&line, ""));
                self.append(user, password)?;
            }
            return Ok(());
        }
        let mut out = lines.join("\n");
        out.push('\n');
        crate::private_fs::replace_private(&self.path, out.as_bytes())
    }
}

impl Persister for CredentialsFile {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        let edits: Vec<Edit<'_>> = records
            .iter()
            .filter_map(|r| match r {
                Record::AccountCreated { user, password }
                | Record::PasswordSet { user, password } => Some(Edit::Set { user, password }),
                Record::AccountRemoved { user } => Some(Edit::Remove { user }),
                Record::AccountRenamed { from, to } => Some(Edit::Rename { from, to }),
                _ => None,
            })
            .collect();
        if edits.is_empty() {
            return Ok(());
        }
        self.edit(&edits)
    }
}

impl Persister for Store {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        Store::commit(self, records).map_err(io::Error::other)
    }

    fn release_memory(&mut self) {
        Store::release_memory(self);
    }
}

/// The server's persister: each batch's new accounts are appended to the credentials file (their home,
/// which the operator reads and edits), then the whole batch is committed to the
/// store. In that order, a crash between the two leaves the account in the credentials file, where the
/// next start finds it; the reverse order could leave an account the operator cannot see.
#[derive(Debug)]
pub struct Durable {
    pub credentials: CredentialsFile,
    pub store: Store,
}

impl Persister for Durable {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        self.credentials.commit(records)?;
        Persister::commit(&mut self.store, records)
    }

    fn release_memory(&mut self) {
        self.store.release_memory();
    }

    fn backup(&mut self, to: &Path) -> io::Result<()> {
        self.store.backup(to).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_core::server::parse_credentials;

    #[test]
    fn appends_on_a_new_line_even_without_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.txt");
        std::fs::write(&path, "alice pw1").unwrap();
        let mut f = CredentialsFile::new(&path);
        f.commit(&[Record::AccountCreated {
            user: "zed".into(),
            password: "pw2".into(),
        }])
        .unwrap();
        f.append("yan", "pw3").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "alice pw1\nzed pw2\nyan pw3\n");
        assert_eq!(parse_credentials(&text).unwrap().len(), 3);
    }

    #[test]
    fn the_operators_changes_rewrite_the_file_keeping_its_comments_and_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.txt");
        std::fs::write(&path, "# staff\nalice pw1\nbob pw2\ncarol pw3\n").unwrap();
        let mut f = CredentialsFile::new(&path);
        let records = [
            Record::PasswordSet {
                user: "alice".into(),
                password: "$argon2id$hash".into(),
            },
            Record::AccountRemoved { user: "bob".into() },
            Record::AccountRenamed {
                from: "carol".into(),
                to: "caroline".into(),
            },
            Record::AccountCreated {
                user: "dave".into(),
                password: "pw4".into(),
            },
        ];
        f.commit(&records).unwrap();
        let want = "# staff\nalice $argon2id$hash\ncaroline pw3\ndave pw4\n";
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
        // A reload hands the same accounts again: nothing changes.
        f.commit(&records).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}
