//! What changed in the credentials file since it was last read: the accounts a reload hands the core
//! (`Admin::Accounts`), as changes only, so that an unchanged account's password line never travels
//! (in a cluster, into the shared log).

use std::collections::BTreeMap;

use natter_core::server::Account;

/// Accounts new in the file or whose line changed, and accounts no longer in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountChanges {
    pub set: Vec<Account>,
    pub remove: Vec<String>,
}

impl AccountChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// The changes from `before` to `after` (both as the file held them), in the file's order.
pub fn diff_accounts(before: &[Account], after: &[Account]) -> AccountChanges {
    let old: BTreeMap<&str, &str> = before
        .iter()
        .map(|a| (a.username.as_str(), a.password.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = after
        .iter()
        .map(|a| (a.username.as_str(), a.password.as_str()))
        .collect();
    AccountChanges {
        set: after
            .iter()
            .filter(|a| old.get(a.username.as_str()) != Some(&a.password.as_str()))
            .cloned()
            .collect(),
        remove: before
            .iter()
            .filter(|a| !new.contains_key(a.username.as_str()))
            .map(|a| a.username.clone())
            .collect(),
    }
}
