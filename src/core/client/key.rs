//! The keys the full-screen client reads, as the view model and the session both name them: a file of
//! its own so that the session's events (`event.rs`) and the screen (`screen/`) each depend on it,
//! not on each other.

/// A key, as the screen sees it (the shell maps the terminal's events to these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A character typed.
    Char(char),
    /// A character with Alt (Alt-1..9 switch windows; Alt-B/F move by words).
    Alt(char),
    /// A character with Ctrl, lower case (Ctrl-C quits, Ctrl-N/P switch windows, and the
    /// editing keys of readline).
    Ctrl(char),
    /// Ends the line.
    Enter,
    /// Cancels a paste waiting for the user's word.
    Esc,
    /// Deletes before the cursor.
    Backspace,
    /// Deletes under the cursor.
    Delete,
    /// The cursor one character left.
    Left,
    /// The cursor one character right.
    Right,
    /// The cursor one word left.
    CtrlLeft,
    /// The cursor one word right.
    CtrlRight,
    /// The history's earlier line.
    Up,
    /// The history's later line.
    Down,
    /// The cursor to the start.
    Home,
    /// The cursor to the end.
    End,
    /// Scrolls the window back a page.
    PageUp,
    /// Scrolls the window forward a page.
    PageDown,
    /// Completes the word at the cursor.
    Tab,
}
