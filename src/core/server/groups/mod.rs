//! Groups: the book of groups and their members, and the rules of `create group`, `message group`,
//! `group add|leave|members` and `grouplist`.
//!
//! - [`book`]: the part. Each group's members and each user's groups, changed only together.
//! - [`rule`]: the commands.
//! - [`modes`]: `group rules`, the operators' rules (IRC's channel modes).
//! - [`directory`]: `groups`, the groups a user may see (IRC's `LIST`).

pub(crate) mod book;
pub(crate) mod directory;
pub(crate) mod modes;
pub(crate) mod rule;
