//! The relay's only contact with the kernel's readiness interface: one edge-triggered epoll set and
//! `accept4`, straight through libc.
//!
//! Not the `polling` crate the generator uses: each of its waits takes a lock and re-arms a timerfd and
//! that timer's epoll entry (two more system calls per wait), work the relay must not do if it is to
//! be the floor under natter's cost.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One epoll set, closed when dropped.
pub struct Epoll {
    fd: OwnedFd,
}

/// What epoll reported for one registered descriptor.
#[derive(Clone, Copy)]
pub struct Ready {
    pub key: u64,
    pub readable: bool,
    pub writable: bool,
    /// The peer hung up or the socket failed: reading tells which, and ends it.
    pub hangup: bool,
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `fd` for input and output, edge-triggered, reporting `key`. A descriptor closed later
    /// leaves the set by itself (the kernel drops it on the last close).
    pub fn add(&self, fd: RawFd, key: u64) -> io::Result<()> {
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

    /// Waits up to `timeout_ms` (-1: until something is ready) and fills `out` with what is ready.
    pub fn wait(
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
        let hup = (libc::EPOLLHUP | libc::EPOLLRDHUP | libc::EPOLLERR) as u32;
        out.extend(raw[..n as usize].iter().map(|ev| {
            let flags = ev.events;
            Ready {
                key: ev.u64,
                readable: flags & libc::EPOLLIN as u32 != 0,
                writable: flags & libc::EPOLLOUT as u32 != 0,
                hangup: flags & hup != 0,
            }
        }));
        Ok(())
    }
}

/// A zeroed event array for [`Epoll::wait`].
pub fn events(n: usize) -> Vec<libc::epoll_event> {
    vec![libc::epoll_event { events: 0, u64: 0 }; n]
}

/// Accepts one waiting connection, already non-blocking (one system call, where std's `accept` and
/// `set_nonblocking` make two). `Ok(None)`: nobody is waiting.
pub fn accept(listener: RawFd) -> io::Result<Option<OwnedFd>> {
    loop {
        // SAFETY: null address pointers are allowed (the peer's address is not wanted).
        let fd = unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: a new descriptor from the kernel, owned by nobody else.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => return Ok(None),
            io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
            _ => return Err(e),
        }
    }
}
