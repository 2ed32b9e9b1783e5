//! The real `natter-server` binary as a child process: started from a builder (its directory, its
//! accounts, its flags, its open-file limit), found through the `listening on ADDR` line it prints on
//! standard output, stopped or killed on demand, and always killed when dropped, so a failing test
//! leaves nothing running.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{ACCOUNTS, Client, PATIENCE, dir_with};

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_natter-server")
}

/// Where the server runs: a temporary directory the server owns, or one the test keeps (to restart a
/// server on the same data).
enum Dir {
    Owned(tempfile::TempDir),
    Kept(PathBuf),
}

impl Dir {
    fn path(&self) -> &Path {
        match self {
            Dir::Owned(d) => d.path(),
            Dir::Kept(p) => p,
        }
    }
}

/// How to start a server. By default: a fresh temporary directory with [`ACCOUNTS`] in
/// `credentials.txt`, and `0 --bind 127.0.0.1 --credentials <that file> --plaintext` before the
/// test's arguments (most tests speak the protocol line by line; TLS has tests of its own, see
/// [`ServerCmd::tls`]).
pub struct ServerCmd {
    dir: Option<PathBuf>,
    accounts: &'static [(&'static str, &'static str)],
    args: Vec<String>,
    standard: bool,
    tls: bool,
    fd_limit: Option<u32>,
}

/// How a start that did not reach "listening" ended.
#[derive(Debug)]
pub struct Failed {
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

static STARTS: AtomicUsize = AtomicUsize::new(0);

impl ServerCmd {
    /// Runs in `dir`, which the test keeps and has written the credentials into.
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// The accounts of the fresh directory.
    pub fn accounts(mut self, accounts: &'static [(&'static str, &'static str)]) -> Self {
        self.accounts = accounts;
        self
    }

    /// Arguments after the standard ones (positional block duration and timeout, flags).
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.args.extend(args.iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Exactly these arguments, nothing added (the server then reads `credentials.txt` from its
    /// working directory, the fresh one).
    pub fn raw<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.standard = false;
        self.args(args)
    }

    /// Speak TLS, the server's default (no `--plaintext`).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// The process may have at most `limit` open files.
    pub fn fd_limit(mut self, limit: u32) -> Self {
        self.fd_limit = Some(limit);
        self
    }

    pub fn start(self) -> Server {
        self.try_start()
            .unwrap_or_else(|f| panic!("server did not start: {f:?}"))
    }

    pub fn try_start(self) -> Result<Server, Failed> {
        let (mut child, dir, log) = self.spawn();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(PATIENCE).unwrap_or_default();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .map(|a| {
                // Listening on every interface: talk to it on loopback.
                let ip = if a.ip().is_unspecified() {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    a.ip()
                };
                SocketAddr::new(ip, a.port())
            });
        match addr {
            Some(addr) => Ok(Server {
                child,
                addr,
                dir,
                log,
            }),
            None => {
                let status = wait_timeout(&mut child, PATIENCE);
                if status.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                Err(Failed {
                    status,
                    stderr: std::fs::read_to_string(&log).unwrap_or_default(),
                })
            }
        }
    }

    /// Starts the server and `kill -9`s it `after` later, whether or not it is listening yet: a crash
    /// during start-up.
    pub fn kill_while_starting(self, after: Duration) {
        let (mut child, _dir, _) = self.spawn();
        std::thread::sleep(after);
        let _ = child.kill();
        child.wait().expect("reap");
    }

    fn spawn(self) -> (Child, Dir, PathBuf) {
        let dir = match self.dir {
            Some(path) => Dir::Kept(path),
            None => Dir::Owned(dir_with(self.accounts)),
        };
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let log = dir.path().join(format!("server-{n}.log"));
        let mut cmd = match self.fd_limit {
            Some(limit) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(server_bin());
                c
            }
            None => Command::new(server_bin()),
        };
        if self.standard {
            cmd.args(["0", "--bind", "127.0.0.1", "--credentials"])
                .arg(dir.path().join("credentials.txt"));
            if !self.tls {
                cmd.arg("--plaintext");
            }
        }
        let child = cmd
            .args(&self.args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn natter-server");
        (child, dir, log)
    }
}

/// A running `natter-server` process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    dir: Dir,
    log: PathBuf,
}

impl Server {
    /// A builder with the defaults (see [`ServerCmd`]).
    pub fn cmd() -> ServerCmd {
        ServerCmd {
            dir: None,
            accounts: ACCOUNTS,
            args: Vec::new(),
            standard: true,
            tls: false,
            fd_limit: None,
        }
    }

    /// The defaults plus `args`.
    pub fn start(args: &[&str]) -> Server {
        Server::cmd().args(args).start()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The directory it runs in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Sends a signal by name (`TERM`, `INT`, `STOP`...).
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Ctrl-C, then waits for the exit.
    pub fn interrupt(&mut self) {
        self.signal("INT");
        let _ = wait_timeout(&mut self.child, PATIENCE);
    }

    /// SIGTERM, then waits for the clean exit.
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        let status = wait_timeout(&mut self.child, PATIENCE);
        status.unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!("server did not stop within {PATIENCE:?} of SIGTERM")
        })
    }

    /// `kill -9`: no chance to flush, close or say goodbye.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Waits for the process to exit by itself (bounded), returning its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        match wait_timeout(&mut self.child, PATIENCE) {
            Some(status) => status.code(),
            None => {
                let _ = self.child.kill();
                panic!("server did not exit within {PATIENCE:?}");
            }
        }
    }

    /// What it has logged so far. A running server writes a line up to 20 ms after it logs it (it
    /// holds its lines to write many with one `write`: `shell::turn_log`), so this waits a little
    /// longer than that first: what the server logged before the call is in what it returns.
    pub fn log(&self) -> String {
        std::thread::sleep(natter::shell::turn_log::HOLD_FOR + Duration::from_millis(30));
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A test that panics must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
