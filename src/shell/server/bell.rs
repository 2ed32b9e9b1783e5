//! The driver's doorbell: an eventfd in the readiness loop's epoll set, rung by whatever must wake the
//! driver while it sleeps in `epoll_wait` (a task of its executor woken by another thread, the
//! commit thread's report, the stop signal).
//!
//! Why an eventfd rather than the async runtime's wait: the driver sleeps in the same `epoll_wait`
//! that reports the sockets, with the server's next deadline as its timeout, so a turn costs one
//! system call to wait and none to arm a timer or re-register a descriptor. The bell is a
//! [`Waker`](std::task::Waker), so anything that wakes a future can ring it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Wake;

/// One eventfd, and whether it has been rung since the driver last looked (so a burst of wake-ups
/// costs one `write`).
pub(super) struct Bell {
    fd: OwnedFd,
    rung: AtomicBool,
}

impl Bell {
    pub(super) fn new() -> io::Result<Bell> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Bell {
            // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            rung: AtomicBool::new(false),
        })
    }

    pub(super) fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Wakes the driver (once until it has looked).
    pub(super) fn ring(&self) {
        if !self.rung.swap(true, Ordering::AcqRel) {
            let one = 1u64.to_ne_bytes();
            // SAFETY: writes 8 bytes from a local array, valid for the call. It can only fail if the
            // counter is about to overflow, which needs 2^64 rings without a look: then the driver
            // is awake anyway.
            let _ = unsafe { libc::write(self.fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        }
    }

    /// The driver heard the bell: later rings write again. Called before the driver looks at what
    /// may have rung it, so that nothing pushed after the look goes unheard.
    ///
    /// The eventfd is emptied first and the flag cleared after. The other order loses the bell for
    /// good: a ring between clearing and reading sets the flag and writes, the read takes that write
    /// away, and with the flag set and nothing to read no later ring writes, so no later `epoll_wait`
    /// reports the bell and nothing clears the flag again. In this order a ring between the two
    /// finds the flag still set and writes nothing, which loses nothing: what rang is pushed before
    /// the ring, so the look that follows the answer sees it.
    pub(super) fn answer(&self) {
        let mut count = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a local array, valid for the call. Non-blocking: with
        // nothing to read it returns an error, which changes nothing.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
        self.rung.store(false, Ordering::Release);
    }
}

impl Wake for Bell {
    fn wake(self: Arc<Self>) {
        self.ring();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ring();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `bell`'s eventfd is readable within `timeout_ms` (0: now), as `epoll_wait` would say.
    fn readable(bell: &Bell, timeout_ms: i32) -> bool {
        let mut p = libc::pollfd {
            fd: bell.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        unsafe { libc::poll(&mut p, 1, timeout_ms) == 1 }
    }

    #[test]
    fn a_ring_is_heard_once_and_rings_again_after_an_answer() {
        let bell = Arc::new(Bell::new().unwrap());
        assert!(!readable(&bell, 0));
        std::task::Waker::from(bell.clone()).wake_by_ref();
        bell.ring();
        assert!(readable(&bell, 0));
        bell.answer();
        assert!(!readable(&bell, 0));
        bell.ring();
        assert!(readable(&bell, 0));
    }

    /// A ring from another thread while the driver answers is never lost, however they interleave:
    /// the driver (here, a loop that answers only when the eventfd says it was rung, as the
    /// readiness loop does) keeps hearing a ringer that rings without pause. Answering by clearing
    /// the flag before reading the eventfd lost this: a ring between the two set the flag and wrote,
    /// the read took its write away, and every later ring saw the flag set and wrote nothing, so the
    /// driver slept through all of them (a commit report, a password check's answer, the stop)
    /// until a socket or a deadline woke it. Against that order this test fails in under a second,
    /// most often at the first answer.
    #[test]
    fn a_ring_during_an_answer_is_not_lost() {
        let bell = Arc::new(Bell::new().unwrap());
        let ringer = {
            let bell = bell.clone();
            std::thread::spawn(move || {
                let began = std::time::Instant::now();
                while began.elapsed() < std::time::Duration::from_secs(1) {
                    bell.ring();
                }
            })
        };
        let mut answers = 0u64;
        while readable(&bell, 500) {
            bell.answer();
            answers += 1;
        }
        // Half a second without a ring: either the ringer is done, or the bell went deaf.
        assert!(
            ringer.is_finished(),
            "the bell went deaf after {answers} answers while still being rung"
        );
        ringer.join().unwrap();
        assert!(answers > 0);
    }
}
