//! The readiness loop: every client socket and listener in one edge-triggered epoll set (`epoll`),
//! looked at once per driver turn.
//!
//! Each turn the driver takes what the kernel says is ready, without waiting: a listener's waiting
//! connections are accepted (`accept`; what each sent already is read at the end of the turn, before
//! it joins the set), a readable connection is read until it would block into the
//! buffer all share and its lines go to the inbox (`conn::read_ready`), a writable one finishes a
//! queue the kernel refused before (`conn::write_ready`). When there is nothing to do the driver
//! sleeps in the same set (`sleep`), its timeout the server's next deadline, with the driver's
//! doorbell (`bell`) in the set for everything else that may wake it; what that wait reports is
//! what the next turn takes. A connection is registered once and needs no task, no waker and no
//! re-arming; it leaves the set when it is closed.
//!
//! An edge comes once: a connection whose input is not read when it comes (the core paused it, a
//! cluster gate holds it, a TLS connection the core has not spoken to yet, the inbox is full, or it
//! has had its share of the turn) stays marked readable and is kept here, and read in a later turn.
//! Whether it may be read is the core's to say (through the flags the driver sets); this decides
//! nothing.

use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use async_io::Async;
use smol::LocalExecutor;

use super::Shared;
use super::accept::{Accepted, Fresh, Listener, admit};
use super::bell::Bell;
use super::conn::{Read_, read_ready, write_ready};
use super::conn_state::State;
use super::epoll::{Epoll, Ready, events};
use natter_core::server::ConnId;

/// Keys from here up are listeners (by index); below are connections (by id, which a cluster node's
/// number in the high bits keeps far below this).
const LISTENERS: u64 = u64::MAX - 4096;
/// The driver's doorbell's key: below the listeners, far above any connection.
const BELL: u64 = LISTENERS - 1;

/// The client sockets' readiness, and what is left to read.
pub(super) struct Readiness {
    /// The epoll set: every client socket, the listeners and the bell.
    epoll: Epoll,
    /// Rung to wake the driver from its sleep in `epoll`.
    bell: Arc<Bell>,
    listeners: Vec<Listener>,
    raw: Vec<libc::epoll_event>,
    ready: Vec<Ready>,
    /// `ready` holds what the last sleep reported, for the next turn (which then does not ask again).
    woken: bool,
    /// Connections with input left for a later turn (see the module's text).
    unread: Vec<ConnId>,
    /// Connections accepted this turn, read and added to the set at its end (`accept::admit`).
    fresh: Vec<Fresh>,
    max_line: usize,
    max_outbound: usize,
    /// False once the server is shutting down: new connections wait in the kernel's queue, and are
    /// reset when the listener closes.
    accepting: bool,
}

impl Readiness {
    /// Puts `listeners` (each: the socket, whether it speaks IRC, and whether over WebSocket) in a
    /// new epoll set.
    pub(super) fn new(
        listeners: Vec<(std::net::TcpListener, bool, bool)>,
        keepalive: Option<Duration>,
        nodelay: bool,
        max_line: usize,
        max_outbound: usize,
    ) -> io::Result<Readiness> {
        let epoll = Epoll::new()?;
        let mut all = Vec::with_capacity(listeners.len());
        for (i, (listener, irc, ws)) in listeners.into_iter().enumerate() {
            let listener = Listener::new(listener, irc, ws, keepalive, nodelay)?;
            epoll.add(listener.fd(), LISTENERS + i as u64)?;
            all.push(listener);
        }
        let bell = Arc::new(Bell::new()?);
        epoll.add_input(bell.fd(), BELL)?;
        Ok(Readiness {
            epoll,
            bell,
            listeners: all,
            raw: events(),
            ready: Vec::new(),
            woken: false,
            unread: Vec::new(),
            fresh: Vec::new(),
            max_line,
            max_outbound,
            accepting: true,
        })
    }

    /// Accepts no more connections (shutting down).
    pub(super) fn stop_accepting(&mut self) {
        self.accepting = false;
    }

    /// One look at what is ready, and everything done about it. Returns whether input is left that
    /// may be read now (a connection that had its share of the turn): the driver must come back
    /// before it sleeps, since no edge will say so again.
    pub(super) fn turn(&mut self, shared: &Rc<Shared>, ex: &LocalExecutor<'static>) -> bool {
        if self.accepting && shared.accept_again.take() {
            for i in 0..self.listeners.len() {
                self.accept(i, shared, ex);
            }
        }
        let mut ready = std::mem::take(&mut self.ready);
        if !std::mem::take(&mut self.woken)
            && let Err(e) = self.epoll.wait(&mut self.raw, &mut ready, 0)
        {
            tracing::error!("cannot wait for the sockets: {e}");
        }
        // What earlier turns left first: it has waited longest.
        let earlier = std::mem::take(&mut self.unread);
        for &conn in &earlier {
            if let Read_::Left = read_ready(shared, conn, self.max_outbound) {
                self.unread.push(conn);
            }
        }
        for r in &ready {
            if r.key == BELL {
                // Rung while the driver was awake: whatever rang it, the driver looks at before
                // it sleeps.
                self.bell.answer();
                continue;
            }
            if r.key >= LISTENERS {
                if self.accepting {
                    self.accept((r.key - LISTENERS) as usize, shared, ex);
                }
                continue;
            }
            let conn = ConnId(r.key);
            if r.writable {
                write_ready(shared, conn);
            }
            if r.readable {
                match shared.conns.borrow_mut().get_mut(&conn) {
                    Some(io) => {
                        io.state.insert(State::READABLE);
                        if r.hangup {
                            io.state.insert(State::HUNG_UP);
                        }
                    }
                    None => continue,
                }
                if let Read_::Left = read_ready(shared, conn, self.max_outbound) {
                    self.unread.push(conn);
                }
            }
        }
        if !self.fresh.is_empty() {
            admit(shared, &self.epoll, &mut self.fresh, self.max_outbound);
        }
        self.ready = ready;
        self.ready.clear();
        self.unread.sort_unstable();
        self.unread.dedup();
        self.unread.retain(|conn| {
            let conns = shared.conns.borrow();
            conns.get(conn).is_some_and(|io| {
                io.state.contains(State::READABLE) && !io.state.contains(State::ENDED)
            })
        });
        self.may_read_more(shared)
    }

    /// The driver's doorbell: ringing it (or waking it as a [`Waker`](std::task::Waker)) ends a
    /// sleep.
    pub(super) fn bell(&self) -> &Arc<Bell> {
        &self.bell
    }

    /// The epoll set's descriptor, duplicated (for a wait in async-io's reactor).
    pub(super) fn epoll_fd(&self) -> io::Result<std::os::fd::OwnedFd> {
        self.epoll.try_clone_fd()
    }

    /// Sleeps until a socket or a listener is ready, the bell rings, or `timeout` passes (`None`:
    /// no deadline). What is ready is kept for the next turn. Rounded up to the millisecond: a
    /// deadline is never met early, so the turn after the wait finds it due.
    pub(super) fn sleep(&mut self, timeout: Option<Duration>) {
        let ms = timeout.map_or(-1, |t| {
            i32::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
        });
        if let Err(e) = self.epoll.wait(&mut self.raw, &mut self.ready, ms) {
            tracing::error!("cannot wait for the sockets: {e}");
        }
        if self.ready.iter().any(|r| r.key == BELL) {
            self.bell.answer();
        }
        self.woken = true;
    }

    /// Whether a connection's input waits unread that may be read now: the driver must take
    /// another turn before it sleeps, since no edge will say so again.
    pub(super) fn may_read_more(&self, shared: &Shared) -> bool {
        let conns = shared.conns.borrow();
        !shared.inbox.borrow().is_full()
            && self
                .unread
                .iter()
                .any(|conn| conns.get(conn).is_some_and(|io| io.may_read()))
    }

    /// Accepts what waits on listener `i`; if it must be tried again later, arranges that.
    fn accept(&mut self, i: usize, shared: &Rc<Shared>, ex: &LocalExecutor<'static>) {
        let Some(listener) = self.listeners.get_mut(i) else {
            return;
        };
        if let Accepted::RetryAfter(after) =
            listener.accept_all(shared, self.max_line, &mut self.fresh)
            && !shared.accept_retry.replace(true)
        {
            // The listener's edge has passed: a timer brings the driver back to try again.
            let shared = shared.clone();
            ex.spawn(async move {
                smol::Timer::after(after).await;
                shared.accept_retry.set(false);
                shared.accept_again.set(true);
                shared.wake_driver();
            })
            .detach();
        }
    }
}

/// The listening socket inside an async one, for the readiness loop.
pub(super) fn std_listener(listener: async_net::TcpListener) -> io::Result<std::net::TcpListener> {
    let shared: std::sync::Arc<Async<std::net::TcpListener>> = listener.into();
    match std::sync::Arc::try_unwrap(shared) {
        Ok(only) => only.into_inner(),
        Err(shared) => shared.get_ref().try_clone(),
    }
}
