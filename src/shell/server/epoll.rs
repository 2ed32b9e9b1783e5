//! The client sockets' one contact with the kernel's readiness interface: one edge-triggered epoll set
//! and `accept4`, straight through libc (Linux).
//!
//! Why not async-io's reactor, which the server's other tasks use: it registers each socket
//! one-shot and re-arms it after every wake-up (five `epoll_ctl` per login), sets each accepted socket
//! non-blocking with an `ioctl`, and needs a task and a source per connection (about 620 bytes). Here
//! a socket is added once, edge-triggered, and leaves the set by itself when it is closed. Why not the
//! `polling` crate's edge mode: each of its waits takes a lock and re-arms a timerfd and an eventfd
//! (four more system calls per wait).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One epoll set, closed when dropped. The driver sleeps in it (`wait`), with the server's next
/// deadline as the timeout and its doorbell (`bell`) among the descriptors.
pub(super) struct Epoll {
    fd: OwnedFd,
}

/// What epoll reported for one registered descriptor.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ready {
    pub(super) key: u64,
    /// Input waits, or the peer hung up or the socket failed (a read tells which, and ends it).
    pub(super) readable: bool,
    pub(super) writable: bool,
    /// The peer hung up or the socket failed: a short read is not the end of what to read.
    pub(super) hangup: bool,
}

/// Events taken per wait; more wait for the next one.
pub(super) const EVENTS: usize = 1024;

/// A zeroed event array for [`Epoll::wait`].
pub(super) fn events() -> Vec<libc::epoll_event> {
    vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS]
}

impl Epoll {
    pub(super) fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll {
            // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `fd` for input and output, edge-triggered, reporting `key`. A descriptor closed later
    /// leaves the set by itself (the kernel drops it on the last close): no call to remove it.
    pub(super) fn add(&self, fd: RawFd, key: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: key,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        let r = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// A second descriptor for this set (a cluster node's driver waits for it in async-io's
    /// reactor: readable while something in the set is ready).
    pub(super) fn try_clone_fd(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// Watches `fd` for input only, edge-triggered, reporting `key` (the doorbell: an eventfd is
    /// always writable, which is nothing to report).
    pub(super) fn add_input(&self, fd: RawFd, key: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: key,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        let r = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Takes what is ready into `out` (`raw`: where the kernel writes), waiting at most `timeout_ms`
    /// milliseconds for something to be (0: not at all; -1: as long as it takes). A signal ends the
    /// wait early with nothing.
    pub(super) fn wait(
        &self,
        raw: &mut [libc::epoll_event],
        out: &mut Vec<Ready>,
        timeout_ms: i32,
    ) -> io::Result<()> {
        out.clear();
        let cap = raw.len().min(i32::MAX as usize) as i32;
        // SAFETY: `raw` is valid for `cap` writable events.
        let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), raw.as_mut_ptr(), cap, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        let hangup = (libc::EPOLLHUP | libc::EPOLLRDHUP | libc::EPOLLERR) as u32;
        let input = libc::EPOLLIN as u32 | hangup;
        out.extend(raw[..n as usize].iter().map(|ev| {
            let flags = ev.events;
            Ready {
                key: ev.u64,
                readable: flags & input != 0,
                writable: flags & libc::EPOLLOUT as u32 != 0,
                hangup: flags & hangup != 0,
            }
        }));
        Ok(())
    }
}

/// Accepts one waiting connection, already non-blocking and close-on-exec (one system call, where
/// std's `accept` and `set_nonblocking` make two), with the peer's address. `Ok(None)`: nobody waits.
pub(super) fn accept(listener: RawFd) -> io::Result<Option<(TcpStream, SocketAddr)>> {
    loop {
        // SAFETY: `storage` and `len` are valid for the call; the kernel writes at most `len` bytes.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: the pointers are to the locals above, valid for the call.
        let fd = unsafe {
            libc::accept4(
                listener,
                (&raw mut storage).cast(),
                &mut len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: a new descriptor from the kernel, owned by nobody else.
            let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
            let peer = peer_address(&storage).or_else(|| stream.peer_addr().ok());
            match peer {
                Some(peer) => return Ok(Some((stream, peer))),
                // Gone already (or not IP): nobody to serve.
                None => continue,
            }
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => return Ok(None),
            io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
            _ => return Err(e),
        }
    }
}

/// The IPv4 or IPv6 address `accept4` wrote.
fn peer_address(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match storage.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large enough for.
            let a =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}
