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
//! # The core's parts, and its folders
//!
//! The state is made of parts that each own their data and keep their own invariants behind methods,
//! and rules, each handed for one call only the parts it touches. A folder holds one concern: its
//! part (named for what it holds) and the rule that uses it (`rule.rs`, or named where there are
//! several):
//!
//! | folder | parts | rules |
//! |---|---|---|
//! | `login/` | `accounts` (names, passwords, lockout counters, by a dense `UserId`), `addresses` (per-address limits), `jobs` (password jobs outstanding) | `rule` (the steps of a login), `passwords` (checks and hashes as jobs), `passwd` (changing one's own password), `policy` (what a chosen password must be), `next_line` (what the next line will be taken as), `lookalike` |
//! | `connections/` | `sessions` (connections, their login phases and the flow of their lines, who is online where), `backlog` (what may wait in each user's outbound queue) | `flow` (flood control), `idle` (the login and idle deadlines) |
//! | `messages/` | `mailboxes` (each user's queue of stored and live messages, and their ids) | `rule` (`message`, `broadcast`, `offline`, `ack`), `delivery` (writing the queues out, the fate of a live message) |
//! | `groups/` | `book` (groups and their members, both ways) | `rule` |
//! | `blocklist/` | `blocks` (who blocks whom) | `rule` (`block`, `unblock`) |
//! | `presence/` | `announced` (what the others were last told, rationed), `history` (last logouts) | `rule` (notices, `whoelse`, `whoelsesince`, `ping`) |
//! | `private/` | `brokerage` (private-chat requests, brokered chats, the token generator) | `rule` (brokering) |
//! | `keys/` | `directory` (the public keys clients published for end-to-end encryption) | `rule` |
//! | `admin/` | `bans` (accounts and addresses the operator turned away) | `action` (what the operator asks for: the input; carried out by the state, `state/admin.rs`, since it reaches every part) |
//!
//! Below them are the core's words, each in a file of its own: [`event`] (what goes in and comes out,
//! and the ids), [`record`], [`config`], `credentials` (the accounts file's format, and an account as it
//! holds it), `message` (a stored message), [`secret_shape`], `rate` (a rate with a burst) and
//! `arguments` (a command argument that names a user). Above them is the state (`state.rs` and
//! `state/`): what spans the parts (a connection's life, its lines' way to the command table, the
//! deadlines, restoring, read-only views, the operator's actions). A rule that leads to something
//! beyond its parts (the login to a session or a closed connection, the flow to a flood, a block to
//! the blocker's mailbox) says so as a value, and the state carries it out. No part or rule knows the
//! state, and no folder imports one above it.
//!
//! The commands are declared in one table (`protocol::command`), whose `rule` column names each
//! command's rule; `state/input.rs` expands it into the server's command table.
//!
//! [`cluster`] holds every pure piece a node of a cluster adds around the core (the node itself, the
//! log's entries, a replica following the log, snapshots, the gates that keep passwords out of the
//! log); it sits above the state, and nothing below it knows it.
//!
//! Between the core and the sockets, [`outbox`] says which records are committed when and which replies
//! may leave, and [`pacing`] when to write; both are plain values with time passed in and deadlines of
//! their own. So is [`oplog`], which sums up for the operator's log the refusals the server makes.
//! [`composed`] puts them together with the core (or a cluster node) as one value with one input, one
//! output and one deadline: the one the shell's driver, the [`harness`] and the simulators all run.

pub mod admin;
mod arguments;
mod blocklist;
pub mod cluster;
pub mod composed;
pub mod config;
mod connections;
pub(crate) mod credentials;
pub mod event;
mod groups;
#[cfg(any(test, feature = "harness"))]
pub mod harness;
mod keys;
pub(crate) mod login;
mod message;
mod messages;

pub mod oplog;
pub mod outbox;
pub mod pacing;
mod presence;
mod private;
mod rate;
pub mod record;
pub mod secret_shape;
mod state;
mod views;

pub use admin::{Admin, AdminAnswer, Ban, BanTarget};
pub use config::MAIL_WINDOW;
pub use config::{AddressLimits, Config, LoginLimits, MAX_FAILURES, PRESENCE_BURST};
pub use credentials::{Account, CredentialsError, append_line, parse_credentials};
pub use event::{ConnId, Effect, Event, LoginFailure, OperatorAct, TimerId};
pub use login::lookalike::look_alike_pairs;
pub use login::next_line::NextLine;
pub use login::policy::weak as weak_password;
pub use messages::mailboxes::ID_BLOCK;
pub use record::{GroupRulesRecord, Record};
pub use secret_shape::SecretShape;
pub use state::{OnlineView, ServerState};
pub use views::{DurableUser, DurableView, GroupView, InvitationView, KeysView, StoredView};

#[cfg(test)]
mod tests;
