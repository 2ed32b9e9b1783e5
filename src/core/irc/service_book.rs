//! What the service nick keeps for one connection: data only; `service.rs` serves.

/// What the service keeps for one connection.
#[derive(Debug, Default)]
pub(super) struct ServiceState {
    /// A `passwd` under way: the current password and the new one, each fed when the core asks.
    pub(super) passwd: Option<(String, String)>,
    /// The core refused the new password and asks for another: until `passwd NEW` gives one, no other
    /// line may reach the core (it would be taken for the password).
    pub(super) awaits_new: bool,
}
