//! End-to-end: three real `natter-server` nodes on one Redis act as one server, and real `natter`
//! clients spread over them see every rule hold across the cluster; a node killed with `kill -9` has its
//! users logged out everywhere within the stated bound, and they log in again through another node.

mod kit;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kit::{Client, PEOPLE, Piped, Redis, Server};
use natter::shell::cluster::RedisLog;
use natter_core::protocol::ServerMsg;

fn node(redis: &Redis) -> Server {
    Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "600", "--cluster", &redis.url()])
        .start()
}

/// A node that takes a snapshot every `every` entries of the log.
fn node_snapshotting(redis: &Redis, every: u32) -> Server {
    Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "600", "--cluster", &redis.url()])
        .args(&["--snapshot-every", &every.to_string()])
        .start()
}

/// How many entries the cluster's log holds now.
fn log_len(redis: &Redis) -> u64 {
    smol::block_on(async {
        let mut log = RedisLog::connect(
            &redis.endpoint(),
            "natter:log",
            Duration::from_millis(100),
            None,
        )
        .await
        .unwrap();
        log.entries().await.unwrap()
    })
}

/// `user` logged in over the protocol at `server`.
fn client(server: &Server, user: &str) -> Client {
    let password = PEOPLE.iter().find(|(u, _)| *u == user).unwrap().1;
    Client::log_in(
        std::net::SocketAddr::from(([127, 0, 0, 1], server.port())),
        user,
        password,
    )
    .unwrap_or_else(|e| panic!("{user}: {e}"))
}

/// `from` sends `n` messages to the offline `to`, each acknowledged as stored.
fn store_messages(from: &mut Client, to: &str, n: usize, tag: &str) {
    for i in 0..n {
        from.say(&format!("message {to} {tag}{i}"));
        from.expect("stored", |m| matches!(m, ServerMsg::Stored { .. }));
    }
}

/// The texts of the `n` stored messages from `from` that `c` received at its login, in order; each is
/// acknowledged, so it is not delivered again. Then, after a round trip, that nothing more came.
fn delivered_at_login(c: &mut Client, from: &str, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        if let ServerMsg::OfflineMessage {
            id, from: f, text, ..
        } = c.next()
            && &*f == from
        {
            got.push(text.to_string());
            c.say(&format!("ack {id}"));
        }
    }
    c.say("whoelse");
    let rest = c
        .recv_until(|m| matches!(m, ServerMsg::WhoElse { .. }))
        .unwrap();
    assert!(
        !rest
            .iter()
            .any(|m| matches!(m, ServerMsg::OfflineMessage { .. })),
        "delivered more than once: {rest:?}"
    );
    got
}

fn numbered(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag}{i}")).collect()
}

/// `natter --plaintext` logged in as `user` at `port`.
fn user_at(user: &str, password: &str, port: u16, dir: &Path) -> Piped {
    Piped::login(user, password, port, &dir.join(user))
}

/// `user` logged in at the node on `port`, with the cluster's other nodes named too (`--server`), so
/// the client knows them for one server: its end-to-end keys are the same whichever node it uses.
fn user_in_cluster(user: &str, password: &str, port: u16, others: &[u16], dir: &Path) -> Piped {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    for p in std::iter::once(port).chain(others.iter().copied()) {
        cmd.arg("--server").arg(format!("127.0.0.1:{p}"));
    }
    cmd.arg("--plaintext")
        .arg("--state-dir")
        .arg(dir.join(user))
        .env_remove("RUST_LOG");
    let mut c = Piped::spawn_cmd(user, cmd, &dir.join(user));
    c.send(user);
    c.send(password);
    c.expect(&format!("Welcome to natter, {user}!"));
    c.send("whoelse");
    c.expect_any(&["* Online now:", "* Nobody else is online."]);
    c
}

#[test]
fn users_on_different_nodes_see_one_server() {
    let Some(redis) = Redis::start() else { return };
    let (a, b, c) = (node(&redis), node(&redis), node(&redis));
    let dir = tempfile::tempdir().unwrap();

    let mut alice = user_at("alice", "wonderland", a.port(), dir.path());
    let mut bob = user_in_cluster("bob", "builder", b.port(), &[c.port()], dir.path());
    // Presence crosses nodes, and so do messages.
    alice.expect("* bob logged in");
    alice.send("message bob hello from node A");
    bob.expect("[message] alice: hello from node A");

    // One session per user, across the cluster: alice is online on A, so not on C.
    let mut intruder = Piped::spawn("intruder", c.port(), &dir.path().join("x"));
    intruder.send("alice");
    intruder.send("wonderland");
    intruder.expect("That user is already logged in elsewhere");

    // whoelse and broadcast, cluster-wide.
    let mut carol = user_at("carol", "christmas", c.port(), dir.path());
    carol.send("whoelse");
    carol.expect("* Online now: alice, bob");
    carol.send("broadcast hi all");
    alice.expect("[broadcast] carol: hi all");
    bob.expect("[broadcast] carol: hi all");

    // Blocking, across nodes: bob blocks carol, whose messages then stop at the cluster.
    bob.send("block carol");
    bob.expect("blocked carol");
    carol.send("message bob psst");
    carol.expect("bob has blocked you");

    // A message for someone offline is stored, and delivered once at the next login, on another node.
    bob.send("logout");
    bob.expect("Logged out. Goodbye!");
    alice.expect("* bob logged out");
    alice.send("message bob see you later");
    alice.expect("bob is offline; they will get it when they log in");
    // (On the same machine, naming the same cluster: its end-to-end keys are there, and the message
    // was encrypted for them.)
    let mut bob = user_in_cluster("bob", "builder", c.port(), &[b.port()], dir.path());
    assert!(
        bob.saw("alice: see you later"),
        "the stored message did not come at bob's login on node C: {:?}",
        bob.seen
    );
    bob.send("whoelsesince 60");
    bob.expect("alice");

    for user in [&mut alice, &mut bob, &mut carol] {
        user.send("logout");
        assert_eq!(user.wait().code(), Some(0), "{}", user.seen.join("\n"));
    }
}

#[test]
fn groups_and_private_chats_are_brokered_across_nodes() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node(&redis), node(&redis));
    let dir = tempfile::tempdir().unwrap();
    let mut alice = user_at("alice", "wonderland", a.port(), dir.path());
    let mut bob = user_at("bob", "builder", b.port(), dir.path());

    // bob (on the other node) is invited and accepts; carol (offline) is added directly.
    alice.send("create group team bob");
    alice.expect("- created group team: alice");
    bob.expect("alice invites you to group team");
    bob.send("group join team");
    bob.expect("* [team] bob joined");
    alice.expect("* [team] bob joined");
    alice.send("group set team add direct");
    alice.send("group add team carol");
    alice.expect("* [team] alice added carol");
    alice.send("message group team hello, team");
    // carol never logged in (no keys): she is left out of the group's key, and bob reads it,
    // encrypted; nothing goes to anyone unencrypted.
    bob.expect("[team] alice: hello, team");
    alice.expect("- sent to team: 1 now, 1 at their next login");

    // A private chat between users on two nodes: brokered by the cluster, then client to client.
    alice.send("startprivate bob");
    bob.expect("? alice asks");
    bob.send("accept alice");
    alice.expect("* Private chat with bob is open");
    bob.expect("* Private chat with alice is open");
    alice.send("private bob just between us");
    bob.expect("[private] alice: just between us");
    drop((a, b));
}

/// A certificate and key (PEM files `NAME-cert.pem`, `NAME-key.pem` in `dir`), as an operator would
/// give every node.
fn certificate(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (c, k) = (
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

/// A new cluster key, made by the real binary (`natter-server cluster-key FILE`), in `dir`.
fn cluster_key(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cluster.key");
    let out = Command::new(kit::server_bin())
        .arg("cluster-key")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    path
}

/// The fingerprint a node logged for its certificate.
fn fingerprint(node: &Server) -> String {
    let log = node.log();
    let at = log.find("TLS certificate SHA256:").expect("a TLS node") + "TLS certificate ".len();
    log[at..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn a_killed_node_s_users_are_logged_out_everywhere_and_move_to_another_node() {
    let Some(redis) = Redis::start() else { return };
    // Over TLS, sealed with a cluster key: the nodes share the first one's certificate, so a client
    // that pinned one node logs in again by itself at another (it sends a remembered password only to
    // a node whose certificate it has verified).
    let keys = tempfile::tempdir().unwrap();
    let key = cluster_key(keys.path());
    let tls_node = || {
        Server::cmd()
            .accounts(PEOPLE)
            .tls()
            .args(&["60", "600", "--cluster", &redis.url()])
            .args(&["--cluster-key-file", key.to_str().unwrap()])
            .start()
    };
    let (a, b) = (tls_node(), tls_node());
    let c = Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "600", "--cluster", &redis.url()])
        .args(&["--cluster-key-file", key.to_str().unwrap()])
        .start();
    assert_eq!(fingerprint(&a), fingerprint(&b), "one identity");
    assert!(
        b.log().contains("the cluster's, shared through Redis"),
        "{}",
        b.log()
    );
    let (pa, pb) = (a.port(), b.port());
    let dir = tempfile::tempdir().unwrap();
    // alice's client knows both nodes and has met neither: it pins A, the first it uses; bob is on B.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    cmd.args(["--server"])
        .arg(format!("127.0.0.1:{pa}"))
        .arg("--server")
        .arg(format!("127.0.0.1:{pb}"))
        .arg("--state-dir")
        .arg(dir.path().join("alice"))
        .env_remove("RUST_LOG");
    let mut alice = Piped::spawn_cmd("alice", cmd, &dir.path().join("alice"));
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    let mut bob = Piped::spawn_tls("bob", pb, &dir.path().join("bob"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    let mut carol = user_at("carol", "christmas", c.port(), dir.path());
    alice.expect("* bob logged in");
    alice.expect("* carol logged in");

    let killed = Instant::now();
    a.kill9();
    // Everyone else learns alice is gone within the lease's bound (5 s, plus a check and the log).
    bob.expect("* alice logged out");
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "alice was logged out {took:?} after her node died"
    );
    carol.expect("* alice logged out");
    // Her client, meanwhile, moved to B, met the certificate it pinned at A, and logged in again by
    // itself once her old session ended, asking nothing.
    alice.expect(&format!(
        "127.0.0.1:{pb} presents the certificate you trust for 127.0.0.1:{pa}"
    ));
    alice.expect(&format!(
        "Reconnected to 127.0.0.1:{pb}; logged in again as alice."
    ));
    bob.expect("* alice logged in");
    alice.send("message bob back, through node B");
    bob.expect("[message] alice: back, through node B");

    alice.send("logout");
    assert_eq!(alice.wait().code(), Some(0), "{}", alice.seen.join("\n"));
}

#[test]
fn a_node_frozen_past_its_lease_comes_back_without_a_second_session() {
    let Some(redis) = Redis::start() else { return };
    let (a, b, c) = (node(&redis), node(&redis), node(&redis));
    let dir = tempfile::tempdir().unwrap();
    let mut alice = user_at("alice", "wonderland", a.port(), dir.path());
    let mut bob = user_at("bob", "builder", b.port(), dir.path());
    alice.expect("* bob logged in");
    // bob writes to alice first, so his client holds her first device's key: what happens to it
    // below does not then depend on when his client happens to ask for her keys.
    bob.send("message alice before");
    alice.expect("[message] bob: before");

    // Node A stops dead (as if cut off): the cluster ends its sessions when its lease runs out.
    a.signal("STOP");
    bob.expect("* alice logged out");
    // alice logs in again through C. Named by its own address, C is another server to her client,
    // so this is another device: she moves her account to it.
    let mut alice2 = user_at("alice", "wonderland", c.port(), &dir.path().join("2"));
    bob.expect("* alice logged in");
    alice2.send("movehere");
    alice2.expect("This device now holds your account's encryption keys");
    // bob is told her key changed, and accepts the new one as a user would, by its number.
    bob.send("message alice are you there");
    let warning = bob.expect("alice's identity key has CHANGED");
    let digits = warning.split("'/trust alice ").nth(1).unwrap()[..5].to_owned();
    bob.send(&format!("trust alice {digits}"));
    bob.expect("Accepted alice's new identity key");

    // A comes back: it must not keep serving alice's old session.
    a.signal("CONT");
    alice.expect("cannot reach its cluster's storage");
    bob.send("message alice only once");
    alice2.expect("[message] bob: only once");
    bob.send("whoelse");
    bob.expect("* Online now: alice");
    assert!(
        !alice.saw("only once"),
        "the old session got a message: {:?}",
        alice.seen
    );
    alice2.send("logout");
    assert_eq!(alice2.wait().code(), Some(0));
}

#[test]
fn a_restarted_redis_loses_nothing_acknowledged_and_the_nodes_carry_on() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let (a, b, c) = (node(&redis), node(&redis), node(&redis));
    let dir = tempfile::tempdir().unwrap();
    let mut alice = user_at("alice", "wonderland", a.port(), dir.path());
    let mut bob = user_at("bob", "builder", b.port(), dir.path());
    alice.expect("* bob logged in");
    // (carol never logged in, so has no keys: alice says it may go unencrypted.)
    alice.send("message carol kept across the restart");
    alice.expect("The server says carol has never published encryption keys");
    alice.send("sendclear carol");
    alice.expect("carol is offline; they will get it when they log in");

    redis.restart();

    // The nodes reconnect by themselves; messages flow again.
    alice.send("message bob after the restart");
    bob.expect("[message] alice: after the restart");
    // What was acknowledged before is still there, for a login on either node.
    let carol = user_at("carol", "christmas", c.port(), dir.path());
    assert!(
        // (carol never logged in before: no keys, so it went unencrypted as alice said, and says so.)
        carol.saw("alice: (not encrypted) kept across the restart"),
        "{:?}",
        carol.seen
    );
    drop((a, b, c));
}

#[test]
fn lockout_and_idle_timeout_hold_across_nodes() {
    let Some(redis) = Redis::start() else { return };
    // Idle timeout 3 s, lockout 60 s, on every node alike.
    let start = |redis: &Redis| {
        Server::cmd()
            .accounts(PEOPLE)
            .args(&["60", "3", "--cluster", &redis.url()])
            .start()
    };
    let (a, b, c) = (start(&redis), start(&redis), start(&redis));
    let dir = tempfile::tempdir().unwrap();

    // Three wrong passwords, one on each node: the account is locked everywhere.
    for (i, port) in [a.port(), b.port(), c.port()].into_iter().enumerate() {
        let mut guess = Piped::spawn("guess", port, &dir.path().join(format!("g{i}")));
        guess.send("dave");
        guess.send("wrong");
        if i < 2 {
            guess.expect("Wrong password");
        } else {
            guess.expect("locked");
        }
    }
    let mut late = Piped::spawn("late", b.port(), &dir.path().join("late"));
    late.send("dave");
    late.send(PEOPLE.iter().find(|(u, _)| *u == "dave").unwrap().1);
    late.expect("locked");

    // An idle user on A is logged out by the cluster, and a user on C is told.
    let mut alice = user_at("alice", "wonderland", a.port(), dir.path());
    let mut carol = user_at("carol", "christmas", c.port(), dir.path());
    alice.expect("* carol logged in");
    alice.expect("logged out by the server after 3 s without a command");
    carol.expect("* alice logged out");
}

#[test]
fn nodes_speak_tls_by_default_like_a_server_alone() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    // Without a cluster key, the nodes are given one certificate; one with another refuses to join.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path(), "cluster");
    let tls_node = |cert: &Path, key: &Path| {
        Server::cmd()
            .accounts(PEOPLE)
            .tls()
            .args(&["60", "600", "--cluster", &redis.url()])
            .args(&["--tls-cert", cert.to_str().unwrap()])
            .args(&["--tls-key", key.to_str().unwrap()])
    };
    let (a, b) = (tls_node(&cert, &key).start(), tls_node(&cert, &key).start());
    assert_eq!(fingerprint(&a), fingerprint(&b));
    let (other_cert, other_key) = certificate(dir.path(), "other");
    let refused = tls_node(&other_cert, &other_key)
        .try_start()
        .err()
        .expect("a node with another certificate joined");
    assert!(
        refused.stderr.contains("is not the cluster's")
            && refused.stderr.contains(&fingerprint(&a)),
        "{}",
        refused.stderr
    );
    let refused = Server::cmd()
        .accounts(PEOPLE)
        .tls()
        .args(&["60", "600", "--cluster", &redis.url()])
        .try_start()
        .err()
        .expect("a node with a self-signed certificate of its own joined");
    assert!(
        refused
            .stderr
            .contains("Give every node the same --tls-cert and --tls-key"),
        "{}",
        refused.stderr
    );
    let mut alice = Piped::spawn_tls("alice", a.port(), &dir.path().join("a"), &[]);
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    let mut bob = Piped::spawn_tls("bob", b.port(), &dir.path().join("b"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    alice.expect("* bob logged in");
    alice.send("message bob over TLS, across nodes");
    bob.expect("[message] alice: over TLS, across nodes");

    // Cut off from Redis, a node says so over TLS, to its users and to a newcomer (whose handshake it
    // finishes first, so the client reads why rather than a cut connection).
    redis.kill9();
    alice.expect("cannot reach its cluster's storage");
    let mut late = Piped::spawn_tls("late", a.port(), &dir.path().join("late"), &[]);
    late.expect("cannot reach its cluster's storage");
}

#[test]
fn a_late_node_starts_from_a_snapshot_and_the_log_stays_short() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node_snapshotting(&redis, 20), node_snapshotting(&redis, 20));
    let mut alice = client(&a, "alice");
    let mut bob = client(&b, "bob");
    bob.say("create group crew");
    bob.expect("created", |m| matches!(m, ServerMsg::GroupCreated { .. }));
    // carol is offline: added directly (bob allows it), not invited.
    bob.say("group set crew add direct");
    bob.say("group add crew alice");
    bob.say("group add crew carol");
    bob.expect(
        "carol added",
        |m| matches!(m, ServerMsg::GroupJoined { user, .. } if &**user == "carol"),
    );
    // Enough traffic for several snapshots: the log is trimmed behind each.
    store_messages(&mut alice, "carol", 120, "m");
    let deadline = Instant::now() + Duration::from_secs(10);
    while log_len(&redis) > 30 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let len = log_len(&redis);
    assert!(
        len <= 30,
        "the log holds {len} entries after 120 messages and snapshots every 20"
    );
    assert!(
        a.log().contains("snapshot of the cluster at log entry"),
        "{}",
        a.log()
    );

    // A node started now loads the latest snapshot: the log from the start is gone.
    let c = node_snapshotting(&redis, 20);
    assert!(
        !c.log().contains("starting at log entry 0"),
        "the late node did not start from a snapshot: {}",
        c.log()
    );
    // Through it, carol finds all that was stored for her, once and in order, and the cluster's state.
    let mut carol = client(&c, "carol");
    assert_eq!(
        delivered_at_login(&mut carol, "alice", 120),
        numbered("m", 120)
    );
    carol.say("whoelse");
    let who = carol.expect("whoelse", |m| matches!(m, ServerMsg::WhoElse { .. }));
    assert_eq!(
        who,
        ServerMsg::WhoElse {
            users: vec!["alice".into(), "bob".into()]
        }
    );
    carol.say("grouplist");
    carol.expect(
        "crew",
        |m| matches!(m, ServerMsg::GroupList { groups } if groups.iter().any(|g| &*g.0 == "crew")),
    );
    // And the nodes that never stopped still agree with it: presence and messages flow both ways.
    alice.expect(
        "carol's login",
        |m| matches!(m, ServerMsg::Presence { user, online: true } if &**user == "carol"),
    );
    carol.say("message alice hello from the new node");
    alice.expect(
        "carol's message",
        |m| matches!(m, ServerMsg::Message { from, .. } if &**from == "carol"),
    );
}

#[test]
fn a_node_left_behind_by_a_trimmed_log_starts_again_from_the_snapshot() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node_snapshotting(&redis, 20), node_snapshotting(&redis, 20));
    let mut alice = client(&a, "alice");
    let mut bob = client(&b, "bob");
    alice.expect(
        "bob's login",
        |m| matches!(m, ServerMsg::Presence { user, online: true } if &**user == "bob"),
    );

    // B freezes; its lease runs out, so the cluster ends bob's session and stops keeping the log for B.
    b.signal("STOP");
    alice.expect(
        "bob's logout",
        |m| matches!(m, ServerMsg::Presence { user, online: false } if &**user == "bob"),
    );
    store_messages(&mut alice, "carol", 80, "x");
    let deadline = Instant::now() + Duration::from_secs(10);
    while log_len(&redis) > 40 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        log_len(&redis) <= 40,
        "the log was not trimmed past the frozen node: {} entries; A's log: {}",
        log_len(&redis),
        a.log()
    );

    // B wakes: its old session is over (it says so), and it takes up from the snapshot.
    b.signal("CONT");
    let bye = bob.recv_until(|m| matches!(m, ServerMsg::Bye(_))).unwrap();
    assert!(
        matches!(
            bye.last(),
            Some(ServerMsg::Bye(
                natter_core::protocol::ByeReason::Unavailable
            ))
        ),
        "{bye:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while !b
        .log()
        .contains("starting again from the cluster's snapshot")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        b.log()
            .contains("starting again from the cluster's snapshot"),
        "{}",
        b.log()
    );
    // Through B, carol gets everything once, and the cluster's state is whole.
    let mut carol = loop {
        // B serves again once its lease is renewed.
        match Client::log_in(([127, 0, 0, 1], b.port()).into(), "carol", "christmas") {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("carol cannot log in through B: {e}"),
        }
    };
    assert_eq!(
        delivered_at_login(&mut carol, "alice", 80),
        numbered("x", 80)
    );
    alice.expect(
        "carol's login",
        |m| matches!(m, ServerMsg::Presence { user, online: true } if &**user == "carol"),
    );
    let mut bob = client(&b, "bob");
    bob.say("whoelse");
    let who = bob.expect("whoelse", |m| matches!(m, ServerMsg::WhoElse { .. }));
    assert_eq!(
        who,
        ServerMsg::WhoElse {
            users: vec!["alice".into(), "carol".into()]
        }
    );
}

#[test]
fn a_killed_node_loses_nothing_it_acknowledged() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node(&redis), node(&redis));
    let mut bob = client(&b, "bob");
    let mut alice = client(&a, "alice");
    store_messages(&mut alice, "carol", 30, "k");
    alice.say("block dave");
    alice.expect("blocked", |m| matches!(m, ServerMsg::Blocked { .. }));
    a.kill9();
    // Everything A acknowledged before it died is the cluster's: carol gets each message once, through B.
    let mut carol = client(&b, "carol");
    assert_eq!(
        delivered_at_login(&mut carol, "alice", 30),
        numbered("k", 30)
    );
    // And alice's block list survived too: once the cluster has ended her session on the dead node,
    // she logs in again through B, and dave is still blocked.
    bob.expect(
        "alice's logout",
        |m| matches!(m, ServerMsg::Presence { user, online: false } if &**user == "alice"),
    );
    let mut alice = client(&b, "alice");
    alice.say("unblock dave");
    alice.expect("unblocked", |m| matches!(m, ServerMsg::Unblocked { .. }));
}

#[test]
fn while_redis_is_unreachable_nothing_is_acknowledged_and_users_are_told_in_bounded_time() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let (a, b) = (node(&redis), node(&redis));
    let mut alice = client(&a, "alice");
    let bob = client(&b, "bob");
    alice.expect(
        "bob's login",
        |m| matches!(m, ServerMsg::Presence { user, online: true } if &**user == "bob"),
    );

    redis.kill9();
    let cut = Instant::now();
    alice.say("message carol typed while Redis is down");
    // No acknowledgement: within the bound, the node says it cannot serve and closes the connection.
    let got = alice
        .recv_until(|m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();
    let took = cut.elapsed();
    assert!(
        !got.iter().any(|m| matches!(m, ServerMsg::Stored { .. })),
        "acknowledged while Redis was down: {got:?}"
    );
    assert_eq!(
        got.last(),
        Some(&ServerMsg::Bye(
            natter_core::protocol::ByeReason::Unavailable
        ))
    );
    assert!(took < Duration::from_secs(8), "told after {took:?}");
    // A new connection meanwhile is told at once, and the node's log says what is wrong.
    let mut late = a.connect();
    assert_eq!(
        late.next(),
        ServerMsg::Bye(natter_core::protocol::ByeReason::Unavailable)
    );
    assert!(
        a.log().contains("Redis at redis://127.0.0.1:"),
        "{}",
        a.log()
    );

    // Redis back: the nodes serve again, and what was typed during the outage did not happen later.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut carol = loop {
        match Client::log_in(([127, 0, 0, 1], a.port()).into(), "carol", "christmas") {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("node A did not serve again after Redis came back: {e}"),
        }
    };
    carol.say("offline");
    let shown = carol
        .recv_until(|m| matches!(m, ServerMsg::OfflineList { .. }))
        .unwrap();
    assert!(
        !shown
            .iter()
            .any(|m| matches!(m, ServerMsg::OfflineMessage { .. }))
            && shown.last() == Some(&ServerMsg::OfflineList { count: 0 }),
        "a message the user was never told was stored was delivered: {shown:?}"
    );
    drop((a, b, bob));
}

#[test]
fn no_password_enters_the_shared_log() {
    let Some(redis) = Redis::start() else { return };
    let start = || {
        Server::cmd()
            .accounts(PEOPLE)
            .args(&["60", "600", "--cluster", &redis.url(), "--register"])
            .start()
    };
    let (a, b) = (start(), start());
    let addr = |s: &Server| std::net::SocketAddr::from(([127, 0, 0, 1], s.port()));
    // A wrong password, then the right one, sent in one write with a command behind them (a client
    // that does not wait for prompts): each line is still taken as what it is.
    let mut alice = a.connect();
    alice.send_raw(b"alice\nnot-her-password\nwonderland\nwhoelse\n");
    alice.expect("the wrong password", |m| {
        matches!(
            m,
            ServerMsg::Error(natter_core::protocol::ErrorReply::WrongPassword { .. })
        )
    });
    alice.expect("welcome", |m| matches!(m, ServerMsg::Welcome { .. }));
    alice.expect("whoelse", |m| matches!(m, ServerMsg::WhoElse { .. }));
    // A new account, registered through B, its password hashed there; then used through A.
    let mut zed = b.connect();
    zed.send_raw(b"zed\nzeds-new-secret\n");
    zed.expect("registered", |m| matches!(m, ServerMsg::Registered { .. }));
    zed.say("logout");
    zed.expect("bye", |m| matches!(m, ServerMsg::Bye(_)));
    let mut zed = Client::log_in(addr(&a), "zed", "zeds-new-secret").unwrap();
    zed.say("message alice hello, a registered user");
    alice.expect(
        "zed's message",
        |m| matches!(m, ServerMsg::Message { from, .. } if &**from == "zed"),
    );

    let entries = smol::block_on(async {
        let mut log = RedisLog::connect(
            &redis.endpoint(),
            "natter:log",
            Duration::from_millis(100),
            None,
        )
        .await
        .unwrap();
        let mut all = Vec::new();
        let mut at = 0;
        loop {
            let page = log.read_after(at, 1000).await.unwrap();
            let Some(last) = page.last() else { break all };
            at = last.position;
            all.extend(page);
        }
    });
    let secret_lines = entries
        .iter()
        .flat_map(|e| &e.events)
        .filter(|e| {
            matches!(
                e.kind,
                natter_core::server::cluster::LogEventKind::SecretLine { .. }
            )
        })
        .count();
    assert_eq!(
        secret_lines, 4,
        "the four password lines, without their text"
    );
    // Every entry's bytes, as Redis holds them.
    let held: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| natter_core::server::cluster::LogEvent::encode_batch(&e.events))
        .collect();
    let holds = |text: &str| {
        held.iter()
            .any(|b| b.windows(text.len()).any(|w| w == text.as_bytes()))
    };
    for password in ["not-her-password", "wonderland", "zeds-new-secret"] {
        assert!(!holds(password), "{password:?} is in the cluster's log");
    }
    assert!(
        holds("whoelse") && holds("hello, a registered user"),
        "commands are in the log"
    );
}

#[test]
fn a_node_with_other_rules_or_accounts_refuses_to_join_and_says_what_differs() {
    let Some(redis) = Redis::start() else { return };
    let _a = node(&redis);
    let other_timeout = Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "300", "--cluster", &redis.url()])
        .try_start()
        .err()
        .expect("a node with another idle timeout joined the cluster");
    assert!(
        other_timeout
            .stderr
            .contains("timeout_secs: the cluster's is 600, this node's 300"),
        "{}",
        other_timeout.stderr
    );
    let fewer_accounts = Server::cmd()
        .accounts(&PEOPLE[..2])
        .args(&["60", "600", "--cluster", &redis.url()])
        .try_start()
        .err()
        .expect("a node with other accounts joined the cluster");
    assert!(
        fewer_accounts.stderr.contains("missing here:"),
        "{}",
        fewer_accounts.stderr
    );
}

/// What became of one of bob's messages, as his receipts said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Pending,
    Delivered,
    Stored,
}

/// `DELIVERED` means shown, even when the recipient's node dies. alice's natter client is on node A
/// (it knows B too); bob, on B with receipts on, sends her a stream of messages, and A is `kill -9`ed
/// mid-stream. Every message bob was told `DELIVERED` for was shown by alice's client; every other
/// one he was told `STORED` for once the cluster ended her session, and her client, moved to B, shows
/// it then; none is lost and none is shown twice. (Before, `DELIVERED` meant written to her socket
/// by node A, and what was in flight when A died was lost although bob had been told it was delivered.)
#[test]
fn delivered_means_shown_when_the_recipients_node_dies() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Arc, Mutex};
    const COUNT: usize = 100;
    let Some(redis) = Redis::start() else { return };
    // Over TLS with one identity, as a cluster is deployed: alice's client moves to B and logs in again
    // by itself, as it sends a remembered password only to a node whose certificate it has verified.
    let keys = tempfile::tempdir().unwrap();
    let key = cluster_key(keys.path());
    let tls_node = || {
        Server::cmd()
            .accounts(PEOPLE)
            .tls()
            .args(&["60", "600", "--cluster", &redis.url()])
            .args(&["--cluster-key-file", key.to_str().unwrap()])
            .start()
    };
    let (a, b) = (tls_node(), tls_node());
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    cmd.arg("--server")
        .arg(format!("127.0.0.1:{}", a.port()))
        .arg("--server")
        .arg(format!("127.0.0.1:{}", b.port()))
        .arg("--state-dir")
        .arg(dir.path().join("alice"))
        .env_remove("RUST_LOG");
    let mut alice = Piped::spawn_cmd("alice", cmd, &dir.path().join("alice"));
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    // bob speaks the protocol by hand, in plain text, to a third node.
    let c = Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "600", "--cluster", &redis.url()])
        .args(&["--cluster-key-file", key.to_str().unwrap()])
        .start();
    let mut bob = client(&c, "bob");
    bob.say("receipts on");

    // Each message gets one answer at once, in order: SENT (queued for online alice) or STORED; a
    // later DELIVERED or STORED names the id SENT gave.
    let fates = Arc::new(Mutex::new((Vec::<u64>::new(), BTreeMap::new())));
    let mut reader = bob.try_clone_reader().unwrap();
    let f = fates.clone();
    let answers = std::thread::spawn(move || {
        let mut settled = 0;
        while settled < COUNT {
            let Ok(m) = reader.recv() else { return };
            let mut f = f.lock().unwrap();
            let (ids, fate) = &mut *f;
            match m {
                ServerMsg::Sent { id, .. } => {
                    ids.push(id);
                    fate.insert(id, Fate::Pending);
                }
                ServerMsg::Stored { id, .. } | ServerMsg::Delivered { id, .. } => {
                    if !fate.contains_key(&id) {
                        ids.push(id);
                    }
                    let now = match m {
                        ServerMsg::Delivered { .. } => Fate::Delivered,
                        _ => Fate::Stored,
                    };
                    let before = fate.insert(id, now);
                    assert!(
                        matches!(before, None | Some(Fate::Pending)),
                        "{id} settled twice"
                    );
                    settled += 1;
                }
                _ => {}
            }
        }
    });
    let text = |i: usize| format!("m{i:03}");
    let mut a = Some(a);
    for i in 0..COUNT {
        bob.say(&format!("message alice {}", text(i)));
        std::thread::sleep(Duration::from_millis(60));
        if i == COUNT / 3
            && let Some(a) = a.take()
        {
            a.kill9();
        }
    }
    let deadline = Instant::now() + kit::PATIENCE;
    while !answers.is_finished() {
        assert!(Instant::now() < deadline, "bob's answers: {fates:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    answers.join().unwrap();
    let (ids, fate) = fates.lock().unwrap().clone();
    assert_eq!(ids.len(), COUNT, "one answer each");
    let fate_of = |i: usize| fate[&ids[i]];
    assert!((0..COUNT).all(|i| fate_of(i) != Fate::Pending), "{fate:?}");

    // alice's client moved to B by itself; everything comes, and is shown once.
    // (bob types the protocol by hand: his messages are marked as not encrypted.)
    alice.expect(&format!("] bob: (not encrypted) {}", text(COUNT - 1)));
    alice.send("logout");
    alice.wait();
    let shown: Vec<String> = alice
        .seen
        .iter()
        .filter_map(|l| {
            l.split_once("] bob: (not encrypted) ")
                .map(|(_, t)| t.to_owned())
        })
        .collect();
    let once: BTreeSet<&String> = shown.iter().collect();
    assert_eq!(once.len(), shown.len(), "nothing shown twice: {shown:?}");
    for i in 0..COUNT {
        assert!(shown.contains(&text(i)), "{} never shown", text(i));
    }
    // A DELIVERED message was shown while alice was still on A (or, after the move, live on B); it
    // is never one that had to come again from the store.
    let stored_shown: BTreeSet<String> = alice
        .seen
        .iter()
        .filter(|l| l.contains("[offline, "))
        .filter_map(|l| {
            l.split_once("] bob: (not encrypted) ")
                .map(|(_, t)| t.to_owned())
        })
        .collect();
    for i in (0..COUNT).filter(|&i| fate_of(i) == Fate::Delivered) {
        assert!(
            !stored_shown.contains(&text(i)),
            "bob was told {} was delivered; alice first saw it at her next login",
            text(i)
        );
    }
    assert!(
        (0..COUNT).any(|i| fate_of(i) == Fate::Stored),
        "A died holding alice's session: what it had not acknowledged was stored"
    );
}

/// `natter-server admin ARGS` at `node`'s control socket: whether it said ok, and what it printed.
fn admin_at(node: &Server, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_natter-server"))
        .arg("admin")
        .arg("--admin-socket")
        .arg(node.path("natter-data/admin.sock"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The operator's actions go through the shared log: asked of one node, they act on every node.
#[test]
fn an_admin_action_on_one_node_takes_effect_on_another() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node(&redis), node(&redis));
    let mut bob = client(&b, "bob");
    let mut carol = client(&b, "carol");
    // Everyone online anywhere is listed at any node.
    let (ok, list) = admin_at(&a, &["list"]);
    assert!(
        ok && list.contains("bob ") && list.contains("carol "),
        "{list}"
    );
    let (ok, said) = admin_at(&a, &["kick", "bob", "time", "out"]);
    assert!(ok && said.contains("kicked bob"), "{said}");
    assert!(bob.until_closed().ends_with(&[
        ServerMsg::Notice {
            text: "time out".into()
        },
        ServerMsg::Bye(natter_core::protocol::ByeReason::Kicked)
    ]));
    // A ban at one node refuses the login at the other; an account added at one logs in at the
    // other, its password hashed before it entered the log.
    let (ok, said) = admin_at(&a, &["ban", "bob", "1h", "cool", "down"]);
    assert!(ok, "{said}");
    let mut c = Client::connect(std::net::SocketAddr::from(([127, 0, 0, 1], b.port())));
    c.next();
    c.say("bob");
    c.expect("banned", |m| {
        matches!(
            m,
            ServerMsg::Error(natter_core::protocol::ErrorReply::Banned { .. })
        )
    });
    let out = Command::new(env!("CARGO_BIN_EXE_natter-server"))
        .arg("admin")
        .arg("--admin-socket")
        .arg(a.path("natter-data/admin.sock"))
        .args(["account", "add", "zed"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"zed-password\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    Client::log_in(
        std::net::SocketAddr::from(([127, 0, 0, 1], b.port())),
        "zed",
        "zed-password",
    )
    .expect("zed logs in at the other node");
    // The notice reaches the users of every node.
    let (ok, _) = admin_at(&a, &["notice", "maintenance", "soon"]);
    assert!(ok);
    carol.expect("the notice", |m| {
        *m == ServerMsg::Notice {
            text: "maintenance soon".into(),
        }
    });
}

/// A group's owner, its topic and a removal hold across nodes: set on one node, seen and enforced on
/// the other, and still there for a node that starts later (from the log).
#[test]
fn a_groups_owner_removal_and_topic_hold_across_nodes() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node(&redis), node(&redis));
    let mut alice = client(&a, "alice");
    let mut bob = client(&b, "bob");
    let mut carol = client(&b, "carol");
    alice.say("create group crew bob carol");
    alice.expect("created", |m| matches!(m, ServerMsg::GroupCreated { .. }));
    for who in [&mut bob, &mut carol] {
        who.expect(
            "the invitation, on the other node",
            |m| matches!(m, ServerMsg::GroupInvitation { group, by, .. } if &**group == "crew" && &**by == "alice"),
        );
        who.say("group join crew");
        who.expect(
            "joined",
            |m| matches!(m, ServerMsg::GroupJoined { group, .. } if &**group == "crew"),
        );
    }
    alice.say("group topic crew release on Friday");
    for who in [&mut bob, &mut carol] {
        who.expect(
            "the topic, across nodes",
            |m| matches!(m, ServerMsg::GroupTopic { topic, by, .. } if topic == "release on Friday" && &**by == "alice"),
        );
    }
    // Only the owner removes, whichever node a member is on.
    bob.say("group remove crew carol");
    bob.expect("not the owner", |m| {
        matches!(
            m,
            ServerMsg::Error(natter_core::protocol::ErrorReply::NotOwner { .. })
        )
    });
    alice.say("group remove crew carol too loud");
    carol.expect(
        "removed, with the reason",
        |m| matches!(m, ServerMsg::GroupRemoved { user, reason, .. } if &**user == "carol" && reason == "too loud"),
    );
    bob.expect(
        "carol's removal",
        |m| matches!(m, ServerMsg::GroupRemoved { user, .. } if &**user == "carol"),
    );
    carol.say("message group crew still here?");
    carol.expect("no longer a member", |m| {
        matches!(
            m,
            ServerMsg::Error(natter_core::protocol::ErrorReply::NotMember { .. })
        )
    });
    // A node started now has it all from the cluster: the topic, the members, the owner.
    let c = node(&redis);
    let mut dave = client(&c, "dave");
    let mut bob_on_c = {
        bob.say("logout");
        bob.expect("bye", |m| matches!(m, ServerMsg::Bye(_)));
        client(&c, "bob")
    };
    bob_on_c.say("group topic crew");
    bob_on_c.expect(
        "the topic, from a later node",
        |m| matches!(m, ServerMsg::GroupTopic { topic, .. } if topic == "release on Friday"),
    );
    bob_on_c.say("group members crew");
    bob_on_c.expect(
        "carol is out",
        |m| matches!(m, ServerMsg::GroupMembers { members, .. } if members.iter().map(|n| &**n).eq(["alice", "bob"])),
    );
    // bob is not the owner there either, and alice's leaving hands the group to him.
    bob_on_c.say("group topic crew mine now?");
    bob_on_c.expect("not the owner", |m| {
        matches!(
            m,
            ServerMsg::Error(natter_core::protocol::ErrorReply::NotOwner { .. })
        )
    });
    alice.say("group leave crew");
    bob_on_c.expect(
        "bob owns it",
        |m| matches!(m, ServerMsg::GroupOwner { owner, .. } if &**owner == "bob"),
    );
    bob_on_c.say("group add crew dave");
    bob_on_c.expect("dave invited", |m| {
        matches!(m, ServerMsg::GroupInvited { .. })
    });
    dave.expect(
        "dave's invitation, from bob",
        |m| matches!(m, ServerMsg::GroupInvitation { by, .. } if &**by == "bob"),
    );
}
