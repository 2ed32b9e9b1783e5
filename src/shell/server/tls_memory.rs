//! A server TLS session and a rustls client joined in memory, no sockets: for the tests of the server's
//! TLS (its compact record layer above all, which must agree with a real TLS stack in every way that
//! matters) and for the fuzz target that throws hostile records at it.

use std::sync::{Arc, OnceLock};

use rustls::client::ClientConnection;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::tls_conn::TlsConn;
use super::tls_peer::HandPeer;
use super::tls_read::{Progress, TlsError};

/// The configurations of one test certificate.
pub(super) struct Configs {
    /// A client that trusts the certificate and may hand its secrets over.
    pub(super) client: Arc<ClientConfig>,
    /// rustls as it comes, on the suite natter's compact layer runs (TLS 1.3 ChaCha20-Poly1305):
    /// what the differential fuzz target compares that layer with.
    pub(super) reference: Arc<ServerConfig>,
}

/// A server configuration on a fresh self-signed certificate for `localhost`, and a client that
/// trusts it (and, for the fuzz target, may hand its secrets over).
fn configs() -> &'static (Arc<ServerConfig>, Arc<ClientConfig>, RootCertStore) {
    &all_configs().plain
}

struct AllConfigs {
    plain: (Arc<ServerConfig>, Arc<ClientConfig>, RootCertStore),
    reference: Arc<ServerConfig>,
}

/// See [`Configs`].
pub(super) fn test_configs() -> Configs {
    let all = all_configs();
    Configs {
        client: all.plain.1.clone(),
        reference: all.reference.clone(),
    }
}

fn all_configs() -> &'static AllConfigs {
    static CONFIGS: OnceLock<AllConfigs> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        let cert = CertificateDer::from(made.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let server = crate::shell::tls::server_config(vec![cert.clone()], key.clone_key())
            .expect("the server's configuration");
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites =
            vec![rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
        let mut reference = ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .expect("the reference server's configuration");
        // As natter's: no tickets after the handshake.
        reference.send_tls13_tickets = 0;
        let mut roots = RootCertStore::empty();
        roots.add(cert).expect("the certificate as a root");
        let mut client =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots.clone())
                .with_no_client_auth();
        client.enable_secret_extraction = true;
        AllConfigs {
            plain: (server, Arc::new(client), roots),
            reference: Arc::new(reference),
        }
    })
}

/// The two ends of one session.
pub(super) struct Pair {
    pub(super) server: Box<TlsConn>,
    pub(super) client: ClientConnection,
    /// Everything the server decrypted so far.
    pub(super) received: Vec<u8>,
}

impl Pair {
    /// A session with its handshake done (`config`: the client's, or the default one).
    pub(super) fn established(config: Option<Arc<ClientConfig>>) -> Pair {
        let (server, client, _) = configs();
        let client = config.unwrap_or_else(|| client.clone());
        let name = ServerName::try_from("localhost").expect("a name");
        let mut pair = Pair {
            server: TlsConn::new(server.clone()).expect("a server session"),
            client: ClientConnection::new(client, name).expect("a client session"),
            received: Vec::new(),
        };
        for _ in 0..10 {
            if !pair.client.is_handshaking() && pair.server.is_established() {
                return pair;
            }
            pair.client_to_server().expect("handshake from the client");
        }
        panic!("the handshake did not finish");
    }

    /// Moves whatever the client has to send to the server, and the server's answer back.
    pub(super) fn client_to_server(&mut self) -> Result<Progress, TlsError> {
        let mut bytes = Vec::new();
        while self.client.wants_write() {
            self.client
                .write_tls(&mut bytes)
                .expect("writing to memory");
        }
        self.feed(&mut bytes)
    }

    /// Gives `bytes` to the server as one read; its answer goes to the client.
    pub(super) fn feed(&mut self, bytes: &mut [u8]) -> Result<Progress, TlsError> {
        let mut wire = Vec::new();
        let received = &mut self.received;
        let result = self
            .server
            .read(bytes, |p| received.extend_from_slice(p), &mut wire);
        self.deliver_to_client(&wire);
        result
    }

    /// Gives `bytes` to the server as one read; returns its verdict and what it wrote back (for a
    /// client driven by hand, [`HandPeer`]).
    pub(crate) fn feed_wire(&mut self, bytes: &mut [u8]) -> (Result<Progress, TlsError>, Vec<u8>) {
        let mut wire = Vec::new();
        let received = &mut self.received;
        let result = self
            .server
            .read(bytes, |p| received.extend_from_slice(p), &mut wire);
        (result, wire)
    }

    /// A server session whose handshake was made with a client driven by hand from then on
    /// (`config`: the client's, or the default one; `self.client` plays no part).
    pub(crate) fn by_hand(config: Option<Arc<ClientConfig>>) -> (Pair, HandPeer) {
        let (server, client, _) = configs();
        let config = config.unwrap_or_else(|| client.clone());
        let name = ServerName::try_from("localhost").expect("a name");
        let mut pair = Pair {
            server: TlsConn::new(server.clone()).expect("a server session"),
            client: ClientConnection::new(config.clone(), name).expect("a client session"),
            received: Vec::new(),
        };
        let peer = HandPeer::handshake(config, |bytes, _| {
            let (result, wire) = pair.feed_wire(bytes);
            result.expect("the handshake");
            wire
        })
        .expect("the handshake finished");
        assert!(pair.server.is_established());
        (pair, peer)
    }

    /// Delivers server records to the client.
    pub(super) fn deliver_to_client(&mut self, mut wire: &[u8]) {
        while !wire.is_empty() {
            if self.client.read_tls(&mut wire).expect("reading memory") == 0 {
                break;
            }
            if self.client.process_new_packets().is_err() {
                break;
            }
        }
        let _ = self.client.process_new_packets();
    }

    /// The server seals `text`; returns what the client then reads.
    #[cfg(test)]
    pub(super) fn server_says(&mut self, text: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut wire = Vec::new();
        assert!(self.server.encrypt(text, &mut wire).expect("sealed"));
        self.deliver_to_client(&wire);
        let mut got = Vec::new();
        let _ = self.client.reader().read_to_end(&mut got);
        got
    }

    /// The client sends `text`; returns what the server then decrypted.
    #[cfg(test)]
    pub(super) fn client_says(&mut self, text: &[u8]) -> Result<Vec<u8>, TlsError> {
        use std::io::Write;
        self.client.writer().write_all(text).expect("buffered");
        let before = self.received.len();
        self.client_to_server()?;
        Ok(self.received[before..].to_vec())
    }
}

/// The fuzz target's body: after a real handshake, arbitrary bytes, or records sealed with the
/// client's own keys holding arbitrary content, reach the server's compact record layer. It must
/// never panic, and what it hands over must be the application data of the records before the first
/// tampered one, in order, nothing else: all of it if every record is genuine application data, and
/// a part from the start otherwise (which part is rustls' rules', checked against rustls itself by the
/// `tls_differential` target).
///
/// `data[0]`: odd, `data[1..]` is a list of records, each `kind, len, payload[len]`, sealed here
/// (`kind` low bits pick the inner content type: application data, alert, handshake, or `kind`
/// itself; bit 7 flips a bit of the sealed record); even, `data[1..]` goes to the server as it is.
/// `data[0] >> 1` is how many bytes each read carries (0: all at once).
pub fn fuzz_records(data: &[u8]) {
    use crate::shell::tls_chacha::Sealer;
    use rustls::ContentType;
    use rustls::ProtocolVersion;
    use rustls::crypto::cipher::{MessageEncrypter, OutboundPlainMessage};

    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut pair = Pair::established(None);
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    let mut only_data = true;
    if mode & 1 == 0 {
        stream.extend_from_slice(rest);
        // Raw bytes cannot carry a record the client's key sealed: nothing may come through.
    } else {
        let client = std::mem::replace(
            &mut pair.client,
            ClientConnection::new(
                configs().1.clone(),
                ServerName::try_from("localhost").expect("a name"),
            )
            .expect("a client session"),
        );
        let secrets = client
            .dangerous_extract_secrets()
            .expect("the client's secrets");
        let (mut seq, tx) = secrets.tx;
        let mut seal = Sealer::from_secrets(tx).expect("a ChaCha20-Poly1305 session");
        let mut genuine = true;
        // rustls (so the server) ends a session at the 33rd empty record in a row: what came
        // before is handed over, and nothing after can be.
        let mut empty_in_a_row = 0u8;
        let mut input = rest;
        while let [kind, len, tail @ ..] = input {
            let len = usize::from(*len).min(tail.len());
            let (payload, next) = tail.split_at(len);
            input = next;
            let typ = match kind & 0x03 {
                0 => ContentType::ApplicationData,
                1 => ContentType::Alert,
                2 => ContentType::Handshake,
                // Type 0 is padding: a sender cannot put it inside a record (RFC 8446, 5.4).
                _ => ContentType::from((kind & 0x7f).max(1)),
            };
            let msg = OutboundPlainMessage {
                typ,
                version: ProtocolVersion::TLSv1_2,
                payload: payload.into(),
            };
            let Ok(record) = seal.encrypt(msg, seq) else {
                return;
            };
            seq += 1;
            let mut record = record.encode();
            let corrupt = kind & 0x80 != 0;
            if corrupt {
                // Not the outer content type or legacy version (bytes 0 to 2): TLS 1.3 does not
                // authenticate them, and rustls (so the server) reads the record whatever they say
                // but for a type or version it does not know.
                let at = 3 + usize::from(*kind) % (record.len() - 3);
                record[at] ^= 1;
            }
            genuine &= !corrupt;
            only_data &= genuine && typ == ContentType::ApplicationData;
            if genuine && typ == ContentType::ApplicationData {
                expected.extend_from_slice(payload);
            }
            stream.extend_from_slice(&record);
            if !payload.is_empty() {
                empty_in_a_row = 0;
            } else if empty_in_a_row == super::tls_compact::EMPTY_RECORDS {
                break;
            } else {
                empty_in_a_row += 1;
            }
        }
    }
    let step = match usize::from(mode >> 1) {
        0 => stream.len().max(1),
        n => n,
    };
    for chunk in stream.chunks_mut(step) {
        match pair.feed(chunk) {
            Ok(progress) if progress.closed => break,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    if only_data {
        assert_eq!(
            pair.received, expected,
            "the server did not hand over exactly what genuine records held"
        );
    } else {
        assert!(
            expected.starts_with(&pair.received),
            "the server handed over what genuine records did not hold: {:?} of {expected:?}",
            pair.received
        );
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::shell::server::tls_peer::Heard;
    use rustls::ContentType;
    use rustls::crypto::ring::cipher_suite;

    fn client_with(
        suites: Vec<rustls::SupportedCipherSuite>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites = suites;
        let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(configs().2.clone())
            .with_no_client_auth();
        config.enable_secret_extraction = true;
        Arc::new(config)
    }

    fn aes13() -> Arc<ClientConfig> {
        client_with(
            vec![cipher_suite::TLS13_AES_128_GCM_SHA256],
            &[&rustls::version::TLS13],
        )
    }

    fn tls12() -> Arc<ClientConfig> {
        client_with(
            vec![cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384],
            &[&rustls::version::TLS12],
        )
    }

    /// Each kind of session the server runs: compact (TLS 1.3 ChaCha20), and rustls throughout
    /// (TLS 1.3 AES).
    fn tls13_kinds() -> [(&'static str, Option<Arc<ClientConfig>>); 2] {
        [("compact", None), ("rustls", Some(aes13()))]
    }

    /// `bytes` to the server, which must not panic: its verdict and what it wrote.
    fn feed_no_panic(pair: &mut Pair, mut bytes: Vec<u8>) -> (Result<Progress, TlsError>, Vec<u8>) {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pair.feed_wire(&mut bytes)))
            .unwrap_or_else(|_| panic!("the server panicked"))
    }

    const FATAL: u8 = 2;
    const UNEXPECTED_MESSAGE: u8 = 10;

    #[test]
    fn two_key_updates_in_one_record_are_refused_without_a_panic() {
        for (kind, config) in tls13_kinds() {
            let (mut pair, mut peer) = Pair::by_hand(config);
            let record = peer.seal(ContentType::Handshake, &[24, 0, 0, 1, 1, 24, 0, 0, 1, 1]);
            let (result, wire) = feed_no_panic(&mut pair, record);
            assert!(result.is_err(), "{kind}: refused");
            assert_eq!(
                peer.hear(&wire),
                vec![Heard::Alert {
                    level: FATAL,
                    description: UNEXPECTED_MESSAGE
                }],
                "{kind}: one alert, no key update answered"
            );
        }
    }

    #[test]
    fn a_key_update_split_over_two_records_is_followed_and_the_server_may_write_meanwhile() {
        for (kind, config) in tls13_kinds() {
            let (mut pair, mut peer) = Pair::by_hand(config);
            let (first, wire) =
                feed_no_panic(&mut pair, peer.seal(ContentType::Handshake, &[24, 0]));
            assert!(first.is_ok(), "{kind}: {first:?}");
            assert!(wire.is_empty(), "{kind}");
            // A line for the client while the key update is half there.
            let mut wire = Vec::new();
            let wrote = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pair.server.encrypt(b"hello\n", &mut wire)
            }))
            .unwrap_or_else(|_| panic!("{kind}: the server panicked writing"));
            assert!(wrote.unwrap(), "{kind}");
            assert_eq!(peer.hear(&wire), vec![Heard::Text(b"hello\n".to_vec())]);
            let (rest, wire) =
                feed_no_panic(&mut pair, peer.seal(ContentType::Handshake, &[0, 1, 1]));
            assert!(rest.is_ok(), "{kind}: {rest:?}");
            peer.update_tx();
            let (text, more) = feed_no_panic(
                &mut pair,
                peer.seal(ContentType::ApplicationData, b"after\n"),
            );
            assert!(text.is_ok(), "{kind}: {text:?}");
            assert_eq!(pair.received, b"after\n", "{kind}");
            // The server answered the request before its next application data.
            let mut wire = [wire, more].concat();
            assert!(pair.server.encrypt(b"bye\n", &mut wire).unwrap());
            assert_eq!(
                peer.hear(&wire),
                vec![
                    Heard::KeyUpdate { requested: false },
                    Heard::Text(b"bye\n".to_vec())
                ],
                "{kind}"
            );
        }
    }

    const WARNING: u8 = 1;
    const RECORD_OVERFLOW: u8 = 22;
    const ILLEGAL_PARAMETER: u8 = 47;
    const DECODE_ERROR: u8 = 50;

    /// Sends each record built by `make` (from a client driven by hand) to the server in turn, until
    /// one fails; the last result, everything decrypted, and everything the client heard.
    fn run(
        config: Option<Arc<ClientConfig>>,
        make: impl FnOnce(&mut HandPeer) -> Vec<Vec<u8>>,
    ) -> (Result<Progress, TlsError>, Vec<u8>, Vec<Heard>) {
        let (mut pair, mut peer) = Pair::by_hand(config);
        let records = make(&mut peer);
        let mut heard = Vec::new();
        let mut result = Ok(Progress::default());
        for record in records {
            let (r, wire) = feed_no_panic(&mut pair, record);
            heard.extend(peer.hear(&wire));
            result = r;
            if result.is_err() {
                break;
            }
        }
        (result, pair.received, heard)
    }

    fn fatal(description: u8) -> Vec<Heard> {
        vec![Heard::Alert {
            level: FATAL,
            description,
        }]
    }

    #[test]
    fn misbehaving_records_get_the_alerts_rfc_8446_names_on_both_paths() {
        let cases: [(&str, Vec<u8>, u8); 9] = [
            (
                "an inner plaintext over 16 KiB",
                [vec![b'a'; (1 << 14) + 1], vec![23]].concat(),
                RECORD_OVERFLOW,
            ),
            (
                "an encrypted change_cipher_spec",
                vec![1, 20],
                UNEXPECTED_MESSAGE,
            ),
            (
                "a key update request of 2",
                vec![24, 0, 0, 1, 2, 22],
                ILLEGAL_PARAMETER,
            ),
            ("an alert of three bytes", vec![1, 0, 0, 21], DECODE_ERROR),
            ("an alert of one byte", vec![2, 21], DECODE_ERROR),
            (
                "an alert of no known level",
                vec![3, 0, 21],
                ILLEGAL_PARAMETER,
            ),
            (
                "a warning TLS 1.3 does not have",
                vec![WARNING, 42, 21],
                DECODE_ERROR,
            ),
            (
                "a record of no known inner type",
                vec![b'x', 99],
                DECODE_ERROR,
            ),
            (
                "a handshake message of length 2 claiming to be a key update",
                vec![24, 0, 0, 2, 1, 1, 22],
                DECODE_ERROR,
            ),
        ];
        for (kind, config) in tls13_kinds() {
            for (what, inner, description) in &cases {
                let (result, received, heard) =
                    run(config.clone(), |peer| vec![peer.seal_inner(inner)]);
                assert!(result.is_err(), "{kind}, {what}: refused");
                assert!(received.is_empty(), "{kind}, {what}");
                assert_eq!(heard, fatal(*description), "{kind}, {what}");
            }
            // A plain change_cipher_spec after the handshake is an unexpected record.
            let (result, _, heard) = run(config.clone(), |_| vec![vec![20, 3, 3, 0, 1, 1]]);
            assert!(result.is_err(), "{kind}");
            assert_eq!(
                heard,
                fatal(UNEXPECTED_MESSAGE),
                "{kind}, plain change_cipher_spec"
            );
        }
    }

    #[test]
    fn a_record_of_nothing_but_padding_is_an_unexpected_message() {
        // RFC 8446 section 5.4. (rustls ends its sessions without saying why.)
        let (result, _, heard) = run(None, |peer| vec![peer.seal_inner(&[0, 0, 0])]);
        assert!(result.is_err());
        assert_eq!(heard, fatal(UNEXPECTED_MESSAGE));
        let (result, _, _) = run(Some(aes13()), |peer| vec![peer.seal_inner(&[0, 0, 0])]);
        assert!(result.is_err(), "rustls refuses it too");
    }

    #[test]
    fn key_updates_are_answered_once_and_capped_without_data_between() {
        for (kind, config) in tls13_kinds() {
            // Two requests while this side is silent: one answer (RFC 8446 section 4.6.3).
            let (result, _, heard) = run(config.clone(), |peer| {
                let mut records = Vec::new();
                for _ in 0..2 {
                    records.push(peer.seal(ContentType::Handshake, &[24, 0, 0, 1, 1]));
                    peer.update_tx();
                }
                records
            });
            assert!(result.is_ok(), "{kind}: {result:?}");
            // rustls answers with its next record; the compact layer at once.
            if kind == "compact" {
                assert_eq!(heard, vec![Heard::KeyUpdate { requested: false }], "{kind}");
            }
            // 32 updates in a row are fine, the 33rd is not; data between resets the count.
            for (n, data_between, ok) in [(32, false, true), (33, false, false), (40, true, true)] {
                let (result, received, _) = run(config.clone(), |peer| {
                    let mut records = Vec::new();
                    for _ in 0..n {
                        records.push(peer.seal(ContentType::Handshake, &[24, 0, 0, 1, 0]));
                        peer.update_tx();
                        if data_between {
                            records.push(peer.seal(ContentType::ApplicationData, b"x"));
                        }
                    }
                    records
                });
                assert_eq!(
                    result.is_ok(),
                    ok,
                    "{kind}: {n} updates, data between: {data_between}"
                );
                assert_eq!(received.len(), if data_between { n } else { 0 });
            }
        }
    }

    #[test]
    fn empty_records_and_warnings_are_bounded_as_rustls_bounds_them() {
        for (kind, config) in tls13_kinds() {
            for (n, ok) in [(32, true), (33, false)] {
                let (result, _, _) = run(config.clone(), |peer| {
                    (0..n)
                        .map(|_| peer.seal(ContentType::ApplicationData, &[]))
                        .collect()
                });
                assert_eq!(result.is_ok(), ok, "{kind}: {n} empty records");
            }
            for (n, ok) in [(4, true), (5, false)] {
                let (result, _, _) = run(config.clone(), |peer| {
                    (0..n)
                        .map(|_| peer.seal(ContentType::Alert, &[WARNING, 90]))
                        .collect()
                });
                assert_eq!(result.is_ok(), ok, "{kind}: {n} user_canceled warnings");
            }
        }
    }

    #[test]
    fn a_close_notify_is_answered_with_one_on_both_paths() {
        for (kind, config) in tls13_kinds().into_iter().chain([("tls1.2", Some(tls12()))]) {
            let (mut pair, mut peer) = Pair::by_hand(config);
            let record = peer.seal(ContentType::Alert, &[WARNING, 0]);
            let (result, _) = feed_no_panic(&mut pair, record);
            assert!(result.unwrap().closed, "{kind}");
            let mut wire = Vec::new();
            pair.server.close_notify(&mut wire);
            assert_eq!(
                peer.hear(&wire),
                vec![Heard::Alert {
                    level: WARNING,
                    description: 0
                }],
                "{kind}"
            );
        }
    }

    #[test]
    fn an_established_session_goes_compact_and_carries_text_both_ways() {
        let mut pair = Pair::established(None);
        assert!(pair.server.is_compact());
        assert_eq!(
            pair.client_says(b"alice\nwonderland\n").unwrap(),
            b"alice\nwonderland\n"
        );
        assert_eq!(pair.server_says(b"WELCOME alice\n"), b"WELCOME alice\n");
        // More than one record's worth each way (in pieces the client's buffers take).
        let big: Vec<u8> = (0..40_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        for piece in big.chunks(12_000) {
            assert_eq!(pair.client_says(piece).unwrap(), piece);
        }
        let mut got = Vec::new();
        for piece in big.chunks(12_000) {
            got.extend(pair.server_says(piece));
        }
        assert_eq!(got, big);
        // One read holding several records.
        let mut wire = Vec::new();
        assert!(pair.server.encrypt(&big, &mut wire).unwrap());
        assert!(wire.len() > big.len() + 2 * 22, "three records at least");
    }

    #[test]
    fn key_updates_from_the_client_are_followed_both_ways() {
        let mut pair = Pair::established(None);
        for round in 0..3 {
            // rustls asks the server to update its key too.
            pair.client.refresh_traffic_keys().unwrap();
            let line = format!("line {round}\n");
            assert_eq!(pair.client_says(line.as_bytes()).unwrap(), line.as_bytes());
            assert_eq!(pair.server_says(line.as_bytes()), line.as_bytes());
        }
    }

    #[test]
    fn records_cut_anywhere_are_put_back_together() {
        let mut pair = Pair::established(None);
        pair.client.writer().write_all(b"one\ntwo\n").unwrap();
        let mut bytes = Vec::new();
        while pair.client.wants_write() {
            pair.client.write_tls(&mut bytes).unwrap();
        }
        for b in bytes.chunks_mut(1) {
            pair.feed(b).unwrap();
        }
        assert_eq!(pair.received, b"one\ntwo\n");
    }

    #[test]
    fn close_notify_is_seen_and_sent() {
        let mut pair = Pair::established(None);
        let mut wire = Vec::new();
        pair.server.close_notify(&mut wire);
        pair.deliver_to_client(&wire);
        let mut buf = [0u8; 8];
        assert_eq!(
            pair.client.reader().read(&mut buf).unwrap(),
            0,
            "a clean end"
        );
        pair.client.send_close_notify();
        assert!(pair.client_to_server().unwrap().closed);
    }

    #[test]
    fn a_tampered_record_ends_the_session_with_an_alert() {
        let mut pair = Pair::established(None);
        pair.client.writer().write_all(b"secret\n").unwrap();
        let mut bytes = Vec::new();
        while pair.client.wants_write() {
            pair.client.write_tls(&mut bytes).unwrap();
        }
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        assert!(pair.feed(&mut bytes).is_err());
        assert!(pair.received.is_empty());
        assert!(
            pair.client.process_new_packets().is_err(),
            "the client heard why"
        );
    }

    #[test]
    fn oversized_and_plain_records_are_refused() {
        let mut pair = Pair::established(None);
        let mut huge = vec![23, 3, 3, 0xff, 0xff];
        assert!(pair.feed(&mut huge).is_err());
        let mut pair = Pair::established(None);
        let mut plain_alert = vec![21, 3, 3, 0, 2, 1, 0];
        assert!(pair.feed(&mut plain_alert).is_err());
    }

    #[test]
    fn sessions_without_a_compact_form_stay_with_rustls_and_work() {
        let aes13 = client_with(
            vec![cipher_suite::TLS13_AES_128_GCM_SHA256],
            &[&rustls::version::TLS13],
        );
        let tls12 = client_with(
            vec![cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384],
            &[&rustls::version::TLS12],
        );
        for config in [aes13, tls12] {
            let mut pair = Pair::established(Some(config));
            assert!(!pair.server.is_compact());
            assert_eq!(pair.client_says(b"hello\n").unwrap(), b"hello\n");
            assert_eq!(pair.server_says(b"hi\n"), b"hi\n");
        }
    }

    #[test]
    fn the_fuzz_body_holds_on_simple_inputs() {
        // Genuine data, then a close: exactly the data comes through.
        fuzz_records(&[1, 0, 3, b'a', b'b', b'\n', 1, 2, 1, 0, 0, 2, b'x', b'y']);
        // A corrupted record in the middle.
        fuzz_records(&[1, 0, 1, b'a', 0x80, 1, b'b', 0, 1, b'c']);
        // A key update, then data under the old key.
        fuzz_records(&[3, 2, 5, 24, 0, 0, 1, 1, 0, 1, b'z']);
        // An empty handshake record.
        fuzz_records(&[1, 2, 0, 0, 1, b'q']);
        // Raw bytes.
        fuzz_records(&[0, 23, 3, 3, 0, 20, 1, 2, 3]);
    }
}
