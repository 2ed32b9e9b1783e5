//! The client's settings file: what a user wants at every start without typing flags (irssi and
//! weechat keep theirs in a file too). `$XDG_CONFIG_HOME/natter/natter.toml`, else
//! `~/.config/natter/natter.toml`, or the file `--config` names; every key is optional, a flag given
//! on the command line wins, and a key natter does not know is an error that names it (a misspelt
//! `log = false` must not quietly keep the logs on).
//!
//! ```toml
//! logs = false          # no conversation logs (as --no-logs)
//! bell = false          # no terminal bell (as --no-bell)
//! timestamps = false    # no HH:MM before live messages (as --no-timestamps)
//! hilights = ["deploy"] # words that highlight a line, besides your name (as --hilight)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What the settings file says; `None`: not said (the built-in default, or the flag).
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Log conversations to disk.
    pub logs: Option<bool>,
    /// Ring the terminal bell for a message to the user alone or a line naming them.
    pub bell: Option<bool>,
    /// `HH:MM` before live messages.
    pub timestamps: Option<bool>,
    /// Words that highlight a line besides the user's name.
    #[serde(default)]
    pub hilights: Vec<String>,
}

/// The settings file could not be used: what was wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file named could not be read.
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has a key or a value natter does not take.
    #[error(
        "the settings file {path} is not valid: {message} (the keys are logs, bell, timestamps and hilights)"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the TOML reader said, with the line.
        message: String,
    },
}

/// Where the settings file is when `--config` does not say: `$XDG_CONFIG_HOME/natter/natter.toml`,
/// else `~/.config/natter/natter.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("natter").join("natter.toml"))
}

/// Reads the settings at `path`. A file that does not exist is no settings unless `required` (the
/// user named it with `--config`, so its absence is a mistake to tell).
pub fn load(path: &Path, required: bool) -> Result<ClientSettings, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(ClientSettings::default());
        }
        Err(source) => {
            return Err(SettingsError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    toml::from_str(&text).map_err(|e| SettingsError::Invalid {
        path: path.to_owned(),
        message: e.to_string().trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("natter.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn every_key_is_read_and_none_is_required() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "logs = false\nbell = false\ntimestamps = true\nhilights = [\"deploy\", \"lunch\"]\n",
        );
        assert_eq!(
            load(&path, true).unwrap(),
            ClientSettings {
                logs: Some(false),
                bell: Some(false),
                timestamps: Some(true),
                hilights: vec!["deploy".into(), "lunch".into()],
            }
        );
        let empty = write(dir.path(), "");
        assert_eq!(load(&empty, true).unwrap(), ClientSettings::default());
    }

    #[test]
    fn a_missing_default_file_is_no_settings_but_a_named_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        assert_eq!(load(&path, false).unwrap(), ClientSettings::default());
        let e = load(&path, true).unwrap_err().to_string();
        assert!(
            e.contains("cannot read the settings file") && e.contains("absent.toml"),
            "{e}"
        );
    }

    #[test]
    fn a_misspelt_key_or_a_wrong_value_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(&write(dir.path(), "log = false\n"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`log`") || e.contains("log"), "{e}");
        assert!(
            e.contains("the keys are logs, bell, timestamps and hilights"),
            "{e}"
        );
        let e = load(&write(dir.path(), "logs = \"no\"\n"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("logs"), "{e}");
    }
}
