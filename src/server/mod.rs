//! The server's protocol core: every rule of natter, and no I/O.
//!
//! # The contract
//!
//! [`ServerState`] is a plain value. The shell (or a test, or the simulator) feeds it [`Event`]s with
//! [`ServerState::handle`], passing the current time, and carries out the [`Effect`]s it appends to a
//! caller-owned buffer, in order:
//!
//! ```text
//! loop {
//!     let (event, now) = next_input();          // socket line, connect, disconnect, timer, shutdown
//!     state.handle(event, now, &mut effects);
//!     for e in effects.drain(..) { carry_out(e) } // send, close, set/cancel timer, persist
//! }
//! ```
//!
//! The core never reads a clock, spawns, sleeps, touches a socket or a file, or draws randomness of its
//! own (the private-chat token generator is seeded by the caller). Time never runs backwards inside it:
//! a `now` earlier than one already seen is treated as the latest. So a run is a pure function of the
//! seed, the accounts and the event sequence, which is what the property tests and the simulator rely on.
//!
//! Timers are named by [`TimerId`]; at most one deadline per id, and setting it again moves it. A timer
//! may fire late or even when it is no longer wanted: the core re-checks the real deadline when one fires
//! and ignores or re-arms it, so the shell never has to cancel precisely.
//!
//! Persistence is an effect too ([`Effect::Persist`]): replies produced in the same batch must reach the
//! client only after the records are durable, and [`ServerState::restore`] rebuilds the durable state
//! from them at start.
//!
//! Each rule lives in its own module: [`login`] (prompts, lockout, duplicate sessions, registration),
//! [`presence`] (sessions, history, `whoelse`, `whoelsesince`, announcements), [`messaging`]
//! (`message`, `broadcast`, mailbox, `ack`, `offline`), [`groups`], [`blocklist`], and [`private`]
//! (peer-to-peer brokering).
//!
//! The state itself is in parts that own their data and keep their own invariants, which the rules
//! combine: `accounts` (names, passwords, lockout counters, indexed by a dense `UserId`), `sessions`
//! (connections, login phases, who is online where: at most one session per user), `blocks`,
//! `mailboxes` (stored messages and their ids), `history` (last logouts, indexed for `whoelsesince`),
//! `group_book` (groups and their members) and `brokerage` (private-chat requests, brokered chats, the
//! token generator).
//!
//! Between the core and the sockets, [`outbox`] says which records are committed when and which replies
//! may leave, and [`pacing`] when to write; both are plain values with time passed in, driven by the
//! shell, the [`harness`] and the simulator alike.

mod accounts;
pub mod addresses;
pub mod backlog;
pub mod blocklist;
mod blocks;
mod brokerage;
pub mod config;
pub mod credentials;
pub mod event;
pub mod flow;
mod group_book;
pub mod groups;
pub mod harness;
mod history;
mod idle;
pub mod logged;
pub mod login;
mod mailboxes;
pub mod messaging;
pub mod outbox;
pub mod pacing;
mod passwords;
pub mod presence;
pub mod private;
mod query;
mod rate;
pub mod record;
pub mod replica;
pub mod restore;
pub mod secret_shape;
pub mod secrets;
mod sessions;
pub mod snapshot;
mod state;

pub use config::{AddressLimits, Config, MAX_FAILURES};
pub use credentials::{Account, CredentialsError, parse_credentials};
pub use event::{ConnId, Effect, Event, TimerId};
pub use logged::{LogDecodeError, LoggedEvent, OwnedEvent};
pub use query::{DurableUser, DurableView, StoredView};
pub use record::Record;
pub use replica::{Applied, LogEntry, ReplicaLog};
pub use secret_shape::SecretShape;
pub use secrets::{LineGate, NextLine, Through};
pub use state::ServerState;

#[cfg(test)]
mod tests;
