//! The full-screen client's windows as they are kept across a restart: which windows, in which
//! order, which one was shown, what each had unread, and (unless the user keeps no conversation
//! text on disk) their last lines. A plain value with its own serialisation, so the screen says what
//! to keep and the shell only writes the bytes (owner-only, per server and account).
//!
//! The format is JSON with a `format` number: a file this natter cannot read (damaged, not text, or
//! written by a newer natter in a format it does not know) is refused with a reason, never half
//! read, and the client starts with fresh windows. What is read is checked as a line from the
//! server would be: names must be names (a window's conversation is where typed text goes), and
//! control characters are taken out of the text (it is drawn on the terminal).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::window::{Activity, Line, LineStyle, Window, WindowKey};
use crate::protocol::name::{check_group_name, check_username};
use crate::protocol::{Conversation, Name};
use crate::time::Timestamp;

/// The format this natter writes, and the newest it reads.
pub const FORMAT: u32 = 1;

/// Lines kept per window across a restart: the newest, at most this many (the live scrollback,
/// [`super::SCROLLBACK`], keeps more; a restart keeps what a reader scrolls back to after it, and a
/// file small enough to write every few seconds).
pub const SAVED_LINES: usize = 1000;

/// What is kept of the windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The windows, their order, the one shown and what each had unread, but no line of text: for
    /// a user who keeps no conversation text on disk (`--no-logs`).
    Layout,
    /// That and each window's last [`SAVED_LINES`] lines.
    Scrollback,
}

/// Why kept windows could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// Not JSON of the expected shape (cut short, edited, another file).
    #[error("it is damaged ({0})")]
    Damaged(String),
    /// Written by a newer natter, in a format this one does not know.
    #[error("it was written by a newer natter (format {found}; this one reads up to {FORMAT})")]
    Newer {
        /// The format the file says it is in.
        found: u32,
    },
}

/// The windows as kept: see the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedWindows {
    format: u32,
    /// When they were kept: the restored lines are marked as from then.
    saved_at: Timestamp,
    /// The index of the window shown.
    active: usize,
    windows: Vec<SavedWindow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SavedWindow {
    key: SavedKey,
    #[serde(default)]
    unread: usize,
    #[serde(default)]
    for_me: bool,
    #[serde(default)]
    lines: Vec<SavedLine>,
}

/// A window's key, spelt out (a window's label cannot tell a user named `broadcasts` from the
/// broadcasts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SavedKey {
    Status,
    User(String),
    Group(String),
    Private(String),
    Broadcasts,
}

/// One line, without what belongs to the session that showed it (the number of the user's message,
/// whose answer can only come to that session).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SavedLine {
    at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    text: String,
    style: LineStyle,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
}

/// The header alone, read first, so a newer format is told apart from damage.
#[derive(Deserialize)]
struct Header {
    format: u32,
}

/// A window restored: its key, what it had unread, its lines (oldest first).
pub(super) struct Restored {
    pub(super) key: WindowKey,
    pub(super) activity: Activity,
    pub(super) lines: Vec<Line>,
}

impl SavedWindows {
    /// `windows` as kept at `at`, `active` being shown, keeping what `keep` says. A window whose
    /// name is not one (`/query` of a mistyped name) is not kept: nobody can talk there.
    pub(super) fn of(windows: &[Window], active: usize, keep: Keep, at: Timestamp) -> Self {
        let kept: Vec<(usize, &Window)> = windows
            .iter()
            .enumerate()
            .filter(|(_, w)| SavedKey::of(&w.key).check().is_ok())
            .collect();
        let active = kept.iter().position(|(i, _)| *i == active).unwrap_or(0);
        let windows = kept
            .into_iter()
            .map(|(_, w)| SavedWindow {
                key: SavedKey::of(&w.key),
                unread: w.activity.unread,
                for_me: w.activity.for_me,
                lines: match keep {
                    Keep::Layout => Vec::new(),
                    Keep::Scrollback => {
                        let skip = w.lines.len().saturating_sub(SAVED_LINES);
                        w.lines[skip..].iter().map(SavedLine::of).collect()
                    }
                },
            })
            .collect();
        SavedWindows {
            format: FORMAT,
            saved_at: at,
            active,
            windows,
        }
    }

    /// The bytes to write.
    pub fn encode(&self) -> Vec<u8> {
        // A value of strings, numbers and enums: serialising it cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads kept windows back, checking every name and taking control characters out of the text.
    pub fn decode(bytes: &[u8]) -> Result<Self, RestoreError> {
        let damaged = |e: serde_json::Error| RestoreError::Damaged(e.to_string());
        let header: Header = serde_json::from_slice(bytes).map_err(damaged)?;
        if header.format > FORMAT {
            return Err(RestoreError::Newer {
                found: header.format,
            });
        }
        if header.format == 0 {
            return Err(RestoreError::Damaged("format 0 is no format".into()));
        }
        let mut saved: SavedWindows = serde_json::from_slice(bytes).map_err(damaged)?;
        let mut seen = BTreeSet::new();
        for w in &saved.windows {
            w.key.check()?;
            if !seen.insert(&w.key) {
                return Err(RestoreError::Damaged(format!(
                    "the window {:?} is there twice",
                    w.key
                )));
            }
        }
        if saved.active >= saved.windows.len() {
            saved.active = 0;
        }
        for w in &mut saved.windows {
            // Kept by a hand or a natter that kept more: the newest are what a reader wants.
            let skip = w.lines.len().saturating_sub(SAVED_LINES);
            w.lines.drain(..skip);
            for line in &mut w.lines {
                line.clean();
            }
        }
        Ok(saved)
    }

    /// When they were kept.
    pub fn saved_at(&self) -> Timestamp {
        self.saved_at
    }

    /// How many windows were kept (the status window included).
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no window was kept.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The window that was shown, and the windows, in order, taken out for the screen.
    pub(super) fn into_windows(self) -> (Option<WindowKey>, Vec<Restored>) {
        let active = self.windows.get(self.active).map(|w| w.key.to_key());
        let windows = self
            .windows
            .into_iter()
            .map(|w| Restored {
                key: w.key.to_key(),
                activity: Activity {
                    unread: w.unread,
                    for_me: w.for_me,
                },
                lines: w.lines.into_iter().map(SavedLine::into_line).collect(),
            })
            .collect();
        (active, windows)
    }
}

impl SavedKey {
    fn of(key: &WindowKey) -> Self {
        match key {
            WindowKey::Status => SavedKey::Status,
            WindowKey::Conversation(c) => match c {
                Conversation::User(u) => SavedKey::User(u.to_string()),
                Conversation::Group(g) => SavedKey::Group(g.to_string()),
                Conversation::Private(u) => SavedKey::Private(u.to_string()),
                Conversation::Broadcasts => SavedKey::Broadcasts,
            },
        }
    }

    /// A name that is not one would be sent to the server as a conversation's.
    fn check(&self) -> Result<(), RestoreError> {
        match self {
            SavedKey::User(n) | SavedKey::Private(n) => check_username(n)
                .map_err(|e| RestoreError::Damaged(format!("{n:?} is not a username: {e}"))),
            SavedKey::Group(n) => check_group_name(n)
                .map_err(|e| RestoreError::Damaged(format!("{n:?} is not a group's name: {e}"))),
            SavedKey::Status | SavedKey::Broadcasts => Ok(()),
        }
    }

    fn to_key(&self) -> WindowKey {
        let name = |n: &String| Name::from(n.as_str());
        match self {
            SavedKey::Status => WindowKey::Status,
            SavedKey::User(n) => WindowKey::Conversation(Conversation::User(name(n))),
            SavedKey::Group(n) => WindowKey::Conversation(Conversation::Group(name(n))),
            SavedKey::Private(n) => WindowKey::Conversation(Conversation::Private(name(n))),
            SavedKey::Broadcasts => WindowKey::Conversation(Conversation::Broadcasts),
        }
    }
}

impl PartialOrd for SavedKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SavedKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_key().cmp(&other.to_key())
    }
}

impl SavedLine {
    fn of(line: &Line) -> Self {
        SavedLine {
            at: line.at,
            from: line.from.as_ref().map(|f| f.to_string()),
            text: line.text.clone(),
            style: line.style,
            outcome: line.outcome.clone(),
        }
    }

    /// Takes out what could drive the terminal rather than be read on it.
    fn clean(&mut self) {
        let strip = |s: &mut String| {
            if s.chars().any(char::is_control) {
                *s = s.chars().filter(|c| !c.is_control()).collect();
            }
        };
        strip(&mut self.text);
        if let Some(from) = &mut self.from {
            strip(from);
        }
        if let Some(outcome) = &mut self.outcome {
            strip(outcome);
        }
    }

    fn into_line(self) -> Line {
        Line {
            at: self.at,
            from: self.from.map(|f| Name::from(f.as_str())),
            text: self.text,
            style: self.style,
            seq: None,
            outcome: self.outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(key: WindowKey, texts: &[&str]) -> Window {
        let mut w = Window::new(key);
        for (i, t) in texts.iter().enumerate() {
            w.push(Line {
                at: Timestamp(1_000 + i as u64),
                from: (i % 2 == 0).then(|| Name::from("bob")),
                text: (*t).into(),
                style: LineStyle::Message,
                seq: Some(7),
                outcome: Some("delivered".into()),
            });
        }
        w
    }

    fn user(u: &str) -> WindowKey {
        WindowKey::Conversation(Conversation::User(u.into()))
    }

    #[test]
    fn windows_come_back_in_order_with_their_lines_and_the_one_shown() {
        let mut crew = window(
            WindowKey::Conversation(Conversation::Group("crew".into())),
            &["standup"],
        );
        crew.activity = Activity {
            unread: 3,
            for_me: true,
        };
        let windows = vec![
            window(WindowKey::Status, &["Welcome"]),
            window(user("bob"), &["hi", "there"]),
            crew,
            window(WindowKey::Conversation(Conversation::Broadcasts), &[]),
            window(user("broadcasts"), &["a user so named"]),
            window(
                WindowKey::Conversation(Conversation::Private("bob".into())),
                &["psst"],
            ),
        ];
        let saved = SavedWindows::of(&windows, 2, Keep::Scrollback, Timestamp(99));
        let back = SavedWindows::decode(&saved.encode()).unwrap();
        assert_eq!(back, saved);
        assert_eq!(back.saved_at(), Timestamp(99));
        let (active, restored) = back.into_windows();
        assert_eq!(active, Some(windows[2].key.clone()));
        assert_eq!(restored.len(), windows.len());
        for (r, w) in restored.iter().zip(&windows) {
            assert_eq!(r.key, w.key);
            assert_eq!(r.activity, w.activity);
            let texts: Vec<&str> = r.lines.iter().map(|l| l.text.as_str()).collect();
            let want: Vec<&str> = w.lines.iter().map(|l| l.text.as_str()).collect();
            assert_eq!(texts, want);
            for (a, b) in r.lines.iter().zip(&w.lines) {
                assert_eq!(
                    (a.at, &a.from, a.style, &a.outcome),
                    (b.at, &b.from, b.style, &b.outcome)
                );
                assert_eq!(a.seq, None, "a message's number is its session's");
            }
        }
    }

    #[test]
    fn only_the_last_lines_are_kept_and_no_text_at_all_for_the_layout_alone() {
        let texts: Vec<String> = (0..SAVED_LINES + 250)
            .map(|i| format!("line {i}"))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let windows = vec![window(WindowKey::Status, &refs), window(user("bob"), &refs)];
        let saved = SavedWindows::of(&windows, 1, Keep::Scrollback, Timestamp(1));
        let (_, restored) = SavedWindows::decode(&saved.encode())
            .unwrap()
            .into_windows();
        assert_eq!(restored[1].lines.len(), SAVED_LINES);
        assert_eq!(restored[1].lines[0].text, "line 250");
        assert_eq!(
            restored[1].lines.last().unwrap().text,
            format!("line {}", SAVED_LINES + 249)
        );

        let layout = SavedWindows::of(&windows, 1, Keep::Layout, Timestamp(1)).encode();
        assert!(
            !String::from_utf8_lossy(&layout).contains("line 1"),
            "no text"
        );
        let (active, restored) = SavedWindows::decode(&layout).unwrap().into_windows();
        assert_eq!(active, Some(user("bob")));
        assert!(restored.iter().all(|w| w.lines.is_empty()));

        // A file that holds more (written by hand) is cut to the newest on the way in.
        let mut big = SavedWindows::of(&windows, 1, Keep::Scrollback, Timestamp(1));
        let extra = big.windows[1].lines.clone();
        big.windows[1].lines.extend(extra);
        let (_, restored) = SavedWindows::decode(&big.encode()).unwrap().into_windows();
        assert_eq!(restored[1].lines.len(), SAVED_LINES);
    }

    #[test]
    fn damaged_and_newer_files_are_refused_with_a_reason() {
        let good = SavedWindows::of(
            &[
                window(WindowKey::Status, &["a"]),
                window(user("bob"), &["b"]),
            ],
            1,
            Keep::Scrollback,
            Timestamp(1),
        )
        .encode();
        // Cut short anywhere, it is refused, never half read (and never a panic).
        for n in 0..good.len() {
            assert!(
                matches!(
                    SavedWindows::decode(&good[..n]),
                    Err(RestoreError::Damaged(_))
                ),
                "cut at {n}"
            );
        }
        for junk in [
            &b"\xff\xfe\x00"[..],
            b"null",
            b"[]",
            b"{}",
            b"{\"format\":\"1\"}",
        ] {
            assert!(
                matches!(SavedWindows::decode(junk), Err(RestoreError::Damaged(_))),
                "{junk:?}"
            );
        }
        let text = String::from_utf8(good.clone()).unwrap();
        let newer = text.replace("\"format\":1", "\"format\":7");
        let e = SavedWindows::decode(newer.as_bytes()).unwrap_err();
        assert_eq!(e, RestoreError::Newer { found: 7 });
        assert!(e.to_string().contains("newer natter"), "{e}");
        // A newer format need not be JSON this one understands past its number.
        assert_eq!(
            SavedWindows::decode(br#"{"format":2,"everything":"else"}"#),
            Err(RestoreError::Newer { found: 2 })
        );
        // A name that is not one, or a window twice, is damage.
        let bad_name = text.replace("\"bob\"", "\"bob smith\"");
        assert!(matches!(
            SavedWindows::decode(bad_name.as_bytes()),
            Err(RestoreError::Damaged(_))
        ));
        let twice = text.replace("\"status\"", "{\"user\":\"bob\"}");
        assert!(matches!(
            SavedWindows::decode(twice.as_bytes()),
            Err(RestoreError::Damaged(_))
        ));
        // An active window past the end shows the status window.
        let far = text.replace("\"active\":1", "\"active\":9");
        let (active, _) = SavedWindows::decode(far.as_bytes()).unwrap().into_windows();
        assert_eq!(active, Some(WindowKey::Status));
    }

    #[test]
    fn a_window_whose_name_is_not_one_is_not_kept() {
        // `/query` takes what is typed; such a window is not written, so the file stays readable.
        let windows = vec![
            window(WindowKey::Status, &["a"]),
            window(user("no such name!"), &["b"]),
            window(user("bob"), &["c"]),
        ];
        let saved = SavedWindows::of(&windows, 2, Keep::Scrollback, Timestamp(1));
        let (active, restored) = SavedWindows::decode(&saved.encode())
            .unwrap()
            .into_windows();
        assert_eq!(restored.len(), 2);
        assert_eq!(active, Some(user("bob")), "the one shown, still");
        let shown_gone = SavedWindows::of(&windows, 1, Keep::Scrollback, Timestamp(1));
        assert_eq!(shown_gone.into_windows().0, Some(WindowKey::Status));
    }

    #[test]
    fn control_characters_do_not_reach_the_terminal() {
        let text = String::from_utf8(
            SavedWindows::of(
                &[window(WindowKey::Status, &["x"])],
                0,
                Keep::Scrollback,
                Timestamp(1),
            )
            .encode(),
        )
        .unwrap()
        .replace("\"x\"", "\"\\u001b[2Jwiped\\u0007\"");
        let (_, restored) = SavedWindows::decode(text.as_bytes())
            .unwrap()
            .into_windows();
        assert_eq!(restored[0].lines[0].text, "[2Jwiped");
    }
}
