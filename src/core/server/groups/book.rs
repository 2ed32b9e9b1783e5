//! Groups and their members: the data behind the group commands (the rules are in
//! [`crate::server::groups::rule`]).
//!
//! Kept both ways, changed only here and only together: each group's members (for a group message's
//! fan-out, in member order), and each user's groups (for `grouplist` and completion). A group exists
//! while it has a member: the last one to leave takes it away, with its settings, its topic and the
//! invitations to it. Each group also has an owner, always one of its members, and remembers the order
//! its members joined in, so that when the owner leaves the longest-standing member owns it.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::{GroupSetting, Name};
use crate::server::event::UserId;
use crate::time::Timestamp;

/// How long an invitation stands: 7 days. One not answered by then is as if never made.
pub(crate) const INVITATION_MS: u64 = 7 * 24 * 3600 * 1000;

/// The most invitations one user may have waiting, so that nobody can be buried in them.
pub(crate) const MAX_INVITATIONS: usize = 20;

/// `group topic NAME -` clears the topic (so a topic cannot be just `-`).
pub(crate) const CLEAR_TOPIC: &str = "-";

/// The longest topic a group may have, in characters.
pub(crate) const MAX_TOPIC: usize = 300;

/// One group: who is in it, who owns it, and its owner's choices.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub(crate) struct Group {
    members: BTreeSet<UserId>,
    /// The members in the order they joined: the first after the owner inherits the group.
    joined: Vec<UserId>,
    owner: UserId,
    /// Anyone may join by name; otherwise only the invited.
    pub(crate) open: bool,
    /// Members add others directly; otherwise adding is an invitation.
    pub(crate) add_direct: bool,
    /// Any member may set the topic; otherwise only the owner.
    pub(crate) topic_by_members: bool,
    /// The topic and the name of who set it (as it was then).
    pub(crate) topic: Option<(String, Name)>,
    /// Made by a guest (`login::guest`): nothing of it is stored (no records), so it lasts until its
    /// last member leaves or the server restarts, as an IRC channel does.
    #[serde(default)]
    pub(crate) unstored: bool,
    /// What its operators decided beyond the owner's settings (`group rules`; IRC's channel modes).
    #[serde(default)]
    pub(crate) rules: Rules,
}

/// A group's rules beyond the owner's settings, which any of its operators may change (`group
/// rules`; `groups::modes`): who besides the owner is an operator, who has a voice, the key, the
/// member limit, moderation, whether non-members may post, and the ban masks. IRC's channel modes
/// are these (`+o`, `+v`, `+k`, `+l`, `+m`, `-n`, `+b`).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Members made operators (the owner is one without being listed). A member who leaves is
    /// one no more.
    pub(crate) operators: BTreeSet<UserId>,
    /// Members given a voice: they may post while the group is moderated.
    pub(crate) voiced: BTreeSet<UserId>,
    /// The key joining needs, unless invited.
    pub(crate) key: Option<String>,
    /// The most members joining may bring the group to, unless invited.
    pub(crate) limit: Option<u32>,
    /// Only operators and voiced members may post.
    pub(crate) moderated: bool,
    /// Non-members may post too.
    pub(crate) external: bool,
    /// Masks (globs over names) of users who may not join, nor post unless an operator or voiced;
    /// in the order they were set.
    pub(crate) bans: Vec<String>,
    /// Masks of users who may join while the group is invite-only without an invitation (IRC's
    /// invite exceptions), in the order they were set.
    #[serde(default)]
    pub(crate) allowed: Vec<String>,
    /// Masks of users the bans do not hold (a mask `m:<mask>`: the mutes), IRC's ban exceptions,
    /// in the order they were set.
    #[serde(default)]
    pub(crate) exceptions: Vec<String>,
    /// CTCP requests other than actions may not be posted (IRC's `+C`).
    #[serde(default)]
    pub(crate) no_ctcp: bool,
    /// Only members see it in `groups` (IRC's `+s`); otherwise others do while it is open.
    #[serde(default)]
    pub(crate) secret: bool,
}

impl Group {
    pub(crate) fn owner(&self) -> UserId {
        self.owner
    }

    /// Whether `user` is an operator: the owner, or a member the operators made one.
    pub(crate) fn is_operator(&self, user: UserId) -> bool {
        self.owner == user || self.rules.operators.contains(&user)
    }

    /// Whether `user` may post while the group is moderated or bans them: an operator or voiced.
    pub(crate) fn has_voice(&self, user: UserId) -> bool {
        self.is_operator(user) || self.rules.voiced.contains(&user)
    }

    /// Applies one of the owner's settings; false if it was already so.
    pub(crate) fn apply(&mut self, setting: GroupSetting) -> bool {
        let slot = match setting {
            GroupSetting::Open(v) => (&mut self.open, v),
            GroupSetting::AddDirect(v) => (&mut self.add_direct, v),
            GroupSetting::TopicByMembers(v) => (&mut self.topic_by_members, v),
        };
        let changed = *slot.0 != slot.1;
        *slot.0 = slot.1;
        changed
    }
}

/// A standing invitation: who made it, and when (it lapses [`INVITATION_MS`] later).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invitation {
    pub(crate) by: UserId,
    pub(crate) at: Timestamp,
}

impl Invitation {
    /// Whether it still stands at `now`.
    pub(crate) fn stands(&self, now: Timestamp) -> bool {
        now.0 < self.at.0.saturating_add(INVITATION_MS)
    }
}

/// What a member's leaving did to the group.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Left {
    /// They were not in it.
    NotMember,
    /// They left; the group goes on with the same owner.
    Stayed,
    /// The owner left: this member owns it now.
    NewOwner(UserId),
    /// They were the last: the group is gone.
    Gone,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct GroupBook {
    groups: BTreeMap<Name, Group>,
    of_user: Vec<BTreeSet<Name>>,
    /// Each user's invitations, by group.
    invitations: Vec<BTreeMap<Name, Invitation>>,
}

impl GroupBook {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.of_user.push(BTreeSet::new());
        self.invitations.push(BTreeMap::new());
    }

    /// The group's name as the book holds it (shared), if there is such a group.
    pub(crate) fn name(&self, group: &str) -> Option<&Name> {
        self.groups.get_key_value(group).map(|(n, _)| n)
    }

    pub(crate) fn group(&self, group: &str) -> Option<&Group> {
        self.groups.get(group)
    }

    pub(crate) fn group_mut(&mut self, group: &str) -> Option<&mut Group> {
        self.groups.get_mut(group)
    }

    pub(crate) fn members(&self, group: &str) -> Option<&BTreeSet<UserId>> {
        self.groups.get(group).map(|g| &g.members)
    }

    pub(crate) fn is_member(&self, group: &str, user: UserId) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.members.contains(&user))
    }

    /// Creates `group` with these members, in the order they joined; the first owns it, and it is
    /// invite-only, members invite, and the owner sets the topic. The caller has checked that it does
    /// not exist and that there is a member.
    pub(crate) fn create(&mut self, group: Name, members: impl IntoIterator<Item = UserId>) {
        let mut joined: Vec<UserId> = Vec::new();
        for m in members {
            if !joined.contains(&m) {
                joined.push(m);
            }
        }
        let Some(&owner) = joined.first() else {
            return;
        };
        for m in &joined {
            self.of_user[m.index()].insert(group.clone());
        }
        self.groups.insert(
            group,
            Group {
                members: joined.iter().copied().collect(),
                joined,
                owner,
                open: false,
                add_direct: false,
                topic_by_members: false,
                topic: None,
                unstored: false,
                rules: Rules::default(),
            },
        );
    }

    /// Adds `user` to an existing group (their invitation to it, if any, is spent); false if there is
    /// no such group or they are already in it.
    pub(crate) fn join(&mut self, group: &str, user: UserId) -> bool {
        let Some(name) = self.name(group).cloned() else {
            return false;
        };
        let g = self.groups.get_mut(group).expect("the group exists");
        if !g.members.insert(user) {
            return false;
        }
        g.joined.push(user);
        self.of_user[user.index()].insert(name);
        self.invitations[user.index()].remove(group);
        true
    }

    /// Removes `user` from `group`. The owner's place goes to the longest-standing member; a group
    /// left empty is gone, with the invitations to it.
    pub(crate) fn leave(&mut self, group: &str, user: UserId) -> Left {
        let Some(g) = self.groups.get_mut(group) else {
            return Left::NotMember;
        };
        if !g.members.remove(&user) {
            return Left::NotMember;
        }
        g.joined.retain(|&m| m != user);
        // An operator or a voice is a member's, and goes when they leave.
        g.rules.operators.remove(&user);
        g.rules.voiced.remove(&user);
        self.of_user[user.index()].remove(group);
        let Some(&first) = g.joined.first() else {
            self.groups.remove(group);
            for invited in &mut self.invitations {
                invited.remove(group);
            }
            return Left::Gone;
        };
        if g.owner == user {
            g.owner = first;
            return Left::NewOwner(first);
        }
        Left::Stayed
    }

    /// Makes `owner`, a member, own `group`; false if there is no such group or they are not in it.
    pub(crate) fn set_owner(&mut self, group: &str, owner: UserId) -> bool {
        match self.groups.get_mut(group) {
            Some(g) if g.members.contains(&owner) => {
                g.owner = owner;
                true
            }
            _ => false,
        }
    }

    /// The groups `user` belongs to, by name.
    pub(crate) fn groups_of(&self, user: UserId) -> impl Iterator<Item = &Name> {
        self.of_user[user.index()].iter()
    }

    /// Every group with its members, by name.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&Name, &BTreeSet<UserId>)> {
        self.groups.iter().map(|(n, g)| (n, &g.members))
    }

    /// Every group, by name.
    pub(crate) fn groups(&self) -> impl Iterator<Item = (&Name, &Group)> {
        self.groups.iter()
    }

    /// `user`'s invitation to `group`, standing or lapsed.
    pub(crate) fn invitation(&self, user: UserId, group: &str) -> Option<Invitation> {
        self.invitations[user.index()].get(group).copied()
    }

    /// `user`'s invitations, by group, standing or lapsed.
    pub(crate) fn invitations_of(
        &self,
        user: UserId,
    ) -> impl Iterator<Item = (&Name, &Invitation)> {
        self.invitations[user.index()].iter()
    }

    /// Records an invitation of `user` to the existing `group` (replacing a lapsed one).
    pub(crate) fn invite(&mut self, group: &str, user: UserId, invitation: Invitation) -> bool {
        let Some(name) = self.name(group).cloned() else {
            return false;
        };
        self.invitations[user.index()].insert(name, invitation);
        true
    }

    /// Forgets `user`'s invitation to `group`; false if there was none.
    pub(crate) fn uninvite(&mut self, group: &str, user: UserId) -> bool {
        self.invitations[user.index()].remove(group).is_some()
    }

    /// Every invitation `user` received or made, as (group, invited), for ending them one by one.
    pub(crate) fn invitations_touching(&self, user: UserId) -> Vec<(Name, UserId)> {
        let mut all: Vec<(Name, UserId)> = self.invitations[user.index()]
            .keys()
            .map(|g| (g.clone(), user))
            .collect();
        for (i, invited) in self.invitations.iter().enumerate() {
            for (g, inv) in invited {
                if inv.by == user && i != user.index() {
                    all.push((g.clone(), UserId(i as u32)));
                }
            }
        }
        all
    }

    /// Forgets every invitation `user` made or received (their account is going).
    pub(crate) fn forget_invitations(&mut self, user: UserId) {
        self.invitations[user.index()].clear();
        for invited in &mut self.invitations {
            invited.retain(|_, i| i.by != user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_stay_in_step_and_an_empty_group_goes() {
        let mut b = GroupBook::default();
        for _ in 0..3 {
            b.add_user();
        }
        b.create("team".into(), [UserId(0), UserId(1)]);
        assert!(b.is_member("team", UserId(1)));
        assert!(b.join("team", UserId(2)));
        assert!(!b.join("team", UserId(2)), "already in");
        assert!(!b.join("nope", UserId(2)), "no such group");
        assert_eq!(b.groups_of(UserId(2)).count(), 1);
        assert_eq!(b.leave("team", UserId(0)), Left::NewOwner(UserId(1)));
        assert_eq!(b.leave("team", UserId(1)), Left::NewOwner(UserId(2)));
        assert_eq!(b.leave("team", UserId(2)), Left::Gone);
        assert!(
            b.members("team").is_none(),
            "the last to leave takes it away"
        );
        assert_eq!(b.groups_of(UserId(0)).count(), 0);
        assert_eq!(b.leave("team", UserId(0)), Left::NotMember);
    }

    #[test]
    fn invitations_are_spent_by_joining_and_go_with_their_group() {
        let mut b = GroupBook::default();
        for _ in 0..3 {
            b.add_user();
        }
        b.create("team".into(), [UserId(0)]);
        let inv = Invitation {
            by: UserId(0),
            at: Timestamp(1000),
        };
        assert!(b.invite("team", UserId(1), inv));
        assert!(b.invite("team", UserId(2), inv));
        assert!(inv.stands(Timestamp(1000 + INVITATION_MS - 1)));
        assert!(!inv.stands(Timestamp(1000 + INVITATION_MS)));
        assert!(b.join("team", UserId(1)));
        assert_eq!(b.invitation(UserId(1), "team"), None);
        assert_eq!(b.leave("team", UserId(0)), Left::NewOwner(UserId(1)));
        assert_eq!(b.leave("team", UserId(1)), Left::Gone);
        assert_eq!(
            b.invitation(UserId(2), "team"),
            None,
            "a group that is gone takes its invitations with it"
        );
    }
}
