//! Read-only views of the state, as plain values: what tests, the simulator and the shells' logs look at,
//! and what two states are compared by (see `ServerState::durable_view`).

use crate::time::Timestamp;

/// The durable part of one account, as a view: what [`ServerState::restore`](super::ServerState::restore)
/// must rebuild.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurableUser {
    /// The account's name.
    pub name: String,
    /// Its password at rest (a hash, or the original plain format).
    pub password: String,
    /// Whom this user blocks, sorted.
    pub blocks: Vec<String>,
    /// The messages waiting for it, oldest first.
    pub mailbox: Vec<StoredView>,
    /// When its lockout ends, if it is locked.
    pub locked_until: Option<Timestamp>,
    /// When its last session ended, if it ever had one: what `whoelsesince` reads across restarts.
    pub last_logout: Option<Timestamp>,
    /// The keys its client published for end-to-end encryption, if it published an identity.
    pub keys: Option<KeysView>,
}

/// An account's published keys, as a view: each one-time and fallback key as it travels
/// (`<keyid>:<curve25519>:<signature>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysView {
    /// The Curve25519 identity key.
    pub curve25519: String,
    /// The Ed25519 identity key, which signs the others.
    pub ed25519: String,
    /// Oldest (the next handed out) first.
    pub one_time: Vec<String>,
    /// The fallback key, handed out once no one-time key is left.
    pub fallback: Option<String>,
}

/// Everything the server must keep across a restart, in a form two states can be compared by: the
/// property tests and the simulator check that replaying the persisted records gives an equal view.
/// Failure counts, sessions and private-chat brokering are deliberately absent: they do not survive a
/// restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurableView {
    /// Sorted by name.
    pub users: Vec<DurableUser>,
    /// The id the next stored message will get.
    pub next_message_id: u64,
    /// Every group with its members (both sorted by name).
    pub groups: Vec<(String, Vec<String>)>,
    /// Every group's owner, settings and topic, sorted by group name.
    pub group_settings: Vec<GroupView>,
    /// Every invitation kept (standing or lapsed but not yet dropped), sorted by group, then user.
    pub invitations: Vec<InvitationView>,
}

/// One group's owner, its owner's settings and its topic, as a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// The group's name.
    pub name: String,
    /// The member who owns it.
    pub owner: String,
    /// Anyone may join by name.
    pub open: bool,
    /// Members add others directly rather than invite them.
    pub add_direct: bool,
    /// Any member may set the topic, not only the owner.
    pub topic_by_members: bool,
    /// The topic and who set it.
    pub topic: Option<(String, String)>,
    /// Its rules (`group rules`) beyond the owner's settings, as the words of `group rules`
    /// (`key beer limit 5 moderated op bob …`; empty for none), so that every durable copy of a
    /// group is compared with its rules.
    pub rules: String,
}

/// One invitation to a group, as a view.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InvitationView {
    /// The group.
    pub group: String,
    /// The one invited.
    pub user: String,
    /// Who invited them.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// One stored message, as a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredView {
    /// The message's id.
    pub id: u64,
    /// The sender.
    pub from: String,
    /// The group it was sent to, for a group message.
    pub group: Option<String>,
    /// When the server accepted it from the sender.
    pub sent_at: Timestamp,
    /// The message's text.
    pub text: String,
}
