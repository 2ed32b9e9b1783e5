//! `natter-bench flood --mailbox N`: the login of a user whose mailbox others have filled. Five
//! senders (`u2`..`u6`) send `N` messages between them to offline `u1` (the default limits hold: a
//! full mailbox is 1,000, a quarter per sender), then `u1` logs in as the natter client does (`acks
//! on`, one cumulative `ack` per batch of lines read, never one per message) and reads the whole
//! mailbox. The figures that matter: the time until the last message arrived, that every one came in
//! order, and that `u1` was neither told to slow down nor disconnected (a full mailbox once got its
//! owner dropped as a slow reader, or told they were flooding, at every login).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use natter_core::protocol::{Command, ServerMsg, decode_line};

use crate::one_user::{connect, login};
use crate::proto::{password, user_name};

/// The senders: five accounts, so each stays within its quarter of a full mailbox.
const SENDERS: u32 = 5;
/// The first sender's account number (`u1` is the mailbox's owner).
const FIRST_SENDER: u32 = 2;
/// The owner of the mailbox.
const OWNER: u32 = 1;

/// The text of sender `s`'s `i`th message, `size` bytes: tagged with both when there is room, so the
/// order can be checked by text as well as by id.
fn text(s: u32, i: usize, size: usize) -> String {
    let tag = format!("s{s}-{i:04}");
    if size <= tag.len() {
        return "x".repeat(size.max(1));
    }
    format!("{tag} {}", "x".repeat(size - tag.len() - 1))
}

/// One sender: writes its `count` messages at once (flood control paces them; none is refused within a
/// sender's share) and waits for each one's answer. Returns how many were stored.
fn fill(addr: SocketAddr, s: u32, count: usize, size: usize) -> Result<usize> {
    let (stream, mut r) = login(addr, FIRST_SENDER + s)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut w = stream.try_clone()?;
    let owner = user_name(OWNER);
    let lines: String = (0..count)
        .map(|i| format!("message {owner} {}\n", text(s, i, size)))
        .collect();
    w.write_all(lines.as_bytes())?;
    let (mut answered, mut stored) = (0, 0);
    let mut line = String::new();
    while answered < count {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            bail!("sender {s}: the server closed the connection");
        }
        if line.starts_with("STORED ") {
            stored += 1;
            answered += 1;
        } else if line.starts_with("ERROR ") && !line.starts_with("ERROR slow-down") {
            answered += 1;
        }
    }
    w.write_all(b"logout\n")?;
    Ok(stored)
}

/// What the owner's login saw.
#[derive(Default)]
struct Reading {
    welcome: Duration,
    last: Duration,
    ids: Vec<u64>,
    texts: Vec<String>,
    acks: usize,
    slow_downs: usize,
    bye: Option<String>,
}

/// The owner logs in and reads until `expected` stored messages came (or the server said goodbye),
/// acknowledging once per batch: whenever what it has read is all that has arrived.
fn read_mailbox(
    addr: SocketAddr,
    expected: usize,
) -> Result<(TcpStream, BufReader<TcpStream>, Reading)> {
    let start = Instant::now();
    let stream = connect(addr, OWNER).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = stream.try_clone()?;
    let login = format!(
        "{}\n{}\n{}\n",
        user_name(OWNER),
        password(OWNER),
        Command::Acks { on: true }.to_line()
    );
    w.write_all(login.as_bytes())?;
    let mut r = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
    let mut got = Reading::default();
    let mut unacked = None;
    let mut line = String::new();
    while got.ids.len() < expected && got.bye.is_none() {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            got.bye.get_or_insert_with(|| "connection closed".into());
            break;
        }
        match decode_line(line.trim_end_matches(['\r', '\n'])) {
            Ok(ServerMsg::Welcome { .. }) => got.welcome = start.elapsed(),
            Ok(ServerMsg::OfflineMessage { id, text, .. }) => {
                got.ids.push(id);
                got.texts.push(text);
                got.last = start.elapsed();
                unacked = Some(id);
            }
            Ok(ServerMsg::Bye(_)) => got.bye = Some(line.trim_end().to_owned()),
            Ok(ServerMsg::Error(_)) if line.starts_with("ERROR slow-down") => got.slow_downs += 1,
            _ => {}
        }
        // A batch is what one read brought: acknowledged when it has all been read.
        if r.buffer().is_empty()
            && let Some(id) = unacked.take()
        {
            writeln!(w, "{}", Command::Ack { id }.to_line())?;
            got.acks += 1;
        }
    }
    if let Some(id) = unacked {
        writeln!(w, "{}", Command::Ack { id }.to_line())?;
        got.acks += 1;
    }
    Ok((stream, r, got))
}

/// Still online a while after the mailbox came (a flood verdict came 1.6 s after the welcome): a
/// `whoelse` is answered, and nothing but presence, slow-downs (counted) or more mail comes first.
fn still_online(
    stream: &TcpStream,
    r: &mut BufReader<TcpStream>,
    got: &mut Reading,
) -> Result<bool> {
    thread::sleep(Duration::from_secs(2));
    let mut w = stream.try_clone()?;
    w.write_all(b"whoelse\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(false);
        }
        if line.starts_with("WHOELSE") {
            let _ = w.write_all(b"logout\n");
            return Ok(true);
        }
        if line.starts_with("ERROR slow-down") {
            got.slow_downs += 1;
        }
        if line.starts_with("BYE") {
            got.bye = Some(line.trim_end().to_owned());
            return Ok(false);
        }
    }
}

/// Fills `u1`'s mailbox with `total` messages of `size` bytes, times its owner's login, prints the
/// figures; an error if any message was missing, out of order, or the owner was cut off.
pub fn run(addr: SocketAddr, total: usize, size: usize, label: &str) -> Result<()> {
    let per_sender = total.div_ceil(SENDERS as usize);
    let fill_start = Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| thread::spawn(move || fill(addr, s, per_sender, size)))
        .collect();
    let mut stored = 0;
    for s in senders {
        stored += s
            .join()
            .map_err(|_| anyhow::anyhow!("a sender's thread panicked"))??;
    }
    let fill_secs = fill_start.elapsed().as_secs_f64();
    // The senders' logouts reach the server before the owner's login does.
    thread::sleep(Duration::from_millis(200));

    let (stream, mut r, mut got) = read_mailbox(addr, stored)?;
    let online = got.bye.is_none() && still_online(&stream, &mut r, &mut got)?;
    let in_order = got.ids.windows(2).all(|w| w[0] < w[1])
        && (0..SENDERS).all(|s| {
            let tag = format!("s{s}-");
            let mine: Vec<&String> = got.texts.iter().filter(|t| t.starts_with(&tag)).collect();
            size <= 7
                || mine
                    .iter()
                    .enumerate()
                    .all(|(i, t)| **t == text(s, i, size))
        });
    let bytes: usize = got.texts.iter().map(String::len).sum();

    println!("natter-bench flood --mailbox: {label}");
    println!(
        "  fill      {SENDERS} senders stored {stored} messages of {size} bytes for offline {} in \
         {fill_secs:.1} s",
        user_name(OWNER)
    );
    println!(
        "  login     WELCOME after {:.1} ms; {} of {stored} stored messages ({:.0} KiB of text) in \
         {:.1} ms, {}; {} acks",
        got.welcome.as_secs_f64() * 1000.0,
        got.ids.len(),
        bytes as f64 / 1024.0,
        got.last.as_secs_f64() * 1000.0,
        if in_order { "in order" } else { "OUT OF ORDER" },
        got.acks,
    );
    println!(
        "  owner     told to slow down {} times, {}",
        got.slow_downs,
        match (&got.bye, online) {
            (None, true) => "still connected 2 s later".to_owned(),
            (Some(bye), _) => format!("DISCONNECTED: {bye}"),
            (None, false) => "DISCONNECTED".to_owned(),
        }
    );
    if got.ids.len() != stored || !in_order || !online || got.slow_downs > 0 {
        bail!("the mailbox's owner did not get the whole mailbox, in order, undisturbed");
    }
    Ok(())
}
