//! TLS settings shared by the server and the client: the crypto provider (ring, which builds with just a
//! C compiler), certificate fingerprints as people compare them, and the server's certificate: the one
//! the operator gives (`--tls-cert`, `--tls-key`), or one the server makes for itself on first start and
//! keeps in its data directory.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Why the server's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} is not a PEM private key: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot make a certificate: {0}")]
    Generate(String),
    #[error("the certificate and key do not go together, or are not usable: {0}")]
    Config(String),
}

/// The one crypto provider natter uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's provider: TLS 1.3 with ChaCha20-Poly1305 first, in its compact form
/// ([`super::tls_chacha`]: a kilobyte less per idle connection than ring's record keys), then ring's
/// other suites for clients that lack it.
fn server_provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    let compact = super::tls_chacha::suite();
    provider
        .cipher_suites
        .retain(|s| s.suite() != compact.suite());
    provider.cipher_suites.insert(0, compact);
    Arc::new(provider)
}

/// A certificate's SHA-256 fingerprint as `SHA256:` and colon-separated hex pairs, the form people
/// compare by eye (and `openssl x509 -fingerprint -sha256` prints, without the prefix).
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = Sha256::digest(cert);
    let mut out = String::from("SHA256:");
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// The server's TLS configuration and its certificate's fingerprint.
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    pub fingerprint: String,
    /// Where the certificate came from, for the log.
    pub source: String,
}

/// The file names of the certificate the server makes for itself.
const OWN_CERT: &str = "tls-cert.pem";
const OWN_KEY: &str = "tls-key.pem";

/// A server's certificate and key, as PEM: what a cluster's nodes share so that they present one
/// identity (a client's pin made at one node holds at all).
#[derive(Clone)]
pub struct Identity {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// Where it came from, for the log.
    pub source: String,
    /// Given by the operator (`--tls-cert`, `--tls-key`), not made by the server.
    pub given: bool,
}

/// Never the key: only where the identity came from and its fingerprint.
impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The certificate in `cert` and `key` if given; otherwise the server's own in `data_dir`, made
    /// now (for `localhost`, this host's name and its loopback addresses) if it is not there yet.
    pub fn load_or_create(
        cert: Option<&Path>,
        key: Option<&Path>,
        data_dir: &Path,
    ) -> Result<Identity, TlsSetupError> {
        let (cert_path, key_path, source, given) = match (cert, key) {
            (Some(c), Some(k)) => (c.to_owned(), k.to_owned(), c.display().to_string(), true),
            _ => {
                let c = data_dir.join(OWN_CERT);
                let k = data_dir.join(OWN_KEY);
                if !c.exists() || !k.exists() {
                    // The data directory may not exist yet (a cluster node keeps nothing else there).
                    crate::private_fs::create_private_dir(data_dir).map_err(|source| {
                        TlsSetupError::Write {
                            path: data_dir.to_owned(),
                            source,
                        }
                    })?;
                    make_self_signed(&c, &k)?;
                }
                let source = format!("self-signed, {}", c.display());
                (c, k, source, false)
            }
        };
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsSetupError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let identity = Identity {
            cert_pem: read(&cert_path)?,
            key_pem: read(&key_path)?,
            source,
            given,
        };
        // Checked now, naming the files, rather than later.
        certs_of(&identity.cert_pem, &cert_path)?;
        key_of(&identity.key_pem, &key_path)?;
        Ok(identity)
    }

    /// The certificate's SHA-256 fingerprint (of the chain's first), if it holds one.
    pub fn fingerprint(&self) -> Option<String> {
        CertificateDer::pem_slice_iter(&self.cert_pem)
            .find_map(Result::ok)
            .map(|c| fingerprint(&c))
    }
}

impl ServerTls {
    /// The certificate in `cert` and `key` if given; otherwise the server's own in `data_dir`, made now
    /// (for `localhost`, this host's name and its loopback addresses) if it is not there yet.
    pub fn load_or_create(
        cert: Option<&Path>,
        key: Option<&Path>,
        data_dir: &Path,
    ) -> Result<ServerTls, TlsSetupError> {
        ServerTls::from_identity(&Identity::load_or_create(cert, key, data_dir)?)
    }

    /// The certificate and key [`Self::load_or_create`] would use, as PEM.
    pub fn identity(
        cert: Option<&Path>,
        key: Option<&Path>,
        data_dir: &Path,
    ) -> Result<Identity, TlsSetupError> {
        Identity::load_or_create(cert, key, data_dir)
    }

    /// The TLS settings that present `identity`.
    pub fn from_identity(identity: &Identity) -> Result<ServerTls, TlsSetupError> {
        let shown = PathBuf::from(&identity.source);
        let certs = certs_of(&identity.cert_pem, &shown)?;
        let key = key_of(&identity.key_pem, &shown)?;
        let fingerprint = fingerprint(&certs[0]);
        Ok(ServerTls {
            config: server_config(certs, key)?,
            fingerprint,
            source: identity.source.clone(),
        })
    }
}

/// The server's TLS settings for a certificate chain and its key.
pub(crate) fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let mut config = ServerConfig::builder_with_provider(server_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    // Clients rarely reconnect, and a restart forgets sessions anyway: no resumption tickets.
    config.send_tls13_tickets = 0;
    // The server's order of cipher suites, not the client's (see `server_provider`).
    config.ignore_client_order = true;
    // rustls hands an established session's secrets to the server's compact record layer
    // (`server::tls_compact`); nothing else ever asks for them.
    config.enable_secret_extraction = true;
    Ok(Arc::new(config))
}

fn certs_of(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn key_of(pem: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsSetupError::BadKey {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Makes a self-signed certificate and its key, both readable by their owner only.
fn make_self_signed(cert_path: &Path, key_path: &Path) -> Result<(), TlsSetupError> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Some(host) = hostname() {
        names.push(host);
    }
    let generate = |e: rcgen::Error| TlsSetupError::Generate(e.to_string());
    let mut params = rcgen::CertificateParams::new(names).map_err(generate)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "natter server (self-signed)");
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    write_private(key_path, key.serialize_pem().as_bytes())?;
    write_private(cert_path, cert.pem().as_bytes())?;
    Ok(())
}

/// This host's name, from the kernel.
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// Writes a file only its owner may read (created so from the start, never briefly open to others).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsSetupError> {
    crate::private_fs::write_private(path, bytes).map_err(|source| TlsSetupError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_data_directory_is_made_owner_only_for_the_certificate() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node-a").join("data");
        ServerTls::load_or_create(None, None, &data).unwrap();
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(data.join(OWN_KEY).exists());
    }

    #[test]
    fn the_server_makes_its_certificate_once_and_keeps_it_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = ServerTls::load_or_create(None, None, dir.path()).unwrap();
        assert!(
            first.fingerprint.starts_with("SHA256:"),
            "{}",
            first.fingerprint
        );
        assert_eq!(first.fingerprint.len(), 7 + 32 * 3 - 1);
        for f in [OWN_CERT, OWN_KEY] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{f} is its owner's only");
        }
        let again = ServerTls::load_or_create(None, None, dir.path()).unwrap();
        assert_eq!(first.fingerprint, again.fingerprint, "reused, not remade");
    }

    #[test]
    fn a_given_certificate_is_used_and_bad_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        make_self_signed(&c, &k).unwrap();
        let tls = ServerTls::load_or_create(Some(&c), Some(&k), dir.path()).unwrap();
        assert!(tls.source.contains("c.pem"));
        assert!(!dir.path().join(OWN_CERT).exists(), "nothing made");
        std::fs::write(&k, "not a key").unwrap();
        let e = ServerTls::load_or_create(Some(&c), Some(&k), dir.path())
            .err()
            .unwrap();
        assert!(e.to_string().contains("k.pem"), "{e}");
        let missing = dir.path().join("nope.pem");
        let e = ServerTls::load_or_create(Some(&missing), Some(&k), dir.path())
            .err()
            .unwrap();
        assert!(e.to_string().contains("nope.pem"), "{e}");
    }
}
