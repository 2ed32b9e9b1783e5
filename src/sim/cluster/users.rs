//! The simulated users of a cluster: one client each, logging in at some node, sending numbered
//! messages with receipts on, acknowledging what they are shown (live and stored, as the natter client
//! does after saying `acks on`), and keeping what they were told and what they were shown, for the
//! invariants.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::protocol::ServerMsg;
use crate::server::ConnId;

/// What a sender was told of one of its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Told {
    /// `DELIVERED`: the recipient's client has it (it acknowledged it).
    Delivered,
    /// `STORED`: kept for the recipient's next login.
    Stored,
}

/// A message a sender was told about.
#[derive(Clone, Debug)]
pub struct Acked {
    pub text: String,
    pub to: usize,
    pub told: Told,
}

/// A client's connection.
#[derive(Clone, Copy, Debug)]
pub struct Session {
    pub node: u64,
    pub conn: ConnId,
    pub welcomed: bool,
}

/// One user and its client.
#[derive(Debug, Default)]
pub struct User {
    pub name: String,
    pub password: String,
    pub session: Option<Session>,
    /// Logins so far (the current session's number).
    pub logins: u64,
    /// Connections that ended without the user asking (their node died, was cut off, or left
    /// behind).
    pub disrupted: BTreeSet<ConnId>,
    /// Messages sent and not yet answered, oldest first: their recipient and text.
    pub pending: VecDeque<(usize, String)>,
    /// Messages answered `SENT <id>` (queued for an online recipient), whose `DELIVERED` or `STORED`
    /// comes later under that id.
    pub queued: BTreeMap<u64, (usize, String)>,
    /// What each shown message's text was shown as, and how often.
    pub shown: BTreeMap<String, u32>,
    /// Messages already shown, live or stored (a redelivery of one, stored after a session ended
    /// before its acknowledgement arrived, is recognised by its id, as the client does).
    pub shown_ids: BTreeSet<u64>,
    /// The last lines its client was sent, for a failure's report.
    pub last: VecDeque<String>,
}

impl User {
    pub fn new(i: usize) -> Self {
        User {
            name: format!("u{i}"),
            password: format!("p{i}"),
            ..User::default()
        }
    }

    /// The connection ended: by the user (`asked`), or not.
    pub fn ended(&mut self, asked: bool) {
        if let Some(s) = self.session.take()
            && !asked
        {
            self.disrupted.insert(s.conn);
        }
        self.pending.clear();
        self.queued.clear();
    }
}

/// What a client does with a line it was sent; lines it sends back (an `ack`), and an answer to one
/// of its messages.
pub enum Reaction {
    Nothing,
    /// A line the client sends by itself (`acks on` after the welcome).
    Say(&'static str),
    Ack(u64),
    /// An answer to the oldest message pending: its recipient and text, what the sender was told,
    /// and the recipient the answer names.
    Answered(usize, String, Option<Told>, Option<String>),
    Gone,
    LoginFailed,
}

/// How `user`'s client takes `msg`.
pub fn receive(user: &mut User, msg: &ServerMsg) -> Reaction {
    if user.last.len() == 16 {
        user.last.pop_front();
    }
    user.last.push_back(format!("{msg:?}"));
    match msg {
        ServerMsg::Welcome { .. } => {
            if let Some(s) = &mut user.session {
                s.welcomed = true;
                user.logins += 1;
            }
            Reaction::Say("acks on")
        }
        ServerMsg::Message { id, text, .. }
        | ServerMsg::GroupMessage { id, text, .. }
        | ServerMsg::OfflineMessage { id, text, .. } => {
            if user.shown_ids.insert(*id) {
                *user.shown.entry(text.clone()).or_default() += 1;
            }
            Reaction::Ack(*id)
        }
        // Queued for its online recipient: its fate comes later, under this id.
        ServerMsg::Sent { id, to } => match user.pending.pop_front() {
            Some((r, text)) => {
                user.queued.insert(*id, (r, text.clone()));
                Reaction::Answered(r, text, None, Some(to.to_string()))
            }
            None => Reaction::Nothing,
        },
        // A login refused (already online elsewhere: a session its dead node still holds until the
        // cluster ends it; locked): the client hangs up and tries again later.
        ServerMsg::Error(_) if user.session.is_some_and(|s| !s.welcomed) => Reaction::LoginFailed,
        ServerMsg::Delivered { .. } | ServerMsg::Stored { .. } | ServerMsg::Error(_) => {
            let told = match msg {
                ServerMsg::Delivered { .. } => Some(Told::Delivered),
                ServerMsg::Stored { .. } => Some(Told::Stored),
                _ => None,
            };
            let named = match msg {
                ServerMsg::Delivered { to, .. } | ServerMsg::Stored { to, .. } => {
                    Some(to.to_string())
                }
                _ => None,
            };
            let later = match msg {
                ServerMsg::Delivered { id, .. } | ServerMsg::Stored { id, .. } => {
                    user.queued.remove(id)
                }
                _ => None,
            };
            if let Some((to, text)) = later {
                return Reaction::Answered(to, text, told, named);
            }
            match user.pending.pop_front() {
                Some((to, text)) => Reaction::Answered(to, text, told, named),
                None => Reaction::Nothing,
            }
        }
        ServerMsg::Bye(_) => Reaction::Gone,
        _ => Reaction::Nothing,
    }
}
