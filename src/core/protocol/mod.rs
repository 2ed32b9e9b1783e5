//! The wire protocol: framing, the command grammar, and every server line as a typed value.
//!
//! `docs/PROTOCOL.md` is the prose version of this module, with examples. [`p2p`] is the second protocol,
//! the one two clients speak directly for a private chat. The server's lines are defined once, in the
//! table of `lines`; [`reply`], [`render`] and [`decode`] are generated from it.

mod arb;
pub(crate) mod columns;
pub mod command;
pub mod decode;
pub mod group_change;
mod hot;
pub mod keys;
pub mod line;
pub(crate) mod lines;
pub mod name;
pub mod p2p;
pub mod parse;
pub mod render;
pub mod reply;
pub mod signal;
pub(crate) mod wire;

#[cfg(test)]
mod tests;

pub use command::{COMMANDS, Command, CommandName, CommandSpec, GroupSetting};
pub use decode::{DecodeError, NewerLine, decode_line, newer_line};
pub use group_change::GroupChange;
pub use keys::{KeyError, SignedKey, SignedKeyRef};
pub use line::{DEFAULT_PORT, Frame, LineDecoder, LineError, MAX_LINE, check_line};
pub use parse::{
    MAX_SPAN_SECS, ParseError, parse_by_grammar, parse_command, parse_user_and_text,
    split_command_word,
};
pub use render::{Renderer, render_into, render_line};
pub use reply::{
    ByeReason, CancelReason, Conversation, ErrorReply, Name, PingState, Prompt, ServerMsg, Token,
};
