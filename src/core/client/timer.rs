//! The names of the session's own deadlines (the private chats keep theirs). The state keeps them in
//! one table and lends it to the part that sets one; a file of their own, below the parts, so that
//! each part can name its deadline without knowing the state.

/// A deadline of the session's own. Each is re-checked when it passes, against the part that set it,
/// so one no longer wanted does nothing. Deadlines due at the same instant are acted on in this
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Timer {
    /// Connected, but the server has not asked for a username yet: past this, it is not a natter
    /// server (or not a working one), and waiting longer would only look like a hang (`session`).
    ServerGreeting,
    /// `logout` was sent; stop waiting for the server's goodbye at this point (`session`).
    Logout,
    /// The server was lost and the last attempt to reach one failed: try the next one now
    /// (`moving`).
    Reconnect,
    /// The next lines of a paste are due (`paste`).
    Paste,
    /// Acknowledge what was shown since the last acknowledgement: one `ack` for a batch of lines
    /// (`inbox`).
    Ack,
    /// Ask again for the keys of users the server said have none (`encryption`).
    RetryClaims,
    /// Claims of keys unanswered for a while: say so (`encryption`).
    SlowClaims,
    /// The full-screen windows changed a while ago: keep them (`screen::Keeper`).
    SaveWindows,
    /// A typing notice's time is up (`typing`).
    Typing,
}
