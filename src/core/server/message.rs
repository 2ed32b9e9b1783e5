//! A message as the core keeps it for its recipient: in their mailbox (`messages::mailboxes`) until
//! their client acknowledges it, and in the list a session keeps of what was waiting at its login, for
//! `offline` (`connections::sessions`). A word of the core's vocabulary, below both parts that hold it.

use std::sync::Arc;

use crate::protocol::Name;
use crate::time::Timestamp;

/// A message waiting for a user. Cheap to copy: a session keeps the ones that were waiting at its
/// login, for `offline`.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredMsg {
    pub(crate) id: u64,
    pub(crate) from: Name,
    /// The group it was sent to, for a group message.
    pub(crate) group: Option<Name>,
    pub(crate) sent_at: Timestamp,
    pub(crate) text: Arc<str>,
}
