//! End-to-end: the secure defaults with the real binaries. TLS sessions, the client's remembered
//! certificates and a changed one refused, `--ca` with a good chain and a wrong host, plain text and TLS
//! meeting each other, and hashed and plain accounts side by side.

mod kit;

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use kit::{PEOPLE, Piped, Server};

/// The fingerprint the server logged for its certificate.
fn logged_fingerprint(server: &Server) -> String {
    let deadline = Instant::now() + kit::PATIENCE;
    loop {
        let log = server.log();
        if let Some(fp) = log
            .split_whitespace()
            .find(|w| w.starts_with("SHA256:"))
            .map(str::to_owned)
        {
            return fp;
        }
        assert!(Instant::now() < deadline, "no fingerprint logged:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tls_login(user: &str, password: &str, port: u16, dir: &Path) -> Piped {
    let mut c = Piped::spawn_tls(user, port, dir, &[]);
    c.send(user);
    c.send(password);
    c.expect(&format!("Welcome to natter, {user}!"));
    c.send("whoelse");
    c.expect_any(&["* Online now:", "* Nobody else is online."]);
    c
}

#[test]
fn a_chat_over_tls_and_the_certificate_is_remembered_on_first_use() {
    let server = Server::cmd().accounts(PEOPLE).tls().start();
    let fp = logged_fingerprint(&server);
    let dir = tempfile::tempdir().unwrap();
    let a_dir = dir.path().join("a");
    let mut alice = tls_login("alice", "wonderland", server.port(), &a_dir);
    let first = format!("First connection to 127.0.0.1:{}", server.port());
    assert!(alice.saw(&first), "{:?}", alice.seen);
    assert!(alice.saw(&fp), "the fingerprint shown is the server's");
    let known = std::fs::read_to_string(a_dir.join("known_servers")).unwrap();
    assert_eq!(known.trim(), format!("127.0.0.1:{} {fp}", server.port()));

    let mut bob = tls_login("bob", "builder", server.port(), &dir.path().join("b"));
    alice.send("message bob over tls");
    bob.expect("[message] alice: over tls");
    bob.send("logout");
    assert!(bob.wait().success());
    alice.send("logout");
    assert!(alice.wait().success());

    // The next time, nothing to say: the certificate is the remembered one.
    let mut again = tls_login("alice", "wonderland", server.port(), &a_dir);
    assert!(!again.saw("First connection"), "{:?}", again.seen);
    again.send("logout");
    assert!(again.wait().success());
}

#[test]
fn a_changed_certificate_is_refused_until_accepted_deliberately() {
    let server = Server::cmd().accounts(PEOPLE).tls().start();
    let fp = logged_fingerprint(&server);
    let dir = tempfile::tempdir().unwrap();
    let key = format!("127.0.0.1:{}", server.port());
    let old = "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(dir.path().join("known_servers"), format!("{key} {old}\n")).unwrap();

    let mut refused = Piped::spawn_tls("alice", server.port(), dir.path(), &[]);
    let status = refused.wait();
    assert_eq!(status.code(), Some(1));
    let said = refused.seen.join("\n");
    for want in [
        old,
        fp.as_str(),
        "different certificate",
        "--accept-new-cert",
    ] {
        assert!(said.contains(want), "no {want:?} in:\n{said}");
    }
    assert!(
        !server.log().contains("alice logged in"),
        "nothing was sent to the impostor"
    );

    // Accepting another fingerprint than the one presented changes nothing.
    let mut wrong = Piped::spawn_tls(
        "alice",
        server.port(),
        dir.path(),
        &["--accept-new-cert", "SHA256:AB:CD"],
    );
    assert_eq!(wrong.wait().code(), Some(1));

    // The one presented, deliberately: accepted, remembered, said.
    let mut accepted = Piped::spawn_tls(
        "alice",
        server.port(),
        dir.path(),
        &["--accept-new-cert", &fp],
    );
    accepted.send("alice");
    accepted.send("wonderland");
    accepted.expect("Welcome to natter, alice!");
    assert!(accepted.saw("as you asked"), "{:?}", accepted.seen);
    accepted.send("logout");
    assert!(accepted.wait().success());
    let known = std::fs::read_to_string(dir.path().join("known_servers")).unwrap();
    assert_eq!(known.trim(), format!("{key} {fp}"));
}

/// A CA, and a server certificate it signs for `names`.
fn ca_and_server_cert(
    dir: &Path,
    names: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "natter test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server-key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[test]
fn with_a_ca_the_chain_and_the_host_name_are_checked() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = ca_and_server_cert(certs.path(), &["localhost", "127.0.0.1"]);
    let args = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let server = Server::cmd().accounts(PEOPLE).tls().args(&args).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::spawn_tls(
        "alice",
        server.port(),
        dir.path(),
        &["--ca", ca.to_str().unwrap()],
    );
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    assert!(!alice.saw("First connection"), "a CA needs no first use");
    alice.send("logout");
    assert!(alice.wait().success());
    assert!(!dir.path().join("known_servers").exists());

    // A certificate its CA vouches for, but for another name, is refused.
    let other = tempfile::tempdir().unwrap();
    let (ca2, cert2, key2) = ca_and_server_cert(other.path(), &["chat.example.org"]);
    let args2 = [
        "--tls-cert",
        cert2.to_str().unwrap(),
        "--tls-key",
        key2.to_str().unwrap(),
    ];
    let wrong_host = Server::cmd().accounts(PEOPLE).tls().args(&args2).start();
    let mut refused = Piped::spawn_tls(
        "alice",
        wrong_host.port(),
        dir.path(),
        &["--ca", ca2.to_str().unwrap()],
    );
    assert_eq!(refused.wait().code(), Some(1));
    assert!(refused.saw("does not vouch"), "{:?}", refused.seen);

    // And a good certificate under a CA the client does not trust.
    let mut untrusted = Piped::spawn_tls(
        "alice",
        server.port(),
        dir.path(),
        &["--ca", ca2.to_str().unwrap()],
    );
    assert_eq!(untrusted.wait().code(), Some(1));
    assert!(untrusted.saw("does not vouch"), "{:?}", untrusted.seen);
}

#[test]
fn plain_text_and_tls_meeting_each_other_get_clear_errors_not_hangs() {
    let tls_server = Server::cmd().accounts(PEOPLE).tls().start();
    let plain_server = Server::cmd().accounts(PEOPLE).start();
    let dir = tempfile::tempdir().unwrap();

    // A plain-text client at the TLS server: told at once (not after a wait for a prompt that never
    // comes) what to do.
    let started = Instant::now();
    let mut plain = Piped::spawn("alice", tls_server.port(), dir.path());
    assert_eq!(plain.wait().code(), Some(3), "refused: {:?}", plain.seen);
    assert!(plain.saw("speaks TLS"), "{:?}", plain.seen);
    assert!(plain.saw("without --plaintext"), "{:?}", plain.seen);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    // The space the plain-text client says first does no harm at a plain-text server.
    let mut fine = Piped::spawn("alice", plain_server.port(), dir.path());
    fine.send("alice");
    fine.send("wonderland");
    fine.expect("Welcome to natter, alice!");
    fine.send("logout");
    assert!(fine.wait().success());

    // A TLS client at the plain-text server.
    let mut tls = Piped::spawn_tls("alice", plain_server.port(), dir.path(), &[]);
    assert_eq!(tls.wait().code(), Some(1));
    assert!(tls.saw("answered in plain text"), "{:?}", tls.seen);
    assert!(tls.saw("--plaintext"));

    // Someone typing at the TLS port by hand (nc): one line that says what to use.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", tls_server.port())).unwrap();
    raw.set_read_timeout(Some(kit::PATIENCE)).unwrap();
    raw.write_all(b"alice\n").unwrap();
    let mut said = String::new();
    let _ = raw.read_to_string(&mut said);
    assert!(
        said.starts_with("BYE tls-required ") && said.contains("openssl s_client"),
        "{said:?}"
    );
}

#[test]
fn new_connections_from_one_address_are_limited_before_any_handshake() {
    let server = Server::cmd()
        .accounts(PEOPLE)
        .tls()
        .args(&[
            "--new-connections-per-address",
            "2",
            "--new-connection-rate",
            "1",
        ])
        .start();
    let port = server.port();
    // Two connections, the burst, that never begin their handshakes.
    let held: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // Past the burst: refused at once, in plain text, before the client has sent a byte (so before
    // any handshake could have cost the server anything).
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    raw.set_read_timeout(Some(kit::PATIENCE)).unwrap();
    let mut said = String::new();
    let _ = raw.read_to_string(&mut said);
    assert!(said.starts_with("BYE connect-throttled 1 "), "{said:?}");
    // natter's TLS client says why. (Another connection takes each new one the rate allows, so
    // the client meets the limit however long it takes to start.)
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hog = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                    kept.push(c);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let mut refused = Piped::spawn_tls("alice", port, dir.path(), &[]);
    assert_eq!(refused.wait().code(), Some(3), "{:?}", refused.seen);
    assert!(
        refused.saw("too many new connections from your address"),
        "{:?}",
        refused.seen
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hog.join().unwrap();
    drop(held);
}

#[test]
fn a_full_tls_server_is_reported_as_full_not_as_a_plain_text_one() {
    // A TLS server out of descriptors refuses before any TLS, with its one line in plain text.
    let server = Server::cmd()
        .accounts(PEOPLE)
        .tls()
        .args(&[
            "--max-logins-per-address",
            "0",
            "--new-connections-per-address",
            "0",
        ])
        .fd_limit(40)
        .start();
    let mut held = Vec::new();
    let full = (0..60).any(|_| {
        let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        raw.set_read_timeout(Some(Duration::from_millis(150)))
            .unwrap();
        let mut first = [0u8; 8];
        // An accepted TLS connection waits for the client's hello: nothing comes.
        let refused = raw.read_exact(&mut first).is_ok();
        if refused {
            assert_eq!(&first, b"BYE full");
        } else {
            held.push(raw);
        }
        refused
    });
    assert!(full, "the server never ran out: {} held", held.len());

    let dir = tempfile::tempdir().unwrap();
    let mut client = Piped::spawn_tls("alice", server.port(), dir.path(), &[]);
    assert_eq!(client.wait().code(), Some(3), "{:?}", client.seen);
    assert!(client.saw("is full"), "{:?}", client.seen);
    assert!(!client.saw("plain text"), "{:?}", client.seen);
}

#[test]
fn hashed_and_plain_accounts_log_in_side_by_side() {
    // `natter-server hash-password` makes the line to paste.
    let out = std::process::Command::new(kit::server_bin())
        .args(["hash-password", "alice"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"wonderland\n")
                .unwrap();
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim();
    assert!(line.starts_with("alice $argon2id$"), "{line}");
    assert!(!line.contains("wonderland"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("credentials.txt"),
        format!("{line}\nbob builder\n"),
    )
    .unwrap();
    let server = Server::cmd().in_dir(dir.path()).tls().start();
    let clients = tempfile::tempdir().unwrap();
    let mut alice = tls_login(
        "alice",
        "wonderland",
        server.port(),
        &clients.path().join("a"),
    );
    let mut bob = tls_login("bob", "builder", server.port(), &clients.path().join("b"));
    alice.send("message bob hashed hello");
    bob.expect("[message] alice: hashed hello");
    // A wrong password for the hashed account counts as one.
    let mut guess = Piped::spawn_tls("guess", server.port(), &clients.path().join("g"), &[]);
    alice.send("logout");
    assert!(alice.wait().success());
    guess.send("alice");
    guess.send("not-it");
    guess.expect("Wrong password. 2 attempts left");
    guess.close_stdin();
    let _ = guess.wait();
    bob.send("logout");
    assert!(bob.wait().success());
}

#[test]
fn failed_logins_and_half_open_logins_are_limited_per_address() {
    let server = Server::cmd()
        .args(&[
            "--failed-logins-per-address",
            "3",
            "--max-logins-per-address",
            "2",
        ])
        .start();
    let mut first = server.connect();
    first.next();
    first.say("nobody1");
    first.say("nobody2");
    first.say("nobody3");
    let got = first.recv_until(|m| {
        matches!(
            m,
            natter_core::protocol::ServerMsg::Prompt(natter_core::protocol::Prompt::Username)
        )
    });
    drop(got);
    first.say("alice");
    first.expect("throttled", |m| {
        matches!(
            m,
            natter_core::protocol::ServerMsg::Error(
                natter_core::protocol::ErrorReply::LoginThrottled { .. }
            )
        )
    });
    let mut second = server.connect();
    second.next();
    let mut third = server.connect();
    assert_eq!(
        third.next(),
        natter_core::protocol::ServerMsg::Bye(
            natter_core::protocol::ByeReason::TooManyConnections { max: 2 }
        )
    );
    drop(second);
}
