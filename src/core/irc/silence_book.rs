//! What a connection keeps for `SILENCE`: data only; `silence.rs` answers.

/// What a connection keeps for `SILENCE`.
#[derive(Debug, Default)]
pub(super) struct Silences {
    /// `SILENCE` changes sent to the core and not answered yet.
    pub(super) asked: u32,
    /// `SILENCE` lists asked of the core and not answered yet.
    pub(super) listing: u32,
}
