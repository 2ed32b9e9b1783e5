//! The end-to-end state on disk: one directory per (server, user) under the state directory's
//! `e2e/` (both names hex-encoded), holding `key.json` (the data key, wrapped under the login
//! password: [`key`]) and `journal`, an append-only file of records, each sealed with the data key.
//!
//! - **Encrypted at rest.** Every record is XChaCha20-Poly1305 under the data key (each device has its
//!   own), with a fresh random nonce, and authenticated together with its kind and its part's name,
//!   so a record cannot be moved to another part unnoticed. Nothing of a pickle, a pin or a message
//!   text is readable in the directory without the password. (The server's name is not bound in:
//!   a directory moved to a server's new address still opens.)
//! - **Group commit.** A save ([`DeviceStore::save`], [`DeviceStore::append`]) is only noted;
//!   [`DeviceStore::commit`] writes what was noted since the last one (of a part saved whole several
//!   times, the last version alone: the others would be dead on arrival) and syncs once, which is
//!   what the core waits for before sending the lines that depend on them. A burst of messages costs
//!   one write per conversation and one sync, not two syncs and a rename per message.
//! - **Append, not rewrite.** A part saved whole is a record; one appended to (the texts of a
//!   conversation) gets what was appended to it since the last commit as one record (a single
//!   piece as an appended record, several as a *batch*: one seal, one nonce, however many messages
//!   the burst had; each piece still comes back to the core as its own appended record). Reading
//!   the journal keeps, per part, its last whole record and what was appended after it. When the
//!   journal is mostly superseded records it is compacted (the live records written to a new file,
//!   synced, renamed over it). A journal written before batches existed (one record per piece) reads
//!   as it did; a natter from before them refuses a journal with a batch as damaged (fail closed),
//!   rather than misreading it.
//! - **Fail closed.** A record that does not authenticate is reported for the part it names (the
//!   core stops that conversation); one whose name cannot be read, or a key file the password does
//!   not open, makes the whole device unreadable (the core sends nothing that would be encrypted).
//!   A commit that failed is undone (the journal cut back to what was durable), so the next commit
//!   starts from a clean end; the core drops what depended on it.
//!
//! State written by a natter from before this format (one plain JSON file per part) is read once,
//! written into a new journal under a new key, and its plain files removed.

mod key;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::private_fs;
use key::{KeyError, KeyFile};
use natter_core::client::OpenHow;
use natter_core::client::e2e::store::device_dir_name;
use natter_core::client::e2e::{Part, Stored};

const KEY_FILE: &str = "key.json";
/// What the wrapped key is authenticated with: what it is, and the format's version.
const KEY_LABEL: &str = "natter-e2e-key/1";
const JOURNAL: &str = "journal";
/// A record's kind: the part's whole content, a piece appended to it, or several pieces appended
/// by one commit (a batch: each piece framed by its length, 4 bytes big-endian, then sealed as one).
const WHOLE: u8 = 0;
const APPENDED: u8 = 1;
const BATCH: u8 = 2;
/// The journal is compacted when it is at least this big and four times what is live in it.
const COMPACT_AT: u64 = 4 << 20;

/// Saves noted for a commit, per part: its whole content (the last saved) and what was appended
/// after it, in order.
pub type Noted = BTreeMap<Part, Vec<(u8, Vec<u8>)>>;

/// Notes `part`'s whole content in `noted` (it supersedes what was noted of the part before).
pub fn note_save(noted: &mut Noted, part: Part, bytes: Vec<u8>) {
    noted.insert(part, vec![(WHOLE, bytes)]);
}

/// Notes a record appended to `part` in `noted`, likewise.
pub fn note_append(noted: &mut Noted, part: Part, bytes: Vec<u8>) {
    match noted.get_mut(&part) {
        Some(records) => records.push((APPENDED, bytes)),
        None => {
            noted.insert(part, vec![(APPENDED, bytes)]);
        }
    }
}

/// One user's open end-to-end state.
pub struct DeviceStore {
    dir: PathBuf,
    cipher: XChaCha20Poly1305,
    journal: File,
    /// The journal's length: all of it written, and as much as the last commit made durable.
    len: u64,
    durable: u64,
    /// Per part, the bytes of its live records (its last whole one and what was appended after),
    /// so that compaction knows when the journal is mostly dead, and what to keep.
    live: BTreeMap<String, Vec<Vec<u8>>>,
    live_len: u64,
    /// Saves noted since the last commit.
    pending: Noted,
}

fn io_err(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

/// The directory of (`server`, `user`)'s state.
pub fn device_dir(state_dir: &Path, server: &str, user: &str) -> PathBuf {
    state_dir.join("e2e").join(device_dir_name(server, user))
}

/// Opens (`server`, `user`)'s state with `password`, as `how` says; returns it and what it holds,
/// per part in the order written, for the core. An error is for the user, and means nothing of the
/// device could be read.
pub fn open(
    state_dir: &Path,
    server: &str,
    user: &str,
    password: &str,
    how: &OpenHow,
) -> Result<(DeviceStore, Vec<(Part, Stored)>), String> {
    let dir = device_dir(state_dir, server, user);
    if *how == OpenHow::Fresh && dir.exists() {
        let aside = dir.with_file_name(format!(
            "{}.set-aside-{}",
            device_dir_name(server, user),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        ));
        std::fs::rename(&dir, &aside).map_err(|e| io_err(&dir, e))?;
    }
    private_fs::create_private_dir(&dir).map_err(|e| io_err(&dir, e))?;
    let key_path = dir.join(KEY_FILE);
    let data_key = match std::fs::read(&key_path) {
        Ok(bytes) => {
            let file: KeyFile = serde_json::from_slice(&bytes)
                .map_err(|e| KeyError::Damaged(e.to_string()).to_string())?;
            let unlock_with = match how {
                OpenHow::Rewrap { previous } => previous.as_str(),
                _ => password,
            };
            let data_key = file
                .unwrap(unlock_with, KEY_LABEL)
                .map_err(|e| e.to_string())?;
            if let OpenHow::Rewrap { .. } = how {
                write_key(&dir, &data_key, password)?;
            }
            data_key
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let data_key: [u8; 32] = key::random().map_err(|e| e.to_string())?;
            write_key(&dir, &data_key, password)?;
            data_key
        }
        Err(e) => return Err(io_err(&key_path, e)),
    };
    let path = dir.join(JOURNAL);
    let mut journal = private_fs::private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    let _ = private_fs::restrict(&path, private_fs::FILE_MODE);
    let mut bytes = Vec::new();
    journal
        .read_to_end(&mut bytes)
        .map_err(|e| io_err(&path, e))?;
    let mut store = DeviceStore {
        cipher: XChaCha20Poly1305::new(&data_key.into()),
        dir,
        journal,
        len: 0,
        durable: 0,
        live: BTreeMap::new(),
        live_len: 0,
        pending: BTreeMap::new(),
    };
    let mut stored = store.read(&bytes)?;
    if (store.len as usize) < bytes.len() {
        // A record cut short by a crash while it was being written: it was never committed, so
        // nothing was sent that depended on it.
        store
            .journal
            .set_len(store.len)
            .map_err(|e| io_err(&path, e))?;
    }
    store.durable = store.len;
    let imported = store.import_plain_files(&mut stored)?;
    if imported {
        store
            .commit()
            .map_err(|e| format!("saving what was imported: {e}"))?;
        store.remove_plain_files();
    }
    Ok((store, stored))
}

/// Locks (`server`, `user`)'s state with `password` in place of `previous` (a password change):
/// only `key.json` is written again, under a new salt; the data key, and so the journal, stay as
/// they are. Nothing stored yet: nothing to do.
pub fn rewrap(
    state_dir: &Path,
    server: &str,
    user: &str,
    previous: &str,
    password: &str,
) -> Result<(), String> {
    let dir = device_dir(state_dir, server, user);
    let key_path = dir.join(KEY_FILE);
    let bytes = match std::fs::read(&key_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(&key_path, e)),
    };
    let file: KeyFile =
        serde_json::from_slice(&bytes).map_err(|e| KeyError::Damaged(e.to_string()).to_string())?;
    let data_key = file
        .unwrap(previous, KEY_LABEL)
        .map_err(|e| e.to_string())?;
    write_key(&dir, &data_key, password)
}

/// Writes `key.json` (owner-only, synced, renamed into place).
fn write_key(dir: &Path, data_key: &[u8; 32], password: &str) -> Result<(), String> {
    let file = KeyFile::wrap(data_key, password, KEY_LABEL).map_err(|e| e.to_string())?;
    let bytes = serde_json::to_vec(&file).expect("a key file serialises");
    let path = dir.join(KEY_FILE);
    private_fs::replace_private(&path, &bytes).map_err(|e| io_err(&path, e))
}

impl DeviceStore {
    /// Reads the journal's records; sets `len` to the end of the last whole one.
    fn read(&mut self, bytes: &[u8]) -> Result<Vec<(Part, Stored)>, String> {
        let mut stored: Vec<(Part, Stored)> = Vec::new();
        let mut at = 0usize;
        while bytes.len() - at >= 4 {
            let n = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
            if bytes.len() - at - 4 < n {
                break;
            }
            let record = &bytes[at + 4..at + 4 + n];
            let (kind, name, sealed) = split(record).ok_or_else(|| {
                format!(
                    "{}: the record at byte {at} is damaged (it names no part)",
                    self.dir.join(JOURNAL).display()
                )
            })?;
            let part = Part::from_file_name(name).ok_or_else(|| {
                format!(
                    "{}: the record at byte {at} names no part of this natter ({name})",
                    self.dir.join(JOURNAL).display()
                )
            })?;
            match self.open_sealed(kind, name, sealed) {
                Some(plain) => {
                    self.keep_live(kind, name, record.to_vec());
                    match kind {
                        WHOLE => {
                            stored.retain(|(p, _)| *p != part);
                            stored.push((part, Stored::Whole(plain)));
                        }
                        BATCH => match unbatch(&plain) {
                            Some(pieces) => stored.extend(
                                pieces
                                    .into_iter()
                                    .map(|p| (part.clone(), Stored::Appended(p.to_vec()))),
                            ),
                            None => stored.push((
                                part,
                                Stored::Damaged(format!(
                                    "a record of it (at byte {at}) holds pieces that do not add up"
                                )),
                            )),
                        },
                        _ => stored.push((part, Stored::Appended(plain))),
                    }
                }
                None => stored.push((
                    part,
                    Stored::Damaged(format!(
                        "a record of it (at byte {at}) does not authenticate: damaged or tampered with"
                    )),
                )),
            }
            at += 4 + n;
        }
        self.len = at as u64;
        Ok(stored)
    }

    fn aad(&self, kind: u8, name: &str) -> Vec<u8> {
        let mut aad = b"natter-e2e-record/1\0".to_vec();
        aad.push(kind);
        aad.extend(name.as_bytes());
        aad
    }

    fn open_sealed(&self, kind: u8, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ct) = sealed.split_at_checked(24)?;
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: &self.aad(kind, name),
                },
            )
            .ok()
    }

    fn keep_live(&mut self, kind: u8, name: &str, record: Vec<u8>) {
        let records = self.live.entry(name.to_owned()).or_default();
        if kind == WHOLE {
            self.live_len -= records.iter().map(|r| r.len() as u64 + 4).sum::<u64>();
            records.clear();
        }
        self.live_len += record.len() as u64 + 4;
        records.push(record);
    }

    /// One sealed record of the part named `name`, framed.
    fn record(&self, kind: u8, name: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let nonce: [u8; 24] = key::random().map_err(|e| e.to_string())?;
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: bytes,
                    aad: &self.aad(kind, name),
                },
            )
            .map_err(|_| "could not encrypt".to_owned())?;
        let mut record = vec![kind];
        record.extend((name.len() as u16).to_be_bytes());
        record.extend(name.as_bytes());
        record.extend(nonce);
        record.extend(ct);
        Ok(record)
    }

    /// Writes `records` at the journal's end, in one write: a commit of a burst is one system call,
    /// not one per record.
    fn write(&mut self, records: Vec<(u8, String, Vec<u8>)>) -> Result<(), String> {
        let mut framed = Vec::with_capacity(records.iter().map(|r| r.2.len() + 4).sum());
        for (_, _, record) in &records {
            framed.extend((record.len() as u32).to_be_bytes());
            framed.extend(record);
        }
        let path = self.dir.join(JOURNAL);
        self.journal
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.journal.write_all(&framed))
            .map_err(|e| io_err(&path, e))?;
        self.len += framed.len() as u64;
        for (kind, name, record) in records {
            self.keep_live(kind, &name, record);
        }
        Ok(())
    }

    /// Notes `part`'s whole content, to be written and made durable at the next
    /// [`DeviceStore::commit`] (it supersedes what was noted of the part before).
    pub fn save(&mut self, part: &Part, bytes: &[u8]) {
        note_save(&mut self.pending, part.clone(), bytes.to_vec())
    }

    /// Notes a record appended to `part`, likewise.
    pub fn append(&mut self, part: &Part, bytes: &[u8]) {
        note_append(&mut self.pending, part.clone(), bytes.to_vec())
    }

    /// Writes what was `noted` elsewhere (after anything noted here) and makes it durable: a
    /// [`DeviceStore::commit`] of it, run by whoever holds the store (the client runs it off its
    /// driver).
    pub fn commit_noted(&mut self, noted: Noted) -> Result<(), String> {
        if self.pending.is_empty() {
            // Nearly always: the client notes nothing here. Taken as it is, not copied again.
            self.pending = noted;
        } else {
            for (part, records) in noted {
                for (kind, bytes) in records {
                    match kind {
                        WHOLE => note_save(&mut self.pending, part.clone(), bytes),
                        _ => note_append(&mut self.pending, part.clone(), bytes),
                    }
                }
            }
        }
        self.commit()
    }

    /// Writes what was noted since the last commit (sealed, in one write) and makes it durable: one
    /// sync. A part's pieces appended since the last commit are sealed as one record (a batch),
    /// so a burst of messages costs one seal and one random nonce per conversation, not one per
    /// message. On failure the journal is cut back to what the last commit made durable (what the
    /// core then drops was never committed), and the parts' live records are read again from what
    /// remains, so the store stays consistent.
    pub fn commit(&mut self) -> Result<(), String> {
        let pending = std::mem::take(&mut self.pending);
        let mut sealed = Vec::new();
        for (part, records) in &pending {
            let name = part.file_name();
            // What `note_save` and `note_append` leave: a whole record first, if any, then pieces.
            let appended = match records.first() {
                Some((WHOLE, bytes)) => {
                    sealed.push((WHOLE, name.clone(), self.record(WHOLE, &name, bytes)?));
                    &records[1..]
                }
                _ => &records[..],
            };
            match appended {
                [] => {}
                [(kind, bytes)] => {
                    sealed.push((*kind, name.clone(), self.record(*kind, &name, bytes)?))
                }
                pieces => {
                    let batch = batch(pieces.iter().map(|(_, b)| b.as_slice()))?;
                    sealed.push((BATCH, name.clone(), self.record(BATCH, &name, &batch)?));
                }
            }
        }
        if !sealed.is_empty()
            && let Err(e) = self.write(sealed)
        {
            self.undo();
            return Err(e);
        }
        if self.len == self.durable {
            return Ok(());
        }
        let path = self.dir.join(JOURNAL);
        if let Err(e) = self.journal.sync_data() {
            let why = io_err(&path, e);
            self.undo();
            return Err(why);
        }
        self.durable = self.len;
        if self.len >= COMPACT_AT && self.len > 4 * self.live_len {
            // Best effort: a compaction that fails leaves the journal as it was.
            if let Err(e) = self.compact() {
                tracing::warn!("could not compact {}: {e}", path.display());
            }
        }
        Ok(())
    }

    /// Cuts the journal back to what is durable, and reads the live records again from it.
    fn undo(&mut self) {
        let _ = self.journal.set_len(self.durable);
        self.len = self.durable;
        let mut bytes = Vec::new();
        if self.journal.seek(SeekFrom::Start(0)).is_ok()
            && self.journal.read_to_end(&mut bytes).is_ok()
        {
            self.live.clear();
            self.live_len = 0;
            let _ = self.read(&bytes[..(self.durable as usize).min(bytes.len())]);
        }
        self.len = self.durable;
    }

    /// Writes the live records to a new journal, syncs it and renames it over the old one.
    fn compact(&mut self) -> Result<(), String> {
        let mut bytes = Vec::with_capacity(self.live_len as usize);
        for record in self.live.values().flatten() {
            bytes.extend((record.len() as u32).to_be_bytes());
            bytes.extend(record);
        }
        let path = self.dir.join(JOURNAL);
        private_fs::replace_private(&path, &bytes).map_err(|e| io_err(&path, e))?;
        self.journal = private_fs::private_options()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        self.len = bytes.len() as u64;
        self.durable = self.len;
        Ok(())
    }

    /// Plain JSON files of the format before this one: their parts, added to `stored` (where the
    /// journal has nothing of them) and written into the journal.
    fn import_plain_files(&mut self, stored: &mut Vec<(Part, Stored)>) -> Result<bool, String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(false);
        };
        let mut any = false;
        let mut files: Vec<(Part, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let part = Part::from_file_name(e.file_name().to_str()?)?;
                Some((part, e.path()))
            })
            .collect();
        files.sort();
        for (part, path) in files {
            if stored.iter().any(|(p, _)| *p == part) {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
            self.save(&part, &bytes);
            stored.push((part, Stored::Whole(bytes)));
            any = true;
        }
        Ok(any)
    }

    fn remove_plain_files(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name()
                    .to_str()
                    .and_then(Part::from_file_name)
                    .is_some()
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Several appended pieces as one batch's plaintext: each framed by its length.
fn batch<'a>(pieces: impl Iterator<Item = &'a [u8]> + Clone) -> Result<Vec<u8>, String> {
    let size = pieces.clone().map(|p| p.len().saturating_add(4)).sum();
    let mut out = Vec::with_capacity(size);
    for piece in pieces {
        let len = u32::try_from(piece.len())
            .map_err(|_| "a record of more than 4 GiB cannot be written".to_owned())?;
        out.extend(len.to_be_bytes());
        out.extend(piece);
    }
    Ok(out)
}

/// A batch's pieces, or `None` if its framing does not add up (it authenticated, so it would be a
/// natter that wrote it wrongly).
fn unbatch(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut pieces = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_at_checked(4)?;
        let len = usize::try_from(u32::from_be_bytes(len.try_into().ok()?)).ok()?;
        let (piece, rest) = rest.split_at_checked(len)?;
        pieces.push(piece);
        bytes = rest;
    }
    Some(pieces)
}

/// A record's kind, its part's name and what is sealed.
fn split(record: &[u8]) -> Option<(u8, &str, &[u8])> {
    let (&kind, rest) = record.split_first()?;
    if kind != WHOLE && kind != APPENDED && kind != BATCH {
        return None;
    }
    let (len, rest) = rest.split_at_checked(2)?;
    let len = usize::from(u16::from_be_bytes(len.try_into().ok()?));
    let (name, sealed) = rest.split_at_checked(len)?;
    Some((kind, std::str::from_utf8(name).ok()?, sealed))
}

#[cfg(test)]
mod tests;
