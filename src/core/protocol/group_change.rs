//! A group's rules as words: what `group rules <name> <change>…` asks for, what `GROUP-CHANGED`
//! says was done, and (as the changes that would make it from a new group) what `GROUP-RULES`
//! says a group is. One vocabulary for the command and both lines, so that what a client types is
//! what it reads back.
//!
//! ```text
//! open | invite                 anyone may join by name, or only the invited
//! topic-members | topic-ops     who may set the topic: any member, or the operators
//! moderated | unmoderated       only operators and voiced members may post, or any member
//! external | members-only       non-members may post to the group, or only members
//! key <key> | no-key            joining needs the key (an invitation does instead), or not
//! limit <n> | no-limit          at most n members may join (an invitation still may), or no limit
//! op <user> | deop <user>       a member is made an operator, or is one no more
//! voice <user> | devoice <user> a member may post in a moderated group, or no more
//! ban <mask> | unban <mask>     users whose name the mask matches may not join or post, or may
//! allow <mask> | disallow <mask> users whose name the mask matches may join an invite-only group
//!                               without an invitation, or may not
//! except <mask> | unexcept <mask> users whose name the mask matches are not held by the bans
//!                               (`m:<mask>`: by the mutes), or are again
//! no-ctcp | ctcp                CTCP requests (other than actions) may not be posted, or may
//! secret | listed               the group is shown only to its members (`groups`), or also to
//!                               others while it is open
//! ```
//!
//! A ban mask `m:<mask>` is a mute: whoever it matches may join but not post unless an operator
//! or voiced (IRC's mute extban).

use std::fmt;

use super::name::Name;

/// The longest key a group may have, in characters (RFC 2812's 23).
pub const MAX_GROUP_KEY: usize = 23;

/// What starts the text of a CTCP request other than an action (IRC's `\x01PING 1\x01` is
/// `/ctcp PING 1`), which a `no-ctcp` group refuses.
pub const CTCP_REQUEST_PREFIX: &str = "/ctcp ";

/// What starts a ban mask that mutes (may join, may not post) rather than bans.
pub const MUTE_PREFIX: &str = "m:";

/// The longest ban mask, in characters.
pub const MAX_BAN_MASK: usize = 100;

/// One change to a group's settings or rules (the words above).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupChange {
    /// Anyone may join by name (`open`), or only the invited (`invite`).
    Open(bool),
    /// Any member may set the topic (`topic-members`), or only operators (`topic-ops`).
    TopicByMembers(bool),
    /// Only operators and voiced members may post (`moderated`), or any member (`unmoderated`).
    Moderated(bool),
    /// Non-members may post (`external`), or only members (`members-only`, the default).
    External(bool),
    /// The key joining needs (`key <key>`), or none (`no-key`).
    Key(Option<String>),
    /// The most members joining may bring the group to (`limit <n>`), or no limit of its own
    /// (`no-limit`; the server's limit on any group holds either way).
    Limit(Option<u32>),
    /// A member made an operator (`op <user>`), or no longer one (`deop <user>`).
    Op(Name, bool),
    /// A member given a voice (`voice <user>`), or no longer (`devoice <user>`).
    Voice(Name, bool),
    /// A ban mask added (`ban <mask>`) or lifted (`unban <mask>`).
    Ban(String, bool),
    /// A mask of users who may join an invite-only group uninvited, added (`allow <mask>`) or
    /// taken away (`disallow <mask>`): IRC's invite exceptions.
    Allow(String, bool),
    /// A mask of users the bans do not hold (a mask `m:<mask>`: the mutes), added (`except
    /// <mask>`) or taken away (`unexcept <mask>`): IRC's ban exceptions.
    Except(String, bool),
    /// CTCP requests other than actions may not be posted (`no-ctcp`), or may (`ctcp`).
    NoCtcp(bool),
    /// Only members see the group in `groups` (`secret`), or others do too while it is open
    /// (`listed`, the default): IRC's `+s`.
    Secret(bool),
}

impl fmt::Display for GroupChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |v: &bool, a: &'static str, b: &'static str| if *v { a } else { b };
        match self {
            GroupChange::Open(v) => f.write_str(yes(v, "open", "invite")),
            GroupChange::TopicByMembers(v) => f.write_str(yes(v, "topic-members", "topic-ops")),
            GroupChange::Moderated(v) => f.write_str(yes(v, "moderated", "unmoderated")),
            GroupChange::External(v) => f.write_str(yes(v, "external", "members-only")),
            GroupChange::Key(Some(k)) => write!(f, "key {k}"),
            GroupChange::Key(None) => f.write_str("no-key"),
            GroupChange::Limit(Some(n)) => write!(f, "limit {n}"),
            GroupChange::Limit(None) => f.write_str("no-limit"),
            GroupChange::Op(u, v) => write!(f, "{} {u}", yes(v, "op", "deop")),
            GroupChange::Voice(u, v) => write!(f, "{} {u}", yes(v, "voice", "devoice")),
            GroupChange::Ban(m, v) => write!(f, "{} {m}", yes(v, "ban", "unban")),
            GroupChange::Allow(m, v) => write!(f, "{} {m}", yes(v, "allow", "disallow")),
            GroupChange::Except(m, v) => write!(f, "{} {m}", yes(v, "except", "unexcept")),
            GroupChange::NoCtcp(v) => f.write_str(yes(v, "no-ctcp", "ctcp")),
            GroupChange::Secret(v) => f.write_str(yes(v, "secret", "listed")),
        }
    }
}

/// Why words are not group changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// A word that names no change, or a change without its argument.
    Usage,
    /// `limit` with something other than a number from 1 up.
    BadLimit,
}

/// Reads changes from words, in order (`key beer limit 5 op bob`).
pub fn parse_changes<'a>(
    words: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<GroupChange>, ChangeError> {
    let mut words = words.into_iter();
    let mut changes = Vec::new();
    while let Some(w) = words.next() {
        let mut arg = || words.next().ok_or(ChangeError::Usage);
        let change = match w.to_ascii_lowercase().as_str() {
            "open" => GroupChange::Open(true),
            "invite" => GroupChange::Open(false),
            "topic-members" => GroupChange::TopicByMembers(true),
            "topic-ops" => GroupChange::TopicByMembers(false),
            "moderated" => GroupChange::Moderated(true),
            "unmoderated" => GroupChange::Moderated(false),
            "external" => GroupChange::External(true),
            "members-only" => GroupChange::External(false),
            "key" => GroupChange::Key(Some(arg()?.to_owned())),
            "no-key" => GroupChange::Key(None),
            "limit" => {
                let n = arg()?;
                let n = n
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| n.parse::<u32>().ok())
                    .flatten()
                    .filter(|&n| n > 0)
                    .ok_or(ChangeError::BadLimit)?;
                GroupChange::Limit(Some(n))
            }
            "no-limit" => GroupChange::Limit(None),
            "op" => GroupChange::Op(Name::from(arg()?), true),
            "deop" => GroupChange::Op(Name::from(arg()?), false),
            "voice" => GroupChange::Voice(Name::from(arg()?), true),
            "devoice" => GroupChange::Voice(Name::from(arg()?), false),
            "ban" => GroupChange::Ban(arg()?.to_owned(), true),
            "unban" => GroupChange::Ban(arg()?.to_owned(), false),
            "allow" => GroupChange::Allow(arg()?.to_owned(), true),
            "disallow" => GroupChange::Allow(arg()?.to_owned(), false),
            "except" => GroupChange::Except(arg()?.to_owned(), true),
            "unexcept" => GroupChange::Except(arg()?.to_owned(), false),
            "no-ctcp" => GroupChange::NoCtcp(true),
            "ctcp" => GroupChange::NoCtcp(false),
            "secret" => GroupChange::Secret(true),
            "listed" => GroupChange::Secret(false),
            _ => return Err(ChangeError::Usage),
        };
        changes.push(change);
    }
    Ok(changes)
}

/// The changes as words, separated by spaces.
pub fn changes_text(changes: &[GroupChange]) -> String {
    changes
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `name` matches the `mask` (of a ban or an invite exception): a glob (`*` any run, `?` one character) over the name,
/// letter case aside. A mask in IRC's form `nick!user@host` is matched by its nick part: a natter
/// user has a name and nothing else that is theirs.
pub fn mask_matches(mask: &str, name: &str) -> bool {
    let nick = mask.split('!').next().unwrap_or(mask);
    let (p, n): (Vec<char>, Vec<char>) = (
        nick.to_ascii_lowercase().chars().collect(),
        name.to_ascii_lowercase().chars().collect(),
    );
    // Iterative glob with one backtrack point: linear enough for masks of 100 characters.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_as_written() {
        let words = "open topic-ops moderated members-only key beer no-limit op bob devoice carol ban b*!*@*";
        let changes = parse_changes(words.split(' ')).unwrap();
        assert_eq!(changes.len(), 9);
        assert_eq!(changes_text(&changes), words);
        assert_eq!(parse_changes(["limit", "0"]), Err(ChangeError::BadLimit));
        assert_eq!(parse_changes(["limit", "-1"]), Err(ChangeError::BadLimit));
        assert_eq!(parse_changes(["op"]), Err(ChangeError::Usage));
        assert_eq!(parse_changes(["dance"]), Err(ChangeError::Usage));
    }

    #[test]
    fn masks_match_names_by_glob_letter_case_aside() {
        assert!(mask_matches("bar!*@*", "Bar"));
        assert!(mask_matches("ba*", "bar"));
        assert!(mask_matches("*", "anyone"));
        assert!(mask_matches("b?r", "bar"));
        assert!(!mask_matches("bar", "barb"));
        assert!(!mask_matches("*ar!*@*", "bat"));
    }
}
