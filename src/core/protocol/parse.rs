//! The command grammar: one line of text in, a typed [`Command`] or a typed [`ParseError`] out.
//!
//! The grammar is total: every string gets an answer, and every error names the command it was about so the
//! reply can carry that command's usage line. Line-level checks (length, UTF-8, control characters) happen
//! before this, in [`crate::protocol::line`]; this module sees one clean line without its ending.
//!
//! ```text
//! line      = sp* word [sp+ sub] args
//! word      = a command word from the table, any ASCII case
//! sub       = the second word of the commands that share their first (`message group`, `create group`,
//!             `group add|leave|members`), any ASCII case
//! args      = (per command) nothing | sp+ user | sp+ number | sp+ user SP text | SP text
//!             | sp+ group (sp+ user)+ , then sp* end
//! text      = everything after the single separator, exactly as typed; must not be blank
//! sp        = ' ' | '\t'
//! ```

use nom::{
    IResult, Parser,
    bytes::complete::{take_till1, take_while, take_while_m_n, take_while1},
    combinator::{eof, rest},
};

use super::command::{Command, CommandName, GroupSetting};
use super::group_change::{ChangeError, parse_changes};
use super::hot::hot_command;
use super::keys::{self, KeyError, MAX_KEYS_PER_LINE, SignedKeyRef};

/// Why a line is not a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line has no first word.
    #[error("empty line")]
    Empty,
    /// The first word (with the second, for a family's member) names no command.
    #[error("unknown command")]
    Unknown,
    /// Too few or too many arguments.
    #[error("wrong arguments for {0}")]
    Usage(CommandName),
    /// The argument should be a number in range and is not.
    #[error("bad number for {0}")]
    BadNumber(CommandName),
    /// A published key does not have the shape of one.
    #[error("malformed key: {0}")]
    BadKey(KeyError),
    /// `keys add` with more keys than one line may carry.
    #[error("more than {MAX_KEYS_PER_LINE} keys on one line")]
    TooManyKeys,
}

fn is_sp(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn spaces0(i: &str) -> IResult<&str, &str> {
    take_while(is_sp).parse(i)
}

fn spaces1(i: &str) -> IResult<&str, &str> {
    take_while1(is_sp).parse(i)
}

/// Exactly one separator character: what lies between a username and the text, so the text keeps any
/// further spaces the user typed.
fn one_space(i: &str) -> IResult<&str, &str> {
    take_while_m_n(1, 1, is_sp).parse(i)
}

fn token(i: &str) -> IResult<&str, &str> {
    take_till1(is_sp).parse(i)
}

/// Optional trailing spaces, then the end of the line.
fn end(i: &str) -> IResult<&str, ()> {
    let (i, _) = spaces0(i)?;
    let (i, _) = eof(i)?;
    Ok((i, ()))
}

fn no_args(i: &str) -> IResult<&str, ()> {
    end(i)
}

fn one_token(i: &str) -> IResult<&str, &str> {
    let (i, _) = spaces1(i)?;
    let (i, t) = token(i)?;
    let (i, _) = end(i)?;
    Ok((i, t))
}

/// The text of a message: all that is left, which must hold something other than spaces.
fn text(i: &str) -> IResult<&str, &str> {
    let (i, t) = rest(i)?;
    if t.trim().is_empty() {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((i, t))
}

fn user_and_text(i: &str) -> IResult<&str, (&str, &str)> {
    let (i, _) = spaces1(i)?;
    let (i, user) = token(i)?;
    let (i, _) = one_space(i)?;
    let (i, t) = text(i)?;
    Ok((i, (user, t)))
}

fn text_only(i: &str) -> IResult<&str, &str> {
    let (i, _) = one_space(i)?;
    text(i)
}

fn two_tokens(i: &str) -> IResult<&str, (&str, &str)> {
    let (i, _) = spaces1(i)?;
    let (i, a) = token(i)?;
    let (i, _) = spaces1(i)?;
    let (i, b) = token(i)?;
    let (i, _) = end(i)?;
    Ok((i, (a, b)))
}

/// Nothing (but spaces), or one separator and a text: `None` for nothing, `Some(text)` otherwise;
/// `None` overall (a usage error) for neither.
fn optional_text(i: &str) -> Option<Option<&str>> {
    if end(i).is_ok() {
        return Some(None);
    }
    text_only(i).ok().map(|(_, t)| Some(t))
}

/// A token, then optionally one separator and a text kept exactly as typed.
fn token_and_text(i: &str) -> Option<(&str, &str, Option<&str>)> {
    let (i, _) = spaces1(i).ok()?;
    let (i, t) = token(i).ok()?;
    Some((i, t, optional_text(i)?))
}

/// Two tokens, then optionally one separator and a text kept exactly as typed.
fn two_tokens_and_text(i: &str) -> Option<(&str, &str, Option<&str>)> {
    let (i, a) = token_and_text(i).map(|(i, a, _)| (i, a))?;
    let (_, b, text) = token_and_text(i)?;
    Some((a, b, text))
}

/// One or more tokens up to the end of the line.
fn tokens1(i: &str) -> Result<Vec<&str>, ()> {
    let v: Vec<&str> = i.split([' ', '\t']).filter(|t| !t.is_empty()).collect();
    if v.is_empty() { Err(()) } else { Ok(v) }
}

/// The command named by `word` and the line's next word, if that is one of the second words:
/// `(command, what follows the second word)`.
fn sub_word<'a>(word: &str, args: &'a str) -> Option<(CommandName, &'a str)> {
    let (rest, _) = spaces1(args).ok()?;
    let (rest, sub) = token(rest).ok()?;
    CommandName::from_words(word, Some(sub))
        .filter(|n| n.spec().sub.is_some())
        .map(|n| (n, rest))
}

/// Parses one command line (no line ending). The hot commands (`message`, `broadcast`, `ack`) are
/// read by a fast reader first (`hot`), which gives only what [`parse_by_grammar`] would give; every
/// other line, and any of theirs it is not sure of, is read by the grammar.
pub fn parse_command(line: &str) -> Result<Command<'_>, ParseError> {
    match hot_command(line) {
        Some(cmd) => Ok(cmd),
        None => parse_by_grammar(line),
    }
}

/// Parses one command line by the grammar alone: the definition of the language, which the fast
/// reader of the hot commands is checked against.
pub fn parse_by_grammar(line: &str) -> Result<Command<'_>, ParseError> {
    let Ok((args, word)) = leading_word(line) else {
        return Err(ParseError::Empty);
    };
    // `message group ...`, `group add ...`: the second word names the command.
    let (name, args) = match sub_word(word, args) {
        Some((name, rest)) => (name, rest),
        None => {
            let name = CommandName::from_words(word, None)
                .or_else(|| CommandName::from_word(word))
                .ok_or(ParseError::Unknown)?;
            if name.spec().sub.is_some() {
                // The first word of a family alone, or with a second word that is none of its own
                // (`group`, `group dance`, `create user`): say how the family is used.
                return Err(ParseError::Usage(name));
            }
            (name, args)
        }
    };
    let usage = |_| ParseError::Usage(name);
    let user = |args| one_token(args).map(|(_, u)| u).map_err(usage);
    let cmd = match name {
        CommandName::Message => {
            let (_, (to, text)) = user_and_text(args).map_err(usage)?;
            Command::Message { to, text }
        }
        CommandName::Note => {
            let (_, (to, text)) = user_and_text(args).map_err(usage)?;
            Command::Note { to, text }
        }
        CommandName::MessageGroup => {
            let (_, (group, text)) = user_and_text(args).map_err(usage)?;
            Command::MessageGroup { group, text }
        }
        CommandName::Signal => {
            let (_, (to, tags)) = two_tokens(args).map_err(usage)?;
            Command::Signal { to, tags }
        }
        CommandName::SignalGroup => {
            let (_, (group, tags)) = two_tokens(args).map_err(usage)?;
            Command::SignalGroup { group, tags }
        }
        CommandName::CreateGroup => {
            let mut words = tokens1(args).map_err(|()| ParseError::Usage(name))?;
            let group = words.remove(0);
            let mut members: Vec<&str> = Vec::with_capacity(words.len());
            for m in words {
                if !members.contains(&m) {
                    members.push(m);
                }
            }
            Command::CreateGroup { group, members }
        }
        CommandName::GroupAdd => {
            let (_, (group, user)) = two_tokens(args).map_err(usage)?;
            Command::GroupAdd { group, user }
        }
        CommandName::GroupJoin => match tokens1(args).map_err(|()| ParseError::Usage(name))?[..] {
            [group] => Command::GroupJoin { group, key: None },
            [group, key] => Command::GroupJoin {
                group,
                key: Some(key),
            },
            _ => return Err(ParseError::Usage(name)),
        },
        CommandName::GroupDecline => Command::GroupDecline { group: user(args)? },
        CommandName::GroupRemove => {
            let (group, user, reason) = two_tokens_and_text(args).ok_or(ParseError::Usage(name))?;
            Command::GroupRemove {
                group,
                user,
                reason,
            }
        }
        CommandName::GroupTopic => {
            let (_, group, text) = token_and_text(args).ok_or(ParseError::Usage(name))?;
            Command::GroupTopic { group, text }
        }
        CommandName::GroupOwner => {
            let (_, (group, user)) = two_tokens(args).map_err(usage)?;
            Command::GroupOwner { group, user }
        }
        CommandName::GroupMode => {
            let (_, (group, mode)) = two_tokens(args).map_err(usage)?;
            let setting = match mode.to_ascii_lowercase().as_str() {
                "open" => GroupSetting::Open(true),
                "invite" => GroupSetting::Open(false),
                _ => return Err(ParseError::Usage(name)),
            };
            Command::GroupMode { group, setting }
        }
        CommandName::GroupSet => {
            let words = tokens1(args).map_err(|()| ParseError::Usage(name))?;
            let [group, what, value] = words[..] else {
                return Err(ParseError::Usage(name));
            };
            let (what, value) = (what.to_ascii_lowercase(), value.to_ascii_lowercase());
            let setting = match (what.as_str(), value.as_str()) {
                ("add", "direct") => GroupSetting::AddDirect(true),
                ("add", "invite") => GroupSetting::AddDirect(false),
                ("topic", "members") => GroupSetting::TopicByMembers(true),
                ("topic", "owner") => GroupSetting::TopicByMembers(false),
                _ => return Err(ParseError::Usage(name)),
            };
            Command::GroupSet { group, setting }
        }
        CommandName::GroupRules => {
            let mut words = tokens1(args).map_err(|()| ParseError::Usage(name))?;
            let group = words.remove(0);
            let changes = parse_changes(words).map_err(|e| match e {
                ChangeError::Usage => ParseError::Usage(name),
                ChangeError::BadLimit => ParseError::BadNumber(name),
            })?;
            Command::GroupRules { group, changes }
        }
        CommandName::Away => Command::Away {
            reason: optional_text(args).ok_or(ParseError::Usage(name))?,
        },
        CommandName::Whois => Command::Whois { user: user(args)? },
        CommandName::Nick => Command::Nick { name: user(args)? },
        CommandName::RealName => Command::RealName {
            text: text_only(args).map_err(usage)?.1,
        },
        CommandName::Who => Command::Who { mask: user(args)? },
        CommandName::Whowas => {
            let words = tokens1(args).map_err(|()| ParseError::Usage(name))?;
            match words[..] {
                [user] => Command::Whowas { user, count: None },
                [user, count] => Command::Whowas {
                    user,
                    count: Some(saturating_number(count).ok_or(ParseError::BadNumber(name))?),
                },
                _ => return Err(ParseError::Usage(name)),
            }
        }
        CommandName::Lusers => no_args(args).map(|_| Command::Lusers).map_err(usage)?,
        CommandName::UserInfo => {
            let (_, (username, realname)) = user_and_text(args).map_err(usage)?;
            Command::UserInfo { username, realname }
        }
        CommandName::GroupLeave => {
            let (_, group, reason) = token_and_text(args).ok_or(ParseError::Usage(name))?;
            Command::GroupLeave { group, reason }
        }
        CommandName::GroupMembers => Command::GroupMembers { group: user(args)? },
        CommandName::GroupList => no_args(args).map(|_| Command::GroupList).map_err(usage)?,
        CommandName::Groups => no_args(args).map(|_| Command::Groups).map_err(usage)?,
        CommandName::Ping => Command::Ping { user: user(args)? },
        CommandName::WhoLastHr => no_args(args).map(|_| Command::WhoLastHr).map_err(usage)?,
        CommandName::Offline => no_args(args).map(|_| Command::Offline).map_err(usage)?,
        CommandName::Broadcast => Command::Broadcast {
            text: text_only(args).map_err(usage)?.1,
        },
        CommandName::WhoElse => no_args(args).map(|_| Command::WhoElse).map_err(usage)?,
        CommandName::Blocks => no_args(args).map(|_| Command::Blocks).map_err(usage)?,
        CommandName::WhoElseSince => Command::WhoElseSince {
            secs: saturating_number(user(args)?)
                .ok_or(ParseError::BadNumber(name))?
                .min(MAX_SPAN_SECS),
        },
        CommandName::Block => Command::Block { user: user(args)? },
        CommandName::Unblock => Command::Unblock { user: user(args)? },
        CommandName::StartPrivate => Command::StartPrivate { user: user(args)? },
        CommandName::Accept => Command::Accept { user: user(args)? },
        CommandName::Decline => Command::Decline { user: user(args)? },
        CommandName::StopPrivate => Command::StopPrivate { user: user(args)? },
        CommandName::Logout => no_args(args).map(|_| Command::Logout).map_err(usage)?,
        CommandName::Passwd => no_args(args).map(|_| Command::Passwd).map_err(usage)?,
        CommandName::Oper => Command::Oper { name: user(args)? },
        CommandName::Kill => {
            let (_, user, reason) = token_and_text(args).ok_or(ParseError::Usage(name))?;
            Command::Kill { user, reason }
        }
        CommandName::Wallops => Command::Wallops {
            text: text_only(args).map_err(usage)?.1,
        },
        CommandName::Help => no_args(args).map(|_| Command::Help).map_err(usage)?,
        CommandName::Active => no_args(args).map(|_| Command::Active).map_err(usage)?,
        CommandName::P2pPort => Command::P2pPort {
            port: digits::<u16>(user(args)?)
                .filter(|p| *p != 0)
                .ok_or(ParseError::BadNumber(name))?,
        },
        CommandName::Ack => Command::Ack {
            id: digits::<u64>(user(args)?).ok_or(ParseError::BadNumber(name))?,
        },
        CommandName::Bot => Command::Bot {
            on: on_off(user(args)?).ok_or(ParseError::Usage(name))?,
        },
        CommandName::Receipts => Command::Receipts {
            on: on_off(user(args)?).ok_or(ParseError::Usage(name))?,
        },
        CommandName::Acks => Command::Acks {
            on: on_off(user(args)?).ok_or(ParseError::Usage(name))?,
        },
        CommandName::KeysIdentity => {
            let (_, (curve, ed)) = two_tokens(args).map_err(usage)?;
            Command::KeysIdentity {
                curve25519: keys::curve25519(curve).map_err(ParseError::BadKey)?,
                ed25519: keys::ed25519(ed).map_err(ParseError::BadKey)?,
            }
        }
        CommandName::KeysAdd => {
            let words = tokens1(args).map_err(|()| ParseError::Usage(name))?;
            if words.len() > MAX_KEYS_PER_LINE {
                return Err(ParseError::TooManyKeys);
            }
            let keys = words
                .into_iter()
                .map(SignedKeyRef::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(ParseError::BadKey)?;
            Command::KeysAdd { keys }
        }
        CommandName::KeysFallback => Command::KeysFallback {
            key: SignedKeyRef::parse(user(args)?).map_err(ParseError::BadKey)?,
        },
        CommandName::KeysClaim => Command::KeysClaim { user: user(args)? },
        CommandName::KeysShow => Command::KeysShow { user: user(args)? },
    };
    Ok(cmd)
}

/// The arguments of a `<user> <text>` command (what follows the command word), by the grammar of
/// `message`. The client's own `private <user> <text>` uses it, so both read a line the same way.
pub fn parse_user_and_text(args: &str) -> Option<(&str, &str)> {
    user_and_text(args).ok().map(|(_, ut)| ut)
}

/// Splits a line into its first word and the rest (which starts with the separator), or `None` for a
/// blank line. Clients use it to recognise their own commands before handing a line to [`parse_command`].
pub fn split_command_word(line: &str) -> Option<(&str, &str)> {
    leading_word(line).ok().map(|(rest, word)| (word, rest))
}

impl From<ParseError> for super::ErrorReply {
    /// The reply the server gives for a line that does not parse; clients show the same for a line
    /// they refuse before sending.
    fn from(e: ParseError) -> Self {
        use super::ErrorReply;
        match e {
            ParseError::Empty => ErrorReply::EmptyLine,
            ParseError::Unknown => ErrorReply::UnknownCommand,
            ParseError::Usage(command) => ErrorReply::Usage { command },
            ParseError::BadNumber(command) => ErrorReply::BadNumber { command },
            ParseError::BadKey(why) => ErrorReply::BadKey(why),
            ParseError::TooManyKeys => ErrorReply::KeysPerLine {
                max: MAX_KEYS_PER_LINE,
            },
        }
    }
}

/// `on` or `off`, in any letter case.
fn on_off(word: &str) -> Option<bool> {
    if word.eq_ignore_ascii_case("on") {
        Some(true)
    } else if word.eq_ignore_ascii_case("off") {
        Some(false)
    } else {
        None
    }
}

fn leading_word(line: &str) -> IResult<&str, &str> {
    let (i, _) = spaces0(line)?;
    token(i)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A number written as plain ASCII digits (Rust's own parsing would also take a leading `+`).
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if is_digits(s) { s.parse().ok() } else { None }
}

/// A span in seconds: plain digits only (no sign), and a number too large for 64 bits means "all of history"
/// rather than an error.
/// The longest span `whoelsesince` means (a century, past any server's history): a longer one is
/// taken as this, so the answer names a span a person can read ("at any time") and the server never
/// computes with a number past its clock.
pub const MAX_SPAN_SECS: u64 = 100 * 365 * 86_400;

fn saturating_number(s: &str) -> Option<u64> {
    if !is_digits(s) {
        return None;
    }
    Some(s.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command<'_> {
        parse_command(line).unwrap_or_else(|e| panic!("{line:?} should parse, got {e:?}"))
    }

    #[test]
    fn message_keeps_text_exactly() {
        assert_eq!(
            ok("message bob hello"),
            Command::Message {
                to: "bob",
                text: "hello"
            }
        );
        assert_eq!(
            ok("message bob  two  spaces "),
            Command::Message {
                to: "bob",
                text: " two  spaces "
            }
        );
        assert_eq!(
            ok("message zoë ünïcödé 🎉"),
            Command::Message {
                to: "zoë",
                text: "ünïcödé 🎉"
            }
        );
        assert_eq!(
            ok("message   bob hi"),
            Command::Message {
                to: "bob",
                text: "hi"
            }
        );
    }

    #[test]
    fn message_needs_user_and_text() {
        for bad in [
            "message",
            "message ",
            "message bob",
            "message bob ",
            "message bob    ",
        ] {
            assert_eq!(
                parse_command(bad),
                Err(ParseError::Usage(CommandName::Message)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn broadcast() {
        assert_eq!(
            ok("broadcast hi all"),
            Command::Broadcast { text: "hi all" }
        );
        assert_eq!(
            parse_command("broadcast"),
            Err(ParseError::Usage(CommandName::Broadcast))
        );
        assert_eq!(
            parse_command("broadcast   "),
            Err(ParseError::Usage(CommandName::Broadcast))
        );
    }

    #[test]
    fn no_argument_commands() {
        assert_eq!(ok("whoelse"), Command::WhoElse);
        assert_eq!(ok("  WHOELSE  "), Command::WhoElse);
        assert_eq!(ok("blocks"), Command::Blocks);
        assert_eq!(ok("logout"), Command::Logout);
        assert_eq!(ok("help"), Command::Help);
        assert_eq!(ok("active"), Command::Active);
        for (bad, name) in [
            ("whoelse now", CommandName::WhoElse),
            ("logout please", CommandName::Logout),
            ("help me", CommandName::Help),
            ("active 1", CommandName::Active),
        ] {
            assert_eq!(parse_command(bad), Err(ParseError::Usage(name)));
        }
    }

    #[test]
    fn nick_takes_one_name() {
        assert_eq!(ok("nick zoe"), Command::Nick { name: "zoe" });
        assert_eq!(
            ok("realname Zed Zimmer"),
            Command::RealName { text: "Zed Zimmer" }
        );
        assert_eq!(
            parse_command("nick"),
            Err(ParseError::Usage(CommandName::Nick))
        );
    }

    #[test]
    fn whoelsesince_spans() {
        assert_eq!(ok("whoelsesince 60"), Command::WhoElseSince { secs: 60 });
        assert_eq!(ok("whoelsesince 0"), Command::WhoElseSince { secs: 0 });
        assert_eq!(
            ok("whoelsesince 99999999999999999999999"),
            Command::WhoElseSince {
                secs: MAX_SPAN_SECS
            }
        );
        assert_eq!(
            ok("whoelsesince 3153600001"),
            Command::WhoElseSince {
                secs: MAX_SPAN_SECS
            }
        );
        for bad in [
            "whoelsesince -5",
            "whoelsesince ten",
            "whoelsesince +5",
            "whoelsesince 1.5",
        ] {
            assert_eq!(
                parse_command(bad),
                Err(ParseError::BadNumber(CommandName::WhoElseSince)),
                "{bad:?}"
            );
        }
        for bad in ["whoelsesince", "whoelsesince 5 6"] {
            assert_eq!(
                parse_command(bad),
                Err(ParseError::Usage(CommandName::WhoElseSince))
            );
        }
    }

    #[test]
    fn one_user_commands() {
        assert_eq!(ok("block bob"), Command::Block { user: "bob" });
        assert_eq!(ok("unblock bob "), Command::Unblock { user: "bob" });
        assert_eq!(
            ok("startprivate bob"),
            Command::StartPrivate { user: "bob" }
        );
        assert_eq!(ok("accept bob"), Command::Accept { user: "bob" });
        assert_eq!(ok("decline bob"), Command::Decline { user: "bob" });
        assert_eq!(ok("stopprivate bob"), Command::StopPrivate { user: "bob" });
        for name in [
            CommandName::Block,
            CommandName::Unblock,
            CommandName::StartPrivate,
            CommandName::Accept,
            CommandName::Decline,
            CommandName::StopPrivate,
        ] {
            let w = name.word();
            assert_eq!(parse_command(w), Err(ParseError::Usage(name)));
            assert_eq!(
                parse_command(&format!("{w} a b")),
                Err(ParseError::Usage(name))
            );
        }
    }

    #[test]
    fn client_commands() {
        assert_eq!(ok("p2pport 5000"), Command::P2pPort { port: 5000 });
        assert_eq!(
            parse_command("p2pport 0"),
            Err(ParseError::BadNumber(CommandName::P2pPort))
        );
        assert_eq!(
            parse_command("p2pport 70000"),
            Err(ParseError::BadNumber(CommandName::P2pPort))
        );
        assert_eq!(ok("ack 17"), Command::Ack { id: 17 });
        assert_eq!(
            parse_command("ack +17"),
            Err(ParseError::BadNumber(CommandName::Ack))
        );
        assert_eq!(
            parse_command("ack 99999999999999999999999"),
            Err(ParseError::BadNumber(CommandName::Ack))
        );
        assert_eq!(ok("acks on"), Command::Acks { on: true });
        assert_eq!(ok("ACKS Off"), Command::Acks { on: false });
        assert_eq!(
            parse_command("acks maybe"),
            Err(ParseError::Usage(CommandName::Acks))
        );
        assert_eq!(
            parse_command("acks"),
            Err(ParseError::Usage(CommandName::Acks))
        );
    }

    #[test]
    fn key_commands() {
        let (c, e, s) = ("C".repeat(43), "E".repeat(43), "S".repeat(86));
        assert_eq!(
            ok(&format!("keys identity {c}  {e} ")),
            Command::KeysIdentity {
                curve25519: &c,
                ed25519: &e
            }
        );
        assert_eq!(
            parse_command(&format!("keys identity {e} {}", "x".repeat(42))),
            Err(ParseError::BadKey(KeyError::Ed25519))
        );
        assert_eq!(
            parse_command(&format!("keys identity {c}")),
            Err(ParseError::Usage(CommandName::KeysIdentity))
        );
        let key = format!("AAAAAAAAAAE:{c}:{s}");
        match ok(&format!("KEYS add {key} {key}")) {
            Command::KeysAdd { keys } => assert_eq!(keys.len(), 2),
            other => panic!("{other:?}"),
        }
        let twenty = vec![key.as_str(); 20].join(" ");
        assert!(parse_command(&format!("keys add {twenty}")).is_ok());
        assert_eq!(
            parse_command(&format!("keys add {twenty} {key}")),
            Err(ParseError::TooManyKeys)
        );
        assert_eq!(
            parse_command(&format!("keys add {key} a:b")),
            Err(ParseError::BadKey(KeyError::Form))
        );
        assert_eq!(
            parse_command("keys add"),
            Err(ParseError::Usage(CommandName::KeysAdd))
        );
        assert_eq!(
            ok(&format!("keys fallback {key}")),
            Command::KeysFallback {
                key: SignedKeyRef::parse(&key).unwrap()
            }
        );
        assert_eq!(
            parse_command(&format!("keys fallback {key} {key}")),
            Err(ParseError::Usage(CommandName::KeysFallback))
        );
        assert_eq!(ok("keys claim bob"), Command::KeysClaim { user: "bob" });
        assert_eq!(ok("keys show bob"), Command::KeysShow { user: "bob" });
        assert_eq!(
            parse_command("keys"),
            Err(ParseError::Usage(CommandName::KeysIdentity))
        );
        assert_eq!(
            parse_command("keys burn bob"),
            Err(ParseError::Usage(CommandName::KeysIdentity))
        );
        for cmd in [
            format!("keys identity {c} {e}"),
            format!("keys add {key} {key}"),
            format!("keys fallback {key}"),
            "keys claim bob".into(),
            "keys show bob".into(),
        ] {
            let parsed = ok(&cmd);
            assert_eq!(parsed.to_line(), cmd);
        }
    }

    #[test]
    fn empty_and_unknown() {
        assert_eq!(parse_command(""), Err(ParseError::Empty));
        assert_eq!(parse_command("   "), Err(ParseError::Empty));
        assert_eq!(parse_command("dance"), Err(ParseError::Unknown));
        assert_eq!(parse_command("messagebob hi"), Err(ParseError::Unknown));
    }

    #[test]
    fn user_and_text_helpers_follow_the_message_grammar() {
        assert_eq!(
            parse_user_and_text(" bob  two  spaces "),
            Some(("bob", " two  spaces "))
        );
        assert_eq!(parse_user_and_text(" bob"), None);
        assert_eq!(parse_user_and_text(" bob   "), None);
        assert_eq!(parse_user_and_text(""), None);
        assert_eq!(
            split_command_word("  private bob hi"),
            Some(("private", " bob hi"))
        );
        assert_eq!(split_command_word("   "), None);
    }

    #[test]
    fn rendering_parses_back() {
        let cmds = [
            Command::Message {
                to: "bob",
                text: " spaced  out ",
            },
            Command::Broadcast { text: "hi" },
            Command::WhoElse,
            Command::WhoElseSince { secs: 12 },
            Command::Block { user: "a" },
            Command::Unblock { user: "a" },
            Command::StartPrivate { user: "a" },
            Command::Accept { user: "a" },
            Command::Decline { user: "a" },
            Command::StopPrivate { user: "a" },
            Command::Logout,
            Command::Help,
            Command::P2pPort { port: 1 },
            Command::Active,
            Command::Ack { id: 0 },
            Command::Acks { on: true },
            Command::Acks { on: false },
        ];
        for c in cmds {
            assert_eq!(parse_command(&c.to_line()), Ok(c.clone()));
        }
    }
}
