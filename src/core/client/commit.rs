//! Lines held behind the end-to-end saves they depend on, until the shell says those are durable.
//!
//! A ratchet that advanced for a message must be on disk before the message leaves (or a crash, or a
//! save that failed, would make a later run reuse a message key), and a message decrypted must be
//! recorded before it is acknowledged. Syncing the disk once per message made end-to-end messages
//! twenty-five times slower than plain ones; so saves are *group-committed*: the core emits its saves
//! as they come ([`Effect::SaveE2e`], [`Effect::AppendE2e`]), asks for one commit
//! ([`Effect::CommitE2e`]), and holds every server line emitted from the first uncommitted save on,
//! in order, until the shell answers ([`super::Event::E2eCommitted`]) after a burst of events with
//! one sync. At most one commit is in flight; saves made meanwhile wait for the next.
//!
//! A save may also be *deferred* (`e2e::Out::Changed`): the part is marked changed where the save
//! would have been (lines from there on are held just the same), and what to save is made once,
//! when the commit is asked for (the flush [`Commits::hold`] and [`Commits::settle`] are handed),
//! so a burst of messages to one contact serialises their sessions once, not once per message.
//! Making it may fail: the commit is then asked for all the same (to keep one in flight at a
//! time) and taken as failed, whatever the shell answers.
//!
//! A commit that failed releases the lines that do not depend on end-to-end state (commands,
//! acknowledgements, text sent in clear) and drops those that do (encrypted messages, group keys,
//! keys published), which are reported as not sent: nothing leaves that a later run could contradict,
//! and the in-memory ratchets stay where they are, ahead of the disk, so the next save that succeeds
//! never rolls one back.

use std::collections::VecDeque;

use super::event::Effect;
use crate::protocol::Conversation;

/// A line that depends on end-to-end state: dropped, and reported, if its commit fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dependent {
    pub line: String,
    /// The conversation of a message the user wrote, and its number if the client shows it.
    pub to: Option<Conversation>,
    pub seq: Option<u64>,
    /// The key its answer is awaited under (`outgoing`), if one is: forgotten if it never leaves.
    pub pending: Option<u64>,
}

#[derive(Debug)]
struct Held {
    line: String,
    /// The commit it waits for.
    after: u64,
    dependent: Option<Dependent>,
}

/// The commit bookkeeping of one client. See the module documentation.
#[derive(Debug)]
pub(super) struct Commits {
    /// Saves were emitted since the last commit was asked for.
    dirty: bool,
    /// The commit asked for and not answered yet.
    in_flight: Option<u64>,
    /// The number the next commit asked for will have.
    next: u64,
    held: VecDeque<Held>,
    /// Lines marked dependent as they were emitted, in order, not yet seen by [`Commits::hold`].
    marked: VecDeque<Dependent>,
    /// Where, in the effects of the event being handled, the first deferred save was (see
    /// [`Commits::changed`]).
    changed_at: Option<usize>,
    /// A commit whose saves could not all be made (by the flush), and why: failed, whatever the
    /// shell answers.
    spoilt: Option<(u64, String)>,
}

/// What makes the deferred saves when a commit is asked for: pushes them to the effects, or says
/// why it could not.
pub(super) type Flush<'a> = &'a mut dyn FnMut(&mut Vec<Effect>) -> Result<(), String>;

/// What a commit's answer released and dropped.
#[derive(Debug, Default)]
pub(super) struct Settled {
    pub release: Vec<String>,
    pub dropped: Vec<Dependent>,
    /// The commit failed because its saves could not be made (why), whatever the shell said.
    pub spoilt: Option<String>,
}

impl Default for Commits {
    fn default() -> Self {
        Commits {
            dirty: false,
            in_flight: None,
            next: 1,
            held: VecDeque::new(),
            marked: VecDeque::new(),
            changed_at: None,
            spoilt: None,
        }
    }
}

impl Commits {
    /// Marks the next line `line` emitted as depending on end-to-end state.
    pub(super) fn depends(&mut self, dependent: Dependent) {
        self.marked.push_back(dependent);
    }

    /// A save deferred to the commit: the part it concerns changed here, at index `at` of the
    /// effects of the event being handled (what follows it waits for the commit, as it would
    /// behind a save).
    pub(super) fn changed(&mut self, at: usize) {
        self.changed_at.get_or_insert(at);
    }

    /// Whether lines are held or a commit is awaited.
    pub(super) fn busy(&self) -> bool {
        self.dirty || self.in_flight.is_some() || !self.held.is_empty()
    }

    /// Goes through the effects of one event (`effects`): server lines from the first uncommitted
    /// save on are taken out and held; a commit is asked for if saves are waiting and none is in
    /// flight (`flush` first makes the deferred ones).
    pub(super) fn hold(&mut self, effects: &mut Vec<Effect>, from: usize, flush: Flush<'_>) {
        self.gather(effects, from);
        self.ask(effects, flush);
    }

    /// [`Self::hold`] without asking for the commit: the events after this one (a batch of lines
    /// read ahead) gather into the same commit, asked for once after them ([`Self::ask`]).
    pub(super) fn gather(&mut self, effects: &mut Vec<Effect>, from: usize) {
        let changed_at = self.changed_at.take();
        if from == effects.len() && !self.dirty && changed_at.is_none() {
            return;
        }
        let tail = effects.split_off(from);
        for (i, effect) in tail.into_iter().enumerate() {
            if changed_at.is_some_and(|at| from + i >= at) {
                self.dirty = true;
            }
            match effect {
                Effect::SaveE2e { .. } | Effect::AppendE2e { .. } => {
                    self.dirty = true;
                    effects.push(effect);
                }
                Effect::Send(line) => {
                    let dependent = match self.marked.front() {
                        Some(d) if d.line == line => self.marked.pop_front(),
                        _ => None,
                    };
                    if self.busy() {
                        let after = if self.dirty {
                            self.next
                        } else {
                            self.in_flight
                                .or(self.held.back().map(|h| h.after))
                                .unwrap_or(0)
                        };
                        self.held.push_back(Held {
                            line,
                            after,
                            dependent,
                        });
                    } else {
                        effects.push(Effect::Send(line));
                    }
                }
                other => effects.push(other),
            }
        }
        if changed_at.is_some() {
            self.dirty = true;
        }
        self.marked.clear();
    }

    /// Asks for a commit if saves wait for one and none is in flight, the deferred saves made
    /// first.
    pub(super) fn ask(&mut self, effects: &mut Vec<Effect>, flush: Flush<'_>) {
        if self.dirty && self.in_flight.is_none() {
            if let Err(why) = flush(effects) {
                self.spoilt = Some((self.next, why));
            }
            self.in_flight = Some(self.next);
            self.next += 1;
            self.dirty = false;
            effects.push(Effect::CommitE2e);
        }
    }

    /// The connection the held lines were for is gone: they are dropped, as lines in a dead
    /// connection's buffer are (a new connection must not get the old one's lines, such as a
    /// reply meant for a prompt of the old one). Returns the dependent ones, to report.
    pub(super) fn drop_held(&mut self) -> Vec<Dependent> {
        std::mem::take(&mut self.held)
            .into_iter()
            .filter_map(|h| h.dependent)
            .collect()
    }

    /// The shell answered the commit in flight: what it covered is released (or, if it failed,
    /// the dependent lines dropped); the next commit is asked for if saves wait.
    pub(super) fn settle(
        &mut self,
        ok: bool,
        effects: &mut Vec<Effect>,
        flush: Flush<'_>,
    ) -> Settled {
        let mut settled = Settled::default();
        let Some(done) = self.in_flight.take() else {
            return settled;
        };
        if self.spoilt.as_ref().is_some_and(|(n, _)| *n == done) {
            settled.spoilt = self.spoilt.take().map(|(_, why)| why);
        }
        let ok = ok && settled.spoilt.is_none();
        while self.held.front().is_some_and(|h| h.after <= done) {
            let h = self.held.pop_front().expect("checked");
            match h.dependent {
                Some(d) if !ok => settled.dropped.push(d),
                _ => settled.release.push(h.line),
            }
        }
        if self.held.front().is_some_and(|h| h.after == 0) {
            // Held only to keep order behind what was just settled.
            while self.held.front().is_some_and(|h| h.after == 0) {
                settled
                    .release
                    .push(self.held.pop_front().expect("checked").line);
            }
        }
        self.ask(effects, flush);
        settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::e2e::Part;
    use crate::protocol::Name;

    fn save() -> Effect {
        Effect::SaveE2e {
            user: Name::from("alice"),
            part: Part::Device,
            bytes: vec![],
        }
    }

    fn send(l: &str) -> Effect {
        Effect::Send(l.into())
    }

    /// A flush with no deferred saves to make.
    fn nothing(_: &mut Vec<Effect>) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn a_deferred_save_holds_what_follows_it_and_is_made_once_per_commit() {
        let mut c = Commits::default();
        let mut flushes = 0;
        let mut flush = |out: &mut Vec<Effect>| {
            flushes += 1;
            out.push(save());
            Ok(())
        };
        // The part changed between the first line and the second: only the second waits.
        let mut out = vec![send("before")];
        c.changed(1);
        out.push(send("m1"));
        c.hold(&mut out, 0, &mut flush);
        assert_eq!(out, vec![send("before"), save(), Effect::CommitE2e]);
        // Three more messages while the commit is in flight: one flush for all, at the next.
        for m in ["m2", "m3", "m4"] {
            let mut out = Vec::new();
            c.changed(0);
            out.push(send(m));
            c.hold(&mut out, 0, &mut flush);
            assert!(out.is_empty(), "{m} waits");
        }
        let mut out = Vec::new();
        let s = c.settle(true, &mut out, &mut flush);
        assert_eq!(s.release, vec!["m1"]);
        assert_eq!(out, vec![save(), Effect::CommitE2e]);
        let s = c.settle(true, &mut Vec::new(), &mut flush);
        assert_eq!(s.release, vec!["m2", "m3", "m4"]);
        assert!(!c.busy());
        assert_eq!(flushes, 2, "one per commit, not one per message");
    }

    #[test]
    fn a_commit_whose_deferred_saves_could_not_be_made_fails_whatever_the_shell_says() {
        let mut c = Commits::default();
        c.depends(Dependent {
            line: "message bob e2e1:z".into(),
            to: Some(Conversation::User(Name::from("bob"))),
            seq: Some(2),
            pending: None,
        });
        let mut out = Vec::new();
        c.changed(0);
        out.push(send("message bob e2e1:z"));
        c.hold(&mut out, 0, &mut |_| Err("lost".into()));
        assert_eq!(out, vec![Effect::CommitE2e], "asked all the same");
        let s = c.settle(true, &mut Vec::new(), &mut nothing);
        assert!(s.release.is_empty(), "nothing that depended on it leaves");
        assert_eq!(s.dropped.len(), 1);
        assert_eq!(s.spoilt.as_deref(), Some("lost"));
    }

    #[test]
    fn lines_after_a_save_wait_for_its_commit_and_one_commit_covers_a_burst() {
        let mut c = Commits::default();
        let mut out = vec![send("before")];
        c.hold(&mut out, 0, &mut nothing);
        assert_eq!(out, vec![send("before")], "nothing to wait for");

        let mut out = vec![send("a"), save(), send("m1")];
        c.hold(&mut out, 0, &mut nothing);
        assert_eq!(out, vec![send("a"), save(), Effect::CommitE2e]);
        // More of the burst: held behind the same commit's successor, asked for once settled.
        let mut out = vec![save(), send("m2"), send("ack")];
        c.hold(&mut out, 0, &mut nothing);
        assert_eq!(out, vec![save()], "one commit in flight at a time");
        let mut out = Vec::new();
        let s = c.settle(true, &mut out, &mut nothing);
        assert_eq!(s.release, vec!["m1"]);
        assert_eq!(out, vec![Effect::CommitE2e], "the next commit, for m2");
        let s = c.settle(true, &mut Vec::new(), &mut nothing);
        assert_eq!(s.release, vec!["m2", "ack"]);
        assert!(!c.busy());
    }

    #[test]
    fn a_failed_commit_drops_what_depends_on_it_and_releases_the_rest() {
        let mut c = Commits::default();
        c.depends(Dependent {
            line: "message bob e2e1:x".into(),
            to: Some(Conversation::User(Name::from("bob"))),
            seq: Some(4),
            pending: None,
        });
        let mut out = vec![save(), send("message bob e2e1:x"), send("acks 7")];
        c.hold(&mut out, 0, &mut nothing);
        assert_eq!(out, vec![save(), Effect::CommitE2e]);
        let s = c.settle(false, &mut Vec::new(), &mut nothing);
        assert_eq!(s.release, vec!["acks 7"]);
        assert_eq!(s.dropped.len(), 1);
        assert_eq!(s.dropped[0].seq, Some(4));
        // A stale answer changes nothing.
        let s = c.settle(true, &mut Vec::new(), &mut nothing);
        assert!(s.release.is_empty() && s.dropped.is_empty());
    }

    #[test]
    fn lines_held_for_a_connection_that_is_gone_are_dropped() {
        let mut c = Commits::default();
        c.depends(Dependent {
            line: "message bob e2e1:y".into(),
            to: Some(Conversation::User(Name::from("bob"))),
            seq: Some(9),
            pending: None,
        });
        let mut out = vec![save(), send("message bob e2e1:y"), send("acks 3")];
        c.hold(&mut out, 0, &mut nothing);
        let dropped = c.drop_held();
        assert_eq!(dropped.len(), 1, "the user's message, to report");
        // The commit's answer, when it comes, releases nothing of the old connection.
        let s = c.settle(true, &mut Vec::new(), &mut nothing);
        assert!(s.release.is_empty());
        assert!(!c.busy());
    }
}
