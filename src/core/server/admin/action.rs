//! What the server's operator asks of the core: the administrative actions and reloads, as one more
//! kind of input ([`Event::Admin`](crate::server::Event::Admin)), and the answer each gets
//! ([`Effect::AdminAnswer`](crate::server::Effect::AdminAnswer)).
//!
//! Every one of them is a rule (who is disconnected, what is kept, what may log in afterwards), so it
//! goes through the core like a line typed by a user: a server alone feeds it to its core, a cluster
//! node appends it to the shared log, and every copy of the core carries it out at the same place. No
//! password's text is in any of them: a new password arrives as its argon2id hash (the shell hashes
//! before it feeds the core), and a reloaded credentials file's accounts as its lines (a cluster node
//! hashes the plain ones first: see docs/DESIGN.md, "No password enters the log").
//!
//! The answer is text for the operator, sent (like a user's reply) only once the batch's records are
//! durable: "banned" is said of a ban that survives a crash.

use super::bans::BanTarget;
use crate::server::config::Config;
use crate::server::credentials::Account;
use crate::time::Timestamp;

/// An administrative action (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Admin {
    /// The credentials file was read again: accounts new in it or whose password line changed
    /// (`set`), and accounts no longer in it (`remove`, whose sessions end with `BYE removed`).
    Accounts {
        /// The accounts to add or whose password to set, each as its line of the file reads.
        set: Vec<Account>,
        /// The names of the accounts to remove.
        remove: Vec<String>,
    },
    /// The rules' numbers (limits and timeouts) as the configuration now says.
    Configure(Box<Config>),
    /// Ends `user`'s session, telling them `reason` (if any) first.
    Kick {
        /// The account whose session ends.
        user: String,
        /// Told to the user in a `NOTICE` before the session ends; empty: nothing is told.
        reason: String,
    },
    /// Bans an account or an address until `until` (`None`: for good), ending what it has open.
    Ban {
        /// The account, or the address or network, to ban.
        target: BanTarget,
        /// When the ban ends; `None` for a ban without end.
        until: Option<Timestamp>,
        /// Why, for the operator's list of bans and the notice the banned user may be told.
        reason: String,
    },
    /// Lifts the ban on an account or an address; nothing else changes.
    Unban {
        /// The account, or the address or network, no longer banned.
        target: BanTarget,
    },
    /// Lifts an account's lockout (three wrong passwords).
    Unlock {
        /// The account to unlock.
        user: String,
    },
    /// A new account, with its password's hash.
    AddAccount {
        /// The new account's name.
        user: String,
        /// Its password's argon2id hash (a PHC string), never the password itself.
        password: String,
    },
    /// Removes an account and everything it had (mail waiting for it, blocks, groups, keys).
    RemoveAccount {
        /// The account to remove.
        user: String,
    },
    /// Renames an account (its session, if any, ends: everyone knew it by the old name).
    RenameAccount {
        /// The account's name now.
        from: String,
        /// The name it will have, which no account may have already.
        to: String,
    },
    /// Sets an account's password (a hash); its session goes on.
    SetPassword {
        /// The account.
        user: String,
        /// The new password's argon2id hash (a PHC string), never the password itself.
        password: String,
    },
    /// Removes a group: every member leaves it.
    RemoveGroup {
        /// The group to remove.
        group: String,
    },
    /// Takes `user` out of `group`.
    RemoveMember {
        /// The group.
        group: String,
        /// The member to take out of it.
        user: String,
    },
    /// A notice to everyone online.
    Notice {
        /// The notice, sent as it is.
        text: String,
    },
}

impl Admin {
    /// What the action is, in a word or two, for the operator's log (never a password or hash).
    pub fn describe(&self) -> String {
        match self {
            Admin::Accounts { set, remove } => format!(
                "reload the credentials file ({} account(s) added or changed, {} removed)",
                set.len(),
                remove.len()
            ),
            Admin::Configure(_) => "reload the limits and timeouts".into(),
            Admin::Kick { user, reason } => format!("kick {user} ({reason})"),
            Admin::Ban {
                target,
                until,
                reason,
            } => match until {
                Some(until) => {
                    format!("ban {target} until {} ({reason})", crate::time::utc(*until))
                }
                None => format!("ban {target} for good ({reason})"),
            },
            Admin::Unban { target } => format!("unban {target}"),
            Admin::Unlock { user } => format!("unlock {user}"),
            Admin::AddAccount { user, .. } => format!("add account {user}"),
            Admin::RemoveAccount { user } => format!("remove account {user}"),
            Admin::RenameAccount { from, to } => format!("rename account {from} to {to}"),
            Admin::SetPassword { user, .. } => format!("set the password of {user}"),
            Admin::RemoveGroup { group } => format!("remove group {group}"),
            Admin::RemoveMember { group, user } => format!("remove {user} from group {group}"),
            Admin::Notice { text } => format!("notice to everyone: {text}"),
        }
    }
}

/// What an action did, or why it did nothing: text for the operator.
pub type AdminAnswer = Result<String, String>;
