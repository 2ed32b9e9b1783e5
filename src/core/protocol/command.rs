//! What a logged-in client can ask of the server, and the one table that describes each command.
//!
//! Like ngircd's and InspIRCd's command tables, everything the server needs to know about a command *before*
//! running it lives in one row: its name, its usage line, whether it counts as activity for the idle timeout,
//! and whether `help` lists it. The parser, the help text, the usage errors and the idle rule all read this
//! table, so they cannot drift apart.

use std::fmt;

use super::keys::SignedKeyRef;

/// A command's name: the first word of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandName {
    Message,
    MessageGroup,
    Broadcast,
    WhoElse,
    WhoElseSince,
    Block,
    Unblock,
    StartPrivate,
    Accept,
    Decline,
    StopPrivate,
    CreateGroup,
    GroupAdd,
    GroupLeave,
    GroupMembers,
    GroupList,
    Ping,
    WhoLastHr,
    Offline,
    Logout,
    Help,
    P2pPort,
    Active,
    Ack,
    Receipts,
    Acks,
    KeysIdentity,
    KeysAdd,
    KeysFallback,
    KeysClaim,
    KeysShow,
    Passwd,
}

/// One row of the command table.
#[derive(Debug)]
pub struct CommandSpec {
    pub name: CommandName,
    /// The word typed on the wire (matched case-insensitively).
    pub word: &'static str,
    /// The second word, for the commands that share their first (`message group`, `group add`, ...).
    pub sub: Option<&'static str>,
    /// The usage line shown on a wrong number of arguments and in `help`.
    pub usage: &'static str,
    /// One line for `help`.
    pub summary: &'static str,
    /// Whether issuing it resets the idle timeout. Commands a client sends on its own (acknowledgements,
    /// port registration) are not the user being active; `active` is the client reporting private-chat use,
    /// which is.
    pub activity: bool,
    /// Whether `help` and the unknown-command error list it. Client-internal commands are documented in
    /// docs/PROTOCOL.md but not offered to people typing at a prompt.
    pub listed: bool,
}

/// The command table, in the order `help` lists it.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: CommandName::Message,
        word: "message",
        sub: None,
        usage: "message <user> <text>",
        summary: "send <text> to <user>; kept for them if they are offline",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::MessageGroup,
        word: "message",
        sub: Some("group"),
        usage: "message group <name> <text>",
        summary: "send <text> to every member of group <name>; kept for members who are offline",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Broadcast,
        word: "broadcast",
        sub: None,
        usage: "broadcast <text>",
        summary: "send <text> to everyone online",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::WhoElse,
        word: "whoelse",
        sub: None,
        usage: "whoelse",
        summary: "list the other users online now",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::WhoElseSince,
        word: "whoelsesince",
        sub: None,
        usage: "whoelsesince <seconds>",
        summary: "list the users online at any time in the past <seconds>",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Block,
        word: "block",
        sub: None,
        usage: "block <user>",
        summary: "stop <user>'s messages and presence reaching you (they are not told)",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Unblock,
        word: "unblock",
        sub: None,
        usage: "unblock <user>",
        summary: "undo a block",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::StartPrivate,
        word: "startprivate",
        sub: None,
        usage: "startprivate <user>",
        summary: "ask <user> for a direct, peer-to-peer private chat",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Accept,
        word: "accept",
        sub: None,
        usage: "accept <user>",
        summary: "accept <user>'s request for a private chat",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Decline,
        word: "decline",
        sub: None,
        usage: "decline <user>",
        summary: "decline <user>'s request for a private chat",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::StopPrivate,
        word: "stopprivate",
        sub: None,
        usage: "stopprivate <user>",
        summary: "end the private chat with <user>",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::CreateGroup,
        word: "create",
        sub: Some("group"),
        usage: "create group <name> <member> [<member>...]",
        summary: "create group <name> with you and the members named",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::GroupAdd,
        word: "group",
        sub: Some("add"),
        usage: "group add <name> <user>",
        summary: "add <user> to a group you belong to (any member may add)",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::GroupLeave,
        word: "group",
        sub: Some("leave"),
        usage: "group leave <name>",
        summary: "leave a group (a group whose last member leaves is gone)",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::GroupMembers,
        word: "group",
        sub: Some("members"),
        usage: "group members <name>",
        summary: "list the members of a group you belong to",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::GroupList,
        word: "grouplist",
        sub: None,
        usage: "grouplist",
        summary: "list the groups you belong to, with their members",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Ping,
        word: "ping",
        sub: None,
        usage: "ping <user>",
        summary: "whether <user> is online (and idle how long) and whether your messages reach them",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::WhoLastHr,
        word: "wholasthr",
        sub: None,
        usage: "wholasthr",
        summary: "list the users online at any time in the last hour (whoelsesince 3600)",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Offline,
        word: "offline",
        sub: None,
        usage: "offline",
        summary: "show again the messages that were waiting for you at this login",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Logout,
        word: "logout",
        sub: None,
        usage: "logout",
        summary: "log out and disconnect",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Passwd,
        word: "passwd",
        sub: None,
        usage: "passwd",
        summary: "change your password (the server asks for the current one, then the new one)",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::Help,
        word: "help",
        sub: None,
        usage: "help",
        summary: "show this list",
        activity: true,
        listed: true,
    },
    CommandSpec {
        name: CommandName::P2pPort,
        word: "p2pport",
        sub: None,
        usage: "p2pport <port>",
        summary: "(sent by the client) register the TCP port of your private-chat listener",
        activity: false,
        listed: false,
    },
    CommandSpec {
        name: CommandName::Active,
        word: "active",
        sub: None,
        usage: "active",
        summary: "(sent by the client) report private-chat activity, which resets the idle timeout",
        activity: true,
        listed: false,
    },
    CommandSpec {
        name: CommandName::Ack,
        word: "ack",
        sub: None,
        usage: "ack <id>",
        summary: "(sent by the client) confirm that the messages sent up to <id> were shown",
        activity: false,
        listed: false,
    },
    CommandSpec {
        name: CommandName::Receipts,
        word: "receipts",
        sub: None,
        usage: "receipts on|off",
        summary: "(sent by the client) be told SENT and DELIVERED for each message to an online user",
        activity: false,
        listed: false,
    },
    CommandSpec {
        name: CommandName::Acks,
        word: "acks",
        sub: None,
        usage: "acks on|off",
        summary: "(sent by the client) on: this client acknowledges the messages it shows, so keep each until it does",
        activity: false,
        listed: false,
    },
    // The key directory of end-to-end encryption: publishing is the client's own bookkeeping; claiming
    // and looking up someone's keys is the user starting a conversation.
    CommandSpec {
        name: CommandName::KeysIdentity,
        word: "keys",
        sub: Some("identity"),
        usage: "keys identity <curve25519> <ed25519>",
        summary: "(sent by the client) publish this account's identity keys; new ones replace the old and drop their keys",
        activity: false,
        listed: false,
    },
    CommandSpec {
        name: CommandName::KeysAdd,
        word: "keys",
        sub: Some("add"),
        usage: "keys add <keyid>:<curve25519>:<signature> [...]",
        summary: "(sent by the client) publish up to 20 one-time keys (an account holds at most 100)",
        activity: false,
        listed: false,
    },
    CommandSpec {
        name: CommandName::KeysFallback,
        word: "keys",
        sub: Some("fallback"),
        usage: "keys fallback <keyid>:<curve25519>:<signature>",
        summary: "(sent by the client) publish the fallback key, handed out when no one-time key is left",
        activity: false,
        listed: false,
    },
    CommandSpec {
        name: CommandName::KeysClaim,
        word: "keys",
        sub: Some("claim"),
        usage: "keys claim <user>",
        summary: "(sent by the client) take <user>'s identity keys and one of their one-time keys, to start an encrypted session",
        activity: true,
        listed: false,
    },
    CommandSpec {
        name: CommandName::KeysShow,
        word: "keys",
        sub: Some("show"),
        usage: "keys show <user>",
        summary: "(sent by the client) look up <user>'s identity keys (nothing is taken)",
        activity: true,
        listed: false,
    },
];

impl CommandName {
    /// This command's row of the table.
    pub fn spec(self) -> &'static CommandSpec {
        COMMANDS
            .iter()
            .find(|s| s.name == self)
            .expect("every CommandName has a row in COMMANDS")
    }

    pub fn word(self) -> &'static str {
        self.spec().word
    }

    /// The command as typed: its word, and its second word if it has one (`group add`).
    pub fn words(self) -> String {
        let spec = self.spec();
        match spec.sub {
            Some(sub) => format!("{} {sub}", spec.word),
            None => spec.word.to_owned(),
        }
    }

    /// Looks a command word up, ignoring ASCII case (people type `Whoelse`). For a word several commands
    /// share (`group`), the first of them.
    pub fn from_word(word: &str) -> Option<CommandName> {
        COMMANDS
            .iter()
            .find(|s| s.word.eq_ignore_ascii_case(word))
            .map(|s| s.name)
    }

    /// Looks up the command a first and second word name, ignoring ASCII case: the command with that
    /// second word if there is one, else the command of the first word alone.
    pub fn from_words(word: &str, sub: Option<&str>) -> Option<CommandName> {
        let with_sub = sub.and_then(|sub| {
            COMMANDS.iter().find(|s| {
                s.word.eq_ignore_ascii_case(word)
                    && s.sub.is_some_and(|x| x.eq_ignore_ascii_case(sub))
            })
        });
        with_sub
            .or_else(|| {
                COMMANDS
                    .iter()
                    .find(|s| s.word.eq_ignore_ascii_case(word) && s.sub.is_none())
            })
            .map(|s| s.name)
    }

    /// The commands typed with the same first word (`message` and `message group`; the `group` family).
    pub fn family(self) -> impl Iterator<Item = CommandName> {
        let word = self.word();
        COMMANDS
            .iter()
            .filter(move |s| s.word == word)
            .map(|s| s.name)
    }

    /// Every command name, in table order.
    pub fn all() -> impl Iterator<Item = CommandName> {
        COMMANDS.iter().map(|s| s.name)
    }

    /// The commands offered to people (`help`, unknown-command errors).
    pub fn listed() -> impl Iterator<Item = CommandName> {
        COMMANDS.iter().filter(|s| s.listed).map(|s| s.name)
    }
}

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A command name as one wire token: its words joined by `-` (`group-add`), for the fields of error
/// lines, which are single tokens.
pub fn token_of(name: CommandName) -> String {
    name.words().replace(' ', "-")
}

/// The command a token written by [`token_of`] names.
pub fn from_token(token: &str) -> Option<CommandName> {
    let (word, sub) = match token.split_once('-') {
        Some((w, s)) => (w, Some(s)),
        None => (token, None),
    };
    CommandName::all().find(|n| {
        let spec = n.spec();
        spec.word == word && spec.sub == sub
    })
}

/// A parsed command line. Borrowed from the line it was parsed from: the server copies only what it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `text` is kept exactly as typed after the single space that follows the username.
    Message {
        to: &'a str,
        text: &'a str,
    },
    /// `message group <group> <text>`.
    MessageGroup {
        group: &'a str,
        text: &'a str,
    },
    Broadcast {
        text: &'a str,
    },
    WhoElse,
    WhoElseSince {
        secs: u64,
    },
    Block {
        user: &'a str,
    },
    Unblock {
        user: &'a str,
    },
    StartPrivate {
        user: &'a str,
    },
    Accept {
        user: &'a str,
    },
    Decline {
        user: &'a str,
    },
    StopPrivate {
        user: &'a str,
    },
    /// `create group <group> <member>...` (at least one member; a name given twice counts once).
    CreateGroup {
        group: &'a str,
        members: Vec<&'a str>,
    },
    GroupAdd {
        group: &'a str,
        user: &'a str,
    },
    GroupLeave {
        group: &'a str,
    },
    GroupMembers {
        group: &'a str,
    },
    GroupList,
    Ping {
        user: &'a str,
    },
    WhoLastHr,
    Offline,
    Logout,
    Help,
    P2pPort {
        port: u16,
    },
    Active,
    Ack {
        id: u64,
    },
    Receipts {
        on: bool,
    },
    /// `acks on|off`: whether this client acknowledges every message it shows (see docs/PROTOCOL.md).
    Acks {
        on: bool,
    },
    /// `keys identity <curve25519> <ed25519>`, both checked for shape.
    KeysIdentity {
        curve25519: &'a str,
        ed25519: &'a str,
    },
    /// `keys add <key>...`: 1 to [`MAX_KEYS_PER_LINE`](super::keys::MAX_KEYS_PER_LINE) one-time keys.
    KeysAdd {
        keys: Vec<SignedKeyRef<'a>>,
    },
    KeysFallback {
        key: SignedKeyRef<'a>,
    },
    KeysClaim {
        user: &'a str,
    },
    KeysShow {
        user: &'a str,
    },
    /// `passwd`: the next lines are the current password, then the new one.
    Passwd,
}

impl Command<'_> {
    pub fn name(&self) -> CommandName {
        match self {
            Command::Message { .. } => CommandName::Message,
            Command::MessageGroup { .. } => CommandName::MessageGroup,
            Command::Broadcast { .. } => CommandName::Broadcast,
            Command::WhoElse => CommandName::WhoElse,
            Command::WhoElseSince { .. } => CommandName::WhoElseSince,
            Command::Block { .. } => CommandName::Block,
            Command::Unblock { .. } => CommandName::Unblock,
            Command::StartPrivate { .. } => CommandName::StartPrivate,
            Command::Accept { .. } => CommandName::Accept,
            Command::Decline { .. } => CommandName::Decline,
            Command::StopPrivate { .. } => CommandName::StopPrivate,
            Command::CreateGroup { .. } => CommandName::CreateGroup,
            Command::GroupAdd { .. } => CommandName::GroupAdd,
            Command::GroupLeave { .. } => CommandName::GroupLeave,
            Command::GroupMembers { .. } => CommandName::GroupMembers,
            Command::GroupList => CommandName::GroupList,
            Command::Ping { .. } => CommandName::Ping,
            Command::WhoLastHr => CommandName::WhoLastHr,
            Command::Offline => CommandName::Offline,
            Command::Logout => CommandName::Logout,
            Command::Help => CommandName::Help,
            Command::P2pPort { .. } => CommandName::P2pPort,
            Command::Active => CommandName::Active,
            Command::Ack { .. } => CommandName::Ack,
            Command::Receipts { .. } => CommandName::Receipts,
            Command::Acks { .. } => CommandName::Acks,
            Command::KeysIdentity { .. } => CommandName::KeysIdentity,
            Command::KeysAdd { .. } => CommandName::KeysAdd,
            Command::KeysFallback { .. } => CommandName::KeysFallback,
            Command::KeysClaim { .. } => CommandName::KeysClaim,
            Command::KeysShow { .. } => CommandName::KeysShow,
            Command::Passwd => CommandName::Passwd,
        }
    }

    /// Whether this command resets the idle timeout (see [`CommandSpec::activity`]).
    pub fn is_activity(&self) -> bool {
        self.name().spec().activity
    }

    /// The wire form of this command, without a line ending. Parsing the result gives the command back.
    pub fn to_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.name().words();
        match self {
            Command::Message { to, text } => write!(f, "{word} {to} {text}"),
            Command::MessageGroup { group, text } => write!(f, "{word} {group} {text}"),
            Command::CreateGroup { group, members } => {
                write!(f, "{word} {group}")?;
                for m in members {
                    write!(f, " {m}")?;
                }
                Ok(())
            }
            Command::GroupAdd { group, user } => write!(f, "{word} {group} {user}"),
            Command::GroupLeave { group } | Command::GroupMembers { group } => {
                write!(f, "{word} {group}")
            }
            Command::Ping { user } => write!(f, "{word} {user}"),
            Command::Broadcast { text } => write!(f, "{word} {text}"),
            Command::WhoElseSince { secs } => write!(f, "{word} {secs}"),
            Command::Block { user }
            | Command::Unblock { user }
            | Command::StartPrivate { user }
            | Command::Accept { user }
            | Command::Decline { user }
            | Command::StopPrivate { user }
            | Command::KeysClaim { user }
            | Command::KeysShow { user } => write!(f, "{word} {user}"),
            Command::KeysIdentity {
                curve25519,
                ed25519,
            } => write!(f, "{word} {curve25519} {ed25519}"),
            Command::KeysAdd { keys } => {
                f.write_str(&word)?;
                for k in keys {
                    write!(f, " {k}")?;
                }
                Ok(())
            }
            Command::KeysFallback { key } => write!(f, "{word} {key}"),
            Command::P2pPort { port } => write!(f, "{word} {port}"),
            Command::Ack { id } => write!(f, "{word} {id}"),
            Command::Receipts { on } | Command::Acks { on } => {
                write!(f, "{word} {}", if *on { "on" } else { "off" })
            }
            Command::WhoElse
            | Command::Logout
            | Command::Help
            | Command::Active
            | Command::GroupList
            | Command::WhoLastHr
            | Command::Offline
            | Command::Passwd => f.write_str(&word),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_exactly_one_row() {
        for name in CommandName::all() {
            assert_eq!(COMMANDS.iter().filter(|s| s.name == name).count(), 1);
            let spec = name.spec();
            assert_eq!(CommandName::from_words(spec.word, spec.sub), Some(name));
            assert_eq!(from_token(&token_of(name)), Some(name));
        }
    }

    #[test]
    fn second_words_pick_the_command() {
        assert_eq!(
            CommandName::from_words("MESSAGE", Some("Group")),
            Some(CommandName::MessageGroup)
        );
        assert_eq!(
            CommandName::from_words("message", Some("bob")),
            Some(CommandName::Message)
        );
        assert_eq!(
            CommandName::from_words("group", Some("add")),
            Some(CommandName::GroupAdd)
        );
        assert_eq!(CommandName::from_words("group", Some("x")), None);
        assert_eq!(CommandName::GroupAdd.family().count(), 3);
        assert_eq!(token_of(CommandName::GroupAdd), "group-add");
    }

    #[test]
    fn words_match_case_insensitively() {
        assert_eq!(
            CommandName::from_word("WhoElse"),
            Some(CommandName::WhoElse)
        );
        assert_eq!(CommandName::from_word("nope"), None);
    }

    #[test]
    fn client_internal_commands_are_not_listed() {
        let listed: Vec<_> = CommandName::listed().collect();
        assert!(!listed.contains(&CommandName::Ack));
        assert!(!listed.contains(&CommandName::P2pPort));
        assert!(listed.contains(&CommandName::Message));
    }

    #[test]
    fn acknowledgements_and_port_registration_are_not_activity() {
        assert!(!Command::Ack { id: 3 }.is_activity());
        assert!(!Command::P2pPort { port: 9 }.is_activity());
        assert!(!Command::Acks { on: true }.is_activity());
        assert!(Command::Active.is_activity());
        assert!(Command::WhoElse.is_activity());
    }

    /// Publishing keys is what the client does by itself; asking for someone's keys is the user
    /// starting a conversation.
    #[test]
    fn publishing_keys_is_bookkeeping_and_claiming_is_not() {
        for name in [
            CommandName::KeysIdentity,
            CommandName::KeysAdd,
            CommandName::KeysFallback,
        ] {
            assert!(!name.spec().activity, "{name:?}");
        }
        assert!(Command::KeysClaim { user: "a" }.is_activity());
        assert!(Command::KeysShow { user: "a" }.is_activity());
        assert_eq!(CommandName::KeysAdd.family().count(), 5);
        assert_eq!(token_of(CommandName::KeysClaim), "keys-claim");
    }
}
