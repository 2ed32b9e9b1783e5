//! Presence: who is online, who was, and telling the others.
//!
//! - [`announced`]: the part that rations announcements: what the others were last told of each
//!   user, and when they may be told again.
//! - [`history`]: the part that keeps when each user's last session ended, for `whoelsesince`.
//! - [`rule`]: presence notices, `whoelse`, `whoelsesince`, `wholasthr` and `ping`.

pub(crate) mod announced;
pub(crate) mod history;
pub(crate) mod rule;
