//! The real `natter` client with piped standard input and output, as a script would run it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use super::PATIENCE as WAIT;

/// The `natter` command for `port`, with its state in `state_dir`, colour off.
pub fn natter(port: u16, state_dir: &Path) -> Command {
    let mut cmd = natter_tls(port, state_dir);
    cmd.arg("--plaintext");
    cmd
}

/// `natter` as it starts by default: over TLS.
pub fn natter_tls(port: u16, state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    cmd.arg(port.to_string())
        .arg("--state-dir")
        .arg(state_dir)
        .env_remove("RUST_LOG")
        // The settings file is looked for here, where the developer running the tests has none.
        .env("XDG_CONFIG_HOME", state_dir);
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
        Piped::spawn_with(name, port, state_dir, &[])
    }

    /// Like [`Piped::spawn`], with extra command-line flags.
    pub fn spawn_with(name: &str, port: u16, state_dir: &Path, flags: &[&str]) -> Piped {
        let mut cmd = natter(port, state_dir);
        cmd.args(flags);
        Piped::spawn_cmd(name, cmd, state_dir)
    }

    /// `natter` as it starts by default, over TLS, with extra flags.
    pub fn spawn_tls(name: &str, port: u16, state_dir: &Path, flags: &[&str]) -> Piped {
        let mut cmd = natter_tls(port, state_dir);
        cmd.args(flags);
        Piped::spawn_cmd(name, cmd, state_dir)
    }

    pub fn spawn_cmd(name: &str, mut cmd: Command, state_dir: &Path) -> Piped {
        let mut child = cmd
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

    /// Returns at once if any line so far contains `needle`, else waits for one: for what may come
    /// while the client logs in (a message stored for the user) or just after (the same message,
    /// sent as the user came online), which an expectation at login may have passed.
    pub fn saw_or_expect(&mut self, needle: &str) {
        if !self.saw(needle) {
            self.expect(needle);
        }
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
