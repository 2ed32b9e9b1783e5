//! The rules' numbers, fixed when the server starts.

/// Settings of the protocol core. Durations are in whole seconds, as the command line gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long an account stays locked after three failed logins in a row.
    pub block_duration_secs: u64,
    /// How long a logged-in user may issue no command before being logged out.
    pub timeout_secs: u64,
    /// How long a connection may take to finish logging in.
    pub login_timeout_secs: u64,
    /// How long a private-chat request waits for the target's answer.
    pub private_answer_secs: u64,
    /// The longest line accepted, in bytes.
    pub max_line: usize,
    /// The most stored messages one user may have waiting; more are refused with a clear error, so that one
    /// sender cannot fill the disk through an absent user.
    pub mailbox_limit: usize,
    /// Whether an unknown username creates an account (`--register`).
    pub register: bool,
    /// The most members a group may have.
    pub group_max_members: usize,
    /// How long before the idle logout the user is warned (at most half the timeout; 0: never).
    pub idle_warning_secs: u64,
}

/// Failed passwords in a row that lock an account.
pub const MAX_FAILURES: u32 = 3;

impl Default for Config {
    fn default() -> Self {
        Config {
            block_duration_secs: 60,
            timeout_secs: 600,
            login_timeout_secs: 120,
            private_answer_secs: 60,
            max_line: crate::protocol::MAX_LINE,
            mailbox_limit: 1000,
            register: false,
            group_max_members: 10_000,
            idle_warning_secs: 60,
        }
    }
}
