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

impl Persister for CredentialsFile {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        for r in records {
            if let Record::AccountCreated { user, password } = r {
                self.append(user, password)?;
            }
        }
        Ok(())
    }
}

impl Persister for Store {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        Store::commit(self, records).map_err(io::Error::other)
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
}
