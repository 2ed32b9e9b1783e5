//! What an IRC connection's front keeps about other users' presence: the nicks it MONITORs, what it
//! asked the core about them and has not heard back, and who it knows to be away (for away-notify
//! and for the `AWAY` said when an away user joins a channel). The commands that read and write it
//! live in `monitor.rs` and `away.rs`; the rules (who sees whose presence) stay in the core, which
//! sends this connection only what its user may see.

use std::collections::{BTreeMap, VecDeque};

/// How many nicks one connection may monitor (advertised as `MONITOR=100`).
pub(super) const MONITOR_LIMIT: usize = 100;

/// A connection's view of others' presence (what for: the module's doc).
#[derive(Debug, Default)]
pub(super) struct Watch {
    /// The nicks monitored, by their ASCII-lowercased form (IRC's `CASEMAPPING=ascii`), each as the
    /// client spelt it.
    pub(super) monitored: BTreeMap<String, String>,
    /// `whoelse` lines fed to the core and not answered yet, in order: what each answer is for.
    pub(super) queries: VecDeque<Query>,
    /// `NICK` changes fed to the core and not answered yet, in order.
    pub(super) renaming: VecDeque<String>,
    /// Who is away and why, as far as the core told this connection, by name; and whether the
    /// client was told so with an `AWAY` line (it had `away-notify` then).
    pub(super) away: BTreeMap<String, (String, bool)>,
}

/// What a `whoelse` this front fed is for: the nicks to answer about, and how.
#[derive(Debug)]
pub(super) enum Query {
    /// `MONITOR +` or `MONITOR S`: `730` or `731` for each.
    Monitor(Vec<String>),
    /// `USERHOST`: one `302` line.
    Userhost(Vec<String>),
}

/// The key a nick is monitored under: IRC's ASCII case mapping.
pub(super) fn fold(nick: &str) -> String {
    nick.to_ascii_lowercase()
}
