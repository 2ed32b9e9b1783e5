//! End-to-end: the real server's TLS under a client that misbehaves on purpose, after a real rustls
//! handshake, with records made by hand from the handshake's keys (`HandPeer`): on the compact record
//! layer (TLS 1.3 ChaCha20) and on rustls (TLS 1.3 AES, TLS 1.2). Nothing may stop the server or leave
//! a session behind, and each refusal says why.

mod kit;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kit::{PEOPLE, Server};
use natter::shell::server::tls_peer::{HandPeer, Heard};
use rustls::crypto::ring::{cipher_suite, default_provider};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, ContentType, RootCertStore, SupportedCipherSuite};

const FATAL: u8 = 2;
const UNEXPECTED_MESSAGE: u8 = 10;

/// The session kinds the server runs, by the client's offer.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// TLS 1.3 with ChaCha20-Poly1305: the compact record layer.
    Compact,
    /// TLS 1.3 with AES-128-GCM: rustls throughout.
    Aes13,
    /// TLS 1.2: rustls throughout.
    Tls12,
}

fn config(server: &Server, kind: Kind) -> Arc<ClientConfig> {
    let pem =
        std::fs::read(server.path("natter-data/tls-cert.pem")).expect("the server's certificate");
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut provider = default_provider();
    let (suite, version): (
        SupportedCipherSuite,
        &'static rustls::SupportedProtocolVersion,
    ) = match kind {
        Kind::Compact => (
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            &rustls::version::TLS13,
        ),
        Kind::Aes13 => (
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            &rustls::version::TLS13,
        ),
        Kind::Tls12 => (
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            &rustls::version::TLS12,
        ),
    };
    provider.cipher_suites = vec![suite];
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.enable_secret_extraction = true;
    Arc::new(config)
}

/// A client over TCP whose records are made by hand once the handshake is over.
struct Hand {
    tcp: TcpStream,
    peer: HandPeer,
    /// Application data read so far.
    text: Vec<u8>,
    /// Everything else heard.
    heard: Vec<Heard>,
    closed: bool,
}

impl Hand {
    fn connect(server: &Server, kind: Kind) -> Hand {
        let mut tcp = TcpStream::connect(server.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = tcp.try_clone().unwrap();
        let peer = HandPeer::handshake(config(server, kind), |bytes, waiting| {
            tcp.write_all(bytes).unwrap();
            let mut got = vec![0u8; 64 * 1024];
            if !waiting {
                return Vec::new();
            }
            let n = reader.read(&mut got).unwrap_or(0);
            got.truncate(n);
            got
        })
        .expect("the handshake");
        Hand {
            tcp,
            peer,
            text: Vec::new(),
            heard: Vec::new(),
            closed: false,
        }
    }

    fn send_record(&mut self, typ: ContentType, payload: &[u8]) {
        let record = self.peer.seal(typ, payload);
        // The server may have closed already; what it said is read later.
        let _ = self.tcp.write_all(&record);
    }

    fn say(&mut self, line: &str) {
        self.send_record(ContentType::ApplicationData, format!("{line}\n").as_bytes());
    }

    /// Reads until the text holds `what` (or the connection ends, or 10 s pass).
    fn read_until(&mut self, done: impl Fn(&Hand) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; 64 * 1024];
        while !done(self) && !self.closed && Instant::now() < deadline {
            match self.tcp.read(&mut buf) {
                Ok(0) | Err(_) => self.closed = true,
                Ok(n) => {
                    for h in self.peer.hear(&buf[..n]) {
                        match h {
                            Heard::Text(t) => self.text.extend(t),
                            other => self.heard.push(other),
                        }
                    }
                }
            }
        }
    }

    fn saw(&self, what: &str) -> bool {
        String::from_utf8_lossy(&self.text).contains(what)
    }

    fn expect(&mut self, what: &str) {
        self.read_until(|h| h.saw(what));
        assert!(
            self.saw(what),
            "expected {what:?}; read {:?}, heard {:?}",
            String::from_utf8_lossy(&self.text),
            self.heard
        );
    }

    fn login(server: &Server, kind: Kind, user: &str, password: &str) -> Hand {
        let mut hand = Hand::connect(server, kind);
        hand.say(user);
        hand.say(password);
        hand.expect("WELCOME");
        hand
    }

    /// Reads until the server closes the connection.
    fn until_closed(&mut self) {
        self.read_until(|_| false);
        assert!(self.closed, "the server closed the connection");
    }
}

fn password(user: &str) -> &'static str {
    PEOPLE.iter().find(|(u, _)| *u == user).unwrap().1
}

#[test]
fn two_key_updates_in_a_record_end_the_session_and_free_the_account_on_every_tls_13_path() {
    let server = Server::cmd().accounts(PEOPLE).tls().start();
    for kind in [Kind::Compact, Kind::Aes13] {
        let mut alice = Hand::login(&server, kind, "alice", password("alice"));
        alice.send_record(ContentType::Handshake, &[24, 0, 0, 1, 1, 24, 0, 0, 1, 1]);
        alice.until_closed();
        assert_eq!(
            alice.heard,
            vec![Heard::Alert {
                level: FATAL,
                description: UNEXPECTED_MESSAGE
            }],
            "{kind:?}: told why, and no key update answered"
        );
        // The session ended with the connection: alice may log in again at once.
        let mut again = Hand::login(&server, kind, "alice", password("alice"));
        again.say("logout");
        again.until_closed();
    }
}

#[test]
fn a_key_update_cut_across_records_neither_stops_the_server_nor_is_refused() {
    let server = Server::cmd().accounts(PEOPLE).tls().start();
    for kind in [Kind::Compact, Kind::Aes13] {
        let mut alice = Hand::login(&server, kind, "alice", password("alice"));
        alice.send_record(ContentType::Handshake, &[24, 0]);
        // The server writes to alice while her key update is half there: bob's arrival.
        let mut bob = Hand::login(&server, Kind::Compact, "bob", password("bob"));
        alice.expect("PRESENCE bob");
        alice.send_record(ContentType::Handshake, &[0, 1, 1]);
        alice.peer.update_tx();
        alice.say("whoelse");
        alice.read_until(|h| {
            h.heard.contains(&Heard::KeyUpdate { requested: false }) && h.saw("WHOELSE")
        });
        assert!(
            alice.heard.contains(&Heard::KeyUpdate { requested: false }),
            "{kind:?}: answered: {:?}",
            alice.heard
        );
        assert!(!alice.closed, "{kind:?}");
        for c in [&mut alice, &mut bob] {
            c.say("logout");
            c.until_closed();
        }
    }
}

#[test]
fn a_close_notify_is_answered_with_one_on_every_path() {
    let server = Server::cmd().accounts(PEOPLE).tls().start();
    for kind in [Kind::Compact, Kind::Aes13, Kind::Tls12] {
        let mut alice = Hand::login(&server, kind, "alice", password("alice"));
        alice.send_record(ContentType::Alert, &[1, 0]);
        alice.until_closed();
        assert!(
            alice.heard.contains(&Heard::Alert {
                level: 1,
                description: 0
            }),
            "{kind:?}: {:?}",
            alice.heard
        );
        Hand::login(&server, kind, "alice", password("alice"));
    }
}
