//! `natter-bench`: a load generator for natter and for IRC servers, verifying every delivery while it
//! measures. docs/PERFORMANCE.md has the figures and how they were taken.
//!
//! Modules, one job each: [`workload`] (who sends what to whom), [`proto`] (natter and IRC lines),
//! [`connect`] (sockets and source addresses), [`engine`] (worker threads and phases), [`verify`]
//! (message stamps and the exactly-once ledger), [`procstat`] (the server's CPU and memory),
//! [`report`] (figures and the comparison table), [`smoke`] (a seconds-long self-test for CI),
//! [`flood`] and [`mailbox`] (what one user's flood, or a full mailbox, costs), and [`relay`] (the
//! do-nothing server natter is measured against: the floor under its cost).

mod connect;
mod engine;
mod flood;
mod mailbox;
mod one_user;
mod procstat;
mod proto;
mod relay;
mod report;
mod smoke;
mod tls;
mod verify;
mod workload;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use engine::{Limits, Shared};
use procstat::Proc;
use proto::ProtoKind;
use report::Report;
use workload::{Plan, Workload};

/// Load generator for natter (and, for comparison, IRC servers).
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run one workload against a running server and print its figures.
    Run(RunArgs),
    /// Write a credentials file with the bench accounts `u0`..`u<N-1>` (password `pw-<i>`).
    GenCredentials {
        /// How many accounts.
        count: u32,
        /// Where to write them.
        path: PathBuf,
    },
    /// Print the comparison table of `run --json` outputs (one JSON report per line).
    Table {
        /// Files of JSON reports; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// One user floods another while quiet users time `whoelse`: what flood control protects.
    Flood(flood::FloodArgs),
    /// Start a natter server, run every workload tiny against it, check all of them: seconds, for CI.
    Smoke {
        /// The natter-server binary (default: the one next to this program).
        #[arg(long, value_name = "PATH")]
        server_bin: Option<PathBuf>,
    },
    /// Serve as the do-nothing relay: natter's lines with no accounts, storage, rules or limits, the
    /// limit natter's figures are measured against (run it with `--proto relay`). Runs until killed.
    Relay(relay::RelayArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// What to run.
    #[arg(value_enum)]
    workload: Workload,
    /// The server's address. Repeat it for the nodes of a cluster: users are spread over them in
    /// turn (u0 on the first, u1 on the second...), and direct messages then always go to a user on
    /// another node.
    #[arg(long, default_value = "127.0.0.1:4000")]
    addr: Vec<SocketAddr>,
    /// The protocol the server speaks.
    #[arg(long, value_enum, default_value = "natter")]
    proto: ProtoKind,
    /// The server's process id, for its CPU seconds and memory (from /proc).
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// The server's name in reports and the comparison table.
    #[arg(long, default_value = "natter")]
    label: String,
    /// idle: keep every connection open this many seconds after the setup before measuring (several
    /// generators filling one cluster then overlap).
    #[arg(long, default_value_t = 0.0, value_name = "SECS")]
    hold: f64,
    /// The first user is `u<N>` (and so on up): several generators, each with its own users, can share
    /// one server or cluster (each process has its own open-file limit).
    #[arg(long, default_value_t = 0, value_name = "N")]
    first_user: u32,
    /// Users online (login: the pool of accounts the churn logs in).
    #[arg(long, default_value_t = 1000)]
    users: u32,
    /// Messages each sender sends (open loop: default rate × duration ÷ senders).
    #[arg(long)]
    messages: Option<u32>,
    /// Closed loop: messages in flight per sender (fanout: broadcasts in flight per sender).
    #[arg(long, default_value_t = 32)]
    window: u32,
    /// fanout: how many of the users broadcast.
    #[arg(long, default_value_t = 10)]
    senders: u32,
    /// offline: how many offline users the messages go to [default: --users].
    #[arg(long)]
    recipients: Option<u32>,
    /// Open loop: messages per second, over all senders, sent on schedule; latency is measured from
    /// the time each message was due.
    #[arg(long, value_name = "MSGS_PER_SEC")]
    rate: Option<f64>,
    /// Open loop and login: how long to run, seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Bytes of message text.
    #[arg(long, default_value_t = report::DEFAULT_SIZE)]
    size: usize,
    /// login: connect-login-logout cycles in flight.
    #[arg(long, default_value_t = 10)]
    concurrency: u32,
    /// history: sessions that log in and out once (with --concurrency in flight) before the queries.
    #[arg(long, default_value_t = 1000)]
    history: u32,
    /// login: users kept online during the churn (each gets every presence change).
    #[arg(long, default_value_t = 0)]
    idle_users: u32,
    /// Worker threads of the generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Source addresses 127.0.0.1..=127.0.0.N to spread connections over.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..))]
    sources: u8,
    /// Connections logging in at once during setup, per thread.
    #[arg(long, default_value_t = 64)]
    dial_limit: u32,
    /// Give up when nothing has happened for this many seconds.
    #[arg(long, default_value_t = 15.0)]
    stall: f64,
    /// Give up when connecting and logging everybody in takes longer than this many seconds.
    #[arg(long, default_value_t = 600.0)]
    setup_timeout: f64,
    /// Seed of the choice of recipients.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the report as one line of JSON.
    #[arg(long)]
    json: bool,
    /// Speak TLS to the server (natter-server's default; peers with a TLS port).
    #[arg(long)]
    tls: bool,
    /// natter and the relay: say `acks on` at login and acknowledge every message received (`ack
    /// <id>`, once per read), as the natter client does, instead of `acks off`.
    #[arg(long)]
    acks: bool,
    /// login: each cycle only connects and waits for the server's first line (with --tls, a whole
    /// handshake), then closes: connections (handshakes) per second.
    #[arg(long)]
    handshake_only: bool,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run(args) => run(&args).map(|r| r.ok),
        Cmd::GenCredentials { count, path } => gen_credentials(count, &path).map(|()| true),
        Cmd::Table { files } => print_table(&files).map(|()| true),
        Cmd::Flood(args) => flood::run(&args).map(|()| true),
        Cmd::Smoke { server_bin } => smoke::run(server_bin),
        Cmd::Relay(args) => relay::run(&args).map(|()| true),
    };
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("natter-bench: error: {e:#}");
            std::process::exit(2);
        }
    }
}

impl RunArgs {
    /// Arguments for a run with every default, for the smoke test.
    pub fn defaults(workload: Workload, addr: SocketAddr) -> RunArgs {
        let mut a = RunArgs::try_parse_from(["run", workload.name()]).expect("defaults parse");
        a.addr = vec![addr];
        a
    }

    fn plan(&self) -> Plan {
        let senders = match self.workload {
            Workload::Fanout | Workload::Group => self.senders,
            Workload::Direct | Workload::Offline | Workload::History => self.users,
            _ => 0,
        };
        let messages = self.messages.unwrap_or_else(|| match self.rate {
            Some(rate) if senders > 0 => ((rate * self.duration) / f64::from(senders))
                .ceil()
                .max(1.0) as u32,
            _ => 100,
        });
        Plan {
            workload: self.workload,
            proto: self.proto,
            users: self.users,
            senders: self.senders,
            recipients: self.recipients.unwrap_or(self.users),
            messages,
            window: self.window,
            rate: self.rate,
            size: self.size,
            concurrency: self.concurrency,
            idle_users: self.idle_users,
            duration: self.duration,
            history: self.history,
            seed: self.seed,
            tls: self.tls,
            acks: self.acks,
            handshake_only: self.handshake_only,
            nodes: self.addr.len() as u32,
            first_user: self.first_user,
        }
    }
}

#[derive(Parser, Debug)]
struct RunOnly {
    #[command(flatten)]
    args: RunArgs,
}

impl RunArgs {
    fn try_parse_from<I, T>(it: I) -> Result<RunArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        <RunOnly as Parser>::try_parse_from(it).map(|r| r.args)
    }
}

pub fn run(args: &RunArgs) -> Result<Report> {
    let plan = args.plan();
    plan.validate().map_err(anyhow::Error::msg)?;
    if args.threads == 0 || args.threads > 64 {
        bail!("--threads must be 1 to 64");
    }
    let (soft, _hard) = procstat::raise_nofile_limit().context("reading RLIMIT_NOFILE")?;
    let at_once = u64::from(plan.online())
        + match plan.workload {
            Workload::Offline => u64::from(plan.recipients),
            Workload::Login | Workload::History => u64::from(plan.concurrency),
            _ => 0,
        };
    engine::check_fd_budget(at_once, soft)?;
    let server = args.server_pid.map(Proc::new).transpose()?;
    let sh = Shared::new(
        plan,
        args.addr.clone(),
        args.sources,
        args.threads,
        args.dial_limit.max(1),
    )
    .context("creating pollers")?;
    let limits = Limits {
        stall: Duration::from_secs_f64(args.stall.max(0.1)),
        setup: Duration::from_secs_f64(args.setup_timeout.max(0.1)),
        hold: Duration::from_secs_f64(args.hold.max(0.0)),
    };
    let outcome = engine::run(&sh, server.as_ref(), &limits)?;
    let mut report = Report::new(&sh, &outcome, &args.label, args.threads);
    report.server_pid = args.server_pid;
    if outcome.lost > 0 {
        report.fault_examples.push(format!(
            "lost: {} deliveries never arrived (ledger entries {:?}…)",
            outcome.lost, outcome.lost_examples
        ));
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.text());
    }
    std::io::stdout().flush()?;
    Ok(report)
}

fn gen_credentials(count: u32, path: &std::path::Path) -> Result<()> {
    let mut text = String::with_capacity(count as usize * 16);
    text.push_str("# natter-bench accounts: u<i> with password pw-<i>\n");
    for i in 0..count {
        text.push_str(&proto::user_name(i));
        text.push(' ');
        text.push_str(&proto::password(i));
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn print_table(files: &[PathBuf]) -> Result<()> {
    let mut reports = Vec::new();
    for f in files {
        let text = if f.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())?
        } else {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if !line.starts_with('{') {
                continue;
            }
            let r: Report = serde_json::from_str(line).with_context(|| {
                format!("{} line {}: not a natter-bench report", f.display(), i + 1)
            })?;
            reports.push(r);
        }
    }
    if reports.is_empty() {
        bail!("no reports found (give files written by `natter-bench run --json`)");
    }
    print!("{}", report::table(&reports));
    Ok(())
}
