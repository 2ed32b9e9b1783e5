//! The driver's side of the end-to-end state: opening a user's store when the core asks (with the
//! password they logged in with), writing saves as they come, and the group commit: one sync for
//! every save of a burst of events, answered to the core, which holds the lines that depend on the
//! saves until then (`natter_core::client` `commit`).

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
    /// A save could not be written: the next commit fails with this.
    write_failed: Option<String>,
    /// Saves were written since the core last asked for a commit (they belong to the next one).
    written_since_ask: bool,
    /// A failed commit also undid saves that belong to the next commit: it fails too, with this.
    poisoned: Option<String>,
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

    /// `SaveE2e` / `AppendE2e`: written now, durable at the next commit.
    pub(super) fn write(&mut self, user: &Name, part: &Part, bytes: &[u8], append: bool) {
        let Some((owner, store)) = &mut self.store else {
            return;
        };
        if owner != user {
            return;
        }
        self.written_since_ask = true;
        let result = if append {
            store.append(part, bytes)
        } else {
            store.save(part, bytes)
        };
        if let Err(e) = result
            && self.write_failed.is_none()
        {
            self.write_failed = Some(e);
        }
    }

    /// `CommitE2e`: done at the end of the burst of events ([`E2eFiles::commit`]).
    pub(super) fn ask(&mut self) {
        self.wanted = true;
        self.written_since_ask = false;
    }

    /// Makes every save written so far durable (one sync), or says why not.
    pub(super) fn commit(&mut self) -> Result<(), String> {
        self.wanted = false;
        if let Some(why) = self.poisoned.take() {
            return Err(why);
        }
        let Some((_, store)) = &mut self.store else {
            return Ok(());
        };
        let result = match self.write_failed.take() {
            Some(why) => {
                store.undo_to_durable();
                Err(why)
            }
            None => store.commit(),
        };
        if let Err(why) = &result
            && self.written_since_ask
        {
            self.poisoned = Some(why.clone());
        }
        result
    }
}
