//! Highlights, as irssi has them: a line in a group or a broadcast that names the user (or one of
//! the words they chose, `--hilight`), matched as a whole word in any case, is addressed to them as a
//! direct message is: its window is marked `*`, the bell rings, and `/hilights` lists it.

use std::collections::VecDeque;

use crate::protocol::{Conversation, Name};
use crate::time::Timestamp;

/// How many highlighted lines `/hilights` keeps (the oldest go first).
pub const KEPT: usize = 100;

/// The words that highlight a line, and the lines they highlighted.
#[derive(Debug, Default)]
pub(super) struct Highlights {
    /// The words chosen besides the user's name.
    words: Vec<String>,
    /// The lines highlighted this run, oldest first: when, where, who, what.
    seen: VecDeque<(Timestamp, Conversation, Name, String)>,
}

impl Highlights {
    /// Highlighting `words` besides the user's name.
    pub(super) fn new(words: Vec<String>) -> Self {
        Highlights {
            words,
            seen: VecDeque::new(),
        }
    }

    /// `/hilight WORD`: one more word, for this run. Returns whether it is new.
    pub(super) fn add_word(&mut self, word: &str) -> bool {
        if self.words.iter().any(|w| w.eq_ignore_ascii_case(word)) {
            return false;
        }
        self.words.push(word.to_owned());
        true
    }

    /// The words chosen besides the user's name.
    pub(super) fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether `text`, said by `from` in `to`, names `me` or one of the words; if so it is kept for
    /// `/hilights`.
    pub(super) fn check(
        &mut self,
        me: &Name,
        at: Timestamp,
        to: &Conversation,
        from: &Name,
        text: &str,
    ) -> bool {
        if from == me {
            return false;
        }
        let hit = mentions(text, me) || self.words.iter().any(|w| mentions(text, w));
        if hit {
            if self.seen.len() == KEPT {
                self.seen.pop_front();
            }
            self.seen
                .push_back((at, to.clone(), from.clone(), text.to_owned()));
        }
        hit
    }

    /// The lines highlighted this run, oldest first.
    pub(super) fn seen(&self) -> impl Iterator<Item = &(Timestamp, Conversation, Name, String)> {
        self.seen.iter()
    }
}

/// Whether `text` holds `word` as a whole word, in any case: not inside a longer word (letters,
/// digits and `_` join words; punctuation, `-` and `.` part them).
pub fn mentions(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    let word = word.to_lowercase();
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(&word).any(|(i, m)| {
        !joins(text[..i].chars().next_back()) && !joins(text[i + m.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_matched_as_a_whole_word_in_any_case() {
        assert!(mentions("alice: look", "alice"));
        assert!(mentions("ping @Alice.", "alice"));
        assert!(mentions("thanks, ALICE", "alice"));
        assert!(!mentions("malice aforethought", "alice"));
        assert!(!mentions("alice_b is here", "alice"));
        assert!(!mentions("alices", "alice"));
        assert!(mentions("deploy-time", "deploy"));
        assert!(!mentions("anything", ""));
    }

    #[test]
    fn highlights_are_kept_for_the_list_but_not_ones_own() {
        let mut h = Highlights::new(vec!["deploy".into()]);
        let me = Name::from("alice");
        let team = Conversation::Group("team".into());
        assert!(h.check(&me, Timestamp(1), &team, &"bob".into(), "alice?"));
        assert!(h.check(&me, Timestamp(2), &team, &"bob".into(), "the Deploy is out"));
        assert!(!h.check(&me, Timestamp(3), &team, &"bob".into(), "lunch"));
        assert!(!h.check(&me, Timestamp(4), &team, &me, "alice here"));
        assert_eq!(h.seen().count(), 2);
        assert!(h.add_word("lunch"));
        assert!(!h.add_word("LUNCH"));
        assert!(h.check(&me, Timestamp(5), &team, &"bob".into(), "lunch"));
    }
}
