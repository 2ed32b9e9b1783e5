//! The one place that turns server messages into text.
//!
//! Every line is `TAG fields… human-text`: a fixed upper-case tag, then a fixed number of space-free fields
//! for that tag (and, for `ERROR` and `BYE`, for that code; lists are a count and that many fields), then
//! free text. For the lines that carry a message (`MSG`, `BCAST`, `GROUP-MSG`, `OFFLINE-MSG`,
//! `OFFLINE-GROUP-MSG`, `OFFLINE-AGAIN`, `OFFLINE-AGAIN-GROUP`) the free text is the message itself,
//! verbatim; for every other tag it is an explanation for a person reading with `nc`, derived from the
//! fields, which a program can ignore.
//!
//! The writers are generated from the table in `super::lines`. They write straight into the caller's
//! buffer, with no allocation of their own: the server renders every line it sends through here.

use std::fmt::{self, Display, Formatter, Write};

use super::columns::{codec, human, rows, tag_of, variant_pat};
use super::command::CommandName;
use super::lines::wire_tables;
use super::reply::{ByeReason, CancelReason, ErrorReply, PingState, Prompt, ServerMsg};
use super::wire::{
    Access, Adding, Agent, AltGroup, ByteOut, Changes, Codec, Coverage, GroupEntries, Here, Kind,
    Names, Nested, OnOff, OneKey, Part, Rank, Role, Seen, StoredFull, Text, TopicBy, Usage, Whose,
};
use crate::time::Timestamp;

/// Appends `msg` and a newline to `out`.
pub fn render_into(msg: &ServerMsg, out: &mut Vec<u8>) {
    if let ServerMsg::Message {
        id,
        sent_at,
        from,
        text,
    } = msg
    {
        return message_into(*id, *sent_at, from, text, out);
    }
    let mut w = ByteOut(out);
    // Writing into a Vec cannot fail.
    let _ = msg.put_head(&mut w);
    let _ = msg.put_tail(&mut w);
    out.push(b'\n');
}

/// A `MSG` line, the one written for nearly every message, as the table's row writes it (`MSG <id>
/// <sent_at> <from> <text>`, no human text: a test holds the two to the same bytes), with the room
/// for the whole line reserved once rather than checked for each of its seven pieces.
fn message_into(id: u64, sent_at: Timestamp, from: &str, text: &str, out: &mut Vec<u8>) {
    let mut at_buf = itoa::Buffer::new();
    let at = at_buf.format(sent_at.as_millis());
    message_at_into(id, at.as_bytes(), from, text, out);
}

/// [`message_into`] with the time's digits already written.
fn message_at_into(id: u64, at: &[u8], from: &str, text: &str, out: &mut Vec<u8>) {
    let mut id_buf = itoa::Buffer::new();
    let id = id_buf.format(id);
    out.reserve(b"MSG ".len() + id.len() + at.len() + from.len() + text.len() + 4);
    out.extend_from_slice(b"MSG ");
    out.extend_from_slice(id.as_bytes());
    out.push(b' ');
    out.extend_from_slice(at);
    out.push(b' ');
    out.extend_from_slice(from.as_bytes());
    out.push(b' ');
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
}

/// Renders lines exactly as [`render_into`] does, keeping the digits of the last time a `MSG` line
/// carried: the messages handled in one turn of a server all carry that turn's time, so the
/// thirteen digits of milliseconds are written once per turn instead of once per line (about a
/// fiftieth of what a message costs the server). The one who writes every line keeps one.
#[derive(Clone, Debug, Default)]
pub struct Renderer {
    /// The time last written, in milliseconds, and its digits (`at_len` 0: none yet).
    at_ms: u64,
    at: [u8; 20],
    at_len: usize,
}

impl Renderer {
    /// Appends `msg` and a newline to `out`, as [`render_into`].
    pub fn render_into(&mut self, msg: &ServerMsg, out: &mut Vec<u8>) {
        let ServerMsg::Message {
            id,
            sent_at,
            from,
            text,
        } = msg
        else {
            return render_into(msg, out);
        };
        let ms = sent_at.as_millis();
        if self.at_len == 0 || self.at_ms != ms {
            let mut buf = itoa::Buffer::new();
            let digits = buf.format(ms).as_bytes();
            self.at[..digits.len()].copy_from_slice(digits);
            (self.at_ms, self.at_len) = (ms, digits.len());
        }
        message_at_into(*id, &self.at[..self.at_len], from, text, out);
    }
}

/// `msg` as a line with its newline.
pub fn render_line(msg: &ServerMsg) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    render_into(msg, &mut v);
    v
}

/// Writes a table's enum: its tag and fields ([`Part::put_head`]), and its human text
/// ([`Part::put_tail`]).
macro_rules! define_render {
    (
        [$($em:tt)*] $vis:vis enum $E:ident {
            $( { [$($vm:tt)*] $V:ident $decl:tt $bind:tt $tag:tt [$( $wf:ident $codec:tt )*] $human:tt $($rest:tt)* } )*
        }
    ) => {
        impl $E {
            /// The first word on the wire: a line's tag, or an error's or a goodbye's code.
            #[allow(unused_variables)]
            pub fn tag(&self) -> &'static str {
                match self {
                    $( variant_pat!($E $V $decl $bind) => tag_of!($tag) ),*
                }
            }
        }

        impl Part for $E {
            #[allow(unused_variables)]
            fn put_head<W: Write>(&self, w: &mut W) -> fmt::Result {
                match self {
                    $( variant_pat!($E $V $decl $bind) => {
                        w.write_str(tag_of!($tag))?;
                        $( <codec! $codec as Codec<_>>::put($wf, w)?; )*
                        Ok(())
                    } ),*
                }
            }

            #[allow(unused_variables)]
            fn put_tail<W: Write>(&self, w: &mut W) -> fmt::Result {
                match self {
                    $( variant_pat!($E $V $decl $bind) => human!(w; $human) ),*
                }
            }
        }
    };
}

wire_tables!(rows for define_render);

impl ErrorReply {
    /// The human explanation: what went wrong and what to do.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = self.put_tail(&mut s);
        // `put_tail` writes the space that separates the text from the fields.
        s.split_off(1)
    }
}

impl ByeReason {
    /// The human explanation of the goodbye (what another dialect's front says as its reason).
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = self.put_tail(&mut s);
        s.trim_start().to_owned()
    }
}

/// What `BYE flood` adds about the cool-down that follows it.
pub(crate) fn cooldown(secs: u64) -> String {
    if secs == 0 {
        String::new()
    } else {
        format!(" You can log in again in {secs} s.")
    }
}

/// The "s" of a count of more (or less) than one.
pub(crate) fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl Display for ServerMsg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.put_head(f)?;
        self.put_tail(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::protocol::Name;
    use crate::protocol::wire::Plain;

    proptest! {
        /// The `MSG` line's own writer gives the bytes of the table's row, for any value the wire
        /// can carry.
        #[test]
        fn a_msg_line_is_written_as_its_row_says(
            id in any::<u64>(),
            sent_at in <Plain as Codec<Timestamp>>::arb(),
            from in <Plain as Codec<Name>>::arb(),
            text in <Text as Codec<String>>::arb(),
        ) {
            let msg = ServerMsg::Message { id, sent_at, from, text };
            let mut by_row = String::new();
            msg.put_head(&mut by_row).unwrap();
            msg.put_tail(&mut by_row).unwrap();
            by_row.push('\n');
            prop_assert_eq!(String::from_utf8(render_line(&msg)).unwrap(), by_row);
        }

        /// A renderer kept across lines writes each as `render_into` does, whether its time is the
        /// one it wrote last (kept digits) or another (written anew, longer or shorter), and
        /// whatever other lines come between.
        #[test]
        fn a_kept_renderer_writes_every_line_as_render_into(
            lines in prop::collection::vec(
                (any::<u64>(), prop::sample::select(vec![0u64, 9, 10, 1_764_000_000_000, 1_764_000_000_001, u64::MAX / 4]), any::<bool>()),
                1..12,
            ),
        ) {
            let mut renderer = Renderer::default();
            for (id, ms, is_msg) in lines {
                let msg = if is_msg {
                    ServerMsg::Message {
                        id,
                        sent_at: Timestamp::from_millis(ms),
                        from: Name::from("alice"),
                        text: "hi there".to_owned(),
                    }
                } else {
                    ServerMsg::Welcome { user: Name::from("bob") }
                };
                let (mut kept, mut fresh) = (b"before ".to_vec(), b"before ".to_vec());
                renderer.render_into(&msg, &mut kept);
                render_into(&msg, &mut fresh);
                prop_assert_eq!(kept, fresh);
            }
        }
    }
}
