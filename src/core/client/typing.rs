//! Who is typing, per conversation: learnt from the server's signals (`SIGNAL bob typing=active`,
//! `GROUP-SIGNAL team bob typing=active`), which an IRC client's `+typing` becomes. The full-screen
//! client shows it in the status bar for the conversation in view (`[bob is typing]`). A typing
//! notice lasts [`TYPING_SHOWN_MS`] unless renewed (IRCv3 asks senders to renew `active` every 3
//! seconds), and ends at once when the typist pauses or is done, or when a message from them
//! arrives in that conversation.

use std::collections::BTreeMap;

use super::timer::Timer;
use crate::protocol::signal::{TYPING, signal_value};
use crate::protocol::{Conversation, Name, ServerMsg};
use crate::time::Timestamp;
use crate::timers::Timers;

/// How long a typing notice is shown without being renewed.
pub(super) const TYPING_SHOWN_MS: u64 = 6_000;

/// Who is typing in each conversation, and until when it is shown.
#[derive(Debug, Default)]
pub(super) struct Typing {
    typing: BTreeMap<Conversation, BTreeMap<Name, Timestamp>>,
    /// Changes whenever `typing` does (for the screen's redraw).
    version: u64,
}

impl Typing {
    /// Who is typing in each conversation, and until when.
    pub(super) fn all(&self) -> &BTreeMap<Conversation, BTreeMap<Name, Timestamp>> {
        &self.typing
    }

    /// Changes whenever who is typing does.
    pub(super) fn version(&self) -> u64 {
        self.version
    }

    /// A line from the server at `now`: a typing signal starts, renews or ends a notice; a message
    /// ends its sender's. Whether the line was a signal (nothing else of it is shown).
    pub(super) fn learn(
        &mut self,
        msg: &ServerMsg,
        now: Timestamp,
        timers: &mut Timers<Timer>,
    ) -> bool {
        let (conversation, from, active) = match msg {
            ServerMsg::Signal { from, tags, .. } => (
                Conversation::User(from.clone()),
                from,
                signal_value(tags, TYPING),
            ),
            ServerMsg::GroupSignal {
                group, from, tags, ..
            } => (
                Conversation::Group(group.clone()),
                from,
                signal_value(tags, TYPING),
            ),
            ServerMsg::Message { from, .. } => (Conversation::User(from.clone()), from, Some("")),
            ServerMsg::GroupMessage { group, from, .. } => {
                (Conversation::Group(group.clone()), from, Some(""))
            }
            _ => return false,
        };
        let signal = matches!(
            msg,
            ServerMsg::Signal { .. } | ServerMsg::GroupSignal { .. }
        );
        match active {
            Some("active") => {
                self.typing
                    .entry(conversation)
                    .or_default()
                    .insert(from.clone(), now.plus_millis(TYPING_SHOWN_MS));
                self.version += 1;
            }
            Some(_) => {
                if let Some(who) = self.typing.get_mut(&conversation)
                    && who.remove(from).is_some()
                {
                    if who.is_empty() {
                        self.typing.remove(&conversation);
                    }
                    self.version += 1;
                }
            }
            // A signal of something else (a reaction): nothing about typing.
            None => {}
        }
        self.set_timer(timers);
        signal
    }

    /// Notices whose time is up at `now` end.
    pub(super) fn expire(&mut self, now: Timestamp, timers: &mut Timers<Timer>) {
        let before = self.typing.values().map(BTreeMap::len).sum::<usize>();
        for who in self.typing.values_mut() {
            who.retain(|_, until| *until > now);
        }
        self.typing.retain(|_, who| !who.is_empty());
        if self.typing.values().map(BTreeMap::len).sum::<usize>() != before {
            self.version += 1;
        }
        self.set_timer(timers);
    }

    /// The connection is gone: no one is known to be typing.
    pub(super) fn clear(&mut self, timers: &mut Timers<Timer>) {
        if !self.typing.is_empty() {
            self.typing.clear();
            self.version += 1;
        }
        timers.cancel(Timer::Typing);
    }

    fn set_timer(&self, timers: &mut Timers<Timer>) {
        match self.typing.values().flat_map(|w| w.values()).min() {
            Some(at) => timers.set(Timer::Typing, *at),
            None => timers.cancel(Timer::Typing),
        }
    }
}
