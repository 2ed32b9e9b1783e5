//! A script's output in the order of its lines. A piped client reads its next line as soon as the
//! last is handled, so an answer the client gives itself (a usage error, an unknown word) would be
//! printed before the server's answers to the lines above it, which are still on their way. While
//! such answers are awaited, what the client says to a line is held, and the client registers its
//! private-chat port again (`p2pport`, the same port: a line that changes nothing, whose answer the
//! client never shows) where it stands among the lines: the server answers in order, so when that
//! answer comes everything sent before has been answered, and what was held is shown.
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
    /// The `p2pport` lines sent, oldest first, and whether each is a barrier (or the login's, or
    /// the script's own): the server answers them in this order.
    registrations: VecDeque<bool>,
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
    /// `port`: the private-chat port the client registered at login, which a barrier registers
    /// again.
    pub(super) fn typed(&mut self, out: &mut Vec<Effect>, from: usize, port: u16) {
        // A line answering a prompt (the login's, `passwd`'s) is not a command: the server takes
        // the next line as the answer, so no barrier may go then.
        let prompting = out[from..]
            .iter()
            .any(|e| matches!(e, Effect::Read(m) if !matches!(m, InputMode::Command { .. })));
        if !self.enabled || prompting {
            return self.sent(out, from);
        }
        let barrier = Command::P2pPort { port }.to_line();
        let mut i = from;
        while i < out.len() {
            match &out[i] {
                Effect::Send(line) => {
                    if is_registration(line) {
                        self.registrations.push_back(false);
                    }
                    self.sent_since_barrier = true;
                    i += 1;
                }
                Effect::Show(_) if self.sent_since_barrier || self.barriers > 0 => {
                    if self.sent_since_barrier {
                        out.insert(i, Effect::Send(barrier.clone()));
                        i += 1;
                        self.barriers += 1;
                        self.registrations.push_back(true);
                        self.sent_since_barrier = false;
                    }
                    let effect = out.remove(i);
                    self.held.push((self.barriers, effect));
                }
                _ => i += 1,
            }
        }
    }

    /// The effects `out[from..]` of anything but a typed line: the registrations among them are
    /// counted, so their answers are not taken for a barrier's.
    pub(super) fn sent(&mut self, out: &[Effect], from: usize) {
        if !self.enabled {
            return;
        }
        for e in &out[from..] {
            if let Effect::Send(line) = e
                && is_registration(line)
            {
                self.registrations.push_back(false);
            }
        }
    }

    /// A `P2P-PORT` came: if it answers the oldest barrier, what waited only for it is shown
    /// (appended to `out`).
    pub(super) fn registered(&mut self, out: &mut Vec<Effect>) {
        if self.registrations.pop_front() != Some(true) {
            return;
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
    }

    /// The client ends (or the connection is gone): what is held is shown now, in order.
    pub(super) fn flush(&mut self, out: &mut Vec<Effect>) {
        out.extend(self.held.drain(..).map(|(_, e)| e));
        self.barriers = 0;
        self.registrations.clear();
        self.sent_since_barrier = false;
    }
}

/// Whether `line` registers the private-chat port.
fn is_registration(line: &str) -> bool {
    line.starts_with("p2pport ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientError, Item};

    fn err(n: u32) -> Effect {
        Effect::Show(Item::Error(ClientError::UnknownCommand(n.to_string())))
    }

    fn send(line: &str) -> Effect {
        Effect::Send(line.into())
    }

    #[test]
    fn a_local_answer_waits_behind_a_barrier_where_it_stood() {
        let mut o = ScriptOrder::new(true);
        // The login's registration is not a barrier.
        o.sent(&[send("p2pport 7")], 0);
        // Nothing awaited: shown at once.
        let mut out = vec![err(0)];
        o.typed(&mut out, 0, 7);
        assert_eq!(out, vec![err(0)]);
        let mut out = vec![send("whoelse")];
        o.typed(&mut out, 0, 7);
        // Held, behind a barrier; a later send goes after the barrier.
        let mut out = vec![err(1), send("whoelse"), err(2)];
        o.typed(&mut out, 0, 7);
        assert_eq!(
            out,
            vec![send("p2pport 7"), send("whoelse"), send("p2pport 7")]
        );
        let mut shown = Vec::new();
        o.registered(&mut shown);
        assert!(shown.is_empty(), "the login's answer releases nothing");
        o.registered(&mut shown);
        assert_eq!(shown, vec![err(1)]);
        o.registered(&mut shown);
        assert_eq!(shown, vec![err(1), err(2)]);
        // A person's client changes nothing.
        let mut person = ScriptOrder::new(false);
        let mut out = vec![send("whoelse"), err(3)];
        person.typed(&mut out, 0, 7);
        assert_eq!(out.len(), 2);
    }
}
