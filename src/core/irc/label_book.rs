//! A labeled response under way (IRCv3 `labeled-response`): data only; `labels.rs` answers.

use super::steps::Step;

/// A command's label and the lines said in answer so far.
#[derive(Debug, Default)]
pub(super) struct Labeled {
    /// The label, as the client sent it (escaped as a tag value).
    pub(super) label: String,
    /// The lines said in answer, in order.
    pub(super) steps: Vec<Step>,
}
