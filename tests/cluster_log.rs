//! The shared log of cluster mode against a real Redis: appends from several nodes end in one order
//! that every reader sees, copies of the core fed from it agree, what Redis acknowledged survives its
//! `kill -9`, and an unreachable Redis is an error in bounded time, never a hang.

mod kit;

use std::time::{Duration, Instant};

use kit::Redis;
use natter::server::harness::{Fed, Harness, START};
use natter::server::{Config, ConnId, Event, LogEntry, LoggedEvent, OwnedEvent, ServerState};
use natter::shell::cluster::{LogError, RedisLog, Snapshots};
use natter::time::Timestamp;

const KEY: &str = "natter:log";
const BLOCK: Duration = Duration::from_millis(200);

fn line(conn: u64, text: &str, at: u64) -> LoggedEvent {
    LoggedEvent::new(
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
                a.append_many(1, i + 1, &[line(1 << 48 | 1, &format!("a{i}"), i)])
                    .await
                    .unwrap();
            }
            a
        });
        let node_b = smol::spawn(async move {
            for i in 0..200 {
                b.append_many(2, i + 1, &[line(2 << 48 | 1, &format!("b{i}"), i)])
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
                .filter_map(|e| match &e.event.event {
                    OwnedEvent::Line { conn: c, line } if c.0 == conn => {
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
            let OwnedEvent::Line { conn, .. } = &e.event.event else {
                panic!("{e:?}")
            };
            assert_eq!(e.node, conn.0 >> 48);
            assert_eq!(e.seq, e.event.at.as_millis() + 1);
        }
    });
}

fn fresh() -> ServerState {
    Harness::new(
        Config::default(),
        &[("alice", "a"), ("bob", "b"), ("carol", "c")],
    )
    .state
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
        let entries: Vec<LoggedEvent> = made.iter().map(|f| f.event.clone()).collect();
        log.append_many(1, 1, &entries).await.unwrap();
        let back = read_all(&mut log).await;
        assert_eq!(back.len(), made.len());
        let replayed: Vec<_> = back
            .into_iter()
            .zip(&made)
            .map(|(entry, fed)| Fed {
                event: entry.event,
                ..fed.clone()
            })
            .collect();
        let compared = natter::sim::replicas::check(&fresh, &replayed).unwrap();
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
            log.append_many(1, i + 1, &[line(1, &format!("m{i}"), i)])
                .await
                .unwrap();
        }
        redis.restart();
        let mut log = RedisLog::connect(&redis.endpoint(), KEY, BLOCK, None)
            .await
            .unwrap();
        let back = read_all(&mut log).await;
        assert_eq!(back.len(), 50, "acknowledged entries were lost");
        assert_eq!(back[49].event, line(1, "m49", 49));
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
            .append_many(1, 1, &[line(1, "lost?", 1)])
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
fn a_snapshot_is_stored_only_forwards_and_trims_the_log_behind_it() {
    let Some(redis) = Redis::start() else { return };
    smol::block_on(async {
        let url = redis.endpoint();
        let mut log = RedisLog::connect(&url, KEY, BLOCK, None).await.unwrap();
        for i in 0..20 {
            log.append_many(1, i + 1, &[line(1, &format!("m{i}"), i)])
                .await
                .unwrap();
        }
        let mut snapshots = Snapshots::connect(&url, "natter", None).await.unwrap();
        assert_eq!(snapshots.latest().await.unwrap(), None);
        // A snapshot at entry 12, keeping the log from entry 10 on (a node has read only up to 9).
        assert!(snapshots.store(12, b"twelve", 10).await.unwrap());
        assert_eq!(
            snapshots.latest().await.unwrap().as_deref(),
            Some(&b"twelve"[..])
        );
        assert_eq!(snapshots.latest_position().await.unwrap(), 12);
        let left = read_all(&mut log).await;
        assert_eq!(left.first().map(|e| e.position), Some(10));
        assert_eq!(left.len(), 11);
        // An older snapshot (a second node that thought it its turn) changes nothing.
        assert!(!snapshots.store(11, b"eleven", 12).await.unwrap());
        assert_eq!(
            snapshots.latest().await.unwrap().as_deref(),
            Some(&b"twelve"[..])
        );
        assert_eq!(read_all(&mut log).await.len(), 11);
        // Numbering goes on past the trim: the next entry is 21, not 12.
        log.append_many(1, 21, &[line(1, "after", 21)])
            .await
            .unwrap();
        assert_eq!(
            read_all(&mut log).await.last().map(|e| e.position),
            Some(21)
        );
    });
}
