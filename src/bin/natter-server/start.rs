//! Starting the server, in three steps: what the settings say (`prepare`: accounts, rules, TLS
//! identity), the state to start from (`standalone`: the store; `cluster`: joining the shared log),
//! and serving (`serve`: listeners, the control socket, the metrics, the signals).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use natter::shell::cluster;
use natter::shell::persist::{CredentialsFile, Durable, InLog, Persister};
use natter::shell::server::{
    ClusterNode, Control, Metrics, Serving, ShellOptions, bind_metrics, run_server, serve_http,
};
use natter::shell::settings::Settings;
use natter::shell::tls::{Identity, ServerTls};
use natter::store::Store;
use natter_core::server::{Account, Config, ServerState, look_alike_pairs, parse_credentials};

use crate::logging::{LevelHandle, set_level};

/// The prefix of the cluster's keys in Redis.
const CLUSTER_PREFIX: &str = "natter";

/// What the settings say, read and checked: the accounts, the rules, the TLS identity.
pub struct Prepared {
    pub settings: Settings,
    pub accounts: Vec<Account>,
    pub config: Config,
    pub identity: Option<Identity>,
    pub seed: [u8; 32],
}

/// Reads the credentials file and works out everything the settings say.
pub fn prepare(settings: Settings) -> Result<Prepared> {
    let path = settings.server.credentials.clone();
    owner_only(&path)?;
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read credentials file {} (give another with --credentials PATH)",
            path.display()
        )
    })?;
    let accounts =
        parse_credentials(&text).with_context(|| format!("credentials file {}", path.display()))?;
    if accounts.is_empty() && !settings.server.register {
        bail!(
            "credentials file {} has no accounts; add 'username password' lines, or start with --register",
            path.display()
        );
    }
    warn_of_plain_passwords(&accounts, &settings);
    for (earlier, later) in look_alike_pairs(accounts.iter().map(|a| a.username.as_str())) {
        tracing::warn!(
            "accounts '{earlier}' and '{later}' in {} look alike (letter case, or letters such as I, l \
             and 1): one user could pass for the other; consider renaming one",
            path.display()
        );
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    // The certificate first: a cluster node offers it as the cluster's, or takes the cluster's.
    let identity = if settings.server.plaintext {
        None
    } else {
        Some(ServerTls::identity(
            settings.server.tls_cert.as_deref(),
            settings.server.tls_key.as_deref(),
            &settings.data_dir(),
        )?)
    };
    Ok(Prepared {
        config: settings.core_config(),
        settings,
        accounts,
        identity,
        seed,
    })
}

/// Where a server starts from.
pub struct Started {
    pub core: ServerState,
    pub persister: Box<dyn Persister>,
    pub cluster: Option<ClusterNode>,
    pub identity: Option<Identity>,
}

/// A server alone: its store, the records it keeps replayed into a fresh core.
pub fn standalone(p: &Prepared) -> Result<Started> {
    let s = &p.settings;
    // The store's errors name the path and the problem; none of them is answered by starting empty.
    let mut store = Store::open(&s.data_dir())?;
    let snapshot = store.load()?;
    let mut core = ServerState::new(p.config.clone(), p.accounts.clone(), p.seed);
    let kept = snapshot.records.len();
    let now = natter::shell::clock::wall_now();
    // Sessions the last run left open end now, in the store as in the core.
    store.commit(&snapshot.end_open_sessions(now))?;
    let skipped = core.restore(snapshot.records, now);
    core.reserve_message_ids(snapshot.next_message_id);
    if skipped > 0 {
        tracing::warn!(
            "{skipped} stored item(s) name accounts that are no longer in {}; they are ignored",
            s.server.credentials.display()
        );
    }
    tracing::info!("restored {kept} item(s) from {}", store.path().display());
    let persister = Box::new(Durable {
        credentials: CredentialsFile::new(s.server.credentials.clone()),
        store,
    });
    Ok(Started {
        core,
        persister,
        cluster: None,
        identity: p.identity.clone(),
    })
}

/// One node of a cluster: it joins (its number, the agreement on rules and accounts, the latest
/// snapshot), and the shared log is its durable state.
pub fn cluster(p: &Prepared, url: &str) -> Result<Started> {
    let s = &p.settings;
    let endpoint = cluster::Endpoint::parse(url, s.cluster.ca.as_deref()).context("--cluster")?;
    let seal = s
        .cluster
        .key_file
        .as_deref()
        .map(cluster::ClusterKey::load)
        .transpose()?;
    let joined = smol::block_on(cluster::join(cluster::Joining {
        endpoint: &endpoint,
        prefix: CLUSTER_PREFIX,
        seal: seal.clone(),
        config: &p.config,
        accounts: p.accounts.clone(),
        seed: p.seed,
        certificate: p
            .identity
            .as_ref()
            .map(|i| (i.cert_pem.as_slice(), i.key_pem.as_slice())),
    }))
    .with_context(|| format!("joining the cluster at {endpoint}"))?;
    let node = joined.node;
    for warning in &joined.warnings {
        tracing::warn!("{warning}");
    }
    let identity = match (p.identity.clone(), joined.certificate) {
        (Some(ours), Some(theirs)) => Some(
            cluster::cluster_identity(ours, theirs)
                .with_context(|| format!("joining the cluster at {endpoint}"))?,
        ),
        (identity, _) => identity,
    };
    let name = s
        .cluster
        .node
        .clone()
        .unwrap_or_else(|| format!("port {}", s.server.port));
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
        snapshot_every: s.cluster.snapshot_every,
        log: joined.log,
    };
    Ok(Started {
        core: joined.core,
        persister: Box::new(InLog),
        cluster: Some(cluster),
        identity,
    })
}

/// How `serve` is steered from outside: the signals' channels, and how to read the settings again.
pub struct Steering {
    pub reread: Box<dyn Fn() -> Result<Settings, String>>,
    pub log: LevelHandle,
}

/// Serves until stopped: binds every address, starts the metrics listener and the control socket,
/// and runs the server.
pub fn serve(p: Prepared, started: Started, steering: Steering) -> Result<()> {
    let s = &p.settings;
    let mut fingerprint = None;
    let tls = match &started.identity {
        None => {
            tracing::warn!(
                "speaking plain text (--plaintext): passwords and messages cross the network unencrypted"
            );
            None
        }
        Some(identity) => {
            let tls = ServerTls::from_identity(identity)?;
            tracing::info!(
                "TLS certificate {} ({}); clients see this fingerprint the first time they connect",
                tls.fingerprint,
                tls.source
            );
            fingerprint = Some(tls.fingerprint);
            Some(tls.config)
        }
    };
    let metrics = s.metrics.enabled.then(|| Arc::new(Metrics::new()));
    let (ask, scrapes) = smol::channel::unbounded();
    if let Some(m) = &metrics {
        let listener = bind_metrics(s.metrics.listen)
            .with_context(|| format!("cannot listen for metrics on {}", s.metrics.listen))?;
        tracing::info!(
            "metrics on http://{}/metrics, health on /health",
            listener.local_addr()?
        );
        serve_http(listener, m.clone(), ask)?;
    }
    let account_count = started.core.usernames().count();
    let mut opts = ShellOptions {
        max_outbound: usize::try_from(s.server.max_outbound).context("max_outbound")?,
        shutdown_grace: Duration::from_secs(2),
        keepalive: (s.server.keepalive > 0).then(|| Duration::from_secs(s.server.keepalive)),
        nodelay: !s.server.nagle,
        tls,
        cluster: started.cluster,
        metrics,
        irc: s.irc_settings()?,
        ..ShellOptions::default()
    };
    if let Some(n) = s.server.password_threads {
        opts.password_threads = usize::try_from(n).context("password_threads")?;
    }
    let cluster_mode = opts.cluster.is_some();
    let serving = smol::block_on(async {
        let listeners = bind(&s.listen_addrs())?;
        let irc_listeners = bind(&s.irc_listen_addrs())?;
        let irc_ws_listeners = bind(&s.irc_ws_listen_addrs())?;
        for (l, how) in irc_listeners
            .iter()
            .map(|l| (l, ""))
            .chain(irc_ws_listeners.iter().map(|l| (l, " over WebSocket")))
        {
            tracing::info!(
                "speaking IRC{how} on {} ({})",
                l.local_addr()?,
                if s.server.plaintext {
                    "plain text"
                } else {
                    "TLS"
                }
            );
        }
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<std::io::Result<_>>()?;
        let socket_path = s.admin_socket();
        let socket = natter::shell::server::bind_socket(&socket_path)?;
        let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        tracing::info!(
            "listening on {} ({}): {account_count} accounts from {}, lockout {} s, idle timeout {} s{}",
            shown.join(", "),
            if s.server.plaintext {
                "plain text"
            } else {
                "TLS"
            },
            s.server.credentials.display(),
            p.config.block_duration_secs,
            p.config.timeout_secs,
            if p.config.register {
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
            let _ = writeln!(out, "listening on {}", addrs[0]).and_then(|()| out.flush());
        }
        let (stop_tx, stop_rx) = smol::channel::bounded(1);
        let (reload_tx, reloads) = smol::channel::unbounded();
        watch_signals(stop_tx, reload_tx)?;
        let log = steering.log;
        let control = Control {
            socket: Some((socket_path, socket)),
            reread: steering.reread,
            set_log_level: Box::new(move |level| set_level(&log, level)),
            settings: s.clone(),
            accounts: p.accounts.clone(),
            reloads,
            cluster: cluster_mode,
            tls_fingerprint: fingerprint,
        };
        Ok::<_, anyhow::Error>(Serving {
            listeners,
            irc_listeners,
            irc_ws_listeners,
            core: started.core,
            persister: started.persister,
            opts,
            stop: stop_rx,
            control: Some(control),
            scrapes: Some(scrapes),
        })
    })?;
    // Outside `block_on`: the server's thread sleeps in its own epoll wait.
    run_server(serving).context("server stopped")?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Binds every address; any that cannot be had stops the start, named.
fn bind(addrs: &[SocketAddr]) -> Result<Vec<async_net::TcpListener>> {
    let mut out = Vec::new();
    for addr in addrs {
        let l = listen(*addr).with_context(|| format!("cannot listen on {addr}"))?;
        out.push(l);
    }
    Ok(out)
}

/// Connections the kernel may hold completed for the accept loop, per listener (the kernel caps it
/// at `net.core.somaxconn`, 4,096 by default). The standard library's `bind` asks for 128: a burst
/// of more connections than that between two turns of the accept loop (a thousand clients
/// reconnecting after a restart, or logging in at once) overflowed it, and each connection past it
/// waited a second for its handshake to be sent again, or was reset.
const LISTEN_BACKLOG: i32 = 4096;

/// A listening socket on `addr` as `bind` makes one (the address reusable at once after a restart),
/// with room for [`LISTEN_BACKLOG`] connections waiting to be accepted.
fn listen(addr: SocketAddr) -> std::io::Result<async_net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    async_net::TcpListener::try_from(std::net::TcpListener::from(socket))
}

/// The first SIGINT or SIGTERM shuts down cleanly, a second one exits at once; each SIGHUP reloads.
fn watch_signals(stop: smol::channel::Sender<()>, reload: smol::channel::Sender<()>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut seen = 0;
            for sig in signals.forever() {
                if sig == SIGHUP {
                    tracing::info!("signal {sig} (SIGHUP): reloading");
                    let _ = reload.try_send(());
                    continue;
                }
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

/// Makes a file that holds secrets readable by its owner only, saying so if it was not.
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| {
            format!(
                "cannot read credentials file {} (give another with --credentials PATH)",
                path.display()
            )
        })?
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
fn warn_of_plain_passwords(accounts: &[Account], s: &Settings) {
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
    let beyond: Vec<String> = s
        .server
        .bind
        .iter()
        .filter(|ip| !ip.is_loopback())
        .map(ToString::to_string)
        .collect();
    if !demo.is_empty() && !beyond.is_empty() {
        tracing::warn!(
            "the demo account(s) {} keep the passwords printed in the README, and this server listens \
             on {}: anyone who can reach it can log in as them. Change or remove them in {}",
            demo.join(", "),
            beyond.join(", "),
            s.server.credentials.display()
        );
    }
    tracing::warn!(
        "{} of {} account(s) in {} keep their password in plain text ({}{}): whoever reads the file \
         can log in as them; `natter-server hash-password USERNAME` prints a hashed line to put instead",
        plain.len(),
        accounts.len(),
        s.server.credentials.display(),
        plain.iter().take(5).copied().collect::<Vec<_>>().join(", "),
        if plain.len() > 5 { ", ..." } else { "" },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far more connections than the standard library's backlog of 128 complete their handshakes
    /// while nothing accepts them (as in a burst between two turns of the accept loop): none waits
    /// for a second try of its handshake.
    #[test]
    fn a_burst_of_connections_waits_in_the_backlog_not_in_handshake_retries() {
        // The kernel caps the backlog at its own limit; below this test's burst there is nothing to
        // test on this machine.
        let cap = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(4096);
        if cap <= 500 {
            eprintln!(
                "net.core.somaxconn is {cap}: a burst of 500 cannot wait in any backlog here"
            );
            return;
        }
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for n in 0..500 {
            let client =
                std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500))
                    .unwrap_or_else(|e| panic!("connection {n} did not complete: {e}"));
            clients.push(client);
        }
        assert_eq!(clients.len(), 500);
    }
}
