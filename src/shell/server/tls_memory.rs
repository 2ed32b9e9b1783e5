//! A server TLS session and a rustls client joined in memory, no sockets: for the tests of the server's
//! TLS (its compact record layer above all, which must agree with a real TLS stack in every way that
//! matters) and for the fuzz target that throws hostile records at it.

use std::sync::{Arc, OnceLock};

use rustls::client::ClientConnection;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::tls_conn::TlsConn;
use super::tls_read::{Progress, TlsError};

/// A server configuration on a fresh self-signed certificate for `localhost`, and a client that
/// trusts it (and, for the fuzz target, may hand its secrets over).
fn configs() -> &'static (Arc<ServerConfig>, Arc<ClientConfig>, RootCertStore) {
    static CONFIGS: OnceLock<(Arc<ServerConfig>, Arc<ClientConfig>, RootCertStore)> =
        OnceLock::new();
    CONFIGS.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        let cert = CertificateDer::from(made.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let server = crate::shell::tls::server_config(vec![cert.clone()], key)
            .expect("the server's configuration");
        let mut roots = RootCertStore::empty();
        roots.add(cert).expect("the certificate as a root");
        let mut client =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots.clone())
                .with_no_client_auth();
        client.enable_secret_extraction = true;
        (server, Arc::new(client), roots)
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
/// never panic, and it must hand over exactly the application data of the records before the
/// first one that is not genuine application data, nothing more.
///
/// `data[0]`: odd, `data[1..]` is a list of records, each `kind, len, payload[len]`, sealed here
/// (`kind` low bits pick the inner content type: application data, alert, handshake, or `kind`
/// itself; bit 7 flips a bit of the sealed record); even, `data[1..]` goes to the server as it is.
/// `data[0] >> 1` is how many bytes each read carries (0: all at once).
pub(crate) fn fuzz_records(data: &[u8]) {
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
                // Not the legacy version bytes (1 and 2): RFC 8446 has them ignored.
                let at = match usize::from(*kind) % record.len() {
                    1 | 2 => 0,
                    at => at,
                };
                record[at] ^= 1;
            }
            genuine &= !corrupt && typ == ContentType::ApplicationData;
            if genuine {
                expected.extend_from_slice(payload);
            }
            stream.extend_from_slice(&record);
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
    assert_eq!(
        pair.received, expected,
        "the server handed over what genuine records did not hold"
    );
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
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
