//! An established TLS 1.3 session in its compact form: what an idle connection keeps is two 32-byte
//! keys, two sequence numbers and rustls' key schedule, not a whole rustls connection (about a
//! kilobyte, most of it handshake machinery an established session never uses again).
//!
//! rustls still does everything that needs judgement: the handshake, certificate and key exchange,
//! and every new traffic secret (its `KernelConnection`, the API it offers for kernel TLS, where
//! something else seals the records). What is left here is the record layer of RFC 8446 section 5:
//! frame, seal and open ChaCha20-Poly1305 records ([`crate::shell::tls_chacha`]), and the three kinds
//! of message a client may send inside them once the handshake is over: application data, alerts
//! and `KeyUpdate` (section 4.6.3). Anything else ends the session with an alert. ChaCha20-Poly1305
//! has no confidentiality limit a session could reach (2^64 records), so no key needs refreshing on
//! this side's initiative.

use rustls::crypto::cipher::{
    InboundOpaqueMessage, MessageDecrypter, MessageEncrypter, OutboundPlainMessage,
};
use rustls::kernel::KernelConnection;
use rustls::server::ServerConnectionData;
use rustls::{ContentType, ExtractedSecrets, ProtocolVersion};

use super::tls_read::{Progress, TlsError};
use crate::shell::tls_chacha::{Opener, Sealer};

/// The largest plaintext a record carries (RFC 8446 section 5.1).
const MAX_PLAIN: usize = 1 << 14;
/// The largest record body a peer may send: plaintext, content type, padding and tag (section 5.2).
const MAX_CIPHERTEXT: usize = MAX_PLAIN + 256;
const HEADER: usize = 5;
/// Handshake message type of `KeyUpdate`.
const KEY_UPDATE: u8 = 24;

/// Alert descriptions sent here (RFC 8446 section 6).
mod alert {
    pub const CLOSE_NOTIFY: u8 = 0;
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    pub const BAD_RECORD_MAC: u8 = 20;
    pub const RECORD_OVERFLOW: u8 = 22;
    pub const DECODE_ERROR: u8 = 50;
}

pub(super) struct CompactSession {
    kernel: KernelConnection<ServerConnectionData>,
    seal: Sealer,
    open: Opener,
    tx_seq: u64,
    rx_seq: u64,
}

impl CompactSession {
    /// The session from the secrets rustls handed over; `None` if they are not ChaCha20-Poly1305.
    pub(super) fn new(
        secrets: ExtractedSecrets,
        kernel: KernelConnection<ServerConnectionData>,
    ) -> Option<CompactSession> {
        let (tx_seq, tx) = secrets.tx;
        let (rx_seq, rx) = secrets.rx;
        Some(CompactSession {
            kernel,
            seal: Sealer::from_secrets(tx)?,
            open: Opener::from_secrets(rx)?,
            tx_seq,
            rx_seq,
        })
    }

    /// Opens the whole records in `data`, handing application data to `plain`; returns the bytes
    /// used (the rest is an incomplete record). Records this side must answer (a key update's reply,
    /// an alert) are appended to `wire`.
    pub(super) fn read(
        &mut self,
        data: &mut [u8],
        plain: &mut impl FnMut(&[u8]),
        wire: &mut Vec<u8>,
    ) -> Result<(usize, Progress), TlsError> {
        let mut used = 0;
        let mut progress = Progress::default();
        while data.len() - used >= HEADER {
            let header = &data[used..used + HEADER];
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            // After the handshake every record is sealed and labelled application data.
            if header[0] != u8::from(ContentType::ApplicationData) {
                return Err(self.fail(wire, alert::UNEXPECTED_MESSAGE, "a record outside TLS 1.3"));
            }
            if len > MAX_CIPHERTEXT {
                return Err(self.fail(wire, alert::RECORD_OVERFLOW, "a record over 16 KiB"));
            }
            if data.len() - used < HEADER + len {
                break;
            }
            let body = &mut data[used + HEADER..used + HEADER + len];
            used += HEADER + len;
            let msg = InboundOpaqueMessage::new(
                ContentType::ApplicationData,
                ProtocolVersion::TLSv1_2,
                body,
            );
            let opened = match self.open.decrypt(msg, self.rx_seq) {
                Ok(m) => m,
                Err(_) => {
                    return Err(self.fail(wire, alert::BAD_RECORD_MAC, "a record failed to open"));
                }
            };
            self.rx_seq += 1;
            match opened.typ {
                ContentType::ApplicationData => plain(opened.payload),
                ContentType::Alert => {
                    if opened.payload == [1, alert::CLOSE_NOTIFY] {
                        progress.closed = true;
                        return Ok((used, progress));
                    }
                    return Err(TlsError::new(format!(
                        "the client sent TLS alert {:?}",
                        opened.payload
                    )));
                }
                ContentType::Handshake => {
                    let payload = opened.payload.to_vec();
                    self.handshake(&payload, wire)?;
                    progress.wrote = true;
                }
                _ => {
                    return Err(self.fail(wire, alert::UNEXPECTED_MESSAGE, "an unexpected record"));
                }
            }
        }
        Ok((used, progress))
    }

    /// The handshake messages a client may send after the handshake: `KeyUpdate` only (a server
    /// never receives session tickets, and natter asks for no client certificates).
    fn handshake(&mut self, mut msgs: &[u8], wire: &mut Vec<u8>) -> Result<(), TlsError> {
        if msgs.is_empty() {
            // Zero-length handshake records are forbidden (RFC 8446 section 5.1).
            return Err(self.fail(wire, alert::UNEXPECTED_MESSAGE, "an empty handshake record"));
        }
        while !msgs.is_empty() {
            if msgs.len() < 4 {
                return Err(self.fail(wire, alert::DECODE_ERROR, "a cut handshake message"));
            }
            let len = usize::from(msgs[1]) << 16 | usize::from(msgs[2]) << 8 | usize::from(msgs[3]);
            if msgs[0] != KEY_UPDATE {
                return Err(self.fail(
                    wire,
                    alert::UNEXPECTED_MESSAGE,
                    "a handshake message after the handshake",
                ));
            }
            if len != 1 || msgs.len() < 5 || msgs[4] > 1 {
                return Err(self.fail(wire, alert::DECODE_ERROR, "a malformed key update"));
            }
            let requested = msgs[4] == 1;
            msgs = &msgs[5..];
            // The client's next records use its new key.
            let (seq, secrets) = self.kernel.update_rx_secret()?;
            self.open = Opener::from_secrets(secrets)
                .ok_or_else(|| TlsError::new("the key update changed the cipher".into()))?;
            self.rx_seq = seq;
            if requested {
                // Say so under the old key, then switch to the new one (section 4.6.3).
                self.seal_record(ContentType::Handshake, &[KEY_UPDATE, 0, 0, 1, 0], wire)?;
                let (seq, secrets) = self.kernel.update_tx_secret()?;
                self.seal = Sealer::from_secrets(secrets)
                    .ok_or_else(|| TlsError::new("the key update changed the cipher".into()))?;
                self.tx_seq = seq;
            }
        }
        Ok(())
    }

    /// Seals `plain` into application-data records appended to `wire`.
    pub(super) fn encrypt(&mut self, plain: &[u8], wire: &mut Vec<u8>) -> Result<(), TlsError> {
        for chunk in plain.chunks(MAX_PLAIN) {
            self.seal_record(ContentType::ApplicationData, chunk, wire)?;
        }
        Ok(())
    }

    /// Appends a close_notify alert, so the client can tell a clean close from a cut connection.
    pub(super) fn close_notify(&mut self, wire: &mut Vec<u8>) {
        let _ = self.seal_record(ContentType::Alert, &[1, alert::CLOSE_NOTIFY], wire);
    }

    fn seal_record(
        &mut self,
        typ: ContentType,
        payload: &[u8],
        wire: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        let msg = OutboundPlainMessage {
            typ,
            version: ProtocolVersion::TLSv1_2,
            payload: payload.into(),
        };
        let record = self.seal.encrypt(msg, self.tx_seq)?;
        self.tx_seq += 1;
        wire.extend_from_slice(&record.encode());
        Ok(())
    }

    /// Queues a fatal alert (best effort) and returns the error that ends the session.
    fn fail(&mut self, wire: &mut Vec<u8>, description: u8, what: &str) -> TlsError {
        let _ = self.seal_record(ContentType::Alert, &[2, description], wire);
        TlsError::new(format!("TLS: {what}"))
    }
}
