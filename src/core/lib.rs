//! natter's cores: everything that decides, and nothing that touches the world.
//!
//! The crate holds the protocol, the server's and the client's sans-IO cores, time as a value and the
//! table of deadlines. It has no IO, no async runtime, no clock and no OS randomness: its dependency
//! tree has none of them, so the compiler, not a convention, keeps the cores pure. Randomness comes in
//! as seeds, and the end-to-end cryptographic engine (which draws its own) is handed in by the shell
//! through a trait.
//!
//! - [`time`]: time as a value passed in, never read inside the cores.
//! - [`conn`]: a connection's number, which the server's core and the IRC fronts both key by.
//! - [`timers`]: the table of deadlines a core asked for, shared by every driver (shells, harness,
//!   simulator).
//! - [`protocol`]: framing, the command grammar, and every server line as a typed value, rendered and
//!   decoded in one place each.
//! - [`password`]: passwords at rest (argon2id hashes, or the original plain format), and the slow work
//!   of hashing and checking them, which the server's shell runs off the core's thread.
//! - [`server`]: the server's sans-IO core, [`server::ServerState`].
//! - [`client`]: the client's sans-IO core, [`client::ClientState`], and how it shows things.
//! - [`irc`]: IRC spoken by the server: the codec, and each IRC connection's front before the core.

#![warn(missing_docs, unreachable_pub)]
// No `unsafe` in the cores but where a function allows it by name, with its proof beside it (one
// place: the line check's shortcut for printable ASCII, `protocol::line::check_line`).
#![deny(unsafe_code)]

pub mod client;
pub mod conn;
pub mod conn_table;
pub mod irc;
pub mod password;
pub mod protocol;
pub mod server;
pub mod time;
pub mod timers;
