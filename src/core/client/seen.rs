//! Which offline messages were already shown, so a redelivery after a server crash is not shown twice.
//!
//! The server keeps a stored message until the client acknowledges it. If the server crashes after the
//! client showed a message but before the acknowledgement was made durable, the message is delivered
//! again at the next login. Message ids only grow on one server, so remembering the last one shown, per
//! (server, user), is enough to recognise a redelivery.
//!
//! The last one's send time is kept too, for one more case: a server whose store was wiped starts its
//! ids again from 1, and treating its new messages as old ones would hide them for ever (they are
//! acknowledged, so gone). A redelivery is an old id *and* an old send time; a message sent after the last
//! one shown is new whatever its id.
//!
//! This module is the pure part: the rule, and the state file's text format. The shell reads and writes
//! the file.

use std::collections::BTreeMap;

use crate::protocol::Name;
use crate::protocol::name::check_username;
use crate::time::Timestamp;

/// The newest offline message shown to one user from one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Its id (ids only grow on one server).
    pub id: u64,
    /// When it was sent (a wiped server's new ids start again, its times do not).
    pub sent_at: Timestamp,
}

impl Seen {
    /// Whether a message with this id and send time was already shown (see the module documentation).
    pub fn covers(&self, id: u64, sent_at: Timestamp) -> bool {
        id <= self.id && sent_at <= self.sent_at
    }
}

/// Every (server, user) pair's [`Seen`], as the state file holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeenBook {
    entries: BTreeMap<(String, Name), Seen>,
}

/// A state-file line that could not be read; the rest of the file is still used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct SeenFileError {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub what: &'static str,
}

/// The first line of the file: a format marker, so a future format can be told apart.
const HEADER: &str = "natter-seen 1";

impl SeenBook {
    /// Reads the file's text. Lines that cannot be read are skipped and reported; the worst a damaged
    /// file does is let a redelivered message show twice.
    pub fn parse(text: &str) -> (SeenBook, Vec<SeenFileError>) {
        let mut book = SeenBook::default();
        let mut errors = Vec::new();
        let mut header = false;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !header {
                header = true;
                if line != HEADER {
                    errors.push(SeenFileError {
                        line: n,
                        what: "not a natter state file (unknown header)",
                    });
                    return (SeenBook::default(), errors);
                }
                continue;
            }
            match parse_entry(line) {
                Ok((server, user, seen)) => book.record(&server, &user, seen),
                Err(what) => errors.push(SeenFileError { line: n, what }),
            }
        }
        (book, errors)
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = format!("{HEADER}\n# server user last-shown-id its-send-time-ms\n");
        for ((server, user), seen) in &self.entries {
            out.push_str(&format!(
                "{server} {user} {} {}\n",
                seen.id,
                seen.sent_at.as_millis()
            ));
        }
        out
    }

    /// The newest offline message shown to `user` from `server`, if any.
    pub fn get(&self, server: &str, user: &str) -> Option<Seen> {
        self.entries
            .get(&(server.to_owned(), Name::from(user)))
            .copied()
    }

    /// Records what was shown. Merging two books (another client may have written the file meanwhile)
    /// keeps, for each pair, the entry sent last.
    pub fn record(&mut self, server: &str, user: &str, seen: Seen) {
        let key = (server.to_owned(), Name::from(user));
        let keep = match self.entries.get(&key) {
            Some(old) => (seen.sent_at, seen.id) >= (old.sent_at, old.id),
            None => true,
        };
        if keep {
            self.entries.insert(key, seen);
        }
    }

    /// Every user's entry for one server: what the core starts with.
    pub fn for_server(&self, server: &str) -> BTreeMap<Name, Seen> {
        self.entries
            .iter()
            .filter(|((s, _), _)| s == server)
            .map(|((_, u), seen)| (u.clone(), *seen))
            .collect()
    }
}

fn parse_entry(line: &str) -> Result<(String, String, Seen), &'static str> {
    let mut fields = line.split_whitespace();
    let (Some(server), Some(user), Some(id), Some(at), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err("expected 'server user id time'");
    };
    check_username(user).map_err(|_| "bad username")?;
    let id = id.parse().map_err(|_| "bad message id")?;
    let at = at.parse().map_err(|_| "bad time")?;
    Ok((
        server.to_owned(),
        user.to_owned(),
        Seen {
            id,
            sent_at: Timestamp(at),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(id: u64, at: u64) -> Seen {
        Seen {
            id,
            sent_at: Timestamp(at),
        }
    }

    #[test]
    fn redelivery_is_an_old_id_sent_no_later() {
        let s = seen(7, 1000);
        assert!(s.covers(7, Timestamp(1000)));
        assert!(s.covers(3, Timestamp(900)));
        assert!(!s.covers(8, Timestamp(1001)), "a newer message");
        assert!(
            !s.covers(2, Timestamp(5000)),
            "a wiped server reusing ids: sent later, so new"
        );
    }

    #[test]
    fn file_round_trips_and_merges_by_time() {
        let mut b = SeenBook::default();
        b.record("127.0.0.1:4000", "alice", seen(5, 100));
        b.record("127.0.0.1:4000", "bob", seen(2, 50));
        b.record("[::1]:5000", "alice", seen(9, 70));
        b.record("127.0.0.1:4000", "alice", seen(4, 90));
        assert_eq!(b.get("127.0.0.1:4000", "alice"), Some(seen(5, 100)));
        let (back, errs) = SeenBook::parse(&b.render());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(back, b);
        assert_eq!(back.for_server("127.0.0.1:4000").len(), 2);
    }

    #[test]
    fn damaged_lines_are_reported_and_skipped() {
        let text =
            "natter-seen 1\nh:1 alice 3 10\nh:1 bob x 10\nh:1 carol\nh:1 zoë 1 1\nh:1 dave 1 1\n";
        let (b, errs) = SeenBook::parse(text);
        assert_eq!(
            errs.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(b.get("h:1", "alice"), Some(seen(3, 10)));
        assert_eq!(b.get("h:1", "dave"), Some(seen(1, 1)));
    }

    #[test]
    fn a_foreign_file_is_not_used() {
        let (b, errs) = SeenBook::parse("\u{0}garbage\nh:1 alice 3 10\n");
        assert_eq!(b, SeenBook::default());
        assert_eq!(errs.len(), 1);
    }
}
