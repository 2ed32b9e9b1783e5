//! The conversations the client knows of: every user and group the server's lines have named (for
//! completion), and the questions the client asked the server on its own, whose answers are learnt
//! from but not shown.

use std::collections::BTreeSet;

use super::complete::Known;
use crate::protocol::{Conversation, Name, ServerMsg};

/// The conversations part. See the [module documentation](self).
#[derive(Debug, Default)]
pub(super) struct Conversations {
    /// Every username seen (other than this user's), for completion.
    users: BTreeSet<Name>,
    /// Every group this user is known to be in, for completion.
    groups: BTreeSet<Name>,
    /// Changes whenever `users` or `groups` does, so a shell copies them only then.
    version: u64,
    /// `grouplist` requests the client made itself (for the full-screen nick lists): their replies
    /// are learnt from, not shown.
    quiet_grouplists: u32,
    /// Groups whose members the client asked for itself: the replies are learnt from, not shown.
    quiet_members: BTreeSet<Name>,
}

impl Conversations {
    /// Every username seen, sorted.
    pub(super) fn users(&self) -> impl Iterator<Item = &Name> {
        self.users.iter()
    }

    /// Every group this user is known to be in, sorted.
    pub(super) fn groups(&self) -> impl Iterator<Item = &Name> {
        self.groups.iter()
    }

    /// Changes whenever [`Self::users`] or [`Self::groups`] does.
    pub(super) fn version(&self) -> u64 {
        self.version
    }

    /// What completion offers.
    pub(super) fn known(&self) -> Known {
        Known {
            users: self.users.iter().map(|u| u.to_string()).collect(),
            groups: self.groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    /// `user` is the one logged in: not a name to complete to.
    pub(super) fn logged_in(&mut self, user: &Name) {
        self.users.remove(user);
    }

    /// Learns the usernames and groups a line of the server mentions; `me` is the logged-in user,
    /// who is not learnt (and whose leaving a group takes it off the list).
    pub(super) fn learn_from(&mut self, msg: &ServerMsg, me: Option<&Name>) {
        let names: Vec<Name> = match msg {
            ServerMsg::Message { from, .. }
            | ServerMsg::OfflineMessage { from, .. }
            | ServerMsg::OfflineAgain { from, .. }
            | ServerMsg::Broadcast { from, .. }
            | ServerMsg::GroupMessage { from, .. }
            | ServerMsg::PrivateRequest { from, .. } => vec![from.clone()],
            ServerMsg::Presence { user, .. }
            | ServerMsg::Blocked { user }
            | ServerMsg::Unblocked { user }
            | ServerMsg::Ping { user, .. }
            | ServerMsg::GroupLeft { user, .. } => vec![user.clone()],
            ServerMsg::GroupJoined { user, by, .. } => vec![user.clone(), by.clone()],
            ServerMsg::WhoElse { users } | ServerMsg::WhoElseSince { users, .. } => users.clone(),
            ServerMsg::GroupCreated { members, .. } | ServerMsg::GroupMembers { members, .. } => {
                members.clone()
            }
            ServerMsg::GroupList { groups } => {
                groups.iter().flat_map(|(_, m)| m.iter().cloned()).collect()
            }
            // An error may name someone who does not exist.
            ServerMsg::Error(_) => Vec::new(),
            // The rest name at most the other end of a conversation.
            other => match other.conversation() {
                Some(Conversation::User(u) | Conversation::Private(u)) => vec![u],
                _ => Vec::new(),
            },
        };
        for n in &names {
            if me != Some(n) && self.users.insert(n.clone()) {
                self.version += 1;
            }
        }
        match msg {
            ServerMsg::GroupList { groups } => {
                for (g, _) in groups {
                    self.learn_group(g);
                }
            }
            ServerMsg::GroupLeft { group, user }
                if me == Some(user) && self.groups.remove(group) =>
            {
                self.version += 1;
            }
            ServerMsg::GroupMessage { group, .. }
            | ServerMsg::GroupCreated { group, .. }
            | ServerMsg::GroupSent { group, .. }
            | ServerMsg::GroupMembers { group, .. }
            | ServerMsg::GroupJoined { group, .. }
            | ServerMsg::OfflineMessage {
                group: Some(group), ..
            } => self.learn_group(group),
            _ => {}
        }
    }

    fn learn_group(&mut self, group: &Name) {
        if self.groups.insert(group.clone()) {
            self.version += 1;
        }
    }

    /// The client asks for the groups and their members on its own: the reply is not shown.
    pub(super) fn asked_grouplist(&mut self) {
        self.quiet_grouplists += 1;
    }

    /// Whether a `grouplist` the client asked for itself is unanswered.
    pub(super) fn grouplist_quiet(&self) -> bool {
        self.quiet_grouplists > 0
    }

    /// A `grouplist` reply came: returns whether it answers one the client asked for itself (it is
    /// then not shown).
    pub(super) fn take_quiet_grouplist(&mut self) -> bool {
        if self.quiet_grouplists == 0 {
            return false;
        }
        self.quiet_grouplists -= 1;
        true
    }

    /// The client asks for `group`'s members on its own: the reply is not shown.
    pub(super) fn asked_members(&mut self, group: Name) {
        self.quiet_members.insert(group);
    }

    /// Whether `group`'s members were asked for by the client itself and are not answered yet.
    pub(super) fn members_quiet(&self, group: &Name) -> bool {
        self.quiet_members.contains(group)
    }

    /// `group`'s members came: returns whether the client asked for them itself (the reply is then
    /// not shown).
    pub(super) fn take_quiet_members(&mut self, group: &Name) -> bool {
        self.quiet_members.remove(group)
    }
}
