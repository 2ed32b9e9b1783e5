//! The rules' numbers, fixed when the server starts.

use super::credentials::Account;
use super::rate::Rate;

/// The window of mail a connection gets at once by default (see `Config::mail_window`).
pub const MAIL_WINDOW: usize = 32 * 1024;

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
    /// Whether a connection may log in as a guest, with no account and no password, under any free
    /// name that is not an account's (`guest <nick>`; what IRC clients do on IRC networks:
    /// `--irc-guests`). A guest's session ends with its connection and leaves nothing stored.
    pub guests: bool,
    /// The most members a group may have.
    pub group_max_members: usize,
    /// How long before the idle logout the user is warned (at most half the timeout; 0: never).
    pub idle_warning_secs: u64,
    /// The percentage of a user's mailbox one sender may fill (so one sender cannot shut everyone else
    /// out of an absent user's mailbox).
    pub mailbox_share_percent: u32,
    /// Flood control: commands a second one account may send after its burst, over all its sessions
    /// (0: no flood control at all), and the burst.
    pub flood_rate: u32,
    /// How many commands one account may send at once before the rate applies.
    pub flood_burst: u32,
    /// Flood control per source address, in accounts' worth: all the connections of one address
    /// together may send this many times what one account may (0: no per-address budget), so a host
    /// cannot multiply its budget by using many accounts, while several people behind one NAT are not
    /// held to one person's budget.
    pub address_flood_accounts: u32,
    /// The protocol's bookkeeping lines (`ack`, `p2pport`, `receipts`: the commands a client sends on
    /// its own, which are not the user's activity) are never charged to the flood budget; they have a
    /// bound of their own, per account (and, times `address_flood_accounts`, per address): this many a
    /// second after a burst of `bookkeeping_burst`.
    pub bookkeeping_rate: u32,
    /// How many bookkeeping lines one account may send at once before `bookkeeping_rate` applies.
    pub bookkeeping_burst: u32,
    /// After `BYE flood`, neither the account nor its address may log in for this long (0: no
    /// cool-down).
    pub flood_cooldown_secs: u64,
    /// Successful logins, per account and per source address (see `login::addresses`).
    pub login_limits: LoginLimits,
    /// Presence announcements of one user: after a burst of [`PRESENCE_BURST`], at most one every this
    /// many seconds; changes in between are told, as they stand, when that time comes (0: every change
    /// at once).
    pub presence_interval_secs: u64,
    /// Limits per source address (see `login::addresses`).
    pub address_limits: AddressLimits,
    /// Password checks and hashes that may be outstanding at once; past that, a login is answered
    /// `ERROR busy` rather than queued, so a login flood cannot build an unbounded backlog.
    pub max_password_jobs: usize,
    /// Bytes of messages a connection may have waiting in the server's outbound queue; the rest of the
    /// user's queue is written as the client reads (see `backlog`). Well under the slow-reader bound
    /// (`--max-outbound`), so mail never gets its owner dropped.
    pub mail_window: usize,
    /// The fewest characters a password chosen at `--register` or `passwd`, or set by the operator,
    /// may have (it may not be the username either).
    pub min_password_length: usize,
    /// The server's operators (`--operator`): each a name and its password's argon2id hash, never
    /// the password itself, so that this configuration may enter a cluster's shared log. `oper
    /// <name>` and the right password make a session the operator's (`kill`, `wallops`).
    #[serde(default)]
    pub operators: Vec<Account>,
}

impl Config {
    /// The most messages one sender may have waiting in one user's mailbox. Worked out in 128 bits:
    /// a configuration decoded from a cluster's log may carry any limit, and the share of the
    /// largest is still a share, never an overflow.
    pub fn mailbox_share(&self) -> usize {
        let percent = u128::from(self.mailbox_share_percent.clamp(1, 100));
        let share = self.mailbox_limit as u128 * percent / 100;
        usize::try_from(share).unwrap_or(usize::MAX).max(1)
    }

    /// No flood control, no per-address limits: for load tests that drive thousands of users from one
    /// host as fast as they can, and for the reference model, which does not model them.
    pub fn unlimited(mut self) -> Self {
        self.flood_rate = 0;
        self.flood_cooldown_secs = 0;
        self.address_limits = AddressLimits::none();
        self.login_limits = LoginLimits::none();
        self.presence_interval_secs = 0;
        self
    }
}

/// Failed passwords in a row that lock an account.
pub const MAX_FAILURES: u32 = 3;

/// Presence changes of one user told at once before they are told at most one per
/// [`Config::presence_interval_secs`]: two round trips (someone reconnecting twice) are shown as they
/// happen.
pub const PRESENCE_BURST: u32 = 4;

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
            guests: false,
            group_max_members: 10_000,
            idle_warning_secs: 60,
            mailbox_share_percent: 25,
            flood_rate: 20,
            flood_burst: 50,
            address_flood_accounts: 5,
            bookkeeping_rate: 500,
            bookkeeping_burst: 2000,
            flood_cooldown_secs: 60,
            login_limits: LoginLimits::default(),
            presence_interval_secs: 10,
            address_limits: AddressLimits::default(),
            max_password_jobs: 64,
            mail_window: MAIL_WINDOW,
            min_password_length: 8,
            operators: Vec::new(),
        }
    }
}

/// The limits per source address (see `login::addresses` for what each stops); 0 turns one off.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AddressLimits {
    /// The most connections from one address that may be logging in at once.
    pub max_pending: u32,
    /// Failed logins one address may make at once before the refill rate applies.
    pub failure_burst: u32,
    /// Seconds per failed login one address is allowed again once its burst is spent.
    pub failure_refill_secs: u64,
    /// Accounts one address may create at once (`--register`) before the refill rate applies.
    pub register_burst: u32,
    /// Seconds per account one address may create again once its burst is spent.
    pub register_refill_secs: u64,
    /// New connections one address may open at once before `connect_per_sec` applies.
    pub connect_burst: u32,
    /// New connections one address may open a second once its burst is spent.
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

/// Successful logins: a burst, then one every so many seconds, per account and per source address (a
/// burst of 0: no limit). Failed ones have limits of their own (the lockout, and
/// [`AddressLimits::failure_burst`]).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Successful logins one account may make at once before the refill rate applies.
    pub account_burst: u32,
    /// Seconds per login one account is allowed again once its burst is spent.
    pub account_refill_secs: u64,
    /// Successful logins from one address, over all its accounts, at once before the refill rate
    /// applies.
    pub address_burst: u32,
    /// Seconds per login one address is allowed again once its burst is spent.
    pub address_refill_secs: u64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        // A person on a network that drops them every half minute, or a few dozen people behind one
        // NAT arriving together, stay well inside these; a loop of logins does not.
        LoginLimits {
            account_burst: 10,
            account_refill_secs: 10,
            address_burst: 60,
            address_refill_secs: 1,
        }
    }
}

impl LoginLimits {
    /// The rate of one account's successful logins (`None`: no limit).
    pub(crate) fn per_account(&self) -> Option<Rate> {
        Rate::every_secs(self.account_refill_secs, self.account_burst)
    }

    /// The rate of successful logins from one address (`None`: no limit).
    pub(crate) fn per_address(&self) -> Option<Rate> {
        Rate::every_secs(self.address_refill_secs, self.address_burst)
    }

    /// No limit at all (for load tests that log in thousands of users from one host).
    pub fn none() -> Self {
        LoginLimits {
            account_burst: 0,
            account_refill_secs: 0,
            address_burst: 0,
            address_refill_secs: 0,
        }
    }
}
