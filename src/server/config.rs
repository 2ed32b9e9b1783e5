//! The rules' numbers, fixed when the server starts.

/// Settings of the protocol core. Durations are in whole seconds, as the command line gives them.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
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
    /// The percentage of a user's mailbox one sender may fill (so one sender cannot shut everyone else
    /// out of an absent user's mailbox).
    pub mailbox_share_percent: u32,
    /// Flood control: lines a second a connection may send after its burst (0: no limit), and the burst.
    pub flood_rate: u32,
    pub flood_burst: u32,
    /// Limits per source address (see `login::addresses`).
    pub address_limits: AddressLimits,
    /// Password checks and hashes that may be outstanding at once; past that, a login is answered
    /// `ERROR busy` rather than queued, so a login flood cannot build an unbounded backlog.
    pub max_password_jobs: usize,
}

impl Config {
    /// The most messages one sender may have waiting in one user's mailbox.
    pub fn mailbox_share(&self) -> usize {
        (self.mailbox_limit * self.mailbox_share_percent.clamp(1, 100) as usize / 100).max(1)
    }

    /// No flood control, no per-address limits: for load tests that drive thousands of users from one
    /// host as fast as they can, and for the reference model, which does not model them.
    pub fn unlimited(mut self) -> Self {
        self.flood_rate = 0;
        self.address_limits = AddressLimits::none();
        self
    }
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
            mailbox_share_percent: 25,
            flood_rate: 20,
            flood_burst: 50,
            address_limits: AddressLimits::default(),
            max_password_jobs: 64,
        }
    }
}

/// The limits per source address (see `login::addresses` for what each stops); 0 turns one off.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AddressLimits {
    pub max_pending: u32,
    pub failure_burst: u32,
    pub failure_refill_secs: u64,
    pub register_burst: u32,
    pub register_refill_secs: u64,
    pub connect_burst: u32,
    pub connect_per_sec: u32,
}

impl Default for AddressLimits {
    fn default() -> Self {
        AddressLimits {
            max_pending: 16,
            failure_burst: 10,
            failure_refill_secs: 30,
            register_burst: 3,
            register_refill_secs: 600,
            // A person reconnecting, or a few dozen behind one NAT, never come near; a handshake
            // flood from one address is held to 5 a second (about 1 ms of the server's time).
            connect_burst: 20,
            connect_per_sec: 5,
        }
    }
}

impl AddressLimits {
    /// No limit at all (for load tests that log in thousands of users from one host).
    pub fn none() -> Self {
        AddressLimits {
            max_pending: 0,
            failure_burst: 0,
            failure_refill_secs: 0,
            register_burst: 0,
            register_refill_secs: 0,
            connect_burst: 0,
            connect_per_sec: 0,
        }
    }
}
