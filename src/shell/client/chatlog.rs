//! Writing the conversation logs the core hands over ([`Effect::Log`]): plain text, one file per
//! conversation and day, `<state dir>/logs/<server>/<user>/<conversation>/<YYYY-MM-DD>.log`, each
//! line `HH:MM:SS <author> text` in local time; directories and files owner-only (they hold what was
//! said). What is logged is the core's; this only writes it, and says once if it cannot.
//!
//! [`Effect::Log`]: natter_core::client::Effect::Log

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use natter_core::client::chatlog::LogLine;
use natter_core::client::screen::WindowKey;
use natter_core::protocol::Name;

/// Files kept open at once; past that, all are closed (they are opened again as needed).
const OPEN_AT_MOST: usize = 64;

/// The logs of one server's conversations.
pub(super) struct ChatLogs {
    /// `<state dir>/logs/<server>`; `None`: not logging.
    dir: Option<PathBuf>,
    open: HashMap<PathBuf, File>,
}

impl ChatLogs {
    /// The logs of `server`'s conversations under `state_dir`, if there is one and logs are on.
    pub(super) fn new(state_dir: Option<&Path>, server: &str, on: bool) -> Self {
        ChatLogs {
            dir: state_dir
                .filter(|_| on)
                .map(|d| d.join("logs").join(component(server))),
            open: HashMap::new(),
        }
    }

    /// Appends `line` to `user`'s log of its conversation. An error stops the logs and is returned,
    /// for the user, once.
    pub(super) fn write(&mut self, user: &Name, line: &LogLine) -> Option<String> {
        let dir = self.dir.as_ref()?;
        let (date, time) = crate::shell::ui::local_date_and_time(line.at);
        let conversation = component(&WindowKey::Conversation(line.conversation.clone()).label());
        let dir = dir.join(component(user)).join(conversation);
        let path = dir.join(format!("{date}.log"));
        let text = format!("{time} {}\n", line.text);
        let written = match self.open.get_mut(&path) {
            Some(f) => f.write_all(text.as_bytes()),
            None => Self::open(&dir, &path).and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                if self.open.len() >= OPEN_AT_MOST {
                    self.open.clear();
                }
                self.open.insert(path.clone(), f);
                Ok(())
            }),
        };
        let e = written.err()?;
        let root = self.dir.take()?;
        self.open.clear();
        Some(format!(
            "Cannot write the conversation logs in {} ({e}); not logging for the rest of this run \
             (--no-logs turns them off).",
            root.display()
        ))
    }

    fn open(dir: &Path, path: &Path) -> std::io::Result<File> {
        crate::private_fs::create_private_dir(dir)?;
        crate::private_fs::private_options()
            .create(true)
            .append(true)
            .open(path)
    }
}

/// `name` as one path component: no separator, not `.` or `..`, nothing hidden.
pub(super) fn component(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    match clean.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if clean.is_empty() => "_".to_owned(),
        None => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_core::client::Conversation;
    use natter_core::time::Timestamp;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn one_owner_only_file_per_conversation_and_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut logs = ChatLogs::new(Some(dir.path()), "127.0.0.1:4000", true);
        let at = Timestamp::from_millis(1_700_000_000_000);
        let alice = Name::from("alice");
        for (c, text) in [
            (Conversation::User(Name::from("bob")), "<bob> hi"),
            (Conversation::Group(Name::from("crew")), "<carol> standup"),
            (Conversation::User(Name::from("bob")), "<alice> hello"),
        ] {
            let line = LogLine {
                conversation: c,
                at,
                text: text.into(),
            };
            assert_eq!(logs.write(&alice, &line), None);
        }
        let next_day = LogLine {
            conversation: Conversation::User(Name::from("bob")),
            at: at.plus_secs(86_400),
            text: "<bob> tomorrow".into(),
        };
        assert_eq!(logs.write(&alice, &next_day), None);
        let (day, _) = crate::shell::ui::local_date_and_time(at);
        let user_dir = dir.path().join("logs/127.0.0.1:4000/alice");
        let bob = std::fs::read_to_string(user_dir.join("bob").join(format!("{day}.log"))).unwrap();
        let lines: Vec<&str> = bob.lines().collect();
        assert_eq!(lines.len(), 2, "{bob}");
        assert!(lines[0].ends_with(" <bob> hi") && lines[1].ends_with(" <alice> hello"));
        assert_eq!(lines[0].len(), "HH:MM:SS <bob> hi".len());
        assert!(user_dir.join("#crew").join(format!("{day}.log")).exists());
        assert_eq!(
            std::fs::read_dir(user_dir.join("bob")).unwrap().count(),
            2,
            "rotated"
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&user_dir.join("bob").join(format!("{day}.log"))),
            0o600
        );
        assert_eq!(mode(&user_dir.join("bob")), 0o700);
        assert_eq!(mode(&dir.path().join("logs")), 0o700);
    }

    #[test]
    fn off_or_without_a_directory_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let line = LogLine {
            conversation: Conversation::Broadcasts,
            at: Timestamp::from_millis(0),
            text: "<bob> all".into(),
        };
        let mut off = ChatLogs::new(Some(dir.path()), "s", false);
        assert_eq!(off.write(&Name::from("a"), &line), None);
        assert!(!dir.path().join("logs").exists());
        let mut none = ChatLogs::new(None, "s", true);
        assert_eq!(none.write(&Name::from("a"), &line), None);
    }

    #[test]
    fn names_stay_one_component() {
        assert_eq!(component("../x"), "_._x");
        assert_eq!(component("a/b"), "a_b");
        assert_eq!(component(""), "_");
        assert_eq!(component("#crew"), "#crew");
    }
}
