//! natter: a small instant-messaging server and terminal client.
//!
//! The crate is layered so that every rule can be tested without a socket:
//!
//! - [`time`]: time as a value passed in, never read inside the cores.
//! - [`timers`]: the table of deadlines a core asked for, shared by every driver (shells, harness,
//!   simulator).
//! - [`protocol`]: framing, the command grammar, and every server line as a typed value, rendered and
//!   decoded in one place each.
//! - [`private_fs`]: files and directories only their owner may read (everything natter keeps on disk).
//! - [`password`]: passwords at rest (argon2id hashes, or the original plain format), and the slow work
//!   of hashing and checking them, which the server's shell runs off the core's thread.
//! - [`server`]: the server's sans-IO core, [`server::ServerState`].
//! - [`client`]: the client's sans-IO core, [`client::ClientState`], and how it shows things.
//! - [`shell`]: the thin smol runtime that moves bytes and timers between sockets and the core.
//! - [`store`]: the embedded database that keeps what the core asks to persist, across restarts and crashes.
//! - [`sim`]: the verification kit (reference model, invariants, deterministic simulator), used only by
//!   tests and fuzz targets.

pub mod client;
pub mod password;
pub mod private_fs;
pub mod protocol;
pub mod server;
pub mod shell;
pub mod sim;
pub mod store;
pub mod time;
pub mod timers;
