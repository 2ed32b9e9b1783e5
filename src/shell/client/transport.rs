//! The connection to the server: TCP, then TLS verified as [`trust`](super::trust) says, unless plain
//! text was asked for. Every way this can go wrong ends in a [`StartError`] that says what happened and
//! what to do, never a hang: a TLS client meeting a plain-text server, a plain-text client meeting a TLS
//! server, a changed certificate, a certificate the CA does not vouch for.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_net::TcpStream;
use futures_lite::FutureExt;
use futures_lite::io::{AsyncRead, AsyncWrite};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use super::net::connect;
use super::trust::{KnownServers, PinVerifier, Seen, server_key};
use super::{CONNECT_TIMEOUT, StartError};
use crate::shell::tls::provider;

/// How long a plain-text client waits for the server's first line before concluding it may speak TLS.
pub const FIRST_LINE_WAIT: Duration = Duration::from_secs(5);

/// How the client talks to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain text (`--plaintext`).
    Plain,
    /// TLS, checked against the CA certificates in `ca`, or else trusted on first use; `accept_new`
    /// is a fingerprint the user accepts in place of a remembered one.
    Tls {
        ca: Option<PathBuf>,
        accept_new: Option<String>,
    },
}

pub(super) type Reader = Box<dyn AsyncRead + Unpin + Send>;
pub(super) type Writer = Box<dyn AsyncWrite + Unpin + Send>;

/// An open connection to the server.
pub(super) struct Connected {
    pub(super) reader: Reader,
    pub(super) writer: Writer,
    pub(super) peer: Option<SocketAddr>,
    /// What to tell the user first (a certificate seen for the first time).
    pub(super) notices: Vec<String>,
    /// The server proved it is the one trusted: its certificate is the one pinned (or the one the
    /// user accepted), or the CA vouches for it. Never true in plain text or at a first meeting.
    pub(super) verified: bool,
}

/// Connects to `host`:`port` as `security` says. `cluster`: every server the user named (the nodes
/// of one cluster, which present one certificate): a certificate pinned for any of them is one the
/// user trusts here too.
pub(super) async fn open(
    host: &str,
    port: u16,
    security: &Security,
    state_dir: Option<&Path>,
    cluster: &[super::ServerAddr],
) -> Result<Connected, StartError> {
    let tcp = connect(host, port).await?;
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().ok();
    let shown = server_key(host, port);
    match security {
        Security::Plain => {
            wait_for_first_byte(&tcp, &shown).await?;
            Ok(Connected {
                reader: Box::new(AckAtOnce(tcp.clone())),
                writer: Box::new(tcp),
                peer,
                notices: Vec::new(),
                verified: false,
            })
        }
        Security::Tls { ca, accept_new } => {
            let (reader, writer, notices, verified) = tls(
                tcp,
                host,
                port,
                ca.as_deref(),
                accept_new.as_deref(),
                state_dir,
                cluster,
            )
            .await?;
            Ok(Connected {
                reader,
                writer,
                peer,
                notices,
                verified,
            })
        }
    }
}

/// A natter server speaks first (its username prompt); a TLS server waits for the client's hello,
/// and would wait for ever. So the client says one space first: a plain-text server takes it as the
/// start of the first line the user types, a username, which it trims; a natter TLS server takes it
/// for what it is, plain text at its port, and answers at once, in plain text, `BYE tls-required`,
/// which the client then shows. (The other way, a TLS server speaking first with a hint, would break
/// every real TLS client, which must read a TLS record first; and `nc` users at a TLS port get the
/// same answer to their first line.) Only a server that says nothing at all is left to the wait. A
/// server that speaks first to refuse (out of descriptors) is one that cannot be used, as over TLS:
/// with several servers, the next is tried.
async fn wait_for_first_byte(tcp: &TcpStream, shown: &str) -> Result<(), StartError> {
    use futures_lite::AsyncWriteExt;
    let _ = tcp.clone().write_all(b" ").await;
    let mut first = [0u8; FULL.len()];
    let peeked = async { Some(tcp.peek(&mut first).await) }
        .or(async {
            smol::Timer::after(FIRST_LINE_WAIT).await;
            None
        })
        .await;
    match peeked {
        Some(Ok(n)) if first[..n] == *FULL => Err(StartError::ServerFull {
            addr: shown.to_owned(),
        }),
        Some(_) => Ok(()),
        None => Err(StartError::NoPrompt {
            addr: shown.to_owned(),
        }),
    }
}

async fn tls(
    tcp: TcpStream,
    host: &str,
    port: u16,
    ca: Option<&Path>,
    accept_new: Option<&str>,
    state_dir: Option<&Path>,
    cluster: &[super::ServerAddr],
) -> Result<(Reader, Writer, Vec<String>, bool), StartError> {
    let shown = server_key(host, port);
    let provider = provider();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut known = KnownServers::load(state_dir);
    let remembered = known.get(&shown).map(str::to_owned);
    // The certificates pinned for the other servers of the cluster, and for which of them.
    let siblings: Vec<(String, String)> = cluster
        .iter()
        .map(|s| server_key(&s.host, s.port))
        .filter(|k| *k != shown)
        .filter_map(|k| known.get(&k).map(|fp| (k, fp.to_owned())))
        .collect();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls {
            addr: shown.clone(),
            reason: e.to_string(),
        })?;
    let config = match ca {
        Some(path) => {
            let roots = load_roots(path)?;
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| StartError::BadCa {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            builder.with_webpki_verifier(verifier).with_no_client_auth()
        }
        None => {
            // Pinned here: that one, or the cluster's; met for the first time: any (trust on first
            // use), the cluster's counting as verified below.
            let accept: Vec<String> = match &remembered {
                Some(pin) => std::iter::once(pin.clone())
                    .chain(siblings.iter().map(|(_, fp)| fp.clone()))
                    .chain(accept_new.map(str::to_owned))
                    .collect(),
                None => accept_new.map(str::to_owned).into_iter().collect(),
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinVerifier::new(
                    accept,
                    seen.clone(),
                    provider.clone(),
                )))
                .with_no_client_auth()
        }
    };
    let name = ServerName::try_from(host.to_owned()).map_err(|_| StartError::Tls {
        addr: shown.clone(),
        reason: format!("'{host}' is not a host name or address"),
    })?;
    let first = Arc::new(Mutex::new(Vec::new()));
    let raw = tcp.clone();
    let stream = Recording {
        inner: AckAtOnce(tcp),
        first: first.clone(),
    };
    let connector = futures_rustls::TlsConnector::from(Arc::new(config));
    let handshake = async { Some(connector.connect(name, stream).await) }
        .or(async {
            smol::Timer::after(CONNECT_TIMEOUT).await;
            None
        })
        .await;
    let presented = seen.lock().ok().and_then(|s| s.fingerprint.clone());
    let stream = match handshake {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            let first = first.lock().map(|f| f.clone()).unwrap_or_default();
            if let Some(bye) = goodbye_before_tls(&raw, first.clone()).await {
                // The server turned the connection away before any TLS (see `goodbye_before_tls`):
                // the client shows why as it shows any goodbye. Nothing is sent to such a server.
                let reader: Reader = Box::new(futures_lite::io::Cursor::new(bye));
                let writer: Writer = Box::new(futures_lite::io::sink());
                return Ok((reader, writer, Vec::new(), false));
            }
            return Err(explain_failure(
                &shown,
                &e,
                &first,
                ca,
                remembered,
                presented,
                known.path(),
            ));
        }
        None => return Err(StartError::ConnectTimeout { addr: shown }),
    };
    // Pinned (here, or at another node of the cluster), or accepted by the user, or vouched for by
    // the CA: not a first meeting.
    let sibling = presented.as_deref().and_then(|fp| {
        siblings
            .iter()
            .find(|(_, pin)| pin.eq_ignore_ascii_case(fp))
            .map(|(k, _)| k.clone())
    });
    let verified = ca.is_some()
        || sibling.is_some()
        || presented.as_deref().is_some_and(|fp| {
            remembered
                .iter()
                .chain(accept_new.map(str::to_owned).iter())
                .any(|known| known.eq_ignore_ascii_case(fp))
        });
    let mut notices = Vec::new();
    if ca.is_none()
        && let Some(fp) = presented
        && remembered.as_deref() != Some(fp.as_str())
    {
        let file = known
            .path()
            .map_or("(nowhere: no state directory)".to_owned(), |p| {
                p.display().to_string()
            });
        if let Err(e) = known.remember(&shown, &fp) {
            notices.push(format!(
                "Could not remember the certificate in {file}: {e}."
            ));
        }
        notices.push(match (remembered, sibling) {
            (_, Some(other)) => format!(
                "{shown} presents the certificate you trust for {other} ({fp}): the same cluster. It is now remembered for {shown} too (in {file})."
            ),
            (None, None) => format!(
                "First connection to {shown}: its certificate's fingerprint is {fp}. It is now remembered (in {file}), and you will be warned if it ever changes. To be sure this is the right server, compare the fingerprint with the one its operator gives."
            ),
            (Some(old), None) => format!(
                "{shown} now presents the certificate {fp} (it was {old}); remembered in {file}, as you asked."
            ),
        });
    }
    let (reader, writer) = futures_lite::io::split(stream);
    Ok((Box::new(reader), Box::new(writer), notices, verified))
}

/// The line a server out of descriptors sends instead of serving (in plain text, even when it speaks
/// TLS).
const FULL: &[u8] = b"BYE full";

/// The longest goodbye line a server sends before TLS.
const MAX_GOODBYE: usize = 512;

/// A natter TLS server turns some connections away before their handshake, and so in plain text
/// (too many new connections from one address, a cluster node that cannot serve, a server going
/// down): if the server's first bytes were such a `BYE` line (`first`, read so far), the whole line.
/// `BYE full` and `BYE plaintext-only` (a plain-text server's answer to a TLS hello) are left to
/// [`explain_failure`], which makes each an error of its own.
async fn goodbye_before_tls(raw: &TcpStream, mut first: Vec<u8>) -> Option<Vec<u8>> {
    use futures_lite::AsyncReadExt;
    if !first.starts_with(b"BYE ") {
        return None;
    }
    let rest = async {
        let mut raw = raw.clone();
        let mut byte = [0u8; 1];
        while !first.contains(&b'\n') && first.len() < MAX_GOODBYE {
            match raw.read(&mut byte).await {
                Ok(1) => first.push(byte[0]),
                _ => break,
            }
        }
        Some(first)
    };
    let line = rest
        .or(async {
            smol::Timer::after(Duration::from_secs(1)).await;
            None
        })
        .await?;
    let end = line.iter().position(|&b| b == b'\n')?;
    let text = std::str::from_utf8(&line[..end]).ok()?;
    use natter_core::protocol::{ByeReason, ServerMsg};
    match natter_core::protocol::decode_line(text) {
        Ok(ServerMsg::Bye(ByeReason::Full | ByeReason::PlainTextOnly)) | Err(_) => None,
        Ok(ServerMsg::Bye(_)) => Some(line[..=end].to_vec()),
        Ok(_) => None,
    }
}

/// Why a TLS handshake failed, in words the user can act on.
fn explain_failure(
    shown: &str,
    e: &io::Error,
    first: &[u8],
    ca: Option<&Path>,
    remembered: Option<String>,
    presented: Option<String>,
    file: Option<&Path>,
) -> StartError {
    // A TLS server out of descriptors refuses a connection before any TLS (it cannot afford a
    // handshake for it): its one line is plain text, and it means "full", not "plain-text server".
    if first.starts_with(FULL) {
        return StartError::ServerFull {
            addr: shown.to_owned(),
        };
    }
    // A TLS server's first byte is a record type (handshake 0x16, alert 0x15); natter's plain-text
    // server starts with its prompt.
    if first.first().is_some_and(|b| *b != 0x16 && *b != 0x15) {
        return StartError::ServerIsPlaintext {
            addr: shown.to_owned(),
        };
    }
    if let (None, Some(remembered), Some(presented)) = (ca, remembered, presented.clone())
        && !remembered.eq_ignore_ascii_case(&presented)
    {
        return StartError::CertificateChanged {
            addr: shown.to_owned(),
            remembered,
            presented,
            file: file.map(|p| p.display().to_string()).unwrap_or_default(),
        };
    }
    if let Some(path) = ca {
        return StartError::Untrusted {
            addr: shown.to_owned(),
            ca: path.to_owned(),
            reason: e.to_string(),
        };
    }
    StartError::Tls {
        addr: shown.to_owned(),
        reason: e.to_string(),
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore, StartError> {
    let bad = |reason: String| StartError::BadCa {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(roots)
}

/// The TCP stream, keeping the first bytes the server sends (to tell a plain-text server, or a goodbye
/// before TLS, apart when the handshake fails).
struct Recording {
    inner: AckAtOnce,
    first: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Recording {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled
            && let Ok(mut first) = self.first.lock()
            && first.len() < MAX_GOODBYE
        {
            let take = (MAX_GOODBYE - first.len()).min(*n);
            first.extend_from_slice(&buf[..take]);
        }
        polled
    }
}

/// (Writes go to the TCP stream itself: only reading has something to acknowledge.)
impl AsyncWrite for Recording {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner.0).poll_close(cx)
    }
}

/// The TCP stream, acknowledging at once what it reads (`TCP_QUICKACK`, where the system has it).
///
/// Why: a server may leave Nagle's algorithm on (the IRC servers do, and natter with `nagle`), and
/// then a line made for this client while its TCP acknowledgement of the last one is still out
/// waits for that acknowledgement. A client that only reads would send it after its delayed-ACK
/// timer (40 ms on Linux, up to 200 ms elsewhere and on slow networks); the natter client's own
/// `ack` line comes up to 50 ms after what it shows. So after every read that brought bytes, the
/// kernel is told to acknowledge now, and a line held for this client waits a round trip at most.
/// (One system call a read, on a client that reads a few lines a second; the setting does not
/// stay on by itself, hence every time.)
struct AckAtOnce(TcpStream);

impl AsyncRead for AckAtOnce {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.0).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled
            && *n > 0
        {
            ack_now(&self.0);
        }
        polled
    }
}

/// Sends the acknowledgement of what `tcp` has received now, not at the delayed-ACK timer.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
fn ack_now(tcp: &TcpStream) {
    let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
}

/// (No such setting here: the acknowledgement leaves at the system's own time.)
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
fn ack_now(_: &TcpStream) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    /// Whether the kernel would acknowledge `tcp`'s next data at once (not in delayed-ACK mode).
    fn acks_at_once(tcp: &TcpStream) -> bool {
        socket2::SockRef::from(tcp)
            .tcp_quickack()
            .expect("TCP_QUICKACK can be read")
    }

    /// A connected pair on loopback whose client side the kernel has put in delayed-ACK mode (as
    /// it does by itself in a sustained flow), and one line from the server on its way.
    async fn delayed_pair() -> (TcpStream, TcpStream) {
        let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        socket2::SockRef::from(&client)
            .set_tcp_quickack(false)
            .unwrap();
        assert!(
            !acks_at_once(&client),
            "the kernel reports delayed-ACK mode once asked for it"
        );
        server.write_all(b"MSG 1 0 alice hi\n").await.unwrap();
        (client, server)
    }

    /// The reason `AckAtOnce` exists: after a read that brought bytes, the kernel acknowledges at
    /// once, so a line the server holds under Nagle's algorithm waits a round trip at most.
    #[test]
    fn a_read_that_brings_bytes_leaves_the_socket_acknowledging_at_once() {
        smol::block_on(async {
            let (client, _server) = delayed_pair().await;
            let mut reader = AckAtOnce(client.clone());
            let mut buf = [0u8; 64];
            let n = reader.read(&mut buf).await.unwrap();
            assert!(n > 0);
            // Nothing was sent by the client in between, which is what would put it back in
            // delayed-ACK mode: the state read is the one the wrapper left.
            assert!(acks_at_once(&client), "TCP_QUICKACK is set after the read");
        });
    }

    /// The check above means something: a plain read leaves delayed-ACK mode as it was (until the
    /// kernel's own timer ends it, 40 ms or more later, hence a few tries on a busy machine).
    #[test]
    fn a_plain_read_keeps_delayed_acknowledgements() {
        smol::block_on(async {
            let mut kept = false;
            for _ in 0..5 {
                let (mut client, _server) = delayed_pair().await;
                let mut buf = [0u8; 64];
                assert!(client.read(&mut buf).await.unwrap() > 0);
                if !acks_at_once(&client) {
                    kept = true;
                    break;
                }
            }
            assert!(kept, "a read alone never left delayed-ACK mode in place");
        });
    }
}
