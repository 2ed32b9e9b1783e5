//! The password policy for a password a user chooses (`--register`, `passwd`) or the operator sets
//! (`admin account add`, `admin account password`): at least `min_password_length` characters, and
//! not the username itself (in any letter case). A credentials file's lines are the operator's own
//! and are not judged.

/// Whether the policy refuses `password` as the password of `user`.
pub fn weak(user: &str, password: &str, min_len: usize) -> bool {
    password.chars().count() < min_len || password.eq_ignore_ascii_case(user)
}

#[cfg(test)]
mod tests {
    use super::weak;

    #[test]
    fn short_passwords_and_the_username_are_refused() {
        assert!(weak("alice", "abc", 8));
        assert!(weak("alice", "ALICE", 3));
        assert!(weak("alicealice", "AliceAlice", 8));
        assert!(!weak("alice", "wonderland", 8));
        // Characters, not bytes.
        assert!(!weak("alice", "ääää", 4));
        assert!(weak("alice", "ääää", 5));
    }
}
