//! Groups and their members: the data behind `create group`, `group add|leave|members`, `grouplist` and
//! `message group` (the rules are in [`crate::server::groups::rule`]).
//!
//! Kept both ways, changed only here and only together: each group's members (for a group message's
//! fan-out, in member order), and each user's groups (for `grouplist` and completion). A group exists
//! while it has a member: the last one to leave takes it away.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::Name;
use crate::server::event::UserId;

#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct GroupBook {
    groups: BTreeMap<Name, BTreeSet<UserId>>,
    of_user: Vec<BTreeSet<Name>>,
}

impl GroupBook {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.of_user.push(BTreeSet::new());
    }

    /// The group's name as the book holds it (shared), if there is such a group.
    pub(crate) fn name(&self, group: &str) -> Option<&Name> {
        self.groups.get_key_value(group).map(|(n, _)| n)
    }

    pub(crate) fn members(&self, group: &str) -> Option<&BTreeSet<UserId>> {
        self.groups.get(group)
    }

    pub(crate) fn is_member(&self, group: &str, user: UserId) -> bool {
        self.groups.get(group).is_some_and(|m| m.contains(&user))
    }

    /// Creates `group` with these members. The caller has checked that it does not exist.
    pub(crate) fn create(&mut self, group: Name, members: impl IntoIterator<Item = UserId>) {
        let members: BTreeSet<UserId> = members.into_iter().collect();
        for m in &members {
            self.of_user[m.index()].insert(group.clone());
        }
        self.groups.insert(group, members);
    }

    /// Adds `user` to an existing group; false if there is no such group or they are already in it.
    pub(crate) fn join(&mut self, group: &str, user: UserId) -> bool {
        let Some(name) = self.name(group).cloned() else {
            return false;
        };
        let members = self.groups.get_mut(group).expect("the group exists");
        if !members.insert(user) {
            return false;
        }
        self.of_user[user.index()].insert(name);
        true
    }

    /// Removes `user` from `group`; false if they were not in it. A group left empty is gone.
    pub(crate) fn leave(&mut self, group: &str, user: UserId) -> bool {
        let Some(members) = self.groups.get_mut(group) else {
            return false;
        };
        if !members.remove(&user) {
            return false;
        }
        self.of_user[user.index()].remove(group);
        if members.is_empty() {
            self.groups.remove(group);
        }
        true
    }

    /// The groups `user` belongs to, by name.
    pub(crate) fn groups_of(&self, user: UserId) -> impl Iterator<Item = &Name> {
        self.of_user[user.index()].iter()
    }

    /// Every group with its members, by name.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&Name, &BTreeSet<UserId>)> {
        self.groups.iter()
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
        for u in 0..3 {
            assert!(b.leave("team", UserId(u)));
        }
        assert!(
            b.members("team").is_none(),
            "the last to leave takes it away"
        );
        assert_eq!(b.groups_of(UserId(0)).count(), 0);
        assert!(!b.leave("team", UserId(0)));
    }
}
