//! Stored-message throughput: group commit versus one commit per message.
//!
//! `cargo bench --bench store` prints messages per second for:
//!
//! 1. the store alone: one transaction per message, versus transactions of 64 messages;
//! 2. the real server (the smol shell on loopback, clients on threads) storing messages for offline
//!    users: group commit with the commit thread pipelined (the default), group commit with the driver
//!    waiting for each commit, and one commit per message.
//!
//! Every commit syncs to disk (`synchronous = FULL`), so the figures depend on the disk's sync latency.
//! The store lives under the target directory, on the same disk as the build, not in a RAM-backed /tmp.
//! `NATTER_BENCH_SCALE` multiplies the message counts (default 1).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use natter::shell::persist::Persister;
use natter::shell::server::{ShellOptions, spawn};
use natter::store::Store;
use natter_core::protocol::{ServerMsg, decode_line};
use natter_core::server::{Account, Config, Record, ServerState};
use natter_core::time::Timestamp;

const RECIPIENTS: usize = 4;
const SENDERS: usize = 32;

fn scale() -> usize {
    std::env::var("NATTER_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temporary directory")
}

fn message(id: u64) -> Record {
    Record::MessageStored {
        id,
        to: format!("r{}", id as usize % RECIPIENTS).into(),
        from: "s0".into(),
        group: None,
        sent_at: Timestamp(1_700_000_000_000 + id),
        text: format!("benchmark message number {id}, of a typical chat length"),
    }
}

/// Messages per second through `Store::commit`, `per_commit` messages per transaction.
fn store_alone(messages: usize, per_commit: usize) -> f64 {
    let dir = temp_dir();
    let mut store = Store::open(dir.path()).expect("open store");
    let records: Vec<Record> = (1..=messages as u64).map(message).collect();
    let start = Instant::now();
    for chunk in records.chunks(per_commit) {
        store.commit(chunk).expect("commit");
    }
    messages as f64 / start.elapsed().as_secs_f64()
}

/// The baseline: the same store, but every record is its own transaction (its own sync).
struct OneCommitPerRecord(Store);

impl Persister for OneCommitPerRecord {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        for r in records {
            self.0
                .commit(std::slice::from_ref(r))
                .map_err(io::Error::other)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Mode {
    GroupPipelined,
    GroupWaiting,
    OnePerMessage,
}

/// How the senders load the server.
#[derive(Clone, Copy)]
enum Load {
    /// Each sender waits for `STORED` before sending its next message, like a person typing: a commit
    /// can only group the messages of different senders.
    Closed,
    /// Each sender sends all its messages at once without waiting: the most a commit can group.
    Open,
}

/// Messages per second stored through the real server: `SENDERS` clients each send `per_sender`
/// messages to offline users; the clock stops at the last `STORED` reply.
fn through_server(mode: Mode, load: Load, per_sender: usize) -> f64 {
    let dir = temp_dir();
    let store = Store::open(dir.path()).expect("open store");
    let persister: Box<dyn Persister> = match mode {
        Mode::OnePerMessage => Box::new(OneCommitPerRecord(store)),
        _ => Box::new(store),
    };
    let opts = ShellOptions {
        commit_depth: match mode {
            Mode::GroupWaiting => 1,
            _ => 2,
        },
        ..ShellOptions::default()
    };
    let accounts = (0..SENDERS)
        .map(|i| format!("s{i}"))
        .chain((0..RECIPIENTS).map(|i| format!("r{i}")))
        .map(|username| Account {
            username,
            password: "pw".into(),
        })
        .collect();
    let config = Config {
        mailbox_limit: 10_000_000,
        ..Config::default()
    };
    let core = ServerState::new(config, accounts, [9; 32]);
    let listener =
        smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).expect("bind loopback");
    let server = spawn(listener, core, persister, opts).expect("start server");
    let addr = server.local_addr;

    // Log everyone in first, so only storing is timed.
    let clients: Vec<_> = (0..SENDERS)
        .map(|i| login(addr, &format!("s{i}")).expect("login"))
        .collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(SENDERS + 1));
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, (mut writer, mut reader))| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let lines: Vec<String> = (0..per_sender)
                    .map(|n| {
                        format!(
                            "message r{} message {n} from sender {i}\n",
                            (i + n) % RECIPIENTS
                        )
                    })
                    .collect();
                barrier.wait();
                match load {
                    Load::Open => {
                        writer.write_all(lines.concat().as_bytes()).expect("send");
                        await_stored(&mut reader, per_sender);
                    }
                    Load::Closed => {
                        for line in &lines {
                            writer.write_all(line.as_bytes()).expect("send");
                            await_stored(&mut reader, 1);
                        }
                    }
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for t in threads {
        t.join().expect("sender");
    }
    let elapsed = start.elapsed();
    smol::block_on(server.shutdown()).expect("clean shutdown");
    (SENDERS * per_sender) as f64 / elapsed.as_secs_f64()
}

/// Reads replies until `n` messages were stored; anything else for a message is a failed benchmark.
fn await_stored(reader: &mut BufReader<TcpStream>, n: usize) {
    let mut stored = 0;
    let mut line = String::new();
    while stored < n {
        line.clear();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "server closed"
        );
        match decode_line(line.trim_end()) {
            Ok(ServerMsg::Stored { .. }) => stored += 1,
            Ok(ServerMsg::Error(e)) => panic!("not stored: {e:?}"),
            _ => {}
        }
    }
}

fn login(addr: SocketAddr, user: &str) -> io::Result<(TcpStream, BufReader<TcpStream>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.write_all(format!("{user}\npw\n").as_bytes())?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Ok(ServerMsg::Welcome { .. }) = decode_line(line.trim_end()) {
            return Ok((stream, reader));
        }
    }
}

/// Runs `f` three times and returns the median, printing all three.
fn median(label: &str, mut f: impl FnMut() -> f64) -> f64 {
    let mut runs: Vec<f64> = (0..3).map(|_| f()).collect();
    runs.sort_by(f64::total_cmp);
    let all: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "{label:<58} {:>9.0} msg/s  (runs: {})",
        runs[1],
        all.join(", ")
    );
    runs[1]
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: then one tiny pass, as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let k = if smoke { 0 } else { scale() };
    let n = |full: usize, tiny: usize| if smoke { tiny } else { full * k };
    let (alone_single, alone_group) = (n(500, 8), n(4000, 64));
    let (closed_group, closed_single) = (n(60, 2), n(4, 1));
    let open = n(2000, 4);

    println!("Durable store: stored-message throughput (median of 3 runs)");
    println!("store alone:");
    let single = median(
        &format!("  one commit per message ({alone_single} msgs)"),
        || store_alone(alone_single, 1),
    );
    let group = median(
        &format!("  group commit, 64 per commit ({alone_group} msgs)"),
        || store_alone(alone_group, 64),
    );
    println!(
        "  -> group commit {:.0}x one commit per message",
        group / single
    );

    println!("real server, {SENDERS} senders, each waiting for STORED before its next message:");
    let one = median(
        &format!("  one commit per message ({SENDERS}x{closed_single} msgs)"),
        || through_server(Mode::OnePerMessage, Load::Closed, closed_single),
    );
    let grouped = median(
        &format!("  group commit, pipelined ({SENDERS}x{closed_group} msgs)"),
        || through_server(Mode::GroupPipelined, Load::Closed, closed_group),
    );
    println!(
        "  -> group commit {:.0}x one commit per message",
        grouped / one
    );

    println!("real server, {SENDERS} senders, each sending all its messages without waiting:");
    let piped = median(
        &format!("  group commit, pipelined ({SENDERS}x{open} msgs)"),
        || through_server(Mode::GroupPipelined, Load::Open, open),
    );
    let waiting = median(
        &format!("  group commit, driver waits for each ({SENDERS}x{open} msgs)"),
        || through_server(Mode::GroupWaiting, Load::Open, open),
    );
    println!("  -> pipelining {:.2}x waiting", piped / waiting);
}
