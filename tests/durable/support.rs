//! Running the real server binary and talking to it like a client does.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use natter::protocol::{ServerMsg, decode_line};

/// Longest any single wait in these tests may take before it counts as a hang.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub const ACCOUNTS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
    ("s0", "p"),
    ("s1", "p"),
    ("s2", "p"),
    ("r0", "p"),
    ("r1", "p"),
    ("r2", "p"),
];

/// Writes the credentials file into `dir` and returns its path.
pub fn credentials(dir: &Path) -> PathBuf {
    let path = dir.join("credentials.txt");
    let text: String = ACCOUNTS.iter().map(|(u, p)| format!("{u} {p}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `natter-server` process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

static STARTS: AtomicUsize = AtomicUsize::new(0);

/// How a start that did not reach "listening" ended.
#[derive(Debug)]
pub struct Failed {
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

impl Server {
    /// Starts the server with the credentials in `dir`, on 127.0.0.1 and a free port, plus `args`.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        Server::try_start(dir, args).unwrap_or_else(|f| panic!("server did not start: {f:?}"))
    }

    fn spawn(dir: &Path, args: &[&str]) -> (Child, PathBuf) {
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let log = dir.join(format!("server-{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_natter-server"))
            .args(["0", "--bind", "127.0.0.1", "--credentials"])
            .arg(dir.join("credentials.txt"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn natter-server");
        (child, log)
    }

    /// Starts the server and `kill -9`s it `after` later, whether or not it is listening yet: a crash
    /// during start-up (opening the store, recovering its log, closing old sessions).
    pub fn kill_while_starting(dir: &Path, args: &[&str], after: Duration) {
        let (mut child, _) = Server::spawn(dir, args);
        std::thread::sleep(after);
        let _ = child.kill();
        child.wait().expect("reap");
    }

    pub fn try_start(dir: &Path, args: &[&str]) -> Result<Server, Failed> {
        let (mut child, log) = Server::spawn(dir, args);
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
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(Server { child, addr, log }),
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no chance to flush, close or say goodbye.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then waits for the clean exit.
    pub fn stop(mut self) -> ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = wait_timeout(&mut self.child, PATIENCE);
        status.unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!("server did not stop within {PATIENCE:?} of SIGTERM")
        })
    }

    pub fn log_text(&self) -> String {
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

/// One client connection, reading and writing whole protocol lines.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.set_write_timeout(Some(PATIENCE))?;
        Ok(Client {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    /// Logs in; the lines after the password up to and including the welcome are returned.
    pub fn login(addr: SocketAddr, user: &str, password: &str) -> std::io::Result<Client> {
        let mut c = Client::connect(addr)?;
        let got = c.attempt_login(user, password)?;
        if got.iter().any(|m| matches!(m, ServerMsg::Welcome { .. })) {
            Ok(c)
        } else {
            Err(std::io::Error::other(format!(
                "login of {user} failed: {got:?}"
            )))
        }
    }

    /// Sends a username and password and reads until a welcome, or until the server says goodbye.
    pub fn attempt_login(&mut self, user: &str, password: &str) -> std::io::Result<Vec<ServerMsg>> {
        self.send(user)?;
        self.send(password)?;
        let mut got = Vec::new();
        loop {
            let m = match self.recv() {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !got.is_empty() => {
                    return Ok(got);
                }
                Err(e) => return Err(e),
            };
            let done = matches!(m, ServerMsg::Welcome { .. } | ServerMsg::Bye(_));
            got.push(m);
            if done {
                return Ok(got);
            }
        }
    }

    /// A second handle on the same connection, for reading replies on another thread. Lines already
    /// buffered by this one stay here.
    pub fn try_clone_reader(&self) -> std::io::Result<Client> {
        Ok(Client {
            reader: BufReader::new(self.writer.try_clone()?),
            writer: self.writer.try_clone()?,
        })
    }

    pub fn send(&mut self, line: &str) -> std::io::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes())
    }

    /// The next line from the server, decoded. End of stream is `UnexpectedEof`.
    pub fn recv(&mut self) -> std::io::Result<ServerMsg> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\n', '\r']);
        decode_line(line).map_err(|e| std::io::Error::other(format!("{e}: {line:?}")))
    }

    /// Reads lines until one matches `last` (included).
    pub fn recv_until(
        &mut self,
        mut last: impl FnMut(&ServerMsg) -> bool,
    ) -> std::io::Result<Vec<ServerMsg>> {
        let mut got = Vec::new();
        loop {
            let m = self.recv()?;
            let done = last(&m);
            got.push(m);
            if done {
                return Ok(got);
            }
        }
    }

    /// Sends `line` and reads up to the reply that `last` recognises.
    pub fn ask(
        &mut self,
        line: &str,
        last: impl FnMut(&ServerMsg) -> bool,
    ) -> std::io::Result<Vec<ServerMsg>> {
        self.send(line)?;
        self.recv_until(last)
    }
}

/// A small deterministic random source (SplitMix64), so a failing run can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A seed from the environment variable `var`, or a fresh one; printed so a failure can be replayed.
pub fn seed(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{var}={seed}");
    seed
}
