//! What an IRC connection's front keeps about the channels it is in or asking about: the data the
//! channel commands (`channels.rs`) read and write, apart from them so that the session can hold
//! it without the session and the commands importing each other.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::Name;

/// What the front keeps about channels for one connection (what for: `channels.rs`).
#[derive(Debug, Default)]
pub(super) struct Channels {
    /// Groups a `JOIN` asked for whose answer has not come, in order.
    pub(super) joining: Vec<String>,
    /// Groups joined just now: the core's topic for them is `332`, their members end the join.
    pub(super) joined_now: Vec<String>,
    /// Groups whose members `NAMES #g` asked for (a refusal is only the end of the list, `366`).
    pub(super) names_asked: Vec<String>,
    /// Groups whose topic `TOPIC #g :` is clearing (the core's answer does not say who cleared it).
    pub(super) clearing: Vec<String>,
    /// Groups whose topic `TOPIC #g` asked for.
    pub(super) topic_asked: Vec<String>,
    /// Groups `PRIVMSG` posted to and not answered yet (a refusal is `404`).
    pub(super) posting: Vec<String>,
    /// Groups this connection created with `JOIN` and is opening (IRC channels are open unless
    /// `+i`): the core's settings line for them is not said.
    pub(super) opening: Vec<String>,
    /// `LIST` asked for the groups, with its filters (`list.rs`), until `GROUPS-END`.
    pub(super) list_asked: Option<super::list_filter::ListFilter>,
    /// Each channel's owner, as far as the front saw it (its creation here, `GROUP-OWNER`).
    pub(super) owners: BTreeMap<String, Name>,
    /// Groups a `MODE` change was fed for and not answered yet (a refusal of a key names none).
    pub(super) changing: Vec<String>,
    /// `group rules` asked for, in order, with what the answer is for (`modes.rs`).
    pub(super) rules_asked: Vec<(String, RulesAsked)>,
    /// Each channel's operators and voiced members, as its rules last said (`@` and `+` in
    /// `NAMES`).
    pub(super) roles: BTreeMap<String, Roles>,
}

/// What a `group rules` the front sent is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RulesAsked {
    /// Only to know the operators and voices (before `NAMES`): nothing is said, not even a refusal
    /// (the `group members` that follows answers that).
    Roles,
    /// `MODE #team`: `324`.
    Modes,
    /// `MODE #team +b`: the bans, `367`s and `368`.
    Bans,
    /// `MODE #team +I`: the invite exceptions, `346`s and `347`.
    Allowed,
    /// `MODE #team +e`: the ban exceptions, `348`s and `349`.
    Exceptions,
}

/// A channel's operators and voiced members.
#[derive(Debug, Default)]
pub(super) struct Roles {
    /// Its operators (the owner included).
    pub(super) ops: BTreeSet<Name>,
    /// Its voiced members.
    pub(super) voiced: BTreeSet<Name>,
    /// It is secret (`+s`): `@` in `NAMES`, as RFC 2812 says.
    pub(super) secret: bool,
}

/// The group a channel name stands for (`#team` is `team`), if it is one natter serves.
pub(super) fn group_of(channel: &str) -> Option<&str> {
    channel.strip_prefix('#').filter(|g| !g.is_empty())
}

/// Takes `group` out of `list`: whether it was there.
pub(super) fn take(list: &mut Vec<String>, group: &str) -> bool {
    match list.iter().position(|g| g == group) {
        Some(i) => {
            list.remove(i);
            true
        }
        None => false,
    }
}
