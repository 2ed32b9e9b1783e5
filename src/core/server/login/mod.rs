//! Logging in, in one place: from a connection's first line to its session, and every limit on the way.
//!
//! A connection is asked for a username, then a password (or, with `--register`, a new account's
//! password). Three wrong passwords in a row lock the account for `block_duration` seconds, from any
//! address; a user who is online cannot log in a second time; an address that fails too often is
//! throttled, and one that holds too many connections logging in is refused. The rule decides and says
//! where it leaves the connection ([`Outcome`]); the state carries out what reaches beyond the login
//! (beginning the session, closing the connection, adding a new account).
//!
//! - [`rule`]: the steps, and the one check made again before each ("locked? already online?").
//! - [`passwords`]: checking and hashing passwords as jobs for the shell's workers, and their answers.
//! - [`jobs`]: the jobs outstanding.
//! - [`addresses`]: the limits per source address.
//! - [`secrets`]: password lines the core decides on without their text (only their shape,
//!   [`SecretShape`](super::SecretShape), a word of the events), and the gate a cluster node lets a
//!   connection's lines through before login, so no password enters the shared log.
//! - [`credentials`]: the accounts file's format.
//! - [`lookalike`]: names that look alike, which a new account may not take.
//! - [`policy`]: what a chosen password must be; `passwd`: changing one's own password.

pub(crate) mod addresses;
pub(crate) mod credentials;
pub(crate) mod jobs;
pub(crate) mod lookalike;
mod passwd;
mod passwords;
pub mod policy;
pub(crate) mod rule;
pub(crate) mod secrets;
