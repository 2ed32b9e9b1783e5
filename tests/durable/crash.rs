//! `kill -9` the real server at random moments under a load of offline messages, restart it, and check
//! that every message whose storage was acknowledged (`STORED <id> <to>` reached its sender, or, for a
//! message to the group `crew`, `GROUP-SENT` saying it was stored for its offline members) is shown to
//! its recipient exactly once, in order.
//!
//! `crew` holds the senders and two members, `q0` and `q1`, who stay offline until the end, so every
//! group message a sender was told about is stored for both of them.
//!
//! The recipients are played like the real client: they show each `OFFLINE-MSG` whose id is above the
//! highest id they have shown (a lower one is a redelivery after a crash and is hidden), then `ack` the
//! highest id received. Some recipients come and go during the load, so crashes also land between a
//! delivery and its acknowledgement; some vanish without acknowledging, so redeliveries happen anyway.
//!
//! `NATTER_CRASH_KILLS` sets the number of kills under load (20 by default; `just crash` runs more); a
//! quarter as many again land while the server is starting.
//! `NATTER_CRASH_SEED` replays a run (the seed is printed).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use natter_core::protocol::ServerMsg;

use crate::kit::{Client, LOAD_ACCOUNTS, Rng, Server, seed, write_credentials};

const SENDERS: &[&str] = &["s0", "s1", "s2"];
const RECIPIENTS: &[&str] = &["r0", "r1", "r2"];
/// The group the senders also post to, and its members who stay offline during the load.
const GROUP: &str = "crew";
const GROUP_OFFLINE: &[&str] = &["q0", "q1"];
/// Messages one sender sends at most in one server lifetime: the load is bounded.
const PER_LIFETIME: usize = 250;

/// What the test saw, shared by its client threads.
#[derive(Default)]
struct Ledger {
    /// Per recipient: `(id, text)` of every message whose `STORED` reply reached its sender (no id for a
    /// group message: `GROUP-SENT` says how many copies were stored, not under which ids).
    acknowledged: BTreeMap<String, Vec<(Option<u64>, String)>>,
    /// Per recipient: what its client showed, in order.
    shown: BTreeMap<String, Vec<(u64, String)>>,
    /// Per recipient: every id its client received, with the text, to check redeliveries.
    received: BTreeMap<String, BTreeMap<u64, String>>,
    redeliveries: usize,
    violations: Vec<String>,
}

impl Ledger {
    /// The client's handling of one stored message delivered at login.
    fn deliver(&mut self, to: &str, id: u64, text: &str) {
        let highest = self
            .shown
            .get(to)
            .and_then(|v| v.last())
            .map_or(0, |(id, _)| *id);
        if id > highest {
            self.shown
                .entry(to.into())
                .or_default()
                .push((id, text.into()));
            self.received
                .entry(to.into())
                .or_default()
                .insert(id, text.into());
            return;
        }
        // Hidden as a redelivery: that is only right if it really is one.
        self.redeliveries += 1;
        match self.received.get(to).and_then(|m| m.get(&id)) {
            Some(seen) if seen == text => {}
            Some(seen) => self.violations.push(format!(
                "{to}: id {id} came back as {text:?}, first shown as {seen:?}"
            )),
            None => self.violations.push(format!(
                "{to}: new message {id} {text:?} is below the highest id shown ({highest}), so a \
                 client hides it"
            )),
        }
    }
}

/// Sends a bounded stream of messages to random recipients until the connection dies, matching each
/// reply to its message. A message delivered at once gets no reply, so each is followed by a `whoelse`,
/// whose answer closes that message's window: a `STORED` within it means stored, none means delivered.
fn sender(addr: SocketAddr, me: &'static str, life: usize, seed: u64, ledger: Arc<Mutex<Ledger>>) {
    let Ok(mut client) = Client::log_in(addr, me, "p") else {
        return; // the server died during the login
    };
    let in_flight: Arc<Mutex<VecDeque<(String, String)>>> = Arc::default();
    let Ok(mut replies) = client.try_clone_reader() else {
        return;
    };
    let reader = {
        let in_flight = in_flight.clone();
        let ledger = ledger.clone();
        std::thread::spawn(move || {
            let mut stored = None;
            let mut group_stored = None;
            while let Ok(m) = replies.recv() {
                match m {
                    ServerMsg::Stored { id, to } => stored = Some((id, to)),
                    ServerMsg::GroupSent {
                        group, stored: n, ..
                    } if &*group == GROUP => group_stored = Some(n),
                    ServerMsg::WhoElse { .. } => {
                        let Some((to, text)) = in_flight.lock().unwrap().pop_front() else {
                            panic!("{me}: a whoelse answer with no message in flight");
                        };
                        let mut ledger = ledger.lock().unwrap();
                        if let Some((id, stored_to)) = stored.take() {
                            assert_eq!(&*stored_to, to, "{me}: replies out of order");
                            ledger
                                .acknowledged
                                .entry(to)
                                .or_default()
                                .push((Some(id), text));
                        } else if let Some(n) = group_stored.take() {
                            assert_eq!(to, GROUP, "{me}: replies out of order");
                            // Also stored for any sender offline just then.
                            assert!(n >= GROUP_OFFLINE.len(), "{me}: {text} stored {n} times");
                            for q in GROUP_OFFLINE {
                                ledger
                                    .acknowledged
                                    .entry((*q).to_owned())
                                    .or_default()
                                    .push((None, text.clone()));
                            }
                        }
                    }
                    _ => {}
                }
            }
        })
    };
    let mut rng = Rng::new(seed);
    for n in 0..PER_LIFETIME {
        let to_group = rng.range(0, 5) == 0;
        let to = if to_group {
            GROUP
        } else {
            RECIPIENTS[rng.range(0, RECIPIENTS.len() as u64) as usize]
        };
        let text = format!("{me}-{life}-{n}");
        in_flight
            .lock()
            .unwrap()
            .push_back((to.to_owned(), text.clone()));
        let line = if to_group {
            format!("message group {to} {text}")
        } else {
            format!("message {to} {text}")
        };
        if client.send(&line).is_err() || client.send("whoelse").is_err() {
            break;
        }
        if n % 8 == 7 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // The reader ends when the server is killed (or, at the end, stopped).
    let _ = reader.join();
}

/// Logs `who` in, shows its stored messages like the client, acknowledges them and logs out; or, if
/// `vanish`, drops the connection without acknowledging, like a client that dies after showing them.
///
/// Stored messages come right after the welcome, a window at a time as the client reads. So the
/// visitor reads in rounds: each `whoelse` is answered after what was written before it, and, since
/// reading everything before the answer lets the connection drain, after the next window too; a round
/// that brings no stored message means the mailbox is all read. Each round is acknowledged, as the
/// real client acknowledges each batch.
fn visit(addr: SocketAddr, who: &str, vanish: bool, ledger: &Mutex<Ledger>) -> std::io::Result<()> {
    let mut c = Client::log_in(addr, who, "p")?;
    loop {
        let got = c.ask("whoelse", |m| matches!(m, ServerMsg::WhoElse { .. }))?;
        let mut top = None;
        {
            let mut ledger = ledger.lock().unwrap();
            for m in &got {
                if let ServerMsg::OfflineMessage { id, text, .. } = m {
                    ledger.deliver(who, *id, text);
                    top = Some(*id);
                }
            }
        }
        if vanish {
            return Ok(());
        }
        let Some(id) = top else { break };
        c.send(&format!("ack {id}"))?;
    }
    c.ask("logout", |m| matches!(m, ServerMsg::Bye(_)))?;
    Ok(())
}

/// Recipients dropping in and out while the load runs, until `stop`.
fn visitors(addr: SocketAddr, seed: u64, stop: Arc<AtomicBool>, ledger: Arc<Mutex<Ledger>>) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let who = RECIPIENTS[rng.range(0, RECIPIENTS.len() as u64) as usize];
        let vanish = rng.range(0, 4) == 0;
        if visit(addr, who, vanish, &ledger).is_err() {
            return; // the server is gone
        }
        std::thread::sleep(Duration::from_millis(rng.range(5, 40)));
    }
}

#[test]
fn acknowledged_messages_survive_kill_9_exactly_once_in_order() {
    let kills: usize = std::env::var("NATTER_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut rng = Rng::new(seed("NATTER_CRASH_SEED"));
    let dir = tempfile::tempdir().unwrap();
    write_credentials(dir.path(), LOAD_ACCOUNTS);
    let args = ["--mailbox-limit", "1000000"];
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    {
        // The group, before any load: its creation is acknowledged only once it is durable.
        let server = Server::cmd().in_dir(dir.path()).args(&args).start();
        let mut alice = Client::log_in(server.addr, "alice", "apw").expect("alice logs in");
        let got = alice
            .ask(&format!("create group {GROUP}"), |m| {
                matches!(m, ServerMsg::GroupCreated { .. } | ServerMsg::Error(_))
            })
            .unwrap();
        assert!(
            matches!(got.last(), Some(ServerMsg::GroupCreated { .. })),
            "{got:?}"
        );
        // The members are added directly (the owner allows it), not invited: they are offline.
        let got = alice
            .ask(&format!("group set {GROUP} add direct"), |m| {
                matches!(m, ServerMsg::GroupMode { .. } | ServerMsg::Error(_))
            })
            .unwrap();
        assert!(
            matches!(got.last(), Some(ServerMsg::GroupMode { .. })),
            "{got:?}"
        );
        for user in [SENDERS, GROUP_OFFLINE].concat() {
            let got = alice
                .ask(&format!("group add {GROUP} {user}"), |m| {
                    matches!(m, ServerMsg::GroupJoined { .. } | ServerMsg::Error(_))
                })
                .unwrap();
            assert!(
                matches!(got.last(), Some(ServerMsg::GroupJoined { .. })),
                "{got:?}"
            );
        }
        server.kill9();
    }

    for life in 0..kills {
        if life % 4 == 3 {
            // Now and then, a crash during start-up too.
            Server::cmd()
                .in_dir(dir.path())
                .args(&args)
                .kill_while_starting(Duration::from_millis(rng.range(0, 30)));
        }
        let server = Server::cmd().in_dir(dir.path()).args(&args).start();
        let addr = server.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for &s in SENDERS {
            let (ledger, seed) = (ledger.clone(), rng.next());
            threads.push(std::thread::spawn(move || {
                sender(addr, s, life, seed, ledger)
            }));
        }
        {
            let (ledger, stop, seed) = (ledger.clone(), stop.clone(), rng.next());
            threads.push(std::thread::spawn(move || {
                visitors(addr, seed, stop, ledger)
            }));
        }
        // A random moment: early ones land in start-up and logins, late ones after the load.
        std::thread::sleep(Duration::from_millis(rng.range(5, 250)));
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("client thread");
        }
    }

    // Restart cleanly and let every recipient collect what is left.
    let server = Server::cmd().in_dir(dir.path()).args(&args).start();
    for who in RECIPIENTS.iter().chain(GROUP_OFFLINE) {
        visit(server.addr, who, false, &ledger).expect("final visit");
        // A second visit sees nothing new: the acknowledgements were kept.
        let before = ledger.lock().unwrap().shown.get(*who).map_or(0, Vec::len);
        visit(server.addr, who, false, &ledger).expect("second final visit");
        let after = ledger.lock().unwrap().shown.get(*who).map_or(0, Vec::len);
        assert_eq!(before, after, "{who} was shown something new twice");
    }
    assert!(server.stop().success());

    let ledger = ledger.lock().unwrap();
    assert!(ledger.violations.is_empty(), "{:#?}", ledger.violations);
    let mut total = 0;
    let mut group_total = 0;
    for who in RECIPIENTS.iter().chain(GROUP_OFFLINE) {
        let shown = ledger.shown.get(*who).cloned().unwrap_or_default();
        let by_id: BTreeMap<u64, &str> = shown.iter().map(|(id, t)| (*id, t.as_str())).collect();
        // Exactly once: no message text shown twice.
        let mut texts: Vec<&str> = shown.iter().map(|(_, t)| t.as_str()).collect();
        texts.sort_unstable();
        let distinct = texts.len();
        texts.dedup();
        assert_eq!(texts.len(), distinct, "{who}: a message was shown twice");
        // Every acknowledged message arrived, under the id its sender was told.
        for (id, text) in ledger.acknowledged.get(*who).into_iter().flatten() {
            match id {
                Some(id) => assert_eq!(
                    by_id.get(id).copied(),
                    Some(text.as_str()),
                    "{who}: message {id} ({text}) was acknowledged as stored but never shown"
                ),
                None => {
                    assert!(
                        shown.iter().any(|(_, t)| t == text),
                        "{who}: group message {text} was acknowledged as stored but never shown"
                    );
                    group_total += 1;
                }
            }
            total += 1;
        }
        // In order: each sender's messages appear in the order they were sent.
        let mut last: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (_, text) in &shown {
            let mut parts = text.split('-');
            let (from, life, n) = (
                parts.next().unwrap(),
                parts.next().unwrap().parse::<usize>().unwrap(),
                parts.next().unwrap().parse::<usize>().unwrap(),
            );
            if let Some(prev) = last.insert(from, (life, n)) {
                assert!(
                    prev < (life, n),
                    "{who}: {text} shown after {from}'s {prev:?}"
                );
            }
        }
    }
    eprintln!(
        "{kills} kills under load and {} while starting: {total} acknowledged messages \
         ({group_total} of them group copies) all shown once, in order ({} redeliveries hidden)",
        kills / 4,
        ledger.redeliveries
    );
    assert!(
        total > 0 && group_total > 0,
        "no direct or no group message was acknowledged: the test exercised too little"
    );
}
