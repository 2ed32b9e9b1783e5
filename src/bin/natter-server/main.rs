//! `natter-server [port] [block_duration] [timeout]`: the natter chat server.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use natter::shell::cluster;
use natter::shell::persist::{CredentialsFile, Durable, InLog, Persister};
use natter::shell::server::{ClusterNode, ShellOptions, run};
use natter::shell::tls::ServerTls;
use natter::store::Store;
use natter_core::server::{
    AddressLimits, Config, LoginLimits, ServerState, look_alike_pairs, parse_credentials,
};
use natter_core::time::Timestamp;

/// The natter instant-messaging server.
///
/// Users log in with the accounts in the credentials file (`username password`, one per line).
/// Offline messages, block lists, login history, lockouts and registered accounts are kept in the data
/// directory and survive restarts and crashes.
/// Stop it with Ctrl-C or SIGTERM: clients are told and disconnected cleanly.
///
/// Once listening, it prints one line to standard output, `listening on ADDR:PORT`, for scripts.
#[derive(Parser, Debug)]
#[command(version, about, long_about, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Sub>,

    /// TCP port to listen on (0 picks a free port and prints it).
    #[arg(default_value_t = natter_core::protocol::DEFAULT_PORT)]
    port: u16,

    /// Seconds an account stays locked after 3 wrong passwords in a row.
    #[arg(default_value_t = 60)]
    block_duration: u64,

    /// Seconds without a command after which a user is logged out.
    #[arg(default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,

    /// The credentials file: `username password` per line.
    #[arg(long, default_value = "credentials.txt", value_name = "PATH")]
    credentials: PathBuf,

    /// Where the durable state is kept (created on first run). Default: `natter-data` beside the
    /// credentials file. Only one server may use a data directory at a time.
    #[arg(long, value_name = "PATH")]
    data_dir: Option<PathBuf>,

    /// Address to listen on. Default: 127.0.0.1 (this host only), so that a first start with the
    /// shipped demo accounts serves nobody else; `--bind 0.0.0.0` (or `::`) serves the network.
    #[arg(long, value_name = "ADDR")]
    bind: Option<IpAddr>,

    /// Let an unknown username create an account: the client is asked to choose a password and the
    /// account is appended to the credentials file.
    #[arg(long)]
    register: bool,

    /// The longest line accepted from a client, in bytes.
    #[arg(long, default_value_t = natter_core::protocol::MAX_LINE as u64, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(64..=1_048_576))]
    max_line: u64,

    /// Seconds a new connection has to finish logging in.
    #[arg(long, default_value_t = 120, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    login_timeout: u64,

    /// Seconds a private-chat request waits for an answer.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    private_timeout: u64,

    /// Most stored messages one offline user may have waiting.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    mailbox_limit: u64,

    /// Seconds of warning before the idle logout (at most half the timeout; 0 turns it off).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    idle_warning: u64,

    /// Most members a group may have.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    group_max_members: u64,

    /// Bytes that may queue for a client that is not reading before it is disconnected.
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(4096..))]
    max_outbound: u64,

    /// Percentage of a user's mailbox one sender may fill.
    #[arg(long, default_value_t = 25, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(1..=100))]
    mailbox_share: u32,

    /// Flood control: commands a second one account may send after its burst, over all its sessions
    /// (0: no flood control at all). Faster input is read more slowly; far faster, and the client is
    /// disconnected.
    #[arg(long, default_value_t = 20, value_name = "N")]
    flood_rate: u32,

    /// Flood control: commands an account may send at once before the rate applies.
    #[arg(long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    flood_burst: u32,

    /// Flood control per address, in accounts' worth: all the connections of one address together
    /// may send this many times what one account may (0: no per-address budget). Leaves room for
    /// several people behind one NAT.
    #[arg(long, default_value_t = 5, value_name = "N")]
    flood_per_address: u32,

    /// The protocol's bookkeeping lines (ack, p2pport, receipts), never counted as flooding: how many
    /// a second one account may send after its burst (and, times --flood-per-address, one address).
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    bookkeeping_rate: u32,

    /// Bookkeeping lines an account may send at once before their rate applies.
    #[arg(long, default_value_t = 2000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    bookkeeping_burst: u32,

    /// Seconds after a disconnection for flooding during which neither the account nor its address
    /// may log in (0: none).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    flood_cooldown: u64,

    /// Successful logins one account may make in a burst before the refill applies (0: no limit).
    #[arg(long, default_value_t = 10, value_name = "N")]
    logins_per_account: u32,

    /// Seconds after which an account may log in once more, past its burst.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    account_login_refill: u64,

    /// Successful logins one address may make in a burst, whatever the accounts (0: no limit).
    #[arg(long, default_value_t = 60, value_name = "N")]
    logins_per_address: u32,

    /// Seconds after which an address may log in once more, past its burst.
    #[arg(long, default_value_t = 1, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    address_login_refill: u64,

    /// Presence of one user: after a burst of 4 changes, the others are told at most once per this
    /// many seconds, then of how it stands (0: every change at once).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    presence_interval: u64,

    /// Connections from one address that may be logging in at once (0: no limit).
    #[arg(long, default_value_t = 16, value_name = "N")]
    max_logins_per_address: u32,

    /// Failed logins one address may make in a burst before it is throttled (0: no limit).
    #[arg(long, default_value_t = 10, value_name = "N")]
    failed_logins_per_address: u32,

    /// Seconds after which a throttled address may try one more login.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    failed_login_refill: u64,

    /// New connections one address may open in a burst before the rate applies (0: no limit). Each
    /// TLS connection costs the server a handshake; one past the limit is refused before it starts,
    /// in plain text ('BYE connect-throttled').
    #[arg(long, default_value_t = 20, value_name = "N")]
    new_connections_per_address: u32,

    /// New connections a second one address may open after its burst.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    new_connection_rate: u32,

    /// Accounts one address may create in a burst with --register (0: no limit).
    #[arg(long, default_value_t = 3, value_name = "N")]
    registrations_per_address: u32,

    /// Seconds after which an address may create one more account.
    #[arg(long, default_value_t = 600, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    registration_refill: u64,

    /// Password checks and hashes that may wait at once; more logins are told the server is busy.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_password_jobs: u64,

    /// Threads that check and hash passwords (default: one per core but one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    password_threads: Option<u64>,

    /// The server's TLS certificate (PEM, the chain's first certificate first). Without it, the server
    /// makes a self-signed one on first start and keeps it in the data directory.
    #[arg(
        long,
        value_name = "PATH",
        requires = "tls_key",
        conflicts_with = "plaintext"
    )]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(
        long,
        value_name = "PATH",
        requires = "tls_cert",
        conflicts_with = "plaintext"
    )]
    tls_key: Option<PathBuf>,

    /// Speak plain text instead of TLS (for nc and scripts on loopback): passwords and messages then
    /// cross the network readable by anyone on the path.
    #[arg(long)]
    plaintext: bool,

    /// Run as one node of a cluster whose shared state is in the Redis at URL
    /// (redis://[USER:PASSWORD@]HOST:PORT[/DB], or rediss://... for TLS; Redis with its append-only
    /// file on). Start as many nodes as you like, on any hosts, with the same credentials and rules;
    /// users may connect to any. Without it the server runs alone, with its embedded store.
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,

    /// Cluster mode over rediss://: the CA certificate(s) (PEM) that signed Redis's certificate
    /// (default: the system's trusted roots).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    cluster_ca: Option<PathBuf>,

    /// Cluster mode: seal everything the node writes to Redis (log entries, snapshots, the cluster's
    /// certificate key) with the key in FILE, so Redis holds no message text and no account data.
    /// Every node must have the same key (`natter-server cluster-key FILE` makes one); a node with
    /// another key, or none, refuses to join.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    cluster_key_file: Option<PathBuf>,

    /// This node's name in the logs (default: its number and port).
    #[arg(long, value_name = "NAME", requires = "cluster")]
    node: Option<String>,

    /// Cluster mode: entries of the shared log between two snapshots of the cluster's state. A node
    /// that starts loads the latest and replays at most this many; the log is trimmed behind it.
    #[arg(long, default_value_t = 100_000, value_name = "N", requires = "cluster",
          value_parser = clap::value_parser!(u64).range(1..))]
    snapshot_every: u64,

    /// TCP keepalive: at most this many seconds of silence before a connection is probed (at least
    /// half as many: connections are spread, so their probes do not all leave at once), so a client
    /// that vanished without closing is logged out within this and half as much again (0: off).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    keepalive: u64,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
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
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .init();
    let mut args = Args::parse();
    match args.command.take() {
        Some(Sub::HashPassword { username }) => {
            match hash_password(username.as_deref()) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    eprintln!("natter-server: error: {e:#}");
                    std::process::exit(1);
                }
            }
            return;
        }
        Some(Sub::ClusterKey { file }) => {
            if let Err(e) = cluster::ClusterKey::write_new(&file) {
                eprintln!("natter-server: error: {e}");
                std::process::exit(1);
            }
            println!(
                "wrote a new cluster key to {}: give every node of the cluster a copy \
                 (--cluster-key-file), readable by its owner only",
                file.display()
            );
            return;
        }
        None => {}
    }
    if let Err(e) = serve(args) {
        eprintln!("natter-server: error: {e:#}");
        std::process::exit(1);
    }
}

/// `natter-server hash-password [USERNAME]`.
fn hash_password(username: Option<&str>) -> Result<String> {
    if let Some(name) = username {
        natter_core::protocol::name::check_username(name)
            .map_err(|e| anyhow::anyhow!("'{name}' is not a valid username: {e}"))?;
    }
    let password = read_new_password()?;
    natter_core::protocol::name::check_password(&password)
        .map_err(|e| anyhow::anyhow!("cannot use that password: {e}"))?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let hash =
        natter_core::password::hash(&password, &salt, natter_core::password::Strength::Standard);
    Ok(match username {
        Some(name) => format!("{name} {hash}"),
        None => hash,
    })
}

/// A password from the terminal (asked twice, not shown) or one line of standard input.
fn read_new_password() -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let mut err = std::io::stderr();
    let first =
        natter::shell::ui::read_secret("Password: ", &mut err).context("no password given")?;
    let again = natter::shell::ui::read_secret("Again: ", &mut err).context("no password given")?;
    if first != again {
        bail!("the two passwords differ; nothing was printed");
    }
    String::from_utf8(first).context("the password is not UTF-8")
}

/// Makes a file that holds secrets readable by its owner only, saying so if it was not.
fn owner_only(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
            .with_context(|| {
                format!(
                    "{} is readable by others and cannot be made owner-only",
                    path.display()
                )
            })?;
        tracing::warn!(
            "{} was readable by other users; it holds passwords, so it is now its owner's only",
            path.display()
        );
    }
    Ok(())
}

fn serve(args: Args) -> Result<()> {
    owner_only(&args.credentials)?;
    let text = std::fs::read_to_string(&args.credentials).with_context(|| {
        format!(
            "cannot read credentials file {} (give another with --credentials PATH)",
            args.credentials.display()
        )
    })?;
    let accounts = parse_credentials(&text)
        .with_context(|| format!("credentials file {}", args.credentials.display()))?;
    if accounts.is_empty() && !args.register {
        bail!(
            "credentials file {} has no accounts; add 'username password' lines, or start with --register",
            args.credentials.display()
        );
    }
    warn_of_plain_passwords(&accounts, &args);
    for (earlier, later) in look_alike_pairs(accounts.iter().map(|a| a.username.as_str())) {
        tracing::warn!(
            "accounts '{earlier}' and '{later}' in {} look alike (letter case, or letters such as I, l \
             and 1): one user could pass for the other; consider renaming one",
            args.credentials.display()
        );
    }
    let max_line = usize::try_from(args.max_line).context("--max-line")?;
    let config = Config {
        block_duration_secs: args.block_duration,
        timeout_secs: args.timeout,
        login_timeout_secs: args.login_timeout,
        private_answer_secs: args.private_timeout,
        max_line,
        mailbox_limit: usize::try_from(args.mailbox_limit).context("--mailbox-limit")?,
        register: args.register,
        group_max_members: usize::try_from(args.group_max_members)
            .context("--group-max-members")?,
        idle_warning_secs: args.idle_warning,
        mailbox_share_percent: args.mailbox_share,
        flood_rate: args.flood_rate,
        flood_burst: args.flood_burst,
        address_flood_accounts: args.flood_per_address,
        bookkeeping_rate: args.bookkeeping_rate,
        bookkeeping_burst: args.bookkeeping_burst,
        flood_cooldown_secs: args.flood_cooldown,
        login_limits: LoginLimits {
            account_burst: args.logins_per_account,
            account_refill_secs: args.account_login_refill,
            address_burst: args.logins_per_address,
            address_refill_secs: args.address_login_refill,
        },
        presence_interval_secs: args.presence_interval,
        address_limits: AddressLimits {
            max_pending: args.max_logins_per_address,
            failure_burst: args.failed_logins_per_address,
            failure_refill_secs: args.failed_login_refill,
            register_burst: args.registrations_per_address,
            register_refill_secs: args.registration_refill,
            connect_burst: args.new_connections_per_address,
            connect_per_sec: args.new_connection_rate,
        },
        max_password_jobs: usize::try_from(args.max_password_jobs)
            .context("--max-password-jobs")?,
        // Mail is written a window at a time, well under what a reader may have waiting before it is
        // dropped as a slow one, whatever that bound is.
        mail_window: natter_core::server::MAIL_WINDOW
            .min(usize::try_from(args.max_outbound / 4).unwrap_or(usize::MAX))
            .max(1),
        min_password_length: 8,
    };
    let data_dir = args.data_dir.clone().unwrap_or_else(|| {
        args.credentials
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("natter-data")
    });
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    // The certificate first: a cluster node offers it as the cluster's, or takes the cluster's.
    let identity = if args.plaintext {
        None
    } else {
        Some(ServerTls::identity(
            args.tls_cert.as_deref(),
            args.tls_key.as_deref(),
            &data_dir,
        )?)
    };
    let (core, persister, cluster, identity) = match &args.cluster {
        Some(url) => {
            let endpoint =
                cluster::Endpoint::parse(url, args.cluster_ca.as_deref()).context("--cluster")?;
            let seal = args
                .cluster_key_file
                .as_deref()
                .map(cluster::ClusterKey::load)
                .transpose()?;
            // The cluster's shared log is its durable state: every node's core follows it, from the
            // latest snapshot.
            let joined = smol::block_on(cluster::join(cluster::Joining {
                endpoint: &endpoint,
                prefix: CLUSTER_PREFIX,
                seal: seal.clone(),
                config: &config,
                accounts,
                seed,
                certificate: identity
                    .as_ref()
                    .map(|i| (i.cert_pem.as_slice(), i.key_pem.as_slice())),
            }))
            .with_context(|| format!("joining the cluster at {endpoint}"))?;
            let node = joined.node;
            for warning in &joined.warnings {
                tracing::warn!("{warning}");
            }
            let identity = match (identity, joined.certificate) {
                (Some(ours), Some(theirs)) => Some(
                    cluster::cluster_identity(ours, theirs)
                        .with_context(|| format!("joining the cluster at {endpoint}"))?,
                ),
                (identity, _) => identity,
            };
            let name = args
                .node
                .clone()
                .unwrap_or_else(|| format!("port {}", args.port));
            tracing::info!(
                "cluster node {node} ({name}) of the cluster at {endpoint}{}, starting at log entry {}",
                if seal.is_some() {
                    ", sealed with the cluster key"
                } else {
                    ""
                },
                joined.log.position()
            );
            let cluster = ClusterNode {
                endpoint,
                seal,
                prefix: CLUSTER_PREFIX.into(),
                node,
                name,
                snapshot_every: args.snapshot_every,
                log: joined.log,
            };
            (
                joined.core,
                Box::new(InLog) as Box<dyn Persister>,
                Some(cluster),
                identity,
            )
        }
        None => {
            // The store's errors name the path and the problem; none of them is answered by starting
            // empty.
            let mut store = Store::open(&data_dir)?;
            let snapshot = store.load()?;
            let mut core = ServerState::new(config.clone(), accounts, seed);
            let kept = snapshot.records.len();
            let now = Timestamp::now_wall();
            // Sessions the last run left open end now, in the store as in the core.
            store.commit(&snapshot.end_open_sessions(now))?;
            let skipped = core.restore(snapshot.records, now);
            core.reserve_message_ids(snapshot.next_message_id);
            if skipped > 0 {
                tracing::warn!(
                    "{skipped} stored item(s) name accounts that are no longer in {}; they are ignored",
                    args.credentials.display()
                );
            }
            tracing::info!("restored {kept} item(s) from {}", store.path().display());
            let persister = Box::new(Durable {
                credentials: CredentialsFile::new(args.credentials.clone()),
                store,
            });
            (core, persister as Box<dyn Persister>, None, identity)
        }
    };
    let tls = match identity {
        None => {
            tracing::warn!(
                "speaking plain text (--plaintext): passwords and messages cross the network unencrypted"
            );
            None
        }
        Some(identity) => {
            let tls = ServerTls::from_identity(&identity)?;
            tracing::info!(
                "TLS certificate {} ({}); clients see this fingerprint the first time they connect",
                tls.fingerprint,
                tls.source
            );
            Some(tls.config)
        }
    };
    let account_count = core.usernames().count();
    let opts = ShellOptions {
        max_outbound: usize::try_from(args.max_outbound).context("--max-outbound")?,
        shutdown_grace: Duration::from_secs(2),
        keepalive: (args.keepalive > 0).then(|| Duration::from_secs(args.keepalive)),
        tls,
        cluster,
        ..ShellOptions::default()
    };
    let opts = match args.password_threads {
        Some(n) => ShellOptions {
            password_threads: usize::try_from(n).context("--password-threads")?,
            ..opts
        },
        None => opts,
    };

    smol::block_on(async {
        let listener = bind(args.bind, args.port).await?;
        let addr = listener.local_addr()?;
        tracing::info!(
            "listening on {addr} ({}): {account_count} accounts from {}, lockout {} s, idle timeout {} s{}",
            if args.plaintext { "plain text" } else { "TLS" },
            args.credentials.display(),
            config.block_duration_secs,
            config.timeout_secs,
            if config.register {
                ", registration open"
            } else {
                ""
            }
        );
        if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            // For scripts and tests that started us on port 0 (a person at a terminal already has
            // the log line). Best effort: a closed standard output is no reason not to serve.
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on {addr}").and_then(|()| out.flush());
        }
        let (stop_tx, stop_rx) = smol::channel::bounded(1);
        watch_signals(stop_tx)?;
        run(listener, core, persister, opts, stop_rx)
            .await
            .context("server stopped")?;
        tracing::info!("shut down cleanly");
        Ok(())
    })
}

/// The accounts of the shipped `credentials.txt`, whose passwords the README prints.
const DEMO_ACCOUNTS: [(&str, &str); 6] = [
    ("alice", "wonderland"),
    ("bob", "builder"),
    ("carol", "christmas"),
    ("dave", "grohl42"),
    ("Hans", "falcon*solo"),
    ("Yoda", "wise@!man"),
];

/// Says, at start, which accounts anyone could log in to: ones kept in plain text (whoever reads the
/// credentials file can use them) and, worse, the demo accounts with their published passwords, on
/// a server that listens beyond this host.
fn warn_of_plain_passwords(accounts: &[natter_core::server::Account], args: &Args) {
    let plain: Vec<&str> = accounts
        .iter()
        .filter(|a| !natter_core::password::is_hash(&a.password))
        .map(|a| a.username.as_str())
        .collect();
    if plain.is_empty() {
        return;
    }
    let demo: Vec<&str> = accounts
        .iter()
        .filter(|a| DEMO_ACCOUNTS.contains(&(a.username.as_str(), a.password.as_str())))
        .map(|a| a.username.as_str())
        .collect();
    let beyond_this_host = args.bind.is_some_and(|ip| !ip.is_loopback());
    if !demo.is_empty() && beyond_this_host {
        tracing::warn!(
            "the demo account(s) {} keep the passwords printed in the README, and this server listens \
             on {}: anyone who can reach it can log in as them. Change or remove them in {}",
            demo.join(", "),
            args.bind.map(|ip| ip.to_string()).unwrap_or_default(),
            args.credentials.display()
        );
    }
    tracing::warn!(
        "{} of {} account(s) in {} keep their password in plain text ({}{}): whoever reads the file \
         can log in as them; `natter-server hash-password USERNAME` prints a hashed line to put instead",
        plain.len(),
        accounts.len(),
        args.credentials.display(),
        plain.iter().take(5).copied().collect::<Vec<_>>().join(", "),
        if plain.len() > 5 { ", ..." } else { "" },
    );
}

/// The prefix of the cluster's keys in Redis.
const CLUSTER_PREFIX: &str = "natter";

/// Binds the requested address, or by default the loopback address: a server is reachable from other
/// hosts only when its operator says so (`--bind`).
async fn bind(bind: Option<IpAddr>, port: u16) -> Result<async_net::TcpListener> {
    let addrs: Vec<SocketAddr> = match bind {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => vec![SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port)],
    };
    let mut last_err = None;
    for addr in &addrs {
        match async_net::TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => last_err = Some((addr, e)),
        }
    }
    let (addr, e) = last_err.expect("at least one address tried");
    Err(e).with_context(|| format!("cannot listen on {addr}"))
}

/// Turns the first SIGINT or SIGTERM into a clean shutdown; a second one exits at once.
fn watch_signals(stop: smol::channel::Sender<()>) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .context("installing signal handlers")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut seen = 0;
            for sig in signals.forever() {
                seen += 1;
                if seen > 1 {
                    eprintln!("natter-server: second signal {sig}; exiting now");
                    std::process::exit(130);
                }
                tracing::info!("signal {sig}: shutting down");
                let _ = stop.try_send(());
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}
