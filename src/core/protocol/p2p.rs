//! The peer-to-peer private-chat link: a small protocol spoken directly between two clients, never
//! through the server, and encrypted end to end. `docs/PROTOCOL.md` ("Peer-to-peer private chat
//! protocol") is its prose version; `crate::client::noise` says how the encryption is keyed.
//!
//! Every message is a *frame*: a 2-byte big-endian length, then that many bytes. This is version 3 of
//! the link: nothing on it names either user.
//!
//! ```text
//! connector → listener   Noise message 1         keyed by the server's token, which is never sent;
//!                                                its sealed payload "HELLO <user>" says who connects
//! listener → connector   Noise message 2         its payload "OK <user>": the session is open
//!                        "NO <code> <text>"      or, in plain text, refused; the listener closes
//! either way, once open  Noise messages, each holding one line:
//!                        MSG <text>              one private message, verbatim
//!                        BYE <code> <text>       the session is over; the sender closes
//! ```
//!
//! The listener learns who connected by which of the private chats it expects (each with its own
//! token) the first message authenticates under: at most [`MAX_EXPECTING`] tries. Both handshake
//! payloads are padded to [`HANDSHAKE_PAYLOAD`] bytes, so not even a name's length shows on the wire.
//!
//! A refusal is plain text because it comes before the two sides share a key (the listener could not
//! authenticate the connector, so it has nothing to seal it with); it holds a code and a fixed
//! explanation, never a name or anything of the handshake.
//!
//! The lines inside are checked as the server protocol's are ([`crate::protocol::check_line`]); this
//! module turns one into a [`PeerMsg`] and back, and splits a byte stream into frames
//! ([`FrameDecoder`]). Decoding is total: bytes from a buggy or hostile peer give an error, never a
//! panic.

use std::fmt;

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_till1},
    combinator::{eof, rest},
};

use crate::protocol::check_line;
use crate::protocol::name::{MAX_USERNAME_LEN, check_username};

/// The longest line either side accepts on a link, in bytes: the server's default line limit.
pub const MAX_LINE: usize = crate::protocol::MAX_LINE;

/// The longest frame accepted: a line and what encryption adds to it (the handshake's are smaller).
pub const MAX_FRAME: usize = MAX_LINE + 64;

/// Seconds a connection has to complete its handshake (its first message on one side, the answer on the
/// other).
pub const HANDSHAKE_SECS: u64 = 10;

/// Seconds the side that accepted a request waits for the requester to connect.
pub const EXPECT_SECS: u64 = 60;

/// Inbound connections that may be waiting to be recognised at once (their first message not yet in,
/// or held until the private chat it belongs to is expected); more are refused at once, so a flood of
/// idle connections cannot pile up.
pub const MAX_GREETING: usize = 8;

/// Private chats a client may be waiting for the requester to connect to at once. A first message is
/// tried under each one's token in turn (the names are not on the wire to say which), so this bounds
/// the work one inbound connection can cause; an `accept` beyond it fails with a clear message.
pub const MAX_EXPECTING: usize = 4;

/// The size of each handshake message's payload (`HELLO <user>`, `OK <user>`), padded with spaces: the
/// longest name fits, and every handshake is the same size whoever speaks.
pub const HANDSHAKE_PAYLOAD: usize = "HELLO ".len() + MAX_USERNAME_LEN;

/// Why a listener refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The first frame was not a handshake message of this version of the link.
    BadHello,
    /// The first message authenticates under no private chat expected here: nobody is expected, the
    /// chat was stopped or timed out, or the connector does not have the token the server gave.
    Unexpected,
    /// The connector spoke an older version of the link (it began with `HELLO <user>` in plain text).
    Version,
    /// Too many connections are waiting to be recognised.
    Busy,
    /// A frame over the limit, or a line with invalid UTF-8 or control characters.
    BadLine,
    /// A code this client does not know (from a newer client).
    Other,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::BadHello,
        Refusal::Unexpected,
        Refusal::Version,
        Refusal::Busy,
        Refusal::BadLine,
    ];

    /// The code on the wire, after `NO`.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::BadHello => "bad-hello",
            Refusal::Unexpected => "unexpected",
            Refusal::Version => "version",
            Refusal::Busy => "busy",
            Refusal::BadLine => "bad-line",
            Refusal::Other => "other",
        }
    }

    /// The explanation sent after the code, for a person reading with `nc`.
    pub fn text(self) -> &'static str {
        match self {
            Refusal::BadHello => "Start with the Noise handshake (version 3 of the link).",
            Refusal::Unexpected => "No private chat accepted here matches this handshake.",
            Refusal::Version => {
                "This client speaks version 3 of the private-chat link; update natter to chat."
            }
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

    /// The code on the wire, after `BYE`.
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
    /// `HELLO <user>`: the connector's handshake payload, saying who connects.
    Hello {
        /// The connecting user.
        user: &'a str,
    },
    /// `OK <user>`: the listener's handshake payload; the session is open.
    Ok {
        /// The listening user.
        user: &'a str,
    },
    /// `NO <code> <text>`: the listener refuses, in plain text, and closes.
    No {
        /// Why it refused.
        refusal: Refusal,
    },
    /// `MSG <text>`: one private message.
    Msg {
        /// The message, verbatim: the rest of the line.
        text: &'a str,
    },
    /// `BYE <code> <text>`: the session is over; the sender closes.
    Bye {
        /// Why it is over.
        reason: PeerBye,
    },
    /// The sender's identity keys and its signature over the session's handshake hash (sent first,
    /// inside the session, by a client that has end-to-end keys).
    Id {
        /// The sender's Curve25519 identity key, in vodozemac's base64 form.
        curve25519: &'a str,
        /// The sender's Ed25519 identity key, in base64: the key the signature is checked with.
        ed25519: &'a str,
        /// The Ed25519 signature over the session's handshake hash, in base64: proof that the owner of
        /// the identity is at this end of this session.
        signature: &'a str,
    },
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
            PeerMsg::Hello { user } => write!(f, "HELLO {user}"),
            PeerMsg::Ok { user } => write!(f, "OK {user}"),
            PeerMsg::No { refusal } => write!(f, "NO {} {}", refusal.code(), refusal.text()),
            PeerMsg::Msg { text } => write!(f, "MSG {text}"),
            PeerMsg::Bye { reason } => write!(f, "BYE {} {}", reason.code(), reason.text()),
            PeerMsg::Id {
                curve25519,
                ed25519,
                signature,
            } => write!(f, "ID {curve25519} {ed25519} {signature}"),
        }
    }
}

/// A line that is not in the link protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerDecodeError {
    /// The line's first word is no tag of the link protocol.
    #[error("unknown line type '{0}'")]
    UnknownTag(String),
    /// The tag is known but the rest of the line does not fit it.
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

fn hello(i: &str) -> IResult<&str, &str> {
    let (i, user) = word(i)?;
    let (i, _) = eof(i)?;
    Ok((i, user))
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
            let (_, user) = hello(args).map_err(|_| malformed("HELLO"))?;
            check_username(user).map_err(|_| malformed("HELLO"))?;
            Ok(PeerMsg::Hello { user })
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
        "ID" => match args.split(' ').collect::<Vec<_>>()[..] {
            [curve25519, ed25519, signature]
                if [curve25519, ed25519, signature]
                    .iter()
                    .all(|w| !w.is_empty() && w.len() <= 128) =>
            {
                Ok(PeerMsg::Id {
                    curve25519,
                    ed25519,
                    signature,
                })
            }
            _ => Err(malformed("ID")),
        },
        other => Err(PeerDecodeError::UnknownTag(
            other.chars().take(20).collect(),
        )),
    }
}

/// The payload of a handshake message: `msg` (a `HELLO` or an `OK`) padded with spaces to
/// [`HANDSHAKE_PAYLOAD`] bytes, so its size does not tell the name's length.
pub fn handshake_payload(msg: &PeerMsg<'_>) -> Vec<u8> {
    let mut out = msg.to_line().into_bytes();
    debug_assert!(
        out.len() <= HANDSHAKE_PAYLOAD,
        "a name is at most {MAX_USERNAME_LEN} bytes"
    );
    out.resize(HANDSHAKE_PAYLOAD.max(out.len()), b' ');
    out
}

/// Decodes a handshake message's payload: exactly [`HANDSHAKE_PAYLOAD`] bytes, a line and its padding.
pub fn decode_handshake_payload(payload: &[u8]) -> Result<PeerMsg<'_>, PeerDecodeError> {
    if payload.len() != HANDSHAKE_PAYLOAD {
        return Err(PeerDecodeError::Malformed("handshake payload"));
    }
    let line = check_line(payload).map_err(|_| PeerDecodeError::Malformed("handshake payload"))?;
    // A name holds no space, so trimming takes the padding and nothing else.
    decode(line.trim_end_matches(' '))
}

/// The wire form of one frame: its length, then `payload` (at most [`MAX_FRAME`] bytes).
pub fn frame(payload: &[u8]) -> Vec<u8> {
    debug_assert!(!payload.is_empty() && payload.len() <= MAX_FRAME);
    let len = u16::try_from(payload.len()).expect("a frame fits in 64 KiB");
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// What a [`FrameDecoder`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum PeerFrame<'a> {
    /// One frame's payload, without its length.
    Frame(&'a [u8]),
    /// A length of 0 or over [`MAX_FRAME`]: the stream is not this protocol (or was damaged), and
    /// nothing after it can be trusted to be framed right. Reported once; the rest is ignored.
    Broken,
}

/// Splits a byte stream into frames, however the bytes arrive. Keeps at most one frame.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    broken: bool,
}

impl FrameDecoder {
    /// A decoder that has seen nothing yet.
    pub fn new() -> Self {
        FrameDecoder::default()
    }

    /// Hands `out` every frame completed by `bytes` (however they are split), keeping an unfinished one
    /// for the next call. After a [`PeerFrame::Broken`], ignores everything.
    pub fn feed(&mut self, mut bytes: &[u8], mut out: impl FnMut(PeerFrame<'_>)) {
        while !self.broken && !bytes.is_empty() {
            if self.buf.len() < 2 {
                let take = (2 - self.buf.len()).min(bytes.len());
                self.buf.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if self.buf.len() < 2 {
                    return;
                }
            }
            let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
            if len == 0 || len > MAX_FRAME {
                self.broken = true;
                self.buf = Vec::new();
                out(PeerFrame::Broken);
                return;
            }
            let have = self.buf.len() - 2;
            let take = (len - have).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() - 2 == len {
                out(PeerFrame::Frame(&self.buf[2..]));
                self.buf.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        let msgs = [
            PeerMsg::Hello { user: "alice" },
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
    fn frames_come_out_whole_however_the_bytes_are_cut() {
        let payloads: Vec<Vec<u8>> = vec![b"HELLO alice".to_vec(), vec![7; 300], vec![0; 1]];
        let wire: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        for cut in 1..wire.len() {
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            for chunk in wire.chunks(cut) {
                d.feed(chunk, |f| match f {
                    PeerFrame::Frame(b) => got.push(b.to_vec()),
                    PeerFrame::Broken => panic!("broken"),
                });
            }
            assert_eq!(got, payloads, "cut {cut}");
        }
    }

    #[test]
    fn a_bad_length_breaks_the_stream_once() {
        for bad in [vec![0u8, 0, 1, 2], vec![0xff, 0xff, 1]] {
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            d.feed(&bad, |f| got.push(matches!(f, PeerFrame::Broken)));
            d.feed(&frame(b"later"), |f| {
                got.push(matches!(f, PeerFrame::Broken))
            });
            assert_eq!(got, vec![true]);
        }
    }

    #[test]
    fn hello_is_strict() {
        for bad in [
            "HELLO".to_string(),
            "HELLO alice extra".to_string(),
            "HELLO  alice".to_string(),
            "HELLO al ice".to_string(),
            "HELLO zoë".to_string(),
        ] {
            assert_eq!(
                decode(&bad),
                Err(PeerDecodeError::Malformed("HELLO")),
                "{bad}"
            );
        }
    }

    #[test]
    fn handshake_payloads_are_padded_to_one_size_and_read_strictly() {
        let longest = "x".repeat(MAX_USERNAME_LEN);
        for m in [
            PeerMsg::Hello { user: "a" },
            PeerMsg::Hello { user: &longest },
            PeerMsg::Ok { user: "bob" },
            PeerMsg::Ok { user: &longest },
        ] {
            let p = handshake_payload(&m);
            assert_eq!(p.len(), HANDSHAKE_PAYLOAD);
            assert_eq!(decode_handshake_payload(&p), Ok(m));
        }
        let bad = PeerDecodeError::Malformed("handshake payload");
        assert_eq!(decode_handshake_payload(b"HELLO alice"), Err(bad.clone()));
        let mut long = handshake_payload(&PeerMsg::Hello { user: "a" });
        long.push(b' ');
        assert_eq!(decode_handshake_payload(&long), Err(bad.clone()));
        let mut control = handshake_payload(&PeerMsg::Hello { user: "a" });
        control[10] = 0;
        assert_eq!(decode_handshake_payload(&control), Err(bad));
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
