//! `natter-bench flood`: what one flooding user costs everybody else. User `u0` writes `message u1 …`
//! as fast as the socket takes it, `u1` reads whatever reaches it, and a few quiet users each ask
//! `whoelse` at a steady pace and time the answer. The figures that matter are the quiet users' p99
//! (flood control should keep it near the idle figure) and whether the victim `u1` stayed connected
//! (a recipient must never be dropped because of what others send).
//!
//! `--reconnect` floods the other way: `u0` logs in, sends 49 messages, logs out, and again, as fast as
//! the server answers, which used to give every session a fresh burst. The figures that matter then
//! are the messages that reached the victim each second from that one account (the flood rate is the
//! bound), the logins that went through, and how many presence lines about `u0` each quiet user got.
//!
//! Blocking sockets and one thread per user: a handful of connections, where clarity beats economy.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::one_user::login;
use crate::proto::user_name;

#[derive(clap::Args, Debug, Clone)]
pub struct FloodArgs {
    /// The server's address (plain text: flood control works the same under TLS).
    #[arg(long, default_value = "127.0.0.1:4000")]
    addr: SocketAddr,
    /// Quiet users timing `whoelse` (accounts u2.. upwards).
    #[arg(long, default_value_t = 10)]
    quiet: u32,
    /// Milliseconds between one quiet user's `whoelse` requests (kept under the server's flood rate,
    /// 20 lines a second by default, so the quiet users are never throttled themselves).
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// How long the flood lasts, seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Bytes of each flood message's text.
    #[arg(long, default_value_t = 48)]
    size: usize,
    /// Name printed with the figures.
    #[arg(long, default_value = "natter")]
    label: String,
    /// The flooder logs in, sends `--per-session` messages and logs out, in a loop, instead of
    /// writing as fast as the socket takes it in one session.
    #[arg(long)]
    reconnect: bool,
    /// With `--reconnect`: messages per session.
    #[arg(long, default_value_t = 49)]
    per_session: u32,
    /// Instead of the flood: five senders fill offline `u1`'s mailbox with this many messages of
    /// `--size` bytes, then `u1` logs in as the natter client does and reads it all (see `mailbox`).
    #[arg(long, value_name = "N")]
    mailbox: Option<usize>,
}

/// Counters the threads share.
#[derive(Default)]
struct Counts {
    flood_bytes: AtomicU64,
    slow_downs: AtomicU64,
    flooder_byes: AtomicU64,
    victim_got: AtomicU64,
    victim_bye: AtomicBool,
    victim_closed: AtomicBool,
    /// `PRESENCE u0 …` lines the quiet users received, all together.
    presence_seen: AtomicU64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One quiet user: `whoelse` every interval until `stop`, the time of each answer.
fn quiet_user(
    addr: SocketAddr,
    user: u32,
    interval: Duration,
    stop: Arc<AtomicBool>,
    c: Arc<Counts>,
) -> Result<Vec<(Instant, Duration)>> {
    let (mut w, mut r) = login(addr, user)?;
    let mut times = Vec::new();
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        w.write_all(b"whoelse\n")?;
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                bail!("{}: the server closed the connection", user_name(user));
            }
            if line.starts_with("PRESENCE u0 ") {
                c.presence_seen.fetch_add(1, Ordering::Relaxed);
            }
            if line.starts_with("WHOELSE") {
                break;
            }
        }
        times.push((sent, sent.elapsed()));
        thread::sleep(interval);
    }
    let _ = w.write_all(b"logout\n");
    Ok(times)
}

/// Reads (and counts) what the server says to the flooder, so its replies never pile up unread.
fn flood_reader(mut r: BufReader<TcpStream>, c: Arc<Counts>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.starts_with(b"ERROR slow-down") {
                        c.slow_downs.fetch_add(1, Ordering::Relaxed);
                    }
                    if line.starts_with(b"BYE") {
                        c.flooder_byes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    })
}

/// Runs the flood and prints the figures.
pub fn run(args: &FloodArgs) -> Result<()> {
    if let Some(total) = args.mailbox {
        return crate::mailbox::run(args.addr, total, args.size, &args.label);
    }
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let interval = Duration::from_millis(args.interval_ms);

    // The victim first, so the flood reaches someone online.
    let (victim_conn, mut victim_r) = login(args.addr, 1)?;
    let c = counts.clone();
    let victim = thread::spawn(move || {
        let mut line = Vec::new();
        loop {
            line.clear();
            match victim_r.read_until(b'\n', &mut line) {
                Ok(0) => {
                    c.victim_closed.store(true, Ordering::Relaxed);
                    break;
                }
                Ok(_) if line.starts_with(b"MSG ") => {
                    c.victim_got.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) if line.starts_with(b"BYE") => c.victim_bye.store(true, Ordering::Relaxed),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    break;
                }
                Err(_) => {
                    c.victim_closed.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }
    });

    let quiet: Vec<_> = (0..args.quiet)
        .map(|i| {
            let stop = stop.clone();
            let addr = args.addr;
            let c = counts.clone();
            thread::spawn(move || quiet_user(addr, 2 + i, interval, stop, c))
        })
        .collect();
    // A second of quiet figures before the flood, for the idle baseline.
    thread::sleep(Duration::from_secs(1));
    let flood_start = Instant::now();

    let text = "f".repeat(args.size.max(1));
    let one = format!("message u1 {text}\n");
    let batch = one.repeat(64);
    let deadline = flood_start + Duration::from_secs_f64(args.duration);
    // A persistent attacker: disconnected, it logs in again and carries on until the deadline.
    let mut sessions = 0u32;
    let mut loop_figures = None;
    if args.reconnect {
        let session = format!("{}logout\n", one.repeat(args.per_session as usize));
        loop_figures = Some(reconnect_loop(args.addr, &session, deadline, &counts));
    }
    while !args.reconnect && Instant::now() < deadline {
        let (flooder, flooder_r) = match login(args.addr, 0) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("flooder login: {e:#}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        sessions += 1;
        let reader = flood_reader(flooder_r, counts.clone());
        let mut w = flooder.try_clone()?;
        w.set_write_timeout(Some(Duration::from_millis(100)))?;
        while Instant::now() < deadline {
            match w.write(batch.as_bytes()) {
                Ok(n) => {
                    counts.flood_bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
        let _ = flooder.shutdown(std::net::Shutdown::Both);
        let _ = reader.join();
    }
    let flood_secs = flood_start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);

    let mut before = Vec::new();
    let mut during = Vec::new();
    for q in quiet {
        let times = q
            .join()
            .map_err(|_| anyhow::anyhow!("a quiet user's thread panicked"))??;
        // Requests sent before the flooder logged in are the idle baseline.
        for (sent, t) in times {
            if sent < flood_start {
                before.push(t);
            } else {
                during.push(t);
            }
        }
    }
    // Let the victim's reader catch up with whatever is still in flight, then stop it.
    thread::sleep(Duration::from_millis(500));
    let victim_alive = !counts.victim_closed.load(Ordering::Relaxed);
    let _ = victim_conn.shutdown(std::net::Shutdown::Both);
    let _ = victim.join();
    before.sort();
    during.sort();

    let sent = counts.flood_bytes.load(Ordering::Relaxed) / one.len() as u64;
    println!("natter-bench flood: {}", args.label);
    match &loop_figures {
        Some(l) => println!(
            "  flooder   {} rounds of login, {} messages, logout in {flood_secs:.1} s: {} logged in, \
             refused {}; told to slow down {} times, disconnected for flooding {} times",
            l.attempts,
            args.per_session,
            l.welcomed,
            l.refusals(),
            counts.slow_downs.load(Ordering::Relaxed),
            l.floods,
        ),
        None => println!(
            "  flooder   wrote {sent} messages in {flood_secs:.1} s ({:.0}/s) over {sessions} session(s): \
             told to slow down {} times, disconnected with BYE {} times",
            sent as f64 / flood_secs,
            counts.slow_downs.load(Ordering::Relaxed),
            counts.flooder_byes.load(Ordering::Relaxed),
        ),
    }
    let got = counts.victim_got.load(Ordering::Relaxed);
    println!(
        "  victim    received {got} messages ({:.0}/s), {}",
        got as f64 / flood_secs,
        if victim_alive && !counts.victim_bye.load(Ordering::Relaxed) {
            "still connected"
        } else {
            "DISCONNECTED"
        }
    );
    println!(
        "  quiet     each got {:.1} presence lines about the flooder",
        counts.presence_seen.load(Ordering::Relaxed) as f64 / f64::from(args.quiet.max(1)),
    );
    for (name, t) in [("idle", &before), ("flood", &during)] {
        println!(
            "  quiet whoelse ({name:5}) n={:5}  p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
            t.len(),
            ms(percentile(t, 0.50)),
            ms(percentile(t, 0.99)),
            ms(t.last().copied().unwrap_or_default()),
        );
    }
    if !victim_alive {
        bail!("the victim was disconnected by someone else's flood");
    }
    Ok(())
}

/// What the reconnect loop saw.
#[derive(Default)]
struct LoopFigures {
    attempts: u32,
    welcomed: u32,
    floods: u32,
    /// Refused logins, by the error or goodbye code.
    refused: std::collections::BTreeMap<String, u32>,
}

impl LoopFigures {
    fn refusals(&self) -> String {
        if self.refused.is_empty() {
            return "never".into();
        }
        let parts: Vec<String> = self
            .refused
            .iter()
            .map(|(code, n)| format!("{n} x {code}"))
            .collect();
        parts.join(", ")
    }
}

/// `u0` logs in, writes `session` (its messages and a logout), reads until the server has said
/// goodbye, and again, until `deadline`. A refused login is tried again at once, as an attacker would.
fn reconnect_loop(addr: SocketAddr, session: &str, deadline: Instant, c: &Counts) -> LoopFigures {
    let mut f = LoopFigures::default();
    while Instant::now() < deadline {
        f.attempts += 1;
        let (stream, mut r) = match login(addr, 0) {
            Ok(ok) => ok,
            Err(e) => {
                // "u0 was not logged in: ERROR too-many-logins account 7 …": keep the code. A
                // connection refused before its prompt (`BYE connect-throttled`) may show only as
                // the write of the login failing.
                let text = format!("{e:#}");
                let code = match text.split_once(": ") {
                    Some((_, line)) if line.starts_with("ERROR") || line.starts_with("BYE") => {
                        line.split(' ').take(2).collect::<Vec<_>>().join(" ")
                    }
                    _ => "connection closed at once".to_owned(),
                };
                *f.refused.entry(code).or_default() += 1;
                continue;
            }
        };
        f.welcomed += 1;
        let mut w = match stream.try_clone() {
            Ok(w) => w,
            Err(_) => continue,
        };
        if w.write_all(session.as_bytes()).is_err() {
            continue;
        }
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.starts_with(b"ERROR slow-down") {
                        c.slow_downs.fetch_add(1, Ordering::Relaxed);
                    }
                    if line.starts_with(b"BYE flood") {
                        f.floods += 1;
                    }
                    if line.starts_with(b"BYE") {
                        break;
                    }
                }
            }
        }
    }
    f
}
