//! A TLS client after its handshake, driven by hand: for the tests and fuzz targets that must send what
//! no well-behaved TLS stack sends (two key updates in one record, a record of nothing but padding, an
//! alert of three bytes) and read exactly which alert the server answered with.
//!
//! A real rustls client does the handshake; then rustls hands its traffic keys over (its
//! `KernelConnection`, the same API the server's compact record layer stands on), and this seals
//! whatever inner plaintext a test asks for, with rustls' own record protection for the suite the
//! handshake chose, and opens the server's records, following the server's key updates as a client
//! must. Nothing here is cryptography of its own.
//!
//! Public for the integration tests (which drive a real server over TCP with it) and the fuzz
//! targets; the server never uses it.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, Iv, MessageDecrypter, MessageEncrypter, OutboundPlainMessage,
};
use rustls::kernel::KernelConnection;
use rustls::pki_types::ServerName;
use rustls::unbuffered::{ConnectionState, EncodeError, UnbufferedStatus};
use rustls::{ConnectionTrafficSecrets, ContentType, ProtocolVersion, SupportedCipherSuite};

/// What the client read in one server record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// Application data.
    Text(Vec<u8>),
    /// An alert: its level (1 warning, 2 fatal) and description.
    Alert { level: u8, description: u8 },
    /// A `KeyUpdate` (the client now opens the server's records with the next key).
    KeyUpdate { requested: bool },
    /// A record of another kind, or one this client could not open.
    Other(String),
}

/// One direction's record protection, and its sequence number.
struct Keys<T: ?Sized> {
    cipher: Box<T>,
    seq: u64,
}

pub struct HandPeer {
    kernel: KernelConnection<ClientConnectionData>,
    suite: SupportedCipherSuite,
    seal: Keys<dyn MessageEncrypter>,
    open: Keys<dyn MessageDecrypter>,
    /// Server bytes that are not a whole record yet.
    pending: Vec<u8>,
    /// Application data rustls read during the handshake, not yet reported.
    early: Vec<u8>,
}

fn key_and_iv(secrets: ConnectionTrafficSecrets) -> (AeadKey, Iv) {
    match secrets {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv }
        | ConnectionTrafficSecrets::Aes256Gcm { key, iv }
        | ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => (key, iv),
        _ => panic!("a suite this test client does not know"),
    }
}

fn sealer(
    suite: SupportedCipherSuite,
    secrets: ConnectionTrafficSecrets,
) -> Box<dyn MessageEncrypter> {
    let (key, iv) = key_and_iv(secrets);
    match suite {
        SupportedCipherSuite::Tls13(s) => s.aead_alg.encrypter(key, iv),
        SupportedCipherSuite::Tls12(s) => {
            // rustls hands TLS 1.2 keys over with the fixed and explicit parts of the nonce joined.
            let fixed = s.aead_alg.key_block_shape().fixed_iv_len;
            let (fixed_iv, explicit) = iv.as_ref().split_at(fixed);
            s.aead_alg.encrypter(key, fixed_iv, explicit)
        }
    }
}

fn opener(
    suite: SupportedCipherSuite,
    secrets: ConnectionTrafficSecrets,
) -> Box<dyn MessageDecrypter> {
    let (key, iv) = key_and_iv(secrets);
    match suite {
        SupportedCipherSuite::Tls13(s) => s.aead_alg.decrypter(key, iv),
        SupportedCipherSuite::Tls12(s) => {
            let fixed = s.aead_alg.key_block_shape().fixed_iv_len;
            s.aead_alg.decrypter(key, &iv.as_ref()[..fixed])
        }
    }
}

impl HandPeer {
    /// Runs a real handshake (rustls, with `config`, which must allow secret extraction) through
    /// `exchange`, which carries the client's bytes to the server and returns what the server wrote
    /// back (waiting for it if its second argument is true: the client expects an answer); then
    /// takes the keys over. `None` if the handshake did not finish.
    pub fn handshake(
        config: Arc<ClientConfig>,
        mut exchange: impl FnMut(&mut Vec<u8>, bool) -> Vec<u8>,
    ) -> Option<HandPeer> {
        let name = ServerName::try_from("localhost").expect("a name");
        let mut conn = UnbufferedClientConnection::new(config, name).ok()?;
        let mut incoming = Vec::new();
        let mut outgoing = Vec::new();
        let mut early = Vec::new();
        for _ in 0..64 {
            let UnbufferedStatus { discard, state } = conn.process_tls_records(&mut incoming);
            let mut done = false;
            let mut discard = discard;
            match state.ok()? {
                ConnectionState::EncodeTlsData(mut encode) => {
                    let start = outgoing.len();
                    outgoing.resize(start + 16 * 1024, 0);
                    let n = match encode.encode(&mut outgoing[start..]) {
                        Ok(n) => n,
                        Err(EncodeError::InsufficientSize(_)) | Err(_) => return None,
                    };
                    outgoing.truncate(start + n);
                }
                ConnectionState::TransmitTlsData(transmit) => {
                    transmit.done();
                    let waiting = conn.is_handshaking();
                    let reply = exchange(&mut std::mem::take(&mut outgoing), waiting);
                    // Applied below, before these bytes are looked at.
                    incoming.extend_from_slice(&reply);
                }
                ConnectionState::BlockedHandshake => {
                    let reply = exchange(&mut std::mem::take(&mut outgoing), true);
                    if reply.is_empty() {
                        return None;
                    }
                    incoming.extend_from_slice(&reply);
                }
                ConnectionState::ReadTraffic(mut traffic) => {
                    // TLS 1.2: the server's first words may come with its last handshake message.
                    while let Some(record) = traffic.next_record() {
                        let record = record.ok()?;
                        discard += record.discard;
                        early.extend_from_slice(record.payload);
                    }
                }
                ConnectionState::WriteTraffic(_) => done = true,
                _ => return None,
            }
            incoming.drain(..discard);
            if done {
                let mut peer = HandPeer::new(conn);
                peer.early = early;
                // The start of a record rustls did not read is the keys' to open now.
                peer.pending = incoming;
                return Some(peer);
            }
        }
        None
    }

    fn new(conn: UnbufferedClientConnection) -> HandPeer {
        let (secrets, kernel) = conn
            .dangerous_into_kernel_connection()
            .expect("an established client that may hand its secrets over");
        let suite = kernel.negotiated_cipher_suite();
        let (tx_seq, tx) = secrets.tx;
        let (rx_seq, rx) = secrets.rx;
        HandPeer {
            seal: Keys {
                cipher: sealer(suite, tx),
                seq: tx_seq,
            },
            open: Keys {
                cipher: opener(suite, rx),
                seq: rx_seq,
            },
            kernel,
            suite,
            pending: Vec::new(),
            early: Vec::new(),
        }
    }

    pub fn is_tls13(&self) -> bool {
        matches!(self.suite, SupportedCipherSuite::Tls13(_))
    }

    /// A record of `typ` holding `payload`, sealed with the current key.
    pub fn seal(&mut self, typ: ContentType, payload: &[u8]) -> Vec<u8> {
        let msg = OutboundPlainMessage {
            typ,
            version: ProtocolVersion::TLSv1_2,
            payload: payload.into(),
        };
        let record = self
            .seal
            .cipher
            .encrypt(msg, self.seal.seq)
            .expect("sealing in memory");
        self.seal.seq += 1;
        record.encode()
    }

    /// A TLS 1.3 record whose inner plaintext is exactly `inner` (content, content type, then any
    /// zero padding: RFC 8446 section 5.2), so that a test can send any padding, or nothing but.
    pub fn seal_inner(&mut self, inner: &[u8]) -> Vec<u8> {
        assert!(self.is_tls13(), "inner plaintexts are TLS 1.3's");
        // rustls appends the content type it is given: the last byte of `inner` plays that part.
        let (&typ, content) = inner
            .split_last()
            .expect("an inner plaintext holds at least its content type (or a padding byte)");
        self.seal(ContentType::from(typ), content)
    }

    /// After sending a `KeyUpdate`: seal what follows with the next key (RFC 8446 section 4.6.3).
    pub fn update_tx(&mut self) {
        let (seq, secrets) = self
            .kernel
            .update_tx_secret()
            .expect("a TLS 1.3 session updates its keys");
        self.seal = Keys {
            cipher: sealer(self.suite, secrets),
            seq,
        };
    }

    /// Opens the server's records in `wire` (which may end in the middle of one: the rest waits for
    /// the next call), following its key updates.
    pub fn hear(&mut self, wire: &[u8]) -> Vec<Heard> {
        self.pending.extend_from_slice(wire);
        let mut heard = Vec::new();
        if !self.early.is_empty() {
            heard.push(Heard::Text(std::mem::take(&mut self.early)));
        }
        let mut at = 0;
        while self.pending.len() - at >= 5 {
            let len = usize::from(u16::from_be_bytes([
                self.pending[at + 3],
                self.pending[at + 4],
            ]));
            if self.pending.len() - at < 5 + len {
                break;
            }
            let typ = ContentType::from(self.pending[at]);
            let body = &mut self.pending[at + 5..at + 5 + len];
            at += 5 + len;
            let msg = InboundOpaqueMessage::new(typ, ProtocolVersion::TLSv1_2, body);
            let plain = match self.open.cipher.decrypt(msg, self.open.seq) {
                Ok(plain) => plain,
                Err(e) => {
                    heard.push(Heard::Other(format!("a record that did not open: {e}")));
                    break;
                }
            };
            self.open.seq += 1;
            let payload = plain.payload.to_vec();
            match plain.typ {
                ContentType::ApplicationData => heard.push(Heard::Text(payload)),
                ContentType::Alert if payload.len() == 2 => heard.push(Heard::Alert {
                    level: payload[0],
                    description: payload[1],
                }),
                ContentType::Handshake if payload.len() == 5 && payload[..4] == [24, 0, 0, 1] => {
                    heard.push(Heard::KeyUpdate {
                        requested: payload[4] == 1,
                    });
                    let (seq, secrets) = self
                        .kernel
                        .update_rx_secret()
                        .expect("a TLS 1.3 session updates its keys");
                    self.open = Keys {
                        cipher: opener(self.suite, secrets),
                        seq,
                    };
                }
                other => heard.push(Heard::Other(format!("{other:?} {payload:?}"))),
            }
        }
        self.pending.drain(..at);
        heard
    }
}
