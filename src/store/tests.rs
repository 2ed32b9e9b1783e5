//! The store keeps what it is given, gives back records that rebuild an equal state, and refuses, by
//! name, every data directory it cannot vouch for.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use natter_core::protocol::keys::{sample_key, shaped};
use natter_core::server::harness::{Harness, START};
use natter_core::server::{Account, Config, ConnId, KeysView, ServerState, StoredView};
use natter_core::time::Timestamp;

const USERS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
    // Not in the credentials: created by registration.
    ("newt", "npw"),
    ("nora", "opw"),
];
const INITIAL: usize = 4;

fn config() -> Config {
    Config {
        register: true,
        mailbox_limit: 1000,
        ..Config::default()
    }
}

fn accounts() -> Vec<Account> {
    USERS[..INITIAL]
        .iter()
        .map(|(u, p)| Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect()
}

/// Everything durable about a state, comparable.
#[derive(Debug, PartialEq, Eq)]
struct Durable {
    users: Vec<String>,
    mailboxes: BTreeMap<String, Vec<StoredView>>,
    last_logouts: BTreeMap<String, Option<Timestamp>>,
    lockouts: BTreeMap<String, Option<Timestamp>>,
    blocks: Vec<(String, String)>,
    next_message_id: u64,
    groups: Vec<(String, Vec<String>)>,
    group_settings: Vec<natter_core::server::GroupView>,
    invitations: Vec<natter_core::server::InvitationView>,
    keys: BTreeMap<String, Option<KeysView>>,
}

fn durable(s: &ServerState) -> Durable {
    let users: Vec<String> = s.usernames().map(str::to_owned).collect();
    let mut blocks = Vec::new();
    for a in &users {
        for b in &users {
            if s.has_blocked(a, b) {
                blocks.push((a.clone(), b.clone()));
            }
        }
    }
    Durable {
        mailboxes: users
            .iter()
            .map(|u| (u.clone(), s.stored_messages(u)))
            .collect(),
        last_logouts: users
            .iter()
            .map(|u| (u.clone(), s.last_logout(u)))
            .collect(),
        lockouts: users
            .iter()
            .map(|u| (u.clone(), s.locked_until(u, Timestamp::ZERO)))
            .collect(),
        blocks,
        next_message_id: s.next_message_id(),
        groups: s.durable_view().groups,
        group_settings: s.durable_view().group_settings,
        invitations: s.durable_view().invitations,
        keys: users
            .iter()
            .map(|u| (u.clone(), s.published_keys(u)))
            .collect(),
        users,
    }
}

fn restored(snapshot: Snapshot, now: Timestamp) -> ServerState {
    let mut s = ServerState::new(config(), accounts(), [1; 32]);
    s.restore(snapshot.records, now);
    s.reserve_message_ids(snapshot.next_message_id);
    s
}

fn replayed(records: &[Record], now: Timestamp) -> ServerState {
    let mut s = ServerState::new(config(), accounts(), [1; 32]);
    s.restore(records.to_vec(), now);
    s
}

#[derive(Clone, Debug)]
enum Op {
    Login(usize),
    Logout(usize),
    Vanish(usize),
    Message(usize, usize),
    Ack(usize),
    Block(usize, usize),
    Unblock(usize, usize),
    WrongPasswords(usize),
    Wait(u64),
    /// `a` creates group `g` with `b`.
    CreateGroup(usize, u8, usize),
    /// `a` sends to group `g`.
    MessageGroup(usize, u8),
    /// `a` adds `b` to group `g`.
    GroupAdd(usize, u8, usize),
    GroupLeave(usize, u8),
    /// `a` publishes identity `k` (one of two, so identities are replaced).
    Identity(usize, u8),
    /// `a` publishes `n` one-time keys.
    AddKeys(usize, u8),
    Fallback(usize),
    /// `a` claims `b`'s keys.
    Claim(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..USERS.len();
    prop_oneof![
        4 => u.clone().prop_map(Op::Login),
        2 => u.clone().prop_map(Op::Logout),
        1 => u.clone().prop_map(Op::Vanish),
        8 => (u.clone(), u.clone()).prop_map(|(a, b)| Op::Message(a, b)),
        2 => u.clone().prop_map(Op::Ack),
        1 => (u.clone(), u.clone()).prop_map(|(a, b)| Op::Block(a, b)),
        1 => (u.clone(), u.clone()).prop_map(|(a, b)| Op::Unblock(a, b)),
        1 => u.clone().prop_map(Op::WrongPasswords),
        1 => (1u64..120).prop_map(Op::Wait),
        1 => (u.clone(), 0u8..2, u.clone()).prop_map(|(a, g, b)| Op::CreateGroup(a, g, b)),
        3 => (u.clone(), 0u8..2).prop_map(|(a, g)| Op::MessageGroup(a, g)),
        1 => (u.clone(), 0u8..2, u.clone()).prop_map(|(a, g, b)| Op::GroupAdd(a, g, b)),
        1 => (u.clone(), 0u8..2).prop_map(|(a, g)| Op::GroupLeave(a, g)),
        1 => (u.clone(), 0u8..2).prop_map(|(a, k)| Op::Identity(a, k)),
        2 => (u.clone(), 1u8..8).prop_map(|(a, n)| Op::AddKeys(a, n)),
        1 => u.clone().prop_map(Op::Fallback),
        3 => (u.clone(), u.clone()).prop_map(|(a, b)| Op::Claim(a, b)),
    ]
}

/// Drives the core through `ops` like clients would, and returns it with its records.
fn run(ops: &[Op]) -> Harness {
    let mut h = Harness::new(config(), &USERS[..INITIAL]);
    let mut online: BTreeMap<usize, ConnId> = BTreeMap::new();
    for (n, op) in ops.iter().enumerate() {
        // Sessions the server ended by itself (idle timeout) are gone.
        online.retain(|_, c| h.state().is_open(*c));
        match *op {
            Op::Login(u) if !online.contains_key(&u) => {
                let c = h.connect();
                h.send(c, USERS[u].0);
                h.send(c, USERS[u].1);
                if h.state().user_on(c).is_some() {
                    online.insert(u, c);
                } else if h.state().is_open(c) {
                    h.disconnect(c);
                }
            }
            Op::Logout(u) => {
                if let Some(c) = online.remove(&u) {
                    h.send(c, "logout");
                }
            }
            Op::Vanish(u) => {
                if let Some(c) = online.remove(&u) {
                    h.disconnect(c);
                }
            }
            Op::Message(a, b) => {
                if let Some(&c) = online.get(&a) {
                    h.send(
                        c,
                        &format!("message {} text {n} from {}", USERS[b].0, USERS[a].0),
                    );
                }
            }
            Op::Ack(u) => {
                if let Some(&c) = online.get(&u) {
                    let top = h.take(c).iter().rev().find_map(|m| match m {
                        natter_core::protocol::ServerMsg::OfflineMessage { id, .. } => Some(*id),
                        _ => None,
                    });
                    if let Some(id) = top {
                        h.send(c, &format!("ack {id}"));
                    }
                }
            }
            Op::Block(a, b) | Op::Unblock(a, b) => {
                if let Some(&c) = online.get(&a) {
                    let verb = if matches!(op, Op::Block(..)) {
                        "block"
                    } else {
                        "unblock"
                    };
                    h.send(c, &format!("{verb} {}", USERS[b].0));
                }
            }
            Op::WrongPasswords(u) if u < INITIAL && !online.contains_key(&u) => {
                let c = h.connect();
                h.send(c, USERS[u].0);
                for _ in 0..3 {
                    h.send(c, "wrong");
                }
                if h.state().is_open(c) {
                    h.disconnect(c);
                }
            }
            Op::Wait(secs) => h.advance_secs(secs),
            Op::CreateGroup(a, g, b) | Op::GroupAdd(a, g, b) => {
                if let Some(&c) = online.get(&a) {
                    let line = match op {
                        Op::CreateGroup(..) => format!("create group g{g} {}", USERS[b].0),
                        _ => format!("group add g{g} {}", USERS[b].0),
                    };
                    h.send(c, &line);
                }
            }
            Op::MessageGroup(a, g) => {
                if let Some(&c) = online.get(&a) {
                    h.send(c, &format!("message group g{g} group text {n}"));
                }
            }
            Op::GroupLeave(a, g) => {
                if let Some(&c) = online.get(&a) {
                    h.send(c, &format!("group leave g{g}"));
                }
            }
            Op::Identity(a, k) => {
                if let Some(&c) = online.get(&a) {
                    let who = USERS[a].0;
                    h.send(
                        c,
                        &format!(
                            "keys identity {} {}",
                            shaped(&format!("c{who}{k}"), 43),
                            shaped(&format!("e{who}{k}"), 43)
                        ),
                    );
                }
            }
            Op::AddKeys(a, k) => {
                if let Some(&c) = online.get(&a) {
                    let keys: Vec<String> = (0..u64::from(k))
                        .map(|i| sample_key(n as u64 * 10 + i).to_string())
                        .collect();
                    h.send(c, &format!("keys add {}", keys.join(" ")));
                }
            }
            Op::Fallback(a) => {
                if let Some(&c) = online.get(&a) {
                    h.send(c, &format!("keys fallback {}", sample_key(n as u64)));
                }
            }
            Op::Claim(a, b) => {
                if let Some(&c) = online.get(&a) {
                    h.send(c, &format!("keys claim {}", USERS[b].0));
                }
            }
            Op::Login(_) | Op::WrongPasswords(_) => {}
        }
    }
    h
}

fn commit_in_batches(store: &mut Store, records: &[Record], cuts: &[usize]) {
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (records.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([records.len()]) {
        if cut > start {
            store.commit(&records[start..cut]).unwrap();
            start = cut;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Committing the core's records in any batching, then loading them back, rebuilds the same durable
    /// state as replaying every record ever emitted; and the mailboxes are the live server's.
    #[test]
    fn loading_rebuilds_what_replaying_every_record_would(
        ops in proptest::collection::vec(op(), 1..200),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let h = run(&ops);
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        commit_in_batches(&mut store, h.records(), &cuts);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let restart = h.now().plus_secs(1);
        let from_store = restored(store.load().unwrap(), restart);
        let from_log = replayed(h.records(), restart);
        prop_assert_eq!(durable(&from_store), durable(&from_log));
        for (u, _) in USERS {
            prop_assert_eq!(from_store.stored_messages(u), h.state().stored_messages(u));
            prop_assert_eq!(from_store.published_keys(u), h.state().published_keys(u));
        }
        prop_assert!(from_store.next_message_id() >= h.state().next_message_id()
            || h.state().stored_messages("alice").is_empty());
    }
}

#[test]
fn message_ids_keep_growing_after_every_message_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .commit(&[
            stored(7, "bob", "hello"),
            Record::MessagesAcked {
                user: "bob".into(),
                up_to: 7,
            },
        ])
        .unwrap();
    drop(store);
    let snapshot = Store::open(dir.path()).unwrap().load().unwrap();
    assert!(snapshot.records.is_empty(), "{:?}", snapshot.records);
    assert_eq!(snapshot.next_message_id, 8);
}

#[test]
fn a_failed_commit_keeps_nothing_of_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.commit(&[stored(1, "bob", "one")]).unwrap();
    // A second message with the same id violates the primary key: the whole batch must go.
    let err = store
        .commit(&[
            Record::Blocked {
                by: "alice".into(),
                user: "carol".into(),
            },
            stored(5, "bob", "five"),
            stored(1, "bob", "again"),
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err}");
    let snapshot = store.load().unwrap();
    assert_eq!(snapshot.records, vec![stored(1, "bob", "one")]);
    assert_eq!(snapshot.next_message_id, 2);
}

#[test]
fn sessions_left_open_by_a_crash_are_closed_once_not_at_every_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .commit(&[Record::LoggedIn {
            user: "alice".into(),
            at: START,
        }])
        .unwrap();
    // First restart: alice's session ends at the restart, and the store is told so.
    let restart = START.plus_secs(10);
    let snapshot = store.load().unwrap();
    let closing = snapshot.end_open_sessions(restart);
    assert_eq!(
        closing,
        vec![Record::LoggedOut {
            user: "alice".into(),
            at: restart
        }]
    );
    store.commit(&closing).unwrap();
    // A later restart keeps that end instead of moving it.
    let later = restored(store.load().unwrap(), START.plus_secs(500));
    assert_eq!(later.last_logout("alice"), Some(restart));
    assert!(store.load().unwrap().end_open_sessions(restart).is_empty());
}

/// `batch` committed at once to one new store and a record a commit to another, after `before` in
/// one commit to each: both stores must hold the same rows, and the first's are returned.
fn committed_at_once_and_one_by_one(before: &[Record], batch: &[Record]) -> Snapshot {
    let one = tempfile::tempdir().unwrap();
    let many = tempfile::tempdir().unwrap();
    let mut together = Store::open(one.path()).unwrap();
    let mut apart = Store::open(many.path()).unwrap();
    if !before.is_empty() {
        together.commit(before).unwrap();
        apart.commit(before).unwrap();
    }
    together.commit(batch).unwrap();
    for record in batch {
        apart.commit(std::slice::from_ref(record)).unwrap();
    }
    let (together, apart) = (together.load().unwrap(), apart.load().unwrap());
    assert_eq!(together.records, apart.records);
    together
}

/// A restart at `restart` closes one session left open: `user`'s, ended then.
fn only_online_at_restart(snapshot: &Snapshot, user: &str, restart: Timestamp) {
    assert_eq!(
        snapshot.end_open_sessions(restart),
        vec![Record::LoggedOut {
            user: user.into(),
            at: restart
        }],
        "only {user} is still online"
    );
}

#[test]
fn a_session_begun_and_ended_in_one_commit_leaves_what_two_commits_would() {
    let history = |user: &str, from: u64, to: u64| {
        [
            Record::LoggedIn {
                user: user.into(),
                at: START.plus_secs(from),
            },
            Record::LoggedOut {
                user: user.into(),
                at: START.plus_secs(to),
            },
        ]
    };
    // alice was online before (her open session is closed by this commit), bob logs in and out
    // twice (and once more later), carol logs in and stays, and a lockout between them keeps both
    // of dave's records.
    let earlier = Record::LoggedIn {
        user: "alice".into(),
        at: START,
    };
    let mut batch = Vec::new();
    batch.extend(history("bob", 1, 2));
    batch.push(Record::LoggedOut {
        user: "alice".into(),
        at: START.plus_secs(3),
    });
    batch.extend(history("bob", 4, 5));
    batch.push(Record::LoggedIn {
        user: "carol".into(),
        at: START.plus_secs(6),
    });
    // grace comes and goes twice, and only her second logout time is written: it must be the one
    // kept (no later record of hers sets it again).
    batch.extend(history("grace", 6, 7));
    batch.extend(history("grace", 7, 8));
    let [dave_in, dave_out] = history("dave", 7, 9);
    batch.extend([
        dave_in,
        Record::LockedOut {
            user: "erin".into(),
            until: START.plus_secs(60),
        },
        dave_out,
    ]);
    // After another record, a session begun and ended writes both as before; and two logins of one
    // name before its logout keep the first one's row until that logout deletes it.
    batch.extend(history("bob", 10, 11));
    let [frank_in, frank_out] = history("frank", 12, 14);
    batch.extend([frank_in.clone(), frank_in, frank_out]);
    let together = committed_at_once_and_one_by_one(&[earlier], &batch);
    only_online_at_restart(&together, "carol", START.plus_secs(100));
}

/// A busy server's commit of login history: more logout times than one statement writes (and a
/// remainder written a row at a time), users who came and went twice (their later time kept), one
/// who logs in again and stays, and some of them once more after another kind of record, whose
/// times must land after the earlier ones still waiting to be written. The rows are what one
/// commit per record leaves.
#[test]
fn many_logout_times_in_one_commit_leave_what_one_by_one_would() {
    let session = |u: u64, from: u64| {
        let user: natter_core::protocol::Name = format!("user{u:03}").as_str().into();
        [
            Record::LoggedIn {
                user: user.clone(),
                at: START.plus_secs(from),
            },
            Record::LoggedOut {
                user,
                at: START.plus_secs(from + 1),
            },
        ]
    };
    let mut batch = Vec::new();
    for round in 0..2 {
        for u in 0..100 {
            batch.extend(session(u, 1_000 * round + u));
        }
    }
    // The last of them logs in again and stays, while their logout time still waits to be
    // written (a login does not make it be written first).
    batch.push(Record::LoggedIn {
        user: "user099".into(),
        at: START.plus_secs(2_000),
    });
    batch.push(Record::LockedOut {
        user: "erin".into(),
        until: START.plus_secs(60),
    });
    // Among them the last few of the first part, whose times were still waiting to be written.
    for u in 60..99 {
        batch.extend(session(u, 5_000 + u));
    }
    let together = committed_at_once_and_one_by_one(&[], &batch);
    let logout = |user: &str| {
        together.records.iter().find_map(|r| match r {
            Record::LoggedOut { user: u, at } if &**u == user => Some(*at),
            _ => None,
        })
    };
    assert_eq!(logout("user007"), Some(START.plus_secs(1_008)));
    assert_eq!(logout("user070"), Some(START.plus_secs(5_071)));
    assert_eq!(logout("user098"), Some(START.plus_secs(5_099)));
    assert_eq!(logout("user099"), Some(START.plus_secs(1_100)));
    only_online_at_restart(&together, "user099", START.plus_secs(9_999));
}

#[test]
fn an_absurdly_long_lockout_is_kept_not_a_failed_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .commit(&[Record::LockedOut {
            user: "dave".into(),
            until: Timestamp(u64::MAX),
        }])
        .unwrap();
    let s = restored(store.load().unwrap(), START);
    assert!(s.locked_until("dave", START.plus_secs(1 << 40)).is_some());
}

fn stored(id: u64, to: &str, text: &str) -> Record {
    Record::MessageStored {
        group: None,
        id,
        to: to.into(),
        from: "alice".into(),
        sent_at: START,
        text: text.into(),
    }
}

/// The tables as the first format (before groups) created them, word for word: the history the
/// migrations start from, spelled once.
const FIRST_FORMAT_TABLES: &str = "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
    CREATE TABLE accounts (seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, password TEXT NOT NULL, crc INTEGER NOT NULL) STRICT;
    CREATE TABLE logouts (user TEXT PRIMARY KEY, at INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
    CREATE TABLE open_sessions (user TEXT PRIMARY KEY, since INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
    CREATE TABLE lockouts (user TEXT PRIMARY KEY, until INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
    CREATE TABLE blocks (by_user TEXT NOT NULL, blocked TEXT NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY (by_user, blocked)) STRICT, WITHOUT ROWID;
    CREATE TABLE messages (id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, sender TEXT NOT NULL, sent_at INTEGER NOT NULL, text TEXT NOT NULL, crc INTEGER NOT NULL) STRICT;
    CREATE INDEX messages_by_recipient ON messages (recipient, id);
";

/// A store as the first format (before groups) wrote it, with one stored message, opened by this build:
/// upgraded in place, nothing lost, and group state works in it afterwards.
#[test]
fn a_store_of_the_first_format_is_upgraded_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let crc = schema::row_crc(&[
            schema::Field::Text(schema::NEXT_MESSAGE_ID),
            schema::Field::Int(8),
        ]);
        let msg_crc = schema::message_crc(7, "bob", "alice", 1000, "from the old days", None);
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             BEGIN;
             {FIRST_FORMAT_TABLES}
             INSERT INTO meta (key, value, crc) VALUES ('{}', 8, {crc});
             INSERT INTO messages VALUES (7, 'bob', 'alice', 1000, 'from the old days', {msg_crc});
             PRAGMA application_id = {};
             PRAGMA user_version = 1;
             COMMIT;",
            schema::NEXT_MESSAGE_ID,
            schema::APPLICATION_ID
        ))
        .unwrap();
    }
    let mut store = Store::open(dir.path()).unwrap();
    let snap = store.load().unwrap();
    assert_eq!(snap.next_message_id, 8);
    assert_eq!(
        snap.records,
        vec![Record::MessageStored {
            id: 7,
            to: "bob".into(),
            from: "alice".into(),
            group: None,
            sent_at: Timestamp(1000),
            text: "from the old days".into(),
        }]
    );
    let group_records = [
        Record::GroupCreated {
            group: "team".into(),
            by: "alice".into(),
            members: vec!["alice".into(), "bob".into()],
        },
        Record::MessageStored {
            id: 8,
            to: "bob".into(),
            from: "alice".into(),
            group: Some("team".into()),
            sent_at: Timestamp(2000),
            text: "to the team".into(),
        },
    ];
    store.commit(&group_records).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let records = store.load().unwrap().records;
    assert!(records.contains(&group_records[0]), "{records:?}");
    assert!(records.contains(&group_records[1]), "{records:?}");
}

/// The shape of a store's tables as SQLite reads them (each table's columns with their type, whether
/// they may be null and their place in the primary key; its indexes' columns and uniqueness), whatever
/// whitespace or comments the statements that made them had.
fn table_shapes(dir: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    // (`wr`: whether the table is keyed by its primary key alone, `WITHOUT ROWID`.)
    let tables: Vec<(String, i64)> = conn
        .prepare("SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut shapes = Vec::new();
    for (table, without_rowid) in tables {
        let columns = conn
            .prepare(&format!("PRAGMA table_info('{table}')"))
            .unwrap()
            .query_map([], |r| {
                Ok(format!(
                    "{} {} notnull={} pk={}",
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(5)?
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>();
        let indexes: Vec<(String, i64)> = conn
            .prepare(&format!("PRAGMA index_list('{table}')"))
            .unwrap()
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut indexed: Vec<String> = indexes
            .into_iter()
            .map(|(index, unique)| {
                let cols: Vec<String> = conn
                    .prepare(&format!("PRAGMA index_info('{index}')"))
                    .unwrap()
                    .query_map([], |r| r.get(2))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                format!("unique={unique} ({})", cols.join(", "))
            })
            .collect();
        indexed.sort();
        shapes.push(format!(
            "{table} (without rowid: {without_rowid}): {}; {}",
            columns.join(", "),
            indexed.join("; ")
        ));
    }
    shapes
}

/// Every format's tables are spelled twice on purpose: once in `CREATE`, for a new store, and once in
/// the migration that brought them in, which must stay as it was written. This holds the two to one
/// shape: a store of the first format, upgraded through every migration, has exactly the tables,
/// columns and indexes of a store made new.
#[test]
fn an_upgraded_store_has_the_tables_of_a_new_one() {
    let old = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(old.path().join(DB_FILE)).unwrap();
        conn.execute_batch(&format!(
            "BEGIN;
             {FIRST_FORMAT_TABLES}
             INSERT INTO meta (key, value, crc) VALUES ('{}', 1, {});
             PRAGMA application_id = {};
             PRAGMA user_version = 1;
             COMMIT;",
            schema::NEXT_MESSAGE_ID,
            schema::row_crc(&[
                schema::Field::Text(schema::NEXT_MESSAGE_ID),
                schema::Field::Int(1)
            ]),
            schema::APPLICATION_ID
        ))
        .unwrap();
    }
    drop(Store::open(old.path()).unwrap());
    let new = tempfile::tempdir().unwrap();
    drop(Store::open(new.path()).unwrap());
    assert_eq!(table_shapes(old.path()), table_shapes(new.path()));
}

/// A store of format 2 (one message per id), opened by this build: upgraded in place with nothing
/// lost, after which one id may be stored for several recipients (a group message's copies).
#[test]
fn a_store_of_the_second_format_is_upgraded_and_keys_messages_by_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let crc = schema::row_crc(&[
            schema::Field::Text(schema::NEXT_MESSAGE_ID),
            schema::Field::Int(8),
        ]);
        let msg_crc = schema::message_crc(7, "bob", "alice", 1000, "kept across", Some("team"));
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             BEGIN;
             CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
             CREATE TABLE accounts (seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, password TEXT NOT NULL, crc INTEGER NOT NULL) STRICT;
             CREATE TABLE logouts (user TEXT PRIMARY KEY, at INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
             CREATE TABLE open_sessions (user TEXT PRIMARY KEY, since INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
             CREATE TABLE lockouts (user TEXT PRIMARY KEY, until INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
             CREATE TABLE blocks (by_user TEXT NOT NULL, blocked TEXT NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY (by_user, blocked)) STRICT, WITHOUT ROWID;
             CREATE TABLE messages (id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, sender TEXT NOT NULL, sent_at INTEGER NOT NULL, text TEXT NOT NULL, crc INTEGER NOT NULL, grp TEXT) STRICT;
             CREATE INDEX messages_by_recipient ON messages (recipient, id);
             CREATE TABLE group_members (grp TEXT NOT NULL, member TEXT NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY (grp, member)) STRICT, WITHOUT ROWID;
             CREATE INDEX group_members_by_member ON group_members (member);
             INSERT INTO meta (key, value, crc) VALUES ('{}', 8, {crc});
             INSERT INTO messages VALUES (7, 'bob', 'alice', 1000, 'kept across', {msg_crc}, 'team');
             PRAGMA application_id = {};
             PRAGMA user_version = 2;
             COMMIT;",
            schema::NEXT_MESSAGE_ID,
            schema::APPLICATION_ID
        ))
        .unwrap();
    }
    let mut store = Store::open(dir.path()).unwrap();
    let snap = store.load().unwrap();
    assert_eq!(snap.next_message_id, 8);
    let kept = Record::MessageStored {
        id: 7,
        to: "bob".into(),
        from: "alice".into(),
        group: Some("team".into()),
        sent_at: Timestamp(1000),
        text: "kept across".into(),
    };
    assert_eq!(snap.records, vec![kept.clone()]);
    let copy = |to: &str| Record::MessageStored {
        id: 8,
        to: to.into(),
        from: "alice".into(),
        group: Some("team".into()),
        sent_at: Timestamp(2000),
        text: "one id, two recipients".into(),
    };
    store.commit(&[copy("bob"), copy("carol")]).unwrap();
    drop(store);
    let records = Store::open(dir.path()).unwrap().load().unwrap().records;
    assert_eq!(records, vec![kept, copy("bob"), copy("carol")]);
}

/// A store of the seventh format, whose users' times (last logout, open session, lockout) were row
/// tables with an index of the names beside them, is upgraded to tables keyed by the name alone
/// with every row and checksum as it was, and its times are set as before from then on.
#[test]
fn a_store_of_the_seventh_format_keys_the_users_times_by_name_alone() {
    let dir = tempfile::tempdir().unwrap();
    let times = [
        Record::LoggedIn {
            user: "alice".into(),
            at: START,
        },
        Record::LoggedOut {
            user: "alice".into(),
            at: START.plus_secs(5),
        },
        Record::LoggedIn {
            user: "bob".into(),
            at: START.plus_secs(6),
        },
        Record::LockedOut {
            user: "carol".into(),
            until: START.plus_secs(60),
        },
    ];
    let before = {
        let mut store = Store::open(dir.path()).unwrap();
        // One commit each, so every row is written (none folded into a later one).
        for record in &times {
            store.commit(std::slice::from_ref(record)).unwrap();
        }
        store.load().unwrap().records
    };
    {
        // The same rows in the seventh format's tables.
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let mut sql = String::from("BEGIN;");
        for (table, column) in [
            ("logouts", "at"),
            ("open_sessions", "since"),
            ("lockouts", "until"),
        ] {
            sql.push_str(&format!(
                "CREATE TABLE old_{table} (user TEXT PRIMARY KEY, {column} INTEGER NOT NULL, crc INTEGER NOT NULL) STRICT;
                 INSERT INTO old_{table} SELECT user, {column}, crc FROM {table};
                 DROP TABLE {table};
                 ALTER TABLE old_{table} RENAME TO {table};"
            ));
        }
        sql.push_str("PRAGMA user_version = 7; COMMIT;");
        conn.execute_batch(&sql).unwrap();
        assert!(
            !without_rowid(&conn, "logouts"),
            "the seventh format's table has rows of its own"
        );
    }
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.load().unwrap().records, before);
    store
        .commit(&[
            Record::LoggedOut {
                user: "bob".into(),
                at: START.plus_secs(9),
            },
            Record::LoggedOut {
                user: "alice".into(),
                at: START.plus_secs(10),
            },
        ])
        .unwrap();
    let s = restored(store.load().unwrap(), START.plus_secs(20));
    assert_eq!(s.last_logout("alice"), Some(START.plus_secs(10)));
    assert_eq!(s.last_logout("bob"), Some(START.plus_secs(9)));
    assert!(s.locked_until("carol", START.plus_secs(30)).is_some());
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    for table in ["logouts", "open_sessions", "lockouts"] {
        assert!(
            without_rowid(&conn, table),
            "{table} is keyed by the name alone"
        );
    }
}

/// Whether `table` is keyed by its primary key alone (`WITHOUT ROWID`).
fn without_rowid(conn: &rusqlite::Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT wr FROM pragma_table_list WHERE name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        == 1
}

/// A store of the third format (before the key directory) gains its tables, keeps what it had, and
/// keeps keys from then on.
#[test]
fn a_store_of_the_third_format_is_upgraded_with_the_key_directory() {
    let dir = tempfile::tempdir().unwrap();
    let kept = stored(3, "bob", "before keys");
    {
        let mut store = Store::open(dir.path()).unwrap();
        store.commit(std::slice::from_ref(&kept)).unwrap();
    }
    {
        // What a store of the third format looks like: the same, without the key tables, the bans
        // and the groups' owners (formats 4 to 6).
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(
            "BEGIN;
             DROP TABLE identities;
             DROP TABLE one_time_keys;
             DROP TABLE fallback_keys;
             DROP TABLE bans;
             ALTER TABLE group_members DROP COLUMN seq;
             DROP TABLE group_settings;
             DROP TABLE group_topics;
             DROP TABLE group_invitations;
             DROP TABLE group_rules;
             PRAGMA user_version = 3;
             COMMIT;",
        )
        .unwrap();
    }
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.load().unwrap().records, vec![kept.clone()]);
    let identity = Record::IdentityPublished {
        user: "bob".into(),
        curve25519: shaped("c", 43),
        ed25519: shaped("e", 43),
    };
    let added = Record::OneTimeKeysAdded {
        user: "bob".into(),
        keys: vec![sample_key(1), sample_key(2), sample_key(3)],
    };
    let fallback = Record::FallbackKeySet {
        user: "bob".into(),
        key: sample_key(9),
    };
    let claimed = Record::OneTimeKeyClaimed {
        user: "bob".into(),
        key_id: "2".into(),
    };
    store
        .commit(&[identity.clone(), added, fallback.clone(), claimed])
        .unwrap();
    drop(store);
    let records = Store::open(dir.path()).unwrap().load().unwrap().records;
    let left = Record::OneTimeKeysAdded {
        user: "bob".into(),
        keys: vec![sample_key(1), sample_key(3)],
    };
    assert_eq!(records, vec![identity, left, fallback, kept]);
}

/// A new identity drops the old one's keys in the store as in the core.
#[test]
fn a_new_identity_drops_the_keys_of_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let identity = |k: &str| Record::IdentityPublished {
        user: "bob".into(),
        curve25519: shaped(k, 43),
        ed25519: shaped(k, 43),
    };
    store
        .commit(&[
            identity("old"),
            Record::OneTimeKeysAdded {
                user: "bob".into(),
                keys: vec![sample_key(1)],
            },
            Record::FallbackKeySet {
                user: "bob".into(),
                key: sample_key(2),
            },
        ])
        .unwrap();
    store.commit(&[identity("new")]).unwrap();
    assert_eq!(store.load().unwrap().records, vec![identity("new")]);
}

fn closed_store(dir: &Path) -> std::path::PathBuf {
    let mut store = Store::open(dir).unwrap();
    store
        .commit(&[stored(1, "bob", "a message worth keeping")])
        .unwrap();
    let path = store.path().to_owned();
    drop(store);
    assert!(
        !dir.join(format!("{DB_FILE}-wal")).exists(),
        "a clean close checkpoints the log"
    );
    path
}

#[test]
fn a_second_opener_is_refused_while_the_first_holds_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    drop(first);
    Store::open(dir.path()).unwrap();
}

#[test]
fn a_store_from_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = closed_store(dir.path());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let newer = schema::FORMAT_VERSION + 1;
    conn.pragma_update(None, "user_version", newer).unwrap();
    drop(conn);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerFormat { found, supported, .. }
                if found == newer && supported == schema::FORMAT_VERSION
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer natter"), "{err}");
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotNatter { .. }), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = closed_store(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("damaged") && msg.contains(DB_FILE), "{msg}");
}

#[test]
fn a_scrambled_page_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = closed_store(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 3 * page);
    // Overwrite the middle of the file (tables' pages) with noise.
    for (i, b) in bytes[page..3 * page].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(dir.path()).and_then(|s| s.load()).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
}

#[test]
fn a_flipped_byte_in_a_message_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = closed_store(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(5)
        .position(|w| w == b"worth")
        .expect("the message text is in the file");
    bytes[at] = b'W';
    std::fs::write(&path, &bytes).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let err = store.load().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("checksum") && msg.contains("stored message 1"),
        "{msg}"
    );
}

#[test]
fn a_data_directory_that_is_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::NotADirectory { .. }), "{err}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn an_empty_file_left_by_a_crash_during_creation_is_created_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), b"").unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.commit(&[stored(1, "bob", "hi")]).unwrap();
    assert_eq!(store.load().unwrap().records.len(), 1);
}

#[test]
fn the_data_directory_is_created_with_its_parents() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/natter-data");
    Store::open(&nested).unwrap();
    assert!(nested.join(DB_FILE).exists());
    assert!(nested.join(LOCK_FILE).exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&nested).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private messages are not world-readable");
    }
}

#[test]
fn the_database_its_log_and_the_lock_are_owner_only_even_if_an_older_natter_made_them_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("natter-data");
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    {
        let mut store = Store::open(&data).unwrap();
        store.commit(&[stored(1, "bob", "hi")]).unwrap();
        for name in [DB_FILE, "natter.db-wal", LOCK_FILE] {
            assert_eq!(mode(name), 0o600, "{name}");
        }
    }
    // Files left readable by others (the default umask of an older natter) are tightened.
    for name in [DB_FILE, "natter.db-wal", LOCK_FILE] {
        let path = data.join(name);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _store = Store::open(&data).unwrap();
    assert_eq!(mode(DB_FILE), 0o600);
    assert_eq!(mode(LOCK_FILE), 0o600);
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
}
