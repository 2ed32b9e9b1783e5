//! Redis as a real deployment runs it, with the real `natter-server`: a password, an ACL user with
//! only what a node needs, TLS with Redis's certificate checked, and a cluster key that leaves no
//! message text or account data in Redis. Each refusal (a wrong password, a certificate nobody
//! vouches for, another cluster key) is a clear error at start, naming what to do.

mod kit;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kit::{Client, PEOPLE, Redis, Server};
use natter::shell::cluster::Endpoint;
use natter_core::protocol::ServerMsg;

/// A cluster node on the Redis at `url`, with more flags.
fn node(url: &str, flags: &[&str]) -> kit::ServerCmd {
    Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "600", "--cluster", url])
        .args(flags)
}

/// `user` logged in at `server` over the protocol.
fn client(server: &Server, user: &str) -> Client {
    let password = PEOPLE.iter().find(|(u, _)| *u == user).unwrap().1;
    Client::log_in(([127, 0, 0, 1], server.port()).into(), user, password)
        .unwrap_or_else(|e| panic!("{user}: {e}"))
}

/// alice on `a` sends bob on `b` a message, which arrives.
fn message_crosses(a: &Server, b: &Server, text: &str) {
    let mut bob = client(b, "bob");
    let mut alice = client(a, "alice");
    alice.say(&format!("message bob {text}"));
    bob.expect(
        "alice's message",
        |m| matches!(m, ServerMsg::Message { text: t, .. } if &**t == text),
    );
    alice.say("logout");
    bob.say("logout");
}

/// The start refused, with what it said.
fn refused(cmd: kit::ServerCmd) -> String {
    cmd.try_start().err().expect("the node started").stderr
}

#[test]
fn a_password_protected_redis_lets_in_the_right_password_only() {
    let Some(redis) = Redis::start_with(&["--requirepass", "s3cret-pw"], false) else {
        return;
    };
    let a = node(&redis.url_as("", "s3cret-pw"), &[]).start();
    let b = node(&redis.url_as("", "s3cret-pw"), &[]).start();
    message_crosses(&a, &b, "through a password-protected Redis");

    let wrong = refused(node(&redis.url_as("", "not-it"), &[]));
    assert!(
        wrong.contains("did not let this node in")
            && wrong.contains("refused the user and password"),
        "{wrong}"
    );
    assert!(!wrong.contains("not-it"), "the password was shown: {wrong}");
    let none = refused(node(&redis.url(), &[]));
    assert!(
        none.contains("asks for a password and the URL gives none"),
        "{none}"
    );
}

#[test]
fn an_acl_user_with_only_the_rules_the_readme_gives_runs_a_cluster() {
    // The ACL rules README gives for a node: its commands, its keys. The default user is off.
    let Some(redis) = Redis::start_with(
        &[
            "--user",
            "default",
            "off",
            "--user",
            "natter",
            "on",
            ">natter-pw",
            "~natter:*",
            "resetchannels",
            "-@all",
            "+ping",
            "+select",
            "+xadd",
            "+xread",
            "+xlen",
            "+xtrim",
            "+incr",
            "+get",
            "+set",
            "+mget",
            "+del",
            "+hget",
            "+hset",
            "+hsetnx",
            "+hmget",
            "+hexists",
            "+eval",
            "+config|get",
        ],
        false,
    ) else {
        return;
    };
    let url = redis.url_as("natter", "natter-pw");
    // Snapshots every few entries: storing one and trimming the log (a script) must be allowed too.
    let a = node(&url, &["--snapshot-every", "5"]).start();
    let b = node(&url, &["--snapshot-every", "5"]).start();
    for i in 0..3 {
        message_crosses(&a, &b, &format!("as an ACL user, {i}"));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !a.log().contains("snapshot of the cluster at log entry")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    for n in [&a, &b] {
        let log = n.log();
        assert!(!log.contains("NOPERM"), "a command was refused: {log}");
    }
    assert!(
        a.log().contains("snapshot of the cluster at log entry"),
        "{}",
        a.log()
    );

    let stranger = refused(node(&redis.url_as("someone", "natter-pw"), &[]));
    assert!(
        stranger.contains("refused the user and password"),
        "{stranger}"
    );
}

#[test]
fn over_tls_redis_must_show_a_certificate_natter_can_verify() {
    let Some(redis) = Redis::start_with(&[], true) else {
        return;
    };
    let ca = redis.ca();
    let ca = ca.to_str().unwrap();
    assert!(redis.url().starts_with("rediss://"));
    let a = node(&redis.url(), &["--cluster-ca", ca]).start();
    let b = node(&redis.url(), &["--cluster-ca", ca]).start();
    message_crosses(&a, &b, "over TLS to Redis");

    // The system's roots do not vouch for the test's CA: refused, saying how to give the right one.
    let unverified = refused(node(&redis.url(), &[]));
    assert!(
        unverified.contains("no TLS with Redis")
            && unverified.contains("not one natter can trust")
            && unverified.contains("--cluster-ca"),
        "{unverified}"
    );
    // Nor does another CA.
    let other = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other_ca = other.path().join("other-ca.pem");
    std::fs::write(&other_ca, params.self_signed(&key).unwrap().pem()).unwrap();
    let wrong = refused(node(
        &redis.url(),
        &["--cluster-ca", other_ca.to_str().unwrap()],
    ));
    assert!(wrong.contains("not one natter can trust"), "{wrong}");
    // And plain text at a TLS port is no answer at all: a clear error, not a hang.
    let plain = redis.url().replacen("rediss://", "redis://", 1);
    let plain = refused(node(&plain, &[]));
    assert!(
        plain.contains("cannot reach Redis") || plain.contains("did not let this node in"),
        "{plain}"
    );
}

/// A new cluster key, made by the real binary, in `dir`.
fn cluster_key(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let out = Command::new(kit::server_bin())
        .arg("cluster-key")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    path.to_str().unwrap().to_owned()
}

/// Every byte Redis keeps on disk: its append-only files.
fn on_disk(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.to_string_lossy().contains("appendonly") {
                all.extend(std::fs::read(&p).unwrap());
            }
        }
    }
    all
}

/// Every string in a Redis reply, one after the other.
fn bytes_of(v: &redis::Value, out: &mut Vec<u8>) {
    match v {
        redis::Value::BulkString(b) => out.extend_from_slice(b),
        redis::Value::SimpleString(s) => out.extend_from_slice(s.as_bytes()),
        redis::Value::Array(items) => items.iter().for_each(|i| bytes_of(i, out)),
        redis::Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            bytes_of(k, out);
            bytes_of(v, out);
        }),
        _ => {}
    }
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

#[test]
fn a_sealed_cluster_leaves_no_message_text_nor_account_in_redis() {
    let Some(redis) = Redis::start() else { return };
    let keys = tempfile::tempdir().unwrap();
    let key = cluster_key(keys.path(), "cluster.key");
    let sealed = |flags: &[&str]| {
        let mut all = vec!["--cluster-key-file", &key, "--snapshot-every", "10"];
        all.extend_from_slice(flags);
        node(&redis.url(), &[]).args(&all)
    };
    let (a, b) = (sealed(&[]).start(), sealed(&[]).start());
    assert!(
        a.log().contains("sealed with the cluster key"),
        "{}",
        a.log()
    );
    let mut bob = client(&b, "bob");
    let mut alice = client(&a, "alice");
    for i in 0..15 {
        alice.say(&format!("message bob the secret plan, part {i}"));
        bob.expect("alice's message", |m| {
            matches!(m, ServerMsg::Message { .. })
        });
    }
    alice.say("message carol kept for carol while she is away");
    alice.expect("stored", |m| matches!(m, ServerMsg::Stored { .. }));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !a.log().contains("snapshot of the cluster at log entry")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        a.log().contains("snapshot of the cluster at log entry"),
        "{}",
        a.log()
    );
    // carol, through the other node, gets what was kept for her: the sealed log and snapshot work.
    let mut carol = client(&b, "carol");
    carol.expect(
        "the stored message",
        |m| matches!(m, ServerMsg::OfflineMessage { text, .. } if text.contains("kept for carol")),
    );

    // What Redis holds, on disk and as it answers anyone who asks.
    let disk = on_disk(redis.dir());
    assert!(holds(&disk, "natter:log"), "the append-only file was read");
    let xrange = smol::block_on(async {
        let mut con = Endpoint::parse(&redis.url(), None)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let v: redis::Value = con
            .query(
                redis::cmd("XRANGE").arg("natter:log").arg("-").arg("+"),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        let h: redis::Value = con
            .query(
                redis::cmd("HGETALL").arg("natter:origin"),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        let mut raw = Vec::new();
        bytes_of(&v, &mut raw);
        bytes_of(&h, &mut raw);
        raw
    });
    // (Some entry id: the first ones may be trimmed already, behind the snapshot.)
    assert!(holds(&xrange, "0-"), "XRANGE answered with the log");
    for text in [
        "secret plan",
        "kept for carol",
        "alice",
        "carol",
        "wonderland",
        "BEGIN PRIVATE KEY",
    ] {
        assert!(
            !holds(&disk, text),
            "{text:?} is in Redis's append-only file"
        );
        assert!(!holds(&xrange, text), "{text:?} is in what Redis answers");
    }

    // A node with another key, or none, refuses to join, and says so.
    let other = cluster_key(keys.path(), "other.key");
    let wrong = refused(node(&redis.url(), &["--cluster-key-file", &other]));
    assert!(wrong.contains("is not the cluster's"), "{wrong}");
    let none = refused(node(&redis.url(), &[]));
    assert!(
        none.contains("seals what it keeps in Redis") && none.contains("--cluster-key-file"),
        "{none}"
    );
    drop((a, b));
}

#[test]
fn an_unsealed_cluster_refuses_a_node_with_a_key() {
    let Some(redis) = Redis::start() else { return };
    let _a = node(&redis.url(), &[]).start();
    let keys = tempfile::tempdir().unwrap();
    let key = cluster_key(keys.path(), "cluster.key");
    let e = refused(node(&redis.url(), &["--cluster-key-file", &key]));
    assert!(e.contains("keeps its data in Redis unsealed"), "{e}");
}

#[test]
fn a_node_warns_when_redis_keeps_every_message_where_others_can_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let Some(redis) = Redis::start() else { return };
    // Redis's own default: its directory, and the append-only file in it, open to every user.
    std::fs::set_permissions(redis.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let a = node(&redis.url(), &[]).start();
    assert!(
        a.log()
            .contains("other users of this host can open (mode 755)"),
        "{}",
        a.log()
    );
    // Sealed, the file holds nothing to read: no warning.
    let sealed_redis = Redis::start().unwrap();
    std::fs::set_permissions(sealed_redis.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = cluster_key(keys.path(), "cluster.key");
    let b = node(&sealed_redis.url(), &["--cluster-key-file", &key]).start();
    assert!(!b.log().contains("other users of this host"), "{}", b.log());
}
