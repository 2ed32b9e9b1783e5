//! natter: a small instant-messaging server and terminal client — the product.
//!
//! The project's crates are its layers. [`natter_core`] decides everything and touches nothing (the
//! protocol, the server's and the client's sans-IO cores); `natter-sim` verifies it (reference model,
//! simulators, fuzz bodies); this crate runs it:
//!
//! - [`shell`]: the thin smol runtime that moves bytes and timers between sockets and the cores.
//! - [`store`]: the embedded database that keeps what the core asks to persist, across restarts and
//!   crashes.
//! - [`olm_engine`]: the real end-to-end engine (vodozemac), handed to the client core, which only
//!   knows its trait.
//! - [`private_fs`]: files and directories only their owner may read (everything natter keeps on disk).

pub mod olm_engine;
pub mod private_fs;
pub mod shell;
pub mod store;
