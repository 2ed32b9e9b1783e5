//! The real server and the real `natter` client: a full mailbox is delivered as the client reads it,
//! without its owner being dropped or told they flood; and `DELIVERED` means the recipient's client
//! has the message, even when the recipient's connection dies mid-conversation.

mod kit;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kit::{Client, Piped, Server, dir_with};
use natter_core::protocol::ServerMsg;

/// bob, and the senders that fill his mailbox.
const FILLERS: &[(&str, &str)] = &[
    ("bob", "bpw"),
    ("alice", "apw"),
    ("s1", "p1"),
    ("s2", "p2"),
    ("s3", "p3"),
    ("s4", "p4"),
];

/// Fills offline bob's mailbox: `senders` of [`FILLERS`] each send `count` messages made by `text`
/// (the last ones may be refused once the mailbox is full). The server runs without flood control for
/// this, so the test takes seconds; bob then logs in to a server with the default limits on the same
/// data. Returns the texts stored, in the order they were sent.
fn fill_mailbox(
    dir: &std::path::Path,
    senders: usize,
    count: usize,
    text: impl Fn(usize, usize) -> String,
) -> Vec<String> {
    let server = Server::cmd()
        .in_dir(dir)
        .args(&["60", "600", "--flood-rate", "0"])
        .start();
    let mut stored = Vec::new();
    for (s, (user, password)) in FILLERS[1..=senders].iter().enumerate() {
        let mut c = Client::log_in(server.addr, user, password).unwrap();
        let lines: String = (0..count)
            .map(|i| format!("message bob {}\n", text(s, i)))
            .collect();
        c.send_raw(lines.as_bytes());
        for i in 0..count {
            match c.expect("an answer", |m| {
                matches!(m, ServerMsg::Stored { .. } | ServerMsg::Error(_))
            }) {
                ServerMsg::Stored { .. } => stored.push(text(s, i)),
                ServerMsg::Error(_) => {}
                _ => unreachable!(),
            }
        }
        c.say("logout");
        c.until_closed();
    }
    server.stop();
    stored
}

/// bob logs in with the natter client to a server with the default limits and reads his mailbox;
/// returns the client and the texts it showed as offline messages, in order.
fn read_mailbox(
    dir: &std::path::Path,
    state: &std::path::Path,
    expected: usize,
) -> (Server, Piped, Vec<String>) {
    let server = Server::cmd().in_dir(dir).args(&["60", "600"]).start();
    let mut bob = Piped::spawn("bob", server.port(), state);
    bob.send("bob");
    bob.send("bpw");
    bob.expect("Welcome to natter, bob!");
    let mut shown = Vec::new();
    while shown.len() < expected {
        let line = bob.expect("[offline, ");
        // The fillers type the protocol by hand: their text is marked as not encrypted.
        let text = line
            .split_once(": (not encrypted) ")
            .map(|(_, t)| t.to_owned())
            .unwrap();
        shown.push(text);
    }
    // Still online well after the mailbox came (the flood verdict came 1.6 s after the welcome):
    // a command is answered.
    thread::sleep(Duration::from_secs(3));
    bob.send("whoelse");
    bob.expect_any(&["* Online now:", "* Nobody else is online."]);
    (server, bob, shown)
}

/// Four accounts fill offline bob's mailbox with 250 messages of about 330 bytes each (the default
/// limits: 1,000, a quarter per sender). bob logs in with natter and sees all 1,000, in order, and
/// stays online. (Before, the server wrote the whole mailbox at once, past the 256 KiB a client may
/// have waiting, and dropped bob at every login without even a welcome.)
#[test]
fn a_full_mailbox_of_long_messages_is_read_in_full_and_its_owner_stays_online() {
    let dir = dir_with(FILLERS);
    let text = |s: usize, i: usize| format!("s{s}-{i:03} {}", "x".repeat(320));
    let stored = fill_mailbox(dir.path(), 4, 250, text);
    assert_eq!(stored.len(), 1000);
    let state = tempfile::tempdir().unwrap();
    let (_server, mut bob, shown) = read_mailbox(dir.path(), state.path(), 1000);
    assert_eq!(shown, stored, "all of them, in the order they were sent");
    bob.send("logout");
    bob.wait();
    assert!(!bob.saw("flood") && !bob.saw("slow"), "{:?}", bob.seen);
}

/// Five accounts send about 260 one-character messages each to offline bob (1,000 are stored). bob
/// logs in with natter: he sees them all and is never told to slow down nor disconnected for
/// flooding. (Before, his own client acknowledged each message with a line of its own, flood control
/// counted them, and he got `BYE flood` about 1.6 s after the welcome, at every login.)
#[test]
fn a_full_mailbox_of_short_messages_costs_its_owner_no_flood_verdict() {
    let dir = dir_with(FILLERS);
    let stored = fill_mailbox(dir.path(), 5, 260, |s, _| format!("{s}"));
    assert_eq!(stored.len(), 1000);
    let state = tempfile::tempdir().unwrap();
    let (_server, mut bob, shown) = read_mailbox(dir.path(), state.path(), 1000);
    assert_eq!(shown, stored);
    bob.send("logout");
    bob.wait();
    for word in ["slow", "flood", "Disconnected"] {
        assert!(!bob.saw(word), "{word}: {:?}", bob.seen);
    }
}

/// A TCP relay in front of the server that can stop passing the server's bytes on (its clients read
/// nothing more) and then cut the connections through it: what was on its way is never read. Clients
/// connect through the same address afterwards (the natter client keeps what it has shown per server
/// address).
struct Cuttable {
    port: u16,
    stalled: Arc<AtomicBool>,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
}

impl Cuttable {
    fn start(server_port: u16) -> Cuttable {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stalled = Arc::new(AtomicBool::new(false));
        let sockets = Arc::new(Mutex::new(Vec::new()));
        let (st, so) = (stalled.clone(), sockets.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let server = TcpStream::connect(("127.0.0.1", server_port)).unwrap();
                so.lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                thread::spawn(move || pump(c2, s2, Arc::new(AtomicBool::new(false))));
                let st = st.clone();
                thread::spawn(move || pump(server, client, st));
            }
        });
        Cuttable {
            port,
            stalled,
            sockets,
        }
    }

    /// Its clients read nothing more.
    fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Every connection through it is closed (what the server wrote since the stall is lost); later
    /// ones pass again.
    fn cut(&self) {
        for s in self.sockets.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.stalled.store(false, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, stalled: Arc<AtomicBool>) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) if stalled.load(Ordering::SeqCst) => {}
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// What became of one of alice's messages, by what the server told her.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Pending,
    Delivered,
    Stored,
}

/// alice (receipts on) sends a stream of messages to bob, online with natter. bob's connection stops
/// passing anything on and is then closed, mid-stream. Every message alice was told `DELIVERED` for
/// was shown by bob's client; every other one she was told `STORED` for, and bob's next login shows
/// it exactly once; nothing is shown twice. (Before, `DELIVERED` meant written to bob's socket: what
/// was in flight when it closed was lost, although alice had been told it was delivered.)
#[test]
fn delivered_means_shown_even_when_the_recipients_connection_dies() {
    const COUNT: usize = 300;
    let server = Server::cmd()
        .accounts(kit::ACCOUNTS)
        .args(&["60", "600", "--flood-rate", "0"])
        .start();
    let state = tempfile::tempdir().unwrap();
    let relay = Cuttable::start(server.port());
    let mut bob = Piped::login("bob", "bpw", relay.port, state.path());

    let mut alice = Client::log_in(server.addr, "alice", "apw").unwrap();
    alice.say("receipts on");
    let fates = Arc::new(Mutex::new((Vec::<Option<u64>>::new(), BTreeMap::new())));
    let mut reader = alice.try_clone_reader().unwrap();
    let f = fates.clone();
    let answers = thread::spawn(move || {
        // Each message gets one answer at once, in order: SENT (queued for online bob), or STORED.
        // A later DELIVERED or STORED names the id SENT gave.
        let mut queued = BTreeSet::new();
        let mut settled = 0;
        while settled < COUNT {
            let Ok(m) = reader.recv() else { return };
            let mut f = f.lock().unwrap();
            let (ids, fate) = &mut *f;
            match m {
                ServerMsg::Sent { id, .. } => {
                    ids.push(Some(id));
                    queued.insert(id);
                    fate.insert(id, Fate::Pending);
                }
                ServerMsg::Stored { id, .. } if queued.remove(&id) => {
                    fate.insert(id, Fate::Stored);
                    settled += 1;
                }
                ServerMsg::Stored { id, .. } => {
                    ids.push(Some(id));
                    fate.insert(id, Fate::Stored);
                    settled += 1;
                }
                ServerMsg::Delivered { id, .. } => {
                    assert!(queued.remove(&id), "DELIVERED {id} without SENT");
                    fate.insert(id, Fate::Delivered);
                    settled += 1;
                }
                ServerMsg::Presence { .. } => {}
                other => panic!("alice got {other:?}"),
            }
        }
    });
    let text = |i: usize| format!("m{i:03}");
    for i in 0..COUNT {
        alice.say(&format!("message bob {}", text(i)));
        thread::sleep(Duration::from_millis(2));
        if i == COUNT / 2 {
            relay.stall();
        }
        if i == COUNT / 2 + 5 {
            relay.cut();
        }
    }
    let deadline = Instant::now() + kit::PATIENCE;
    while !answers.is_finished() {
        assert!(Instant::now() < deadline, "alice's answers: {fates:?}");
        thread::sleep(Duration::from_millis(20));
    }
    answers.join().unwrap();
    bob.wait();
    let shown_before: Vec<String> = bob
        .seen
        .iter()
        .filter_map(|l| l.split_once("[message] alice: (not encrypted) "))
        .map(|(_, t)| t.to_owned())
        .collect();
    let (ids, fate) = fates.lock().unwrap().clone();
    assert_eq!(ids.len(), COUNT, "one answer each at once");
    let fate_of = |i: usize| fate[&ids[i].unwrap()];
    assert!(
        (0..COUNT).all(|i| fate_of(i) != Fate::Pending),
        "every message settled: {fate:?}"
    );
    let delivered: Vec<String> = (0..COUNT)
        .filter(|&i| fate_of(i) == Fate::Delivered)
        .map(text)
        .collect();
    assert!(!delivered.is_empty() && delivered.len() < COUNT);
    for t in &delivered {
        assert!(
            shown_before.contains(t),
            "alice was told {t} was delivered; bob never saw it"
        );
    }

    // bob's next login: everything that was not delivered comes, once; nothing he saw comes again.
    let mut bob = Piped::spawn("bob", relay.port, state.path());
    bob.send("bob");
    bob.send("bpw");
    bob.expect("Welcome to natter, bob!");
    let stored: Vec<String> = (0..COUNT)
        .filter(|&i| fate_of(i) == Fate::Stored)
        .map(text)
        .collect();
    let not_seen: Vec<&String> = stored
        .iter()
        .filter(|t| !shown_before.contains(t))
        .collect();
    eprintln!(
        "{} delivered, {} stored ({} of them shown before the connection died, not acknowledged)",
        delivered.len(),
        stored.len(),
        stored.len() - not_seen.len()
    );
    if let Some(last) = not_seen.last() {
        bob.expect(&format!("] alice: (not encrypted) {last}"));
    }
    bob.send("logout");
    bob.wait();
    let shown_after: Vec<String> = bob
        .seen
        .iter()
        .filter(|l| l.contains("[offline, "))
        .filter_map(|l| {
            l.split_once("] alice: (not encrypted) ")
                .map(|(_, t)| t.to_owned())
        })
        .collect();
    let want: Vec<String> = not_seen.into_iter().cloned().collect();
    assert_eq!(
        shown_after, want,
        "every message not yet seen, once, in order; none seen before"
    );
    assert!(
        shown_before.iter().chain(&shown_after).count()
            == shown_before
                .iter()
                .chain(&shown_after)
                .collect::<BTreeSet<_>>()
                .len(),
        "nothing shown twice"
    );
    // And nothing was lost: each message was shown by one of bob's two sessions.
    for i in 0..COUNT {
        let t = text(i);
        assert!(
            shown_before.contains(&t) || shown_after.contains(&t),
            "{t} never shown"
        );
    }
}
