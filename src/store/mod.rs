//! The server's durable state, in an embedded SQLite database inside the data directory.
//!
//! The core never sees this module: it emits [`Record`]s, the shell hands each batch of them to
//! [`Store::commit`] (one transaction, one sync of the write-ahead log), and at start
//! [`Store::load`] gives back the records that rebuild the state through
//! [`natter_core::server::ServerState::restore`]. Why SQLite, and how crash safety follows, is in
//! `docs/DESIGN.md`.
//!
//! A data directory holds `natter.db` (with its `-wal` log while a server runs) and `lock`. Opening it
//! takes the lock first, so two servers never share a store, then refuses, with an error naming the path
//! and the problem, a file from a newer format, a foreign file, or a damaged one. Nothing here ever
//! starts afresh over existing data.

mod apply;
mod error;
mod group_rules;
#[cfg(test)]
mod group_tests;
mod load;
mod open;
mod rename;
mod schema;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};

pub use error::StoreError;
pub use load::Snapshot;
pub use schema::{DB_FILE, LOCK_FILE};

use natter_core::server::Record;

/// An open data directory. The directory stays locked until this is dropped.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The next message id as committed; only a successful commit moves it.
    next_message_id: u64,
    _lock: open::DirLock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the data directory `dir`, creating it and an empty store on first use. Fails, naming the
    /// problem, if another server holds it, or the store is from a newer format, foreign, or damaged.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let lock = open::lock_dir(dir)?;
        let opened = open::open_db(dir)?;
        Ok(Store {
            conn: opened.conn,
            path: opened.path,
            next_message_id: opened.next_message_id,
            _lock: lock,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The durable state as records to replay (checking every row's checksum), and the next message id.
    pub fn load(&self) -> Result<Snapshot, StoreError> {
        Ok(Snapshot {
            records: load::load(&self.conn, &self.path)?,
            next_message_id: self.next_message_id,
        })
    }

    /// Writes a consistent copy of the store to `to` (which must not exist), while it is in use:
    /// SQLite's `VACUUM INTO`, between two commits. The copy is a store like this one: put it in place
    /// of `natter.db` in a data directory (with the server stopped) to restore it.
    pub fn backup(&self, to: &Path) -> Result<(), StoreError> {
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::sqlite(to, rusqlite::Error::InvalidPath(to.to_owned())))?;
        self.conn
            .execute("VACUUM INTO ?1", [target])
            .map(|_| ())
            .map_err(|e| StoreError::sqlite(to, e))
    }

    /// Gives back the memory SQLite keeps for this connection's pages that no statement is using (its
    /// page cache, up to 2 MiB, which the login history's upserts fill as users log in), once the
    /// server has gone quiet: the next commit reads what it needs again from the file (in the
    /// system's cache). Failing to is no harm, so it is not reported.
    pub fn release_memory(&self) {
        let _ = self.conn.release_memory();
    }

    /// Makes every record durable, in order, as one transaction: when this returns `Ok` they survive a
    /// crash or power loss; when it returns an error none of them is kept.
    pub fn commit(&mut self, records: &[Record]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let path = &self.path;
        let sql = |e| StoreError::sqlite(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let mut next = self.next_message_id;
        apply::apply_all(&tx, records, &mut next).map_err(sql)?;
        if next != self.next_message_id {
            apply::set_next_message_id(&tx, next).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        self.next_message_id = next;
        Ok(())
    }
}
