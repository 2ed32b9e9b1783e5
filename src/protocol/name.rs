//! What a username and a password may contain.
//!
//! One definition, used by the credentials loader, by `--register`, and by the command parser, so a name that
//! can log in is always a name that can be typed as a command argument and printed as one wire token.

/// The longest username accepted, in bytes (all allowed characters are ASCII).
pub const MAX_USERNAME_LEN: usize = 32;
/// The longest password accepted, in bytes.
pub const MAX_PASSWORD_LEN: usize = 128;

/// Why a username was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a username cannot be empty")]
    Empty,
    #[error("a username is at most {MAX_USERNAME_LEN} characters long")]
    TooLong,
    #[error("a username may contain only letters A-Z and a-z, digits, '_', '-' and '.'")]
    BadChar,
}

/// Why a password was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password cannot be empty")]
    Empty,
    #[error("a password is at most {MAX_PASSWORD_LEN} bytes long")]
    TooLong,
    #[error("a password cannot contain spaces or control characters")]
    BadChar,
}

/// Usernames are case-sensitive ASCII words: they travel as single tokens on the wire and in the credentials
/// file, and must be unambiguous to read on any terminal.
pub fn check_username(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err(NameError::TooLong);
    }
    if !name.bytes().all(is_username_byte) {
        return Err(NameError::BadChar);
    }
    Ok(())
}

/// One byte of a valid username.
pub fn is_username_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Passwords are any printable non-space characters: the credentials file separates fields by whitespace.
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    if password
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(PasswordError::BadChar);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(check_username("Yoda"), Ok(()));
        assert_eq!(check_username("a.b-c_9"), Ok(()));
        assert_eq!(check_username(""), Err(NameError::Empty));
        assert_eq!(check_username("a b"), Err(NameError::BadChar));
        assert_eq!(check_username("zoë"), Err(NameError::BadChar));
        assert_eq!(check_username(&"x".repeat(33)), Err(NameError::TooLong));
        assert_eq!(check_username(&"x".repeat(32)), Ok(()));
    }

    #[test]
    fn passwords() {
        assert_eq!(check_password("falcon*solo"), Ok(()));
        assert_eq!(check_password("pässwörd"), Ok(()));
        assert_eq!(check_password(""), Err(PasswordError::Empty));
        assert_eq!(check_password("a b"), Err(PasswordError::BadChar));
        assert_eq!(check_password("a\u{7}"), Err(PasswordError::BadChar));
    }
}
