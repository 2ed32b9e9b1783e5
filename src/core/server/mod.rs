//! The server's protocol core: every rule of natter, and no I/O.
//!
//! # The contract
//!
//! [`ServerState`] is a plain value with, as quinn-proto's connection has, a few kinds of method:
//! **input** ([`ServerState::handle`]: an [`Event`]), **time** ([`ServerState::handle_timeout`]: time
//! has passed; [`ServerState::poll_timeout`]: when it must next be told so), and **getters** (read-only
//! views for tests, the simulator and the shells' logs). Every call takes the current time; the
//! [`Effect`]s it causes are appended to a caller-owned buffer, for the driver (the shell, a test, the
//! simulator, a cluster node) to carry out in order:
//!
//! ```text
//! loop {
//!     match next_input_or_deadline(state.poll_timeout()) {
//!         Input(event, now) => state.handle(event, now, &mut effects), // line, connect, job's answer...
//!         Deadline(now) => state.handle_timeout(now, &mut effects),
//!     }
//!     for e in effects.drain(..) { carry_out(e) }   // send, close, persist, run a password job...
//! }
//! ```
//!
//! The core never reads a clock, spawns, sleeps, touches a socket or a file, or draws randomness of its
//! own (the private-chat token generator is seeded by the caller). Time never runs backwards inside it:
//! a `now` earlier than one already seen is treated as the latest. So a run is a pure function of the
//! seed, the accounts, the event sequence and the instants it is let act on its deadlines, which is what
//! the property tests, the simulator and a cluster's copies of the core rely on.
//!
//! The core keeps its own deadlines (finishing login, the idle timeout, a private-chat request, flood
//! control), at most one per [`TimerId`], and answers the earliest with `poll_timeout`: a driver keeps
//! one OS timer at the earliest of that and its own pieces' deadlines. `handle_timeout` acts on every
//! deadline due, earliest first. Being called late, early or twice is harmless: a deadline acts only
//! once due, and re-checks what it is for then (activity only moves `last_active`, and the deadline set
//! before it just looks again). The deadlines are part of the state, so a snapshot carries them and a
//! copy fed the same inputs at the same times keeps the same ones.
//!
//! Persistence is an effect too ([`Effect::Persist`]): replies produced in the same batch must reach the
//! client only after the records are durable, and [`ServerState::restore`] rebuilds the durable state
//! from them at start.
//!
//! # The core's parts
//!
//! The state is made of parts that each own their data and keep their own invariants behind methods:
//! `accounts` (names, passwords, lockout counters, indexed by a dense `UserId`), `sessions`
//! (connections, their login phases and the flow of their lines, who is online where: at most one
//! session per user), `blocks`, `mailboxes` (stored messages and their ids), `history` (last logouts,
//! indexed for `whoelsesince`), `group_book` (groups and their members), `brokerage` (private-chat
//! requests, brokered chats, the token generator), `key_directory` (the public keys clients published
//! for end-to-end encryption), the login's per-address limits and password jobs, and the deadlines.
//!
//! Each rule lives in its own module and is handed, for one call, only the parts it touches: the
//! `login` folder (prompts, lockout, duplicate sessions, registration, password jobs, per-address
//! limits, passwords without their text), `messaging` (`message`, `broadcast`, mailbox, `ack`,
//! `offline`), `groups`, `blocklist`, `presence` (announcements, `whoelse`, `whoelsesince`, `ping`),
//! `private` (peer-to-peer brokering), `keys` (the key directory's commands), `idle` (the login and idle deadlines) and `flow` (flood
//! control). A rule that leads to something beyond its parts (the login to a session or a closed
//! connection, the flow to a flood) says so as a value, and the state carries it out; what spans the
//! parts (a connection's life, its lines' way to the command table, the deadlines) is the state's own
//! (`state.rs` and `state/`). No part or rule knows the state.
//!
//! Between the core and the sockets, [`outbox`] says which records are committed when and which replies
//! may leave, and [`pacing`] when to write; both are plain values with time passed in and deadlines of
//! their own (`poll_timeout`), driven by the shell, the [`harness`] and the simulator alike. So is
//! [`oplog`], which sums up for the operator's log the refusals the shell sees.

mod accounts;
pub mod admin;
mod announced;
mod arguments;
mod backlog;
pub mod bans;
mod blocklist;
mod blocks;
mod brokerage;
pub mod config;
mod delivery;
pub mod event;
mod flow;
mod group_book;
mod groups;
#[cfg(any(test, feature = "harness"))]
pub mod harness;
mod history;
mod idle;
mod key_directory;
mod keys;
pub mod logged;
pub(crate) mod login;
mod mailboxes;
mod messaging;
pub mod node;
pub mod oplog;
pub mod outbox;
pub mod pacing;
mod presence;
mod private;
mod rate;
pub mod record;
pub mod replica;
pub mod secret_shape;
mod sessions;
pub mod snapshot;
mod state;
mod views;

pub use admin::{Admin, AdminAnswer};
pub use bans::{Ban, BanTarget};
pub use config::MAIL_WINDOW;
pub use config::{AddressLimits, Config, LoginLimits, MAX_FAILURES, PRESENCE_BURST};
pub use event::{ConnId, Effect, Event, LoginFailure, TimerId};
pub use logged::{LogDecodeError, LoggedEvent, OwnedEvent};
pub use login::credentials::{Account, CredentialsError, append_line, parse_credentials};
pub use login::lookalike::look_alike_pairs;
pub use login::policy::weak as weak_password;
pub use login::secrets::{Gates, LineGate, NextLine, Passed, Through};
pub use mailboxes::ID_BLOCK;
pub use record::Record;
pub use replica::{Applied, LogEntry, ReplicaLog};
pub use secret_shape::SecretShape;
pub use state::{OnlineView, ServerState};
pub use views::{DurableUser, DurableView, KeysView, StoredView};

#[cfg(test)]
mod tests;
