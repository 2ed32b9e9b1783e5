//! The client's protocol core: the login flow, the session, and the private-chat rules, with no I/O.
//!
//! # The contract
//!
//! Like the server's core, [`ClientState`] is a plain value driven by events, with time passed in:
//!
//! ```text
//! loop {
//!     wait for the next input, or until state.poll_timeout();
//!     match input {
//!         Some((event, now)) => state.handle(event, now, &mut effects),  // server line, typed line,
//!         None => state.handle_timeout(now, &mut effects),               // peer-link event; or time
//!     }
//!     for e in effects.drain(..) { carry_out(e) }   // send, show, read, connect, peer send/close,
//! }                                                  // save seen, exit
//! ```
//!
//! The core never touches a socket, the terminal, a file or the clock. Like quinn-proto's connection it
//! keeps its own deadlines (the server's greeting, the logout's goodbye, the next reconnection attempt,
//! each private chat's handshake) and says when it next needs the time ([`ClientState::poll_timeout`]);
//! the shell keeps one timer at that instant. Calling [`ClientState::handle_timeout`] early, or late, is
//! harmless: only deadlines that have passed are acted on, each once. What the user sees is a typed
//! [`Item`] ([`display`] is the one place that turns it into a line); what the user is asked for is an
//! [`InputMode`]. Peer-to-peer links are numbered [`LinkId`]s whose bytes the shell moves.
//!
//! The rules live in their own modules: `state` (the value, its entry points and deadlines), `login`
//! (the server's prompts), `commands` (what the user typed), `server_lines` (what the server said),
//! `moving` and `reconnect` (getting back to a server when the one in use is lost), `private` (the
//! private-chat life cycle and the link handshake), [`input`] (what a typed line means, in which
//! window), [`screen`] (the full-screen client's view model: windows, keys, paste), [`seen`] (not
//! showing a redelivered offline message twice), [`complete`] (tab completion).

mod commands;
mod commit;
pub mod complete;
pub mod display;
pub mod e2e;
mod error;
pub mod event;
pub mod input;
pub mod key;
mod login;
mod moving;
pub mod noise;
pub mod outgoing;
pub(crate) mod private;
mod reconnect;
pub mod reveal;
pub mod screen;
mod secure;
pub mod seen;
mod server_lines;
mod state;

pub use display::{ClientError, EndReason, Item, SetupFailure};
pub use event::{
    Effect, Event, Exit, InputMode, LinkId, OpenHow, PeerEvent, ServerEvent, UserEvent,
};
pub use outgoing::{Conversation, Outcome};
pub use private::session_statement;
pub use seen::{Seen, SeenBook};
pub use state::{ClientState, Config};

#[cfg(test)]
mod tests;
