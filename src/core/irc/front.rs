//! Every IRC connection's front, by connection: what the composed server consults to know which
//! connections speak IRC and to translate their lines both ways.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::session::{IrcSession, Step};
use super::settings::IrcSettings;
use crate::protocol::ServerMsg;
use crate::server::ConnId;
use crate::time::Timestamp;

/// The fronts of the IRC connections this server holds (none on a server without an IRC
/// listener). A connection is here from its arrival on the IRC listener until it is closed or gone.
#[derive(Debug, Default)]
pub struct IrcFront {
    sessions: FxHashMap<ConnId, IrcSession>,
    /// The operator's settings, shared by every connection's front.
    settings: Arc<IrcSettings>,
}

impl IrcFront {
    /// The fronts of a server whose operator chose `settings`.
    pub fn new(settings: IrcSettings) -> Self {
        IrcFront {
            sessions: FxHashMap::default(),
            settings: settings.shared(),
        }
    }

    /// `conn` arrived on the IRC listener.
    pub fn open(&mut self, conn: ConnId) {
        self.sessions
            .insert(conn, IrcSession::with_settings(self.settings.clone()));
    }

    /// Whether `conn` speaks IRC.
    pub fn speaks_irc(&self, conn: ConnId) -> bool {
        self.sessions.contains_key(&conn)
    }

    /// Whether no connection speaks IRC (the common case, checked first on every line).
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// `conn` is closed or gone: its front is forgotten.
    pub fn forget(&mut self, conn: ConnId) {
        self.sessions.remove(&conn);
    }

    /// A line from `conn`'s client, read at `now`; `false` if `conn` does not speak IRC.
    pub fn from_client(
        &mut self,
        conn: ConnId,
        line: &[u8],
        now: Timestamp,
        out: &mut Vec<Step>,
    ) -> bool {
        match self.sessions.get_mut(&conn) {
            Some(s) => {
                s.now = now;
                s.from_client(line, out);
                true
            }
            None => false,
        }
    }

    /// A line of the core's for `conn`; `false` if `conn` does not speak IRC.
    pub fn from_core(&mut self, conn: ConnId, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match self.sessions.get_mut(&conn) {
            Some(s) => {
                s.from_core(msg, out);
                true
            }
            None => false,
        }
    }

    /// The session of `conn`, for tests and views.
    pub fn session(&self, conn: ConnId) -> Option<&IrcSession> {
        self.sessions.get(&conn)
    }
}
