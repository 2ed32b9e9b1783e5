//! What the user typed, as a command: the server's grammar ([`parse_command`]) for the server's commands,
//! so a usage error reads exactly as the server would have put it, plus the client's own `private`.
//!
//! People coming from irssi and weechat type commands with a leading `/`, and a few of their names:
//! `/msg` is `message`, `/quit` is `logout`, `/who` is `whoelse`. Both forms work everywhere.

use std::borrow::Cow;

use super::display::ClientError;
use crate::protocol::{
    Command, ErrorReply, ParseError, parse_command, parse_user_and_text, split_command_word,
};

/// One line typed while logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// Nothing but spaces: ignored, like a shell ignores an empty line.
    Blank,
    /// `private <user> <text>`: goes over the peer-to-peer link only.
    Private { to: &'a str, text: &'a str },
    /// A command for the server (or handled locally, like `help`).
    Command(Command<'a>),
}

/// Why a typed line is refused before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// The same error the server would give.
    Server(ErrorReply),
    Client(ClientError),
}

/// irssi's names for natter's commands.
const ALIASES: &[(&str, &str)] = &[("msg", "message"), ("quit", "logout"), ("who", "whoelse")];

/// The line with a leading `/` dropped and an irssi alias in its first word replaced by natter's name.
pub fn normalize(line: &str) -> Cow<'_, str> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Cow::Borrowed(line);
    };
    let (word, args) = rest.split_at(rest.find([' ', '\t']).unwrap_or(rest.len()));
    match ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(word))
    {
        Some((_, name)) => Cow::Owned(format!("{name}{args}")),
        None => Cow::Borrowed(rest),
    }
}

/// Parses one line typed by the user (after [`normalize`]).
pub fn parse_input(line: &str) -> Result<Input<'_>, InputError> {
    let Some((word, args)) = split_command_word(line) else {
        return Ok(Input::Blank);
    };
    if word.eq_ignore_ascii_case("private") {
        return parse_user_and_text(args)
            .map(|(to, text)| Input::Private { to, text })
            .ok_or(InputError::Client(ClientError::PrivateUsage));
    }
    match parse_command(line) {
        // The client sends these itself; typed by a person they would only confuse its bookkeeping.
        Ok(cmd) if !cmd.name().spec().listed => {
            Err(InputError::Client(ClientError::UnknownCommand))
        }
        Ok(cmd) => Ok(Input::Command(cmd)),
        Err(ParseError::Usage(name) | ParseError::BadNumber(name)) if !name.spec().listed => {
            Err(InputError::Client(ClientError::UnknownCommand))
        }
        Err(ParseError::Unknown) => Err(InputError::Client(ClientError::UnknownCommand)),
        Err(e) => Err(InputError::Server(ErrorReply::from(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CommandName;

    #[test]
    fn server_commands_parse_with_the_servers_grammar() {
        assert_eq!(
            parse_input("  message bob  hi "),
            Ok(Input::Command(Command::Message {
                to: "bob",
                text: " hi "
            }))
        );
        assert_eq!(parse_input("WhoElse"), Ok(Input::Command(Command::WhoElse)));
        assert_eq!(
            parse_input("message bob"),
            Err(InputError::Server(ErrorReply::Usage {
                command: CommandName::Message
            }))
        );
        assert_eq!(
            parse_input("whoelsesince soon"),
            Err(InputError::Server(ErrorReply::BadNumber {
                command: CommandName::WhoElseSince
            }))
        );
    }

    #[test]
    fn slash_commands_and_irssi_names() {
        assert_eq!(normalize("/whoelse"), "whoelse");
        assert_eq!(normalize("  /msg bob  hi "), "message bob  hi ");
        assert_eq!(normalize("/QUIT"), "logout");
        assert_eq!(normalize("/who"), "whoelse");
        assert_eq!(normalize("/message group team x"), "message group team x");
        assert_eq!(
            normalize("message bob /msg"),
            "message bob /msg",
            "only a leading slash"
        );
        assert_eq!(normalize("/"), "");
        assert_eq!(
            parse_input(&normalize("/msg bob hi")),
            Ok(Input::Command(Command::Message {
                to: "bob",
                text: "hi"
            }))
        );
    }

    #[test]
    fn private_is_the_clients_own() {
        assert_eq!(
            parse_input("private bob  a secret "),
            Ok(Input::Private {
                to: "bob",
                text: " a secret "
            })
        );
        assert_eq!(
            parse_input("PRIVATE bob x"),
            Ok(Input::Private {
                to: "bob",
                text: "x"
            })
        );
        for bad in ["private", "private bob", "private bob   "] {
            assert_eq!(
                parse_input(bad),
                Err(InputError::Client(ClientError::PrivateUsage)),
                "{bad}"
            );
        }
    }

    #[test]
    fn blank_unknown_and_internal() {
        assert_eq!(parse_input("   "), Ok(Input::Blank));
        assert_eq!(parse_input(""), Ok(Input::Blank));
        for bad in [
            "dance",
            "ack 3",
            "ack x",
            "p2pport 5000",
            "active",
            "privatebob hi",
        ] {
            assert_eq!(
                parse_input(bad),
                Err(InputError::Client(ClientError::UnknownCommand)),
                "{bad}"
            );
        }
    }
}
