//! Opening a data directory: create it on first use, take the lock, open the database, and refuse
//! anything this build cannot vouch for (another server holding it, a newer or foreign format, damage).

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::error::StoreError;
use super::schema::{
    APPLICATION_ID, CREATE, DB_FILE, FORMAT_VERSION, Field, LOCK_FILE, MIGRATIONS, NEXT_MESSAGE_ID,
    row_crc,
};

/// The exclusive lock on a data directory, held for as long as this value lives. It is an advisory
/// `flock` on `lock`, so the kernel releases it when the process dies, however it dies: a crash never
/// leaves a stale lock behind.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

/// Creates `dir` if it does not exist and takes its lock.
pub(crate) fn lock_dir(dir: &Path) -> Result<DirLock, StoreError> {
    let dir_err = |source| StoreError::Dir {
        path: dir.to_owned(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(StoreError::NotADirectory {
                path: dir.to_owned(),
            });
        }
        Ok(_) => crate::private_fs::restrict(dir, crate::private_fs::DIR_MODE).map_err(dir_err)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_private_dir(dir).map_err(dir_err)?;
            sync_parent(dir);
        }
        Err(e) => return Err(dir_err(e)),
    }
    let path = dir.join(LOCK_FILE);
    crate::private_fs::restrict(&path, crate::private_fs::FILE_MODE).map_err(dir_err)?;
    let mut file = crate::private_fs::private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(dir_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "pid unknown".to_owned(),
                pid => format!("pid {pid}"),
            };
            return Err(StoreError::InUse {
                path: dir.to_owned(),
                holder,
            });
        }
        Err(TryLockError::Error(e)) => return Err(dir_err(e)),
    }
    // Only for the message above: the lock itself is the flock, not the contents.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()));
    Ok(DirLock { _file: file })
}

/// Creates the directory (and any missing parents) readable by its owner only: it holds private
/// messages and the passwords of registered accounts.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    crate::private_fs::create_private_dir(dir)
}

/// Makes a new directory's entry durable, best effort (the database syncs its own files).
fn sync_parent(dir: &Path) {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(parent) {
        let _ = d.sync_all();
    }
}

/// Makes the database and its write-ahead log owner-only before SQLite opens them: SQLite creates the
/// log (and a journal) with the database file's own permissions, so a database created owner-only
/// (an empty file, which SQLite takes as a new database) keeps all of them so. Files an older natter
/// made with the default umask are tightened.
fn make_private(db: &Path) -> Result<(), StoreError> {
    use crate::private_fs::{FILE_MODE, private_options, restrict};
    let err = |path: &Path, source| StoreError::Dir {
        path: path.to_owned(),
        source,
    };
    private_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(db)
        .map_err(|e| err(db, e))?;
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        restrict(&path, FILE_MODE).map_err(|e| err(&path, e))?;
    }
    Ok(())
}

/// An open, checked database and the next message id it records.
pub(crate) struct Opened {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    pub(crate) next_message_id: u64,
}

/// Opens (creating on first use) the database in a locked data directory and checks it.
pub(crate) fn open_db(dir: &Path) -> Result<Opened, StoreError> {
    let path = dir.join(DB_FILE);
    make_private(&path)?;
    let sql = |e| StoreError::sqlite(&path, e);
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open {
        path: path.clone(),
        source,
    })?;
    // One process owns the file for its whole run (the directory lock says so too); in exclusive mode
    // SQLite keeps its own lock and the write-ahead log needs no shared-memory file.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(sql)?;
    // The first statement that reads the file: a file that is not a database fails here.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Damaged {
            path,
            detail: format!("it cannot use a write-ahead log (journal mode stays {mode})"),
        });
    }
    // FULL: every commit syncs the log, so a committed transaction survives power loss, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    check_format(&conn, &path)?;
    quick_check(&conn, &path)?;
    let next_message_id = read_next_message_id(&conn, &path)?;
    Ok(Opened {
        conn,
        path,
        next_message_id,
    })
}

/// Creates the tables in an empty file; otherwise checks that the file is a natter store of this format.
fn check_format(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let sql = |e| StoreError::sqlite(path, e);
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(sql)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(sql)?;
    match (app_id, version, objects) {
        (0, 0, 0) => create(conn).map_err(sql),
        (APPLICATION_ID, v, _) if v == FORMAT_VERSION => Ok(()),
        (APPLICATION_ID, v, _) if MIGRATIONS.iter().any(|(from, _)| *from == v) => {
            migrate(conn, v).map_err(sql)
        }
        (APPLICATION_ID, v, _) if v > FORMAT_VERSION => Err(StoreError::NewerFormat {
            path: path.to_owned(),
            found: v,
            supported: FORMAT_VERSION,
        }),
        (APPLICATION_ID, v, _) => Err(StoreError::UnknownFormat {
            path: path.to_owned(),
            found: v,
            supported: FORMAT_VERSION,
        }),
        _ => Err(StoreError::NotNatter {
            path: path.to_owned(),
        }),
    }
}

/// Brings a store of an older format up to this one, one format at a time, each step in one transaction.
fn migrate(conn: &Connection, mut version: i64) -> rusqlite::Result<()> {
    for (from, statements) in MIGRATIONS {
        if *from != version {
            continue;
        }
        let to = from + 1;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             {statements}
             PRAGMA user_version = {to};
             COMMIT;"
        ))?;
        tracing::info!("store upgraded from format {from} to {to}");
        version = to;
    }
    Ok(())
}

fn create(conn: &Connection) -> rusqlite::Result<()> {
    let crc = row_crc(&[Field::Text(NEXT_MESSAGE_ID), Field::Int(1)]);
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         {CREATE}
         INSERT INTO meta (key, value, crc) VALUES ('{NEXT_MESSAGE_ID}', 1, {crc});
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {FORMAT_VERSION};
         COMMIT;"
    ))
}

/// SQLite's own check of every page's structure. It reads the whole file, which the store keeps small
/// (only current state); damage found here stops the start with SQLite's description of it.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    conn.pragma_query(None, "quick_check", |r| {
        problems.push(r.get::<_, String>(0)?);
        Ok(())
    })
    .map_err(|e| StoreError::sqlite(path, e))?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    let shown: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
    Err(StoreError::Damaged {
        path: path.to_owned(),
        detail: format!("SQLite's check found: {}", shown.join("; ")),
    })
}

fn read_next_message_id(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let (value, crc): (i64, i64) = conn
        .query_row(
            "SELECT value, crc FROM meta WHERE key = ?1",
            [NEXT_MESSAGE_ID],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::Damaged {
                path: path.to_owned(),
                detail: "the next message id is missing".into(),
            },
            e => StoreError::sqlite(path, e),
        })?;
    let damaged = || StoreError::Damaged {
        path: path.to_owned(),
        detail: "the next message id fails its checksum".into(),
    };
    let value = u64::try_from(value).map_err(|_| damaged())?;
    if row_crc(&[Field::Text(NEXT_MESSAGE_ID), Field::Int(value)]) != crc {
        return Err(damaged());
    }
    Ok(value)
}
