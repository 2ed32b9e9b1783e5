//! The yes-or-no parts of a connection's state ([`ConnIo`](super::conn::ConnIo)), one bit each:
//! thirteen `bool`s were thirteen bytes (sixteen, aligned) of every connection the server holds.
//! Sixteen flags fill it.

use natter_core::server::pacing::Lane;

bitflags::bitflags! {
    /// What is true of one connection now. See each flag.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(super) struct State: u16 {
        /// The kernel refused part of the queue: the rest is written when the socket says it is
        /// writable again (the driver leaves it alone meanwhile).
        const BLOCKED = 1 << 0;
        /// The socket said it has input that was not read yet (paused, held, a full inbox, or its
        /// share of this turn taken): an edge does not come again, so it is read when that ends.
        const READABLE = 1 << 1;
        /// The peer hung up (or the socket failed): its input is read to the end, however it comes.
        const HUNG_UP = 1 << 2;
        /// Nothing received yet: the first bytes tell a TLS client from a plain-text one.
        const FRESH = 1 << 3;
        /// Reading ended (the client closed, an error, a refusal): the core has been told, or will
        /// be.
        const ENDED = 1 << 4;
        /// Close once everything queued is written.
        const CLOSING = 1 << 5;
        /// Already in the driver's list of connections to flush at the end of this batch.
        const DIRTY = 1 << 6;
        /// In the driver's list of connections holding prompts that may wait (see
        /// [`ServerMsg::can_wait`](natter_core::protocol::ServerMsg::can_wait) and [`Lane`]).
        const HELD_PROMPT = 1 << 7;
        /// In the driver's list of connections holding presence notices that may wait.
        const HELD_PRESENCE = 1 << 8;
        /// The core holds this connection's lines (flood control): it is not read until resumed.
        const PAUSED = 1 << 9;
        /// A cluster node holds this connection's lines before login (its gate is full): not read
        /// either.
        const GATED = 1 << 10;
        /// The core asked to hear when everything queued so far is written.
        const WATCH_DRAIN = 1 << 11;
        /// Closing before its TLS handshake was over: it is dropped after a grace period, if still
        /// here.
        const REAPED = 1 << 12;
        /// The core has said something to this connection (its first prompt, or a goodbye): on a
        /// TLS connection, no byte of the handshake is read before, so that a connection the core
        /// turns away (too many new ones from its address) costs no handshake.
        const HEARD = 1 << 13;
        /// A TLS connection whose records wait in its layers for the socket: what is queued for
        /// it is counted there too. Without it, everything queued is in the connection's own
        /// queue, and a line to many TLS readers is queued (and the queue's length read) without
        /// looking into each one's layers, which are elsewhere in memory.
        const SEALED = 1 << 14;
        /// IRC over WebSocket: each line is framed by the connection's WebSocket layer on its way
        /// out (said here so that queueing a line need not look into the layers to find out).
        const WEBSOCKET = 1 << 15;
    }
}

impl State {
    /// The flag of a connection held in `lane`'s list.
    pub(super) fn held(lane: Lane) -> State {
        match lane {
            Lane::Prompt => State::HELD_PROMPT,
            Lane::Presence => State::HELD_PRESENCE,
        }
    }

    /// Clears `flag`, saying whether it was set.
    pub(super) fn take(&mut self, flag: State) -> bool {
        let was = self.contains(flag);
        self.remove(flag);
        was
    }

    /// Sets `flag`, saying whether it was set already.
    pub(super) fn put(&mut self, flag: State) -> bool {
        let was = self.contains(flag);
        self.insert(flag);
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_and_put_say_what_was() {
        let mut s = State::FRESH;
        assert!(!s.put(State::DIRTY));
        assert!(s.put(State::DIRTY));
        assert!(s.take(State::DIRTY));
        assert!(!s.take(State::DIRTY));
        assert_eq!(s, State::FRESH);
        assert_ne!(State::held(Lane::Prompt), State::held(Lane::Presence));
    }
}
