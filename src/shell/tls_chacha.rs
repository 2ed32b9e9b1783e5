//! The server's TLS 1.3 ChaCha20-Poly1305 record protection, kept small.
//!
//! A chat server holds thousands of sessions that are idle almost all the time, so what a session
//! keeps between records is what it costs. ring's record keys are sized for its largest algorithm
//! (an expanded AES key and its GHASH table): about half a kilobyte a direction, even for a ChaCha20
//! key of 32 bytes. This suite is ring's `TLS13_CHACHA20_POLY1305_SHA256` (same hash, key schedule and
//! wire format) whose record keys keep just the 32 bytes of the key and the IV: about a kilobyte less
//! per connection. Each record is sealed or opened by ring's ChaCha20-Poly1305 with a key made from
//! those bytes for that record, on the stack (for ChaCha20, making one copies the 32 bytes). ring's
//! assembly opens a chat line's record in a third of the instructions RustCrypto's
//! `chacha20poly1305` took, which this suite used before (docs/PERFORMANCE.md, "A full run against
//! the peers"), and a server seals and opens a record for every line. Only record sealing and opening
//! live here; the handshake, key schedule and everything else stay rustls' and ring's.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce as RingNonce, UnboundKey};
use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter, MessageEncrypter,
    Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload, Tls13AeadAlgorithm,
    UnsupportedOperationError, make_tls13_aad,
};
use rustls::{
    CipherSuiteCommon, ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion,
    SupportedCipherSuite, Tls13CipherSuite,
};

const TAG_LEN: usize = 16;
/// A record's header: type, version, length.
const RECORD_HEADER: usize = 5;

/// `TLS13_CHACHA20_POLY1305_SHA256` with compact record keys.
pub fn suite() -> SupportedCipherSuite {
    let ring = match rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256 {
        SupportedCipherSuite::Tls13(s) => s,
        SupportedCipherSuite::Tls12(_) => unreachable!("a TLS 1.3 suite"),
    };
    // A suite is referenced for the process's lifetime (rustls wants `&'static`); this is built once
    // per server configuration, so one small leak per start.
    let ours: &'static Tls13CipherSuite = Box::leak(Box::new(Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: ring.common.suite,
            hash_provider: ring.common.hash_provider,
            confidentiality_limit: ring.common.confidentiality_limit,
        },
        hkdf_provider: ring.hkdf_provider,
        aead_alg: &CompactChaCha,
        quic: ring.quic,
    }));
    SupportedCipherSuite::Tls13(ours)
}

struct CompactChaCha;

/// A traffic key as kept between records: its 32 bytes, nothing expanded.
type KeyBytes = [u8; 32];

fn key_bytes(key: &AeadKey) -> KeyBytes {
    KeyBytes::try_from(key.as_ref()).expect("rustls derives 32-byte keys (key_len)")
}

/// ring's ChaCha20-Poly1305 key for one record (made on the stack, dropped after it).
fn record_key(key: &KeyBytes) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte ChaCha20-Poly1305 key"),
    )
}

impl Tls13AeadAlgorithm for CompactChaCha {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Sealer {
            key: key_bytes(&key),
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Opener {
            key: key_bytes(&key),
            iv,
        })
    }

    fn key_len(&self) -> usize {
        32
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Ok(ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv })
    }
}

/// Seals records to send under one traffic key.
pub(crate) struct Sealer {
    key: KeyBytes,
    iv: Iv,
}

/// Opens received records under one traffic key.
pub(crate) struct Opener {
    key: KeyBytes,
    iv: Iv,
}

/// Whether a session on `suite` can carry on with [`Sealer`] and [`Opener`] once rustls hands its
/// traffic secrets over.
pub(crate) fn is_compact(suite: SupportedCipherSuite) -> bool {
    suite.suite() == rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
}

/// The key and IV of ChaCha20-Poly1305 traffic secrets (none for another algorithm).
fn chacha_secrets(secrets: ConnectionTrafficSecrets) -> Option<(AeadKey, Iv)> {
    match secrets {
        ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => Some((key, iv)),
        _ => None,
    }
}

impl Sealer {
    pub(crate) fn from_secrets(secrets: ConnectionTrafficSecrets) -> Option<Sealer> {
        let (key, iv) = chacha_secrets(secrets)?;
        Some(Sealer {
            key: key_bytes(&key),
            iv,
        })
    }
}

impl Sealer {
    /// Seals `payload` as one TLS 1.3 record of inner type `typ`, appended to `wire`: the header,
    /// the payload and its type byte are written where they go, encrypted there, and the tag added.
    /// The same bytes as [`MessageEncrypter::encrypt`], without the record it allocates and the copy
    /// from it (per record: a server seals one for every reader of every line).
    pub(crate) fn seal_into(
        &mut self,
        typ: ContentType,
        payload: &[u8],
        seq: u64,
        wire: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let total_len = self.encrypted_payload_len(payload.len());
        let length = u16::try_from(total_len).map_err(|_| Error::EncryptError)?;
        let start = wire.len();
        wire.reserve(RECORD_HEADER + total_len);
        // Every TLS 1.3 record says application data and TLS 1.2 on the outside (RFC 8446,
        // section 5.1); the real content type is the last byte sealed.
        wire.extend_from_slice(&ContentType::ApplicationData.to_array());
        wire.extend_from_slice(&ProtocolVersion::TLSv1_2.to_array());
        wire.extend_from_slice(&length.to_be_bytes());
        wire.extend_from_slice(payload);
        wire.extend_from_slice(&typ.to_array());
        let nonce = RingNonce::assume_unique_for_key(Nonce::new(&self.iv, seq).0);
        let sealed = record_key(&self.key).seal_in_place_separate_tag(
            nonce,
            Aad::from(make_tls13_aad(total_len)),
            &mut wire[start + RECORD_HEADER..],
        );
        match sealed {
            Ok(tag) => {
                wire.extend_from_slice(tag.as_ref());
                Ok(())
            }
            Err(_) => {
                wire.truncate(start);
                Err(Error::EncryptError)
            }
        }
    }
}

impl Opener {
    pub(crate) fn from_secrets(secrets: ConnectionTrafficSecrets) -> Option<Opener> {
        let (key, iv) = chacha_secrets(secrets)?;
        Some(Opener {
            key: key_bytes(&key),
            iv,
        })
    }
}

impl MessageEncrypter for Sealer {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        // TLS 1.3 hides the real content type inside the encrypted part.
        payload.extend_from_slice(&msg.typ.to_array());
        let nonce = RingNonce::assume_unique_for_key(Nonce::new(&self.iv, seq).0);
        let tag = record_key(&self.key)
            .seal_in_place_separate_tag(
                nonce,
                Aad::from(make_tls13_aad(total_len)),
                payload.as_mut(),
            )
            .map_err(|_| Error::EncryptError)?;
        payload.extend_from_slice(tag.as_ref());
        // Every TLS 1.3 record says TLS 1.2 on the outside (RFC 8446, section 5.1).
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

impl MessageDecrypter for Opener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        let len = payload.len();
        if len < TAG_LEN {
            return Err(Error::DecryptError);
        }
        let aad = Aad::from(make_tls13_aad(len));
        let nonce = RingNonce::assume_unique_for_key(Nonce::new(&self.iv, seq).0);
        record_key(&self.key)
            .open_in_place(nonce, aad, payload)
            .map_err(|_| Error::DecryptError)?;
        payload.truncate(len - TAG_LEN);
        msg.into_tls13_unpadded_message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::cipher::OutboundChunks;

    fn ring_alg() -> &'static dyn Tls13AeadAlgorithm {
        match rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256 {
            SupportedCipherSuite::Tls13(s) => s.aead_alg,
            SupportedCipherSuite::Tls12(_) => unreachable!(),
        }
    }

    fn key() -> AeadKey {
        AeadKey::from([7u8; 32])
    }

    fn iv() -> Iv {
        Iv::new([9u8; 12])
    }

    fn seal(enc: &mut dyn MessageEncrypter, text: &[u8], seq: u64) -> Vec<u8> {
        let chunks = [text];
        let msg = OutboundPlainMessage {
            typ: ContentType::ApplicationData,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::new(&chunks),
        };
        enc.encrypt(msg, seq).expect("sealed").encode()
    }

    fn open(dec: &mut dyn MessageDecrypter, record: &mut [u8], seq: u64) -> Result<Vec<u8>, Error> {
        let (header, body) = record.split_at_mut(5);
        let msg =
            InboundOpaqueMessage::new(ContentType::ApplicationData, ProtocolVersion::TLSv1_2, body);
        let _ = header;
        dec.decrypt(msg, seq).map(|m| m.payload.to_vec())
    }

    #[test]
    fn records_match_rings_byte_for_byte_both_ways() {
        for (seq, text) in [(0u64, &b"hello"[..]), (1, b""), (41, &[0xAB; 3000][..])] {
            let ours = seal(&mut *CompactChaCha.encrypter(key(), iv()), text, seq);
            let theirs = seal(&mut *ring_alg().encrypter(key(), iv()), text, seq);
            assert_eq!(ours, theirs, "the same record for seq {seq}");
            let mut a = ours.clone();
            assert_eq!(
                open(&mut *ring_alg().decrypter(key(), iv()), &mut a, seq).unwrap(),
                text
            );
            let mut b = theirs;
            assert_eq!(
                open(&mut *CompactChaCha.decrypter(key(), iv()), &mut b, seq).unwrap(),
                text
            );
        }
    }

    #[test]
    fn sealing_in_place_makes_the_same_records() {
        let mut wire = b"before".to_vec();
        let mut sealer = Sealer {
            key: key_bytes(&key()),
            iv: iv(),
        };
        let mut expected = b"before".to_vec();
        for (seq, typ, text) in [
            (0u64, ContentType::ApplicationData, &b"hello"[..]),
            (1, ContentType::ApplicationData, b""),
            (2, ContentType::Alert, &[1, 0][..]),
            (41, ContentType::ApplicationData, &[0xAB; 3000][..]),
        ] {
            sealer.seal_into(typ, text, seq, &mut wire).unwrap();
            let chunks = [text];
            let msg = OutboundPlainMessage {
                typ,
                version: ProtocolVersion::TLSv1_2,
                payload: OutboundChunks::new(&chunks),
            };
            let theirs = ring_alg().encrypter(key(), iv()).encrypt(msg, seq).unwrap();
            expected.extend_from_slice(&theirs.encode());
        }
        assert_eq!(wire, expected);
    }

    #[test]
    fn tampered_short_or_replayed_records_are_refused() {
        let record = seal(&mut *CompactChaCha.encrypter(key(), iv()), b"secret", 5);
        let mut flipped = record.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let mut dec = CompactChaCha.decrypter(key(), iv());
        assert!(matches!(
            open(&mut *dec, &mut flipped, 5),
            Err(Error::DecryptError)
        ));
        let mut wrong_seq = record.clone();
        assert!(matches!(
            open(&mut *dec, &mut wrong_seq, 6),
            Err(Error::DecryptError)
        ));
        let mut short = record[..5 + 10].to_vec();
        assert!(matches!(
            open(&mut *dec, &mut short, 5),
            Err(Error::DecryptError)
        ));
    }

    #[test]
    fn record_keys_are_small() {
        assert!(std::mem::size_of::<Sealer>() <= 64);
        assert!(std::mem::size_of::<Opener>() <= 64);
    }
}
