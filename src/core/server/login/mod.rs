//! Logging in, in one place: from a connection's first line to its session, and every limit on the way.
//!
//! A connection is asked for a username, then a password (or, with `--register`, a new account's
//! password). Three wrong passwords in a row lock the account for `block_duration` seconds, from any
//! address; a user who is online cannot log in a second time; an address that fails too often is
//! throttled, and one that holds too many connections logging in is refused; an account the operator
//! banned (`admin::bans`) is refused too. The rule decides and says where it leaves the connection
//! ([`Outcome`]); the state carries out what reaches beyond the login (beginning the session, closing
//! the connection, adding a new account).
//!
//! The parts:
//!
//! - [`accounts`]: names, passwords, lockout counters, and what belongs to the account rather than to
//!   a session (its flood budget, its rate of logins, a cool-down after a flood).
//! - [`addresses`]: the limits per source address.
//! - [`jobs`]: the password jobs outstanding.
//!
//! The rules:
//!
//! - [`rule`]: the steps, and the one check made again before each ("locked? already online?").
//! - [`passwords`]: checking and hashing passwords as jobs for the shell's workers, and their answers.
//! - [`next_line`]: what a connection's next line will be taken as (a password or not), for a cluster
//!   node that keeps passwords out of its shared log (`cluster::gates`).
//! - [`lookalike`]: names that look alike, which a new account may not take.
//! - [`policy`]: what a chosen password must be; `passwd`: changing one's own password; `oper`:
//!   becoming the server's operator with an operator's name and password.
//! - `guest`: a session with no account (`guest <nick>`, when the operator allows guests), under a
//!   free name that is no account's.

pub(crate) mod accounts;
pub(crate) mod addresses;
mod guest;
pub(crate) mod jobs;
pub(crate) mod lookalike;
pub(crate) mod next_line;
mod oper;
mod passwd;
mod passwords;
pub(crate) mod policy;
pub(crate) mod rule;
