//! The peer-to-peer private-chat link: a small line protocol spoken directly between two clients, never
//! through the server. `docs/PROTOCOL.md` ("Peer-to-peer private chat protocol") is its prose version.
//!
//! ```text
//! connector → listener   HELLO <user> <token>    who I am, and the token the server gave us both
//! listener → connector   OK <user>               accepted; the session is open
//!                        NO <code> <text>        refused; the listener closes the connection
//! either way, once open  MSG <text>              one private message, verbatim
//!                        BYE <code> <text>       the session is over; the sender closes
//! ```
//!
//! Framing and the line checks are the server protocol's ([`crate::protocol::LineDecoder`],
//! [`crate::protocol::check_line`]); this module only turns one checked line into a [`PeerMsg`] and back.
//! Decoding is total: a line from a buggy or hostile peer gives a [`PeerDecodeError`], never a panic.

use std::fmt;

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_till1},
    combinator::{eof, rest},
};

use crate::protocol::Token;
use crate::protocol::name::check_username;

/// The longest line either side accepts on a link, in bytes: the server's default line limit.
pub const MAX_LINE: usize = crate::protocol::MAX_LINE;

/// Seconds a connection has to complete its handshake (`HELLO` on one side, `OK` on the other).
pub const HANDSHAKE_SECS: u64 = 10;

/// Seconds the side that accepted a request waits for the requester to connect.
pub const EXPECT_SECS: u64 = 60;

/// Inbound connections that may be waiting for their `HELLO` at once; more are closed at once, so a
/// flood of idle connections cannot pile up.
pub const MAX_GREETING: usize = 8;

/// Why a listener refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The first line was not a well-formed `HELLO`.
    BadHello,
    /// No private chat with that user was accepted here (or it timed out).
    Unexpected,
    /// The user was expected, but the token is not the one the server gave.
    BadToken,
    /// A private chat with that user is already open.
    Duplicate,
    /// Too many connections are waiting to introduce themselves.
    Busy,
    /// A line over [`MAX_LINE`], or one with invalid UTF-8 or control characters.
    BadLine,
    /// A code this client does not know (from a newer client).
    Other,
}

impl Refusal {
    const ALL: [Refusal; 6] = [
        Refusal::BadHello,
        Refusal::Unexpected,
        Refusal::BadToken,
        Refusal::Duplicate,
        Refusal::Busy,
        Refusal::BadLine,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Refusal::BadHello => "bad-hello",
            Refusal::Unexpected => "unexpected",
            Refusal::BadToken => "bad-token",
            Refusal::Duplicate => "duplicate",
            Refusal::Busy => "busy",
            Refusal::BadLine => "bad-line",
            Refusal::Other => "other",
        }
    }

    /// The explanation sent after the code, for a person reading with `nc`.
    pub fn text(self) -> &'static str {
        match self {
            Refusal::BadHello => "The first line must be: HELLO <user> <token>.",
            Refusal::Unexpected => "No private chat with you was accepted here.",
            Refusal::BadToken => "That is not the token for this private chat.",
            Refusal::Duplicate => "A private chat with you is already open.",
            Refusal::Busy => "Too many connections are waiting; try again.",
            Refusal::BadLine => "Lines must be UTF-8 text without control characters.",
            Refusal::Other => "Refused.",
        }
    }
}

/// Why a session ended, as told to the other side in `BYE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerBye {
    /// The user stopped the private chat (`stopprivate`).
    Stop,
    /// The user logged out or quit.
    Logout,
    /// The user's client lost (or was dropped by) the server.
    Offline,
    /// A code this client does not know.
    Other,
}

impl PeerBye {
    const ALL: [PeerBye; 3] = [PeerBye::Stop, PeerBye::Logout, PeerBye::Offline];

    pub fn code(self) -> &'static str {
        match self {
            PeerBye::Stop => "stop",
            PeerBye::Logout => "logout",
            PeerBye::Offline => "offline",
            PeerBye::Other => "other",
        }
    }

    fn text(self) -> &'static str {
        match self {
            PeerBye::Stop => "Private chat stopped.",
            PeerBye::Logout => "Logged out.",
            PeerBye::Offline => "Lost the server.",
            PeerBye::Other => "Goodbye.",
        }
    }
}

/// One line of the link protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerMsg<'a> {
    Hello { user: &'a str, token: Token },
    Ok { user: &'a str },
    No { refusal: Refusal },
    Msg { text: &'a str },
    Bye { reason: PeerBye },
}

impl PeerMsg<'_> {
    /// The wire form, without the newline.
    pub fn to_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for PeerMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerMsg::Hello { user, token } => write!(f, "HELLO {user} {token}"),
            PeerMsg::Ok { user } => write!(f, "OK {user}"),
            PeerMsg::No { refusal } => write!(f, "NO {} {}", refusal.code(), refusal.text()),
            PeerMsg::Msg { text } => write!(f, "MSG {text}"),
            PeerMsg::Bye { reason } => write!(f, "BYE {} {}", reason.code(), reason.text()),
        }
    }
}

/// A line that is not in the link protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerDecodeError {
    #[error("unknown line type '{0}'")]
    UnknownTag(String),
    #[error("malformed '{0}' line")]
    Malformed(&'static str),
}

fn word(i: &str) -> IResult<&str, &str> {
    take_till1(|c| c == ' ').parse(i)
}

/// `<word>` then the end of the line, or a single space and anything (ignored human text).
fn word_then_text(i: &str) -> IResult<&str, &str> {
    let (i, w) = word(i)?;
    if i.is_empty() {
        return Ok((i, w));
    }
    let (i, _) = tag(" ").parse(i)?;
    let (i, _) = rest(i)?;
    Ok((i, w))
}

fn hello(i: &str) -> IResult<&str, (&str, &str)> {
    let (i, user) = word(i)?;
    let (i, _) = tag(" ").parse(i)?;
    let (i, token) = word(i)?;
    let (i, _) = eof(i)?;
    Ok((i, (user, token)))
}

fn code_of<T: Copy>(all: &[T], code: fn(T) -> &'static str, word: &str, other: T) -> T {
    all.iter()
        .copied()
        .find(|v| code(*v) == word)
        .unwrap_or(other)
}

/// Decodes one checked line (no line ending).
pub fn decode(line: &str) -> Result<PeerMsg<'_>, PeerDecodeError> {
    let (tag_word, args) = line.split_once(' ').unwrap_or((line, ""));
    let malformed = PeerDecodeError::Malformed;
    match tag_word {
        "HELLO" => {
            let (_, (user, token)) = hello(args).map_err(|_| malformed("HELLO"))?;
            check_username(user).map_err(|_| malformed("HELLO"))?;
            let token = token.parse::<Token>().map_err(|_| malformed("HELLO"))?;
            Ok(PeerMsg::Hello { user, token })
        }
        "OK" => {
            let (_, user) = word_then_text(args).map_err(|_| malformed("OK"))?;
            check_username(user).map_err(|_| malformed("OK"))?;
            Ok(PeerMsg::Ok { user })
        }
        "NO" => {
            let (_, code) = word_then_text(args).map_err(|_| malformed("NO"))?;
            Ok(PeerMsg::No {
                refusal: code_of(&Refusal::ALL, Refusal::code, code, Refusal::Other),
            })
        }
        "MSG" => {
            if args.trim().is_empty() {
                return Err(PeerDecodeError::Malformed("MSG"));
            }
            Ok(PeerMsg::Msg { text: args })
        }
        "BYE" => {
            let reason = match word_then_text(args) {
                Ok((_, code)) => code_of(&PeerBye::ALL, PeerBye::code, code, PeerBye::Other),
                // A bare `BYE` still ends the session.
                Err(_) => PeerBye::Other,
            };
            Ok(PeerMsg::Bye { reason })
        }
        other => Err(PeerDecodeError::UnknownTag(
            other.chars().take(20).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: Token = Token(0x00ff_1234_5678_9abc_def0_0000_1111_2222);

    #[test]
    fn every_message_round_trips() {
        let msgs = [
            PeerMsg::Hello {
                user: "alice",
                token: TOKEN,
            },
            PeerMsg::Ok { user: "bob" },
            PeerMsg::Msg {
                text: "  spaced  ünïcode 🎉 ",
            },
        ];
        for m in msgs {
            assert_eq!(decode(&m.to_line()), Ok(m.clone()));
        }
        for refusal in Refusal::ALL {
            let m = PeerMsg::No { refusal };
            assert_eq!(decode(&m.to_line()), Ok(m));
        }
        for reason in PeerBye::ALL {
            let m = PeerMsg::Bye { reason };
            assert_eq!(decode(&m.to_line()), Ok(m));
        }
    }

    #[test]
    fn hello_is_strict() {
        let t = TOKEN.to_string();
        for bad in [
            "HELLO".to_string(),
            "HELLO alice".to_string(),
            format!("HELLO alice {t} extra"),
            format!("HELLO  alice {t}"),
            "HELLO alice 1234".to_string(),
            format!("HELLO al ice {t}"),
            format!("HELLO zoë {t}"),
        ] {
            assert_eq!(
                decode(&bad),
                Err(PeerDecodeError::Malformed("HELLO")),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_codes_and_tags() {
        assert_eq!(
            decode("NO shiny-new-code whatever"),
            Ok(PeerMsg::No {
                refusal: Refusal::Other
            })
        );
        assert_eq!(
            decode("BYE"),
            Ok(PeerMsg::Bye {
                reason: PeerBye::Other
            })
        );
        assert_eq!(decode("MSG   "), Err(PeerDecodeError::Malformed("MSG")));
        assert_eq!(decode("MSG"), Err(PeerDecodeError::Malformed("MSG")));
        assert!(matches!(
            decode("PING now"),
            Err(PeerDecodeError::UnknownTag(t)) if t == "PING"
        ));
        assert!(matches!(decode(""), Err(PeerDecodeError::UnknownTag(_))));
    }
}
