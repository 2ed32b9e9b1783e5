//! The simulated users of a cluster: one client each, logging in at some node (now and then with a
//! wrong password, a few times in a row at different nodes), sending numbered messages with receipts
//! on, blocking and unblocking each other, making, joining and leaving groups and writing to them,
//! acknowledging what they are shown (live and stored, as the natter client does after saying `acks
//! on`), and keeping what they were told and what they were shown, for the invariants.
//!
//! Each client checks what it alone can see, whatever the model says: once shown `BLOCKED x` (and
//! not typed `unblock x` since) it is never shown a message from `x` nor `x`'s presence; once shown that
//! it left a group (and not that it was added again) it is shown no new message of that group in that
//! session.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use natter_core::protocol::ServerMsg;
use natter_core::server::ConnId;

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
    /// Its sender and recipient.
    pub from: usize,
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
    /// Commands sent and not yet answered, oldest first (the core answers one connection's commands
    /// in order).
    pub pending: VecDeque<Pending>,
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
    /// Users it was shown it blocked (and has not typed `unblock` for since).
    pub blocked: BTreeSet<String>,
    /// Users it typed `block` for and was not shown it unblocked since.
    pub perhaps_blocked: BTreeSet<String>,
    /// Users it typed `unblock` for in this session and has not had the answer yet: an answer to an
    /// earlier `block` of theirs, coming meanwhile, does not make them blocked again (the unblock
    /// typed after it may well happen; answers come in the order typed).
    pub unblocking: BTreeSet<String>,
    /// Groups it was shown it left in this session (and not since that it was added again: a user
    /// added while offline is not told, so a new session forgets them).
    pub left: BTreeSet<String>,
    /// Logins still to try with a wrong password, each at another node.
    pub fumbles: u32,
    /// The node it last connected to.
    pub last_node: Option<u64>,
    /// The node whose answer said the account was locked, last.
    pub locked_at: Option<u64>,
    /// A rule its client saw broken, once one was.
    pub broken: Option<String>,
}

/// A command waiting for its answer.
#[derive(Clone, Debug)]
pub enum Pending {
    /// `message`: its recipient and text.
    Message(usize, String),
    /// Any other command with an answer (`block`, `unblock`, the group commands).
    Other,
    /// A command answered by this many lines: `create group` (its `GROUP-CREATED`, then one
    /// `GROUP-INVITED` per member named), or by one error.
    Answers(usize),
    /// `group join`, which the client sends by itself on an invitation.
    Join,
}

impl User {
    /// One answer line arrived: it answers the oldest command pending, which is done once it has all
    /// its lines.
    fn answered(&mut self) {
        match self.pending.front_mut() {
            Some(Pending::Answers(k)) if *k > 1 => *k -= 1,
            Some(_) => {
                self.pending.pop_front();
            }
            None => {}
        }
    }
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
        // What it typed in this session all enters the log before any line of its next session (one
        // session per user), so nothing of it is pending then.
        self.unblocking.clear();
    }
}

/// What a client does with a line it was sent; lines it sends back (an `ack`), and an answer to one
/// of its messages.
pub enum Reaction {
    Nothing,
    /// Lines the client sends by itself (`acks on` and `receipts on` after the welcome).
    Say(&'static [&'static str]),
    Ack(u64),
    /// An answer to the oldest message pending: its recipient and text, what the sender was told,
    /// and the recipient the answer names.
    Answered(usize, String, Option<Told>, Option<String>),
    /// An invitation to this group: the client accepts it (`group join`).
    Join(String),
    Gone,
    LoginFailed,
}

/// How `user`'s client takes `msg`.
pub fn receive(user: &mut User, msg: &ServerMsg) -> Reaction {
    if user.last.len() == 16 {
        user.last.pop_front();
    }
    user.last.push_back(format!("{msg:?}"));
    watch_rules(user, msg);
    match msg {
        ServerMsg::Welcome { .. } => {
            // Added to a group while offline is told to nobody: what it left then is not known.
            user.left.clear();
            if let Some(s) = &mut user.session {
                s.welcomed = true;
                user.logins += 1;
            }
            // `acks on` first, as natter's client does: a session whose first command is another
            // does not acknowledge, and what it is written counts as delivered once written (lost
            // if its node dies before the client reads it).
            Reaction::Say(&["acks on", "receipts on"])
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
            Some(Pending::Message(r, text)) => {
                user.queued.insert(*id, (r, text.clone()));
                Reaction::Answered(r, text, None, Some(to.to_string()))
            }
            _ => Reaction::Nothing,
        },
        // The answers to the other commands (`group add` invites: `GROUP-INVITED`).
        ServerMsg::Blocked { .. }
        | ServerMsg::Unblocked { .. }
        | ServerMsg::GroupCreated { .. }
        | ServerMsg::GroupInvited { .. }
        | ServerMsg::GroupSent { .. } => {
            user.answered();
            Reaction::Nothing
        }
        ServerMsg::GroupLeft { user: who, .. } if **who == *user.name => {
            user.answered();
            Reaction::Nothing
        }
        // Its own acceptance of an invitation.
        ServerMsg::GroupJoined { user: who, .. } if **who == *user.name => {
            user.answered();
            Reaction::Nothing
        }
        ServerMsg::GroupInvitation { group, .. } => Reaction::Join(group.to_string()),
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
                Some(Pending::Message(to, text)) => Reaction::Answered(to, text, told, named),
                _ => Reaction::Nothing,
            }
        }
        ServerMsg::Bye(_) => Reaction::Gone,
        _ => Reaction::Nothing,
    }
}

/// What `user`'s client alone can tell of the rules from `msg`, noted, and a breach kept.
fn watch_rules(user: &mut User, msg: &ServerMsg) {
    let breach = match msg {
        ServerMsg::Blocked { user: b }
        | ServerMsg::Error(natter_core::protocol::ErrorReply::AlreadyBlocked { user: b }) => {
            if !user.unblocking.contains(&**b) {
                user.blocked.insert(b.to_string());
            }
            user.perhaps_blocked.insert(b.to_string());
            None
        }
        ServerMsg::Unblocked { user: b }
        | ServerMsg::Error(natter_core::protocol::ErrorReply::NotBlocked { user: b }) => {
            user.blocked.remove(&**b);
            user.perhaps_blocked.remove(&**b);
            user.unblocking.remove(&**b);
            None
        }
        ServerMsg::GroupLeft {
            group, user: who, ..
        } if **who == *user.name => {
            user.left.insert(group.to_string());
            None
        }
        ServerMsg::GroupJoined {
            group, user: who, ..
        } if **who == *user.name => {
            user.left.remove(&**group);
            None
        }
        ServerMsg::GroupCreated { group, members } if members.iter().any(|m| **m == *user.name) => {
            user.left.remove(&**group);
            None
        }
        ServerMsg::Presence { user: from, .. } if user.blocked.contains(&**from) => Some(format!(
            "{} was shown the presence of {from}, whom it blocked",
            user.name
        )),
        ServerMsg::Message { id, from, .. }
        | ServerMsg::GroupMessage { id, from, .. }
        | ServerMsg::OfflineMessage { id, from, .. }
            if user.blocked.contains(&**from) && !user.shown_ids.contains(id) =>
        {
            Some(format!(
                "{} was shown message {id} from {from}, whom it blocked",
                user.name
            ))
        }
        ServerMsg::GroupMessage { id, group, .. }
        | ServerMsg::OfflineMessage {
            id,
            group: Some(group),
            ..
        } if user.left.contains(&**group) && !user.shown_ids.contains(id) => Some(format!(
            "{} was shown message {id} of group {group}, which it had left",
            user.name
        )),
        _ => None,
    };
    if let Some(b) = breach {
        user.broken.get_or_insert(b);
    }
}
