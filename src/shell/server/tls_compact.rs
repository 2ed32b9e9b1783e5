//! An established TLS 1.3 session in its compact form: what an idle connection keeps is two 32-byte
//! keys, two sequence numbers and rustls' key schedule, not a whole rustls connection (about a
//! kilobyte, most of it handshake machinery an established session never uses again).
//!
//! rustls still does everything that needs judgement about keys: the handshake, certificate and key
//! exchange, and every new traffic secret (its `KernelConnection`, the API it offers for kernel TLS,
//! where something else seals the records). What is left here is the record layer of RFC 8446
//! section 5: frame, seal and open ChaCha20-Poly1305 records ([`crate::shell::tls_chacha`]), and the
//! three kinds of message a client may send inside them once the handshake is over: application
//! data, alerts and `KeyUpdate` (section 4.6.3).
//!
//! Because this replaces rustls for the rest of the session, it enforces every rule rustls enforces
//! there, in the same order, and names each rule's source beside it; the `tls_differential` fuzz
//! target feeds the same records to this layer and to rustls and checks that they agree. Where
//! rustls ends a session without saying why (it sends no alert), this layer sends the alert RFC 8446
//! asks for, or `unexpected_message`: a client is always told why its session ended. The limits that
//! keep a client from making the server work for nothing are rustls' own (and BoringSSL's): at most
//! 32 key updates without application data between them, one answer owed at a time, 32 empty
//! records in a row, 4 warning alerts.
//!
//! ChaCha20-Poly1305 has no confidentiality limit a session could reach (2^64 records), so no key
//! needs refreshing on this side's initiative.

use rustls::crypto::cipher::{InboundOpaqueMessage, MessageDecrypter};
use rustls::kernel::KernelConnection;
use rustls::server::ServerConnectionData;
use rustls::{ContentType, Error, ExtractedSecrets, PeerMisbehaved, ProtocolVersion};

use super::tls_read::{Progress, TlsError};
use crate::shell::tls_chacha::{Opener, Sealer};

/// The largest plaintext a record carries (RFC 8446 section 5.1).
const MAX_PLAIN: usize = 1 << 14;
/// The largest record body a peer may send: plaintext, content type, padding and tag (section 5.2).
const MAX_CIPHERTEXT: usize = MAX_PLAIN + 256;
const HEADER: usize = 5;
/// Handshake message type of `KeyUpdate`.
const KEY_UPDATE: u8 = 24;
/// The longest handshake message rustls accepts (the protocol allows 16 MiB; rustls stops at 64 KiB
/// so that a peer cannot make it buffer more). None is acceptable here anyway but a `KeyUpdate`.
const MAX_HANDSHAKE: usize = 0xffff;

/// rustls' (and BoringSSL's `kMaxKeyUpdates`) bound on key updates with no application data between
/// them: each costs a key derivation, and a requested one an answer.
const KEY_UPDATES: u8 = 32;
/// rustls' bound on empty records in a row (`ALLOWED_CONSECUTIVE_EMPTY_FRAGMENTS_MAX`): each costs a
/// decryption and carries nothing.
pub(super) const EMPTY_RECORDS: u8 = 32;
/// rustls' (and BoringSSL's `kMaxWarningAlerts`) bound on warning alerts in a session.
const WARNING_ALERTS: u8 = 4;

/// Alert levels and descriptions (RFC 8446 section 6).
mod alert {
    pub const WARNING: u8 = 1;
    pub const FATAL: u8 = 2;
    pub const CLOSE_NOTIFY: u8 = 0;
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    pub const BAD_RECORD_MAC: u8 = 20;
    pub const RECORD_OVERFLOW: u8 = 22;
    pub const ILLEGAL_PARAMETER: u8 = 47;
    pub const DECODE_ERROR: u8 = 50;
    pub const USER_CANCELED: u8 = 90;
}

pub(super) struct CompactSession {
    kernel: KernelConnection<ServerConnectionData>,
    seal: Sealer,
    open: Opener,
    tx_seq: u64,
    rx_seq: u64,
}

/// What the compact layer remembers about the client's records between reads, besides the keys: the
/// limits above, whether a key update's answer is still owed, and a handshake message cut across
/// records (a `KeyUpdate` may be: RFC 8446 section 5.1).
///
/// It is kept beside the session (in [`super::tls_conn::TlsConn`], where it fits in room that
/// allocation already had), not in it: the compact session's allocation has no byte to spare, and an
/// idle connection's size is what the compact form exists for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Inbound {
    key_updates_left: u8,
    empty_in_a_row: u8,
    warnings_left: u8,
    /// This side answered a requested key update and has sent no application data since: another
    /// request is not answered again (RFC 8446 section 4.6.3: "a single update", and rustls).
    answer_sent: bool,
    fragment: Fragment,
}

/// A handshake message that has begun to arrive and is not whole yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fragment {
    None,
    /// Its first `have` bytes (header, then a `KeyUpdate`'s one-byte body).
    Start {
        have: u8,
        bytes: [u8; 4],
    },
    /// A message that will be refused with `alert` once whole: `remaining` bytes (24 bits) are
    /// still to come. rustls waits for the whole message before it judges it, and so does this.
    Doomed {
        remaining: [u8; 3],
        alert: u8,
    },
}

impl Default for Inbound {
    fn default() -> Self {
        Inbound {
            key_updates_left: KEY_UPDATES,
            empty_in_a_row: 0,
            warnings_left: WARNING_ALERTS,
            answer_sent: false,
            fragment: Fragment::None,
        }
    }
}

impl Inbound {
    /// Whether a handshake message has begun and not ended: no other record may come between
    /// (RFC 8446 section 5.1).
    fn mid_handshake_message(&self) -> bool {
        self.fragment != Fragment::None
    }
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
        inbound: &mut Inbound,
        data: &mut [u8],
        plain: &mut impl FnMut(&[u8]),
        wire: &mut Vec<u8>,
    ) -> Result<(usize, Progress), TlsError> {
        let mut used = 0;
        let mut progress = Progress::default();
        while used < data.len() {
            // The header, checked field by field as rustls' deframer does, each as soon as it has
            // arrived.
            let header = &data[used..data.len().min(used + HEADER)];
            let typ = ContentType::from(header[0]);
            if let ContentType::Unknown(_) = typ {
                return Err(self.fail(wire, alert::DECODE_ERROR, "a record of no known type"));
            }
            let [_, v1, v2, ..] = *header else {
                break;
            };
            let version = ProtocolVersion::from(u16::from_be_bytes([v1, v2]));
            if matches!(version, ProtocolVersion::Unknown(v) if v & 0xff00 != 0x0300) {
                return Err(self.fail(wire, alert::DECODE_ERROR, "a record of no TLS version"));
            }
            if header.len() < HEADER {
                break;
            }
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if len == 0 && typ != ContentType::ApplicationData {
                // Only application data may be empty (RFC 8446 section 5.1).
                return Err(self.fail(wire, alert::DECODE_ERROR, "an empty record"));
            }
            if len > MAX_CIPHERTEXT {
                // RFC 8446 section 5.2 names this alert. (rustls waits for the record and then
                // refuses it as unreadable or too long, or calls it a decode error past 18 KiB.)
                return Err(self.fail(wire, alert::RECORD_OVERFLOW, "a record over 16 KiB"));
            }
            if data.len() - used < HEADER + len {
                break;
            }
            let body = &mut data[used + HEADER..used + HEADER + len];
            used += HEADER + len;
            if typ == ContentType::ChangeCipherSpec && !inbound.mid_handshake_message() {
                // Never encrypted, and after the handshake not allowed at all (RFC 8446 section
                // 5); a malformed one is first of all malformed (rustls parses it first).
                let (description, what) = if body == [1] {
                    (
                        alert::UNEXPECTED_MESSAGE,
                        "a change_cipher_spec after the handshake",
                    )
                } else {
                    (alert::DECODE_ERROR, "a malformed change_cipher_spec")
                };
                return Err(self.fail(wire, description, what));
            }
            // Every other record is sealed. The outer type and version are not part of what is
            // authenticated in TLS 1.3 (the additional data always says application data), so, as in
            // rustls, they decide nothing more: the inner type does.
            let msg = InboundOpaqueMessage::new(typ, version, body);
            let opened = match self.open.decrypt(msg, self.rx_seq) {
                Ok(m) => m,
                Err(e) => {
                    let (description, what) = why_not_opened(&e);
                    return Err(self.fail(wire, description, what));
                }
            };
            self.rx_seq += 1;
            if inbound.mid_handshake_message() && opened.typ != ContentType::Handshake {
                // "Handshake messages MUST NOT be interleaved with other record types" (RFC 8446
                // section 5.1). rustls ends the session without an alert.
                return Err(self.fail(
                    wire,
                    alert::UNEXPECTED_MESSAGE,
                    "a record inside a cut handshake message",
                ));
            }
            if opened.payload.is_empty() {
                if inbound.empty_in_a_row == EMPTY_RECORDS {
                    // rustls ends the session here without an alert.
                    return Err(self.fail(
                        wire,
                        alert::UNEXPECTED_MESSAGE,
                        "too many empty records in a row",
                    ));
                }
                inbound.empty_in_a_row += 1;
            } else {
                inbound.empty_in_a_row = 0;
            }
            match opened.typ {
                ContentType::ApplicationData => {
                    inbound.key_updates_left = KEY_UPDATES;
                    plain(opened.payload);
                }
                ContentType::Alert => {
                    let payload = <[u8; 2]>::try_from(opened.payload).ok();
                    if self.alert(inbound, payload, wire)? {
                        // Anything after a close_notify is ignored (RFC 8446 section 6.1).
                        progress.closed = true;
                        return Ok((used, progress));
                    }
                }
                ContentType::Handshake => {
                    let payload = opened.payload.to_vec();
                    progress.wrote |= self.handshake(inbound, &payload, wire)?;
                }
                _ => {
                    // rustls cannot parse a message of another type (heartbeat, or no type it
                    // knows) and says so.
                    return Err(self.fail(wire, alert::DECODE_ERROR, "a record of no known type"));
                }
            }
        }
        Ok((used, progress))
    }

    /// An alert from the client (`None`: not two bytes); true if it is a close_notify.
    fn alert(
        &mut self,
        inbound: &mut Inbound,
        payload: Option<[u8; 2]>,
        wire: &mut Vec<u8>,
    ) -> Result<bool, TlsError> {
        let Some([level, description]) = payload else {
            return Err(self.fail(wire, alert::DECODE_ERROR, "a malformed alert"));
        };
        if level != alert::WARNING && level != alert::FATAL {
            return Err(self.fail(wire, alert::ILLEGAL_PARAMETER, "an alert of no known level"));
        }
        if description == alert::CLOSE_NOTIFY {
            return Ok(true);
        }
        if level == alert::FATAL {
            // The client ended the session; nothing is said back to a fatal alert (section 6.2).
            return Err(TlsError::new(format!(
                "the client sent TLS alert {description}"
            )));
        }
        if inbound.warnings_left == 0 {
            // rustls ends the session here without an alert.
            return Err(self.fail(wire, alert::UNEXPECTED_MESSAGE, "too many warning alerts"));
        }
        inbound.warnings_left -= 1;
        if description != alert::USER_CANCELED {
            // TLS 1.3 has no warnings but these two (section 6), and rustls calls any other a
            // decode error.
            return Err(self.fail(
                wire,
                alert::DECODE_ERROR,
                "a warning alert TLS 1.3 does not have",
            ));
        }
        Ok(false)
    }

    /// Handshake bytes from one record: the client may send `KeyUpdate` only after the handshake (a
    /// server never receives session tickets, and natter asks for no client certificates), whole or
    /// cut across records, one to a record. True if a reply was queued.
    fn handshake(
        &mut self,
        inbound: &mut Inbound,
        mut bytes: &[u8],
        wire: &mut Vec<u8>,
    ) -> Result<bool, TlsError> {
        let mut wrote = false;
        // An empty handshake record adds nothing (rustls lets it pass, counted as empty above).
        while !bytes.is_empty() {
            match inbound.fragment {
                Fragment::Doomed { remaining, alert } => {
                    let left = u24(remaining);
                    let take = left.min(bytes.len());
                    bytes = &bytes[take..];
                    if take == left {
                        inbound.fragment = Fragment::None;
                        return Err(self.fail(wire, alert, doomed_why(alert)));
                    }
                    inbound.fragment = Fragment::Doomed {
                        remaining: to_u24(left - take),
                        alert,
                    };
                }
                Fragment::None | Fragment::Start { .. } => {
                    let (mut have, mut start) = match inbound.fragment {
                        Fragment::Start { have, bytes } => (usize::from(have), bytes),
                        _ => (0, [0; 4]),
                    };
                    while have < 4
                        && let Some((&b, rest)) = bytes.split_first()
                    {
                        start[have] = b;
                        have += 1;
                        bytes = rest;
                    }
                    let pending = Fragment::Start {
                        have: have as u8,
                        bytes: start,
                    };
                    if have < 4 {
                        inbound.fragment = pending;
                        break;
                    }
                    let size = u24([start[1], start[2], start[3]]);
                    if size > MAX_HANDSHAKE {
                        // rustls refuses to wait for it and ends the session without an alert.
                        return Err(self.fail(
                            wire,
                            alert::DECODE_ERROR,
                            "a handshake message over 64 KiB",
                        ));
                    }
                    if start[0] != KEY_UPDATE || size != 1 {
                        let alert = if start[0] == KEY_UPDATE {
                            alert::DECODE_ERROR
                        } else {
                            alert::UNEXPECTED_MESSAGE
                        };
                        if size == 0 {
                            inbound.fragment = Fragment::None;
                            return Err(self.fail(wire, alert, doomed_why(alert)));
                        }
                        inbound.fragment = Fragment::Doomed {
                            remaining: to_u24(size),
                            alert,
                        };
                        continue;
                    }
                    let Some((&request, rest)) = bytes.split_first() else {
                        // The key update's one byte is in the next record.
                        inbound.fragment = pending;
                        break;
                    };
                    bytes = rest;
                    inbound.fragment = Fragment::None;
                    if !bytes.is_empty() {
                        // Keys must not change in the middle of a record: a key update ends its
                        // record (rustls: "KeyEpochWithPendingFragment").
                        return Err(self.fail(
                            wire,
                            alert::UNEXPECTED_MESSAGE,
                            "a key update not at the end of its record",
                        ));
                    }
                    wrote |= self.key_update(inbound, request, wire)?;
                }
            }
        }
        Ok(wrote)
    }

    /// A whole `KeyUpdate` with request value `request`: the client's next records use its next key,
    /// and, if it asks and no answer is owed already, so will this side's (section 4.6.3).
    fn key_update(
        &mut self,
        inbound: &mut Inbound,
        request: u8,
        wire: &mut Vec<u8>,
    ) -> Result<bool, TlsError> {
        if inbound.key_updates_left == 0 {
            // rustls ends the session here without an alert.
            return Err(self.fail(
                wire,
                alert::UNEXPECTED_MESSAGE,
                "too many key updates without application data",
            ));
        }
        inbound.key_updates_left -= 1;
        let answer = match request {
            0 => false,
            1 => !inbound.answer_sent,
            _ => {
                return Err(self.fail(
                    wire,
                    alert::ILLEGAL_PARAMETER,
                    "a key update with an unknown request",
                ));
            }
        };
        if answer {
            // Say so under the old key, then switch to the new one.
            self.seal_record(ContentType::Handshake, &[KEY_UPDATE, 0, 0, 1, 0], wire)?;
            let (seq, secrets) = self.kernel.update_tx_secret()?;
            self.seal = Sealer::from_secrets(secrets)
                .ok_or_else(|| TlsError::new("the key update changed the cipher".into()))?;
            self.tx_seq = seq;
            inbound.answer_sent = true;
        }
        let (seq, secrets) = self.kernel.update_rx_secret()?;
        self.open = Opener::from_secrets(secrets)
            .ok_or_else(|| TlsError::new("the key update changed the cipher".into()))?;
        self.rx_seq = seq;
        Ok(answer)
    }

    /// Seals `plain` into application-data records appended to `wire`.
    pub(super) fn encrypt(
        &mut self,
        inbound: &mut Inbound,
        plain: &[u8],
        wire: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        for chunk in plain.chunks(MAX_PLAIN) {
            self.seal_record(ContentType::ApplicationData, chunk, wire)?;
        }
        // The answer to a key update has gone out before this data: the next request is answered.
        inbound.answer_sent = false;
        Ok(())
    }

    /// Appends a close_notify alert, so the client can tell a clean close from a cut connection.
    pub(super) fn close_notify(&mut self, wire: &mut Vec<u8>) {
        let _ = self.seal_record(
            ContentType::Alert,
            &[alert::WARNING, alert::CLOSE_NOTIFY],
            wire,
        );
    }

    fn seal_record(
        &mut self,
        typ: ContentType,
        payload: &[u8],
        wire: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        self.seal.seal_into(typ, payload, self.tx_seq, wire)?;
        self.tx_seq += 1;
        Ok(())
    }

    /// Queues a fatal alert (best effort) and returns the error that ends the session.
    fn fail(&mut self, wire: &mut Vec<u8>, description: u8, what: &str) -> TlsError {
        let _ = self.seal_record(ContentType::Alert, &[alert::FATAL, description], wire);
        TlsError::new(format!("TLS: {what}"))
    }
}

/// The alert for a record that did not open, as rustls chooses it, and what to log.
fn why_not_opened(e: &Error) -> (u8, &'static str) {
    match e {
        Error::DecryptError => (alert::BAD_RECORD_MAC, "a record failed to open"),
        Error::PeerSentOversizedRecord => (alert::RECORD_OVERFLOW, "a record holding over 16 KiB"),
        Error::PeerMisbehaved(PeerMisbehaved::IllegalMiddleboxChangeCipherSpec) => {
            (alert::UNEXPECTED_MESSAGE, "an encrypted change_cipher_spec")
        }
        // "If a receiving implementation does not find a non-zero octet in the cleartext, it MUST
        // terminate the connection with an unexpected_message alert" (RFC 8446 section 5.4).
        // rustls ends the session without one.
        Error::PeerMisbehaved(PeerMisbehaved::IllegalTlsInnerPlaintext) => {
            (alert::UNEXPECTED_MESSAGE, "a record of nothing but padding")
        }
        _ => (alert::DECODE_ERROR, "a record that could not be read"),
    }
}

fn doomed_why(alert: u8) -> &'static str {
    if alert == alert::DECODE_ERROR {
        "a malformed key update"
    } else {
        "a handshake message after the handshake"
    }
}

fn u24(b: [u8; 3]) -> usize {
    usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2])
}

fn to_u24(n: usize) -> [u8; 3] {
    let b = (n as u32).to_be_bytes();
    [b[1], b[2], b[3]]
}
