//! The `OPER`s a connection's front waits on, and the `PONG`s held behind them: data only;
//! `oper.rs` answers.

/// The `OPER`s the core has not answered yet, and the `PONG`s held behind them.
#[derive(Debug, Default)]
pub(super) struct PendingOpers {
    /// `OPER`s fed and not answered.
    pub(super) waiting: u32,
    /// Each held `PONG`'s token, with how many of the `OPER`s still waiting it follows (in order,
    /// so never fewer than the one before).
    pub(super) held: std::collections::VecDeque<(u32, String)>,
}
