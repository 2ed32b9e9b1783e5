//! Lines a script's input already held, handed over before the client asked for them.
//!
//! A piped client reads a line each time the core asks ([`super::Effect::Read`]): one hand-over
//! between the input's thread and the driver per line, which on a burst of piped lines cost the
//! client more than what it did with them. So the shell reads every line its buffer holds at once
//! and hands them over together ([`super::UserEvent::Lines`]). They are kept here, in order, and the
//! core takes the next one only where it would have asked for it: when the session asks for a line
//! (and whatever the line before it caused, its server answer awaited, a prompt, an exit, has been
//! dealt with as it would have been). A line is still taken in only once the one before it is dealt
//! with; what changes is only how many wake-ups it costs. The `Read` such a line answers is not passed
//! on to the shell, which asks the input for more only when these are all taken.

use std::collections::VecDeque;

/// The part. See the [module documentation](self).
#[derive(Debug, Default)]
pub(super) struct ReadAhead {
    lines: VecDeque<Vec<u8>>,
}

impl ReadAhead {
    /// Keeps `lines`, after any kept already.
    pub(super) fn extend(&mut self, lines: &[Vec<u8>]) {
        self.lines.extend(lines.iter().cloned());
    }

    /// The next line kept, if any, taken out.
    pub(super) fn next(&mut self) -> Option<Vec<u8>> {
        self.lines.pop_front()
    }

    /// Whether a line is kept.
    pub(super) fn any(&self) -> bool {
        !self.lines.is_empty()
    }

    /// The client is ending: what the script typed after is never taken in (as lines it had not
    /// read yet never were).
    pub(super) fn clear(&mut self) {
        self.lines.clear();
    }
}
