//! What the rules may know of a password line without its text ([`SecretShape`]): the one piece of a
//! password that enters a cluster's shared log (`login::secrets` says why and how).
//!
//! A word of the core's vocabulary, like its events, in a file of its own beside them: events carry
//! it, and the login and the flow of a connection's lines both use it.

use crate::password::Cleartext;
use crate::protocol::name::{PasswordError, check_password};
use crate::protocol::{LineError, check_line};

/// What the rules may know of a password line without its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SecretShape {
    /// Text, and a well-formed password.
    Fit,
    /// Not text (not UTF-8, or a control character): refused as any such line is.
    NotText(LineError),
    /// Text, but not a password anyone could have chosen (empty, too long, a space...).
    Unfit(PasswordError),
    /// A well-formed password that the password policy refuses as a new one (too short, or the
    /// username): judged by the node that holds the text, since the core never sees it.
    Weak,
}

impl SecretShape {
    /// The shape of a password line, and the text a password job works with (trimmed, as the core
    /// trims what is typed at its prompts).
    pub fn of(line: &[u8]) -> (SecretShape, Cleartext) {
        match check_line(line) {
            Err(e) => (SecretShape::NotText(e), Cleartext(String::new())),
            Ok(text) => {
                let text = text.trim();
                let shape = match check_password(text) {
                    Ok(()) => SecretShape::Fit,
                    Err(e) => SecretShape::Unfit(e),
                };
                (shape, Cleartext(text.to_owned()))
            }
        }
    }

    /// Whether it is a password someone could have chosen, as `check_password` says of the text.
    pub(crate) fn fit(self) -> Result<(), PasswordError> {
        match self {
            SecretShape::Fit | SecretShape::NotText(_) | SecretShape::Weak => Ok(()),
            SecretShape::Unfit(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_say_what_the_rules_need_and_keep_the_trimmed_text() {
        let (shape, text) = SecretShape::of(b"  wonderland ");
        assert_eq!(shape, SecretShape::Fit);
        assert_eq!(text.0, "wonderland");
        assert_eq!(
            SecretShape::of(b"bad pass").0,
            SecretShape::Unfit(PasswordError::BadChar)
        );
        assert_eq!(
            SecretShape::of(b"").0,
            SecretShape::Unfit(PasswordError::Empty)
        );
        assert_eq!(
            SecretShape::of(b"\xff").0,
            SecretShape::NotText(LineError::InvalidUtf8)
        );
        assert_eq!(
            SecretShape::of(b"a\x07b").0,
            SecretShape::NotText(LineError::ControlChar)
        );
    }
}
