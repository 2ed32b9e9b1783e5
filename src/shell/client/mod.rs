//! The client's runtime: the server connection, the private-chat listener and links, the terminal and
//! the clock on one side, [`ClientState`] on the other.
//!
//! Like the server's shell it moves bytes and deadlines and decides nothing. Every source (the server
//! reader, the listener, each peer link, the line editor, the signal watcher) pushes into one inbox; one
//! driver feeds the core and carries out its effects, keeping a single timer armed at the earliest
//! deadline the core asked for.

mod chatlog;
mod driver;
mod e2e;
mod net;
pub mod settings;
mod transport;
mod trust;
mod windows_file;

pub use transport::Security;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_net::TcpStream;
use smol::channel::Sender;

use self::driver::{Driver, ServerConn};
use self::net::{accept_peers, listen};
use super::state_file::StateFile;
use super::ui::{Typed, Ui, UiOptions};
use crate::shell::clock::ShellClock;
use natter_core::client::{ClientState, Config, Event, LinkId};

/// The longest server line the client accepts. Larger than the server's input limit, because a reply can
/// hold a whole message plus the sender's name (or a long list of users).
const MAX_SERVER_LINE: usize = 64 * 1024;

/// How long an exit waits for goodbyes to peers and the server to be written.
const FLUSH_GRACE: Duration = Duration::from_secs(1);

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One server, as the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What the command line decided.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The servers to use, in order of preference (at least one). With several (one cluster's nodes),
    /// the client starts with the first that answers and moves to another when it is lost.
    pub servers: Vec<ServerAddr>,
    /// Port for the private-chat listener; 0 lets the system choose.
    pub p2p_port: u16,
    /// Where the state file (and the history) live; `None` turns remembering off (with a warning).
    pub state_dir: Option<PathBuf>,
    /// How to show things.
    pub ui: UiOptions,
    /// TLS (and how to trust the server) or plain text.
    pub security: Security,
    /// Words that highlight a line besides the user's name (`--hilight`).
    pub hilights: Vec<String>,
    /// How long to keep trying to reach a lost server, and the longest wait between attempts (the
    /// core's defaults unless the user set them).
    pub reconnect: natter_core::client::ReconnectPolicy,
    /// Log every conversation to disk, under the state directory (`--no-logs` turns it off).
    pub logs: bool,
}

/// A failure before the session could start (no core yet to report it).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot find the server '{host}': {source}")]
    Resolve { host: String, source: io::Error },
    #[error("cannot connect to the server at {addr}: {source}. Is natter-server running there?")]
    Connect { addr: String, source: io::Error },
    #[error("no answer from the server at {addr} within {} s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout { addr: String },
    #[error(
        "cannot listen for private chats on port {port}: {source}. Choose another with --p2p-port (0 picks a free one)."
    )]
    Listen { port: u16, source: io::Error },
    #[error(
        "the server at {addr} said nothing within {} s. If it speaks TLS (natter-server's default), run natter without --plaintext.",
        transport::FIRST_LINE_WAIT.as_secs()
    )]
    NoPrompt { addr: String },
    #[error(
        "the server at {addr} answered in plain text: it runs with --plaintext. Connect with 'natter --plaintext' (your password and messages then cross the network unencrypted)."
    )]
    ServerIsPlaintext { addr: String },
    #[error(
        "the server at {addr} is full and cannot take another connection; try again later, or another server."
    )]
    ServerFull { addr: String },
    #[error(
        "the server at {addr} presented a different certificate from the one remembered in {file}:\n  remembered {remembered}\n  presented  {presented}\nThis happens when the server's certificate was replaced, or when someone is intercepting the connection; nothing was sent. If its operator confirms the new fingerprint, connect once with --accept-new-cert {presented}"
    )]
    CertificateChanged {
        addr: String,
        remembered: String,
        presented: String,
        file: String,
    },
    #[error(
        "the server at {addr} presented a certificate that the CA in {} does not vouch for, or not for this name: {reason}. Nothing was sent.",
        ca.display()
    )]
    Untrusted {
        addr: String,
        ca: PathBuf,
        reason: String,
    },
    #[error("cannot use the CA certificates in {}: {reason}", path.display())]
    BadCa { path: PathBuf, reason: String },
    #[error("TLS with the server at {addr} failed: {reason}")]
    Tls { addr: String, reason: String },
    #[error("no randomness from the operating system ({reason}); private chats cannot be keyed")]
    NoRandomness { reason: String },
    #[error("none of the servers could be used:\n  {}", .0.join("\n  "))]
    NoServer(Vec<String>),
}

/// What the tasks hand the driver.
enum Input {
    /// From server connection number `generation`: the driver ignores what an earlier, dropped
    /// connection still delivers.
    Server {
        generation: u64,
        input: ServerInput,
    },
    /// The outcome of connecting to a server (after the first): number `generation`.
    ServerOpened {
        generation: u64,
        result: Result<transport::Connected, Dialled>,
    },
    Typed(Typed),
    Incoming(TcpStream),
    Peer {
        link: LinkId,
        event: PeerInput,
    },
    /// An end-to-end commit, run off the driver, ended: what it wrote is durable, or why not.
    E2eSynced(Result<(), String>),
    /// The windows could not be written: why.
    WindowsNotSaved(String),
}

/// Why connecting to a server (after the first) did not work.
enum Dialled {
    /// Refused, timed out, not a natter server...: said in words.
    Failed(String),
    /// The server presented a certificate other than the one pinned (`presented`), or one the CA does
    /// not vouch for: nothing was sent.
    Untrusted {
        error: String,
        presented: Option<String>,
    },
}

enum ServerInput {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

enum PeerInput {
    Connected(TcpStream),
    ConnectFailed(String),
    Frame(Vec<u8>),
    Broken,
    Closed,
}

/// Runs the client to the end; returns the process exit status.
pub fn run(opts: ClientOptions) -> Result<i32, StartError> {
    smol::block_on(run_async(opts))
}

/// Connects to the first of `servers` that works; the failures before it become warnings.
async fn open_first(
    opts: &ClientOptions,
) -> Result<(usize, transport::Connected, Vec<String>), StartError> {
    let mut failures = Vec::new();
    for (index, s) in opts.servers.iter().enumerate() {
        let opened = transport::open(
            &s.host,
            s.port,
            &opts.security,
            opts.state_dir.as_deref(),
            &opts.servers,
        );
        match opened.await {
            Ok(c) => {
                let warnings = failures
                    .into_iter()
                    .map(|(s, e): (&ServerAddr, StartError)| format!("Could not use {s}: {e}"))
                    .collect();
                return Ok((index, c, warnings));
            }
            // With one server, its error as it is.
            Err(e) if opts.servers.len() == 1 => return Err(e),
            Err(e) => failures.push((s, e)),
        }
    }
    Err(StartError::NoServer(
        failures
            .into_iter()
            .map(|(s, e)| format!("{s}: {e}"))
            .collect(),
    ))
}

async fn run_async(opts: ClientOptions) -> Result<i32, StartError> {
    let (index, server, failed) = open_first(&opts).await?;
    // The book of offline messages already shown is kept per server; the nodes of one cluster share
    // their mailboxes, so they share one entry, named after all of them.
    let server_key = if opts.servers.len() > 1 {
        let mut all: Vec<String> = opts.servers.iter().map(|s| s.to_string()).collect();
        all.sort();
        all.join(",")
    } else {
        server
            .peer
            .map(|a| SocketAddr::new(a.ip().to_canonical(), a.port()).to_string())
            .unwrap_or_else(|| opts.servers[index].to_string())
    };
    let listener = listen(opts.p2p_port).await?;
    let p2p_port = listener
        .local_addr()
        .map_err(|source| StartError::Listen {
            port: opts.p2p_port,
            source,
        })?
        .port();

    let (state_file, book, warnings) = StateFile::load(opts.state_dir.as_deref());
    let (tx, rx) = smol::channel::unbounded::<Input>();
    let typed_tx = tx.clone();
    let ui = Ui::start(
        opts.ui.clone(),
        Box::new(move |t| {
            let _ = typed_tx.send_blocking(Input::Typed(t));
        }),
    );
    let mut config = Config::new(p2p_port);
    if let Err(e) = getrandom::fill(&mut config.seed) {
        // Without randomness a private chat's keys would be predictable: refuse to run.
        return Err(StartError::NoRandomness {
            reason: e.to_string(),
        });
    }
    config.seen = book.for_server(&server_key);
    let (ignore_file, ignored, ignore_warning) =
        crate::shell::ignore_file::IgnoreFile::load(opts.state_dir.as_deref(), &server_key);
    config.ignored = ignored;
    config.hilights = opts.hilights.clone();
    // Messages are encrypted end to end; each account's keys are kept (encrypted with a key its
    // password unlocks) beside the state file, and opened at login (without a state directory,
    // each run makes new ones).
    let e2e_warnings = match opts.state_dir.as_deref() {
        Some(_) => Vec::new(),
        None => vec![
            "no state directory: encryption keys are not kept, so each run has new ones, which your contacts will see as a changed key.".to_owned(),
        ],
    };
    #[cfg(feature = "e2e")]
    {
        config.e2e = Some(natter_core::client::e2e::Setup {
            engine: std::sync::Arc::new(crate::olm_engine::Vodozemac::default()),
        });
    }
    // The full-screen client runs the core's view model (its windows show the user's own messages
    // with their outcome), with the history line mode keeps too.
    config.full_screen = ui.is_full_screen();
    if config.full_screen {
        config.history = super::ui::load_history(opts.ui.history.as_deref());
    }
    // A person at a terminal is asked what only they can answer, and reconnected to a lone server;
    // a script is told by the exit status.
    config.interactive = opts.ui.interactive;
    // A script reads its answers in the order of its lines.
    config.script_order = !opts.ui.interactive && !config.full_screen;
    config.servers = opts.servers.iter().map(|s| s.to_string()).collect();
    config.server_index = index;
    config.reconnect = opts.reconnect;
    config.logs = opts.logs && opts.state_dir.is_some();
    // The full-screen windows are kept in the state directory; their lines only when conversations
    // may be written to disk at all (`--no-logs` keeps the windows, not what was said in them).
    config.keep_windows = opts.state_dir.is_some().then_some(if opts.logs {
        natter_core::client::screen::Keep::Scrollback
    } else {
        natter_core::client::screen::Keep::Layout
    });

    watch_signals(tx.clone());
    let clock = ShellClock::start();

    let acceptor = smol::spawn(accept_peers(listener, tx.clone()));

    let (server_out, _) = smol::channel::unbounded::<Vec<u8>>();
    let mut driver = Driver {
        core: ClientState::new(config, clock.now()),
        clock,
        effects: Vec::new(),
        server: ServerConn {
            out: server_out,
            generation: 0,
            reader: None,
            writer: None,
            dialing: None,
        },
        servers: opts.servers.clone(),
        security: opts.security.clone(),
        state_dir: opts.state_dir.clone(),
        links: HashMap::new(),
        closing: Vec::new(),
        next_in: 1,
        tx,
        ui,
        state_file,
        ignore_file,
        e2e: Default::default(),
        opened: Vec::new(),
        rewrapped: Vec::new(),
        logs: chatlog::ChatLogs::new(opts.state_dir.as_deref(), &server_key, opts.logs),
        windows: windows_file::WindowsFiles::new(opts.state_dir.as_deref(), &server_key),
        windows_loaded: Vec::new(),
        windows_writing: None,
        notices: Vec::new(),
        server_key,
        users_version: 0,
        exit: None,
        last_lines: Vec::new(),
    };
    for w in warnings
        .into_iter()
        .chain(failed)
        .chain(e2e_warnings)
        .chain(ignore_warning)
    {
        driver.feed(Event::Notice(&w));
    }
    driver.use_server(server);
    driver.ui.draw(&driver.core, driver.clock.now());
    let exit = driver.serve(rx).await;
    drop(acceptor);
    driver.flush().await;
    let Driver {
        ui,
        last_lines,
        core,
        ..
    } = driver;
    ui.finish(last_lines, &core);
    Ok(exit.code())
}

/// SIGINT (when the terminal is not in the line editor's raw mode), SIGTERM and SIGHUP log out cleanly.
fn watch_signals(tx: Sender<Input>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        tracing::debug!("no signal handlers; Ctrl-C will end the client abruptly");
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                // The line editor's own SIGINT, raised to stop it reading (see `ui::line`): not the
                // user's.
                if super::ui::forget_own_interrupt() {
                    continue;
                }
                if tx.send_blocking(Input::Typed(Typed::Interrupt)).is_err() {
                    return;
                }
            }
        });
}
