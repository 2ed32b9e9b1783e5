//! What a username and a password may contain.
//!
//! One definition, used by the credentials loader, by `--register`, and by the command parser, so a name that
//! can log in is always a name that can be typed as a command argument and printed as one wire token.
//! Group names follow the same character rules, in a namespace of their own.
//!
//! The username `group` is reserved, in any letter case: `message group <name> <text>` sends to a group,
//! so a user called `group` (or `Group`) could never be told apart from it, and a private message could
//! reach a whole group. No account may have that name, in the credentials file or by registration.
//! Nor may one be called `natter`, in any letter case: on IRC that is the server's service nick
//! (`/msg natter whoelse`, as NickServ is on other networks), so a user by that name could never be
//! written to from IRC, and could pose as the service to IRC users.

/// A username as the server holds it: shared, because one name appears in many messages.
pub type Name = std::sync::Arc<str>;

/// The longest username accepted, in bytes (all allowed characters are ASCII).
pub const MAX_USERNAME_LEN: usize = 32;
/// The longest password accepted, in bytes.
pub const MAX_PASSWORD_LEN: usize = 128;

/// Why a username was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The username is empty.
    #[error("a username cannot be empty")]
    Empty,
    /// The username is longer than [`MAX_USERNAME_LEN`].
    #[error("a username is at most {MAX_USERNAME_LEN} characters long")]
    TooLong,
    /// The username has a character outside `A-Z a-z 0-9 _ - .`: it must be one token on the wire and
    /// in the credentials file, and read the same on any terminal.
    #[error("a username may contain only letters A-Z and a-z, digits, '_', '-' and '.'")]
    BadChar,
    /// The username is [`RESERVED_USERNAME`] (in any letter case), which would make `message group ...`
    /// ambiguous, or [`SERVICE_USERNAME`], the IRC service's nick.
    #[error(
        "'{RESERVED_USERNAME}' and '{SERVICE_USERNAME}' (in any letter case) are reserved: 'message {RESERVED_USERNAME} <name> <text>' sends to a group, and '{SERVICE_USERNAME}' is the server's service nick on IRC"
    )]
    Reserved,
}

/// The one username no account may have (compared without regard to ASCII case).
pub const RESERVED_USERNAME: &str = "group";

/// The IRC service's nick (`/msg natter help`): no account or guest may have it, in any letter case,
/// so what is written to it always reaches the service.
pub const SERVICE_USERNAME: &str = "natter";

/// The longest group name accepted, in bytes.
pub const MAX_GROUP_NAME_LEN: usize = MAX_USERNAME_LEN;

/// Why a group name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupNameError {
    /// The group name is empty.
    #[error("a group name cannot be empty")]
    Empty,
    /// The group name is longer than [`MAX_GROUP_NAME_LEN`].
    #[error("a group name is at most {MAX_GROUP_NAME_LEN} characters long")]
    TooLong,
    /// The group name has a character outside `A-Z a-z 0-9 _ - .`.
    #[error("a group name may contain only letters A-Z and a-z, digits, '_', '-' and '.'")]
    BadChar,
}

/// Why a password was refused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
pub enum PasswordError {
    /// The password is empty.
    #[error("a password cannot be empty")]
    Empty,
    /// The password is longer than [`MAX_PASSWORD_LEN`] bytes.
    #[error("a password is at most {MAX_PASSWORD_LEN} bytes long")]
    TooLong,
    /// The password has a space (a password is one token on the line) or a control character.
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
    if name.eq_ignore_ascii_case(RESERVED_USERNAME) || name.eq_ignore_ascii_case(SERVICE_USERNAME) {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// Group names: the same characters as usernames (one wire token, readable anywhere), case-sensitive.
pub fn check_group_name(name: &str) -> Result<(), GroupNameError> {
    if name.is_empty() {
        return Err(GroupNameError::Empty);
    }
    if name.len() > MAX_GROUP_NAME_LEN {
        return Err(GroupNameError::TooLong);
    }
    if !name.bytes().all(is_username_byte) {
        return Err(GroupNameError::BadChar);
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
        assert_eq!(check_username("group"), Err(NameError::Reserved));
        assert_eq!(check_username("GrOuP"), Err(NameError::Reserved));
        assert_eq!(check_username("groups"), Ok(()));
        assert_eq!(check_username("natter"), Err(NameError::Reserved));
        assert_eq!(check_username("Natter"), Err(NameError::Reserved));
        assert_eq!(check_username("natters"), Ok(()));
    }

    #[test]
    fn group_names() {
        assert_eq!(check_group_name("team-1.x"), Ok(()));
        assert_eq!(check_group_name("group"), Ok(()));
        assert_eq!(check_group_name(""), Err(GroupNameError::Empty));
        assert_eq!(check_group_name("a b"), Err(GroupNameError::BadChar));
        assert_eq!(
            check_group_name(&"g".repeat(33)),
            Err(GroupNameError::TooLong)
        );
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
