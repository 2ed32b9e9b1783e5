//! Tab completion: command names in the first word (and the second word of the commands that have
//! one), usernames where a command takes a user, group names where it takes a group. In a
//! conversation's window of the full-screen client, where a line is said rather than run, the first
//! word completes to a nick with irssi's `: ` after it (`bo<Tab>` is `bob: `), and commands complete
//! after their `/`. Pure, so the line editors' glue stays a few lines.

use super::input::{alias_of, command_words};

/// Commands whose first argument is a username.
const TAKES_USER: &[&str] = &[
    "query",
    "message",
    "block",
    "unblock",
    "startprivate",
    "accept",
    "decline",
    "private",
    "stopprivate",
    "ping",
    "whois",
    "ignore",
    "unignore",
    "verify",
    "trust",
    "reject",
    "sendclear",
];

/// irssi's words whose first argument is a group, named `#group`.
const TAKES_HASH_GROUP: &[&str] = &["join", "part", "names", "topic"];

/// What the client has seen, to complete from: usernames and group names, each sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// Every username the client has seen (but its user's).
    pub users: Vec<String>,
    /// Every group the user is known to be in.
    pub groups: Vec<String>,
    /// The members of each of the user's groups, as the server last said: a nick at the start of a
    /// line said to a group completes to them (the full-screen client; line mode has none).
    pub members: std::collections::BTreeMap<String, Vec<String>>,
}

/// What the first word of a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start<'a> {
    /// A command (line mode, and the full-screen status window); `full_screen` adds the window
    /// commands.
    Command {
        /// The window commands exist too.
        full_screen: bool,
    },
    /// Said to a conversation: a nick from `nicks` (the group's members, or everyone known), followed
    /// by `: `; or a command after `/`.
    Said {
        /// Who a nick at the start of the line completes to.
        nicks: &'a [String],
    },
}

/// Where the word being completed starts in `line`, and the candidates for it, for the cursor at byte
/// `pos`, in line mode.
pub fn complete(line: &str, pos: usize, known: &Known) -> (usize, Vec<String>) {
    complete_at(line, pos, known, Start::Command { full_screen: false })
}

/// The same, where the first word is as `start` says.
pub fn complete_at(
    line: &str,
    pos: usize,
    known: &Known,
    start: Start<'_>,
) -> (usize, Vec<String>) {
    let full_screen = !matches!(start, Start::Command { full_screen: false });
    let before = line.get(..pos).unwrap_or(line);
    let start_byte = before.rfind([' ', '\t']).map(|i| i + 1).unwrap_or(0);
    let word = &before[start_byte..];
    let mut earlier: Vec<String> = before[..start_byte]
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    // `/msg bob`, `/group add`: the same as without the slash, irssi's names included.
    if let Some(first) = earlier.first_mut() {
        let word = first.trim_start_matches('/');
        *first = alias_of(word).unwrap_or(word).to_owned();
    }
    let earlier: Vec<&str> = earlier.iter().map(String::as_str).collect();
    // `#te<Tab>` after the first word: a group, wherever one may be named.
    if !earlier.is_empty() && word.starts_with('#') {
        let hashed: Vec<String> = known.groups.iter().map(|g| format!("#{g}")).collect();
        let hashed: Vec<&str> = hashed.iter().map(String::as_str).collect();
        return (start_byte, matching(&hashed, word));
    }
    let users = || known.users.iter().map(String::as_str).collect::<Vec<_>>();
    let groups = || known.groups.iter().map(String::as_str).collect::<Vec<_>>();
    let candidates: Vec<&str> = match earlier.as_slice() {
        [] => {
            let words = command_words(full_screen);
            return match (word.strip_prefix('/'), start) {
                (Some(w), _) => {
                    let c = matching(&words, &w.to_ascii_lowercase());
                    (start_byte, c.into_iter().map(|c| format!("/{c}")).collect())
                }
                (None, Start::Said { nicks }) => {
                    let nicks: Vec<&str> = nicks.iter().map(String::as_str).collect();
                    let found = nicks
                        .iter()
                        .filter(|n| n.starts_with(word))
                        .map(|n| format!("{n}: "))
                        .collect();
                    (start_byte, found)
                }
                (None, Start::Command { .. }) => {
                    (start_byte, matching(&words, &word.to_ascii_lowercase()))
                }
            };
        }
        ["message"] => {
            let mut v = vec!["group"];
            v.extend(users());
            v
        }
        ["message", "group"]
        | [
            "group",
            "add" | "join" | "decline" | "leave" | "members" | "remove" | "topic" | "owner"
            | "mode" | "set",
        ]
        | ["sharedwith"] => groups(),
        ["create"] => vec!["group"],
        ["create", "group", _, ..] => users(),
        ["group"] => vec![
            "add", "join", "decline", "leave", "members", "remove", "topic", "owner", "mode", "set",
        ],
        [command] if TAKES_HASH_GROUP.contains(command) => {
            let hashed: Vec<String> = known.groups.iter().map(|g| format!("#{g}")).collect();
            let hashed: Vec<&str> = hashed.iter().map(String::as_str).collect();
            return (start_byte, matching(&hashed, word));
        }
        ["group", "add" | "remove" | "owner", _] => users(),
        [command] if TAKES_USER.contains(command) => users(),
        _ => Vec::new(),
    };
    (start_byte, matching(&candidates, word))
}

fn matching(candidates: &[&str], prefix: &str) -> Vec<String> {
    candidates
        .iter()
        .filter(|c| c.starts_with(prefix))
        .map(|c| format!("{c} "))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            members: Default::default(),
            users: vec!["alice".into(), "bob".into(), "bobby".into()],
            groups: vec!["team".into(), "tea".into()],
        }
    }

    #[test]
    fn command_names_in_the_first_word() {
        let (start, c) = complete("who", 3, &known());
        assert_eq!(start, 0);
        assert_eq!(
            c,
            vec![
                "whoelse ",
                "whoelsesince ",
                "whois ",
                "whowas ",
                "wholasthr "
            ]
        );
        let (_, c) = complete("pri", 3, &known());
        assert_eq!(c, vec!["private "]);
        let (_, c) = complete("ac", 2, &known());
        assert_eq!(
            c,
            vec!["accept "],
            "internal commands like 'ack' are not offered"
        );
        let (_, c) = complete("gro", 3, &known());
        assert_eq!(c, vec!["group ", "groups ", "grouplist "], "each word once");
    }

    #[test]
    fn usernames_after_commands_that_take_one() {
        let (start, c) = complete("message bo", 10, &known());
        assert_eq!(start, 8);
        assert_eq!(c, vec!["bob ", "bobby "]);
        let (_, c) = complete("startprivate ", 13, &known());
        assert_eq!(c.len(), 3);
        let (_, c) = complete("broadcast bo", 12, &known());
        assert!(c.is_empty(), "broadcast takes text, not a user");
        let (_, c) = complete("message bob hel", 15, &known());
        assert!(c.is_empty(), "message text is not completed");
        let (_, c) = complete("ping a", 6, &known());
        assert_eq!(c, vec!["alice "]);
    }

    #[test]
    fn slash_commands_complete_too() {
        let (_, c) = complete("/whoe", 5, &known());
        assert_eq!(c, vec!["/whoelse ", "/whoelsesince "]);
        let (_, c) = complete("/msg b", 6, &known());
        assert_eq!(c, vec!["bob ", "bobby "]);
        let (_, c) = complete("/message group t", 16, &known());
        assert_eq!(c.len(), 2);
        let (_, c) = complete("/qu", 3, &known());
        assert!(c.is_empty(), "no windows in line mode");
    }

    #[test]
    fn query_and_a_nick_at_the_start_of_a_line_in_the_full_screen_client() {
        let status = Start::Command { full_screen: true };
        let (_, c) = complete_at("/qu", 3, &known(), status);
        assert_eq!(c, vec!["/query "]);
        let (start, c) = complete_at("/query bo", 9, &known(), status);
        assert_eq!(start, 7);
        assert_eq!(c, vec!["bob ", "bobby "]);
        // In a conversation the first word is said: a nick, irssi's way.
        let nicks = vec!["bob".to_owned(), "carol".to_owned()];
        let said = Start::Said { nicks: &nicks };
        let (start, c) = complete_at("ca", 2, &known(), said);
        assert_eq!((start, c), (0, vec!["carol: ".to_owned()]));
        let (_, c) = complete_at("/whoe", 5, &known(), said);
        assert_eq!(c, vec!["/whoelse ", "/whoelsesince "]);
        let (_, c) = complete_at("/query a", 8, &known(), said);
        assert_eq!(c, vec!["alice "]);
        let (_, c) = complete_at("hello ca", 8, &known(), said);
        assert!(c.is_empty(), "only the first word is a nick");
    }

    #[test]
    fn groups_and_their_members() {
        let (_, c) = complete("message g", 9, &known());
        assert_eq!(c, vec!["group "]);
        let (_, c) = complete("message group te", 16, &known());
        assert_eq!(c, vec!["team ", "tea "]);
        let (_, c) = complete("Message Group t", 15, &known());
        assert_eq!(c.len(), 2, "command words in any case");
        let (_, c) = complete("group a", 7, &known());
        assert_eq!(c, vec!["add "]);
        let (_, c) = complete("/join #te", 9, &known());
        assert_eq!(c, vec!["#team ", "#tea "]);
        let (_, c) = complete("/part ", 6, &known());
        assert_eq!(c, vec!["#team ", "#tea "]);
        let (_, c) = complete("/msg #tea", 9, &known());
        assert_eq!(c, vec!["#team ", "#tea "]);
        let (_, c) = complete("/whois b", 8, &known());
        assert_eq!(c, vec!["bob ", "bobby "]);
        let (_, c) = complete("group add team b", 16, &known());
        assert_eq!(c, vec!["bob ", "bobby "]);
        let (_, c) = complete("group leave t", 13, &known());
        assert_eq!(c.len(), 2);
        let (_, c) = complete("create group crew alice b", 25, &known());
        assert_eq!(c, vec!["bob ", "bobby "], "every member after the name");
        let (_, c) = complete("create group cr", 15, &known());
        assert!(c.is_empty(), "a new group's name is the user's to choose");
    }
}
