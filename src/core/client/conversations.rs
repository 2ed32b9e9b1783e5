//! The conversations the client knows of: every user and group the server's lines have named (for
//! completion), who is online and who is in each of the user's groups (the full-screen client's
//! nick lists), and the questions the client asked the server on its own, whose answers are learnt
//! from but not shown. All of it is learnt from the server's lines, in one place
//! ([`Conversations::learn_from`]), whether the line is shown or not. Beside what the server says:
//! whom the user ignores (`/ignore`: the client's own, kept across restarts by the shell), and the
//! groups the user asked to `/join` whose answer is awaited.

use std::collections::{BTreeMap, BTreeSet};

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
    /// Groups whose members the client asked for itself, with how many such questions are not
    /// answered yet: the replies are learnt from, not shown (each one, when it asked twice).
    quiet_members: BTreeMap<Name, u32>,
    /// `whoelse` requests the client made itself when logging in again (the list beside the windows
    /// is filled again; the user's windows are not): their replies are learnt from, not shown.
    quiet_whoelse: u32,
    /// Who is online, from `whoelse` and presence notices (forgotten when the server is lost).
    online: BTreeSet<Name>,
    /// The members of each group the user is in, as the server last said.
    members: BTreeMap<Name, BTreeSet<Name>>,
    /// Changes whenever `online`, `members`, `topics` or `away` may have.
    people_version: u64,
    /// Each group's topic, as the server last said (the user's groups only).
    topics: BTreeMap<Name, String>,
    /// Who is away, and why, as the server last said.
    away: BTreeMap<Name, String>,
    /// Whether the user is marked away (the server said `AWAY`, and not `BACK` since).
    me_away: bool,
    /// Whom each account the client logged in as ignores (from the shell's file, and `/ignore`).
    ignored: BTreeMap<Name, BTreeSet<Name>>,
    /// Groups the user asked to `/join` that are not joined yet: if there is no such group, the
    /// client creates it.
    joining: BTreeSet<Name>,
}

impl Conversations {
    /// Knowing whom each account ignores already (`ignored`, as the shell kept it).
    pub(super) fn new(ignored: BTreeMap<Name, BTreeSet<Name>>) -> Self {
        Conversations {
            ignored,
            ..Conversations::default()
        }
    }

    /// Each group's topic, as the server last said.
    pub(super) fn topics(&self) -> &BTreeMap<Name, String> {
        &self.topics
    }

    /// Who is away, and why.
    pub(super) fn away(&self) -> &BTreeMap<Name, String> {
        &self.away
    }

    /// Whether the user is marked away.
    pub(super) fn me_away(&self) -> bool {
        self.me_away
    }

    /// The user typed a message while away: `away` is sent, and the client takes them as back.
    pub(super) fn back_by_typing(&mut self) {
        self.me_away = false;
    }

    /// Whom `me` ignores, sorted.
    pub(super) fn ignored(&self, me: &Name) -> Vec<Name> {
        self.ignored
            .get(me)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `me` ignores `user`.
    pub(super) fn is_ignored(&self, me: Option<&Name>, user: &Name) -> bool {
        me.and_then(|me| self.ignored.get(me))
            .is_some_and(|s| s.contains(user))
    }

    /// `me` ignores `user` (`true`), or no longer does: returns whether that changed anything.
    pub(super) fn set_ignored(&mut self, me: &Name, user: &Name, ignore: bool) -> bool {
        let set = self.ignored.entry(me.clone()).or_default();
        if ignore {
            set.insert(user.clone())
        } else {
            set.remove(user)
        }
    }

    /// The user asked to `/join` `group`.
    pub(super) fn joining(&mut self, group: Name) {
        self.joining.insert(group);
    }

    /// An answer about `group` came: returns whether the user had asked to `/join` it (and
    /// forgets that they had).
    pub(super) fn take_joining(&mut self, group: &str) -> bool {
        self.joining.remove(group)
    }

    /// Whether the user is known to be a member of `group`.
    pub(super) fn is_member(&self, group: &Name) -> bool {
        self.members.contains_key(group)
    }

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

    /// Who is online, as far as the client knows.
    pub(super) fn online(&self) -> &BTreeSet<Name> {
        &self.online
    }

    /// The members of each of the user's groups, as the server last said.
    pub(super) fn members(&self) -> &BTreeMap<Name, BTreeSet<Name>> {
        &self.members
    }

    /// Changes whenever [`Self::online`] or [`Self::members`] may have.
    pub(super) fn people_version(&self) -> u64 {
        self.people_version
    }

    /// The server was lost: nobody is known to be online until the next server says.
    pub(super) fn lost(&mut self) {
        self.online.clear();
        // The questions asked on the connection lost get no answer: a later one the user asks is
        // theirs, and shown.
        self.quiet_grouplists = 0;
        self.quiet_members.clear();
        self.quiet_whoelse = 0;
        self.people_version += 1;
    }

    /// The client asks who is online on its own: the reply is not shown.
    pub(super) fn asked_whoelse(&mut self) {
        self.quiet_whoelse += 1;
    }

    /// A `whoelse` reply came: returns whether it answers one the client asked for itself (it is
    /// then not shown).
    pub(super) fn take_quiet_whoelse(&mut self) -> bool {
        if self.quiet_whoelse == 0 {
            return false;
        }
        self.quiet_whoelse -= 1;
        true
    }

    /// What completion offers.
    pub(super) fn known(&self) -> Known {
        Known {
            users: self.users.iter().map(|u| u.to_string()).collect(),
            groups: self.groups.iter().map(|g| g.to_string()).collect(),
            members: self
                .members
                .iter()
                .map(|(g, m)| (g.to_string(), m.iter().map(|n| n.to_string()).collect()))
                .collect(),
        }
    }

    /// `user` is the one logged in: not a name to complete to.
    pub(super) fn logged_in(&mut self, user: &Name) {
        self.users.remove(user);
    }

    /// Learns what a line of the server says of the conversations: the usernames and groups it
    /// mentions, who is online, who is in which group. `me` is the logged-in user, who is not
    /// learnt as a name (and whose leaving a group takes it off the lists).
    pub(super) fn learn_from(&mut self, msg: &ServerMsg, me: Option<&Name>) {
        self.learn_names(msg, me);
        self.learn_people(msg, me);
    }

    /// Who is online, and who is in which group.
    fn learn_people(&mut self, msg: &ServerMsg, me: Option<&Name>) {
        match msg {
            ServerMsg::Welcome { .. } => {
                self.online.clear();
                self.away.clear();
                self.me_away = false;
            }
            ServerMsg::Presence { user, online } => {
                if *online {
                    self.online.insert(user.clone());
                } else {
                    self.online.remove(user);
                    self.away.remove(user);
                }
            }
            ServerMsg::WhoElse { users } => self.online = users.iter().cloned().collect(),
            ServerMsg::GroupCreated { group, members }
            | ServerMsg::GroupMembers { group, members } => {
                self.joining.remove(group);
                self.members
                    .insert(group.clone(), members.iter().cloned().collect());
            }
            ServerMsg::GroupList { groups } => {
                self.members = groups
                    .iter()
                    .map(|(g, m)| (g.clone(), m.iter().cloned().collect()))
                    .collect();
            }
            ServerMsg::GroupJoined { group, user, .. } => {
                if me == Some(user) {
                    self.joining.remove(group);
                }
                self.members
                    .entry(group.clone())
                    .or_default()
                    .insert(user.clone());
            }
            ServerMsg::GroupLeft { group, user, .. }
            | ServerMsg::GroupRemoved { group, user, .. } => {
                if me == Some(user) {
                    self.members.remove(group);
                    self.topics.remove(group);
                } else if let Some(m) = self.members.get_mut(group) {
                    m.remove(user);
                }
            }
            ServerMsg::GroupTopic { group, topic, .. } => {
                self.topics.insert(group.clone(), topic.clone());
            }
            ServerMsg::GroupNoTopic { group } => {
                self.topics.remove(group);
            }
            ServerMsg::PresenceAway { user, reason }
            | ServerMsg::RecipientAway { user, reason } => {
                self.away.insert(user.clone(), reason.clone());
            }
            ServerMsg::PresenceBack { user } => {
                self.away.remove(user);
            }
            ServerMsg::Away { .. } => self.me_away = true,
            ServerMsg::Back => self.me_away = false,
            _ => return,
        }
        self.people_version += 1;
    }

    /// The usernames and groups a line mentions, for completion.
    fn learn_names(&mut self, msg: &ServerMsg, me: Option<&Name>) {
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
            ServerMsg::GroupLeft { group, user, .. }
            | ServerMsg::GroupRemoved { group, user, .. }
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

    /// The connection is gone: the questions the client asked on it will not be answered, and a
    /// `grouplist` or members reply on the next connection answers the user (or that connection's
    /// own questions): shown, so no change of a group's members goes unsaid.
    pub(super) fn connection_lost(&mut self) {
        self.quiet_grouplists = 0;
        self.quiet_members.clear();
    }

    /// The client asked for `grouplist` itself: its reply is learnt from, not shown.
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
        *self.quiet_members.entry(group).or_default() += 1;
    }

    /// Whether `group`'s members were asked for by the client itself and are not answered yet.
    pub(super) fn members_quiet(&self, group: &Name) -> bool {
        self.quiet_members.contains_key(group)
    }

    /// `group`'s members came: returns whether the client asked for them itself (the reply is then
    /// not shown).
    pub(super) fn take_quiet_members(&mut self, group: &Name) -> bool {
        let Some(asked) = self.quiet_members.get_mut(group) else {
            return false;
        };
        *asked -= 1;
        if *asked == 0 {
            self.quiet_members.remove(group);
        }
        true
    }
}
