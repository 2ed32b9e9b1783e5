//! The server running in the test's own process (on smol's global executor), for tests that set the
//! core's config and the shell's options directly.

use std::net::SocketAddr;
use std::path::PathBuf;

use natter::shell::persist::CredentialsFile;
use natter::shell::server::{ServerHandle, ShellOptions, spawn_with_irc_ws};
use natter_core::server::{Account, Config, ServerState};

use super::{ACCOUNTS, Client, password_of, write_credentials};

/// The core's settings most tests use.
pub fn config() -> Config {
    Config {
        block_duration_secs: 60,
        timeout_secs: 120,
        ..Config::default()
    }
}

/// A server on 127.0.0.1:0 in this process, with [`ACCOUNTS`]; shut down cleanly when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Where it speaks IRC (only when started [`TestServer::with_irc`]).
    pub irc_addr: Option<SocketAddr>,
    /// Where it speaks IRC over WebSocket (only when started [`TestServer::with_irc_ws`]).
    pub irc_ws_addr: Option<SocketAddr>,
    handle: Option<ServerHandle>,
    _dir: tempfile::TempDir,
    pub credentials: PathBuf,
}

impl TestServer {
    pub fn start() -> Self {
        Self::with(config(), ShellOptions::default())
    }

    pub fn with(config: Config, opts: ShellOptions) -> Self {
        Self::listening(config, opts, false, false)
    }

    /// As [`TestServer::with`], speaking IRC on a second loopback port too.
    pub fn with_irc(config: Config, opts: ShellOptions) -> Self {
        Self::listening(config, opts, true, false)
    }

    /// As [`TestServer::with_irc`], speaking IRC over WebSocket on a third loopback port too.
    pub fn with_irc_ws(config: Config, opts: ShellOptions) -> Self {
        Self::listening(config, opts, true, true)
    }

    fn listening(config: Config, opts: ShellOptions, irc: bool, ws: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let credentials = write_credentials(dir.path(), ACCOUNTS);
        let accounts = ACCOUNTS
            .iter()
            .map(|(u, p)| Account {
                username: (*u).into(),
                password: (*p).into(),
            })
            .collect();
        let core = ServerState::new(config, accounts, [9; 32]);
        let listener = smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let irc = irc.then(|| smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap());
        let ws = ws.then(|| smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap());
        let handle = spawn_with_irc_ws(
            listener,
            irc,
            ws,
            core,
            Box::new(CredentialsFile::new(&credentials)),
            opts,
        )
        .unwrap();
        TestServer {
            addr: handle.local_addr,
            irc_addr: handle.irc_addr,
            irc_ws_addr: handle.irc_ws_addr,
            handle: Some(handle),
            _dir: dir,
            credentials,
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Logs `user` in (password from [`ACCOUNTS`]), returning the client after the welcome.
    pub fn login(&self, user: &str) -> Client {
        let mut c = self.connect();
        c.login(user, password_of(user));
        c
    }

    /// Shuts the server down cleanly and waits for it.
    pub fn shutdown(&mut self) {
        if let Some(h) = self.handle.take() {
            smol::block_on(h.shutdown()).unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sends the library's tracing output to the test's stderr when RUST_LOG is set.
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}
