//! The driver's side of the end-to-end state: opening a user's store when the core asks (with the
//! password they logged in with), noting saves as they come, and the group commit: the sync runs off
//! the driver, which goes on handling inputs meanwhile, so every save made during one sync is
//! covered by the next; the core holds the lines that depend on the saves until it is answered
//! (`natter_core::client` `commit`).

use std::path::PathBuf;

use crate::shell::e2e_store::{self, DeviceStore};
use natter_core::client::OpenHow;
use natter_core::client::e2e::{Part, Stored};
use natter_core::protocol::Name;

/// The open store, the commit asked for, and what a failed commit undid.
#[derive(Default)]
pub(super) struct E2eFiles {
    store: Option<(Name, DeviceStore)>,
    /// The core asked for a commit that is not answered yet.
    pub(super) wanted: bool,
    /// Saves were written since the core last asked for a commit (they belong to the next one).
    written_since_ask: bool,
    /// A failed commit also undid saves that belong to the next commit: it fails too, with this.
    poisoned: Option<String>,
    /// A commit's sync is running off the driver.
    syncing: bool,
}

/// What a store opened for the core holds, or why it could not be opened.
pub(super) type Opened = Result<Vec<(Part, Stored)>, String>;

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
        self.store = None;
        let Some(dir) = state_dir else {
            return Ok(Vec::new());
        };
        let (store, stored) = e2e_store::open(dir, server, user, password, how)?;
        self.store = Some((user.clone(), store));
        Ok(stored)
    }

    /// `SaveE2e` / `AppendE2e`: written and made durable at the next commit.
    pub(super) fn write(&mut self, user: &Name, part: &Part, bytes: &[u8], append: bool) {
        let Some((owner, store)) = &mut self.store else {
            return;
        };
        if owner != user {
            return;
        }
        self.written_since_ask = true;
        if append {
            store.append(part, bytes)
        } else {
            store.save(part, bytes)
        }
    }

    /// `CommitE2e`: started once the inputs already waiting are handled ([`E2eFiles::start`]).
    pub(super) fn ask(&mut self) {
        self.wanted = true;
        self.written_since_ask = false;
    }

    /// Starts the commit the core asked for, unless one is syncing: what was noted is written, and
    /// the sync handed back to run off the driver (the driver goes on with new inputs meanwhile,
    /// whose saves go with the next commit: that is what groups a burst under one sync). `Err`
    /// or `Ok(None)`: answered at once (a write failed, or there is nothing to sync).
    pub(super) fn start(&mut self) -> Result<Option<e2e_store::Sync>, String> {
        self.wanted = false;
        if let Some(why) = self.poisoned.take() {
            return Err(why);
        }
        let Some((_, store)) = &mut self.store else {
            return Ok(None);
        };
        let result = store.prepare_commit();
        if result.is_err() {
            self.poison();
        }
        if let Ok(Some(_)) = &result {
            self.syncing = true;
        }
        result
    }

    /// The sync of a commit ended: the store learns how, and the answer for the core.
    pub(super) fn finish(&mut self, upto: u64, result: std::io::Result<()>) -> Result<(), String> {
        self.syncing = false;
        let Some((_, store)) = &mut self.store else {
            return Ok(());
        };
        let result = store.finish_commit(upto, result);
        if result.is_err() {
            self.poison();
        }
        result
    }

    /// Whether a commit may start now (asked for, none syncing).
    pub(super) fn ready(&self) -> bool {
        self.wanted && !self.syncing
    }

    /// A failed commit undid everything not durable, so saves noted after it was asked for (which
    /// belong to the next commit) are gone too: the next commit fails as well.
    fn poison(&mut self) {
        if self.written_since_ask && self.poisoned.is_none() {
            self.poisoned = Some("an earlier save failed, and this one was undone with it".into());
        }
    }
}
