//! The command line: the flags (each one a key of the configuration file, which it overrides), the
//! seeds' positional form `PORT BLOCK_DURATION TIMEOUT`, and the subcommands.
//!
//! `-h` shows the flags an operator reaches for; `--help` shows every flag, grouped. The rarely
//! used limits stay flags (scripts and tests use them) but are best set in the configuration file,
//! which states them all with their defaults: a short `-h` serves the first start, the file the rest.
//! Each flag's help ends with its default, taken from the built-in settings, never written twice.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};

use natter::shell::settings::{LogFormat, Settings};

/// The natter instant-messaging server.
///
/// Users log in with the accounts in the credentials file (`username password`, one per line).
/// Offline messages, block lists, login history, lockouts, bans and registered accounts are kept in
/// the data directory and survive restarts and crashes. Everything below can be set in a
/// configuration file (--config; docs/natter.example.toml states every key); a flag wins over it.
///
/// SIGHUP (or `natter-server reload`) reloads the configuration and credentials files; SIGINT or
/// SIGTERM stops the server, telling clients. Once listening, it prints `listening on ADDR:PORT` to
/// standard output, for scripts. `natter-server admin --help` lists the operator's commands.
#[derive(Parser, Debug)]
#[command(version, about, long_about, args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,

    /// TCP port to listen on (0 picks a free port and prints it).
    #[arg(value_name = "PORT")]
    pub port: Option<u16>,

    /// Seconds an account stays locked after 3 wrong passwords in a row.
    #[arg(value_name = "BLOCK_DURATION")]
    pub block_duration: Option<u64>,

    /// Seconds without a command after which a user is logged out.
    #[arg(value_name = "TIMEOUT")]
    pub timeout: Option<u64>,

    /// The configuration file (TOML). Without it, the built-in defaults and the flags.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The credentials file: `username password` per line.
    #[arg(long, value_name = "PATH")]
    pub credentials: Option<PathBuf>,

    /// Where the durable state is kept (created on first run). Default: `natter-data` beside the
    /// credentials file. Only one server may use a data directory at a time.
    #[arg(long, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// Address to listen on; give it more than once for several. `0.0.0.0` (or `::`) serves the
    /// network; the default, loopback, serves this host only.
    #[arg(long, value_name = "ADDR")]
    pub bind: Vec<IpAddr>,

    /// Let an unknown username create an account: the client is asked to choose a password and the
    /// account is appended to the credentials file.
    #[arg(long)]
    pub register: bool,

    /// Speak plain text instead of TLS (for nc and scripts on loopback): passwords and messages then
    /// cross the network readable by anyone on the path.
    #[arg(long, help_heading = "TLS")]
    pub plaintext: bool,

    /// Also speak IRC on this port (6697 by convention with TLS, 6667 without), on the same
    /// addresses, accounts and rules: any IRC client logs in with a natter account (nick and PASS).
    /// TLS or plain text as the main port. Off by default.
    #[arg(long, value_name = "PORT")]
    pub irc_port: Option<u16>,

    /// Also speak IRC over WebSocket on this port (IRCv3's websocket transport: web clients such as
    /// Kiwi IRC and The Lounge), as the IRC port does: same addresses and rules, wss when the main
    /// port has TLS. Off by default.
    #[arg(long, value_name = "PORT")]
    pub irc_ws_port: Option<u16>,

    /// Admit guests: an IRC client that gives no password logs in under any free nick that is no
    /// account's, with no account, as on IRC networks (what irctest needs). Guests may message and
    /// take part in groups, but cannot block, publish keys or keep anything (nothing of theirs is
    /// stored); accounts' names stay theirs. Off by default.
    #[arg(long)]
    pub irc_guests: bool,

    /// The server's name on IRC, in the source of its lines, `004`, `PONG` and `WHOIS` (one word,
    /// a host name usually; default: natter).
    #[arg(long, value_name = "NAME")]
    pub irc_server_name: Option<String>,

    /// A file whose text is the message of the day shown to IRC clients at login and on `MOTD`
    /// (read at start; without it: none).
    #[arg(long, value_name = "PATH")]
    pub irc_motd: Option<PathBuf>,

    /// An operator of the server, as 'NAME HASH' (HASH: the password's argon2id hash, which
    /// `natter-server hash-password NAME` prints in such a line); give it more than once for
    /// several. A user who types `oper NAME` (IRC's `OPER NAME PASSWORD`) and the password may then
    /// `kill` sessions and send `wallops`.
    #[arg(long, value_name = "'NAME HASH'")]
    pub operator: Vec<String>,

    /// The server's TLS certificate (PEM, the chain's first certificate first). Without it, the
    /// server makes a self-signed one on first start and keeps it in the data directory.
    #[arg(long, value_name = "PATH", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PATH", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,

    /// The log's level: error, warn, info, debug, trace, or a filter (`RUST_LOG` wins).
    #[arg(long, value_name = "LEVEL", help_heading = "Logs and monitoring")]
    pub log_level: Option<String>,

    /// `human`: a line per event; `json`: a JSON object per line.
    #[arg(long, value_name = "FORMAT", help_heading = "Logs and monitoring")]
    pub log_format: Option<LogFormat>,

    /// Serve /metrics (Prometheus) and /health over HTTP, on --metrics-listen.
    #[arg(long, help_heading = "Logs and monitoring")]
    pub metrics: bool,

    /// Where the metrics listener listens (loopback by default).
    #[arg(long, value_name = "ADDR:PORT", help_heading = "Logs and monitoring")]
    pub metrics_listen: Option<SocketAddr>,

    /// The control socket `natter-server admin` talks to. Default: admin.sock in the data directory.
    #[arg(long, value_name = "PATH", help_heading = "Logs and monitoring")]
    pub admin_socket: Option<PathBuf>,

    /// Run as one node of a cluster whose shared state is in the Redis at URL
    /// (redis://[USER:PASSWORD@]HOST:PORT[/DB], or rediss://... for TLS; Redis with its append-only
    /// file on). Without it the server runs alone, with its embedded store.
    #[arg(long, value_name = "URL", help_heading = "Cluster")]
    pub cluster: Option<String>,

    /// Cluster mode over rediss://: the CA certificate(s) (PEM) that signed Redis's certificate.
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub cluster_ca: Option<PathBuf>,

    /// Cluster mode: seal everything the node writes to Redis with the key in FILE
    /// (`natter-server cluster-key FILE` makes one); every node needs the same key.
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub cluster_key_file: Option<PathBuf>,

    /// This node's name in the logs (default: its number and port).
    #[arg(long, value_name = "NAME", help_heading = "Cluster")]
    pub node: Option<String>,

    /// Cluster mode: entries of the shared log between two snapshots of the cluster's state.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Cluster",
        hide_short_help = true
    )]
    pub snapshot_every: Option<u64>,

    // ---- limits: best set in the configuration file (shown by --help, not -h) ----
    /// The longest line accepted from a client, in bytes.
    #[arg(
        long,
        value_name = "BYTES",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub max_line: Option<u64>,
    /// Seconds a new connection has to finish logging in.
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub login_timeout: Option<u64>,
    /// Seconds a private-chat request waits for an answer.
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub private_timeout: Option<u64>,
    /// Most messages one user may have waiting.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub mailbox_limit: Option<u64>,
    /// Percentage of a user's mailbox one sender may fill.
    #[arg(
        long,
        value_name = "PERCENT",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub mailbox_share: Option<u32>,
    /// Seconds of warning before the idle logout (at most half the timeout; 0 turns it off).
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub idle_warning: Option<u64>,
    /// Most members a group may have.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub group_max_members: Option<u64>,
    /// Bytes that may queue for a client that is not reading before it is disconnected.
    #[arg(
        long,
        value_name = "BYTES",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub max_outbound: Option<u64>,
    /// The fewest characters of a password chosen at --register or `passwd` (nor the username).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub min_password_length: Option<u64>,
    /// Password checks and hashes that may wait at once; more logins are told the server is busy.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub max_password_jobs: Option<u64>,
    /// Threads that check and hash passwords (default: one per core but one).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub password_threads: Option<u64>,
    /// TCP keepalive: seconds of silence before a connection is probed, so a client that vanished is
    /// logged out within this and half as much again (0: off).
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub keepalive: Option<u64>,
    /// Leave Nagle's algorithm on for clients: a small write waits for the client's acknowledgement
    /// of the last and leaves with the next, instead of at once (TCP_NODELAY, the default).
    #[arg(long, help_heading = "Limits", hide_short_help = true)]
    pub nagle: bool,

    /// Commands a second one account may send after its burst (0: no flood control at all).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Flood control",
        hide_short_help = true
    )]
    pub flood_rate: Option<u32>,
    /// Commands an account may send at once before the rate applies.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Flood control",
        hide_short_help = true
    )]
    pub flood_burst: Option<u32>,
    /// All the connections of one address together, in accounts' worth (0: no such budget).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Flood control",
        hide_short_help = true
    )]
    pub flood_per_address: Option<u32>,
    /// Bookkeeping lines (ack, receipts...) a second one account may send after its burst.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Flood control",
        hide_short_help = true
    )]
    pub bookkeeping_rate: Option<u32>,
    /// Bookkeeping lines an account may send at once.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Flood control",
        hide_short_help = true
    )]
    pub bookkeeping_burst: Option<u32>,
    /// Seconds after a disconnection for flooding during which neither the account nor its address
    /// may log in (0: none).
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Flood control",
        hide_short_help = true
    )]
    pub flood_cooldown: Option<u64>,

    /// Successful logins one account may make in a burst (0: no limit).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub logins_per_account: Option<u32>,
    /// Seconds after which an account may log in once more, past its burst.
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub account_login_refill: Option<u64>,
    /// Successful logins one address may make in a burst (0: no limit).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub logins_per_address: Option<u32>,
    /// Seconds after which an address may log in once more, past its burst.
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub address_login_refill: Option<u64>,
    /// A user's presence: after a burst of 4 changes, told at most once per this many seconds.
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub presence_interval: Option<u64>,
    /// Connections from one address that may be logging in at once (0: no limit).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub max_logins_per_address: Option<u32>,
    /// Failed logins one address may make in a burst before it is throttled (0: no limit).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub failed_logins_per_address: Option<u32>,
    /// Seconds after which a throttled address may try one more login.
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub failed_login_refill: Option<u64>,
    /// New connections one address may open in a burst (0: no limit); past it, refused before any
    /// TLS handshake ('BYE connect-throttled').
    #[arg(
        long,
        value_name = "N",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub new_connections_per_address: Option<u32>,
    /// New connections a second one address may open after its burst.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub new_connection_rate: Option<u32>,
    /// Accounts one address may create in a burst with --register (0: no limit).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub registrations_per_address: Option<u32>,
    /// Seconds after which an address may create one more account.
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Login limits",
        hide_short_help = true
    )]
    pub registration_refill: Option<u64>,

    /// The flags given on the command line, by id (for errors that say where a value came from).
    #[arg(skip)]
    pub given: Vec<String>,
}

/// Where a running server's control socket is, for the subcommands that talk to it: as the server
/// works it out (the configuration file, the data directory, the credentials file's directory).
#[derive(clap::Args, Debug, Clone)]
pub struct Locate {
    /// The server's configuration file.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The server's control socket.
    #[arg(long, value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,
    /// The server's data directory (its control socket is admin.sock in it).
    #[arg(long, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,
    /// The server's credentials file (its data directory is beside it by default).
    #[arg(long, value_name = "PATH")]
    pub credentials: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Reads a password (twice, without showing it, at a terminal; one line from a pipe) and prints
    /// its argon2id hash, as a credentials line to paste if USERNAME is given.
    HashPassword {
        /// The account the line is for.
        username: Option<String>,
    },
    /// Writes a new random cluster key to FILE (readable by its owner only), for
    /// --cluster-key-file: copy the file to every node of the cluster, and keep it safe.
    ClusterKey {
        /// Where to write it (must not exist yet).
        file: PathBuf,
    },
    /// Asks the running server to reload its configuration and credentials files (as SIGHUP does),
    /// and says what changed or why nothing did.
    Reload {
        #[command(flatten)]
        locate: Locate,
    },
    /// The operator's commands, through the running server's control socket.
    Admin {
        #[command(flatten)]
        locate: Locate,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Prints the manual page (roff): `natter-server man | man -l -`.
    Man,
}

/// The operator's commands (docs/OPERATING.md).
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Who is online: address, idle time, connection age.
    List,
    /// Ends a user's session, telling them REASON.
    Kick { user: String, reason: Vec<String> },
    /// Bans an account, an address or a network (CIDR) for DURATION (30m, 2h, 7d, forever).
    Ban {
        target: String,
        duration: String,
        reason: Vec<String>,
    },
    /// Lifts a ban.
    Unban { target: String },
    /// The bans that hold.
    Bans,
    /// Lifts an account's lockout.
    Unlock { user: String },
    /// Accounts: add, remove, rename, set a password (asked for, never on the command line).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Groups: remove one, or one member.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Sends a notice to everyone online.
    Notice { text: Vec<String> },
    /// Copies the store to FILE while the server runs (a consistent copy, between two commits).
    Backup { file: std::path::PathBuf },
}

#[derive(clap::Subcommand, Debug)]
pub enum AccountCommand {
    /// Adds an account (its password is asked for).
    Add { user: String },
    /// Removes an account and everything it had; its session ends.
    Remove { user: String },
    /// Renames an account.
    Rename { from: String, to: String },
    /// Sets an account's password (asked for).
    Password { user: String },
}

#[derive(clap::Subcommand, Debug)]
pub enum GroupCommand {
    /// Removes a group: every member leaves it.
    Remove { group: String },
    /// Takes a member out of a group.
    RemoveMember { group: String, user: String },
}

/// Lays the flags over `s`, each onto its key: a `(flag, key)` list, the one place the flags and the
/// configuration file's keys meet (the help's defaults come from it too).
macro_rules! overrides {
    ($( $arg:ident => $($path:ident).+ $( [$how:ident] )? ),* $(,)?) => {
        /// Every flag that is a key, with the key.
        pub const FLAG_KEYS: &[(&str, &str)] = &[ $( (stringify!($arg), stringify!($($path).+)) ),* ];

        impl Args {
            /// `s` with every flag that was given laid over it.
            pub fn apply(&self, s: &mut Settings) {
                $( overrides!(@set self, s, $arg, $($path).+ $(, $how)?); )*
            }
        }
    };
    (@set $a:ident, $s:ident, $arg:ident, $($path:ident).+) => {
        if let Some(v) = $a.$arg.clone() { $s.$($path).+ = v; }
    };
    (@set $a:ident, $s:ident, $arg:ident, $($path:ident).+, some) => {
        if let Some(v) = $a.$arg.clone() { $s.$($path).+ = Some(v); }
    };
    (@set $a:ident, $s:ident, $arg:ident, $($path:ident).+, flag) => {
        if $a.$arg { $s.$($path).+ = true; }
    };
    (@set $a:ident, $s:ident, $arg:ident, $($path:ident).+, list) => {
        if !$a.$arg.is_empty() { $s.$($path).+ = $a.$arg.clone(); }
    };
}

overrides! {
    port => server.port,
    block_duration => login.block_duration,
    timeout => sessions.timeout,
    credentials => server.credentials,
    data_dir => server.data_dir [some],
    bind => server.bind [list],
    register => server.register [flag],
    plaintext => server.plaintext [flag],
    irc_port => server.irc_port [some],
    irc_ws_port => server.irc_ws_port [some],
    irc_guests => server.irc_guests [flag],
    irc_server_name => server.irc_server_name,
    irc_motd => server.irc_motd [some],
    operator => server.operators [list],
    tls_cert => server.tls_cert [some],
    tls_key => server.tls_key [some],
    log_level => log.level,
    log_format => log.format,
    metrics => metrics.enabled [flag],
    metrics_listen => metrics.listen,
    admin_socket => admin.socket [some],
    cluster => cluster.url [some],
    cluster_ca => cluster.ca [some],
    cluster_key_file => cluster.key_file [some],
    node => cluster.node [some],
    snapshot_every => cluster.snapshot_every,
    max_line => limits.max_line,
    login_timeout => login.login_timeout,
    private_timeout => sessions.private_timeout,
    mailbox_limit => limits.mailbox_limit,
    mailbox_share => limits.mailbox_share,
    idle_warning => sessions.idle_warning,
    group_max_members => limits.group_max_members,
    max_outbound => server.max_outbound,
    min_password_length => login.min_password_length,
    max_password_jobs => server.max_password_jobs,
    password_threads => server.password_threads [some],
    keepalive => server.keepalive,
    nagle => server.nagle [flag],
    flood_rate => flood.flood_rate,
    flood_burst => flood.flood_burst,
    flood_per_address => flood.flood_per_address,
    bookkeeping_rate => flood.bookkeeping_rate,
    bookkeeping_burst => flood.bookkeeping_burst,
    flood_cooldown => flood.flood_cooldown,
    logins_per_account => login.logins_per_account,
    account_login_refill => login.account_login_refill,
    logins_per_address => login.logins_per_address,
    address_login_refill => login.address_login_refill,
    presence_interval => sessions.presence_interval,
    max_logins_per_address => login.max_logins_per_address,
    failed_logins_per_address => login.failed_logins_per_address,
    failed_login_refill => login.failed_login_refill,
    new_connections_per_address => login.new_connections_per_address,
    new_connection_rate => login.new_connection_rate,
    registrations_per_address => login.registrations_per_address,
    registration_refill => login.registration_refill,
}

/// The flag that sets `key`, for an error about its value (`--timeout` for `sessions.timeout`).
pub fn flag_of(key: &str) -> Option<String> {
    FLAG_KEYS
        .iter()
        .find(|(_, k)| k.replace(' ', "") == key)
        .map(|(arg, _)| match *arg {
            // The seeds' positional arguments.
            "port" | "block_duration" | "timeout" => arg.to_uppercase(),
            _ => format!("--{}", arg.replace('_', "-")),
        })
}

/// The command line's definition, each flag's help ending with its built-in default.
pub fn command() -> clap::Command {
    let defaults = toml::Table::try_from(Settings::default()).expect("the settings are TOML");
    let mut cmd = Args::command().name("natter-server");
    for (arg, key) in FLAG_KEYS {
        let key = key.replace(' ', "");
        let Some((section, name)) = key.split_once('.') else {
            continue;
        };
        let Some(value) = defaults
            .get(section)
            .and_then(|t| t.get(name))
            .and_then(shown)
        else {
            continue;
        };
        cmd = cmd.mut_arg(*arg, |a| {
            let help = a.get_help().map(ToString::to_string).unwrap_or_default();
            a.help(format!("{help} [default: {value}]"))
        });
    }
    cmd
}

/// A default as the help shows it; none for `false` (a switch's default goes without saying).
fn shown(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::Boolean(false) => None,
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Array(a) => Some(a.iter().filter_map(shown).collect::<Vec<_>>().join(", ")),
        other => Some(other.to_string()),
    }
}

/// Parses the command line (exits with clap's message on a bad one, as before).
pub fn parse() -> Args {
    let matches = command().get_matches();
    let mut args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    args.given = matches
        .ids()
        .filter(|id| {
            matches.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|id| id.as_str().to_owned())
        .collect();
    args
}
