//! Messages between users: the mailboxes that hold them until their recipient's client has them,
//! and the rules that send, store, write out and acknowledge them.
//!
//! - [`mailboxes`]: the part. Each user's queue, stored and live messages in id order, and the ids.
//! - [`rule`]: `message`, `broadcast`, `offline` and `ack`.
//! - [`signal`]: `signal` and `signal group`, what is no message (typing), never kept.
//! - [`spare_texts`]: strings kept for the texts of the lines the core makes, given back by the
//!   shell once written.
//! - [`delivery`]: writing each queue to its connection, paced by what still waits there, and the
//!   fate of a live message (delivered once acknowledged, stored when its session ends first).

pub(crate) mod delivery;
pub(crate) mod mailboxes;
pub(crate) mod rule;
pub(crate) mod signal;
pub(crate) mod spare_texts;
