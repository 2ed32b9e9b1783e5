//! Opening client connections: non-blocking, no Nagle delay, spread over several source addresses.
//!
//! One source address has about 28,000 ephemeral ports (`net.ipv4.ip_local_port_range`), and a closed
//! connection can hold its port in TIME_WAIT for a minute, so runs of tens of thousands of connections,
//! or login churn, spread their sockets over `127.0.0.1`, `127.0.0.2`, … (every `127/8` address is the
//! loopback interface, no setup needed). `IP_BIND_ADDRESS_NO_PORT` lets the kernel choose the port at
//! `connect` time knowing the destination, so ports are only unique per 4-tuple.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, SockRef, Socket, Type};

/// Dials the server from a rotating set of source addresses.
pub struct Dialer {
    /// The servers; user `u` goes to number `u % len`.
    servers: Vec<SocketAddr>,
    sources: Vec<IpAddr>,
    next: usize,
}

impl Dialer {
    /// `sources` addresses from `127.0.0.1` up when the server is on IPv4 loopback; otherwise the
    /// kernel picks the source.
    pub fn new(servers: Vec<SocketAddr>, sources: u8, first: usize) -> Dialer {
        let sources: Vec<IpAddr> = match servers[0].ip() {
            IpAddr::V4(ip) if ip.is_loopback() => (1..=sources.max(1))
                .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
                .collect(),
            _ => Vec::new(),
        };
        Dialer {
            servers,
            next: first % sources.len().max(1),
            sources,
        }
    }

    /// Starts a connection; it is writable once established (or failed: see [`connect_result`]).
    pub fn dial(&mut self, user: u32) -> io::Result<TcpStream> {
        let server = self.servers[user as usize % self.servers.len()];
        let domain = Domain::for_address(server);
        let sock = Socket::new(domain, Type::STREAM, None)?;
        sock.set_nonblocking(true)?;
        sock.set_tcp_nodelay(true)?;
        if !self.sources.is_empty() {
            let src = self.sources[self.next];
            self.next = (self.next + 1) % self.sources.len();
            bind_address_no_port(&sock);
            sock.bind(&SocketAddr::new(src, 0).into())
                .map_err(|e| explain(e, src))?;
        }
        match sock.connect(&server.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(explain(e, server.ip())),
        }
        Ok(sock.into())
    }
}

fn bind_address_no_port(sock: &Socket) {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket, option and int-sized value. Failure only means ports are reserved at bind.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn explain(e: io::Error, addr: IpAddr) -> io::Error {
    let hint = match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL) | Some(libc::EADDRINUSE) => {
            format!("out of local ports on {addr}: spread connections with more --sources")
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            "out of file descriptors: use fewer connections (the limit is per process)".into()
        }
        _ => format!("connecting via {addr}"),
    };
    io::Error::new(e.kind(), format!("{e} ({hint})"))
}

/// Whether a connection that became writable is established, or why it failed.
pub fn connect_result(stream: &TcpStream) -> io::Result<()> {
    match stream.take_error()? {
        Some(e) => Err(e),
        None => stream.peer_addr().map(|_| ()),
    }
}

/// Closes with a reset instead of a FIN, so the generator's side keeps no TIME_WAIT port. Used only
/// at the end of a run, when nothing more is owed to the server.
pub fn abort(stream: &TcpStream) {
    let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
