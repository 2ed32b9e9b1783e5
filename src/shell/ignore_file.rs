//! The file that keeps whom each account ignores (`/ignore`), beside the state file: one line per
//! server and account, `<server>\t<user>\t<name> <name>...`. Owner-only, written whole to a
//! temporary file renamed over the old one, and re-read before each save (another client on this
//! machine may have written it meanwhile).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use natter_core::protocol::Name;

/// The file's name inside the state directory.
pub const FILE_NAME: &str = "ignored";

/// Whom each (server, account) ignores.
type Book = BTreeMap<(String, String), BTreeSet<String>>;

/// The ignore file of a state directory (none: nothing is kept across runs).
#[derive(Debug)]
pub struct IgnoreFile {
    path: Option<PathBuf>,
    /// Set after the first failed save, so the user is warned once.
    save_failed: bool,
}

impl IgnoreFile {
    /// The file in `dir`, and whom each account ignores at `server` as kept there; a problem
    /// reading it comes back as a warning (a missing file is not one).
    pub fn load(
        dir: Option<&Path>,
        server: &str,
    ) -> (IgnoreFile, BTreeMap<Name, BTreeSet<Name>>, Option<String>) {
        let path = dir.map(|d| d.join(FILE_NAME));
        let (book, warning) = match &path {
            None => (Book::new(), None),
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => (parse(&text), None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Book::new(), None),
                Err(e) => (
                    Book::new(),
                    Some(format!(
                        "cannot read {} ({e}): whom you ignore is not known, so their messages are shown.",
                        p.display()
                    )),
                ),
            },
        };
        let ignored = book
            .into_iter()
            .filter(|((s, _), _)| s == server)
            .map(|((_, user), names)| {
                (
                    Name::from(user.as_str()),
                    names.iter().map(|n| Name::from(n.as_str())).collect(),
                )
            })
            .collect();
        (
            IgnoreFile {
                path,
                save_failed: false,
            },
            ignored,
            warning,
        )
    }

    /// Keeps `ignored` as whom `user` ignores at `server`. A failure comes back as a warning, the
    /// first time only.
    pub fn save(&mut self, server: &str, user: &str, ignored: &[Name]) -> Option<String> {
        let path = self.path.clone()?;
        let result = (|| {
            let mut book = match std::fs::read_to_string(&path) {
                Ok(text) => parse(&text),
                Err(_) => Book::new(),
            };
            let key = (server.to_owned(), user.to_owned());
            if ignored.is_empty() {
                book.remove(&key);
            } else {
                book.insert(key, ignored.iter().map(|n| n.to_string()).collect());
            }
            if let Some(dir) = path.parent() {
                crate::private_fs::create_private_dir(dir)?;
            }
            crate::private_fs::replace_private(&path, render(&book).as_bytes())
        })();
        match result {
            Ok(()) => None,
            Err(e) if !self.save_failed => {
                self.save_failed = true;
                Some(format!(
                    "cannot write {} ({e}): whom you ignore is kept only until natter ends.",
                    path.display()
                ))
            }
            Err(_) => None,
        }
    }
}

/// The file's lines; a line that is not `<server>\t<user>\t<names>` is skipped.
fn parse(text: &str) -> Book {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (server, user, names) = (fields.next()?, fields.next()?, fields.next()?);
            let names: BTreeSet<String> = names
                .split(' ')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            Some(((server.to_owned(), user.to_owned()), names))
        })
        .collect()
}

fn render(book: &Book) -> String {
    book.iter()
        .map(|((server, user), names)| {
            format!(
                "{server}\t{user}\t{}\n",
                names
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whom_an_account_ignores_is_kept_per_server_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (mut file, ignored, warning) = IgnoreFile::load(Some(dir.path()), "s:1");
        assert!(ignored.is_empty() && warning.is_none());
        assert_eq!(
            file.save("s:1", "alice", &["bob".into(), "carol".into()]),
            None
        );
        assert_eq!(file.save("s:2", "alice", &["dave".into()]), None);
        let (_, ignored, _) = IgnoreFile::load(Some(dir.path()), "s:1");
        let alice: BTreeSet<Name> = ["bob".into(), "carol".into()].into();
        assert_eq!(ignored, BTreeMap::from([(Name::from("alice"), alice)]));
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Ignoring nobody any more drops the line.
        assert_eq!(file.save("s:1", "alice", &[]), None);
        let (_, ignored, _) = IgnoreFile::load(Some(dir.path()), "s:1");
        assert!(ignored.is_empty());
    }
}
