//! `natter-bench smoke`: proves the generator works end to end in seconds, for CI. It starts a real
//! `natter-server` on a free loopback port with generated accounts, runs every workload (and the open
//! loop) with a handful of clients, verifies every delivery, then does the same against the
//! do-nothing relay (`natter-bench relay`, in plain text and over TLS), and prints the reports and the
//! table. The figures mean nothing at this size; passing means every message arrived exactly once.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::RunArgs;
use crate::proto::ProtoKind;
use crate::workload::Workload;

/// A natter server (or relay) child process, stopped (SIGTERM, then kill) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

/// What a load test from one host needs the server to allow: no flood control, no limits per address
/// or per account on logins, every presence change told at once (as the peers do), the whole mailbox
/// open to one sender.
pub const LOAD_TEST_FLAGS: &[&str] = &[
    "--flood-rate",
    "0",
    "--max-logins-per-address",
    "0",
    "--new-connections-per-address",
    "0",
    "--logins-per-address",
    "0",
    "--logins-per-account",
    "0",
    "--presence-interval",
    "0",
    "--failed-logins-per-address",
    "0",
    "--mailbox-share",
    "100",
];

impl Server {
    /// `tls`: the server's secure default (a self-signed certificate made in the data directory);
    /// otherwise plain text. `data_dir` is the run's own: a message a run left stored (a session that
    /// ended before the server knew its lines were read keeps them, and they come again at the next
    /// login, as they should) must not reach the next run, whose verifier would rightly call it
    /// misdelivered.
    fn start(bin: &Path, credentials: &Path, data_dir: &Path, tls: bool) -> Result<Server> {
        let mut cmd = Command::new(bin);
        if !tls {
            cmd.arg("--plaintext");
        }
        cmd.args(["0", "60", "3600", "--bind", "127.0.0.1", "--credentials"])
            .arg(credentials)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--max-outbound", "4194304", "--mailbox-limit", "100000"])
            // One host drives every user as fast as it can: a load test, not an attack.
            .args(LOAD_TEST_FLAGS)
            .env("RUST_LOG", "info");
        Server::spawn(cmd, bin)
    }

    /// The do-nothing relay (this very program), on a free port; over TLS, its certificate is made in
    /// `dir`.
    fn relay(tls: bool, dir: &Path) -> Result<Server> {
        let me = std::env::current_exe().context("locating natter-bench")?;
        let mut cmd = Command::new(&me);
        cmd.args(["relay", "0"]);
        if tls {
            cmd.arg("--tls")
                .arg("--data-dir")
                .arg(dir.join("relay-data"));
        }
        Server::spawn(cmd, &me)
    }

    fn spawn(mut cmd: Command, bin: &Path) -> Result<Server> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // Reads the server's log: the first `listening on ADDR` gives the port; the rest is drained
        // so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                bail!("{} did not say where it listens within 20 s", bin.display());
            }
        };
        Ok(Server { child, addr })
    }

    fn stop(mut self) -> Result<()> {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                // The relay has no handler: SIGTERM ends it, as intended.
                if !status.success() && status.signal() != Some(libc::SIGTERM) {
                    bail!("the server exited with {status}");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the server did not stop within 10 s of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `… listening on 127.0.0.1:4242: 64 accounts …` → the address.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let token = rest.split_whitespace().next()?.trim_end_matches(':');
    token.parse().ok()
}

fn default_server_bin() -> Result<PathBuf> {
    let me = std::env::current_exe().context("locating natter-bench")?;
    let bin = me.with_file_name("natter-server");
    if !bin.exists() {
        bail!(
            "no natter-server next to {} (build both with `cargo build --bins`, or give --server-bin)",
            me.display()
        );
    }
    Ok(bin)
}

/// The runs of the smoke test: every workload, closed and open loop, a few clients each.
fn cases(addr: SocketAddr) -> Vec<RunArgs> {
    let mut runs = Vec::new();
    let mut direct = RunArgs::defaults(Workload::Direct, addr);
    direct.users = 8;
    direct.messages = Some(50);
    direct.window = 4;
    runs.push(direct.clone());
    let mut open = direct;
    open.messages = None;
    open.rate = Some(400.0);
    open.duration = 1.0;
    runs.push(open);
    let mut fanout = RunArgs::defaults(Workload::Fanout, addr);
    fanout.users = 8;
    fanout.senders = 2;
    fanout.messages = Some(20);
    fanout.window = 4;
    runs.push(fanout.clone());
    let mut group = fanout;
    group.workload = Workload::Group;
    runs.push(group);
    let mut idle = RunArgs::defaults(Workload::Idle, addr);
    idle.users = 16;
    runs.push(idle);
    let mut login = RunArgs::defaults(Workload::Login, addr);
    login.users = 8;
    login.concurrency = 2;
    login.idle_users = 2;
    login.duration = 1.0;
    runs.push(login);
    let mut offline = RunArgs::defaults(Workload::Offline, addr);
    offline.users = 4;
    offline.recipients = Some(4);
    offline.messages = Some(10);
    runs.push(offline);
    let mut history = RunArgs::defaults(Workload::History, addr);
    history.users = 3;
    history.history = 20;
    history.concurrency = 2;
    history.messages = Some(20);
    history.window = 4;
    runs.push(history);
    // The secure default: chat, and handshakes alone, over TLS.
    let mut tls_direct = RunArgs::defaults(Workload::Direct, addr);
    tls_direct.users = 8;
    tls_direct.messages = Some(50);
    tls_direct.window = 4;
    tls_direct.tls = true;
    runs.push(tls_direct);
    let mut handshakes = RunArgs::defaults(Workload::Login, addr);
    handshakes.users = 8;
    handshakes.concurrency = 2;
    handshakes.duration = 1.0;
    handshakes.tls = true;
    handshakes.handshake_only = true;
    runs.push(handshakes);
    // What natter's own client does: acknowledge every message.
    let mut acked = RunArgs::defaults(Workload::Direct, addr);
    acked.users = 8;
    acked.messages = Some(50);
    acked.window = 4;
    acked.acks = true;
    runs.push(acked);
    for r in &mut runs {
        r.stall = 10.0;
        r.dial_limit = 8;
    }
    runs
}

/// The runs against the relay: every workload it can serve (it stores nothing, keeps no history and
/// speaks only after a login), in plain text and over TLS.
fn relay_cases(addr: SocketAddr) -> Vec<RunArgs> {
    let mut runs: Vec<RunArgs> = cases(addr)
        .into_iter()
        .filter(|r| {
            !r.handshake_only && !matches!(r.workload, Workload::Offline | Workload::History)
        })
        .collect();
    for r in &mut runs {
        r.proto = ProtoKind::Relay;
        r.label = if r.tls { "relay-tls" } else { "relay" }.to_owned();
    }
    runs
}

pub fn run(server_bin: Option<PathBuf>) -> Result<bool> {
    let bin = match server_bin {
        Some(b) => b,
        None => default_server_bin()?,
    };
    let dir = std::env::temp_dir().join(format!("natter-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_in(&bin, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(bin: &Path, dir: &Path) -> Result<bool> {
    let credentials = dir.join("credentials.txt");
    crate::gen_credentials(64, &credentials)?;
    let mut reports = Vec::new();
    let mut ok = true;
    // A fresh server and store per run, as bench-peers does: each run's figures are its own.
    let placeholder: SocketAddr = "127.0.0.1:1".parse().expect("valid address");
    let natter = cases(placeholder).into_iter().map(|a| (false, a));
    let relay = relay_cases(placeholder).into_iter().map(|a| (true, a));
    for (i, (to_relay, mut args)) in natter.chain(relay).enumerate() {
        let server = if to_relay {
            Server::relay(args.tls, dir)?
        } else {
            Server::start(bin, &credentials, &dir.join(format!("run-{i}")), args.tls)?
        };
        args.addr = vec![server.addr];
        args.server_pid = Some(server.child.id());
        let report = crate::run(&args)?;
        ok &= report.ok;
        reports.push(report);
        server.stop()?;
    }
    println!("{}", crate::report::table(&reports));
    println!(
        "smoke: {} runs, {}",
        reports.len(),
        if ok { "all verified" } else { "FAILED" }
    );
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_the_log_line() {
        let line = "2026-01-01T00:00:00Z  INFO natter_server: listening on 127.0.0.1:4242: 64 accounts from x";
        assert_eq!(
            listening_addr(line),
            Some("127.0.0.1:4242".parse().unwrap())
        );
        assert_eq!(listening_addr("nothing here"), None);
    }
}
