//! The credentials file's format: `username password`, one account per line, where the password is
//! either the password itself or its argon2id hash (see [`crate::password`]).
//!
//! Parsing is pure (text in, accounts or an error naming the line out) so the same rules serve the server at
//! start-up, `--register`, and the tests. Blank lines and lines starting with `#` are skipped; everything else
//! must be exactly two fields that pass [`crate::protocol::name`]'s checks, with no username twice.

use crate::protocol::name::{NameError, PasswordError, check_password, check_username};

/// One account from the file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// The account's name, checked as a username.
    pub username: String,
    /// As the file holds it: the password, or its hash (a PHC string starting `$argon2id$`).
    pub password: String,
}

/// What is wrong with one line of a credentials file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// A line that is not two fields.
    #[error("line {line}: expected 'username password', found {found} field{s}", s = if *found == 1 { "" } else { "s" })]
    FieldCount {
        /// The line's number, from 1.
        line: usize,
        /// How many fields it has.
        found: usize,
    },
    /// A username that is not one (see [`NameError`]).
    #[error("line {line}: bad username '{name}': {error}")]
    BadUsername {
        /// The line's number, from 1.
        line: usize,
        /// The name as written.
        name: String,
        /// What is wrong with it.
        error: NameError,
    },
    /// A password the server would refuse at login (see [`PasswordError`]).
    #[error("line {line}: bad password for '{name}': {error}")]
    BadPassword {
        /// The line's number, from 1.
        line: usize,
        /// The account's name.
        name: String,
        /// What is wrong with it.
        error: PasswordError,
    },
    /// A password field that starts like an argon2id hash but is not a valid one: read as a plain
    /// password, it could never be typed.
    #[error(
        "line {line}: the password hash for '{name}' is not a valid argon2id PHC string: {error}"
    )]
    BadHash {
        /// The line's number, from 1.
        line: usize,
        /// The account's name.
        name: String,
        /// What the hash parser said.
        error: String,
    },
    /// A username that an earlier line has already.
    #[error("line {line}: username '{name}' already appears on line {first}")]
    Duplicate {
        /// The line's number, from 1.
        line: usize,
        /// The name written twice.
        name: String,
        /// The number of the line that has it first.
        first: usize,
    },
}

/// Parses a whole credentials file.
pub fn parse_credentials(text: &str) -> Result<Vec<Account>, CredentialsError> {
    let mut accounts = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let [name, password] = fields[..] else {
            return Err(CredentialsError::FieldCount {
                line,
                found: fields.len(),
            });
        };
        check_username(name).map_err(|error| CredentialsError::BadUsername {
            line,
            name: name.into(),
            error,
        })?;
        if crate::password::is_hash(password) {
            crate::password::check_hash_syntax(password).map_err(|error| {
                CredentialsError::BadHash {
                    line,
                    name: name.into(),
                    error,
                }
            })?;
        } else {
            check_password(password).map_err(|error| CredentialsError::BadPassword {
                line,
                name: name.into(),
                error,
            })?;
        }
        if let Some(&first) = seen.get(name) {
            return Err(CredentialsError::Duplicate {
                line,
                name: name.into(),
                first,
            });
        }
        seen.insert(name, line);
        accounts.push(Account {
            username: name.into(),
            password: password.into(),
        });
    }
    Ok(accounts)
}

/// The bytes to append to a credentials file whose current contents end with `last_byte` so that the new
/// account lands on a line of its own, even when the file has no final newline.
pub fn append_line(last_byte: Option<u8>, username: &str, password: &str) -> String {
    let sep = match last_byte {
        None | Some(b'\n') => "",
        Some(_) => "\n",
    };
    format!("{sep}{username} {password}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accounts_comments_and_blank_lines() {
        let text = "# users\nYoda wise\n\n  Hans   falcon*solo  \r\nzoe pässwörd";
        let a = parse_credentials(text).unwrap();
        assert_eq!(
            a,
            vec![
                Account {
                    username: "Yoda".into(),
                    password: "wise".into()
                },
                Account {
                    username: "Hans".into(),
                    password: "falcon*solo".into()
                },
                Account {
                    username: "zoe".into(),
                    password: "pässwörd".into()
                },
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse_credentials("a b\nonlyname\n"),
            Err(CredentialsError::FieldCount { line: 2, found: 1 })
        );
        assert_eq!(
            parse_credentials("a b c"),
            Err(CredentialsError::FieldCount { line: 1, found: 3 })
        );
        assert!(matches!(
            parse_credentials("ok pw\nbad/name pw"),
            Err(CredentialsError::BadUsername { line: 2, .. })
        ));
        assert_eq!(
            parse_credentials("a b\nc d\na e"),
            Err(CredentialsError::Duplicate {
                line: 3,
                name: "a".into(),
                first: 1
            })
        );
        let msg = parse_credentials("x\n").unwrap_err().to_string();
        assert!(msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn the_name_group_is_refused_in_any_case_with_the_reason() {
        for name in ["group", "Group", "GROUP"] {
            let e = parse_credentials(&format!("alice a\n{name} pw\n")).unwrap_err();
            assert!(
                matches!(
                    &e,
                    CredentialsError::BadUsername {
                        line: 2,
                        error: NameError::Reserved,
                        ..
                    }
                ),
                "{e:?}"
            );
            let text = e.to_string();
            assert!(
                text.contains("reserved") && text.contains("message group"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_line_may_hold_a_hash_which_must_be_well_formed() {
        let h = crate::password::hash("pw", &[3; 16], crate::password::Strength::Minimal);
        let a = parse_credentials(&format!("alice {h}\nbob builder\n")).unwrap();
        assert_eq!(a[0].password, h);
        assert_eq!(a[1].password, "builder");
        let e = parse_credentials("alice $argon2id$v=19$nonsense\n").unwrap_err();
        assert!(
            matches!(e, CredentialsError::BadHash { line: 1, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("alice"), "{e}");
    }

    #[test]
    fn usernames_are_case_sensitive() {
        assert_eq!(parse_credentials("Bob x\nbob y").unwrap().len(), 2);
    }

    #[test]
    fn appended_account_gets_its_own_line() {
        assert_eq!(append_line(Some(b'd'), "n", "p"), "\nn p\n");
        assert_eq!(append_line(Some(b'\n'), "n", "p"), "n p\n");
        assert_eq!(append_line(None, "n", "p"), "n p\n");
        let mut file = String::from("a b");
        file.push_str(&append_line(file.bytes().last(), "c", "d"));
        assert_eq!(parse_credentials(&file).unwrap().len(), 2);
    }
}
