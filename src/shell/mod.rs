//! The runtime shells: thin smol code that moves bytes and deadlines between sockets and the cores.
//! No protocol rule lives here.

pub mod client;
pub mod clock;
pub mod cluster;
mod committer;
pub mod e2e_store;
pub mod ignore_file;
mod memory;
mod metrics;
pub mod persist;
pub mod server;
pub mod settings;
pub mod state_file;
pub mod tls;
mod tls_chacha;
pub mod turn_log;
pub mod ui;
