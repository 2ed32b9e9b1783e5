//! Which server certificates the client accepts.
//!
//! With `--ca FILE`, the usual way: the chain must lead to a certificate in FILE and name the host the
//! user typed. Otherwise trust on first use, as ssh does: the first time the client meets a server
//! (by `host:port` as typed) it accepts its certificate, tells the user its fingerprint, and remembers
//! it in `known_servers` in the state directory; from then on only that certificate is accepted. A
//! changed certificate is refused with both fingerprints and how to accept the new one deliberately
//! (`--accept-new-cert FINGERPRINT`, which must name the certificate actually presented).
//!
//! Either way, the server must prove it holds the certificate's key (the handshake's signature is
//! checked), so presenting a copy of the remembered certificate is not enough.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::shell::tls::fingerprint;

/// The remembered certificates, `host:port fingerprint` per line.
pub(super) struct KnownServers {
    path: Option<PathBuf>,
    entries: Vec<(String, String)>,
}

impl KnownServers {
    /// Reads `known_servers` from the state directory (none yet, or no directory: nothing known).
    pub(super) fn load(state_dir: Option<&Path>) -> KnownServers {
        let path = state_dir.map(|d| d.join("known_servers"));
        let entries = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| {
                text.lines()
                    .filter_map(|l| {
                        let (k, v) = l.trim().split_once(' ')?;
                        Some((k.to_owned(), v.trim().to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        KnownServers { path, entries }
    }

    pub(super) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Remembers `fingerprint` for `key` (replacing what was there) and writes the file, owner-only.
    pub(super) fn remember(&mut self, key: &str, fingerprint: &str) -> std::io::Result<()> {
        self.entries.retain(|(k, _)| k != key);
        self.entries.push((key.to_owned(), fingerprint.to_owned()));
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            crate::private_fs::create_private_dir(dir)?;
        }
        let text: String = self
            .entries
            .iter()
            .map(|(k, v)| format!("{k} {v}\n"))
            .collect();
        crate::shell::tls::write_private(path, text.as_bytes()).map_err(std::io::Error::other)
    }
}

/// The key a server is remembered under: the host as typed (in lower case) and the port.
pub(super) fn server_key(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{}]:{port}", host.to_ascii_lowercase())
    } else {
        format!("{}:{port}", host.to_ascii_lowercase())
    }
}

/// What the pinning verifier saw, for the client to act on after the handshake.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The presented certificate's fingerprint.
    pub(super) fingerprint: Option<String>,
}

/// Accepts the remembered certificate (or, with none remembered, any), recording what it saw.
#[derive(Debug)]
pub(super) struct PinVerifier {
    /// The fingerprints accepted: the remembered one, or one given with `--accept-new-cert`; empty
    /// means first use (anything).
    accept: Vec<String>,
    seen: Arc<Mutex<Seen>>,
    provider: Arc<CryptoProvider>,
}

impl PinVerifier {
    pub(super) fn new(
        accept: Vec<String>,
        seen: Arc<Mutex<Seen>>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        PinVerifier {
            accept,
            seen,
            provider,
        }
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity);
        let ok = self.accept.is_empty() || self.accept.iter().any(|a| a.eq_ignore_ascii_case(&fp));
        if let Ok(mut seen) = self.seen.lock() {
            seen.fingerprint = Some(fp);
        }
        if ok {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_servers_are_kept_per_host_and_port_for_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut k = KnownServers::load(Some(dir.path()));
        assert_eq!(k.get("chat.example:4000"), None);
        k.remember("chat.example:4000", "SHA256:AA").unwrap();
        k.remember("chat.example:5000", "SHA256:BB").unwrap();
        k.remember("chat.example:4000", "SHA256:CC").unwrap();
        let again = KnownServers::load(Some(dir.path()));
        assert_eq!(again.get("chat.example:4000"), Some("SHA256:CC"));
        assert_eq!(again.get("chat.example:5000"), Some("SHA256:BB"));
        let mode = std::fs::metadata(dir.path().join("known_servers"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
        assert_eq!(server_key("Chat.Example", 4000), "chat.example:4000");
        assert_eq!(server_key("::1", 4000), "[::1]:4000");
    }
}
