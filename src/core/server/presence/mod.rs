//! Presence: who is online, who was, and telling the others.
//!
//! - [`announced`]: the part that rations announcements: what the others were last told of each
//!   user, and when they may be told again.
//! - [`history`]: the part that keeps when each user's last session ended, for `whoelsesince`.
//! - [`departed`]: the part that keeps the sessions that ended lately, for `whowas`.
//! - [`rule`]: presence notices, `whoelse`, `whoelsesince`, `wholasthr` and `ping`.
//! - [`who`]: `who`, `whowas` and `lusers`: who is here, who was, how many.

pub(crate) mod announced;
pub(crate) mod departed;
pub(crate) mod history;
pub(crate) mod rule;
pub(crate) mod who;
