//! One connection to Redis, driven by the task that owns it, on the thread that runs that task.
//!
//! The redis crate's own connections run their I/O on a thread of the runtime's (smol's global
//! executor), so each request and each reply crossed between that thread and the node's: measured,
//! 310,104 cross-thread wake-ups for 500,000 deliveries. Here the socket is an `async-net` one, read and
//! written by the node's own tasks on the node's own thread; the redis crate still packs every command
//! ([`Cmd::get_packed_command`], [`Pipeline::get_packed_pipeline`]) and parses every reply (its
//! [`Parser`]), so no part of the protocol is natter's own. Requests may be pipelined: the writing half
//! ([`Requests`]) sends while the reading half ([`Replies`]) waits for earlier answers, which Redis gives
//! in the order of the requests.
//!
//! An [`Endpoint`] is where Redis is and how to get in: `redis://[USER:PASSWORD@]HOST:PORT[/DB]`
//! (Redis's ACL user and password, or the password alone), `rediss://` for TLS (rustls, checking
//! Redis's certificate against `--cluster-ca` or the system's roots, and its name against HOST), or
//! `redis+unix:///PATH`. The password never appears in a log line or an error: they show the URL
//! without it.

use std::fmt;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt};
use redis::{
    Cmd, ConnectionAddr, FromRedisValue, IntoConnectionInfo, Parser, Pipeline, RedisError,
    RedisResult, Value,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::error::LogError;

/// How long connecting (TCP, TLS, AUTH) may take before Redis counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a Redis is and how to get in.
#[derive(Clone)]
pub struct Endpoint {
    addr: Addr,
    /// `rediss://`: TLS, with these settings (the roots that vouch for Redis's certificate).
    tls: Option<Arc<rustls::ClientConfig>>,
    username: Option<String>,
    password: Option<String>,
    db: i64,
    /// The URL without its password, for messages.
    shown: String,
}

#[derive(Clone, Debug)]
enum Addr {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// The URL forms natter takes, for errors.
const URL_FORMS: &str = "redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss://... (TLS) or \
                         redis+unix:///PATH";

impl Endpoint {
    /// Reads `url` (the forms in the module's documentation). `ca`: a PEM file of the certificates
    /// that may vouch for Redis's over `rediss://` (default: the system's roots).
    pub fn parse(url: &str, ca: Option<&Path>) -> Result<Endpoint, LogError> {
        let bad = |shown: &str, reason: String| LogError::BadUrl {
            url: shown.to_owned(),
            reason,
        };
        let Some(mut parsed) = redis::parse_redis_url(url) else {
            // Not even a URL: say so without echoing it, as it may hold a password.
            return Err(bad(
                "(the URL given)",
                format!("it is not a Redis URL; give {URL_FORMS}"),
            ));
        };
        let mut without_password = parsed.clone();
        if without_password.password().is_some() {
            let _ = without_password.set_password(Some("***"));
        }
        let shown = without_password.to_string();
        let tls = matches!(parsed.scheme(), "rediss" | "valkeys");
        if parsed.fragment().is_some() {
            return Err(bad(
                &shown,
                "a '#...' part (such as #insecure) is not taken: natter always checks Redis's \
                 certificate; give the CA that signed it with --cluster-ca"
                    .into(),
            ));
        }
        if tls {
            // The redis crate parses the rest; TLS is natter's own (rustls, below).
            let _ = parsed.set_scheme("redis");
        }
        let info = parsed
            .into_connection_info()
            .map_err(|e| bad(&shown, format!("{e}; give {URL_FORMS}")))?;
        let addr = match info.addr() {
            ConnectionAddr::Tcp(host, port) => Addr::Tcp {
                host: host.clone(),
                port: *port,
            },
            ConnectionAddr::Unix(path) if !tls => Addr::Unix(path.clone()),
            other => return Err(bad(&shown, format!("cannot connect to {other}"))),
        };
        let settings = info.redis_settings();
        let tls = if tls {
            Some(client_config(ca).map_err(|reason| LogError::Tls {
                url: shown.clone(),
                reason,
            })?)
        } else {
            if let Some(ca) = ca {
                return Err(bad(
                    &shown,
                    format!(
                        "--cluster-ca {} is for TLS, which a redis:// URL does not speak: use \
                         rediss://",
                        ca.display()
                    ),
                ));
            }
            None
        };
        Ok(Endpoint {
            addr,
            tls,
            username: settings.username().map(str::to_owned),
            password: settings.password().map(str::to_owned),
            db: settings.db(),
            shown,
        })
    }

    /// Whether a password is given (`redis://:PASSWORD@...` or with a user).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// Whether Redis is on this host (a loopback address or a Unix socket), as far as the URL says.
    pub fn is_local(&self) -> bool {
        match &self.addr {
            Addr::Unix(_) => true,
            Addr::Tcp { host, .. } => {
                host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        }
    }

    /// A new connection, logged in and on the URL's database, within [`CONNECT_TIMEOUT`].
    pub async fn connect(&self) -> Result<Conn, LogError> {
        let timed_out = || LogError::Connect {
            url: self.shown.clone(),
            source: io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {} ms", CONNECT_TIMEOUT.as_millis()),
            )
            .into(),
        };
        let connecting = async { Some(self.open().await) };
        let timer = async {
            smol::Timer::after(CONNECT_TIMEOUT).await;
            None
        };
        let mut con = connecting.or(timer).await.ok_or_else(timed_out)??;
        self.log_in(&mut con).await?;
        Ok(con)
    }

    /// The socket (and TLS), not yet logged in.
    async fn open(&self) -> Result<Conn, LogError> {
        let failed = |source: io::Error| LogError::Connect {
            url: self.shown.clone(),
            source: source.into(),
        };
        match &self.addr {
            Addr::Unix(path) => {
                let s = async_net::unix::UnixStream::connect(path)
                    .await
                    .map_err(failed)?;
                Ok(Conn::new(Box::new(s.clone()), Box::new(s)))
            }
            Addr::Tcp { host, port } => {
                let tcp = async_net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(failed)?;
                // Requests are small and pipelined: none should wait for a full segment.
                let _ = tcp.set_nodelay(true);
                let Some(config) = &self.tls else {
                    return Ok(Conn::new(Box::new(tcp.clone()), Box::new(tcp)));
                };
                let name = ServerName::try_from(host.clone()).map_err(|_| LogError::Tls {
                    url: self.shown.clone(),
                    reason: format!("'{host}' is not a host name or address"),
                })?;
                let stream = futures_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| LogError::Tls {
                        url: self.shown.clone(),
                        reason: tls_failure(&e),
                    })?;
                let (r, w) = futures_lite::io::split(stream);
                Ok(Conn::new(Box::new(r), Box::new(w)))
            }
        }
    }

    /// AUTH (with the URL's user and password), SELECT, and a PING, so that a wrong password or a
    /// Redis that wants one is an error here, at once, not at the first real request.
    async fn log_in(&self, con: &mut Conn) -> Result<(), LogError> {
        let refused = |e: RedisError| {
            let detail = e.to_string();
            let reason = if detail.contains("NOAUTH") {
                "Redis asks for a password and the URL gives none: put it in the URL, \
                 redis://USER:PASSWORD@HOST:PORT (or redis://:PASSWORD@HOST:PORT for the default \
                 user)"
                    .to_owned()
            } else if detail.contains("WRONGPASS") || detail.contains("invalid password") {
                "Redis refused the user and password in the URL (wrong password, unknown user, \
                 or the user is disabled)"
                    .to_owned()
            } else if detail.contains("NOPERM") {
                format!(
                    "the Redis user lacks a permission natter needs ({detail}); README lists the \
                     ACL rules a node needs"
                )
            } else {
                detail
            };
            LogError::Auth {
                url: self.shown.clone(),
                reason,
            }
        };
        if let Some(password) = &self.password {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = &self.username {
                auth.arg(user);
            }
            auth.arg(password);
            con.query::<()>(&auth, CONNECT_TIMEOUT)
                .await
                .map_err(refused)?;
        }
        if self.db != 0 {
            con.query::<()>(redis::cmd("SELECT").arg(self.db), CONNECT_TIMEOUT)
                .await
                .map_err(refused)?;
        }
        con.query::<()>(&redis::cmd("PING"), CONNECT_TIMEOUT)
            .await
            .map_err(refused)?;
        Ok(())
    }
}

/// rustls' settings for `rediss://`: Redis's certificate must lead to one in `ca`, or else to one of
/// the system's roots.
fn client_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read --cluster-ca {}: {e}", path.display()))?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .filter_map(Result::ok)
                .collect();
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "--cluster-ca {} holds no usable PEM certificate",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "this system has no trusted root certificates to check Redis's with; give \
                     the CA that signed it with --cluster-ca FILE"
                        .into(),
                );
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::shell::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// What a failed TLS handshake with Redis means, in words.
fn tls_failure(e: &io::Error) -> String {
    let inner = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .map(|r| r.to_string())
        .unwrap_or_else(|| e.to_string());
    if inner.contains("certificate") || inner.contains("Certificate") {
        format!(
            "Redis's certificate is not one natter can trust ({inner}): it must be signed by a \
             certificate in --cluster-ca (or the system's roots without it) and name the host of \
             the URL"
        )
    } else {
        format!("the TLS handshake failed: {inner} (does Redis speak TLS on that port?)")
    }
}

/// `request`'s answer, or a timeout if none came within `limit`.
///
/// Not a timeout that looks at its clock before at the answer: these requests are awaited by the
/// node's driver thread, which can be busy for seconds at a stretch (applying a thousand logouts,
/// each announced to tens of thousands). Redis had answered long before, yet the request counted as
/// timed out: the node logged Redis as unreachable when it was not, read the same entries again, and
/// appended entries Redis already had a second time. Here an answer that is there when the task is
/// next polled is taken, however late the poll: the request is polled first, and reading a socket
/// tries the read before it asks whether anything came.
pub async fn answered_within<T>(
    limit: Duration,
    request: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    request
        .or(async {
            smol::Timer::after(limit).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} ms", limit.as_millis()),
            )
            .into())
        })
        .await
}

/// A Redis reply as a result: an error reply (`-ERR ...`) is an error. Only the top level is looked
/// at, so a large reply (thousands of log entries) is not walked nor copied.
pub fn reply(value: Value) -> RedisResult<Value> {
    match value {
        Value::ServerError(e) => Err(e.into()),
        v => Ok(v),
    }
}

/// Pause before trying Redis again.
pub const RETRY: Duration = Duration::from_millis(500);

/// A connection to Redis that comes back by itself: connects when first needed and after a failure,
/// retrying every [`RETRY`], and says once that Redis is unreachable and once that it is back.
pub struct Reconnecting<T> {
    /// What this connection is for, in the log lines.
    what: &'static str,
    endpoint: Endpoint,
    /// The connection, while it works.
    pub con: Option<T>,
    /// Since when Redis has failed this connection.
    down_since: Option<Instant>,
}

impl<T> Reconnecting<T> {
    pub fn new(endpoint: Endpoint, what: &'static str) -> Self {
        Reconnecting {
            endpoint,
            what,
            con: None,
            down_since: None,
        }
    }

    /// The connection, if there is one or one can be made now; `None` after a failed try (and a
    /// pause), so that the caller looks again at what it holds before the next.
    pub async fn get<F, Fut>(&mut self, connect: F) -> Option<&mut T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, LogError>>,
    {
        let con = match self.con.take() {
            Some(c) => c,
            None => match connect().await {
                Ok(c) => c,
                Err(e) => {
                    self.failed(&e).await;
                    return None;
                }
            },
        };
        Some(self.con.insert(con))
    }

    /// A request failed: the connection is dropped, and the next [`Self::get`] makes a new one after a
    /// pause.
    pub async fn failed(&mut self, e: &dyn std::fmt::Display) {
        self.con = None;
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::error!(
                "{}: {e} (Redis at {} is needed to serve: nothing is acknowledged until it is back; \
                 retrying every {} ms)",
                self.what,
                self.endpoint,
                RETRY.as_millis()
            );
        }
        smol::Timer::after(RETRY).await;
    }

    /// A request succeeded.
    pub fn ok(&mut self) {
        if let Some(since) = self.down_since.take() {
            tracing::warn!(
                "{}: Redis is reachable again after {:.1} s",
                self.what,
                since.elapsed().as_secs_f64()
            );
        }
    }
}

/// One connection: requests out, replies back in the same order.
pub struct Conn {
    requests: Requests,
    replies: Replies,
}

impl Conn {
    fn new(
        reader: Box<dyn AsyncRead + Unpin + Send>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
    ) -> Conn {
        Conn {
            requests: Requests { writer },
            replies: Replies::new(reader),
        }
    }

    /// Sends `cmd` and returns its answer, as `T`, within `limit`.
    pub async fn query<T: FromRedisValue>(&mut self, cmd: &Cmd, limit: Duration) -> RedisResult<T> {
        let answer = answered_within(limit, async {
            self.requests.send(&cmd.get_packed_command()).await?;
            self.replies.next().await
        })
        .await?;
        Ok(redis::from_redis_value(reply(answer)?)?)
    }

    /// Sends `pipe` in one write and returns each command's answer (those of commands marked
    /// `ignore` too), within `limit`. An error reply to any is the error.
    pub async fn pipeline(&mut self, pipe: &Pipeline, limit: Duration) -> RedisResult<Vec<Value>> {
        let count = pipe.len();
        answered_within(limit, async {
            self.requests.send(&pipe.get_packed_pipeline()).await?;
            let mut out = Vec::with_capacity(count);
            for _ in 0..count {
                out.push(reply(self.replies.next().await?)?);
            }
            Ok(out)
        })
        .await
    }

    /// The two halves, borrowed: to send several requests before reading their answers.
    pub fn halves(&mut self) -> (&mut Requests, &mut Replies) {
        (&mut self.requests, &mut self.replies)
    }

    /// The two halves, for pipelining: one task may send while it (or another) waits for answers.
    pub fn split(self) -> (Requests, Replies) {
        (self.requests, self.replies)
    }
}

/// The sending half of a connection.
pub struct Requests {
    writer: Box<dyn AsyncWrite + Unpin + Send>,
}

impl Requests {
    /// Writes `packed` (commands packed by the redis crate) whole.
    pub async fn send(&mut self, packed: &[u8]) -> RedisResult<()> {
        self.writer.write_all(packed).await?;
        self.writer.flush().await?;
        Ok(())
    }
}

/// The receiving half of a connection: Redis's replies, in order.
pub struct Replies {
    reader: Box<dyn AsyncRead + Unpin + Send>,
    parser: Parser,
    buf: Box<[u8]>,
    /// `buf[start..end]` was read and not yet handed to the parser.
    start: usize,
    end: usize,
}

/// How much is read from the socket at once.
const READ_CHUNK: usize = 64 * 1024;

impl Replies {
    fn new(reader: Box<dyn AsyncRead + Unpin + Send>) -> Replies {
        Replies {
            reader,
            parser: Parser::new(),
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The next reply (an error reply too: see [`reply`]).
    ///
    /// Cancel-safe: dropped while it waits, it loses nothing, since the only wait is for the socket
    /// to be readable and what was read is handed to the parser before anything else can happen. So
    /// a task may race it against other work and call it again later.
    pub async fn next(&mut self) -> RedisResult<Value> {
        loop {
            if let Some(value) = self.parse()? {
                return Ok(value);
            }
            let n = self.reader.read(&mut self.buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "Redis closed the connection",
                )
                .into());
            }
            self.start = 0;
            self.end = n;
        }
    }

    /// Hands what was read to the redis crate's parser: a whole reply, or `None` when it needs more
    /// bytes (it keeps those it took, and where it was in the reply).
    fn parse(&mut self) -> RedisResult<Option<Value>> {
        let mut feed = Feed {
            bytes: &self.buf[self.start..self.end],
            starved: false,
        };
        let parsed = self.parser.parse_value(&mut feed);
        let (left, starved) = (feed.bytes.len(), feed.starved);
        self.start = self.end - left;
        match parsed {
            Ok(value) => Ok(Some(value)),
            Err(_) if starved => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The bytes read so far, as the parser's reader: when they run out it says "would block" (never
/// "end of input", which the parser would keep for ever), and the parser keeps its place.
struct Feed<'a> {
    bytes: &'a [u8],
    starved: bool,
}

impl Read for Feed<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.bytes.is_empty() {
            self.starved = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replies made of `chunks`, arriving one read at a time.
    fn replies_from(chunks: Vec<Vec<u8>>) -> Replies {
        struct Chunks(std::collections::VecDeque<Vec<u8>>);
        impl AsyncRead for Chunks {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                out: &mut [u8],
            ) -> std::task::Poll<io::Result<usize>> {
                let Some(mut chunk) = self.0.pop_front() else {
                    return std::task::Poll::Ready(Ok(0));
                };
                let n = out.len().min(chunk.len());
                out[..n].copy_from_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.0.push_front(chunk.split_off(n));
                }
                std::task::Poll::Ready(Ok(n))
            }
        }
        Replies::new(Box::new(Chunks(chunks.into())))
    }

    #[test]
    fn replies_cut_anywhere_are_put_together_and_come_in_order() {
        // Two replies as Redis sends them: an XREAD-like nesting (with a value holding CR LF), then a
        // status.
        let wire = b"*1\r\n*2\r\n$6\r\nnatter\r\n*1\r\n*2\r\n$3\r\n0-1\r\n*2\r\n$1\r\ne\r\n$4\r\n\x00\x01\r\n\r\n+OK\r\n".to_vec();
        let whole = smol::block_on(async {
            let mut r = replies_from(vec![wire.clone()]);
            (r.next().await.unwrap(), r.next().await.unwrap())
        });
        for cut in 1..wire.len() {
            // Byte by byte up to `cut`, then the rest at once.
            let mut chunks: Vec<Vec<u8>> = wire[..cut].iter().map(|b| vec![*b]).collect();
            chunks.push(wire[cut..].to_vec());
            let got = smol::block_on(async {
                let mut r = replies_from(chunks);
                (r.next().await.unwrap(), r.next().await.unwrap())
            });
            assert_eq!(got, whole, "cut at {cut}");
        }
        assert_eq!(whole.1, Value::Okay);
        let Value::Array(streams) = &whole.0 else {
            panic!("{:?}", whole.0)
        };
        assert_eq!(streams.len(), 1);
    }

    #[test]
    fn an_error_reply_is_an_error_and_a_closed_connection_says_so() {
        let (first, second) = smol::block_on(async {
            let mut r = replies_from(vec![b"-NOAUTH Authentication required.\r\n".to_vec()]);
            (r.next().await.map(reply), r.next().await)
        });
        let e = first.unwrap().expect_err("an error reply");
        assert!(e.to_string().contains("Authentication required"), "{e}");
        let e = second.expect_err("nothing more");
        assert!(e.to_string().contains("Redis closed the connection"), "{e}");
    }

    #[test]
    fn a_reply_that_is_not_resp_is_an_error_not_a_wait() {
        let got = smol::block_on(async {
            let mut r = replies_from(vec![b"HTTP/1.1 400 Bad Request\r\n".to_vec()]);
            r.next().await
        });
        assert!(got.is_err(), "{got:?}");
    }

    #[test]
    fn an_answer_already_there_is_taken_however_late_the_poll() {
        // A deadline already past when the task is first polled, as when the driver was busy.
        let answer = smol::block_on(answered_within(Duration::ZERO, async {
            Ok::<u64, RedisError>(7)
        }));
        assert_eq!(answer.ok(), Some(7));
    }

    #[test]
    fn no_answer_is_a_timeout_that_says_how_long_it_waited() {
        let never = futures_lite::future::pending::<RedisResult<u64>>();
        let err = smol::block_on(answered_within(Duration::from_millis(20), never))
            .expect_err("nothing came");
        assert!(err.is_timeout() || err.is_io_error(), "{err}");
        assert!(err.to_string().contains("no answer within 20 ms"), "{err}");
    }

    #[test]
    fn urls_give_user_password_database_and_tls_and_never_show_the_password() {
        let e = Endpoint::parse("redis://natter:s3cret@10.0.0.5:6380/2", None).unwrap();
        assert_eq!(e.username.as_deref(), Some("natter"));
        assert_eq!(e.password.as_deref(), Some("s3cret"));
        assert_eq!(e.db, 2);
        assert!(e.tls.is_none() && !e.is_local());
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(e.to_string().contains("natter:***@10.0.0.5:6380"), "{e}");
        let e = Endpoint::parse("redis://:only-a-password@127.0.0.1", None).unwrap();
        assert!(e.username.is_none() && e.has_password() && e.is_local());
        let e = Endpoint::parse("redis://localhost:6379", None).unwrap();
        assert!(!e.has_password() && e.is_local());

        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["redis.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(&ca, cert.pem()).unwrap();
        let e = Endpoint::parse("rediss://u:p@redis.example:6380", Some(&ca)).unwrap();
        assert!(e.tls.is_some());

        for (url, says) in [
            ("http://host", "not a Redis URL"),
            ("rediss://h:1#insecure", "always checks Redis's certificate"),
            ("redis://h:1/x", "database"),
        ] {
            let err = Endpoint::parse(url, None).err().unwrap().to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
        let err = Endpoint::parse("redis://u:pw@h:1", Some(&ca))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("use rediss://") && !err.contains("pw@"),
            "{err}"
        );
        std::fs::write(&ca, "no certificate").unwrap();
        let err = Endpoint::parse("rediss://h:1", Some(&ca))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no usable PEM certificate"), "{err}");
    }
}
