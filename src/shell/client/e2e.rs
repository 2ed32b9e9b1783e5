//! The driver's side of the end-to-end state: opening a user's store when the core asks (with the
//! password they logged in with), noting saves as they come, and the group commit: sealing, writing
//! and syncing what was noted run off the driver, which goes on handling inputs meanwhile, so every
//! save made during one commit is covered by the next; the core holds the lines that depend on the
//! saves until it is answered (`natter_core::client` `commit`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::shell::e2e_store::{self, DeviceStore, Noted};
use natter_core::client::OpenHow;
use natter_core::client::e2e::{Part, Stored};
use natter_core::protocol::Name;

/// The open store, the saves noted for the next commit, and what a failed commit undid.
#[derive(Default)]
pub(super) struct E2eFiles {
    /// Shared with the commit running off the driver; the driver itself locks it only when it opens
    /// another (at login), to let a commit still running on it end first.
    store: Option<(Name, Arc<Mutex<DeviceStore>>)>,
    /// Saves noted since the last commit started, per part (see [`DeviceStore::save`]).
    noted: Noted,
    /// The core asked for a commit that is not answered yet.
    pub(super) wanted: bool,
    /// Saves were noted since the core last asked for a commit (they belong to the next one).
    written_since_ask: bool,
    /// A failed commit also undid saves that belong to the next commit: it fails too, with this.
    poisoned: Option<String>,
    /// A commit is running off the driver.
    syncing: bool,
}

/// What a store opened for the core holds, or why it could not be opened.
pub(super) type Opened = Result<Vec<(Part, Stored)>, String>;

/// One commit, to run on any thread: what was noted, sealed and written to the store, then synced.
pub(super) struct CommitJob {
    store: Arc<Mutex<DeviceStore>>,
    noted: Noted,
}

impl CommitJob {
    /// How many parts it writes.
    pub(super) fn parts(&self) -> usize {
        self.noted.len()
    }

    pub(super) fn run(self) -> Result<(), String> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.commit_noted(self.noted)
    }
}

impl E2eFiles {
    /// `OpenE2e`: reads `user`'s store under `state_dir` (none: nothing is kept, and the core gets
    /// an empty one).
    pub(super) fn open(
        &mut self,
        state_dir: Option<&PathBuf>,
        server: &str,
        user: &Name,
        password: &str,
        how: &OpenHow,
    ) -> Opened {
        if let Some((_, old)) = self.store.take() {
            // A commit still running on the store before ends first (it may be this directory).
            drop(old.lock().unwrap_or_else(|e| e.into_inner()));
        }
        self.noted = BTreeMap::new();
        let Some(dir) = state_dir else {
            return Ok(Vec::new());
        };
        let (store, stored) = e2e_store::open(dir, server, user, password, how)?;
        self.store = Some((user.clone(), Arc::new(Mutex::new(store))));
        Ok(stored)
    }

    /// `SaveE2e` / `AppendE2e`: noted, and written and made durable at the next commit.
    pub(super) fn write(&mut self, user: &Name, part: Part, bytes: Vec<u8>, append: bool) {
        let Some((owner, _)) = &self.store else {
            return;
        };
        if owner != user {
            return;
        }
        self.written_since_ask = true;
        if append {
            e2e_store::note_append(&mut self.noted, part, bytes)
        } else {
            e2e_store::note_save(&mut self.noted, part, bytes)
        }
    }

    /// `CommitE2e`: started once the inputs already waiting are handled ([`E2eFiles::start`]).
    pub(super) fn ask(&mut self) {
        self.wanted = true;
        self.written_since_ask = false;
    }

    /// Starts the commit the core asked for, unless one is running: what was noted is handed to a
    /// job that seals, writes and syncs it off the driver (the driver goes on with new inputs
    /// meanwhile, whose saves go with the next commit: that is what groups a burst under one
    /// sync). `Err` or `Ok(None)`: answered at once (an earlier failure, or nothing to write).
    pub(super) fn start(&mut self) -> Result<Option<CommitJob>, String> {
        self.wanted = false;
        if let Some(why) = self.poisoned.take() {
            // What was noted stays for the next commit: it is the newest state.
            return Err(why);
        }
        let Some((_, store)) = &self.store else {
            return Ok(None);
        };
        if self.noted.is_empty() {
            return Ok(None);
        }
        self.syncing = true;
        Ok(Some(CommitJob {
            store: store.clone(),
            noted: std::mem::take(&mut self.noted),
        }))
    }

    /// A commit ended as `result`: the answer for the core.
    pub(super) fn finish(&mut self, result: Result<(), String>) -> Result<(), String> {
        self.syncing = false;
        if result.is_err() {
            self.poison();
        }
        result
    }

    /// Whether a commit may start now (asked for, none running).
    pub(super) fn ready(&self) -> bool {
        self.wanted && !self.syncing
    }

    /// A failed commit undid everything not durable, so saves noted after it was asked for (which
    /// belong to the next commit, and may have gone with this one) are gone too: the next commit
    /// fails as well.
    fn poison(&mut self) {
        if self.written_since_ask && self.poisoned.is_none() {
            self.poisoned = Some("an earlier save failed, and this one was undone with it".into());
        }
    }
}
