//! The key directory of end-to-end encryption: the public keys each account's client published, and
//! the rules of publishing and claiming them.
//!
//! - [`directory`]: the part. Per account, an identity, one-time keys in publishing order, a fallback.
//! - [`rule`]: `keys identity|add|fallback|claim|show`.

pub(crate) mod directory;
pub(crate) mod rule;
