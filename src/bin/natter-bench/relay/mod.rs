//! `natter-bench relay`: a do-nothing server that speaks natter's lines, the floor under natter's cost.
//!
//! No server that speaks the same lines over the same sockets can do less work per message than this
//! one, so natter's figures are reported as a fraction of its, measured in the same run
//! (docs/PERFORMANCE.md, "Against a do-nothing relay"). It has no accounts (any password logs any name
//! in), no storage, no rules (no lockout, duplicate logins, blocking, presence, history or
//! acknowledgement state) and no limits; it keeps only who is online and the groups made, because a
//! message has to find its recipient.
//!
//! One thread, one edge-triggered epoll set ([`epoll`]): every ready socket is read until it would
//! block, every complete line answered at once into the connections' output buffers ([`lines`]), and
//! at the end of the batch each connection with output gets one `write` ([`conn`]); a goodbye is
//! written with `MSG_MORE`, so that it leaves with the close's FIN in one segment. The clock is read
//! once per batch (a message's `sent-at`). Plain text, or TLS with natter's own TLS settings and a
//! self-signed certificate made the way natter makes its own, so TLS workloads have a floor too.
//!
//! What it answers (byte for byte what natter writes for the same pipelined lines):
//!
//! | client line | relay |
//! |---|---|
//! | a user name | `PROMPT username …`, `PROMPT password …` (the first prompt is held until then, so a client must send its name without waiting for it, as natter-bench does) |
//! | a password | `WELCOME <user> …` |
//! | `message <user> <text>` | `MSG <id> <ms> <from> <text>` to `<user>` if online, else `ERROR offline <user> …` (it stores nothing) |
//! | `broadcast <text>` | `BCAST <from> <text>` to everyone else online; `BCAST-SENT <n> all …` |
//! | `create group <g> <m>…` | `GROUP-CREATED <g> <n> <members sorted> …` |
//! | `message group <g> <text>` | `GROUP-MSG <id> <ms> <g> <from> <text>` to the members online; `GROUP-SENT <g> <n> 0 all …` |
//! | `logout` | `BYE logout Goodbye.`, then the connection is closed |
//! | `ack`, `acks`, `receipts`, `p2pport`, `active` | nothing (no state is kept for them) |
//! | anything else | `ERROR unknown-command …` |

mod conn;
mod epoll;
mod lines;

use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use rustc_hash::FxHashMap;

use conn::{Conn, Got, Name, Stage};
use epoll::Epoll;

/// `natter-bench relay`'s arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct RelayArgs {
    /// The port to listen on (0: any free one; the log line says which).
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// Speak TLS, with natter-server's TLS settings.
    #[arg(long)]
    tls: bool,
    /// With --tls: the certificate (PEM); without it and --tls-key, one is made in --data-dir.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// With --tls: the certificate's private key (PEM).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// With --tls and no --tls-cert: where the self-signed certificate is made and kept.
    #[arg(long, value_name = "DIR", default_value = "relay-data")]
    data_dir: PathBuf,
    /// Leave Nagle's algorithm on (no `TCP_NODELAY`), as ngircd and InspIRCd do and natter with
    /// `--nagle`: small lines then wait for the client's ACK and leave in fewer, fuller segments. Not
    /// the limit (the limit answers at once, as natter does by default); this shows what that choice
    /// alone does at rates where lines are sparse: to the server's CPU, to both ends' (on loopback
    /// much of what leaves the server's account reappears in the client's), and to latency.
    #[arg(long)]
    nagle: bool,
}

/// The key epoll reports for the listening socket; connections are keyed by their slot.
const LISTENER: u64 = u64::MAX;
/// Events taken per wait.
const BATCH: usize = 1024;
/// The read buffer, shared by every connection.
const READ_BUF: usize = 64 * 1024;
/// The longest line taken (natter's default `--max-line`).
const MAX_LINE: usize = 8192;

/// Everything the relay keeps.
pub struct Relay {
    conns: Vec<Option<Conn>>,
    /// Free slots, and slots freed in this batch (reused only after it, so a stale event of the batch
    /// cannot reach a new connection).
    free: Vec<usize>,
    free_later: Vec<usize>,
    /// Who is online, by name: the one lookup a message needs.
    online: FxHashMap<Name, usize>,
    /// Groups by name: their members.
    groups: FxHashMap<Name, Vec<Name>>,
    /// Connections with output to write at the end of the batch.
    dirty: Vec<usize>,
    /// The last message id given (`MSG`, `GROUP-MSG`).
    last_id: u64,
    /// Milliseconds since the Unix epoch, read once per batch.
    now_ms: u64,
    /// A line rendered once for many recipients.
    scratch: Vec<u8>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

pub fn run(args: &RelayArgs) -> Result<()> {
    crate::procstat::raise_nofile_limit().context("raising RLIMIT_NOFILE")?;
    let tls = if args.tls {
        let server = natter::shell::tls::ServerTls::load_or_create(
            args.tls_cert.as_deref(),
            args.tls_key.as_deref(),
            &args.data_dir,
        )
        .context("setting up TLS")?;
        Some(server.config)
    } else {
        None
    };
    let listener = listen(SocketAddr::new(args.bind, args.port), !args.nagle)?;
    let local = listener.local_addr().context("reading the bound address")?;
    eprintln!(
        "natter-bench relay: listening on {local} ({})",
        if tls.is_some() { "TLS" } else { "plain text" }
    );
    let ep = Epoll::new().context("creating the epoll set")?;
    ep.add(listener.as_raw_fd(), LISTENER)
        .context("watching the listener")?;
    let mut relay = Relay {
        conns: Vec::new(),
        free: Vec::new(),
        free_later: Vec::new(),
        online: FxHashMap::default(),
        groups: FxHashMap::default(),
        dirty: Vec::new(),
        last_id: 0,
        now_ms: 0,
        scratch: Vec::new(),
        tls,
    };
    let mut raw = epoll::events(BATCH);
    let mut ready = Vec::with_capacity(BATCH);
    let mut buf = vec![0u8; READ_BUF];
    // Out of descriptors: the listener's edge is spent, so accepting is retried on a short timeout.
    let mut accept_stalled = false;
    loop {
        let timeout = if accept_stalled { 10 } else { -1 };
        ep.wait(&mut raw, &mut ready, timeout)
            .context("waiting for sockets")?;
        relay.now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        if accept_stalled || ready.iter().any(|r| r.key == LISTENER) {
            accept_stalled = relay.accept_all(&listener, &ep);
        }
        for r in &ready {
            if r.key != LISTENER {
                relay.on_ready(r.key as usize, r.readable || r.hangup, r.writable, &mut buf);
            }
        }
        relay.flush_all();
        relay.free.append(&mut relay.free_later);
    }
}

/// A non-blocking listener with `TCP_NODELAY` if `nodelay` (inherited by accepted sockets on Linux, so
/// set once) and a deep accept queue (the kernel caps it at `somaxconn`): a thousand logins in flight
/// must not wait in SYN retries.
fn listen(addr: SocketAddr, nodelay: bool) -> Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .context("creating the listening socket")?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(nodelay)?;
    socket
        .bind(&addr.into())
        .with_context(|| format!("binding {addr}"))?;
    socket.listen(4096).context("listening")?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

impl Relay {
    /// Accepts every waiting connection. True if it stopped for want of descriptors (retry soon).
    fn accept_all(&mut self, listener: &std::net::TcpListener, ep: &Epoll) -> bool {
        loop {
            let fd: OwnedFd = match epoll::accept(listener.as_raw_fd()) {
                Ok(Some(fd)) => fd,
                Ok(None) => return false,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    return true;
                }
                Err(e) => {
                    eprintln!("natter-bench relay: accept failed: {e}");
                    return false;
                }
            };
            let slot = self.free.pop().unwrap_or_else(|| {
                self.conns.push(None);
                self.conns.len() - 1
            });
            if let Err(e) = ep.add(fd.as_raw_fd(), slot as u64) {
                eprintln!("natter-bench relay: cannot watch a connection: {e}");
                self.free.push(slot);
                continue;
            }
            let tls = self.tls.as_ref().and_then(|config| {
                rustls::ServerConnection::new(config.clone())
                    .ok()
                    .map(Box::new)
            });
            self.conns[slot] = Some(Conn::new(TcpStream::from(fd), tls));
        }
    }

    /// One readiness report for the connection in `slot`.
    fn on_ready(&mut self, slot: usize, readable: bool, writable: bool, buf: &mut [u8]) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        if writable {
            conn.writable = true;
            if conn.wants_write() {
                self.mark(slot);
            }
        }
        if readable {
            self.read(slot, buf);
        }
    }

    /// Reads until the socket would block, answering every complete line.
    fn read(&mut self, slot: usize, buf: &mut [u8]) {
        loop {
            let Some(conn) = self.conns[slot].as_mut() else {
                return;
            };
            match conn.read(buf) {
                Got::Data(n) => self.on_bytes(slot, &buf[..n]),
                Got::Drained => break,
                Got::Ended => {
                    self.close(slot);
                    return;
                }
            }
        }
        // A TLS handshake's answer or an alert waits in the session, or plaintext the session could
        // not take before its handshake moved on.
        if self.conns[slot].as_ref().is_some_and(Conn::wants_write) {
            self.mark(slot);
        }
    }

    /// Splits `bytes` into lines (a line's start may wait in `partial` from an earlier read).
    fn on_bytes(&mut self, slot: usize, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let Some(conn) = self.conns[slot].as_mut() else {
                return;
            };
            if conn.stage == Stage::Closing {
                return;
            }
            let Some(nl) = bytes.iter().position(|b| *b == b'\n') else {
                if !conn.skipping {
                    conn.partial.extend_from_slice(bytes);
                    if conn.partial.len() > MAX_LINE {
                        self.too_long(slot);
                    }
                }
                return;
            };
            let (line, rest) = (&bytes[..nl], &bytes[nl + 1..]);
            bytes = rest;
            if std::mem::take(&mut conn.skipping) {
                continue;
            }
            if conn.partial.is_empty() {
                if line.len() > MAX_LINE {
                    self.too_long(slot);
                    self.conn(slot).skipping = false;
                    continue;
                }
                self.on_line(slot, line);
            } else {
                let mut whole = std::mem::take(&mut conn.partial);
                whole.extend_from_slice(line);
                if whole.len() > MAX_LINE {
                    self.too_long(slot);
                    self.conn(slot).skipping = false;
                } else {
                    self.on_line(slot, &whole);
                }
            }
        }
    }

    /// A line over [`MAX_LINE`]: natter's error, and the rest of it up to its newline is dropped.
    fn too_long(&mut self, slot: usize) {
        let conn = self.conn(slot);
        conn.partial = Vec::new();
        conn.skipping = true;
        conn.out.extend_from_slice(
            format!("ERROR line-too-long {MAX_LINE} Lines are at most {MAX_LINE} bytes.\n")
                .as_bytes(),
        );
        self.mark(slot);
    }

    fn conn(&mut self, slot: usize) -> &mut Conn {
        self.conns[slot].as_mut().expect("a live connection")
    }

    /// Lists `slot` for writing at the end of the batch.
    fn mark(&mut self, slot: usize) {
        if let Some(conn) = self.conns[slot].as_mut()
            && !conn.dirty
        {
            conn.dirty = true;
            self.dirty.push(slot);
        }
    }

    /// One write per connection with output; a connection saying goodbye is closed once it is out.
    fn flush_all(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &slot in &dirty {
            let Some(conn) = self.conns[slot].as_mut() else {
                continue;
            };
            conn.dirty = false;
            let failed = conn.flush().is_err();
            if failed || (conn.stage == Stage::Closing && !conn.wants_write()) {
                self.close(slot);
            }
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// Closes the connection in `slot` (the kernel drops it from the epoll set) and forgets its user.
    fn close(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].take() else {
            return;
        };
        if matches!(conn.stage, Stage::Online | Stage::Closing)
            && self.online.get(&conn.name) == Some(&slot)
        {
            self.online.remove(&conn.name);
        }
        self.free_later.push(slot);
    }
}
