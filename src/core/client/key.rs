//! The keys the full-screen client reads, as the view model and the session both name them: a file of
//! its own so that the session's events (`event.rs`) and the screen (`screen/`) each depend on it,
//! not on each other.

/// A key, as the screen sees it (the shell maps the terminal's events to these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Alt(char),
    Ctrl(char),
    Enter,
    Esc,
    Backspace,
    Delete,
    Left,
    Right,
    CtrlLeft,
    CtrlRight,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
    Tab,
}
