//! What a typed line means, in line mode and in each window of the full-screen client: the one table
//! of the client's own words (irssi's aliases, `private`, the window commands) beside the server's
//! command table, and the rules for when a line is a command and when it is said.
//!
//! - In line mode and in the full-screen status window a line is a command, with or without a leading
//!   `/` (`whoelse`, `/whoelse`).
//! - In a conversation's window (a user, a group, the broadcasts, a private chat) a line is said to that
//!   conversation; only a line starting with `/` is a command, as in irssi and weechat, and `//text`
//!   says `/text`. So "ping me when you are back" typed in bob's window is a message to bob.
//!
//! A line is read once, here, into a typed [`Input`]: what to say to whom ([`Input::Say`]), a
//! command for the server or the client ([`Input::Command`]), or a command for the full-screen
//! client's windows ([`Input::Window`]). Commands are parsed by the server's own grammar, so a usage
//! error reads exactly as the server would have put it. What the full-screen client's input line
//! hands the session is a [`Typed`]: a line already checked, with the window it was typed in, which
//! is what decides what it means.

use super::error::ClientError;
use crate::protocol::{
    Command, CommandName, Conversation, ErrorReply, Name, ParseError, check_line, parse_command,
    parse_user_and_text, split_command_word,
};

/// A line as typed, checked for what no line may hold: a line break (a paste into line mode's
/// editor keeps them: several commands in one, sent as none of them) or another control character
/// (which could rewrite the terminals of those it is sent to).
pub fn check_typed(bytes: &[u8]) -> Result<&str, ClientError> {
    let breaks = bytes.iter().filter(|b| **b == b'\n').count();
    if breaks > 0 {
        return Err(ClientError::SeveralLines(breaks + 1));
    }
    check_line(bytes).map_err(ClientError::Input)
}

/// A line typed in the full-screen client's input line while logged in, as the view model hands it
/// to the session: checked once, when it was made, and kept with the window it was typed in, which
/// decides what it means ([`Typed::read`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Typed {
    text: String,
    /// The conversation of the window it was typed in; `None`: the status window.
    window: Option<Conversation>,
}

impl Typed {
    /// `text`, typed at `place`; refused (the error says why) if it holds what no line may.
    pub fn new(text: String, place: Place<'_>) -> Result<Typed, ClientError> {
        check_typed(text.as_bytes())?;
        let window = match place {
            Place::Window(c) => Some(c.clone()),
            Place::Prompt | Place::Status => None,
        };
        Ok(Typed { text, window })
    }

    /// The line, as typed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Where it was typed.
    pub fn place(&self) -> Place<'_> {
        match &self.window {
            Some(c) => Place::Window(c),
            None => Place::Status,
        }
    }

    /// What it means, in the window it was typed in (the window commands exist: it was typed in
    /// the full-screen client).
    pub fn read(&self) -> Result<Input<'_>, InputError> {
        read(&self.text, self.place(), true)
    }
}

/// Where a line was typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place<'c> {
    /// Line mode: every line is a command.
    Prompt,
    /// The full-screen status window: every line is a command too.
    Status,
    /// A conversation's window: a line is said there, unless it starts with `/`.
    Window(&'c Conversation),
}

/// One line typed while logged in, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// Nothing but spaces: ignored, like a shell ignores an empty line.
    Blank,
    /// Text for a conversation, never a command: a message to a user or a group, a broadcast, or a
    /// line of a private chat (which goes over the peer-to-peer link only).
    Say {
        /// The conversation.
        to: Conversation,
        /// What is said, exactly as typed.
        text: &'a str,
    },
    /// A command for the server (or one the client answers itself, like `help`).
    Command(Command<'a>),
    /// A command for the full-screen client's windows.
    Window(WindowCommand<'a>),
    /// One of the client's own end-to-end key commands.
    Keys(KeyCommand),
    /// What to do about the connection to the server: `/reconnect`, `/disconnect`.
    Link(LinkCommand),
}

/// The client's own words about its connection to the server, which work whether or not it is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkCommand {
    /// `reconnect`: try to reach the server now rather than after the wait, or log in again after
    /// being logged out.
    Reconnect,
    /// `disconnect`: log out (or stop trying to reach the server) and stay open with every window,
    /// trying nothing until `reconnect`.
    Disconnect,
}

/// The client's own end-to-end key commands (see [`super::e2e`]). Accepting or verifying a key names
/// it by the first digits of its part of the safety number, as shown: a key that changed since is
/// not the one accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCommand {
    /// `verify <user>`: show the safety number.
    Verify {
        /// The user.
        user: Name,
    },
    /// `verify <user> yes <digits>`: the number shown was compared and matched.
    Confirm {
        /// The user.
        user: Name,
        /// The first digits of their part of the safety number, as compared.
        digits: String,
    },
    /// `verify <user> no`: take a verified mark back.
    Unverify {
        /// The user.
        user: Name,
    },
    /// `trust <user> <digits>`: accept `user`'s changed identity key, the one shown with `digits`.
    Trust {
        /// The user.
        user: Name,
        /// The first digits of the new key's part of the safety number, as shown.
        digits: String,
    },
    /// `reject <user>`: keep `user`'s old key.
    Reject {
        /// The user.
        user: Name,
    },
    /// `sendclear <user>`: send what waits for `user`, who has no keys, unencrypted.
    SendClear {
        /// The user.
        user: Name,
    },
    /// `sharedwith <group>`: whom this user's current key for the group went to.
    SharedWith {
        /// The group.
        group: Name,
    },
    /// `movehere`: make this device the account's.
    MoveHere,
    /// `e2e-reset <user|group>`: start over a conversation whose stored state could not be read.
    Reset {
        /// The user or group.
        name: Name,
    },
    /// `e2e-unlock <previous password>`: open the stored keys with the password they were locked
    /// with, and lock them with the current one.
    Unlock {
        /// The password the keys were locked with, as typed (trimmed).
        password: String,
    },
    /// `e2e-newkeys`: set the stored keys aside and make new ones.
    NewKeys,
}

const VERIFY_USAGE: &str = "verify <user> [yes <digits>|no]";
const TRUST_USAGE: &str = "trust <user> <digits>";
const REJECT_USAGE: &str = "reject <user>";
const SENDCLEAR_USAGE: &str = "sendclear <user>";
const SHAREDWITH_USAGE: &str = "sharedwith <group>";
const MOVEHERE_USAGE: &str = "movehere";
const RESET_USAGE: &str = "e2e-reset <user|group>";
const UNLOCK_USAGE: &str = "e2e-unlock <previous password>";

/// `user` as a name, or the usage error.
fn user_arg(user: &str, usage: &'static str) -> Result<Name, InputError> {
    crate::protocol::name::check_username(user)
        .map(|_| Name::from(user))
        .map_err(|_| InputError::Client(ClientError::Usage(usage)))
}

/// The digits that confirm a key: five of them, as shown.
fn digits_arg(digits: &str, usage: &'static str) -> Result<String, InputError> {
    if digits.len() == crate::client::e2e::safety::DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(digits.to_owned())
    } else {
        Err(InputError::Client(ClientError::Usage(usage)))
    }
}

/// One argument, a user: for `reject` and `sendclear`.
fn one_user(
    args: &str,
    usage: &'static str,
    make: fn(Name) -> KeyCommand,
) -> Result<Input<'static>, InputError> {
    match args.split_whitespace().collect::<Vec<_>>()[..] {
        [user] => Ok(Input::Keys(make(user_arg(user, usage)?))),
        _ => Err(InputError::Client(ClientError::Usage(usage))),
    }
}

/// What the full-screen client's own commands ask of its windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowCommand<'a> {
    /// `/win N`: show window N (as typed; the screen checks it).
    Show(&'a str),
    /// `/close`: close this window.
    Close,
    /// `/query USER`: open (or show) a window for USER.
    Query(&'a str),
}

/// Why a typed line is refused before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// The same error the server would give.
    Server(ErrorReply),
    /// One of the client's own (its own words, or a window command in line mode).
    Client(ClientError),
}

/// What one of the client's own words does.
#[derive(Clone, Copy, Debug)]
enum Meaning {
    /// Another name (irssi's) for one of natter's commands, read by a rule of its own: `msg` takes a
    /// user and text like `message`; `quit` and `who` take whatever follows (irssi's quit message,
    /// a channel) and ignore it.
    Alias(fn(&str) -> Result<Input<'_>, InputError>),
    /// `private <user> <text>`.
    Private,
    /// One of the window commands.
    Window(fn(&str) -> Result<Input<'_>, InputError>),
}

/// One of the client's own words.
#[derive(Debug)]
pub struct ClientWord {
    /// The word, as typed (any ASCII case).
    pub word: &'static str,
    /// For `help`; empty for an alias, which `help` does not list.
    pub usage: &'static str,
    /// Its line in `help`.
    pub summary: &'static str,
    /// Only the full-screen client has windows.
    pub full_screen_only: bool,
    meaning: Meaning,
}

/// The usage of the client's only command that never reaches the server.
pub const PRIVATE_USAGE: &str = "private <user> <text>";

/// The client's own words, both modes: the aliases, `private`, the window commands.
pub const CLIENT_WORDS: &[ClientWord] = &[
    ClientWord {
        word: "private",
        usage: PRIVATE_USAGE,
        summary: "send <text> to <user> over your direct private chat (never via the server)",
        full_screen_only: false,
        meaning: Meaning::Private,
    },
    ClientWord {
        word: "query",
        usage: "/query <user>",
        summary: "open a window for a conversation with <user>",
        full_screen_only: true,
        meaning: Meaning::Window(
            |args| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [user] => Ok(Input::Window(WindowCommand::Query(user))),
                _ => Err(InputError::Client(ClientError::Usage("/query <user>"))),
            },
        ),
    },
    ClientWord {
        word: "win",
        usage: "/win <number>",
        summary: "show window <number> (Alt-1..9 and Ctrl-N/Ctrl-P do too)",
        full_screen_only: true,
        meaning: Meaning::Window(
            |args| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [n] => Ok(Input::Window(WindowCommand::Show(n))),
                _ => Err(InputError::Client(ClientError::Usage("/win <number>"))),
            },
        ),
    },
    ClientWord {
        word: "close",
        usage: "/close",
        summary: "close this window (not the status window)",
        full_screen_only: true,
        meaning: Meaning::Window(|args| {
            if args.trim().is_empty() {
                Ok(Input::Window(WindowCommand::Close))
            } else {
                Err(InputError::Client(ClientError::Usage("/close")))
            }
        }),
    },
    ClientWord {
        word: "verify",
        usage: VERIFY_USAGE,
        summary: "show the safety number you and <user> compare out of band; 'yes <digits>' (the digits it gives) marks <user> verified, 'no' takes it back",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            let usage = || InputError::Client(ClientError::Usage(VERIFY_USAGE));
            let command = match args.split_whitespace().collect::<Vec<_>>()[..] {
                [user] => KeyCommand::Verify {
                    user: user_arg(user, VERIFY_USAGE)?,
                },
                [user, yes, digits] if yes.eq_ignore_ascii_case("yes") => KeyCommand::Confirm {
                    user: user_arg(user, VERIFY_USAGE)?,
                    digits: digits_arg(digits, VERIFY_USAGE)?,
                },
                [user, no] if no.eq_ignore_ascii_case("no") => KeyCommand::Unverify {
                    user: user_arg(user, VERIFY_USAGE)?,
                },
                _ => return Err(usage()),
            };
            Ok(Input::Keys(command))
        }),
    },
    ClientWord {
        word: "trust",
        usage: TRUST_USAGE,
        summary: "accept <user>'s changed encryption key: exactly the one whose safety number starts with <digits>",
        full_screen_only: false,
        meaning: Meaning::Alias(
            |args| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [user, digits] => Ok(Input::Keys(KeyCommand::Trust {
                    user: user_arg(user, TRUST_USAGE)?,
                    digits: digits_arg(digits, TRUST_USAGE)?,
                })),
                _ => Err(InputError::Client(ClientError::Usage(TRUST_USAGE))),
            },
        ),
    },
    ClientWord {
        word: "reject",
        usage: REJECT_USAGE,
        summary: "refuse <user>'s changed encryption key and keep the old one",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            one_user(args, REJECT_USAGE, |user| KeyCommand::Reject { user })
        }),
    },
    ClientWord {
        word: "sendclear",
        usage: SENDCLEAR_USAGE,
        summary: "send what waits for <user>, who has no encryption keys, NOT encrypted (the server can read it)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            one_user(args, SENDCLEAR_USAGE, |user| KeyCommand::SendClear { user })
        }),
    },
    ClientWord {
        word: "sharedwith",
        usage: SHAREDWITH_USAGE,
        summary: "list whom your current encryption key for <group> went to, and who is left out",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            let usage = || InputError::Client(ClientError::Usage(SHAREDWITH_USAGE));
            match args.split_whitespace().collect::<Vec<_>>()[..] {
                [group] => {
                    crate::protocol::name::check_group_name(group).map_err(|_| usage())?;
                    Ok(Input::Keys(KeyCommand::SharedWith {
                        group: Name::from(group),
                    }))
                }
                _ => Err(usage()),
            }
        }),
    },
    ClientWord {
        word: "movehere",
        usage: MOVEHERE_USAGE,
        summary: "move your account's encryption keys to this device (when they are on another)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            if args.trim().is_empty() {
                Ok(Input::Keys(KeyCommand::MoveHere))
            } else {
                Err(InputError::Client(ClientError::Usage(MOVEHERE_USAGE)))
            }
        }),
    },
    ClientWord {
        word: "e2e-reset",
        usage: RESET_USAGE,
        summary: "start over an encrypted conversation whose saved state could not be read",
        full_screen_only: false,
        meaning: Meaning::Alias(
            |args| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [name] => Ok(Input::Keys(KeyCommand::Reset {
                    name: Name::from(name),
                })),
                _ => Err(InputError::Client(ClientError::Usage(RESET_USAGE))),
            },
        ),
    },
    ClientWord {
        word: "e2e-unlock",
        usage: UNLOCK_USAGE,
        summary: "open your saved encryption keys with the password they were locked with",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            // Trimmed, as the server trims the password typed at login.
            let password = args.trim();
            if password.is_empty() {
                return Err(InputError::Client(ClientError::Usage(UNLOCK_USAGE)));
            }
            Ok(Input::Keys(KeyCommand::Unlock {
                password: password.to_owned(),
            }))
        }),
    },
    ClientWord {
        word: "e2e-newkeys",
        usage: "e2e-newkeys",
        summary: "set your saved encryption keys aside and make new ones (contacts see a new key)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            if args.trim().is_empty() {
                Ok(Input::Keys(KeyCommand::NewKeys))
            } else {
                Err(InputError::Client(ClientError::Usage("e2e-newkeys")))
            }
        }),
    },
    ClientWord {
        word: "msg",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|args| {
            parse_user_and_text(args)
                .map(|(to, text)| Input::Say {
                    to: Conversation::User(Name::from(to)),
                    text,
                })
                .ok_or(InputError::Server(ErrorReply::Usage {
                    command: CommandName::Message,
                }))
        }),
    },
    ClientWord {
        word: "quit",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|_| Ok(Input::Command(Command::Logout))),
    },
    ClientWord {
        word: "who",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|_| Ok(Input::Command(Command::WhoElse))),
    },
    ClientWord {
        word: "reconnect",
        usage: "reconnect",
        summary: "try to reach the server now (rather than after the wait), or log in again after being logged out; your windows stay",
        full_screen_only: false,
        // (irssi's server tag, if typed, is ignored: there is one server connection.)
        meaning: Meaning::Alias(|_| Ok(Input::Link(LinkCommand::Reconnect))),
    },
    ClientWord {
        word: "disconnect",
        usage: "disconnect",
        summary: "log out and stay open, with every window, without trying to reconnect until 'reconnect'",
        full_screen_only: false,
        meaning: Meaning::Alias(|_| Ok(Input::Link(LinkCommand::Disconnect))),
    },
];

/// The client word `word` (any ASCII case), if it is one.
fn client_word(word: &str) -> Option<&'static ClientWord> {
    CLIENT_WORDS
        .iter()
        .find(|w| w.word.eq_ignore_ascii_case(word))
}

/// Reads one line typed while logged in, at `place`. `full_screen` says whether the window commands
/// exist.
pub fn read<'a>(
    line: &'a str,
    place: Place<'_>,
    full_screen: bool,
) -> Result<Input<'a>, InputError> {
    if line.trim().is_empty() {
        return Ok(Input::Blank);
    }
    let command = match place {
        Place::Window(to) => match line.strip_prefix('/') {
            // `//text` says `/text`.
            Some(rest) if rest.starts_with('/') => {
                return Ok(Input::Say {
                    to: to.clone(),
                    text: rest,
                });
            }
            Some(rest) => rest,
            None => {
                return Ok(Input::Say {
                    to: to.clone(),
                    text: line,
                });
            }
        },
        // A command, with or without its slash (and the spaces a person may type before it).
        Place::Prompt | Place::Status => {
            let trimmed = line.trim_start_matches([' ', '\t']);
            trimmed.strip_prefix('/').unwrap_or(trimmed)
        }
    };
    read_command(command, full_screen)
}

/// A command line, its `/` gone.
fn read_command(line: &str, full_screen: bool) -> Result<Input<'_>, InputError> {
    let Some((word, args)) = split_command_word(line) else {
        return Ok(Input::Blank);
    };
    if let Some(own) = client_word(word) {
        return match own.meaning {
            Meaning::Alias(read) => read(args),
            Meaning::Private => parse_user_and_text(args)
                .map(|(to, text)| Input::Say {
                    to: Conversation::Private(Name::from(to)),
                    text,
                })
                .ok_or(InputError::Client(ClientError::PrivateUsage)),
            Meaning::Window(_) if !full_screen => {
                Err(InputError::Client(ClientError::FullScreenOnly(own.word)))
            }
            Meaning::Window(read) => read(args),
        };
    }
    match parse_command(line) {
        // The client sends these itself; typed by a person they would only confuse its bookkeeping.
        Ok(cmd) if !cmd.name().spec().listed => {
            Err(InputError::Client(ClientError::UnknownCommand))
        }
        Ok(Command::Message { to, text }) => Ok(Input::Say {
            to: Conversation::User(Name::from(to)),
            text,
        }),
        Ok(Command::MessageGroup { group, text }) => Ok(Input::Say {
            to: Conversation::Group(Name::from(group)),
            text,
        }),
        Ok(Command::Broadcast { text }) => Ok(Input::Say {
            to: Conversation::Broadcasts,
            text,
        }),
        Ok(cmd) => Ok(Input::Command(cmd)),
        Err(ParseError::Usage(name) | ParseError::BadNumber(name)) if !name.spec().listed => {
            Err(InputError::Client(ClientError::UnknownCommand))
        }
        Err(ParseError::Unknown) => Err(InputError::Client(ClientError::UnknownCommand)),
        Err(e) => Err(InputError::Server(ErrorReply::from(e))),
    }
}

/// What of a line typed at `place` may be kept in the history file: commands, but never what was said
/// in a private chat (only `private <user>`, to pick the command up again), and never text said in a
/// private chat's window. A password is never offered here: the prompts for one keep nothing.
pub fn history_entry(line: &str, place: Place<'_>) -> Option<String> {
    if line.trim().is_empty() {
        return None;
    }
    match place {
        Place::Window(Conversation::Private(_))
            if !line.starts_with('/') || line.starts_with("//") =>
        {
            None
        }
        _ => {
            let command = line.trim_start_matches([' ', '\t']);
            let command = command.strip_prefix('/').unwrap_or(command);
            let said_privately = split_command_word(command)
                .is_some_and(|(word, _)| word.eq_ignore_ascii_case("private"));
            if !said_privately || matches!(place, Place::Window(_) if !line.starts_with('/')) {
                return Some(line.to_owned());
            }
            // `private bob <text>`: the command and the user only.
            let (word, args) = split_command_word(command)?;
            let user = args.split_whitespace().next();
            let slash = if line.trim_start().starts_with('/') {
                "/"
            } else {
                ""
            };
            Some(match user {
                Some(user) => format!("{slash}{word} {user} "),
                None => format!("{slash}{word}"),
            })
        }
    }
}

/// `(usage, summary)` for every command a person can type, in `help` order: the server's listed
/// commands, `private` after `decline`, the end-to-end encryption commands, then (in the
/// full-screen client) the window commands.
pub fn help_rows(full_screen: bool) -> Vec<(&'static str, &'static str)> {
    let mut rows = Vec::new();
    for name in CommandName::listed() {
        let spec = name.spec();
        rows.push((spec.usage, spec.summary));
        if name == CommandName::Decline {
            rows.extend(
                CLIENT_WORDS
                    .iter()
                    .filter(|w| matches!(w.meaning, Meaning::Private))
                    .map(|w| (w.usage, w.summary)),
            );
        }
    }
    // The client's own commands with a usage of their own (irssi's aliases have none).
    rows.extend(
        CLIENT_WORDS
            .iter()
            .filter(|w| {
                !w.usage.is_empty() && !w.full_screen_only && matches!(w.meaning, Meaning::Alias(_))
            })
            .map(|w| (w.usage, w.summary)),
    );
    if full_screen {
        rows.extend(
            CLIENT_WORDS
                .iter()
                .filter(|w| w.full_screen_only)
                .map(|w| (w.usage, w.summary)),
        );
    }
    rows
}

/// The words that start a command a person can type, each once, in `help` order (the window
/// commands only in the full-screen client).
pub fn command_words(full_screen: bool) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = help_rows(full_screen)
        .into_iter()
        .map(|(usage, _)| {
            let usage = usage.trim_start_matches('/');
            usage.split(' ').next().unwrap_or(usage)
        })
        .collect();
    // `message` and `message group`, the `group` family: each word once.
    words.dedup();
    words
}

/// Whether `word` is one of irssi's names the client takes (`msg`, `quit`, `who`), and the natter
/// word it stands for.
pub fn alias_of(word: &str) -> Option<&'static str> {
    match client_word(word)?.word {
        "msg" => Some("message"),
        "quit" => Some("logout"),
        "who" => Some("whoelse"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(line: &str) -> Result<Input<'_>, InputError> {
        read(line, Place::Prompt, false)
    }

    fn bob() -> Conversation {
        Conversation::User("bob".into())
    }

    fn say(to: Conversation, text: &str) -> Result<Input<'_>, InputError> {
        Ok(Input::Say { to, text })
    }

    #[test]
    fn server_commands_parse_with_the_servers_grammar() {
        assert_eq!(prompt("  message bob  hi "), say(bob(), " hi "));
        assert_eq!(prompt("WhoElse"), Ok(Input::Command(Command::WhoElse)));
        assert_eq!(
            prompt("message bob"),
            Err(InputError::Server(ErrorReply::Usage {
                command: CommandName::Message
            }))
        );
        assert_eq!(
            prompt("whoelsesince soon"),
            Err(InputError::Server(ErrorReply::BadNumber {
                command: CommandName::WhoElseSince
            }))
        );
        assert_eq!(
            prompt("message group crew hi"),
            say(Conversation::Group("crew".into()), "hi")
        );
        assert_eq!(
            prompt("broadcast all"),
            say(Conversation::Broadcasts, "all")
        );
    }

    #[test]
    fn slash_commands_and_irssi_names() {
        assert_eq!(prompt("/whoelse"), Ok(Input::Command(Command::WhoElse)));
        assert_eq!(prompt("  /msg bob  hi "), say(bob(), " hi "));
        assert_eq!(prompt("/QUIT"), Ok(Input::Command(Command::Logout)));
        assert_eq!(prompt("/quit see you"), Ok(Input::Command(Command::Logout)));
        assert_eq!(prompt("/who"), Ok(Input::Command(Command::WhoElse)));
        assert_eq!(prompt("message bob /msg"), say(bob(), "/msg"));
        assert_eq!(prompt("/"), Ok(Input::Blank));
        assert_eq!(
            prompt("/msg bob"),
            Err(InputError::Server(ErrorReply::Usage {
                command: CommandName::Message
            }))
        );
        assert_eq!(alias_of("MSG"), Some("message"));
        assert_eq!(alias_of("private"), None);
    }

    #[test]
    fn in_a_conversation_only_slash_starts_a_command() {
        let here = Place::Window(&Conversation::User("bob".into()));
        for text in [
            "ping me when you are back",
            "logout is what I did yesterday",
            "whoelse",
            " /whoelse",
            "message carol hi",
        ] {
            assert_eq!(read(text, here, true), say(bob(), text), "{text}");
        }
        assert_eq!(
            read("//etc/hosts is the file", here, true),
            say(bob(), "/etc/hosts is the file")
        );
        assert_eq!(
            read("/whoelse", here, true),
            Ok(Input::Command(Command::WhoElse))
        );
        assert_eq!(
            read("/msg carol hi", here, true),
            say(Conversation::User("carol".into()), "hi")
        );
        assert_eq!(read("   ", here, true), Ok(Input::Blank));
        let crew = Conversation::Group("crew".into());
        assert_eq!(
            read("hi all", Place::Window(&crew), true),
            say(crew.clone(), "hi all")
        );
        // The status window keeps bare commands.
        assert_eq!(
            read("whoelse", Place::Status, true),
            Ok(Input::Command(Command::WhoElse))
        );
        assert_eq!(
            read("hello", Place::Status, true),
            Err(InputError::Client(ClientError::UnknownCommand))
        );
    }

    #[test]
    fn a_typed_line_is_read_in_the_window_it_was_typed_in() {
        let typed = Typed::new("whoelse".into(), Place::Window(&bob())).unwrap();
        assert_eq!(typed.read(), say(bob(), "whoelse"));
        let typed = Typed::new("whoelse".into(), Place::Status).unwrap();
        assert_eq!(typed.read(), Ok(Input::Command(Command::WhoElse)));
        assert_eq!(
            Typed::new("hi\u{1b}[2J".into(), Place::Window(&bob())),
            Err(ClientError::Input(crate::protocol::LineError::ControlChar))
        );
        assert_eq!(
            Typed::new("one\ntwo".into(), Place::Status),
            Err(ClientError::SeveralLines(2))
        );
    }

    #[test]
    fn private_is_the_clients_own() {
        let private = |u: &str| Conversation::Private(u.into());
        assert_eq!(
            prompt("private bob  a secret "),
            say(private("bob"), " a secret ")
        );
        assert_eq!(prompt("PRIVATE bob x"), say(private("bob"), "x"));
        for bad in ["private", "private bob", "private bob   "] {
            assert_eq!(
                prompt(bad),
                Err(InputError::Client(ClientError::PrivateUsage)),
                "{bad}"
            );
        }
    }

    #[test]
    fn window_commands_belong_to_the_full_screen_client() {
        assert_eq!(
            read("/query bob", Place::Status, true),
            Ok(Input::Window(WindowCommand::Query("bob")))
        );
        assert_eq!(
            read("/win 3", Place::Status, true),
            Ok(Input::Window(WindowCommand::Show("3")))
        );
        assert_eq!(
            read("/close", Place::Window(&bob()), true),
            Ok(Input::Window(WindowCommand::Close))
        );
        assert_eq!(
            read("/query", Place::Status, true),
            Err(InputError::Client(ClientError::Usage("/query <user>")))
        );
        assert_eq!(
            prompt("/query bob"),
            Err(InputError::Client(ClientError::FullScreenOnly("query")))
        );
    }

    #[test]
    fn blank_unknown_and_internal() {
        assert_eq!(prompt("   "), Ok(Input::Blank));
        assert_eq!(prompt(""), Ok(Input::Blank));
        for bad in [
            "dance",
            "ack 3",
            "ack x",
            "p2pport 5000",
            "active",
            "privatebob hi",
        ] {
            assert_eq!(
                prompt(bad),
                Err(InputError::Client(ClientError::UnknownCommand)),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_history_keeps_commands_but_not_what_was_said_privately() {
        let p = Place::Prompt;
        assert_eq!(history_entry("whoelse", p).as_deref(), Some("whoelse"));
        assert_eq!(
            history_entry("message bob hi", p).as_deref(),
            Some("message bob hi")
        );
        assert_eq!(
            history_entry("private bob the code is 1234", p).as_deref(),
            Some("private bob ")
        );
        assert_eq!(
            history_entry("/PRIVATE bob x", p).as_deref(),
            Some("/PRIVATE bob ")
        );
        assert_eq!(history_entry("private", p).as_deref(), Some("private"));
        assert_eq!(history_entry("   ", p), None);
        let private = Conversation::Private("bob".into());
        let in_private = Place::Window(&private);
        assert_eq!(history_entry("the code is 1234", in_private), None);
        assert_eq!(history_entry("//etc", in_private), None);
        assert_eq!(
            history_entry("/whoelse", in_private).as_deref(),
            Some("/whoelse")
        );
        // Said in bob's (ordinary) window, "private ..." is a message to bob, kept like any.
        assert_eq!(
            history_entry("private matters", Place::Window(&bob())).as_deref(),
            Some("private matters")
        );
        assert_eq!(
            history_entry("/private bob psst", Place::Window(&bob())).as_deref(),
            Some("/private bob ")
        );
    }

    #[test]
    fn help_lists_private_and_no_internal_commands() {
        let words = command_words(false);
        assert!(words.contains(&"private"));
        assert!(words.contains(&"message"));
        assert!(!words.contains(&"ack"));
        assert!(!words.contains(&"p2pport"));
        assert!(!words.contains(&"query"));
        assert!(command_words(true).contains(&"query"));
        for e2e in [
            "verify",
            "trust",
            "reject",
            "sendclear",
            "sharedwith",
            "movehere",
        ] {
            assert!(words.contains(&e2e), "help lists {e2e}");
        }
        assert!(!words.contains(&"msg"), "aliases are not listed");
    }

    #[test]
    fn key_commands_name_the_key_by_its_digits() {
        let bob = Name::from("bob");
        assert_eq!(
            prompt("verify bob"),
            Ok(Input::Keys(KeyCommand::Verify { user: bob.clone() }))
        );
        assert_eq!(
            prompt("/verify bob yes 01234"),
            Ok(Input::Keys(KeyCommand::Confirm {
                user: bob.clone(),
                digits: "01234".into()
            }))
        );
        assert_eq!(
            prompt("verify bob no"),
            Ok(Input::Keys(KeyCommand::Unverify { user: bob.clone() }))
        );
        assert_eq!(
            prompt("trust bob 99999"),
            Ok(Input::Keys(KeyCommand::Trust {
                user: bob.clone(),
                digits: "99999".into()
            }))
        );
        for bad in [
            "verify bob yes",
            "trust bob",
            "trust bob 123",
            "verify bob yes abcde",
        ] {
            assert!(
                matches!(prompt(bad), Err(InputError::Client(ClientError::Usage(_)))),
                "{bad}"
            );
        }
        assert_eq!(
            prompt("reject bob"),
            Ok(Input::Keys(KeyCommand::Reject { user: bob.clone() }))
        );
        assert_eq!(prompt("movehere"), Ok(Input::Keys(KeyCommand::MoveHere)));
        // In a conversation's window, the slash form the hints use is a command too.
        let here = Conversation::User(bob.clone());
        assert_eq!(
            read("/trust bob 12345", Place::Window(&here), true),
            Ok(Input::Keys(KeyCommand::Trust {
                user: bob,
                digits: "12345".into()
            }))
        );
    }
}
