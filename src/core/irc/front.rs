//! Every IRC connection's front, by connection: what the composed server consults to know which
//! connections speak IRC and to translate their lines both ways. It also follows the IRC message
//! the core is handling (`relay.rs`): the fronts of its recipients here write it with its sender's
//! tags and command, and its sender's front learns whether the core took it, and under which id.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::relay_book::{Decor, Relaying};
use super::session::{IrcSession, Step};
use super::settings::IrcSettings;
use crate::conn::ConnId;
use crate::protocol::{ErrorReply, ServerMsg};
use crate::time::Timestamp;

/// The fronts of the IRC connections this server holds (none on a server without an IRC
/// listener). A connection is here from its arrival on the IRC listener until it is closed or gone.
#[derive(Debug, Default)]
pub struct IrcFront {
    sessions: FxHashMap<ConnId, IrcSession>,
    /// The operator's settings, shared by every connection's front.
    settings: Arc<IrcSettings>,
    /// The IRC message the core is handling now, if any.
    in_flight: Option<InFlight>,
    /// Echoes whose message the core gave no id this front saw (a group message no one online
    /// got): each gets a msgid of its own, `e1`, `e2`…
    echo_ids: u64,
}

/// The IRC message the core is handling, and what its lines said of it so far.
#[derive(Debug)]
struct InFlight {
    /// The sender's connection.
    conn: ConnId,
    /// The sender's nick (the core's lines name it as the sender).
    nick: String,
    relaying: Relaying,
    /// Its id, once a line of the core's said it.
    id: Option<u64>,
    /// When the core took it.
    sent_at: Timestamp,
    /// The core refused it.
    refused: bool,
    /// It was sent to its sender, which the core refuses and IRC delivers: the front does.
    to_self: bool,
}

impl InFlight {
    /// Whether `msg` carries this message to one of its recipients (learning its id and time).
    fn carried_by(&mut self, msg: &ServerMsg) -> bool {
        let (id, sent_at) = match msg {
            ServerMsg::Message {
                id,
                sent_at,
                from,
                text,
            }
            | ServerMsg::GroupMessage {
                id,
                sent_at,
                from,
                text,
                ..
            } if self.relaying.signal.is_none()
                && **from == *self.nick
                && *text == self.relaying.text =>
            {
                (*id, *sent_at)
            }
            ServerMsg::Signal {
                id,
                sent_at,
                from,
                tags,
            }
            | ServerMsg::GroupSignal {
                id,
                sent_at,
                from,
                tags,
                ..
            } if **from == *self.nick && self.relaying.signal.as_ref() == Some(tags) => {
                (*id, *sent_at)
            }
            _ => return false,
        };
        self.id = Some(id);
        self.sent_at = sent_at;
        true
    }
}

impl IrcFront {
    /// The fronts of a server whose operator chose `settings`.
    pub fn new(settings: IrcSettings) -> Self {
        IrcFront {
            sessions: FxHashMap::default(),
            settings: settings.shared(),
            in_flight: None,
            echo_ids: 0,
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
                let start = out.len();
                s.now = now;
                s.from_client(line, out);
                s.divert(out, start);
                true
            }
            None => false,
        }
    }

    /// A line of the core's for `conn`; `false` if `conn` does not speak IRC. `account`: whether
    /// the user the line is from ([`super::sender_of`]) is an account (for `account-tag` and
    /// `extended-join`; the composed server asks the core).
    pub fn from_core(
        &mut self,
        conn: ConnId,
        msg: &ServerMsg,
        account: bool,
        out: &mut Vec<Step>,
    ) -> bool {
        let Some(s) = self.sessions.get_mut(&conn) else {
            return false;
        };
        s.sender_account = account;
        let start = out.len();
        let mut silent = false;
        if let Some(f) = &mut self.in_flight {
            if f.carried_by(msg) {
                s.decor = Some(Decor {
                    notice: f.relaying.notice,
                    client_tags: f.relaying.client_tags.clone(),
                });
            } else if f.conn == conn {
                match msg {
                    ServerMsg::Error(ErrorReply::NotYourself { .. })
                        if f.relaying.target == f.nick =>
                    {
                        f.to_self = true;
                        silent = true;
                    }
                    ServerMsg::Error(_) => {
                        f.refused = true;
                        silent = f.relaying.notice;
                    }
                    ServerMsg::Stored { id, .. } => {
                        f.id = Some(*id);
                        silent = f.relaying.notice;
                    }
                    _ => {}
                }
            }
        }
        s.from_core(msg, out);
        s.decor = None;
        if silent {
            // No automatic reply to a NOTICE: what the session said of it is dropped (what it
            // noted, such as the post under way, stays noted).
            let tail: Vec<Step> = out.drain(start..).collect();
            out.extend(
                tail.into_iter()
                    .filter(|s| !matches!(s, Step::Say(_) | Step::SayStored { .. })),
            );
        }
        s.divert(out, start);
        true
    }

    /// A line the core sends a connection that does not speak IRC, while it handles an IRC
    /// message: it may say the message's id and time, for the echo.
    pub fn observe(&mut self, msg: &ServerMsg) {
        if let Some(f) = &mut self.in_flight {
            f.carried_by(msg);
        }
    }

    /// Whether the core is handling an IRC message now.
    pub fn relaying(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The core is about to handle `relaying`, which `conn`'s client sent, at `now`.
    pub fn begin_relay(&mut self, conn: ConnId, relaying: Relaying, now: Timestamp) {
        self.in_flight = self.sessions.get(&conn).map(|s| InFlight {
            conn,
            nick: s.target().to_owned(),
            relaying,
            id: None,
            sent_at: now,
            refused: false,
            to_self: false,
        });
    }

    /// The core handled the message [`Self::begin_relay`] announced: its sender's echo, if it
    /// asked for echoes and the core took it.
    pub fn end_relay(&mut self, out: &mut Vec<Step>) {
        let Some(f) = self.in_flight.take() else {
            return;
        };
        let msgid = match f.id {
            Some(id) => id.to_string(),
            None => {
                self.echo_ids += 1;
                format!("e{}", self.echo_ids)
            }
        };
        if let Some(s) = self.sessions.get_mut(&f.conn)
            && !f.refused
        {
            if f.to_self {
                // Delivered as to anyone (not a reply: never labeled), then echoed.
                s.deliver_to_self(&f.relaying, &msgid, f.sent_at, out);
            }
            let start = out.len();
            s.echo(&f.relaying, &msgid, f.sent_at, out);
            s.divert(out, start);
        }
    }

    /// The core was fed all that `conn`'s last line asked for: a labeled response is said.
    pub fn end_command(&mut self, conn: ConnId, out: &mut Vec<Step>) {
        if let Some(s) = self.sessions.get_mut(&conn) {
            s.end_label(out);
        }
    }

    /// The session of `conn`, for tests and views.
    pub fn session(&self, conn: ConnId) -> Option<&IrcSession> {
        self.sessions.get(&conn)
    }
}
