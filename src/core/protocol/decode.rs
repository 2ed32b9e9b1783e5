//! The client's side of [`super::render`]: one server line back into a [`ServerMsg`].
//!
//! Total over all input: a line from a buggy or hostile server gives a [`DecodeError`], never a panic.
//! Only the structured fields are read; the human text after them is ignored, except where it *is* the
//! payload (`MSG`, `BCAST`, `OFFLINE-MSG`). The readers are generated from the table in
//! `protocol::lines`, the same rows the writers come from.

pub use super::wire::DecodeError;

use super::columns::{codec, rows, tag_alt, tag_pat, variant_new};
use super::lines::wire_tables;
use super::reply::{ByeReason, ErrorReply, PingState, Prompt, ServerMsg};
use super::wire::{
    Access, Adding, Agent, AltGroup, Changes, Codec, Coverage, Fields, GroupEntries, Here, Kind,
    Names, Nested, OnOff, OneKey, Rank, Role, Seen, StoredFull, TakePart, Text, TopicBy, Usage,
    Whose,
};

macro_rules! define_decode {
    (
        [$($em:tt)*] $vis:vis enum $E:ident {
            $( { [$($vm:tt)*] $V:ident $decl:tt $bind:tt $tag:tt [$( $wf:ident $codec:tt )*] $($rest:tt)* } )*
        }
    ) => {
        impl TakePart for $E {
            fn take_head(f: &mut Fields<'_>, field: &'static str) -> Result<Self, DecodeError> {
                let t = f.token(field)?;
                match t {
                    $( tag_pat!($tag) => {
                        f.alt = tag_alt!(t, $tag);
                        $( let $wf = <codec! $codec as Codec<_>>::take(f, stringify!($wf))?; )*
                        Ok(variant_new!($E $V $decl $bind))
                    } )*
                    _ => Err(f.err(field)),
                }
            }

            fn knows(tag: &str) -> bool {
                matches!(tag, $( tag_pat!($tag) )|*)
            }
        }
    };
}

wire_tables!(rows for define_decode);

/// Decodes one server line (without its newline; a trailing `\r` is tolerated).
pub fn decode_line(line: &str) -> Result<ServerMsg, DecodeError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(DecodeError::Empty);
    }
    // By bytes (a server line holding ciphertext is hundreds of bytes, every one decoded as a
    // `char` otherwise).
    if super::line::has_control(line) {
        return Err(DecodeError::ControlChar);
    }
    let tag = line.split_once(' ').map_or(line, |(t, _)| t);
    if !ServerMsg::knows(tag) {
        return Err(DecodeError::UnknownTag(tag.chars().take(40).collect()));
    }
    let mut f = Fields::new(line);
    f.tag = tag;
    ServerMsg::take_head(&mut f, "tag")
}

/// An `ERROR` or a `BYE` whose code this decoder does not know: a newer server's, which an older
/// client cannot decode but can still show, since every such line ends with its human text
/// (docs/PROTOCOL.md, "Errors"). What follows the code is `text` as it is: the new code's fields, if
/// it has any, then that text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewerLine<'a> {
    /// `ERROR <code> ...`: the command, or the login step, was refused.
    Error {
        /// The code.
        code: &'a str,
        /// What follows it.
        text: &'a str,
    },
    /// `BYE <reason> ...`: the server is closing the connection.
    Bye {
        /// The reason.
        reason: &'a str,
        /// What follows it.
        text: &'a str,
    },
}

/// `line` (one that [`decode_line`] refused) as an `ERROR` or `BYE` with a code this decoder does
/// not know; `None` for any other line, and for one whose code is known (then the line is malformed,
/// not newer).
pub fn newer_line(line: &str) -> Option<NewerLine<'_>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if super::line::has_control(line) {
        return None;
    }
    let (tag, rest) = line.split_once(' ')?;
    let (code, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let code_like = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !code_like {
        return None;
    }
    match tag {
        "ERROR" if !ErrorReply::knows(code) => Some(NewerLine::Error { code, text }),
        "BYE" if !ByeReason::knows(code) => Some(NewerLine::Bye { reason: code, text }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_servers_error_or_goodbye_is_told_from_a_malformed_line() {
        for line in ["ERROR made-up", "ERROR made-up Try later.\r"] {
            assert!(decode_line(line).is_err());
            let text = line.strip_prefix("ERROR made-up").unwrap().trim();
            let text = text.trim_end_matches('\r');
            assert_eq!(
                newer_line(line),
                Some(NewerLine::Error {
                    code: "made-up",
                    text
                }),
                "{line:?}"
            );
        }
        assert_eq!(
            newer_line("BYE moved 5 The server moved: connect to the other one."),
            Some(NewerLine::Bye {
                reason: "moved",
                text: "5 The server moved: connect to the other one."
            })
        );
        // A known code with bad fields is malformed, not newer; so is anything else.
        for line in [
            "ERROR wrong-password x Wrong.",
            "ERROR",
            "ERROR ",
            "ERROR Made-Up text",
            "ERROR made-up \x1b[2J",
            "BYE logout",
            "MSG 1 2 a b",
            "NOPE made-up text",
        ] {
            assert_eq!(newer_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "NOPE",
            "MSG",
            "WHOELSE",
            "WHOELSE 99999999999999999999 a",
            "WHOELSE 3 a",
            "PRIVATE-ACCEPTED a nowhere 00",
            "ERROR",
            "ERROR made-up",
            "BYE later",
            "OFFLINE-MSG x 1 a b",
            "PRESENCE a maybe",
        ] {
            assert!(decode_line(bad).is_err(), "{bad:?}");
        }
    }

    /// Found by the `decode_line` fuzz target: a name ending in `\r` decoded, but re-rendered it lost the
    /// `\r` (taken for a CRLF ending), and a `MSG` text could carry escape sequences to the terminal.
    #[test]
    fn control_characters_are_refused() {
        for bad in [
            "WHOELSE 2 \0 \r 1",
            "MSG 1 2 a b\r\r",
            "MSG 1 2 a \x1b[2Jgotcha",
            "WELCOME a\u{7f}",
        ] {
            assert_eq!(decode_line(bad), Err(DecodeError::ControlChar), "{bad:?}");
        }
        assert!(decode_line("MSG 1 2 a tab\there\r").is_ok());
    }

    #[test]
    fn human_text_is_ignored() {
        assert_eq!(
            decode_line("UNBLOCKED bob whatever the server says"),
            Ok(ServerMsg::Unblocked { user: "bob".into() })
        );
    }
}
