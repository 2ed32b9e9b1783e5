//! The full-screen client's input line: the editing keys of line mode (emacs-style, as rustyline and
//! irssi have them), the history (shared with line mode through the same file), and Tab completion
//! from the same completer.

/// The line being typed, its cursor (a char index), the history and a completion in progress.
#[derive(Debug, Default)]
pub struct Editor {
    chars: Vec<char>,
    cursor: usize,
    /// The lines kept, oldest first (the screen loads them at start and saves them at exit).
    pub history: Vec<String>,
    /// Where Up/Down are in the history (`None`: at the line being typed), and that line, kept aside.
    browsing: Option<(usize, Vec<char>)>,
    /// Candidates of the last Tab, the next to offer, and where the completed word starts.
    completing: Option<Completion>,
}

#[derive(Debug)]
struct Completion {
    start: usize,
    candidates: Vec<String>,
    next: usize,
}

/// An editing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Insert(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    /// Ctrl-U: everything before the cursor.
    KillToStart,
    /// Ctrl-K: everything after the cursor.
    KillToEnd,
    /// Ctrl-W: the word before the cursor.
    KillWord,
    /// Alt-B / Alt-F (and Ctrl-Left / Ctrl-Right).
    WordLeft,
    WordRight,
    HistoryUp,
    HistoryDown,
}

/// Entries kept in the history.
const HISTORY_LEN: usize = 1000;

impl Editor {
    /// The line as typed so far.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// Whether nothing is typed (Ctrl-D then ends the input).
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The cursor, in chars from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Applies one key.
    pub fn edit(&mut self, edit: Edit) {
        self.completing = None;
        match edit {
            Edit::Insert(c) => {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            // The erasing and moving keys take a whole cluster: one Backspace erases an emoji with
            // its skin tone, never the tone alone.
            Edit::Backspace if self.cursor > 0 => {
                let start = self.cluster_before();
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            Edit::Delete if self.cursor < self.chars.len() => {
                let end = self.cluster_after();
                self.chars.drain(self.cursor..end);
            }
            Edit::Left => self.cursor = self.cluster_before(),
            Edit::Right => self.cursor = self.cluster_after(),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = self.chars.len(),
            Edit::KillToStart => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            Edit::KillToEnd => self.chars.truncate(self.cursor),
            Edit::KillWord => {
                let start = self.word_start();
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            Edit::WordLeft => self.cursor = self.word_start(),
            Edit::WordRight => {
                let mut i = self.cursor;
                while i < self.chars.len() && self.chars[i] == ' ' {
                    i += 1;
                }
                while i < self.chars.len() && self.chars[i] != ' ' {
                    i += 1;
                }
                self.cursor = i;
            }
            Edit::HistoryUp => self.history_step(true),
            Edit::HistoryDown => self.history_step(false),
            Edit::Backspace | Edit::Delete => {}
        }
    }

    /// Where the cluster before the cursor starts (the cursor itself at the start).
    fn cluster_before(&self) -> usize {
        let starts = crate::client::wrap::cluster_starts(&self.text());
        starts
            .into_iter()
            .rev()
            .find(|s| *s < self.cursor)
            .unwrap_or(0)
    }

    /// Where the cluster after the cursor ends (the cursor itself at the end).
    fn cluster_after(&self) -> usize {
        let starts = crate::client::wrap::cluster_starts(&self.text());
        starts
            .into_iter()
            .find(|s| *s > self.cursor)
            .unwrap_or(self.chars.len())
    }

    fn word_start(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && self.chars[i - 1] == ' ' {
            i -= 1;
        }
        while i > 0 && self.chars[i - 1] != ' ' {
            i -= 1;
        }
        i
    }

    fn history_step(&mut self, up: bool) {
        if self.history.is_empty() {
            return;
        }
        let next = match (&self.browsing, up) {
            (None, true) => {
                let typed = std::mem::take(&mut self.chars);
                self.browsing = Some((self.history.len() - 1, typed));
                Some(self.history.len() - 1)
            }
            (None, false) => None,
            (Some((i, _)), true) => Some(i.saturating_sub(1)),
            (Some((i, _)), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => {
                // Past the newest entry: back to the line that was being typed.
                let (_, typed) = self.browsing.take().expect("browsing");
                self.chars = typed;
                self.cursor = self.chars.len();
                return;
            }
        };
        if let (Some(i), Some((at, _))) = (next, self.browsing.as_mut()) {
            *at = i;
            self.chars = self.history[i].chars().collect();
            self.cursor = self.chars.len();
        }
    }

    /// Inserts what was pasted at the cursor.
    pub fn insert(&mut self, text: &str) {
        self.completing = None;
        for c in text.chars() {
            self.chars.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// Tab: the first candidate `complete` offers for the line and the cursor (a byte offset), and
    /// each further Tab the next one, in place of the word.
    pub fn complete(&mut self, complete: impl FnOnce(&str, usize) -> (usize, Vec<String>)) {
        if self.completing.is_none() {
            let line = self.text();
            let pos = self.chars[..self.cursor].iter().collect::<String>().len();
            let (start_byte, candidates) = complete(&line, pos);
            if candidates.is_empty() {
                return;
            }
            let start = line[..start_byte].chars().count();
            self.completing = Some(Completion {
                start,
                candidates,
                next: 0,
            });
        }
        let Some(c) = self.completing.as_mut() else {
            return;
        };
        let word: Vec<char> = c.candidates[c.next].chars().collect();
        c.next = (c.next + 1) % c.candidates.len();
        let start = c.start;
        self.chars.splice(start..self.cursor, word.iter().copied());
        self.cursor = start + word.len();
    }

    /// Enter: the line, and an empty line to type the next one. What of it the history keeps is the
    /// caller's to say ([`Self::remember`]).
    pub fn take(&mut self) -> String {
        let line = self.text();
        self.clear();
        line
    }

    /// Keeps `line` in the history (a blank one is not worth keeping; nor is the same line twice running).
    pub fn remember(&mut self, line: &str) {
        if line.trim().is_empty() || self.history.last().is_some_and(|l| l == line) {
            return;
        }
        self.history.push(line.to_owned());
        if self.history.len() > HISTORY_LEN {
            self.history.remove(0);
        }
    }

    /// Forgets the line without keeping it.
    pub fn clear(&mut self) {
        self.chars.clear();
        self.cursor = 0;
        self.browsing = None;
        self.completing = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::client::complete::{Known, complete};

    fn typed(e: &mut Editor, s: &str) {
        for c in s.chars() {
            e.edit(Edit::Insert(c));
        }
    }

    #[test]
    fn editing_keys() {
        let mut e = Editor::default();
        typed(&mut e, "hello wörld");
        e.edit(Edit::WordLeft);
        e.edit(Edit::KillToEnd);
        assert_eq!(e.text(), "hello ");
        typed(&mut e, "there");
        e.edit(Edit::Home);
        e.edit(Edit::Delete);
        assert_eq!(e.text(), "ello there");
        e.edit(Edit::End);
        e.edit(Edit::KillWord);
        assert_eq!(e.text(), "ello ");
        e.edit(Edit::Backspace);
        e.edit(Edit::KillToStart);
        assert!(e.is_empty());
    }

    #[test]
    fn history_keeps_the_line_being_typed() {
        let mut e = Editor::default();
        typed(&mut e, "one");
        let line = e.take();
        e.remember(&line);
        typed(&mut e, "two");
        let line = e.take();
        e.remember(&line);
        typed(&mut e, "thr");
        e.edit(Edit::HistoryUp);
        assert_eq!(e.text(), "two");
        e.edit(Edit::HistoryUp);
        e.edit(Edit::HistoryUp);
        assert_eq!(e.text(), "one");
        e.edit(Edit::HistoryDown);
        e.edit(Edit::HistoryDown);
        assert_eq!(e.text(), "thr", "back to what was being typed");
    }

    #[test]
    fn tab_completes_and_cycles() {
        let k = Known {
            users: vec!["bob".into(), "bobby".into()],
            ..Known::default()
        };
        let mut e = Editor::default();
        typed(&mut e, "message bo");
        e.complete(|l, p| complete(l, p, &k));
        assert_eq!(e.text(), "message bob ");
        e.complete(|l, p| complete(l, p, &k));
        assert_eq!(e.text(), "message bobby ");
        typed(&mut e, "hi");
        assert_eq!(e.text(), "message bobby hi");
    }
}
