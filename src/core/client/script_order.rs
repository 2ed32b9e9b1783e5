//! A script's output in the order of its lines. A piped client reads its next line as soon as the
//! last is handled, so an answer the client gives itself (a usage error, an unknown word) would be
//! printed before the server's answers to the lines above it, which are still on their way. While
//! such answers are awaited, what the client says to a line is held, and a quiet `grouplist` is
//! sent where it stands among the lines: the server answers in order, so when that answer comes
//! everything sent before has been answered, and what was held is shown.
//!
//! Only for a script (no person at the prompt, no screen): a person reads each answer as it comes,
//! and the full-screen client places lines in windows.

use std::collections::VecDeque;

use super::event::{Effect, InputMode};
use crate::protocol::Command;

/// The part. See the [module documentation](self).
#[derive(Debug, Default)]
pub(super) struct ScriptOrder {
    /// A script's client: the order is kept.
    enabled: bool,
    /// A line went to the server since the last barrier: its answer may still be coming.
    sent_since_barrier: bool,
    /// Barriers sent and not answered yet.
    barriers: u32,
    /// What the client said, held, each with the number of barriers that must be answered first
    /// (counted from the oldest outstanding).
    held: Vec<(u32, Effect)>,
    /// The `grouplist` lines sent, oldest first, and whether each is a barrier (or the script's
    /// own, whose answer is shown): the server answers them in this order.
    grouplists: VecDeque<bool>,
}

impl ScriptOrder {
    /// The part for a client that is a script's (`enabled`) or a person's.
    pub(super) fn new(enabled: bool) -> Self {
        ScriptOrder {
            enabled,
            ..Self::default()
        }
    }

    /// The effects `out[from..]` of a line the script typed: the client's own answers that would
    /// overtake answers still awaited are held, behind a barrier inserted where they stood.
    /// Returns whether a barrier was sent (its answer is taken quietly: [`Self::answered`]).
    pub(super) fn typed(&mut self, out: &mut Vec<Effect>, from: usize) -> bool {
        // A line answering a prompt (the login's, `passwd`'s) is not a command: the server takes
        // the next line as the answer, so no barrier may go then.
        let prompting = out[from..]
            .iter()
            .any(|e| matches!(e, Effect::Read(m) if !matches!(m, InputMode::Command { .. })));
        if !self.enabled || prompting {
            return false;
        }
        let mut barrier_sent = false;
        let mut i = from;
        while i < out.len() {
            match &out[i] {
                Effect::Send(line) => {
                    if *line == Command::GroupList.to_line() {
                        self.grouplists.push_back(false);
                    }
                    self.sent_since_barrier = true;
                    i += 1;
                }
                Effect::Show(_) if self.sent_since_barrier || self.barriers > 0 => {
                    if self.sent_since_barrier {
                        out.insert(i, Effect::Send(Command::GroupList.to_line()));
                        i += 1;
                        self.barriers += 1;
                        self.grouplists.push_back(true);
                        self.sent_since_barrier = false;
                        barrier_sent = true;
                    }
                    let effect = out.remove(i);
                    self.held.push((self.barriers, effect));
                }
                _ => i += 1,
            }
        }
        barrier_sent
    }

    /// A `GROUPLIST` came: if it answers the oldest barrier (not a `grouplist` the script typed),
    /// what waited only for it is shown (appended to `out`), and it is not shown itself.
    pub(super) fn grouplist_answered(&mut self, out: &mut Vec<Effect>) -> bool {
        if self.grouplists.pop_front() != Some(true) {
            return false;
        }
        let mut kept = Vec::new();
        for (waits_for, effect) in self.held.drain(..) {
            if waits_for <= 1 {
                out.push(effect);
            } else {
                kept.push((waits_for - 1, effect));
            }
        }
        self.held = kept;
        self.barriers = self.barriers.saturating_sub(1);
        true
    }

    /// The client ends (or the connection is gone): what is held is shown now, in order.
    pub(super) fn flush(&mut self, out: &mut Vec<Effect>) {
        out.extend(self.held.drain(..).map(|(_, e)| e));
        self.barriers = 0;
        self.grouplists.clear();
        self.sent_since_barrier = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientError, Item};

    fn err(n: u32) -> Effect {
        Effect::Show(Item::Error(ClientError::UnknownCommand(n.to_string())))
    }

    #[test]
    fn a_local_answer_waits_behind_a_barrier_where_it_stood() {
        let mut o = ScriptOrder::new(true);
        // Nothing awaited: shown at once.
        let mut out = vec![err(0)];
        assert!(!o.typed(&mut out, 0));
        assert_eq!(out, vec![err(0)]);
        let mut out = vec![Effect::Send("whoelse".into())];
        o.typed(&mut out, 0);
        // Held, behind a barrier; a later send goes after the barrier.
        let mut out = vec![err(1), Effect::Send("whoelse".into()), err(2)];
        assert!(o.typed(&mut out, 0));
        assert_eq!(
            out,
            vec![
                Effect::Send("grouplist".into()),
                Effect::Send("whoelse".into()),
                Effect::Send("grouplist".into())
            ]
        );
        let mut shown = Vec::new();
        assert!(o.grouplist_answered(&mut shown));
        assert_eq!(shown, vec![err(1)]);
        assert!(o.grouplist_answered(&mut shown));
        assert_eq!(shown, vec![err(1), err(2)]);
        // The script's own grouplist is answered and shown as usual.
        let mut out = vec![Effect::Send("grouplist".into()), err(4)];
        o.typed(&mut out, 0);
        assert!(!o.grouplist_answered(&mut shown));
        assert!(o.grouplist_answered(&mut shown));
        assert_eq!(shown.last(), Some(&err(4)));
        // A person's client changes nothing.
        let mut person = ScriptOrder::new(false);
        let mut out = vec![Effect::Send("whoelse".into()), err(3)];
        person.typed(&mut out, 0);
        assert_eq!(out.len(), 2);
    }
}
