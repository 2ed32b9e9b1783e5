//! The server's operator, as the core knows them: what they ask for, and the one part of the state
//! that is theirs alone.
//!
//! - [`action`]: the actions and reloads the operator asks for ([`Admin`]), one more kind of input of
//!   the core, and the answer each gets ([`AdminAnswer`]).
//! - [`bans`]: the part. Accounts and addresses (or networks) turned away, for a time or for good;
//!   the login and the accepting of a connection consult it.
//!
//! An action reaches into every part (a removed account's mail, blocks, groups and keys go; a ban
//! ends the sessions it covers), so it is carried out by the state, which holds them all
//! (`state/admin.rs`), as a connection's life is.

pub mod action;
pub mod bans;

pub use action::{Admin, AdminAnswer};
pub use bans::{Ban, BanTarget};
