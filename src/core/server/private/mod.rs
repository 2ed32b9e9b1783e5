//! Private chats, brokered: the server never carries their text; it asks the target, and only once
//! the target accepts does the requester learn where to connect, with a one-time token both ends
//! share.
//!
//! - [`brokerage`]: the part. Requests waiting for an answer, the chats brokered, the token source.
//! - [`rule`]: `p2pport`, `startprivate`, `accept`, `decline`, `stopprivate`, and requests that time out.

pub(crate) mod brokerage;
pub(crate) mod rule;
