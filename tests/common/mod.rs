//! Shared helpers for the integration tests: a server on 127.0.0.1:0 (in-process, or the real binary)
//! and a blocking line client that decodes what the server says.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use natter::protocol::{ServerMsg, decode_line};
use natter::server::{Account, Config, ServerState};
use natter::shell::persist::CredentialsFile;
use natter::shell::server::{ServerHandle, ShellOptions, spawn};

pub const ACCOUNTS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
];

/// How long a test waits for a line before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn config() -> Config {
    Config {
        block_duration_secs: 60,
        timeout_secs: 120,
        ..Config::default()
    }
}

/// A server running in this process on smol's global executor.
pub struct TestServer {
    pub addr: SocketAddr,
    handle: Option<ServerHandle>,
    _dir: tempfile::TempDir,
    pub credentials: PathBuf,
}

impl TestServer {
    pub fn start() -> Self {
        Self::with(config(), ShellOptions::default())
    }

    pub fn with(config: Config, opts: ShellOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials.txt");
        let text: String = ACCOUNTS.iter().map(|(u, p)| format!("{u} {p}\n")).collect();
        std::fs::write(&credentials, text).unwrap();
        let accounts = ACCOUNTS
            .iter()
            .map(|(u, p)| Account {
                username: (*u).into(),
                password: (*p).into(),
            })
            .collect();
        let core = ServerState::new(config, accounts, [9; 32]);
        let listener = smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let handle = spawn(
            listener,
            core,
            Box::new(CredentialsFile::new(&credentials)),
            opts,
        )
        .unwrap();
        TestServer {
            addr: handle.local_addr,
            handle: Some(handle),
            _dir: dir,
            credentials,
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Logs `user` in (password from ACCOUNTS), returning the client after the welcome.
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

pub fn password_of(user: &str) -> &'static str {
    ACCOUNTS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, p)| *p)
        .unwrap_or("?")
}

/// A blocking client speaking the wire protocol.
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    /// The next raw line, without its newline; `None` at end of stream.
    pub fn next_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
            Err(e) => panic!("no line from the server within {PATIENCE:?}: {e}"),
        }
    }

    /// The next line, decoded. Panics at end of stream.
    pub fn next(&mut self) -> ServerMsg {
        let line = self.next_line().expect("server closed the connection");
        decode_line(&line).unwrap_or_else(|e| panic!("undecodable line {line:?}: {e}"))
    }

    /// Reads lines until one satisfies `want`, returning it; panics (listing what came) otherwise.
    pub fn expect(&mut self, what: &str, want: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let Some(line) = self.next_line() else {
                panic!("closed while waiting for {what}; saw {seen:#?}");
            };
            let msg = decode_line(&line).unwrap_or_else(|e| panic!("undecodable {line:?}: {e}"));
            if want(&msg) {
                return msg;
            }
            seen.push(msg);
        }
        panic!("no {what} within {PATIENCE:?}; saw {seen:#?}");
    }

    /// Reads until the server closes the connection, returning what came.
    pub fn until_closed(&mut self) -> Vec<ServerMsg> {
        let mut v = Vec::new();
        while let Some(line) = self.next_line() {
            v.push(decode_line(&line).unwrap());
        }
        v
    }

    pub fn login(&mut self, user: &str, password: &str) {
        self.expect("username prompt", |m| {
            matches!(m, ServerMsg::Prompt(natter::protocol::Prompt::Username))
        });
        self.send(user);
        self.expect("password prompt", |m| {
            matches!(m, ServerMsg::Prompt(natter::protocol::Prompt::Password))
        });
        self.send(password);
        self.expect("welcome", |m| matches!(m, ServerMsg::Welcome { .. }));
    }
}

/// A temporary directory holding a `credentials.txt` with [`ACCOUNTS`].
pub fn dir_with_accounts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text: String = ACCOUNTS.iter().map(|(u, p)| format!("{u} {p}\n")).collect();
    std::fs::write(dir.path().join("credentials.txt"), text).unwrap();
    dir
}

/// The real `natter-server` binary, started on port 0 in a temporary directory.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_natter-server")
}

impl ServerProcess {
    /// Starts the binary with the test accounts and extra arguments, waiting for its listening line.
    pub fn start(args: &[&str]) -> Self {
        Self::start_in(dir_with_accounts(), args)
    }

    /// Like [`ServerProcess::start`], with the process limited to `limit` open files.
    pub fn start_with_fd_limit(limit: u32, args: &[&str]) -> Self {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
            .arg(server_bin())
            .args(args);
        Self::spawn(dir_with_accounts(), cmd)
    }

    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Self {
        let mut cmd = Command::new(server_bin());
        cmd.args(args);
        Self::spawn(dir, cmd)
    }

    fn spawn(dir: tempfile::TempDir, mut cmd: Command) -> Self {
        let mut child = cmd
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_addr(&line)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("server did not start: {}", log.lock().unwrap()));
        ServerProcess {
            child,
            addr,
            dir,
            stderr: log,
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (bounded), returning its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("server did not exit within {PATIENCE:?}");
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds the address in the server's "listening on ADDR:" log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on ").nth(1)?;
    let addr = rest.split(": ").next()?;
    let addr: SocketAddr = addr.parse().ok()?;
    Some(SocketAddr::new([127, 0, 0, 1].into(), addr.port()))
}

/// Runs the server binary to completion with these arguments in `dir`, returning (code, stderr).
pub fn run_server_expecting_exit(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(server_bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
