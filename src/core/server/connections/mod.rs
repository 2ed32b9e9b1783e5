//! A connection's life, as far as the rules see it: the part that holds every connection and
//! session, and the rules that pace a connection's lines and end it when it is idle.
//!
//! - [`sessions`]: the part. Every open connection, its login phase, who is online where (at most one
//!   session per user), and per user what may still wait in its outbound queue.
//! - [`backlog`]: that outbound accounting, so a slow reader is paced, never dropped, for what others
//!   send.
//! - [`flow`]: flood control, and lines held while a password is checked.
//! - [`idle`]: the login and idle deadlines; [`deadlines`]: those deadlines in time order.
//! - [`about`]: what a session's client says of itself (an IRC client's user name and real name).
//! - [`online`]: who is online, a bit per account.
//! - [`peer_addr`]: a connection's peer address, compactly.

pub(crate) mod about;
pub(crate) mod backlog;
pub(crate) mod deadlines;
pub(crate) mod flow;
pub(crate) mod idle;
pub(crate) mod online;
pub(crate) mod peer_addr;
pub(crate) mod sessions;
