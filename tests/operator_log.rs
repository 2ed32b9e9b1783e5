//! What an operator sees, at the default log level, of the ways the server turns clients away: a
//! session ended for flooding, throttled logins and registrations, connections refused, logins never
//! finished, clients dropped for not reading, TLS and plain text at the wrong port, lockouts with their
//! end as a UTC time, and look-alike accounts at start. Each scenario comes from an address of its own
//! (the whole of 127/8 is this host), because an address's second refusal within a minute is summed up
//! a minute later, not logged at once.

mod kit;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use kit::{PATIENCE, Server};

/// A connection to `addr` from `source`, a loopback address of the test's choosing.
fn connect_from(addr: SocketAddr, source: &str) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let ip: IpAddr = source.parse().unwrap();
    socket.bind(&SocketAddr::new(ip, 0).into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads lines until one starts with `prefix`, returning it (panics on a close or a hang first).
fn read_until(r: &mut BufReader<TcpStream>, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).unwrap();
        assert!(n > 0, "closed before '{prefix}'");
        if line.starts_with(prefix) {
            return line.trim_end().to_owned();
        }
    }
}

/// Waits until the server's log holds `needle`, returning the line.
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

/// alice logs in from `source` and floods bob: the goodbye she is told.
fn flood_from(addr: SocketAddr, source: &str) -> String {
    let flooder = connect_from(addr, source);
    let mut r = BufReader::new(flooder.try_clone().unwrap());
    (&flooder).write_all(b"alice\napw\n").unwrap();
    read_until(&mut r, "WELCOME");
    let flood = "message bob x\n".repeat(2000);
    let _ = (&flooder).write_all(flood.as_bytes());
    read_until(&mut r, "BYE")
}

/// What the operator reads of alice's session ended for flooding, but for the time it ends.
const FLOODED: &str = "disconnected for flooding (BYE flood); account alice; no login from this address or by the account until ";

/// Whether `text` ends with a UTC time in ISO 8601 (`2026-11-23T12:00:00Z`).
fn ends_with_utc_time(text: &str) -> bool {
    let Some(t) = text.rsplit(' ').next() else {
        return false;
    };
    let b = t.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
}

const WITH_TWINS: &[(&str, &str)] = &[
    ("alice", "apw"),
    ("bob", "bpw"),
    ("carol", "cpw"),
    ("dave", "dpw"),
    ("a1ice", "xpw"),
];

#[test]
fn refusals_are_logged_at_the_default_level_once_per_address() {
    let server = Server::cmd()
        .accounts(WITH_TWINS)
        .args(&[
            "--login-timeout",
            "1",
            "--failed-logins-per-address",
            "3",
            "--max-logins-per-address",
            "0",
            "--new-connections-per-address",
            "2",
            "--new-connection-rate",
            "1",
        ])
        .start();
    let addr = server.addr;
    let warning = logged(&server, "look alike");
    assert!(
        warning.contains("WARN") && warning.contains("'alice' and 'a1ice'"),
        "{warning}"
    );

    // A session ended for flooding: the account, and the end of its cool-down as a UTC time.
    assert!(flood_from(addr, "127.0.0.2").starts_with("BYE flood 60 "));
    let line = logged(&server, "refused 127.0.0.2:");
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains(FLOODED), "{line}");
    assert!(ends_with_utc_time(&line), "{line}");

    // New connections too fast (refused before any handshake).
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(addr, "127.0.0.4"));
    }
    let mut third = BufReader::new(held.pop().unwrap());
    assert!(read_until(&mut third, "BYE").starts_with("BYE connect-throttled"));
    logged(
        &server,
        "refused 127.0.0.4: connection refused before its handshake: new connections too fast (connect-throttled)",
    );

    // A connection that never finishes logging in (a slowloris holds the server's slots that way).
    let slow = connect_from(addr, "127.0.0.5");
    let mut slow = BufReader::new(slow);
    assert!(read_until(&mut slow, "BYE").starts_with("BYE login-timeout"));
    let line = logged(&server, "refused 127.0.0.5:");
    assert!(
        line.contains("INFO") && line.contains("login not finished in time (login-timeout)"),
        "{line}"
    );

    // Failed logins throttled: logged once, however many follow within the minute.
    let guesser = connect_from(addr, "127.0.0.6");
    let mut r = BufReader::new(guesser.try_clone().unwrap());
    // (Unknown names count as failures.)
    (&guesser)
        .write_all(b"nobody1\nnobody2\nnobody3\n")
        .unwrap();
    for _ in 0..6 {
        (&guesser).write_all(b"dave\n").unwrap();
        read_until(&mut r, "ERROR login-throttled");
    }
    logged(
        &server,
        "refused 127.0.0.6: login refused: too many failed logins (login-throttled)",
    );
    assert_eq!(
        server.log().matches("refused 127.0.0.6").count(),
        1,
        "one line a minute per address"
    );

    // A lockout's end is a time, not Unix milliseconds.
    let locker = connect_from(addr, "127.0.0.7");
    let mut r = BufReader::new(locker.try_clone().unwrap());
    (&locker).write_all(b"carol\nn1\nn2\nn3\n").unwrap();
    read_until(&mut r, "BYE locked");
    let line = logged(
        &server,
        "carol locked after repeated wrong passwords from 127.0.0.7:",
    );
    assert!(ends_with_utc_time(&line), "{line}");

    // A TLS handshake at the plain-text port.
    let tls_client = connect_from(addr, "127.0.0.8");
    (&tls_client)
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        .unwrap();
    let mut answer = String::new();
    let _ = (&tls_client).read_to_string(&mut answer);
    assert!(answer.starts_with("BYE plaintext-only"), "{answer}");
    logged(
        &server,
        "refused 127.0.0.8: TLS handshake at the plain-text port (plaintext-only)",
    );
    // No password reached the log.
    let log = server.log();
    for secret in ["apw", "nobody1", "n1", "n2", "n3"] {
        assert!(
            !log.split_whitespace().any(|w| w == secret),
            "'{secret}' logged:\n{log}"
        );
    }
}

#[test]
fn registrations_connections_and_plain_text_at_tls_are_logged() {
    let server = Server::cmd()
        .args(&[
            "--register",
            "--registrations-per-address",
            "1",
            "--max-logins-per-address",
            "1",
        ])
        .start();
    let addr = server.addr;
    let c = connect_from(addr, "127.0.0.9");
    let mut r = BufReader::new(c.try_clone().unwrap());
    (&c).write_all(b"zed\nzed-secret\nlogout\n").unwrap();
    read_until(&mut r, "BYE logout");
    let c = connect_from(addr, "127.0.0.9");
    let mut r = BufReader::new(c.try_clone().unwrap());
    (&c).write_all(b"yan\nyan-secret\n").unwrap();
    read_until(&mut r, "ERROR register-throttled");
    logged(
        &server,
        "refused 127.0.0.9: registration refused: too many accounts created (register-throttled)",
    );

    let _first = connect_from(addr, "127.0.0.10");
    let second = connect_from(addr, "127.0.0.10");
    let mut r = BufReader::new(second);
    assert!(read_until(&mut r, "BYE").starts_with("BYE too-many-connections"));
    logged(
        &server,
        "refused 127.0.0.10: connection refused: too many logging in at once (too-many-connections)",
    );

    let tls = Server::cmd()
        .args(&[
            "--new-connections-per-address",
            "2",
            "--new-connection-rate",
            "1",
        ])
        .tls()
        .start();
    // A handshake flood: turned away before the handshake, in plain text.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(tls.addr, "127.0.0.13"));
    }
    let mut answer = String::new();
    let _ = held.pop().unwrap().read_to_string(&mut answer);
    assert!(answer.starts_with("BYE connect-throttled"), "{answer}");
    logged(
        &tls,
        "refused 127.0.0.13: connection refused before its handshake: new connections too fast (connect-throttled)",
    );

    let plain = connect_from(tls.addr, "127.0.0.11");
    (&plain).write_all(b"alice\n").unwrap();
    let mut answer = String::new();
    let _ = (&plain).read_to_string(&mut answer);
    assert!(answer.starts_with("BYE tls-required"), "{answer}");
    logged(
        &tls,
        "refused 127.0.0.11: plain text at the TLS port (tls-required)",
    );
}

#[test]
fn clients_dropped_for_not_reading_are_logged_once_per_address() {
    let server = Server::cmd()
        .args(&["--max-outbound", "4096", "--flood-rate", "0"])
        .start();
    // Two slow readers from one address: one line at once, the second counted for the minute's sum.
    for user in ["alice", "bob"] {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let source: IpAddr = "127.0.0.12".parse().unwrap();
        socket.bind(&SocketAddr::new(source, 0).into()).unwrap();
        socket.connect(&server.addr.into()).unwrap();
        let stuck = TcpStream::from(socket);
        stuck.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut r = BufReader::new(stuck.try_clone().unwrap());
        (&stuck)
            .write_all(format!("{user}\n{}pw\n", &user[..1]).as_bytes())
            .unwrap();
        read_until(&mut r, "WELCOME");
        // `help` answers with a couple of kilobytes; none of it is read. Once the server has dropped
        // the client, its writes fail.
        for _ in 0..20_000 {
            if (&stuck).write_all(b"help\n").is_err() {
                break;
            }
        }
        // Dropped: what it was sent ends, or is cut by a reset; a timeout would panic.
        let mut sink = Vec::new();
        match r.read_to_end(&mut sink) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
        logged(
            &server,
            "refused 127.0.0.12: dropped: not reading what it was sent (slow reader)",
        );
    }
    assert_eq!(
        server.log().matches("refused 127.0.0.12").count(),
        1,
        "one line a minute per address:\n{}",
        server.log()
    );
}

#[test]
fn a_cluster_node_names_the_account_it_disconnected_for_flooding() {
    let Some(redis) = kit::Redis::start() else {
        return;
    };
    let node = Server::cmd()
        .accounts(WITH_TWINS)
        .args(&["60", "600", "--cluster", &redis.url()])
        .start();
    assert!(flood_from(node.addr, "127.0.0.2").starts_with("BYE flood 60 "));
    // The node's records come apart from its lines (the shared log is their record), and still name
    // the session's account, as on a server alone.
    let line = logged(&node, "refused 127.0.0.2:");
    assert!(line.contains(FLOODED), "{line}");
}
