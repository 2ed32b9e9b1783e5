//! Unit tests of the core, rule by rule, on a virtual clock.

mod abuse;
mod admin;
mod away;
mod deadlines;
mod delivery;
mod failed_jobs;
mod flood;
mod group_exceptions;
mod group_rules;
mod groups;
mod guests;
mod hostile;
mod keys;
mod login;
mod messaging;
mod operators;
mod owners;
mod presence;
mod private;
mod restore;
mod signals;

use super::Config;
use super::harness::Harness;
use crate::protocol::{ErrorReply, Name, ServerMsg};

pub(super) const ACCOUNTS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
];

pub(super) fn config() -> Config {
    Config {
        block_duration_secs: 60,
        timeout_secs: 300,
        login_timeout_secs: 30,
        private_answer_secs: 45,
        max_line: 100,
        mailbox_limit: 3,
        register: false,
        group_max_members: 4,
        idle_warning_secs: 60,
        // One sender may fill the whole (small) mailbox; the share has tests of its own.
        mailbox_share_percent: 100,
        ..Config::default()
    }
}

pub(super) fn harness() -> Harness {
    Harness::new(config(), ACCOUNTS)
}

pub(super) fn name(s: &str) -> Name {
    Name::from(s)
}

pub(super) fn err(e: ErrorReply) -> ServerMsg {
    ServerMsg::Error(e)
}

pub(super) fn online(user: &str) -> ServerMsg {
    ServerMsg::Presence {
        user: name(user),
        online: true,
    }
}

pub(super) fn offline(user: &str) -> ServerMsg {
    ServerMsg::Presence {
        user: name(user),
        online: false,
    }
}

/// `owner` (logged in) creates `group`, lets members add directly, and adds `members` (online or
/// not): a group with members at once, as `create group NAME MEMBERS...` made before it invited, for
/// the tests of what a group does once it has members. The replies stay in the inboxes.
pub(super) fn group_with(h: &mut Harness, owner: super::ConnId, group: &str, members: &[&str]) {
    h.send(owner, &format!("create group {group}"));
    h.send(owner, &format!("group set {group} add direct"));
    for m in members {
        h.send(owner, &format!("group add {group} {m}"));
    }
}

pub(super) fn names(v: &[&str]) -> Vec<Name> {
    v.iter().map(|s| name(s)).collect()
}
