//! The block list: who blocks whom, and the rules of `block` and `unblock`. (What a block forbids is
//! enforced where messages, broadcasts, presence, private chats and keys are decided, which read
//! [`blocks`].)
//!
//! - [`blocks`]: the part. Per user, the users they block.
//! - [`rule`]: the commands.

pub(crate) mod blocks;
pub(crate) mod rule;
