//! Running natter as an operator does, with the real binary: a configuration file, reloads (SIGHUP and
//! `natter-server reload`) of the accounts, the certificate and the limits, a broken configuration
//! refused with the running one kept, every `natter-server admin` command, `/metrics` scraped and
//! parsed as Prometheus parses it, the log's lines (a failed login each, a reason on each logout, JSON),
//! and the man page.

mod kit;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kit::{Client, PATIENCE, Server, server_bin};
use natter_core::protocol::{ByeReason, ErrorReply, Prompt, ServerMsg};

/// The control socket of a server started by the kit (its data directory is beside its credentials).
fn socket(server: &Server) -> PathBuf {
    server.path("natter-data/admin.sock")
}

/// Runs `natter-server admin ARGS` against `server` (with `input` on standard input): whether it
/// said ok, and what it printed (standard output, then standard error).
fn admin_with(server: &Server, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(server_bin())
        .arg("admin")
        .arg("--admin-socket")
        .arg(socket(server))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn admin(server: &Server, args: &[&str]) -> String {
    let (ok, text) = admin_with(server, args, "");
    assert!(ok, "admin {args:?} failed: {text}\n{}", server.log());
    text
}

/// `natter-server reload` against `server`.
fn reload(server: &Server) -> (bool, String) {
    let out = Command::new(server_bin())
        .args(["reload", "--admin-socket"])
        .arg(socket(server))
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

/// Waits until the log holds `needle`; the line.
fn logged(server: &Server, needle: &str) -> String {
    let until = Instant::now() + PATIENCE;
    loop {
        let log = server.log();
        if let Some(line) = log.lines().find(|l| l.contains(needle)) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < until,
            "the log never said '{needle}':\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn login(server: &Server, user: &str, password: &str) -> Client {
    let mut c = server.connect();
    c.login(user, password);
    c
}

/// Sends a username and a password; what the server said until a welcome, a goodbye or an error
/// (the first prompt is skipped).
fn try_login(c: &mut Client, user: &str, password: &str) -> Vec<ServerMsg> {
    c.say(user);
    c.say(password);
    let mut got = Vec::new();
    loop {
        let m = c.next();
        let done = matches!(
            m,
            ServerMsg::Welcome { .. } | ServerMsg::Bye(_) | ServerMsg::Error(_)
        );
        got.push(m);
        if done {
            return got;
        }
    }
}

/// Whether `user` can log in with `password` now (the session is ended again).
fn can_log_in(server: &Server, user: &str, password: &str) -> bool {
    let mut c = server.connect();
    let got = try_login(&mut c, user, password);
    let ok = got.iter().any(|m| matches!(m, ServerMsg::Welcome { .. }));
    if ok {
        c.say("logout");
    }
    ok
}

#[test]
fn sighup_reloads_the_accounts_and_disconnects_only_the_removed() {
    let server = Server::start(&[]);
    let mut alice = login(&server, "alice", "apw");
    let mut bob = login(&server, "bob", "bpw");
    let mut carol = login(&server, "carol", "cpw");
    std::fs::write(
        server.path("credentials.txt"),
        "alice apw\ncarol carol-new-pw\ndave dpw\nerin epw\n",
    )
    .unwrap();
    server.signal("HUP");
    logged(&server, "reload by a signal (SIGHUP): reloaded");
    assert_eq!(
        bob.until_closed().last(),
        Some(&ServerMsg::Bye(ByeReason::Removed)),
        "bob is gone from the file"
    );
    logged(&server, "bob logged out (removed)");
    // Nobody else was disconnected: both still talk.
    alice.say("ping carol");
    alice.expect("carol online", |m| matches!(m, ServerMsg::Ping { .. }));
    carol.say("whoelse");
    carol.expect("whoelse", |m| matches!(m, ServerMsg::WhoElse { .. }));
    carol.say("logout");
    // Her session is over before she logs in again: a login that overtakes the logout (read first
    // from its own connection) is refused as already online.
    carol.until_closed();
    assert!(can_log_in(&server, "carol", "carol-new-pw"));
    assert!(!can_log_in(&server, "carol", "cpw"));
    assert!(can_log_in(&server, "erin", "epw"));
    let mut c = server.connect();
    c.next();
    c.say("bob");
    c.expect("bob unknown", |m| {
        matches!(m, ServerMsg::Error(ErrorReply::UnknownUser))
    });
    // The file is as the operator wrote it: nothing appended twice.
    let file = std::fs::read_to_string(server.path("credentials.txt")).unwrap();
    assert_eq!(file.matches("erin").count(), 1, "{file}");
}

#[test]
fn a_reload_with_a_broken_configuration_keeps_the_running_one() {
    let dir = kit::dir_with(kit::ACCOUNTS);
    let config = dir.path().join("natter.toml");
    std::fs::write(&config, "[sessions]\ntimeout = 600\n").unwrap();
    let server = Server::cmd()
        .in_dir(dir.path())
        .args(&["--config", config.to_str().unwrap()])
        .start();
    let mut alice = login(&server, "alice", "apw");
    for (broken, why) in [
        (
            "[sessions]\ntimeout = 0\n",
            "sessions.timeout = 0 is not allowed: at least 1",
        ),
        ("[sessions]\ntimeuot = 5\n", "unknown field `timeuot`"),
        ("[sessions\n", "configuration file"),
    ] {
        std::fs::write(&config, broken).unwrap();
        let (ok, said) = reload(&server);
        assert!(!ok, "{broken}: {said}");
        assert!(said.contains(why), "{broken}: {said}");
        let line = logged(&server, why);
        assert!(line.contains("the running configuration stays"), "{line}");
    }
    // Still serving, with the old timeout: alice was not logged out.
    alice.say("whoelse");
    alice.expect("whoelse", |m| matches!(m, ServerMsg::WhoElse { .. }));
    // A good one takes: a shorter idle timeout applies to the session already open.
    std::fs::write(&config, "[sessions]\ntimeout = 2\nidle_warning = 0\n").unwrap();
    let (ok, said) = reload(&server);
    assert!(ok && said.contains("limits and timeouts"), "{said}");
    assert!(
        alice
            .until_closed()
            .contains(&ServerMsg::Bye(ByeReason::Timeout { secs: 2 }))
    );
    logged(&server, "alice logged out (idle)");
}

/// What a TLS server presents, as a fingerprint (`SHA256:...`): a TLS client that records the
/// certificate and trusts it (it only looks).
fn presented_fingerprint(port: u16) -> String {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    #[derive(Debug)]
    struct Look(Arc<Mutex<Vec<u8>>>, Arc<rustls::crypto::CryptoProvider>);
    impl ServerCertVerifier for Look {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            *self.0.lock().unwrap() = end_entity.to_vec();
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.1.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.1.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.1.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = natter::shell::tls::provider();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Look(seen.clone(), provider)))
        .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let mut first = [0u8; 1];
    tls.read_exact(&mut first).unwrap();
    let der = seen.lock().unwrap().clone();
    natter::shell::tls::fingerprint(&der)
}

/// A new self-signed certificate and key, written to `dir` as `NAME.pem` and `NAME-key.pem`.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k, natter::shell::tls::fingerprint(cert.der()))
}

#[test]
fn a_reload_brings_the_new_certificate_to_new_connections() {
    let dir = kit::dir_with(kit::ACCOUNTS);
    let (cert, key, first) = certificate(dir.path(), "cert");
    let server = Server::cmd()
        .in_dir(dir.path())
        .tls()
        .args(&[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .start();
    assert_eq!(presented_fingerprint(server.port()), first);
    // certbot's way: new files in place, then SIGHUP.
    let (new_cert, new_key, second) = certificate(dir.path(), "renewed");
    std::fs::rename(new_cert, &cert).unwrap();
    std::fs::rename(new_key, &key).unwrap();
    server.signal("HUP");
    logged(&server, &format!("TLS certificate {second}"));
    assert_eq!(presented_fingerprint(server.port()), second);
}

#[test]
fn kick_notice_and_list_reach_the_users_they_name() {
    let server = Server::start(&[]);
    let mut alice = login(&server, "alice", "apw");
    let mut bob = login(&server, "bob", "bpw");
    let list = admin(&server, &["list"]);
    assert!(
        list.contains("alice 127.0.0.1:") && list.contains("bob 127.0.0.1:"),
        "{list}"
    );
    assert!(
        list.contains("idle=") && list.contains("2 online"),
        "{list}"
    );
    admin(&server, &["notice", "restart", "at", "noon"]);
    for c in [&mut alice, &mut bob] {
        c.expect("the notice", |m| {
            *m == ServerMsg::Notice {
                text: "restart at noon".into(),
            }
        });
    }
    let said = admin(&server, &["kick", "bob", "take", "a", "break"]);
    assert!(said.contains("kicked bob"), "{said}");
    let end = bob.until_closed();
    assert_eq!(
        end,
        vec![
            ServerMsg::Notice {
                text: "take a break".into()
            },
            ServerMsg::Bye(ByeReason::Kicked)
        ]
    );
    let line = logged(&server, "kick bob (take a break)");
    assert!(line.contains("administration by uid "), "{line}");
    logged(&server, "bob logged out (kicked)");
    let (ok, said) = admin_with(&server, &["kick", "carol"], "");
    assert!(!ok && said.contains("carol is not online"), "{said}");
}

#[test]
fn a_ban_survives_a_restart_and_is_lifted() {
    let dir = kit::dir_with(kit::ACCOUNTS);
    let dir = dir.path();
    let server = Server::cmd().in_dir(dir).start();
    let mut bob = login(&server, "bob", "bpw");
    let said = admin(&server, &["ban", "bob", "forever", "spamming"]);
    assert!(said.contains("banned bob for good"), "{said}");
    assert_eq!(
        bob.until_closed(),
        vec![
            ServerMsg::Notice {
                text: "you are banned from this server: spamming".into()
            },
            ServerMsg::Bye(ByeReason::Banned)
        ]
    );
    admin(&server, &["ban", "10.9.0.0/16", "2h"]);
    let bans = admin(&server, &["bans"]);
    assert!(bans.contains("bob until=forever spamming"), "{bans}");
    assert!(bans.contains("10.9.0.0/16 until=20"), "{bans}");
    // Kept durably: after a restart on the same data, still banned.
    let _ = server.stop();
    let server = Server::cmd().in_dir(dir).start();
    let mut c = server.connect();
    c.next();
    let got = try_login(&mut c, "bob", "bpw");
    let got = [got, vec![c.next()]].concat();
    assert!(
        got.contains(&ServerMsg::Error(ErrorReply::Banned { secs_left: 0 }))
            && got.contains(&ServerMsg::Bye(ByeReason::Banned)),
        "{got:?}"
    );
    logged(
        &server,
        "login failed user=bob address=127.0.0.1 reason=banned",
    );
    admin(&server, &["unban", "bob"]);
    assert!(can_log_in(&server, "bob", "bpw"));
    let bans = admin(&server, &["bans"]);
    assert!(!bans.contains("bob"), "{bans}");
}

#[test]
fn an_online_backup_restores_the_store_it_copied() {
    let dir = kit::dir_with(kit::ACCOUNTS);
    let server = Server::cmd().in_dir(dir.path()).start();
    let mut alice = login(&server, "alice", "apw");
    alice.say("message bob kept in the backup");
    alice.expect("stored", |m| matches!(m, ServerMsg::Stored { .. }));
    let copy = dir.path().join("backup.db");
    let said = admin(&server, &["backup", copy.to_str().unwrap()]);
    assert!(said.contains("the store is copied to"), "{said}");
    let (ok, said) = admin_with(&server, &["backup", copy.to_str().unwrap()], "");
    assert!(!ok && said.contains("exists already"), "{said}");
    // Restore: the copy in place of the store, in a new data directory.
    let _ = server.stop();
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&copy, restored.join("natter.db")).unwrap();
    let server = Server::cmd()
        .in_dir(dir.path())
        .args(&["--data-dir", restored.to_str().unwrap()])
        .start();
    let mut bob = login(&server, "bob", "bpw");
    bob.expect(
        "the message",
        |m| matches!(m, ServerMsg::OfflineMessage { text, .. } if text == "kept in the backup"),
    );
}

#[test]
fn an_address_ban_refuses_connections_from_it() {
    let server = Server::start(&[]);
    admin(&server, &["ban", "127.0.0.0/8", "1h", "closed"]);
    let mut c = server.connect();
    assert_eq!(c.until_closed(), vec![ServerMsg::Bye(ByeReason::Banned)]);
    admin(&server, &["unban", "127.0.0.0/8"]);
    assert!(can_log_in(&server, "alice", "apw"));
}

#[test]
fn an_unlock_lets_a_locked_account_in() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    c.next();
    c.say("bob");
    for _ in 0..3 {
        c.say("wrong");
    }
    assert!(
        c.until_closed()
            .contains(&ServerMsg::Bye(ByeReason::Locked))
    );
    assert!(!can_log_in(&server, "bob", "bpw"));
    let said = admin(&server, &["unlock", "bob"]);
    assert!(said.contains("unlocked bob"), "{said}");
    assert!(can_log_in(&server, "bob", "bpw"));
}

#[test]
fn accounts_are_added_renamed_given_a_password_and_removed_in_the_file_too() {
    let dir = kit::dir_with(kit::ACCOUNTS);
    let dir = dir.path();
    let server = Server::cmd().in_dir(dir).start();
    let file = || std::fs::read_to_string(server.path("credentials.txt")).unwrap();
    // The password goes on standard input, never on the command line; the policy holds.
    let (ok, said) = admin_with(&server, &["account", "add", "zed"], "short\n");
    assert!(!ok && said.contains("at least 8 characters"), "{said}");
    let (ok, said) = admin_with(&server, &["account", "add", "zed"], "zed-password\n");
    assert!(ok && said.contains("added account zed"), "{said}");
    assert!(can_log_in(&server, "zed", "zed-password"));
    let line = file()
        .lines()
        .find(|l| l.starts_with("zed "))
        .unwrap()
        .to_owned();
    assert!(line.starts_with("zed $argon2id$"), "{line}");
    admin(&server, &["account", "rename", "zed", "zedd"]);
    assert!(can_log_in(&server, "zedd", "zed-password"));
    assert!(file().contains("zedd $argon2id$") && !file().contains("zed $"));
    let (ok, _) = admin_with(
        &server,
        &["account", "password", "zedd"],
        "another-password\n",
    );
    assert!(ok);
    assert!(can_log_in(&server, "zedd", "another-password"));
    let mut zedd = login(&server, "zedd", "another-password");
    admin(&server, &["account", "remove", "zedd"]);
    assert_eq!(
        zedd.until_closed(),
        vec![ServerMsg::Bye(ByeReason::Removed)]
    );
    assert!(!file().contains("zedd"), "{}", file());
    assert!(!can_log_in(&server, "zedd", "another-password"));
    // A renamed account survives a restart under its new name (the store and the file agree).
    admin(&server, &["account", "rename", "carol", "caroline"]);
    let _ = server.stop();
    let server = Server::cmd().in_dir(dir).start();
    assert!(can_log_in(&server, "caroline", "cpw"));
}

#[test]
fn groups_and_members_are_removed_and_users_change_their_own_password() {
    let server = Server::start(&[]);
    let mut alice = login(&server, "alice", "apw");
    let mut bob = login(&server, "bob", "bpw");
    alice.say("create group club");
    alice.expect("created", |m| matches!(m, ServerMsg::GroupCreated { .. }));
    alice.say("group set club add direct");
    alice.say("group add club bob");
    alice.say("group add club carol");
    alice.expect(
        "carol added",
        |m| matches!(m, ServerMsg::GroupJoined { user, .. } if &**user == "carol"),
    );
    admin(&server, &["group", "remove-member", "club", "carol"]);
    bob.expect(
        "carol left",
        |m| matches!(m, ServerMsg::GroupLeft { user, .. } if &**user == "carol"),
    );
    admin(&server, &["group", "remove", "club"]);
    bob.expect(
        "bob left",
        |m| matches!(m, ServerMsg::GroupLeft { user, .. } if &**user == "bob"),
    );
    let (ok, said) = admin_with(&server, &["group", "remove", "club"], "");
    assert!(!ok && said.contains("no group named"), "{said}");
    // passwd: the current password, then a new one the policy accepts.
    bob.say("passwd");
    bob.expect("asked", |m| {
        *m == ServerMsg::Prompt(Prompt::CurrentPassword)
    });
    bob.say("bpw");
    bob.expect("asked", |m| *m == ServerMsg::Prompt(Prompt::ChosenPassword));
    bob.say("bob");
    bob.expect("weak", |m| {
        matches!(m, ServerMsg::Error(ErrorReply::WeakPassword { min: 8 }))
    });
    bob.say("a-better-password");
    bob.expect("changed", |m| {
        matches!(m, ServerMsg::PasswordChanged { .. })
    });
    bob.say("logout");
    assert!(can_log_in(&server, "bob", "a-better-password"));
    let file = std::fs::read_to_string(server.path("credentials.txt")).unwrap();
    assert!(file.contains("bob $argon2id$"), "{file}");
}

#[test]
fn metrics_and_health_are_served_and_parse_as_prometheus() {
    let port = kit::free_port();
    let server = Server::start(&[
        "--metrics",
        "--metrics-listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let mut alice = login(&server, "alice", "apw");
    alice.say("message bob hello");
    alice.expect("stored", |m| matches!(m, ServerMsg::Stored { .. }));
    let mut c = server.connect();
    c.next();
    try_login(&mut c, "bob", "wrong");
    let get = |path: &str| -> (String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.to_owned(), body.to_owned())
    };
    let (head, body) = get("/health");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "ok\n");
    let (head, body) = get("/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lines = body
        .lines()
        .filter(|l| *l != "# EOF")
        .map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus parses it");
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("{name} {label:?} not in:\n{body}"));
        match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(value("natter_users_online", None), 1.0);
    assert_eq!(value("natter_logins_total", Some(("result", "ok"))), 1.0);
    assert_eq!(
        value("natter_logins_total", Some(("result", "failed"))),
        1.0
    );
    assert_eq!(value("natter_messages_stored_total", None), 1.0);
    assert_eq!(value("natter_mailbox_messages", None), 1.0);
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric.starts_with("natter_store_commit_seconds")),
        "{body}"
    );
    let (head, _) = get("/nothing");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn each_failed_login_is_one_line_with_user_and_address_and_json_logs_are_json() {
    let server = Server::start(&["--log-format", "json"]);
    let mut c = server.connect();
    c.next();
    c.say("nobody-here");
    c.say("alice");
    c.say("wrong");
    let mut failed = Vec::new();
    let until = Instant::now() + PATIENCE;
    while failed.len() < 2 && Instant::now() < until {
        failed = server
            .log()
            .lines()
            .filter(|l| l.contains("login failed"))
            .map(str::to_owned)
            .collect();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(failed.len(), 2, "{}", server.log());
    for line in server.log().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v.get("timestamp").is_some() && v.get("level").is_some(),
            "{line}"
        );
        assert!(v.get("target").is_none(), "no module paths: {line}");
    }
    assert!(failed[0].contains("login failed user=- address=127.0.0.1 reason=unknown-user"));
    assert!(
        !failed[0].contains("nobody-here"),
        "a typed name is never logged"
    );
    assert!(failed[1].contains("login failed user=alice address=127.0.0.1 reason=wrong-password"));
}

#[test]
fn the_human_log_has_no_module_paths() {
    let server = Server::start(&[]);
    let mut alice = login(&server, "alice", "apw");
    alice.say("logout");
    alice.until_closed();
    let line = logged(&server, "alice logged out (logout)");
    assert!(!line.contains("natter::"), "{line}");
}

#[test]
fn a_configuration_file_sets_the_server_and_flags_win_over_it() {
    let dir = kit::dir_with(kit::ACCOUNTS);
    let config = dir.path().join("natter.toml");
    std::fs::write(
        &config,
        "[server]\nbind = [\"127.0.0.1\"]\nplaintext = true\ncredentials = \"credentials.txt\"\n\
         [sessions]\ntimeout = 1\nidle_warning = 0\n[login]\nblock_duration = 30\n",
    )
    .unwrap();
    // Flags: the port, and (in the seeds' positional form) a timeout over the file's.
    let server = Server::cmd()
        .in_dir(dir.path())
        .raw(&["0", "60", "2", "--config", config.to_str().unwrap()])
        .start();
    let mut alice = login(&server, "alice", "apw");
    assert!(
        alice
            .until_closed()
            .contains(&ServerMsg::Bye(ByeReason::Timeout { secs: 2 }))
    );
    let _ = server.stop();
    // Refused at start: the key, the value, what is allowed, and where it came from.
    for (file, args, want) in [
        (
            "[server]\nport = 4000\nprot = 1\n",
            &[][..],
            "unknown field `prot`",
        ),
        (
            "[limits]\nmailbox_share = 300\n",
            &[],
            "limits.mailbox_share = 300 is not allowed: from 1 to 100 percent (in ",
        ),
        (
            "",
            &["--mailbox-share", "0"][..],
            "limits.mailbox_share = 0 is not allowed: from 1 to 100 percent (given as --mailbox-share)",
        ),
    ] {
        std::fs::write(&config, file).unwrap();
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        let (code, err) = kit::run_server_expecting_exit(dir.path(), &all);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn several_bind_addresses_are_each_served() {
    let server = Server::cmd()
        .raw(&[
            "0",
            "--bind",
            "127.0.0.1",
            "--bind",
            "127.0.0.2",
            "--plaintext",
        ])
        .start();
    let line = logged(&server, "listening on ");
    assert!(
        line.contains("127.0.0.1:") && line.contains("127.0.0.2:"),
        "{line}"
    );
    let second = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.2:"))
        .unwrap()
        .trim_end_matches(',');
    let mut c = Client::connect(second.parse().unwrap());
    c.login("alice", "apw");
}

#[test]
fn the_man_page_renders() {
    let out = Command::new(server_bin()).arg("man").output().unwrap();
    assert!(out.status.success());
    let roff = String::from_utf8(out.stdout).unwrap();
    assert!(
        roff.contains(".TH natter-server") && roff.contains("config"),
        "{roff}"
    );
    // With man itself, where there is one: it renders without a warning.
    let man = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut man) = man else {
        eprintln!("man is not installed here: only the roff was checked");
        return;
    };
    man.stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let out = man.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("--config") || text.contains("config"),
        "{text}"
    );
}

/// The shipped systemd unit is one systemd accepts (where `systemd-analyze` is installed), with the
/// binary it starts put where the test built it.
#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/systemd/natter.service"),
    )
    .unwrap();
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID") && unit.contains("User=natter"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/natter-server", server_bin()),
    )
    .unwrap();
    let Ok(out) = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
    else {
        eprintln!("systemd-analyze is not installed here: only the unit's text was checked");
        return;
    };
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("Unknown"), "{said}");
}
