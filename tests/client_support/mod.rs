//! What the client end-to-end tests share: a real `natter-server` on a free port, a recording relay in
//! front of it, and real `natter` clients with piped stdin/stdout.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any one expected line may take to appear.
pub const WAIT: Duration = Duration::from_secs(15);

pub const CREDENTIALS: &str = "alice wonderland\nbob builder\ncarol christmas\ndave grohl42\n";

/// A `natter-server` child on 127.0.0.1 with a port the system chose; killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server with `args` after the port (block duration, timeout, options).
    pub fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials.txt");
        std::fs::write(&creds, CREDENTIALS).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_natter-server"))
            .arg("0")
            .args(args)
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--credentials")
            .arg(&creds)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting natter-server");
        let stderr = child.stderr.take().unwrap();
        // From here on a panic (no port in the log) still stops the child.
        let mut server = Server {
            child,
            port: 0,
            _dir: dir,
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + WAIT;
        server.port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("the server never said where it listens");
            if let Some(rest) = line.split("listening on ").nth(1) {
                // "listening on 127.0.0.1:PORT: N accounts from ..."
                let addr = rest.split(": ").next().unwrap_or("");
                let port = addr.rsplit(':').next().unwrap_or("");
                let digits: String = port.chars().take_while(|c| c.is_ascii_digit()).collect();
                break digits.parse().expect("a port number");
            }
        };
        // Keep draining the server's log so it never blocks on a full pipe.
        thread::spawn(move || while rx.recv().is_ok() {});
        server
    }

    /// Stops the server the way Ctrl-C does (clients are told it is shutting down).
    pub fn interrupt(&mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay in front of the server that records every byte in both directions, so a test can prove
/// what did — and did not — pass through the server.
pub struct Relay {
    pub port: u16,
    recorded: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    pub fn start(server_port: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let rec = recorded.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let rec = rec.clone();
                    thread::spawn(move || pump(from, to, rec));
                }
            }
        });
        Relay { port, recorded }
    }

    /// Everything that went through, both ways.
    pub fn recorded(&self) -> String {
        String::from_utf8_lossy(&self.recorded.lock().unwrap()).into_owned()
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, rec: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                rec.lock().unwrap().extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// The `natter` command for `port`, with its state in `state_dir`, colour off.
pub fn natter(port: u16, state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    cmd.arg(port.to_string())
        .arg("--state-dir")
        .arg(state_dir)
        .env_remove("RUST_LOG");
    cmd
}

/// A `natter` client with piped stdin and stdout, as a script would run it.
pub struct Piped {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every line seen so far, for failure messages and for "never shown" checks.
    pub seen: Vec<String>,
    /// Lines before this index were passed by an earlier `expect`; later ones may still match.
    matched: usize,
    pub state_dir: PathBuf,
}

impl Piped {
    pub fn spawn(name: &str, port: u16, state_dir: &Path) -> Piped {
        let mut child = natter(port, state_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting natter");
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        Piped {
            name: name.to_owned(),
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
            matched: 0,
            state_dir: state_dir.to_owned(),
        }
    }

    /// Spawns and logs in as `user` with `password`, waiting for the welcome.
    pub fn login(user: &str, password: &str, port: u16, state_dir: &Path) -> Piped {
        let mut c = Piped::spawn(user, port, state_dir);
        c.send(user);
        c.send(password);
        c.expect(&format!("Welcome to natter, {user}!"));
        // The client registers its private-chat port right after the welcome; a reply to a later command
        // means the server has it, so another client's `startprivate` cannot overtake it.
        c.send("whoelse");
        c.expect_any(&["* Online now:", "* Nobody else is online."]);
        c
    }

    /// Waits for a line containing any of `needles` (after the last matched line).
    pub fn expect_any(&mut self, needles: &[&str]) -> String {
        if let Some(line) = self.earlier_match(needles) {
            return line;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if needles.iter().any(|n| line.contains(n)) {
                        self.matched = self.seen.len();
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no line with {needles:?} within {WAIT:?}; saw:\n{}",
                    self.name,
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: output ended without {needles:?}; saw:\n{}",
                    self.name,
                    self.seen.join("\n")
                ),
            }
        }
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin: the end of the script.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for a line containing `needle` after the line the last expectation matched; returns it.
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_any(&[needle])
    }

    fn earlier_match(&mut self, needles: &[&str]) -> Option<String> {
        let i = self.seen[self.matched..]
            .iter()
            .position(|l| needles.iter().any(|n| l.contains(n)))?;
        self.matched += i + 1;
        Some(self.seen[self.matched - 1].clone())
    }

    /// Waits for the client to exit, collecting the rest of its output.
    pub fn wait(&mut self) -> ExitStatus {
        self.stdin = None;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Drain what is left.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{}: did not exit within {WAIT:?}; saw:\n{}",
                    self.name,
                    self.seen.join("\n")
                );
            }
            while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(20)) {
                self.seen.push(line);
            }
        }
    }

    /// Whether any line so far contains `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        self.seen.iter().any(|l| l.contains(needle))
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
