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
//! [`ClientState`] is made of parts that each own their data and keep their own invariants behind
//! methods (as the server's state is): the session (`session`: where the client is in its life,
//! what the user is asked, the passwords typed on the way in), the way back to a server
//! (`reconnect`), the conversations known (`conversations`), what came in (`inbox`: shown once,
//! acknowledged in batches), what goes out (`outgoing`, `paste`), end-to-end encryption
//! (`encryption`, and the lines held behind its saves: `commit`), the private chats (`private`) and
//! the full-screen view model ([`screen`]). The rules that touch only some parts are handed only
//! those (`login`, `moving`); what spans the parts is the state's (`state/`). [`input`] reads what a
//! typed line means, in which window; [`seen`] keeps a redelivered offline message from showing
//! twice; [`complete`] completes words.

pub mod action;
pub mod chatlog;
mod commit;
pub mod complete;
mod conversations;
pub mod display;
pub mod e2e;
mod encryption;
mod error;
pub mod event;
pub mod highlight;
mod inbox;
pub mod input;
pub mod key;
mod login;
pub mod marks;
mod moving;
pub mod noise;
pub mod outgoing;
mod paste;
pub(crate) mod private;
mod read_ahead;
mod reconnect;
pub mod reveal;
pub mod screen;
mod script_order;
pub mod seen;
mod session;
pub mod split;
mod state;
mod timer;
mod typing;
pub mod wrap;

pub use display::{ClientError, EndReason, Item, SetupFailure};
pub use event::{
    Effect, Event, Exit, InputMode, LinkId, OpenHow, PeerEvent, ServerEvent, UserEvent,
};
pub use outgoing::{Conversation, Outcome};
pub use private::session_statement;
pub use reconnect::{DEFAULT_MAX_WAIT_SECS, Policy as ReconnectPolicy, SCRIPT_GIVE_UP_SECS};
pub use seen::{Seen, SeenBook};
pub use state::{ClientState, Config};

#[cfg(test)]
mod tests;
