//! Accepting connections, including when the process has no file descriptor left.
//!
//! Out of descriptors, `accept` fails and the connection would wait in the kernel's queue, unanswered. So
//! each listener keeps one spare descriptor: it gives it up to accept the waiting connection, tells it
//! `BYE full`, closes it, and takes the spare again. If even that fails it tries again after a while
//! (a timer, since the listener's edge has passed) instead of spinning, and the condition is logged once
//! per episode, not once per refused connection.

use std::fs::File;
use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::Shared;
use super::conn::{ConnIo, end_reading, read_ready, refuse};
use super::conn_state::State;
use super::epoll::{Epoll, accept};
use super::inbox::Input;
use super::tls_conn::TlsConn;
use natter_core::protocol::ByeReason;
use natter_core::server::ConnId;

/// How many keepalive probes go unanswered before the connection is dropped.
pub const KEEPALIVE_PROBES: u32 = 3;

/// Time between probes: a sixth of the idle time, between 1 and 10 s. So a client that vanished is
/// noticed within the idle time and half as much again (90 s with the default 60).
pub fn keepalive_interval(idle: Duration) -> Duration {
    (idle / 6).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// How long data the server sent may go unacknowledged before the connection is dropped: the same
/// bound as for a silent one (the idle time, then every probe's interval).
///
/// Why: keepalive probes only leave a connection with nothing in flight. A host that vanishes while
/// the server is sending to it (a busy conversation, or the exchange right after login) would
/// otherwise be retried by the kernel's retransmission timer for some fifteen minutes, and its user
/// would stay "online" and unreachable all that time. (On Linux this also replaces the probe count
/// as the keepalive's end: the connection goes once this long has passed without an answer.)
pub fn unanswered_limit(idle: Duration) -> Duration {
    idle + keepalive_interval(idle) * KEEPALIVE_PROBES
}

/// The silence after which `conn` is first probed: between half the idle time and all of it (in whole
/// seconds, the kernel's unit), spread evenly over connections by their ids.
///
/// Why spread: connections fall silent together (after a presence line or broadcast to everybody),
/// and with one idle time their probes would all leave in the same instant. Thousands of probes and
/// their answers at once overflow the kernel's per-CPU packet queue (1,000 packets by default), the
/// lost probes count as unanswered, and healthy clients were cut off with a reset: 17,000 idle users
/// per node on one host lost a few thousand connections 90 s after they fell silent. Spread over 31
/// seconds (with the default 60), each second's share is a few hundred. Never later than `idle`, so
/// the stated bound for a vanished client holds.
pub fn keepalive_idle(conn: ConnId, idle: Duration) -> Duration {
    let secs = idle.as_secs().max(1);
    let spread = secs / 2 + 1;
    Duration::from_secs((secs - conn.0 % spread).max(1))
}

/// How many connections in a row share a first-probe time, where the listener's is inherited.
///
/// Why: Linux copies a listener's keepalive settings (on, first probe, interval, count) and its user
/// timeout to each connection it accepts (checked by a test below). So instead of a call per
/// connection (two `setsockopt`, a measurable part of a login that is over in a millisecond), the
/// accept loop moves the listener's first-probe time along the same spread as [`keepalive_idle`],
/// once per this many connections: the probes of connections that fell silent together are still
/// spread over every second of the spread (by blocks of this many), each within the idle time.
pub const KEEPALIVE_STEP: u64 = 64;

/// The first-probe time the listener gives the `block`-th run of [`KEEPALIVE_STEP`] connections:
/// consecutive blocks get consecutive seconds of [`keepalive_idle`]'s spread.
pub fn keepalive_idle_of_block(block: u64, idle: Duration) -> Duration {
    keepalive_idle(ConnId(block), idle)
}

/// One listening socket in the readiness loop: its settings, applied once, and how far it is in
/// the spread of first-probe times and in running out of descriptors.
pub(super) struct Listener {
    listener: std::net::TcpListener,
    /// The listener speaks IRC (each connection's lines go through its IRC front, in the composed
    /// server).
    irc: bool,
    /// Its connections speak IRC over WebSocket (each line one message).
    ws: bool,
    keepalive: Option<Duration>,
    probes: Option<socket2::TcpKeepalive>,
    inherited_nodelay: bool,
    inherited_keepalive: bool,
    inherited_user_timeout: bool,
    /// The block of connections the listener's first-probe time was last set for.
    listener_block: Option<u64>,
    /// A descriptor kept to be given up when the process has none left (see the module's text).
    spare: Option<File>,
    /// Out of descriptors now (logged once per episode).
    starved: bool,
}

/// What accepting found besides connections.
pub(super) enum Accepted {
    /// Every waiting connection was taken (or turned away).
    All,
    /// Accepting must be tried again after this long (no descriptor could be had, or an error).
    RetryAfter(Duration),
}

impl Listener {
    /// Sets `listener` up once (non-blocking; `TCP_NODELAY` if `nodelay`, keepalive and the user
    /// timeout inherited by what it accepts, where the system does that).
    pub(super) fn new(
        listener: std::net::TcpListener,
        irc: bool,
        ws: bool,
        keepalive: Option<Duration>,
        nodelay: bool,
    ) -> io::Result<Listener> {
        listener.set_nonblocking(true)?;
        // Sockets accepted from a listener with TCP_NODELAY inherit it on Linux: one call here
        // instead of one per connection. (If it fails, each connection gets its own call.) Without
        // it, a new socket has Nagle's algorithm on already, and there is nothing to set.
        let inherited_nodelay = !nodelay
            || socket2::SockRef::from(&listener)
                .set_tcp_nodelay(true)
                .is_ok()
                && cfg!(target_os = "linux");
        // Keepalive too: a client whose host vanished (powered off, unplugged) never closes its
        // connection; the probes find out, and the core hears it as a disconnect.
        // The interval and the count are the same for all: set once on the listener, inherited. The
        // first probe's time is spread over connections (`keepalive_idle`): where the listener's
        // settings are inherited, by moving the listener's every KEEPALIVE_STEP connections; else per
        // connection.
        let probes = keepalive.map(|idle| {
            socket2::TcpKeepalive::new()
                .with_time(idle)
                .with_interval(keepalive_interval(idle))
                .with_retries(KEEPALIVE_PROBES)
        });
        let inherited_keepalive = probes.as_ref().is_none_or(|k| {
            socket2::SockRef::from(&listener)
                .set_tcp_keepalive(k)
                .is_ok()
                && cfg!(target_os = "linux")
        });
        let inherited_user_timeout = keepalive.is_none_or(|idle| {
            socket2::SockRef::from(&listener)
                .set_tcp_user_timeout(Some(unanswered_limit(idle)))
                .is_ok()
        });
        Ok(Listener {
            listener,
            irc,
            ws,
            keepalive,
            probes,
            inherited_nodelay,
            inherited_keepalive,
            inherited_user_timeout,
            listener_block: None,
            spare: File::open("/dev/null").ok(),
            starved: false,
        })
    }

    /// The listening socket, to be watched for connections.
    pub(super) fn fd(&self) -> std::os::fd::RawFd {
        self.listener.as_raw_fd()
    }

    /// Accepts every waiting connection: each gets its number, its settings, its place in the
    /// connection table and an `Open` for the core (quietly: the driver is the caller), and is added
    /// to `fresh`, for the readiness loop to read what it sent already and to watch it.
    pub(super) fn accept_all(
        &mut self,
        shared: &Shared,
        max_line: usize,
        fresh: &mut Vec<Fresh>,
    ) -> Accepted {
        loop {
            match accept(self.fd()) {
                Ok(Some((stream, peer))) => {
                    if self.starved {
                        tracing::info!("file descriptors available again; accepting connections");
                        self.starved = false;
                    }
                    if let Some(conn) = self.register(shared, stream, peer, max_line) {
                        fresh.push(conn);
                    }
                }
                Ok(None) => return Accepted::All,
                Err(e) if is_out_of_fds(&e) => {
                    if !self.starved {
                        tracing::warn!(
                            "out of file descriptors ({e}): refusing new connections with 'BYE full' until some close"
                        );
                        self.starved = true;
                    }
                    // Spend the spare descriptor on the connection waiting, refuse it politely, and
                    // take the spare back; then on to the next one waiting.
                    drop(self.spare.take());
                    let refused = match accept(self.fd()) {
                        Ok(Some((stream, _))) => {
                            refuse(shared, &stream, ByeReason::Full);
                            let _ = stream.shutdown(std::net::Shutdown::Both);
                            true
                        }
                        _ => false,
                    };
                    self.spare = File::open("/dev/null").ok();
                    if !refused || self.spare.is_none() {
                        // Not even the spare could be had back: wait for descriptors to free up.
                        return Accepted::RetryAfter(Duration::from_millis(100));
                    }
                }
                Err(e) => {
                    tracing::debug!("accept failed: {e}");
                    return Accepted::RetryAfter(Duration::from_millis(5));
                }
            }
        }
    }

    /// Sets up one accepted connection and puts it in the connection table (not yet in the epoll
    /// set).
    fn register(
        &mut self,
        shared: &Shared,
        stream: TcpStream,
        peer: std::net::SocketAddr,
        max_line: usize,
    ) -> Option<Fresh> {
        if !self.inherited_nodelay {
            let _ = stream.set_nodelay(true);
        }
        // One numbering for every listener's connections.
        let conn = ConnId(shared.next_conn.get());
        shared.next_conn.set(conn.0 + 1);
        if let (Some(idle), Some(all)) = (self.keepalive, &self.probes) {
            if self.inherited_keepalive {
                // The connection has the listener's first-probe time; the listener's moves on every
                // KEEPALIVE_STEP connections, so no call per connection.
                let block = conn.0 / KEEPALIVE_STEP;
                if self.listener_block != Some(block) {
                    self.listener_block = Some(block);
                    let next = socket2::TcpKeepalive::new()
                        .with_time(keepalive_idle_of_block(block, idle));
                    let _ = socket2::SockRef::from(&self.listener).set_tcp_keepalive(&next);
                }
            } else {
                let own = all.clone().with_time(keepalive_idle(conn, idle));
                let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&own);
            }
            if !self.inherited_user_timeout {
                let _ = socket2::SockRef::from(&stream)
                    .set_tcp_user_timeout(Some(unanswered_limit(idle)));
            }
        }
        tracing::debug!("{conn} connected from {peer}");
        // The configuration now: a reload may have brought a new certificate.
        let config = shared.tls.borrow().clone();
        let tls = match config {
            Some(config) => match TlsConn::new(config) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!("cannot start TLS for {peer}: {e}");
                    return None;
                }
            },
            None => None,
        };
        let mut io = ConnIo::new(stream, tls, max_line);
        if self.ws {
            io = io.with_websocket(max_line);
        }
        // Taken as readable until `admit` has read it: what it sent may be there already.
        io.state.insert(State::READABLE);
        shared.conns.borrow_mut().insert(conn, io);
        shared.push_quietly(Input::Open {
            conn,
            peer,
            irc: self.irc,
        });
        Some(Fresh { conn, peer })
    }
}

/// A connection just accepted, not yet in the epoll set.
pub(super) struct Fresh {
    conn: ConnId,
    peer: std::net::SocketAddr,
}

/// Reads what each `fresh` connection sent already, then adds it to `epoll`.
///
/// Why read first: a client that sends its login (its IRC registration, its TLS hello) as soon as
/// it is connected has mostly sent it by now (this runs after the rest of the turn's reading, which
/// gives it time), and read now it joins its `Open` in this turn's batch: the login is answered in
/// this turn, not after another look at the set. Read before the socket joins the set, so that
/// the set reports only input that comes after this read (a socket added with input waiting is
/// reported at once, and the read that report asks for would find nothing). What is not read now
/// (a TLS connection waits for the core's first word; nothing came yet) the set reports as it
/// would have. A client that waits for its prompt before it says anything costs one read that
/// finds nothing (under the login churn of the bench, a third of the connections).
pub(super) fn admit(shared: &Shared, epoll: &Epoll, fresh: &mut Vec<Fresh>, max_outbound: usize) {
    for Fresh { conn, peer } in fresh.drain(..) {
        let _ = read_ready(shared, conn, max_outbound);
        // (The socket the table holds: a descriptor is watched only for a connection still there.)
        let Some(fd) = shared
            .conns
            .borrow()
            .get(&conn)
            .map(|io| io.stream.as_raw_fd())
        else {
            continue;
        };
        if let Err(e) = epoll.add(fd, conn.0) {
            tracing::warn!("cannot watch the connection from {peer}: {e}");
            // Unwatched, it would never be read again: the core hears it is gone.
            end_reading(shared, conn, None);
        }
    }
}

fn is_out_of_fds(e: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    matches!(e.raw_os_error(), Some(EMFILE | ENFILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_probes_spread_between_half_the_idle_time_and_all_of_it() {
        let idle = Duration::from_secs(60);
        let mut per_second = std::collections::BTreeMap::new();
        for id in 1..=31_000 {
            *per_second
                .entry(keepalive_idle(ConnId(id), idle).as_secs())
                .or_insert(0) += 1;
        }
        assert_eq!(per_second.keys().next(), Some(&30));
        assert_eq!(per_second.keys().last(), Some(&60));
        assert!(
            per_second.values().all(|n| *n == 1_000),
            "consecutive connections are spread evenly: {per_second:?}"
        );
    }

    #[test]
    fn blocks_of_connections_are_spread_over_every_second_too() {
        let idle = Duration::from_secs(60);
        let mut per_second = std::collections::BTreeMap::new();
        for id in 1..=31_000u64 {
            *per_second
                .entry(keepalive_idle_of_block(id / KEEPALIVE_STEP, idle).as_secs())
                .or_insert(0u64) += 1;
        }
        assert_eq!(
            per_second.len(),
            31,
            "every second of the spread: {per_second:?}"
        );
        assert!(
            per_second
                .values()
                .all(|n| n.abs_diff(1_000) <= KEEPALIVE_STEP),
            "evenly, to within a block: {per_second:?}"
        );
    }

    /// What `Listener` counts on to set no keepalive per connection: Linux copies the listener's
    /// keepalive settings and user timeout to each accepted connection, as they are when it connects.
    #[cfg(target_os = "linux")]
    #[test]
    fn accepted_connections_inherit_the_listeners_keepalive() {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sock = socket2::SockRef::from(&listener);
        let probes = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(37))
            .with_interval(Duration::from_secs(7))
            .with_retries(KEEPALIVE_PROBES);
        sock.set_tcp_keepalive(&probes).unwrap();
        sock.set_tcp_user_timeout(Some(Duration::from_secs(90)))
            .unwrap();
        let _first = TcpStream::connect(addr).unwrap();
        let (first, _) = listener.accept().unwrap();
        // The listener's first-probe time moves on: only later connections get the new one.
        sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(Duration::from_secs(41)))
            .unwrap();
        let _second = TcpStream::connect(addr).unwrap();
        let (second, _) = listener.accept().unwrap();
        for (accepted, time) in [(&first, 37), (&second, 41)] {
            let s = socket2::SockRef::from(accepted);
            assert!(s.keepalive().unwrap());
            assert_eq!(s.tcp_keepalive_time().unwrap(), Duration::from_secs(time));
            assert_eq!(s.tcp_keepalive_interval().unwrap(), Duration::from_secs(7));
            assert_eq!(s.tcp_keepalive_retries().unwrap(), KEEPALIVE_PROBES);
            assert_eq!(s.tcp_user_timeout().unwrap(), Some(Duration::from_secs(90)));
        }
    }

    /// The setting reaches every connection the listener accepts, both ways: `TCP_NODELAY` by
    /// default, Nagle's algorithm on without it (the `nagle` setting).
    #[test]
    fn accepted_connections_get_the_nodelay_setting() {
        use std::net::{TcpListener, TcpStream};
        for nodelay in [false, true] {
            let raw = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = raw.local_addr().unwrap();
            let listener = Listener::new(raw, false, false, None, nodelay).unwrap();
            let _client = TcpStream::connect(addr).unwrap();
            let accepted = loop {
                match listener.listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1))
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            };
            if !listener.inherited_nodelay {
                accepted.set_nodelay(nodelay).unwrap();
            }
            assert_eq!(accepted.nodelay().unwrap(), nodelay, "nodelay {nodelay}");
        }
    }

    #[test]
    fn a_short_idle_time_is_never_zero_or_longer() {
        for secs in [0, 1, 2, 3] {
            for id in 1..10 {
                let first = keepalive_idle(ConnId(id), Duration::from_secs(secs));
                assert!(first >= Duration::from_secs(1));
                assert!(first <= Duration::from_secs(secs.max(1)));
            }
        }
    }
}
