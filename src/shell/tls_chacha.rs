//! The server's TLS 1.3 ChaCha20-Poly1305 record protection, kept small.
//!
//! A chat server holds thousands of sessions that are idle almost all the time, so what a session
//! keeps between records is what it costs. ring's record keys are sized for its largest algorithm
//! (an expanded AES key and its GHASH table): about half a kilobyte a direction, even for a ChaCha20
//! key of 32 bytes. This suite is ring's `TLS13_CHACHA20_POLY1305_SHA256` (same hash, key schedule and
//! wire format) with the record cipher from RustCrypto's `chacha20poly1305`, which keeps just the key:
//! about a kilobyte less per connection. Only record sealing and opening live here; the handshake,
//! key schedule and everything else stay rustls' and ring's.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Tag};
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

fn cipher(key: &AeadKey) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new_from_slice(key.as_ref()).expect("rustls derives 32-byte keys (key_len)")
}

impl Tls13AeadAlgorithm for CompactChaCha {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Sealer {
            cipher: cipher(&key),
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Opener {
            cipher: cipher(&key),
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
    cipher: ChaCha20Poly1305,
    iv: Iv,
}

/// Opens received records under one traffic key.
pub(crate) struct Opener {
    cipher: ChaCha20Poly1305,
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
            cipher: cipher(&key),
            iv,
        })
    }
}

impl Opener {
    pub(crate) fn from_secrets(secrets: ConnectionTrafficSecrets) -> Option<Opener> {
        let (key, iv) = chacha_secrets(secrets)?;
        Some(Opener {
            cipher: cipher(&key),
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
        let nonce = Nonce::new(&self.iv, seq).0;
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce.into(), &make_tls13_aad(total_len), payload.as_mut())
            .map_err(|_| Error::EncryptError)?;
        payload.extend_from_slice(&tag);
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
        let aad = make_tls13_aad(len);
        let nonce = Nonce::new(&self.iv, seq).0;
        let (text, tag) = payload.split_at_mut(len - TAG_LEN);
        let tag = Tag::clone_from_slice(tag);
        self.cipher
            .decrypt_in_place_detached(&nonce.into(), &aad, text, &tag)
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
