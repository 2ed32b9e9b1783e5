//! The shared log of cluster mode against a real Redis: appends from several nodes end in one order
//! that every reader sees, copies of the core fed from it (entries of several events each) agree, what
//! Redis acknowledged survives its `kill -9`, a node's appends in flight when Redis restarts or their
//! answers are lost are sent again and count once, and an unreachable Redis is an error in bounded
//! time, never a hang.

mod kit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kit::Redis;
use natter::shell::cluster::{Batch, Echoes, LogError, RedisLog, Snapshots, appender};
use natter_core::server::cluster::{Applied, LogEntry, LogEvent, LogEventKind, ReplicaLog};
use natter_core::server::harness::{Fed, Harness, START};
use natter_core::server::{Config, ConnId, Event, ServerState};
use natter_core::time::Timestamp;

const KEY: &str = "natter:log";
const BLOCK: Duration = Duration::from_millis(200);

fn line(conn: u64, text: &str, at: u64) -> LogEvent {
    LogEvent::new(
        Event::Line {
            conn: ConnId(conn),
            line: text.as_bytes(),
        },
        Timestamp::from_millis(at),
    )
}

/// Everything in the log, read in pages.
async fn read_all(log: &mut RedisLog) -> Vec<LogEntry> {
    let mut all = Vec::new();
    let mut at = 0;
    loop {
        let page = log.read_after(at, 100).await.unwrap();
        let Some(last) = page.last() else {
            return all;
        };
        at = last.position;
        all.extend(page);
    }
}

#[test]
fn appends_from_two_nodes_end_in_one_order_that_every_reader_sees() {
    let Some(redis) = Redis::start() else { return };
    smol::block_on(async {
        let url = redis.endpoint();
        let mut a = RedisLog::connect(&url, KEY, BLOCK, None).await.unwrap();
        let mut b = RedisLog::connect(&url, KEY, BLOCK, None).await.unwrap();
        // Two nodes appending at once, each its own connections' lines, in its own order.
        let node_a = smol::spawn(async move {
            for i in 0..200 {
                a.append_many(1, i + 1, &[vec![line(1 << 48 | 1, &format!("a{i}"), i)]])
                    .await
                    .unwrap();
            }
            a
        });
        let node_b = smol::spawn(async move {
            for i in 0..200 {
                b.append_many(2, i + 1, &[vec![line(2 << 48 | 1, &format!("b{i}"), i)]])
                    .await
                    .unwrap();
            }
            b
        });
        let mut a = node_a.await;
        let mut b = node_b.await;
        assert_eq!(a.entries().await.unwrap(), 400);
        let seen_a = read_all(&mut a).await;
        let seen_b = read_all(&mut b).await;
        assert_eq!(seen_a.len(), 400);
        assert_eq!(seen_a, seen_b, "two readers, two orders");
        // Each node's entries keep the order it appended them in.
        for (prefix, conn) in [("a", 1u64 << 48 | 1), ("b", 2 << 48 | 1)] {
            let mine: Vec<String> = seen_a
                .iter()
                .flat_map(|e| &e.events)
                .filter_map(|e| match &e.kind {
                    LogEventKind::Line { conn: c, line } if c.0 == conn => {
                        Some(String::from_utf8_lossy(&line[..]).into_owned())
                    }
                    _ => None,
                })
                .collect();
            let want: Vec<String> = (0..200).map(|i| format!("{prefix}{i}")).collect();
            assert_eq!(mine, want);
        }
        // Positions are numbered 1, 2, 3... without a gap, so a reader can tell when one is missing.
        assert!(seen_a.iter().zip(1..).all(|(e, n)| e.position == n));
        // Every entry names its node and that node's count for it.
        for e in &seen_a {
            let [event] = &e.events[..] else {
                panic!("{e:?}")
            };
            let LogEventKind::Line { conn, .. } = &event.kind else {
                panic!("{e:?}")
            };
            assert_eq!(e.node, conn.0 >> 48);
            assert_eq!(e.seq, event.at.as_millis() + 1);
        }
    });
}

fn fresh() -> ServerState {
    Harness::new(
        Config::default(),
        &[("alice", "a"), ("bob", "b"), ("carol", "c")],
    )
    .into_state()
}

#[test]
fn copies_of_the_core_fed_from_the_redis_log_agree_with_the_one_that_made_it() {
    let Some(redis) = Redis::start() else { return };
    // A real session on one core, its every event logged.
    let mut h = Harness::with_state(fresh(), START).keep_log();
    let (a, b, c) = (h.connect(), h.connect(), h.connect());
    for (conn, text) in [
        (a, "alice"),
        (a, "a"),
        (b, "bob"),
        (b, "b"),
        (a, "message bob hi"),
        (b, "block alice"),
        (a, "message bob again"),
        (c, "carol"),
        (c, "wrong"),
        (c, "c"),
        (c, "broadcast hello"),
        (b, "whoelse"),
    ] {
        h.send(conn, text);
    }
    h.advance(90_000);
    let made = h.log.take().unwrap();
    smol::block_on(async {
        let mut log = RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None)
            .await
            .unwrap();
        // As a node appends them: what one turn made is one entry (here, runs of one to four).
        let events: Vec<LogEvent> = made.iter().map(|f| f.event.clone()).collect();
        let entries: Vec<Vec<LogEvent>> = (0..)
            .map(|i| 1 + i % 4)
            .scan(0, |at, n: usize| {
                let from = *at;
                *at = (from + n).min(events.len());
                (from < events.len()).then(|| events[from..*at].to_vec())
            })
            .collect();
        assert!(entries.iter().any(|e| e.len() > 1));
        log.append_many(1, 1, &entries).await.unwrap();
        let back = read_all(&mut log).await;
        assert_eq!(back.len(), entries.len());
        let replayed: Vec<_> = back
            .into_iter()
            .flat_map(|entry| entry.events)
            .zip(&made)
            .map(|(event, fed)| Fed {
                event,
                ..fed.clone()
            })
            .collect();
        let compared = natter_sim::replicas::check(&fresh, &replayed).unwrap();
        assert!(compared >= 2 * made.len() as u64);
    });
}

#[test]
fn what_redis_acknowledged_survives_its_kill_9() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    smol::block_on(async {
        let mut log = RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None)
            .await
            .unwrap();
        for i in 0..50 {
            log.append_many(1, i + 1, &[vec![line(1, &format!("m{i}"), i)]])
                .await
                .unwrap();
        }
        redis.restart();
        let mut log = RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None)
            .await
            .unwrap();
        let back = read_all(&mut log).await;
        assert_eq!(back.len(), 50, "acknowledged entries were lost");
        assert_eq!(back[49].events, [line(1, "m49", 49)]);
        assert_eq!((back[49].node, back[49].seq), (1, 50));
        assert!(redis.dir().join("appendonlydir").exists());
    });
}

#[test]
fn an_unreachable_redis_is_a_clear_error_in_bounded_time() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    smol::block_on(async {
        let mut log = RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None)
            .await
            .unwrap();
        redis.kill9();
        let started = Instant::now();
        let err = log
            .append_many(1, 1, &[vec![line(1, "lost?", 1)]])
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(err, LogError::Redis { .. }), "{err}");
        assert!(err.to_string().contains("is it running"), "{err}");

        let started = Instant::now();
        let err = match RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None).await {
            Err(e) => e,
            Ok(_) => panic!("connected to a stopped Redis"),
        };
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            err.to_string()
                .contains("cannot reach Redis at redis://127.0.0.1:"),
            "{err}"
        );
    });
}

#[test]
fn a_snapshot_is_stored_only_forwards_and_the_log_trimmed_never_past_it() {
    let Some(redis) = Redis::start() else { return };
    smol::block_on(async {
        let url = redis.endpoint();
        let mut log = RedisLog::connect(&url, KEY, BLOCK, None).await.unwrap();
        for i in 0..20 {
            log.append_many(1, i + 1, &[vec![line(1, &format!("m{i}"), i)]])
                .await
                .unwrap();
        }
        let mut snapshots = Snapshots::connect(&url, "natter", None).await.unwrap();
        assert_eq!(snapshots.latest().await.unwrap(), None);
        // A snapshot at entry 12; the log kept from entry 10 on (a node has read only up to 9).
        assert!(snapshots.store(12, b"twelve").await.unwrap());
        assert_eq!(read_all(&mut log).await.len(), 20, "storing trims nothing");
        assert_eq!(snapshots.trim(10).await.unwrap(), 9);
        assert_eq!(
            snapshots.latest().await.unwrap().as_deref(),
            Some(&b"twelve"[..])
        );
        assert_eq!(snapshots.latest_position().await.unwrap(), 12);
        let left = read_all(&mut log).await;
        assert_eq!(left.first().map(|e| e.position), Some(10));
        assert_eq!(left.len(), 11);
        // An older snapshot (a second node that thought it its turn) changes nothing.
        assert!(!snapshots.store(11, b"eleven").await.unwrap());
        assert_eq!(
            snapshots.latest().await.unwrap().as_deref(),
            Some(&b"twelve"[..])
        );
        assert_eq!(read_all(&mut log).await.len(), 11);
        // Never past the stored snapshot, whatever the caller asks: entry 13 stays.
        snapshots.trim(20).await.unwrap();
        assert_eq!(
            read_all(&mut log).await.first().map(|e| e.position),
            Some(13)
        );
        // Numbering goes on past the trim: the next entry is 21, not 12.
        log.append_many(1, 21, &[vec![line(1, "after", 21)]])
            .await
            .unwrap();
        assert_eq!(
            read_all(&mut log).await.last().map(|e| e.position),
            Some(21)
        );
    });
}

/// The events the log's entries stand for, as every node applies them: in the log's order, an entry
/// its node appended twice counted once. Also how many second copies there were.
fn effective(entries: &[LogEntry]) -> (Vec<LogEvent>, usize) {
    let mut log = ReplicaLog::new();
    let (mut events, mut twice) = (Vec::new(), 0);
    for entry in entries {
        match log.admit(entry) {
            Applied::Fed => events.extend(entry.events.iter().cloned()),
            Applied::Duplicate => twice += 1,
            other => panic!("entry {}: {other:?}", entry.position),
        }
    }
    (events, twice)
}

/// Entry `i` of a node's turns: one to three lines.
fn turn(i: u64) -> Vec<LogEvent> {
    (0..1 + i % 3)
        .map(|k| line(1 << 48 | 1, &format!("t{i}.{k}"), i))
        .collect()
}

/// `events` as a batch of a node never fenced.
fn batch(events: Vec<LogEvent>) -> Batch {
    Batch { events, fences: 0 }
}

/// Runs `work` beside a node's appender (appending to `endpoint` what it is handed), then closes
/// the appender's queue and waits, boundedly, until it has had every entry confirmed.
fn with_appender<F: std::future::Future<Output = ()>>(
    endpoint: natter::shell::cluster::Endpoint,
    work: impl FnOnce(smol::channel::Sender<Batch>) -> F,
) {
    let (queue, taken) = smol::channel::unbounded();
    let fences = std::rc::Rc::new(std::cell::Cell::new(0));
    let appending = appender(
        endpoint,
        KEY.into(),
        1,
        taken,
        fences,
        None,
        Echoes::default(),
    );
    smol::block_on(async {
        let all = futures_lite::future::zip(appending, work(queue));
        let bounded = async {
            smol::Timer::after(Duration::from_secs(30)).await;
            panic!("the appender did not get its entries into Redis within 30 s");
        };
        futures_lite::FutureExt::or(async { all.await.1 }, bounded).await
    });
}

/// A relay to Redis whose first connection stops passing Redis's answers back once `cut` is set (the
/// appends go on reaching Redis; their answers are lost on the way); later connections pass both ways.
fn relay_losing_answers(redis_port: u16, cut: Arc<AtomicBool>) -> u16 {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    fn pump(mut from: TcpStream, mut to: TcpStream, cut: Arc<AtomicBool>) {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if !cut.load(Ordering::SeqCst) && to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    }
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { return };
            let Ok(redis) = TcpStream::connect(("127.0.0.1", redis_port)) else {
                return;
            };
            let answers = if n == 0 { cut.clone() } else { Arc::default() };
            let (c2, r2) = (client.try_clone().unwrap(), redis.try_clone().unwrap());
            std::thread::spawn(move || pump(c2, r2, Arc::default()));
            std::thread::spawn(move || pump(redis, client, answers));
        }
    });
    port
}

#[test]
fn appends_whose_answers_were_lost_are_sent_again_in_order_and_count_once() {
    let Some(redis) = Redis::start() else { return };
    let cut = Arc::new(AtomicBool::new(false));
    let redis_port = redis.url().rsplit(':').next().unwrap().parse().unwrap();
    let port = relay_losing_answers(redis_port, cut.clone());
    let through_relay =
        natter::shell::cluster::Endpoint::parse(&format!("redis://127.0.0.1:{port}"), None)
            .unwrap();
    let direct = redis.endpoint();
    with_appender(through_relay, |queue| async move {
        let mut log = RedisLog::connect(&direct, KEY, BLOCK, None).await.unwrap();
        for i in 0..10 {
            queue.send(batch(turn(i))).await.unwrap();
        }
        while log.entries().await.unwrap() < 10 {
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        smol::Timer::after(Duration::from_millis(100)).await;
        // From now on Redis stores what the node appends, and the node hears nothing back: after
        // its wait it connects again and sends every entry not confirmed, with the same numbers.
        cut.store(true, Ordering::SeqCst);
        for i in 10..30 {
            queue.send(batch(turn(i))).await.unwrap();
        }
        while log.entries().await.unwrap() < 30 {
            smol::Timer::after(Duration::from_millis(10)).await;
        }
    });
    let entries = smol::block_on(async {
        read_all(
            &mut RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None)
                .await
                .unwrap(),
        )
        .await
    });
    let (events, twice) = effective(&entries);
    assert!(
        (20..=30).contains(&twice),
        "the 20 entries whose answers were lost are in the log twice: {twice}"
    );
    assert_eq!(events, (0..30).flat_map(turn).collect::<Vec<_>>());
}

#[test]
fn appends_in_flight_when_redis_restarts_are_sent_again_without_loss_or_duplicate_effect() {
    let Some(redis) = Redis::start() else { return };
    let endpoint = redis.endpoint();
    let mut redis = Some(redis);
    let mut restarted = None;
    with_appender(endpoint, |queue| {
        let restarted = &mut restarted;
        let redis = &mut redis;
        async move {
            for i in 0..600 {
                if i == 150 {
                    // kill -9 and start again, beside the node: its appends in flight meet the
                    // crash, and the next ones wait for Redis to be back.
                    let mut r = redis.take().unwrap();
                    *restarted = Some(std::thread::spawn(move || {
                        r.restart();
                        r
                    }));
                }
                queue.send(batch(turn(i))).await.unwrap();
                smol::Timer::after(Duration::from_millis(2)).await;
            }
        }
    });
    let redis = restarted.unwrap().join().unwrap();
    let entries = smol::block_on(async {
        read_all(
            &mut RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None)
                .await
                .unwrap(),
        )
        .await
    });
    let (events, _) = effective(&entries);
    assert_eq!(events, (0..600).flat_map(turn).collect::<Vec<_>>());
}

#[test]
fn what_a_fenced_node_s_users_typed_never_gets_in_even_if_it_serves_again_before_its_appender_looks()
 {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let endpoint = redis.endpoint();
    // Redis goes away; a user of node 1 types a line (handed over), and another turn's line waits in
    // the queue while the appender retries. The node is fenced (its users told `BYE unavailable`,
    // their sessions' ends handed over), and Redis comes back and the lease is renewed (serving
    // again), all before the appender has looked again: the lines typed before the fence must not
    // get in, the ends and what is typed afterwards must.
    redis.kill9();
    let user = 1 << 48 | 1;
    let (queue, taken) = smol::channel::unbounded();
    let fences = std::rc::Rc::new(std::cell::Cell::new(0));
    let appending = appender(
        endpoint.clone(),
        KEY.into(),
        1,
        taken,
        fences.clone(),
        None,
        Echoes::default(),
    );
    let ended = LogEvent::new(
        Event::Disconnected { conn: ConnId(user) },
        Timestamp::from_millis(3),
    );
    let work = async {
        queue
            .send(batch(vec![line(user, "typed while Redis was down", 1)]))
            .await
            .unwrap();
        smol::Timer::after(Duration::from_millis(100)).await;
        queue
            .send(batch(vec![line(user, "typed a little later", 2)]))
            .await
            .unwrap();
        fences.set(1);
        queue
            .send(Batch {
                events: vec![ended.clone()],
                fences: 1,
            })
            .await
            .unwrap();
        // (Blocking this thread: the appender does not look meanwhile.)
        redis.restart();
        let after = line(1 << 48 | 2, "typed once it serves again", 4);
        queue
            .send(Batch {
                events: vec![after.clone()],
                fences: 1,
            })
            .await
            .unwrap();
        let mut log = RedisLog::connect(&endpoint, KEY, BLOCK, None)
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut entries = Vec::new();
        while Instant::now() < deadline {
            entries = read_all(&mut log).await;
            if effective(&entries).0.contains(&after) {
                break;
            }
            smol::Timer::after(Duration::from_millis(20)).await;
        }
        let (events, _) = effective(&entries);
        assert_eq!(events, [ended.clone(), after.clone()]);
        drop(queue);
    };
    smol::block_on(async {
        let all = futures_lite::future::zip(appending, work);
        let bounded = async {
            smol::Timer::after(Duration::from_secs(40)).await;
            panic!("the appender did not finish within 40 s");
        };
        futures_lite::FutureExt::or(async { all.await.1 }, bounded).await
    });
}
