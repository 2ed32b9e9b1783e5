//! What an IRC connection's front keeps about the queries it asked the core (`WHO`, `WHOIS`,
//! `WHOWAS`, `LUSERS`): the data the query commands (`queries.rs`) read and write, apart from them
//! so that the session can hold it without the session and the commands importing each other.
//!
//! The core answers a connection's lines in order, so the queries asked are answered in the order
//! asked: the oldest one not answered is the one the core's next query line is for.

use std::collections::VecDeque;

use crate::protocol::Name;
use crate::time::Timestamp;

/// The queries under way for one connection, and what `USER` said.
#[derive(Debug, Default)]
pub(super) struct Queries {
    /// Asked and not answered yet, oldest first.
    pub(super) asked: VecDeque<Ask>,
    /// The user name and real name `USER` gave (told to the core with `userinfo` at the welcome).
    pub(super) user: Option<(String, String)>,
}

/// One query asked of the core.
#[derive(Debug)]
pub(super) enum Ask {
    /// `WHO mask` (`who`); the rows come before its end, which ends it.
    Who {
        /// The mask as the client typed it (`315` repeats it).
        mask: String,
        /// WHOX: the fields asked for (`%tcuihsnfdlaor`) and the token, if any.
        whox: Option<(String, String)>,
        /// The rows the core sent so far.
        rows: Vec<Row>,
    },
    /// `WHOIS nick` (`whois`, unless it is the client's own nick, then `who`).
    Whois(Box<Whois>),
    /// `WHOWAS nick` (`whowas`).
    Whowas {
        /// The nick as typed.
        nick: String,
        /// Whether any entry came.
        any: bool,
    },
    /// `LUSERS` (`lusers`); at the welcome, the message of the day follows its answer.
    Lusers {
        /// It is the welcome's.
        welcome: bool,
    },
}

/// A `WHOIS` under way: the core's `whois` answer (presence, shared groups, away), then its `who`
/// answer (user name, real name, account), put together at the end.
#[derive(Debug, Default)]
pub(super) struct Whois {
    /// The nick asked about.
    pub(super) nick: String,
    /// The core's `whois` answer came (or was not asked for: the client's own nick, as natter's
    /// `whois` is for others).
    pub(super) answered: bool,
    /// Why the core refused (no such user, blocked): `401`'s text.
    pub(super) refused: Option<String>,
    /// Seen offline, last when.
    pub(super) offline: Option<Option<Timestamp>>,
    /// The groups both are in.
    pub(super) groups: Vec<Name>,
    /// Why away.
    pub(super) away: Option<String>,
    /// The `who` row.
    pub(super) row: Option<Row>,
}

/// A user as `WHO-USER` describes them.
#[derive(Clone, Debug)]
pub(super) struct Row {
    pub(super) user: Name,
    pub(super) online: bool,
    pub(super) away: bool,
    pub(super) account: bool,
    pub(super) owner: bool,
    pub(super) operator: bool,
    pub(super) bot: bool,
    pub(super) idle_secs: u64,
    pub(super) since: Option<Timestamp>,
    pub(super) username: String,
    pub(super) realname: String,
}
