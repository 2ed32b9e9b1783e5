//! The runtime shells: thin smol code that moves bytes and deadlines between sockets and the cores.
//! No protocol rule lives here.

mod committer;
pub mod persist;
pub mod server;
pub mod timers;
