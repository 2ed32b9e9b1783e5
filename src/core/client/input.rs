//! What a typed line means, in line mode and in each window of the full-screen client: the one table
//! of the client's own words (irssi's words with natter's meaning, `private`, the window commands, the
//! key commands, and irssi's words natter has no meaning for, with what to type instead) beside the
//! server's command table, and the rules for when a line is a command and when it is said. A group is
//! `#name` or `name` wherever one is named.
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
    /// `/me <text>`: an action said to a conversation, shown `* alice <text>`. It travels as a
    /// message whose text is [`super::action::ACTION_PREFIX`] and the action (see
    /// [`super::action`]), so it is encrypted like any message.
    Action {
        /// The conversation of the window it was typed in.
        to: Conversation,
        /// The action, as typed after `/me `.
        text: &'a str,
    },
    /// A command for the full-screen client's windows.
    Window(WindowCommand<'a>),
    /// One of the client's own end-to-end key commands.
    Keys(KeyCommand),
    /// One of the client's own commands that the session carries out (not the windows alone).
    Own(OwnCommand<'a>),
    /// What to do about the connection to the server: `/reconnect`, `/disconnect`.
    Link(LinkCommand),
}

/// The client's own commands that the session carries out: irssi's words with natter's meaning that
/// are more than one of the server's commands, and `help <command>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnCommand<'a> {
    /// `/join #group`: its window comes up; the user joins it (an open group, or an invitation), or
    /// creates it if there is no group of that name.
    Join(Name),
    /// `/ignore <user>`: hide their messages on this client, silently (the server is not told).
    Ignore(Name),
    /// `/unignore <user>`: show their messages again.
    Unignore(Name),
    /// `/ignore` alone: whom the user ignores.
    Ignored,
    /// `help <command>`: that command's usage and what it does (the word as typed, `#` and `/`
    /// gone).
    HelpFor(&'a str),
    /// `/hilights`: the lines that named the user this run.
    Hilights,
    /// `/hilight [<word>]`: highlight lines with `word` too (this run); alone, the words.
    Hilight(Option<&'a str>),
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
    /// `/query USER`: open (or show) a window for USER (`/query #group`: the group's).
    Query(&'a str),
    /// `/window list`: the windows, numbered.
    List,
    /// `/clear`: empty this window.
    Clear,
    /// `/lastlog TEXT`: this window's lines that contain TEXT.
    Lastlog(&'a str),
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
    Alias(Reader),
    /// `private <user> <text>`.
    Private,
    /// One of the window commands.
    Window(Reader),
    /// A word of irssi's (or of another client's) that natter has no meaning for: what to type
    /// instead.
    Instead(&'static str),
}

/// How a word reads its arguments: `args` is what follows the word, `here` the conversation of the
/// window it was typed in (`None`: line mode, or the status window).
type Reader = for<'a> fn(&'a str, Option<&'a Conversation>) -> Result<Input<'a>, InputError>;

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
        usage: QUERY_USAGE,
        summary: "open a window for a conversation with <user> (/query #<group>: the group's; /q too)",
        full_screen_only: true,
        meaning: Meaning::Window(query),
    },
    ClientWord {
        word: "win",
        usage: "/win <number>",
        summary: "show window <number> (Alt-1..9 and Ctrl-N/Ctrl-P do too)",
        full_screen_only: true,
        meaning: Meaning::Window(
            |args, _| match args.split_whitespace().collect::<Vec<_>>()[..] {
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
        meaning: Meaning::Window(|args, _| {
            if args.trim().is_empty() {
                Ok(Input::Window(WindowCommand::Close))
            } else {
                Err(InputError::Client(ClientError::Usage("/close")))
            }
        }),
    },
    ClientWord {
        word: "window",
        usage: WINDOW_USAGE,
        summary: "show window <number>, close this one (/wc too), or list the windows",
        full_screen_only: true,
        meaning: Meaning::Window(|args, _| {
            let usage = || InputError::Client(ClientError::Usage(WINDOW_USAGE));
            match args.split_whitespace().collect::<Vec<_>>()[..] {
                [] => Ok(Input::Window(WindowCommand::List)),
                [w] if w.eq_ignore_ascii_case("list") => Ok(Input::Window(WindowCommand::List)),
                [w] if w.eq_ignore_ascii_case("close") => Ok(Input::Window(WindowCommand::Close)),
                [goto, n] if goto.eq_ignore_ascii_case("goto") => {
                    Ok(Input::Window(WindowCommand::Show(n)))
                }
                [n] if n.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Input::Window(WindowCommand::Show(n)))
                }
                _ => Err(usage()),
            }
        }),
    },
    ClientWord {
        word: "clear",
        usage: "/clear",
        summary: "empty this window (what it held is gone from the screen)",
        full_screen_only: true,
        meaning: Meaning::Window(|args, _| {
            if args.trim().is_empty() {
                Ok(Input::Window(WindowCommand::Clear))
            } else {
                Err(InputError::Client(ClientError::Usage("/clear")))
            }
        }),
    },
    ClientWord {
        word: "lastlog",
        usage: LASTLOG_USAGE,
        summary: "list the lines of this window that contain <text> (any case)",
        full_screen_only: true,
        meaning: Meaning::Window(|args, _| match args.trim() {
            "" => Err(InputError::Client(ClientError::Usage(LASTLOG_USAGE))),
            text => Ok(Input::Window(WindowCommand::Lastlog(text))),
        }),
    },
    ClientWord {
        word: "q",
        usage: "",
        summary: "",
        full_screen_only: true,
        meaning: Meaning::Window(query),
    },
    ClientWord {
        word: "wc",
        usage: "",
        summary: "",
        full_screen_only: true,
        meaning: Meaning::Window(|args, _| {
            if args.trim().is_empty() {
                Ok(Input::Window(WindowCommand::Close))
            } else {
                Err(InputError::Client(ClientError::Usage("/wc")))
            }
        }),
    },
    ClientWord {
        word: "me",
        usage: ME_USAGE,
        summary: "say <text> as an action in this window's conversation: shown '* you <text>'",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, here| {
            // One space after the word, as `message` keeps its text.
            let text = args.strip_prefix([' ', '\t']).unwrap_or(args);
            match here {
                _ if text.trim().is_empty() => {
                    Err(InputError::Client(ClientError::Usage(ME_USAGE)))
                }
                Some(to) => Ok(Input::Action {
                    to: to.clone(),
                    text,
                }),
                None => Err(InputError::Client(ClientError::NeedsWindow {
                    word: "me",
                    instead: "type 'message <user> /me <text>' (or 'message group <name> /me <text>')",
                })),
            }
        }),
    },
    ClientWord {
        word: "join",
        usage: JOIN_USAGE,
        summary: "open group <group>'s window and join it (open, or you are invited), or create it if there is none",
        full_screen_only: false,
        meaning: Meaning::Alias(
            |args, _| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [group] => Ok(Input::Own(OwnCommand::Join(Name::from(group_arg(
                    group, JOIN_USAGE,
                )?)))),
                _ => Err(InputError::Client(ClientError::Usage(JOIN_USAGE))),
            },
        ),
    },
    ClientWord {
        word: "part",
        usage: PART_USAGE,
        summary: "leave group <group> (in a group's window: that group)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, here| {
            // irssi's `/part #chan message`: the message has nowhere to go, and is dropped.
            let group = match (args.split_whitespace().next(), here) {
                (Some(g), _) if g.starts_with('#') || here_group(here).is_none() => {
                    group_arg(g, PART_USAGE)?
                }
                (_, Some(Conversation::Group(g))) => &**g,
                _ => return Err(InputError::Client(ClientError::Usage(PART_USAGE))),
            };
            Ok(Input::Command(Command::GroupLeave {
                group,
                reason: None,
            }))
        }),
    },
    ClientWord {
        word: "names",
        usage: NAMES_USAGE,
        summary: "list group <group>'s members (in a group's window: that group; elsewhere, alone: who is online)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, here| {
            match (&args.split_whitespace().collect::<Vec<_>>()[..], here) {
                (&[group], _) => Ok(Input::Command(Command::GroupMembers {
                    group: group_arg(group, NAMES_USAGE)?,
                })),
                (&[], Some(Conversation::Group(g))) => {
                    Ok(Input::Command(Command::GroupMembers { group: g }))
                }
                (&[], _) => Ok(Input::Command(Command::WhoElse)),
                _ => Err(InputError::Client(ClientError::Usage(NAMES_USAGE))),
            }
        }),
    },
    ClientWord {
        word: "topic",
        usage: TOPIC_USAGE,
        summary: "show a group's topic, or set it to <text> (in a group's window: that group; '-' clears it)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, here| {
            let rest = args.trim_start_matches([' ', '\t']);
            let (group, text) = match (rest.strip_prefix('#'), here_group(here)) {
                // `/topic #team [text]`.
                (Some(named), _) => {
                    let (g, text) = named.split_once([' ', '\t']).unwrap_or((named, ""));
                    (group_arg(g, TOPIC_USAGE)?, text)
                }
                (None, Some(g)) => (g, rest),
                (None, None) => {
                    return Err(InputError::Client(ClientError::Usage(TOPIC_USAGE)));
                }
            };
            let text = text.trim();
            Ok(Input::Command(Command::GroupTopic {
                group,
                text: (!text.trim().is_empty()).then_some(text),
            }))
        }),
    },
    ClientWord {
        word: "ignore",
        usage: IGNORE_USAGE,
        summary: "hide <user>'s messages on this client, silently (kept across restarts; 'block' is the server's, which <user> learns of); alone: whom you ignore",
        full_screen_only: false,
        meaning: Meaning::Alias(
            |args, _| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [] => Ok(Input::Own(OwnCommand::Ignored)),
                [user] => Ok(Input::Own(OwnCommand::Ignore(user_arg(
                    user,
                    IGNORE_USAGE,
                )?))),
                _ => Err(InputError::Client(ClientError::Usage(IGNORE_USAGE))),
            },
        ),
    },
    ClientWord {
        word: "unignore",
        usage: UNIGNORE_USAGE,
        summary: "show <user>'s messages again",
        full_screen_only: false,
        meaning: Meaning::Alias(
            |args, _| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [user] => Ok(Input::Own(OwnCommand::Unignore(user_arg(
                    user,
                    UNIGNORE_USAGE,
                )?))),
                _ => Err(InputError::Client(ClientError::Usage(UNIGNORE_USAGE))),
            },
        ),
    },
    ClientWord {
        word: "hilights",
        usage: "/hilights",
        summary: "list the lines in groups and broadcasts that named you (or a word you chose) this run",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, _| {
            if args.trim().is_empty() {
                Ok(Input::Own(OwnCommand::Hilights))
            } else {
                Err(InputError::Client(ClientError::Usage("/hilights")))
            }
        }),
    },
    ClientWord {
        word: "hilight",
        usage: HILIGHT_USAGE,
        summary: "highlight lines with <word> too, this run (natter --hilight <word>: every run); alone: the words",
        full_screen_only: false,
        meaning: Meaning::Alias(
            |args, _| match args.split_whitespace().collect::<Vec<_>>()[..] {
                [] => Ok(Input::Own(OwnCommand::Hilight(None))),
                [word] => Ok(Input::Own(OwnCommand::Hilight(Some(word)))),
                _ => Err(InputError::Client(ClientError::Usage(HILIGHT_USAGE))),
            },
        ),
    },
    ClientWord {
        word: "verify",
        usage: VERIFY_USAGE,
        summary: "show the safety number you and <user> compare out of band; 'yes <digits>' (the digits it gives) marks <user> verified, 'no' takes it back",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, _| {
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
            |args, _| match args.split_whitespace().collect::<Vec<_>>()[..] {
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
        meaning: Meaning::Alias(|args, _| {
            one_user(args, REJECT_USAGE, |user| KeyCommand::Reject { user })
        }),
    },
    ClientWord {
        word: "sendclear",
        usage: SENDCLEAR_USAGE,
        summary: "send what waits for <user>, who has no encryption keys, NOT encrypted (the server can read it)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, _| {
            one_user(args, SENDCLEAR_USAGE, |user| KeyCommand::SendClear { user })
        }),
    },
    ClientWord {
        word: "sharedwith",
        usage: SHAREDWITH_USAGE,
        summary: "list whom your current encryption key for <group> went to, and who is left out",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, _| {
            let usage = || InputError::Client(ClientError::Usage(SHAREDWITH_USAGE));
            match args.split_whitespace().collect::<Vec<_>>()[..] {
                [group] => Ok(Input::Keys(KeyCommand::SharedWith {
                    group: Name::from(group_arg(group, SHAREDWITH_USAGE)?),
                })),
                _ => Err(usage()),
            }
        }),
    },
    ClientWord {
        word: "movehere",
        usage: MOVEHERE_USAGE,
        summary: "move your account's encryption keys to this device (when they are on another)",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, _| {
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
            |args, _| match args.split_whitespace().collect::<Vec<_>>()[..] {
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
        meaning: Meaning::Alias(|args, _| {
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
        meaning: Meaning::Alias(|args, _| {
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
        meaning: Meaning::Alias(|args, _| {
            // irssi's `/msg #channel text`, and natter's `message group <name> text`.
            let group_form = split_command_word(args)
                .filter(|(word, _)| word.eq_ignore_ascii_case("group"))
                .map(|(_, rest)| rest);
            let (to, text) = parse_user_and_text(group_form.unwrap_or(args)).ok_or(
                InputError::Server(ErrorReply::Usage {
                    command: if group_form.is_some() {
                        CommandName::MessageGroup
                    } else {
                        CommandName::Message
                    },
                }),
            )?;
            Ok(Input::Say {
                to: conversation_named(to, group_form.is_some()),
                text,
            })
        }),
    },
    ClientWord {
        word: "quit",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|_, _| Ok(Input::Command(Command::Logout))),
    },
    ClientWord {
        word: "who",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|_, _| Ok(Input::Command(Command::WhoElse))),
    },
    ClientWord {
        word: "reconnect",
        usage: "reconnect",
        summary: "try to reach the server now (rather than after the wait), or log in again after being logged out; your windows stay",
        full_screen_only: false,
        // (irssi's server tag, if typed, is ignored: there is one server connection.)
        meaning: Meaning::Alias(|_, _| Ok(Input::Link(LinkCommand::Reconnect))),
    },
    ClientWord {
        word: "disconnect",
        usage: "disconnect",
        summary: "log out and stay open, with every window, without trying to reconnect until 'reconnect'",
        full_screen_only: false,
        meaning: Meaning::Alias(|_, _| Ok(Input::Link(LinkCommand::Disconnect))),
    },
    ClientWord {
        word: "exit",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|_, _| Ok(Input::Command(Command::Logout))),
    },
    ClientWord {
        word: "bye",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|_, _| Ok(Input::Command(Command::Logout))),
    },
    ClientWord {
        word: "say",
        usage: "",
        summary: "",
        full_screen_only: false,
        meaning: Meaning::Alias(|args, here| {
            let text = args.strip_prefix([' ', '\t']).unwrap_or(args);
            match here {
                _ if text.trim().is_empty() => Ok(Input::Blank),
                Some(to) => Ok(Input::Say {
                    to: to.clone(),
                    text,
                }),
                None => Err(InputError::Client(ClientError::NeedsWindow {
                    word: "say",
                    instead: "type 'message <user> <text>' (or 'message group <name> <text>')",
                })),
            }
        }),
    },
    instead(
        "nick",
        "natter has no nicknames: you are named by your account (log in as another user to be someone else)",
    ),
    instead(
        "set",
        "natter has no settings command: the client's options are its command-line flags (natter --help)",
    ),
    instead(
        "list",
        "type 'grouplist' for the groups you are in; a group is joined with /join #<group>",
    ),
    instead(
        "invite",
        "type 'group add <group> <user>' (the user is invited, or added if the owner lets members add)",
    ),
    instead(
        "kick",
        "type 'group remove <group> <user> [<reason>]' (the group's owner only)",
    ),
    instead(
        "ban",
        "type 'block <user>' to stop their messages reaching you, or /ignore <user> to hide them silently",
    ),
    instead(
        "mode",
        "type 'group mode <group> invite|open', or 'group set <group> add direct|invite' or 'group set <group> topic members|owner'",
    ),
    instead(
        "op",
        "a group has one owner: 'group owner <group> <user>' hands it on",
    ),
    instead("notice", "type 'message <user> <text>'"),
    instead(
        "ctcp",
        "natter has no CTCP; 'ping <user>' says whether they are online and reachable",
    ),
    instead(
        "dcc",
        "type 'startprivate <user>' for a direct, peer-to-peer private chat",
    ),
    instead(
        "server",
        "the server is chosen when natter starts: natter --server <host:port>",
    ),
    instead(
        "connect",
        "the server is chosen when natter starts: natter --server <host:port>",
    ),
    instead(
        "quote",
        "type the server's command itself ('help' lists them)",
    ),
    instead(
        "raw",
        "type the server's command itself ('help' lists them)",
    ),
];

/// A word natter has no meaning for, with what to type instead.
const fn instead(word: &'static str, instead: &'static str) -> ClientWord {
    ClientWord {
        word,
        usage: "",
        summary: instead,
        full_screen_only: false,
        meaning: Meaning::Instead(instead),
    }
}

const QUERY_USAGE: &str = "/query <user>";
const WINDOW_USAGE: &str = "/window <number>|close|list";
const LASTLOG_USAGE: &str = "/lastlog <text>";
const ME_USAGE: &str = "/me <text>";
const JOIN_USAGE: &str = "/join #<group>";
const PART_USAGE: &str = "/part [#<group>]";
const NAMES_USAGE: &str = "/names [#<group>]";
const TOPIC_USAGE: &str = "/topic [#<group>] [<text>]";
const IGNORE_USAGE: &str = "/ignore [<user>]";
const UNIGNORE_USAGE: &str = "/unignore <user>";
const HILIGHT_USAGE: &str = "/hilight [<word>]";

/// `/query <user>` (or `/q`), `/query #<group>`.
fn query<'a>(args: &'a str, _: Option<&'a Conversation>) -> Result<Input<'a>, InputError> {
    match args.split_whitespace().collect::<Vec<_>>()[..] {
        [group] if group.starts_with('#') => {
            group_arg(group, QUERY_USAGE)?;
            Ok(Input::Window(WindowCommand::Query(group)))
        }
        [user] => Ok(Input::Window(WindowCommand::Query(user))),
        _ => Err(InputError::Client(ClientError::Usage(QUERY_USAGE))),
    }
}

/// A group as typed, `#team` or `team`: its name, or the usage error.
fn group_arg<'a>(group: &'a str, usage: &'static str) -> Result<&'a str, InputError> {
    let name = group.strip_prefix('#').unwrap_or(group);
    crate::protocol::name::check_group_name(name)
        .map(|_| name)
        .map_err(|_| InputError::Client(ClientError::Usage(usage)))
}

/// The group of the window typed in, if it is a group's.
fn here_group(here: Option<&Conversation>) -> Option<&str> {
    match here {
        Some(Conversation::Group(g)) => Some(g),
        _ => None,
    }
}

/// Whom a message named `to` goes to: `#team` (or a name after `group`) is the group `team`; any
/// other name, a user.
fn conversation_named(to: &str, group: bool) -> Conversation {
    match to.strip_prefix('#') {
        Some(g) => Conversation::Group(Name::from(g)),
        None if group => Conversation::Group(Name::from(to)),
        None => Conversation::User(Name::from(to)),
    }
}

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
    place: Place<'a>,
    full_screen: bool,
) -> Result<Input<'a>, InputError> {
    if line.trim().is_empty() {
        return Ok(Input::Blank);
    }
    let (command, here) = match place {
        Place::Window(to) => match line.strip_prefix('/') {
            // `//text` says `/text`.
            Some(rest) if rest.starts_with('/') => {
                return Ok(Input::Say {
                    to: to.clone(),
                    text: rest,
                });
            }
            Some(rest) => (rest, Some(to)),
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
            (trimmed.strip_prefix('/').unwrap_or(trimmed), None)
        }
    };
    read_command(command, here, full_screen)
}

/// A command line, its `/` gone, typed in `here`'s window (`None`: line mode or the status window).
fn read_command<'a>(
    line: &'a str,
    here: Option<&'a Conversation>,
    full_screen: bool,
) -> Result<Input<'a>, InputError> {
    let Some((word, args)) = split_command_word(line) else {
        return Ok(Input::Blank);
    };
    let unknown = || {
        InputError::Client(match like(word, full_screen) {
            Some(like) => ClientError::Misspelt {
                word: word.to_owned(),
                like,
            },
            None => ClientError::UnknownCommand(word.to_owned()),
        })
    };
    // `help <command>`: the server's `help` takes no argument; one command's help is the client's.
    if word.eq_ignore_ascii_case("help") && !args.trim().is_empty() {
        let asked = args.trim();
        let asked = asked.trim_start_matches(['/', '#']);
        return Ok(Input::Own(OwnCommand::HelpFor(asked)));
    }
    if let Some(own) = client_word(word) {
        return match own.meaning {
            Meaning::Alias(read) => read(args, here),
            Meaning::Private => parse_user_and_text(args)
                .map(|(to, text)| Input::Say {
                    to: Conversation::Private(Name::from(to)),
                    text,
                })
                .ok_or(InputError::Client(ClientError::PrivateUsage)),
            Meaning::Window(_) if !full_screen => {
                Err(InputError::Client(ClientError::FullScreenOnly(own.word)))
            }
            Meaning::Window(read) => read(args, here),
            Meaning::Instead(instead) => Err(InputError::Client(ClientError::Instead {
                word: own.word,
                instead,
            })),
        };
    }
    match parse_command(line) {
        // The client sends these itself; typed by a person they would only confuse its bookkeeping.
        Ok(cmd) if !cmd.name().spec().listed => Err(unknown()),
        Ok(Command::Message { to, text }) => Ok(Input::Say {
            to: conversation_named(to, false),
            text,
        }),
        Ok(Command::MessageGroup { group, text }) => Ok(Input::Say {
            to: conversation_named(group, true),
            text,
        }),
        Ok(Command::Broadcast { text }) => Ok(Input::Say {
            to: Conversation::Broadcasts,
            text,
        }),
        Ok(cmd) => Ok(Input::Command(hashless(cmd))),
        Err(ParseError::Usage(name) | ParseError::BadNumber(name)) if !name.spec().listed => {
            Err(unknown())
        }
        Err(ParseError::Unknown) => Err(unknown()),
        Err(e) => Err(InputError::Server(ErrorReply::from(e))),
    }
}

/// The command `word` is one slip from (a letter missing, one too many, one wrong, two swapped), if
/// exactly one is: what an unknown word most likely meant.
fn like(word: &str, full_screen: bool) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    if word.len() < 3 {
        return None;
    }
    let mut close = command_words(full_screen)
        .into_iter()
        .filter(|c| one_slip(&word, c));
    match (close.next(), close.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Whether `a` and `b` differ by one edit: a character added, dropped or changed, or two neighbours
/// swapped.
fn one_slip(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return false;
    }
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[common..], &b[common..]);
    match (ra.len(), rb.len()) {
        (x, y) if x == y => {
            ra[1..] == rb[1..] || (x >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        (x, y) if x + 1 == y => ra == &rb[1..],
        (x, y) if y + 1 == x => &ra[1..] == rb,
        _ => false,
    }
}

/// `cmd` with a group typed `#team` naming the group `team`, as everywhere a group is named.
fn hashless(cmd: Command<'_>) -> Command<'_> {
    fn bare(g: &str) -> &str {
        g.strip_prefix('#').unwrap_or(g)
    }
    match cmd {
        Command::CreateGroup { group, members } => Command::CreateGroup {
            group: bare(group),
            members,
        },
        Command::GroupAdd { group, user } => Command::GroupAdd {
            group: bare(group),
            user,
        },
        Command::GroupJoin { group, key } => Command::GroupJoin {
            group: bare(group),
            key,
        },
        Command::GroupDecline { group } => Command::GroupDecline { group: bare(group) },
        Command::GroupLeave { group, reason } => Command::GroupLeave {
            group: bare(group),
            reason,
        },
        Command::GroupMembers { group } => Command::GroupMembers { group: bare(group) },
        Command::GroupRemove {
            group,
            user,
            reason,
        } => Command::GroupRemove {
            group: bare(group),
            user,
            reason,
        },
        Command::GroupTopic { group, text } => Command::GroupTopic {
            group: bare(group),
            text,
        },
        Command::GroupOwner { group, user } => Command::GroupOwner {
            group: bare(group),
            user,
        },
        Command::GroupRules { group, changes } => Command::GroupRules {
            group: bare(group),
            changes,
        },
        Command::GroupMode { group, setting } => Command::GroupMode {
            group: bare(group),
            setting,
        },
        Command::GroupSet { group, setting } => Command::GroupSet {
            group: bare(group),
            setting,
        },
        other => other,
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
                .filter(|w| w.full_screen_only && !w.usage.is_empty())
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

/// Whether `word` is one of irssi's names the client takes (`msg`, `quit`, `who`, ...), and the
/// natter word it stands for.
pub fn alias_of(word: &str) -> Option<&'static str> {
    match client_word(word)?.word {
        "msg" => Some("message"),
        "quit" | "exit" | "bye" => Some("logout"),
        "who" => Some("whoelse"),
        "q" => Some("query"),
        "wc" => Some("window"),
        _ => None,
    }
}

/// What `help <command>` answers: a line about the word, if it needs one (an alias, a word natter
/// has no meaning for), and the rows of `help` that describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpFor {
    /// A line before the rows: what an alias stands for, or what to type instead of a word natter
    /// has no meaning for.
    pub note: Option<String>,
    /// `(usage, summary)`, as `help` lists them.
    pub rows: Vec<(&'static str, &'static str)>,
}

/// `help <asked>`: the rows of `help` about the command `asked` (its first word, or its first two
/// for a family: `group add`), or why there are none.
pub fn help_for(asked: &str, full_screen: bool) -> Result<HelpFor, ClientError> {
    let mut words = asked.split_whitespace();
    let Some(word) = words.next() else {
        return Err(ClientError::UnknownCommand(String::new()));
    };
    let second = words.next();
    if let Some(own) = client_word(word)
        && let Meaning::Instead(instead) = own.meaning
    {
        return Ok(HelpFor {
            note: Some(format!("/{}: {instead}", own.word)),
            rows: Vec::new(),
        });
    }
    if let Some(natter) = alias_of(word) {
        let mut answer = help_for(natter, true)?;
        let word = word.to_ascii_lowercase();
        answer.note = Some(match natter {
            "window" => format!("/{word} is irssi's /window close: it closes this window."),
            _ => format!("/{word} is irssi's name for '{natter}':"),
        });
        if natter == "window" {
            answer.rows.clear();
        }
        return Ok(answer);
    }
    if word.eq_ignore_ascii_case("say") {
        return Ok(HelpFor {
            note: Some(
                "/say <text> says <text> in this window's conversation, as typing it there does."
                    .into(),
            ),
            rows: Vec::new(),
        });
    }
    let first = |usage: &'static str| {
        let usage = usage.trim_start_matches('/');
        let mut w = usage.split(' ');
        (w.next().unwrap_or(""), w.next().unwrap_or(""))
    };
    let all = help_rows(true);
    let of_word: Vec<_> = all
        .iter()
        .copied()
        .filter(|(usage, _)| first(usage).0.eq_ignore_ascii_case(word))
        .collect();
    let of_both: Vec<_> = match second {
        Some(second) => of_word
            .iter()
            .copied()
            .filter(|(usage, _)| first(usage).1.eq_ignore_ascii_case(second))
            .collect(),
        None => Vec::new(),
    };
    let rows = if of_both.is_empty() { of_word } else { of_both };
    if rows.is_empty() {
        return Err(ClientError::UnknownCommand(word.to_owned()));
    }
    let note = client_word(word)
        .filter(|w| w.full_screen_only && !full_screen)
        .map(|w| {
            format!(
                "/{} belongs to the full-screen client (natter --tui):",
                w.word
            )
        });
    Ok(HelpFor { note, rows })
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
            Err(InputError::Client(ClientError::UnknownCommand(
                "hello".into()
            )))
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
            let word = bad.split(' ').next().unwrap().to_owned();
            assert_eq!(
                prompt(bad),
                Err(InputError::Client(ClientError::UnknownCommand(word))),
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

    fn in_window<'a>(line: &'a str, c: &'a Conversation) -> Result<Input<'a>, InputError> {
        read(line, Place::Window(c), true)
    }

    fn usage(u: &'static str) -> Result<Input<'static>, InputError> {
        Err(InputError::Client(ClientError::Usage(u)))
    }

    #[test]
    fn me_is_an_action_in_the_window_typed_in() {
        let team = Conversation::Group("team".into());
        assert_eq!(
            in_window("/me waves", &bob()),
            Ok(Input::Action {
                to: bob(),
                text: "waves"
            })
        );
        assert_eq!(
            in_window("/ME  waves twice", &team),
            Ok(Input::Action {
                to: team.clone(),
                text: " waves twice"
            })
        );
        assert_eq!(in_window("/me", &team), usage(ME_USAGE));
        assert!(matches!(
            prompt("/me waves"),
            Err(InputError::Client(ClientError::NeedsWindow {
                word: "me",
                ..
            }))
        ));
        assert!(matches!(
            read("/me waves", Place::Status, true),
            Err(InputError::Client(ClientError::NeedsWindow {
                word: "me",
                ..
            }))
        ));
    }

    #[test]
    fn join_part_names_and_topic_name_groups_with_or_without_a_hash() {
        let team = Conversation::Group("team".into());
        let join = |g: &str| Ok(Input::Own(OwnCommand::Join(Name::from(g))));
        assert_eq!(prompt("/join #team"), join("team"));
        assert_eq!(prompt("join team"), join("team"));
        assert_eq!(in_window("/join #crew", &bob()), join("crew"));
        assert_eq!(prompt("/join"), usage(JOIN_USAGE));
        assert_eq!(prompt("/join #bad!name"), usage(JOIN_USAGE));
        let leave = |group| {
            Ok(Input::Command(Command::GroupLeave {
                group,
                reason: None,
            }))
        };
        assert_eq!(prompt("/part #team"), leave("team"));
        assert_eq!(in_window("/part", &team), leave("team"));
        assert_eq!(in_window("/part see you all", &team), leave("team"));
        assert_eq!(in_window("/part #crew bye", &team), leave("crew"));
        assert_eq!(prompt("/part"), usage(PART_USAGE));
        assert_eq!(in_window("/part", &bob()), usage(PART_USAGE));
        let members = |group| Ok(Input::Command(Command::GroupMembers { group }));
        assert_eq!(prompt("/names #team"), members("team"));
        assert_eq!(in_window("/names", &team), members("team"));
        assert_eq!(prompt("/names"), Ok(Input::Command(Command::WhoElse)));
        assert_eq!(prompt("/names a b"), usage(NAMES_USAGE));
        let topic = |group, text| Ok(Input::Command(Command::GroupTopic { group, text }));
        assert_eq!(in_window("/topic", &team), topic("team", None));
        assert_eq!(
            in_window("/topic release on friday ", &team),
            topic("team", Some("release on friday"))
        );
        assert_eq!(prompt("/topic #team"), topic("team", None));
        assert_eq!(prompt("/topic #team  - "), topic("team", Some("-")));
        assert_eq!(
            in_window("/topic #crew lunch", &bob()),
            topic("crew", Some("lunch"))
        );
        assert_eq!(prompt("/topic lunch"), usage(TOPIC_USAGE));
        assert_eq!(in_window("/topic lunch", &bob()), usage(TOPIC_USAGE));
    }

    #[test]
    fn a_hash_names_a_group_in_messages_and_group_commands() {
        let team = || Conversation::Group("team".into());
        assert_eq!(prompt("/msg #team hi all"), say(team(), "hi all"));
        assert_eq!(prompt("/msg group team hi all"), say(team(), "hi all"));
        assert_eq!(prompt("/msg group #team hi"), say(team(), "hi"));
        assert_eq!(prompt("message #team hi"), say(team(), "hi"));
        assert_eq!(prompt("message group #team hi"), say(team(), "hi"));
        assert_eq!(
            prompt("/msg group team"),
            Err(InputError::Server(ErrorReply::Usage {
                command: CommandName::MessageGroup
            }))
        );
        assert_eq!(
            prompt("group add #team bob"),
            Ok(Input::Command(Command::GroupAdd {
                group: "team",
                user: "bob"
            }))
        );
        assert_eq!(
            prompt("create group #team bob"),
            Ok(Input::Command(Command::CreateGroup {
                group: "team",
                members: vec!["bob"]
            }))
        );
        assert_eq!(
            read("/query #team", Place::Status, true),
            Ok(Input::Window(WindowCommand::Query("#team")))
        );
        assert_eq!(
            prompt("sharedwith #team"),
            Ok(Input::Keys(KeyCommand::SharedWith {
                group: "team".into()
            }))
        );
    }

    #[test]
    fn whois_and_away_are_the_servers() {
        assert_eq!(
            prompt("/whois bob"),
            Ok(Input::Command(Command::Whois { user: "bob" }))
        );
        assert_eq!(
            in_window("/away lunch", &bob()),
            Ok(Input::Command(Command::Away {
                reason: Some("lunch")
            }))
        );
        assert_eq!(
            prompt("/away"),
            Ok(Input::Command(Command::Away { reason: None }))
        );
    }

    #[test]
    fn ignore_is_the_clients_own() {
        let bob = Name::from("bob");
        assert_eq!(
            prompt("/ignore bob"),
            Ok(Input::Own(OwnCommand::Ignore(bob.clone())))
        );
        assert_eq!(prompt("/ignore"), Ok(Input::Own(OwnCommand::Ignored)));
        assert_eq!(
            prompt("/unignore bob"),
            Ok(Input::Own(OwnCommand::Unignore(bob)))
        );
        assert_eq!(prompt("/unignore"), usage(UNIGNORE_USAGE));
        assert_eq!(prompt("/ignore b@d"), usage(IGNORE_USAGE));
    }

    #[test]
    fn window_words_and_their_irssi_short_forms() {
        let status = |line| read(line, Place::Status, true);
        let window = |cmd| Ok(Input::Window(cmd));
        assert_eq!(status("/window 2"), window(WindowCommand::Show("2")));
        assert_eq!(status("/window goto 3"), window(WindowCommand::Show("3")));
        assert_eq!(status("/window close"), window(WindowCommand::Close));
        assert_eq!(status("/window list"), window(WindowCommand::List));
        assert_eq!(status("/window"), window(WindowCommand::List));
        assert_eq!(status("/window up"), usage(WINDOW_USAGE));
        assert_eq!(status("/wc"), window(WindowCommand::Close));
        assert_eq!(status("/q bob"), window(WindowCommand::Query("bob")));
        assert_eq!(status("/clear"), window(WindowCommand::Clear));
        assert_eq!(
            status("/lastlog  deploy "),
            window(WindowCommand::Lastlog("deploy"))
        );
        assert_eq!(status("/lastlog"), usage(LASTLOG_USAGE));
        assert_eq!(
            prompt("/wc"),
            Err(InputError::Client(ClientError::FullScreenOnly("wc")))
        );
        assert_eq!(
            prompt("/clear"),
            Err(InputError::Client(ClientError::FullScreenOnly("clear")))
        );
    }

    #[test]
    fn quitting_words_and_say() {
        for word in ["/exit", "/bye", "/quit leaving now", "exit"] {
            assert_eq!(prompt(word), Ok(Input::Command(Command::Logout)), "{word}");
        }
        assert_eq!(in_window("/say /etc", &bob()), say(bob(), "/etc"));
        assert!(matches!(
            prompt("/say hi"),
            Err(InputError::Client(ClientError::NeedsWindow {
                word: "say",
                ..
            }))
        ));
    }

    #[test]
    fn irssi_words_without_a_meaning_say_what_to_type_instead() {
        for word in [
            "nick", "set", "list", "invite", "kick", "ban", "mode", "op", "server",
        ] {
            let Err(InputError::Client(e @ ClientError::Instead { .. })) =
                prompt(&format!("/{word} x"))
            else {
                panic!("{word}");
            };
            let said = e.to_string();
            assert!(said.starts_with(&format!("/{word}: ")), "{said}");
        }
    }

    #[test]
    fn a_word_one_slip_from_a_command_says_which() {
        let misspelt = |line: &str, like: &'static str| {
            let word = line.split(' ').next().unwrap();
            assert_eq!(
                prompt(line),
                Err(InputError::Client(ClientError::Misspelt {
                    word: word.into(),
                    like
                })),
                "{line}"
            );
        };
        misspelt("whoels", "whoelse");
        misspelt("mesage bob hi", "message");
        misspelt("bradcast hi", "broadcast");
        misspelt("ingore bob", "ignore");
        assert!(one_slip("grouplsit", "grouplist"));
        assert!(!one_slip("dance", "accept"));
        // Too short, or close to more than one: just unknown.
        assert_eq!(
            prompt("wh"),
            Err(InputError::Client(ClientError::UnknownCommand("wh".into())))
        );
        let said = ClientError::Misspelt {
            word: "whoels".into(),
            like: "whoelse",
        }
        .to_string();
        assert_eq!(
            said,
            "'whoels' is not a command; did you mean whoelse? (/help lists them all)"
        );
    }

    #[test]
    fn unknown_words_are_named() {
        let Err(InputError::Client(e)) = read("/frobnicate now", Place::Window(&bob()), true)
        else {
            panic!()
        };
        assert_eq!(
            e.to_string(),
            "'frobnicate' is not a command; type /help for the list"
        );
    }

    #[test]
    fn help_for_one_command() {
        assert_eq!(
            prompt("/help verify"),
            Ok(Input::Own(OwnCommand::HelpFor("verify")))
        );
        assert_eq!(
            prompt("help #team"),
            Ok(Input::Own(OwnCommand::HelpFor("team")))
        );
        assert_eq!(prompt("help"), Ok(Input::Command(Command::Help)));
        let verify = help_for("verify", false).unwrap();
        assert_eq!(verify.note, None);
        assert_eq!(verify.rows.len(), 1);
        assert_eq!(verify.rows[0].0, VERIFY_USAGE);
        // A family: every member, or the one named.
        assert!(help_for("group", false).unwrap().rows.len() > 5);
        let add = help_for("group add", false).unwrap();
        assert_eq!(add.rows.len(), 1);
        assert_eq!(add.rows[0].0, "group add <name> <user>");
        assert_eq!(help_for("message", false).unwrap().rows.len(), 2);
        assert_eq!(help_for("JOIN", false).unwrap().rows[0].0, JOIN_USAGE);
        let msg = help_for("msg", false).unwrap();
        assert!(msg.note.unwrap().contains("'message'"));
        assert_eq!(msg.rows.len(), 2);
        assert!(
            help_for("nick", false)
                .unwrap()
                .note
                .unwrap()
                .starts_with("/nick: ")
        );
        let window = help_for("window", false).unwrap();
        assert!(window.note.unwrap().contains("full-screen"));
        assert_eq!(
            help_for("dance", true),
            Err(ClientError::UnknownCommand("dance".into()))
        );
        // Every word help lists has its own help.
        for word in command_words(true) {
            let rows = help_for(word, true).unwrap().rows;
            assert!(!rows.is_empty(), "{word}");
        }
        // The commands the client sends itself are not a person's.
        assert!(help_for("ack", true).is_err());
    }
}
