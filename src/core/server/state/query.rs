//! Read-only views of the state, for tests, the simulator and the shells' logging. None of them change
//! anything, and none are needed to run the protocol.

use super::ServerState;
use crate::server::admin::{Ban, BanTarget};
use crate::server::event::ConnId;
use crate::server::views::{
    DurableUser, DurableView, GroupView, InvitationView, KeysView, StoredView,
};
use crate::time::Timestamp;

/// A session as the operator's list of who is online shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineView {
    /// The account's name.
    pub user: String,
    /// The session's connection.
    pub conn: ConnId,
    /// The client's address and port.
    pub peer: std::net::SocketAddr,
    /// Seconds since the user's last command that counted as activity.
    pub idle_secs: u64,
    /// Seconds since the connection opened.
    pub connected_secs: u64,
}

impl ServerState {
    /// Who is online, sorted by name, with their address, idle time and connection age at `now`.
    pub fn online_view(&self, now: Timestamp) -> Vec<OnlineView> {
        let mut v: Vec<OnlineView> = self
            .sessions
            .online()
            .filter_map(|(id, conn)| {
                let c = self.sessions.conn(conn)?;
                let s = self.sessions.session(conn)?;
                Some(OnlineView {
                    user: self.name(id).to_string(),
                    conn,
                    peer: c.peer(),
                    idle_secs: now.millis_since(s.last_active()) / 1000,
                    connected_secs: now.millis_since(c.opened_at()) / 1000,
                })
            })
            .collect();
        v.sort_by(|a, b| a.user.cmp(&b.user));
        v
    }

    /// How many users are online.
    pub fn online_count(&self) -> usize {
        self.sessions.online().count()
    }

    /// Messages waiting in every mailbox together, and in the fullest one.
    pub fn mailbox_totals(&self) -> (usize, usize) {
        self.accounts
            .ids()
            .map(|id| self.mailboxes.len(id))
            .fold((0, 0), |(sum, max), n| (sum + n, max.max(n)))
    }

    /// The bans that hold at `now`, accounts first.
    pub fn bans_view(&self, now: Timestamp) -> Vec<(BanTarget, Ban)> {
        self.bans
            .all()
            .filter(|(_, b)| b.holds(now))
            .map(|(t, b)| (t, b.clone()))
            .collect()
    }

    /// The account's password as the core holds it (the credentials file's line: a hash or plain),
    /// for a reload to tell which accounts changed.
    pub fn password_of(&self, name: &str) -> Option<&str> {
        Some(self.accounts.password(self.find_user(name)?))
    }

    /// Every account name, in creation order.
    pub fn usernames(&self) -> impl Iterator<Item = &str> {
        self.accounts.ids().map(|id| &**self.name(id))
    }

    /// Whether an account has this name.
    pub fn has_user(&self, name: &str) -> bool {
        self.find_user(name).is_some()
    }

    /// Names of the users online now, sorted.
    pub fn online_users(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .sessions
            .online()
            .map(|(id, _)| &**self.name(id))
            .collect();
        v.sort_unstable();
        v
    }

    /// The connection of `name`'s live session.
    pub fn session_of(&self, name: &str) -> Option<ConnId> {
        self.find_user(name)
            .and_then(|id| self.sessions.session_of(id))
    }

    /// The user logged in on `conn`, if it is past login.
    pub fn user_on(&self, conn: ConnId) -> Option<&str> {
        let s = self.sessions.session(conn)?;
        Some(self.name(s.user()))
    }

    /// Whether `conn` is a connection the core knows (open, in any phase).
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.sessions.conn(conn).is_some()
    }

    /// Every open connection, logged in or not.
    pub fn open_conns(&self) -> Vec<ConnId> {
        self.sessions.all_conns()
    }

    /// How many connections are open, logged in or not.
    pub fn connection_count(&self) -> usize {
        self.sessions.conn_count()
    }

    /// Whether `name` is an account's (not a guest's, nor no one's): what IRC's `account-tag` and
    /// `extended-join` say of a user.
    pub fn is_account(&self, name: &str) -> bool {
        self.find_user(name)
            .is_some_and(|id| !self.accounts.is_guest(id))
    }

    /// Whether `who` has blocked `whom` (false if either is unknown).
    pub fn has_blocked(&self, who: &str, whom: &str) -> bool {
        match (self.find_user(who), self.find_user(whom)) {
            (Some(a), Some(b)) => self.blocks.blocks(a, b),
            _ => false,
        }
    }

    /// When `name`'s lockout ends, if it is locked at `now`.
    pub fn locked_until(&self, name: &str, now: Timestamp) -> Option<Timestamp> {
        self.accounts.locked_until(self.find_user(name)?, now)
    }

    /// `name`'s stored messages, oldest first.
    pub fn stored_messages(&self, name: &str) -> Vec<StoredView> {
        let Some(id) = self.find_user(name) else {
            return Vec::new();
        };
        self.mailboxes
            .stored(id)
            .map(|m| StoredView {
                id: m.id,
                from: m.from.to_string(),
                group: m.group.as_ref().map(|g| g.to_string()),
                sent_at: m.sent_at,
                text: m.text.to_string(),
            })
            .collect()
    }

    /// The durable state (see [`DurableView`]).
    pub fn durable_view(&self) -> DurableView {
        let mut users: Vec<DurableUser> = self
            .accounts
            .ids()
            .map(|id| {
                let name = self.name(id);
                let mut blocks: Vec<String> = self
                    .blocks
                    .blocked_by(id)
                    .map(|b| self.name(b).to_string())
                    .collect();
                blocks.sort();
                DurableUser {
                    name: name.to_string(),
                    password: self.accounts.password(id).to_owned(),
                    blocks,
                    mailbox: self.stored_messages(name),
                    locked_until: self.accounts.lockout(id),
                    last_logout: self.history.last_logout(id),
                    keys: self.keys_view(id),
                }
            })
            .collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        let mut invitations: Vec<InvitationView> = self
            .accounts
            .ids()
            .flat_map(|id| {
                self.groups
                    .invitations_of(id)
                    .map(move |(g, i)| InvitationView {
                        group: g.to_string(),
                        user: self.name(id).to_string(),
                        by: self.name(i.by).to_string(),
                        at: i.at,
                    })
            })
            .collect();
        invitations.sort();
        DurableView {
            group_settings: self
                .groups
                .groups()
                .map(|(g, d)| GroupView {
                    name: g.to_string(),
                    owner: self.name(d.owner()).to_string(),
                    open: d.open,
                    add_direct: d.add_direct,
                    topic_by_members: d.topic_by_members,
                    topic: d.topic.as_ref().map(|(t, by)| (t.clone(), by.to_string())),
                    rules: self.rules_words(&d.rules),
                })
                .collect(),
            invitations,
            users,
            next_message_id: self.mailboxes.durable_next_id(),
            groups: self
                .groups
                .all()
                .map(|(g, members)| {
                    let mut names: Vec<String> =
                        members.iter().map(|&m| self.name(m).to_string()).collect();
                    names.sort();
                    (g.to_string(), names)
                })
                .collect(),
        }
    }

    /// The keys `id`'s client published, if it published an identity.
    fn keys_view(&self, id: crate::server::event::UserId) -> Option<KeysView> {
        let (curve25519, ed25519) = self.keys.identity(id)?;
        let (one_time, fallback) = self.keys.keys_of(id);
        Some(KeysView {
            curve25519: curve25519.to_owned(),
            ed25519: ed25519.to_owned(),
            one_time: one_time.iter().map(|k| k.to_string()).collect(),
            fallback: fallback.map(|k| k.to_string()),
        })
    }

    /// `name`'s published keys (see [`KeysView`]).
    pub fn published_keys(&self, name: &str) -> Option<KeysView> {
        self.keys_view(self.find_user(name)?)
    }

    /// When `name`'s last session ended, if one did.
    pub fn last_logout(&self, name: &str) -> Option<Timestamp> {
        self.history.last_logout(self.find_user(name)?)
    }

    /// Whether the server brokered a private chat between `a` and `b` that neither has stopped.
    pub fn in_private_session(&self, a: &str, b: &str) -> bool {
        match (self.find_user(a), self.find_user(b)) {
            (Some(a), Some(b)) => self.brokerage.has_chat(a, b),
            _ => false,
        }
    }
}

impl ServerState {
    /// A group's rules as the words of `group rules`, in a fixed order (the durable view's).
    fn rules_words(&self, r: &crate::server::groups::book::Rules) -> String {
        use crate::protocol::GroupChange;
        let mut v = Vec::new();
        if let Some(k) = &r.key {
            v.push(GroupChange::Key(Some(k.clone())));
        }
        if let Some(l) = r.limit {
            v.push(GroupChange::Limit(Some(l)));
        }
        if r.moderated {
            v.push(GroupChange::Moderated(true));
        }
        if r.external {
            v.push(GroupChange::External(true));
        }
        v.extend(
            r.operators
                .iter()
                .map(|&id| GroupChange::Op(self.name(id).clone(), true)),
        );
        v.extend(
            r.voiced
                .iter()
                .map(|&id| GroupChange::Voice(self.name(id).clone(), true)),
        );
        v.extend(r.bans.iter().map(|m| GroupChange::Ban(m.clone(), true)));
        v.extend(
            r.allowed
                .iter()
                .map(|m| GroupChange::Allow(m.clone(), true)),
        );
        v.extend(
            r.exceptions
                .iter()
                .map(|m| GroupChange::Except(m.clone(), true)),
        );
        if r.no_ctcp {
            v.push(GroupChange::NoCtcp(true));
        }
        if r.secret {
            v.push(GroupChange::Secret(true));
        }
        crate::protocol::group_change::changes_text(&v)
    }
}
