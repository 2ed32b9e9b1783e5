//! Everything that can go wrong with the data directory, each naming the problem and the path, so an
//! operator can act on it. None of them is ever answered by starting afresh: a store that cannot be read
//! stops the server, because a silent reset would lose what clients were told was kept.
//!
//! Variants with a `source` leave it out of their own message; print the chain (`{:#}` with anyhow) to
//! see it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use data directory {path} (give another with --data-dir PATH)")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("data directory {path} is not a directory (give another with --data-dir PATH)")]
    NotADirectory { path: PathBuf },

    #[error(
        "data directory {path} is in use by another natter-server ({holder}); stop it first, or give \
         another with --data-dir PATH"
    )]
    InUse { path: PathBuf, holder: String },

    #[error("cannot open the store {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "the store {path} was written by a newer natter (format version {found}; this build reads \
         version {supported}); run a newer natter-server, or give another --data-dir"
    )]
    NewerFormat {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "the store {path} has format version {found}, which this build cannot read (it reads version \
         {supported})"
    )]
    UnknownFormat {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "{path} is not a natter store (it is some other SQLite database); move it away or give another \
         --data-dir"
    )]
    NotNatter { path: PathBuf },

    #[error(
        "the store {path} is damaged: {detail}; nothing was changed. Restore it from a backup, or move \
         the data directory away to start empty"
    )]
    Damaged { path: PathBuf, detail: String },

    #[error("store {path}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Classifies an SQLite error on `path`: damage is reported as damage, whatever statement met it.
    pub(crate) fn sqlite(path: &std::path::Path, e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match e.sqlite_error_code() {
            Some(DatabaseCorrupt | NotADatabase) => StoreError::Damaged {
                path: path.to_owned(),
                detail: e.to_string(),
            },
            _ => StoreError::Sqlite {
                path: path.to_owned(),
                source: e,
            },
        }
    }
}
