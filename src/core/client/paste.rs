//! A paste on its way out: lines pasted into a conversation's window (and confirmed, if there were
//! many) are each said, never run as commands; the first few at once, the rest paced.

use std::collections::VecDeque;

use super::timer::Timer;
use crate::protocol::Conversation;
use crate::time::Timestamp;
use crate::timers::Timers;

/// Lines of a paste sent at once; the rest follow at [`PASTE_PER_SEC`], well inside the server's flood
/// limit (a burst of 50, then 20 a second by default), so a long paste is never taken for a flood.
const PASTE_AT_ONCE: usize = 5;
/// Lines of a paste sent per second after the first [`PASTE_AT_ONCE`].
const PASTE_PER_SEC: u64 = 10;

/// The paste part: the lines not said yet, in order, each with the conversation it goes to.
#[derive(Debug, Default)]
pub(super) struct Paste {
    lines: VecDeque<(Conversation, String)>,
}

impl Paste {
    /// Lines pasted into `to`'s window join the queue. When no paste was under way, returns the
    /// first few, to say at once (then [`Self::pace`] the rest); while one is, they wait their turn.
    pub(super) fn queue(
        &mut self,
        to: Conversation,
        lines: Vec<String>,
    ) -> Option<Vec<(Conversation, String)>> {
        let was_idle = self.lines.is_empty();
        self.lines
            .extend(lines.into_iter().map(|l| (to.clone(), l)));
        if !was_idle {
            return None;
        }
        let n = PASTE_AT_ONCE.min(self.lines.len());
        Some(self.lines.drain(..n).collect())
    }

    /// The next line, when its time has come.
    pub(super) fn next(&mut self) -> Option<(Conversation, String)> {
        self.lines.pop_front()
    }

    /// Sets the deadline of the next line, if one waits.
    pub(super) fn pace(&self, now: Timestamp, timers: &mut Timers<Timer>) {
        if !self.lines.is_empty() {
            timers.set(Timer::Paste, now.plus_millis(1000 / PASTE_PER_SEC));
        }
    }

    /// Drops what was not said (logging out); returns how many lines that was.
    pub(super) fn drop_all(&mut self) -> usize {
        let n = self.lines.len();
        self.lines.clear();
        n
    }
}
