//! One IRC message, read and written: IRCv3 tags, source, command, parameters and trailing
//! parameter, with the lengths the protocol allows (512 bytes with the line ending, and up to 8191
//! more of tags).
//!
//! ```text
//! message    = ["@" tags " "] [":" source " "] command *(" " middle) [" :" trailing]
//! tags       = tag *(";" tag)        tag = key ["=" escaped-value]
//! command    = 1*letter / 3digit
//! ```
//!
//! [`parse`] takes a line without its ending (as natter's line reader hands it over) and never
//! panics: whatever the bytes, it returns a [`Message`] or the [`ParseError`] its answer is chosen
//! by. [`Message::render`] writes one back, line ending included; parsing what it wrote gives the same
//! message.

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_till, take_till1, take_while1},
    character::complete::char,
    combinator::{opt, rest},
    sequence::preceded,
};

/// The most bytes of a message without its tags, line ending included (RFC 1459, kept by IRCv3).
pub const MAX_BODY: usize = 512;

/// The most bytes of a message's tags: the `@`, the tags and the space after them (IRCv3
/// message-tags).
pub const MAX_TAGS: usize = 8191;

/// The most parameters a message may carry (RFC 2812).
pub const MAX_PARAMS: usize = 15;

/// Why a line is not an IRC message; each is answered differently ([`ParseError::numeric`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but spaces: IRC ignores it.
    #[error("empty line")]
    Empty,
    /// The line is not UTF-8 text (natter relays text only).
    #[error("the line is not UTF-8")]
    NotUtf8,
    /// A carriage return or NUL inside the line.
    #[error("a carriage return or NUL inside the line")]
    ControlChar,
    /// The message without its tags is longer than 512 bytes with its line ending.
    #[error("the message is longer than {MAX_BODY} bytes")]
    TooLong,
    /// The tags are longer than 8191 bytes.
    #[error("the tags are longer than {MAX_TAGS} bytes")]
    TagsTooLong,
    /// Tags, or a source, and no command after them, or a command that is neither a word nor three
    /// digits.
    #[error("no command")]
    NoCommand,
    /// More than 15 parameters.
    #[error("more than {MAX_PARAMS} parameters")]
    TooManyParams,
}

impl ParseError {
    /// What the client is told, as the numeric reply (or `None`: nothing, as for an empty line) and
    /// its text. 417 is ERR_INPUTTOOLONG (IRCv3); 421 ERR_UNKNOWNCOMMAND for a line with no command.
    pub fn numeric(self) -> Option<(&'static str, &'static str)> {
        match self {
            ParseError::Empty => None,
            ParseError::TooLong | ParseError::TagsTooLong => {
                Some(("417", "Input line was too long"))
            }
            ParseError::NotUtf8 => Some(("421", "Message rejected: it is not UTF-8 text")),
            ParseError::ControlChar => Some(("421", "Message rejected: it holds a CR or NUL")),
            ParseError::NoCommand => Some(("421", "Message rejected: it has no command")),
            ParseError::TooManyParams => Some(("421", "Message rejected: too many parameters")),
        }
    }
}

/// One message tag as it is on the wire: its value still escaped (see [`unescape`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The key, with its client prefix (`+`) and vendor, if any.
    pub key: &'a str,
    /// The escaped value; `None` when the tag has none (`key` or `key=`).
    pub value: Option<&'a str>,
}

/// One IRC message, borrowing the line it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The tags, in the order sent.
    pub tags: Vec<Tag<'a>>,
    /// Who it is from (`nick!user@host` or a server name), without its colon.
    pub source: Option<&'a str>,
    /// The command, as sent: compare it with [`Message::is`], which ignores ASCII case.
    pub command: &'a str,
    /// The parameters, the trailing one (after ` :`) last and without its colon.
    pub params: Vec<&'a str>,
}

impl<'a> Message<'a> {
    /// Whether the command is `word`, ignoring ASCII case.
    pub fn is(&self, word: &str) -> bool {
        self.command.eq_ignore_ascii_case(word)
    }

    /// The `i`th parameter, if sent.
    pub fn param(&self, i: usize) -> Option<&'a str> {
        self.params.get(i).copied()
    }

    /// The message as a line, `\r\n` included, appended to `out`. The last parameter is written as a
    /// trailing one (` :…`) when it must be: empty, holding a space, or starting with `:`.
    pub fn render(&self, out: &mut Vec<u8>) {
        if !self.tags.is_empty() {
            out.push(b'@');
            for (i, t) in self.tags.iter().enumerate() {
                if i > 0 {
                    out.push(b';');
                }
                out.extend_from_slice(t.key.as_bytes());
                if let Some(v) = t.value {
                    out.push(b'=');
                    out.extend_from_slice(v.as_bytes());
                }
            }
            out.push(b' ');
        }
        write_body(out, self.source, self.command, &self.params, false);
    }
}

/// `[:source ]command params…\r\n` appended to `out`. The last parameter is written after ` :`
/// when `trailing` says so (as servers write text), or when it must be: empty, holding a space, or
/// starting with `:`.
pub(super) fn write_body(
    out: &mut Vec<u8>,
    source: Option<&str>,
    command: &str,
    params: &[&str],
    trailing: bool,
) {
    if let Some(source) = source {
        out.push(b':');
        out.extend_from_slice(source.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(command.as_bytes());
    let last = params.len().saturating_sub(1);
    for (i, p) in params.iter().enumerate() {
        out.push(b' ');
        if i == last && (trailing || p.is_empty() || p.contains(' ') || p.starts_with(':')) {
            out.push(b':');
        }
        out.extend_from_slice(p.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Reads one line (without its `\r\n`) as an IRC message. Never panics.
pub fn parse(line: &[u8]) -> Result<Message<'_>, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
    if line.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(ParseError::ControlChar);
    }
    if line.trim_matches(' ').is_empty() {
        return Err(ParseError::Empty);
    }
    let (body, tags) = match line.strip_prefix('@') {
        Some(_) => {
            let end = line.find(' ').unwrap_or(line.len());
            // The `@`, the tags and one space.
            if end + 1 > MAX_TAGS {
                return Err(ParseError::TagsTooLong);
            }
            (line[end..].trim_start_matches(' '), &line[1..end])
        }
        None => (line, ""),
    };
    // The body with its `\r\n`.
    if body.len() + 2 > MAX_BODY {
        return Err(ParseError::TooLong);
    }
    let tags = parse_tags(tags);
    let (_, (source, command, params)) = body_parts(body).map_err(|_| ParseError::NoCommand)?;
    if params.len() > MAX_PARAMS {
        return Err(ParseError::TooManyParams);
    }
    Ok(Message {
        tags,
        source,
        command,
        params,
    })
}

/// The tags of a message. A tag with no key (`;;`, `=value`) is no tag: it is dropped, as an empty
/// one is, so that what is read is what is written back.
fn parse_tags(tags: &str) -> Vec<Tag<'_>> {
    tags.split(';')
        .filter(|t| !t.is_empty() && !t.starts_with('='))
        .map(|t| match t.split_once('=') {
            Some((key, "")) => Tag { key, value: None },
            Some((key, value)) => Tag {
                key,
                value: Some(value),
            },
            None => Tag {
                key: t,
                value: None,
            },
        })
        .collect()
}

fn spaces(i: &str) -> IResult<&str, &str> {
    take_while1(|c| c == ' ').parse(i)
}

fn source(i: &str) -> IResult<&str, &str> {
    let (i, s) = preceded(char(':'), take_till1(|c| c == ' ')).parse(i)?;
    let (i, _) = spaces(i)?;
    Ok((i, s))
}

fn command(i: &str) -> IResult<&str, &str> {
    let (after, word) = take_till1(|c| c == ' ').parse(i)?;
    let letters = word.bytes().all(|b| b.is_ascii_alphabetic());
    let numeric = word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit());
    if letters || numeric {
        Ok((after, word))
    } else {
        Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )))
    }
}

fn param(i: &str) -> IResult<&str, &str> {
    let (i, _) = spaces(i)?;
    if let Ok((i, trailing)) = preceded(tag(":"), rest::<&str, nom::error::Error<&str>>).parse(i) {
        return Ok((i, trailing));
    }
    take_till1(|c| c == ' ').parse(i)
}

type Parts<'a> = (Option<&'a str>, &'a str, Vec<&'a str>);

fn body_parts(i: &str) -> IResult<&str, Parts<'_>> {
    let (mut i, source) = opt(source).parse(i)?;
    let (rest_, command) = command(i)?;
    i = rest_;
    let mut params = Vec::new();
    loop {
        // Spaces at the end of the line are no parameter.
        let (after, _) = take_till(|c| c != ' ').parse(i)?;
        if after.is_empty() {
            break;
        }
        let (after, p) = param(i)?;
        params.push(p);
        i = after;
        if params.len() > MAX_PARAMS {
            break;
        }
    }
    Ok((i, (source, command, params)))
}

/// A tag's value as meant, from its escaped form (`\:` `;`, `\s` space, `\\`, `\r`, `\n`; a lone
/// `\` at the end is dropped, and any other escaped character stands for itself).
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A value escaped for a tag (the inverse of [`unescape`]).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
