//! The driver's writing side: each released line rendered once onto the connections' queues, one
//! `write` per connection that got output (the rest when the socket says it is writable, if it was
//! full), held notices
//! written when the pacer says, connections closed once what is queued for them is written, and memory
//! given back after a burst.

use super::conn::{CLOSING_HANDSHAKE_GRACE, Flush, drop_conn};
use super::conn_state::State;
use super::driver::Driver;
use super::inbox::Input;
use crate::shell::memory::release_free_memory;
use natter_core::protocol::ServerMsg;
use natter_core::server::oplog::Refusal;
use natter_core::server::pacing::{Lane, Queued, Write};
use natter_core::server::{ConnId, Effect};
use natter_core::time::Timestamp;

impl Driver {
    /// Closes `conn` once what is queued for it is written (by the next [`Self::flush_dirty`]).
    pub(super) fn close_after_flush(&mut self, conn: ConnId) {
        if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
            io.state.insert(State::CLOSING);
            if !io.state.contains(State::DIRTY) {
                io.state.insert(State::DIRTY);
                self.dirty.push(conn);
            }
        }
    }

    /// Gone idle after a burst (the server side says when it is worth it): shrink the batch buffers
    /// back and return the memory the burst freed to the system.
    pub(super) fn tidy(&mut self) {
        self.shared.written.set(0);
        self.batch.shrink();
        self.shared.inbox.borrow_mut().shrink();
        self.scratch = Vec::new();
        self.shared.spares.borrow_mut().clear();
        self.shared.conns.borrow_mut().shrink();
        self.dirty.shrink_to(1024);
        for held in &mut self.held {
            held.shrink_to(1024);
        }
        self.committer.tidy();
        release_free_memory();
    }

    /// Marks every connection holding notices in `lane` for writing (by the next
    /// [`Self::flush_dirty`]).
    pub(super) fn release_held(&mut self, lane: Lane) {
        let mut conns = self.shared.conns.borrow_mut();
        for conn in self.held[lane.index()].drain(..) {
            let Some(io) = conns.get_mut(&conn) else {
                continue;
            };
            io.state.remove(State::held(lane));
            // Written meanwhile with other lines, or not: only a queue with bytes is worth a write.
            if !io.state.contains(State::DIRTY) && io.queued() > 0 {
                io.state.insert(State::DIRTY);
                self.dirty.push(conn);
            }
        }
    }

    /// Renders one released batch's lines onto the connections' queues (written by
    /// [`Self::flush_dirty`]).
    pub(super) fn carry_out(&mut self, mut sends: Vec<Effect>, now: Timestamp) {
        // Read where they are, not moved out one by one (an effect is large); what is left of them
        // is dropped with the batch's room given back.
        for effect in sends.iter_mut() {
            match effect {
                // Rendered straight onto the connection's queue; a message's text given back.
                Effect::Send { to, msg } => {
                    self.queue_paced(&[*to], Some(msg), false, now);
                    if let ServerMsg::Message { text, .. } = msg {
                        self.server.recycle_text(std::mem::take(text));
                    }
                }
                Effect::SendMany { to, msg } => {
                    // Rendered once, copied to each recipient's queue.
                    self.scratch.clear();
                    self.renderer.render_into(msg, &mut self.scratch);
                    self.queue_paced(to, Some(msg), true, now);
                }
                Effect::SendRaw { to, bytes, .. } => {
                    self.scratch = std::mem::take(bytes);
                    self.queue_paced(&[*to], None, true, now);
                }
                Effect::Close { conn } => self.close_after_flush(*conn),
                Effect::AdminAnswer { request, answer } => {
                    let answer = std::mem::replace(answer, Ok(String::new()));
                    self.answer_admin(*request, answer)
                }
                other => tracing::error!("the outbox keeps records and controls: {other:?}"),
            }
        }
        // Its room serves the next batch.
        self.server.recycle(sends);
    }

    /// Appends a line to the queue of each connection in `to`, to be written when the pacer says
    /// (`msg` none: with the batch): `self.scratch` (`msg` rendered, or lines already in the
    /// connection's dialect) if `in_scratch`, else `msg` rendered straight onto the queue (or, where
    /// the queue frames lines from a copy, into `self.scratch` first). Drops a connection whose queue
    /// would pass the bound (a client that stopped reading must not hold the server's memory or
    /// slow the others).
    ///
    /// One line to many (a presence notice to everyone online) is the hot case: the tables are
    /// borrowed and the line's kind looked at once for all of them, not once per recipient.
    fn queue_paced(
        &mut self,
        to: &[ConnId],
        msg: Option<&ServerMsg>,
        in_scratch: bool,
        now: Timestamp,
    ) {
        let max = self.opts.max_outbound;
        let waits = msg.and_then(Lane::waiting);
        let more = waits.is_none();
        let mut slow = Vec::new();
        let mut conns = self.shared.conns.borrow_mut();
        let mut spares = self.shared.spares.borrow_mut();
        for &conn in to {
            let Some(io) = conns.get_mut(&conn) else {
                continue;
            };
            // The connection's flags, read before its queue is written and written back once
            // after, never read back in between: the copy of the line into the queue (a buffer
            // that, with thousands of recipients, is seldom in cache) stays in flight meanwhile,
            // and a read of the flags that part of a store in flight changed waits for every
            // store before it to reach the cache. Setting one flag inside the push and reading
            // them all here afterwards was a quarter of the server's time in a fanout to 10,000.
            let mut flags = io.state;
            let mut pushed = false;
            if !in_scratch && let Some(msg) = msg {
                // (A queue already past the bound is not written onto: it is dropped below.)
                pushed = io.queued() <= max
                    && io.push_rendered(more, &mut spares, |queue| {
                        self.renderer.render_into(msg, queue)
                    });
                if !pushed {
                    self.scratch.clear();
                    self.renderer.render_into(msg, &mut self.scratch);
                }
            }
            let over = if pushed {
                io.queued() > max
            } else {
                io.queued() + self.scratch.len() > max
            };
            if over {
                tracing::debug!("{conn} is not reading; dropped after {max} bytes queued");
                slow.push(io.stream.peer_addr());
                drop_conn(&mut conns, conn);
                self.followups.push_back(conn);
                continue;
            }
            if !pushed {
                io.push(&self.scratch, more, &mut spares);
            }
            // Its input may be waiting for a first line before the handshake (read in the
            // driver's next turn).
            flags.insert(State::HEARD);
            let state = Queued {
                due: flags.contains(State::DIRTY),
                bytes: io.queued(),
            };
            let write = match msg {
                Some(_) => self.server.pace_in(waits, state, now),
                None => Write::WithBatch,
            };
            match write {
                Write::WithBatch => {
                    if !flags.contains(State::DIRTY) {
                        flags.insert(State::DIRTY);
                        self.dirty.push(conn);
                    }
                }
                Write::Hold(lane) => {
                    if !flags.contains(State::held(lane)) {
                        flags.insert(State::held(lane));
                        self.held[lane.index()].push(conn);
                    }
                }
            }
            io.state = flags;
        }
        drop((conns, spares));
        // The operator hears of it summed up per address: a slow reader is dropped without a word,
        // and many of them must not write the log at their pace. (Told after the line went to all:
        // what the telling carries out must not take the line's place in `scratch` meanwhile.)
        for peer in slow.into_iter().flatten() {
            self.note_refusal(peer.ip(), Refusal::SlowReader, now);
        }
    }

    /// One write per connection that got output; a full socket is finished when it says it is
    /// writable (the readiness loop), a closed one is gone.
    pub(super) fn flush_dirty(&mut self) {
        self.server.wrote();
        let mut conns = self.shared.conns.borrow_mut();
        let mut spares = self.shared.spares.borrow_mut();
        for conn in self.dirty.drain(..) {
            let Some(io) = conns.get_mut(&conn) else {
                continue;
            };
            io.state.remove(State::DIRTY);
            if io.state.contains(State::BLOCKED) {
                continue;
            }
            self.shared
                .written
                .set(self.shared.written.get() + io.queued());
            match io.flush(&mut spares) {
                Flush::Done => {
                    if io.state.take(State::WATCH_DRAIN) {
                        self.shared.push(Input::Drained { conn });
                    }
                    if io.state.contains(State::CLOSING) {
                        drop_conn(&mut conns, conn);
                    }
                }
                Flush::Blocked => io.state.insert(State::BLOCKED),
                Flush::Handshaking => {
                    // Its reads flush it again when the handshake is over; a client that never
                    // finishes it is dropped after a grace period.
                    if !io.state.put(State::REAPED) {
                        let shared = self.shared.clone();
                        self.ex
                            .spawn(async move {
                                smol::Timer::after(CLOSING_HANDSHAKE_GRACE).await;
                                drop_conn(&mut shared.conns.borrow_mut(), conn);
                            })
                            .detach();
                    }
                }
                Flush::Failed => {
                    drop_conn(&mut conns, conn);
                    self.followups.push_back(conn);
                }
            }
        }
    }

    /// Closes every connection, waiting (boundedly) for what is queued to be written. No new
    /// connection is accepted meanwhile.
    pub(super) fn close_all(&mut self) {
        self.readiness.stop_accepting();
        let rest: Vec<ConnId> = self.shared.conns.borrow().keys().copied().collect();
        for conn in rest {
            if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                io.state.insert(State::CLOSING);
                io.state.insert(State::DIRTY);
            }
            self.dirty.push(conn);
        }
        self.flush_dirty();
        let deadline = std::time::Instant::now() + self.opts.shutdown_grace;
        while !self.shared.conns.borrow().is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            self.readiness.sleep(Some(left));
            while self.ex.try_tick() {}
            // Full sockets take the rest of their queue; a TLS handshake a goodbye waits for goes on.
            self.readiness.turn(&self.shared, &self.ex);
            self.take_flush_requests();
            self.flush_dirty();
        }
        let rest: Vec<ConnId> = self.shared.conns.borrow().keys().copied().collect();
        for conn in rest {
            drop_conn(&mut self.shared.conns.borrow_mut(), conn);
        }
    }
}
