//! One connection's I/O: its line decoder, the bytes waiting to be written, and how its reads and
//! writes go when the readiness loop (`readiness`) says its socket is ready.
//!
//! Reads go into one buffer shared by every connection (they run one at a time on the server's thread),
//! so an idle connection holds no read buffer; only an unfinished line is kept, by its decoder. Writes are
//! made directly by the driver at the end of each batch, one `write` per connection; only when the kernel
//! refuses more does the connection wait for the socket's "writable" edge to finish the job. So an idle
//! connection costs this struct and its socket: no task, no waker, no buffer.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use super::Shared;
use super::conn_state::State;
use super::inbox::Input;
use super::spares::Spares;
use super::tls_conn::TlsConn;
use super::ws_conn::WsConn;
use natter_core::protocol::{ByeReason, ServerMsg, render_line};
use natter_core::protocol::{Frame, LineDecoder};
use natter_core::server::ConnId;
use natter_core::server::oplog::Refusal;

/// The shell's side of one connection, owned by [`Shared::conns`].
///
/// 80 bytes (a test keeps it so): every connection the server holds has one, most of them idle.
/// What only a TLS or WebSocket connection uses is out of line ([`Layers`]), and the yes-or-no
/// state is one bit each ([`State`]).
pub(super) struct ConnIo {
    /// The socket. Its peer's address is not kept here: the core has it, and the operator's log
    /// asks the socket the few times it needs it (an address is 32 bytes, on every connection).
    pub(super) stream: TcpStream,
    /// What is true of the connection now: blocked, readable, closing, held, paused...
    pub(super) state: State,
    /// The lines queued for the client: on a plain-text connection what the socket takes
    /// (`out[sent..]` is still to be written); on a TLS connection the lines not yet encrypted (all
    /// of them until the handshake is over), whose records wait in its layers. Here, not in the
    /// layers, because a line to thousands of readers is queued onto each one's: over TLS too that
    /// touches the connection's entry and its queue's end, and not a third place in memory first.
    out: Vec<u8>,
    /// How much of the socket's queue is written: of `out` on a plain-text connection, of the
    /// layers' `wire` on a TLS one (0 there unless [`State::SEALED`]).
    sent: usize,
    /// Its TLS session and WebSocket layer, if it has either.
    layers: Option<Box<Layers>>,
    /// Splits what is read into lines; keeps an unfinished one.
    decoder: LineDecoder,
}

/// What a connection speaking TLS, or IRC over WebSocket, has besides: 40 bytes a plain-text
/// connection would otherwise carry unused.
#[derive(Default)]
struct Layers {
    /// The connection's TLS session, if the server speaks TLS (inline: it is why the box exists).
    tls: Option<TlsConn>,
    /// On a TLS connection, the records waiting for the socket (`wire[sent..]`): the lines
    /// encrypted, and what the session writes by itself (the handshake, alerts, answers to key
    /// updates). Not empty only while [`State::SEALED`].
    wire: Vec<u8>,
    /// On an IRC-over-WebSocket connection, its WebSocket layer (inside TLS, if any): lines are
    /// framed on their way out and unframed on their way in.
    ws: Option<Box<WsConn>>,
}

/// How a flush went.
pub(super) enum Flush {
    /// Everything queued is written.
    Done,
    /// The kernel's buffer is full; the rest waits for the socket to drain.
    Blocked,
    /// The connection is to close, but its TLS handshake is not over: what is queued (a goodbye) waits
    /// for it, and so does the close, so that the client reads why rather than a cut handshake.
    Handshaking,
    /// The connection is broken.
    Failed,
}

/// The room a connection's queue is given when a reply is queued (see [`ConnIo::push`]): a login's
/// password prompt and welcome, or a few replies, without growing line by line. The queue is handed
/// back once written (to the spares, for the next connection that gets a line).
const REPLY_ROOM: usize = 256;

/// The room an empty queue is given for a line that may wait (a presence notice, a login's first
/// prompt) when no spare buffer is kept: a few such lines, since more tend to follow before it is
/// written (each login and logout of the others, for up to the presence lane's 100 ms), where growing
/// from the line's own size reallocated at the second, third and fifth. It is held only until that
/// write, and is then just large enough for the spares to keep it for the next connection that gets
/// a line.
const HELD_ROOM: usize = 128;

/// How long a connection that is to close may take to finish its TLS handshake and read its goodbye.
pub(super) const CLOSING_HANDSHAKE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl ConnIo {
    pub(super) fn new(stream: TcpStream, tls: Option<Box<TlsConn>>, max_line: usize) -> Self {
        ConnIo {
            stream,
            state: State::FRESH,
            out: Vec::new(),
            sent: 0,
            layers: tls.map(|tls| {
                Box::new(Layers {
                    tls: Some(*tls),
                    ..Layers::default()
                })
            }),
            decoder: LineDecoder::new(max_line),
        }
    }

    /// The connection speaks IRC over WebSocket: each line travels as one message. `max_line` is
    /// the line limit, which the line decoder keeps; a message may be a good deal longer before the
    /// WebSocket layer itself gives up on it.
    pub(super) fn with_websocket(mut self, max_line: usize) -> Self {
        self.layers.get_or_insert_default().ws = Some(Box::new(WsConn::new(
            max_line.saturating_mul(4).max(16 * 1024),
        )));
        self.state.insert(State::WEBSOCKET);
        self
    }

    /// Its TLS session, if it has one.
    fn tls(&self) -> Option<&TlsConn> {
        self.layers.as_ref()?.tls.as_ref()
    }

    /// Bytes queued and not yet written (on a TLS connection, lines and records both).
    pub(super) fn queued(&self) -> usize {
        if self.state.contains(State::SEALED) {
            self.out.len() + self.layers.as_ref().map_or(0, |l| l.wire.len() - self.sent)
        } else {
            self.out.len() - self.sent
        }
    }

    /// Says whether TLS records wait in the layers ([`State::SEALED`]), after `wire` changed.
    fn sealed(state: &mut State, wire: &[u8]) {
        state.set(State::SEALED, !wire.is_empty());
    }

    /// Queues `bytes` (one rendered line). The caller marks the connection [`State::HEARD`] (see
    /// `queue_paced`, which sets its flags once per line). `more` says that more lines are likely
    /// to follow in the same write (a reply, which is never held back): a queue that must grow for
    /// it then grows at once to [`REPLY_ROOM`], instead of once per line.
    ///
    /// An empty queue without room takes a spare buffer first, if one is kept, whether its line is
    /// written with the batch (the buffer comes back at the end of the turn) or may wait (a presence
    /// notice, a login's first prompt: it comes back when its lane is due, at most a tenth of a
    /// second later). Under login churn the waiting lines are most of what is queued: when each
    /// reader of a presence notice took a new buffer from the allocator, grew it notice by notice and
    /// handed it to the spares (or back to the allocator, once they were full), the spares took in
    /// far more than they gave. With no spare kept, a waiting line gets [`HELD_ROOM`].
    pub(super) fn push(&mut self, bytes: &[u8], more: bool, spares: &mut Spares) {
        if self.out.capacity() == 0 {
            self.out = spares.take();
        }
        if self.state.contains(State::WEBSOCKET)
            && let Some(Layers { ws: Some(ws), .. }) = self.layers.as_deref_mut()
        {
            ws.send(bytes, &mut self.out);
            return;
        }
        let queue = &mut self.out;
        if more && queue.capacity() - queue.len() < bytes.len() {
            queue.reserve(bytes.len().max(REPLY_ROOM - queue.len().min(REPLY_ROOM)));
        } else if queue.capacity() == 0 {
            queue.reserve_exact(bytes.len().max(HELD_ROOM));
        }
        queue.extend_from_slice(bytes);
    }

    /// Queues one line that `render` writes straight onto the end of the queue, as [`Self::push`]
    /// queues a rendered copy (without the copy, and without a buffer to render it in first). A
    /// WebSocket connection frames each line from a rendered copy: nothing is queued there, and it
    /// says `false`.
    pub(super) fn push_rendered(
        &mut self,
        more: bool,
        spares: &mut Spares,
        render: impl FnOnce(&mut Vec<u8>),
    ) -> bool {
        if self.state.contains(State::WEBSOCKET) {
            return false;
        }
        let queue = &mut self.out;
        if queue.capacity() == 0 {
            // A spare if one is kept, as in [`Self::push`]; else room for what is likely to follow,
            // rather than growing from nothing piece by piece as the line is rendered (five
            // reallocations a login: the prompts and the welcome that follow fit either room).
            *queue = spares.take();
            if queue.capacity() == 0 {
                if more {
                    queue.reserve(REPLY_ROOM);
                } else {
                    queue.reserve_exact(HELD_ROOM);
                }
            }
        }
        render(queue);
        true
    }

    /// Whether a TLS connection's input must not be read yet, so that the handshake does not start:
    /// the core has not spoken to it, or has turned it away.
    fn holds_handshake(&self) -> bool {
        self.tls().is_some_and(|tls| !tls.has_begun())
            && (!self.state.contains(State::HEARD) || self.state.contains(State::CLOSING))
    }

    /// Whether its input may be read now: not ended, not held by the core or a cluster gate, and on
    /// a fresh TLS connection, not before the core has spoken.
    pub(super) fn may_read(&self) -> bool {
        !(self
            .state
            .intersects(State::ENDED | State::PAUSED | State::GATED)
            || (self.state.contains(State::FRESH) && self.holds_handshake()))
    }

    /// Writes what is queued, as far as the kernel takes it without blocking. On a TLS connection the
    /// lines are encrypted first, once the handshake allows (until then they wait). A queue written
    /// to the end goes to `spares`: an idle connection keeps no write buffer.
    pub(super) fn flush(&mut self, spares: &mut Spares) -> Flush {
        let closing = self.state.contains(State::CLOSING);
        if closing
            && self.state.contains(State::WEBSOCKET)
            && let Some(Layers { ws: Some(ws), .. }) = self.layers.as_deref_mut()
        {
            // The WebSocket's close frame goes after the last line (once: the layer is done then).
            ws.close(&mut self.out);
        }
        let Some(Layers {
            tls: Some(tls),
            wire,
            ..
        }) = self.layers.as_deref_mut()
        else {
            // Plain text: the lines are what the socket takes.
            let end = if closing { End::Last } else { End::More };
            return write_queue(&self.stream, &mut self.out, &mut self.sent, end, spares);
        };
        if closing && !tls.has_begun() && !self.out.is_empty() {
            // Turned away before its handshake began (the core refused it on arrival, or the
            // server is going): its goodbye, the last line queued, goes in plain text, as the
            // shell's own refusals do (see `refuse`). No handshake is spent on a connection that
            // is leaving.
            let plain = std::mem::take(&mut self.out);
            say_in_plain_text(&self.stream, last_line(&plain));
            return Flush::Done;
        }
        if !self.out.is_empty() {
            if wire.capacity() == 0 {
                *wire = spares.take();
            }
            match tls.encrypt(&self.out, wire) {
                Ok(true) => spares.give(std::mem::take(&mut self.out)),
                Ok(false) => {}
                Err(e) => {
                    tracing::debug!("TLS: {e}");
                    return Flush::Failed;
                }
            }
        }
        // A goodbye waits for the handshake (its lines are not encrypted yet); else the close is
        // said after the last record.
        let handshaking = closing && !self.out.is_empty();
        let end = if closing && !handshaking {
            tls.close_notify(wire);
            End::Last
        } else {
            End::More
        };
        let flushed = write_queue(&self.stream, wire, &mut self.sent, end, spares);
        Self::sealed(&mut self.state, wire);
        match flushed {
            Flush::Done if handshaking => Flush::Handshaking,
            other => other,
        }
    }
}

/// Whether what a flush writes is the last the connection will send.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// The connection stays open: each write goes out at once (`TCP_NODELAY`).
    More,
    /// The connection is closed as soon as the queue is written. Its writes are sent with
    /// `MSG_MORE`, which leaves the last segment unsent in the kernel, and once the queue is
    /// written the sending side is shut down: FIN is set on that segment instead of being sent in
    /// one of its own (Linux's `tcp_send_fin` does so for a tail not yet sent), so a goodbye and
    /// its close go as one packet, not two: one less for the loopback or the network to carry, and
    /// for the client's kernel to take in and acknowledge, on every logout.
    ///
    /// The shutdown is what sends it, not the close: a socket closed with input still unread
    /// (a client that sent more after its `logout` or `QUIT`) is reset, and Linux drops what it
    /// had not sent yet, so a goodbye held for the close would be lost. After the shutdown the
    /// goodbye is out, and the reset, if any, comes after it, as it did when the goodbye was sent
    /// at once. `MSG_MORE` holds data only for the send it is given to: were the socket full (a
    /// write refused part of the queue), the acknowledgements that make room push what waits, as
    /// they would without it.
    Last,
}

/// Writes `queue[*sent..]` as far as the kernel takes it without blocking. A queue written to the
/// end goes to `spares` (an idle connection keeps no write buffer); one the kernel refused part of
/// keeps the rest, moved to its front once half of it is written.
fn write_queue(
    mut stream: &TcpStream,
    queue: &mut Vec<u8>,
    sent: &mut usize,
    end: End,
    spares: &mut Spares,
) -> Flush {
    while *sent < queue.len() {
        let rest = &queue[*sent..];
        let written = match end {
            End::More => stream.write(rest),
            End::Last => socket2::SockRef::from(stream)
                .send_with_flags(rest, libc::MSG_MORE | libc::MSG_NOSIGNAL),
        };
        match written {
            Ok(0) => return Flush::Failed,
            Ok(n) => *sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if *sent >= queue.len() / 2 {
                    queue.drain(..*sent);
                    *sent = 0;
                }
                return Flush::Blocked;
            }
            Err(_) => return Flush::Failed,
        }
    }
    if end == End::Last {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    spares.give(std::mem::take(queue));
    *sent = 0;
    Flush::Done
}

/// The last line of `lines` (which end in newlines).
fn last_line(lines: &[u8]) -> &[u8] {
    let body = lines.strip_suffix(b"\n").unwrap_or(lines);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    &lines[start..]
}

/// How this server turns a connection away before a session exists to do it (out of file
/// descriptors, or the wrong protocol at the port): one `BYE` line in plain text, whatever the port
/// speaks. No TLS session exists to carry it, and starting one is what a refused connection must not
/// cost; `nc` shows the line, and natter's TLS client recognises it. One non-blocking write, best
/// effort: a refused connection gets no buffer and no registration.
///
/// The operator's log hears of it (through the driver, which sums refusals up per address).
pub(super) fn refuse(shared: &Shared, stream: &TcpStream, reason: ByeReason) {
    let bye = ServerMsg::Bye(reason);
    say_in_plain_text(stream, &render_line(&bye));
    if let (Ok(peer), Some(what)) = (stream.peer_addr(), Refusal::of(&bye)) {
        // The driver is the caller: it takes the inbox next.
        shared.push_quietly(Input::Refused { peer, what });
    }
}

/// Writes a goodbye in plain text on a connection about to close. What the client already sent
/// (a TLS hello, say) is read and dropped first: closing a socket with unread input sends a reset,
/// and a reset can make the client lose the goodbye before it reads it.
fn say_in_plain_text(stream: &TcpStream, line: &[u8]) {
    let mut stream = stream;
    let mut unread = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut unread) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let _ = stream.write(line);
}

/// The open connections' I/O state, by connection.
pub(super) type Conns = natter_core::conn_table::ConnTable<ConnIo>;

/// Forgets a connection and closes it: dropping the socket closes it, which takes it out of the
/// epoll set too. Nothing waits on it to be woken.
pub(super) fn drop_conn(conns: &mut Conns, conn: ConnId) {
    conns.remove(&conn);
}

/// How many times a connection may fill the shared buffer in one turn before the others (and the
/// driver) have theirs: a client sending a flood is read on in the next turn.
const FILLS_PER_TURN: usize = 4;

/// What reading a ready connection came to.
pub(super) enum Read_ {
    /// Everything the kernel had is read (or the connection ended, and the core is told).
    Done,
    /// Input is left that may not or cannot be read now (held, paused, a full inbox, its share of
    /// the turn taken): it stays marked readable, for a later turn.
    Left,
}

/// Reads `conn`, which the kernel said is readable, until it would block (or its turn's share is
/// taken), handing each line to the inbox. `max_outbound` bounds what may wait to be written to the
/// client, TLS records this side writes by itself (the handshake's, key updates' answers, alerts)
/// included. A connection that ended is reported `Gone` once; a refused one gets its `BYE` first.
pub(super) fn read_ready(shared: &Shared, conn: ConnId, max_outbound: usize) -> Read_ {
    for _ in 0..FILLS_PER_TURN {
        match shared.conns.borrow_mut().get_mut(&conn) {
            Some(io) if io.state.contains(State::READABLE) && io.may_read() => {}
            Some(io) if io.state.contains(State::READABLE) && !io.state.contains(State::ENDED) => {
                return Read_::Left;
            }
            _ => return Read_::Done,
        }
        if shared.inbox.borrow().is_full() {
            return Read_::Left;
        }
        let read = read_lines(shared, conn, max_outbound);
        let end = match read {
            ReadOutcome::Filled => continue,
            ReadOutcome::Some | ReadOutcome::WouldBlock => {
                // A short read of a stream socket took all there was: the next input brings a new
                // edge (epoll(7)). Not so after a hang-up, which came with the same edge as the
                // last bytes: then it is read until the end.
                if let Some(io) = shared.conns.borrow_mut().get_mut(&conn) {
                    if io.state.contains(State::HUNG_UP) && matches!(read, ReadOutcome::Some) {
                        continue;
                    }
                    io.state.remove(State::READABLE);
                }
                return Read_::Done;
            }
            ReadOutcome::NotTls => Some(ByeReason::TlsRequired),
            // Whatever is still queued for the connection (its prompt may be held for a moment) is
            // dropped with it.
            ReadOutcome::TlsAtPlainText => Some(ByeReason::PlainTextOnly),
            ReadOutcome::End => None,
        };
        end_reading(shared, conn, end);
        return Read_::Done;
    }
    Read_::Left
}

/// Reading `conn` is over: refused with `bye` first, if any; the core is told it is gone (once).
pub(super) fn end_reading(shared: &Shared, conn: ConnId, bye: Option<ByeReason>) {
    let mut conns = shared.conns.borrow_mut();
    let Some(io) = conns.get_mut(&conn) else {
        return;
    };
    io.state.remove(State::READABLE);
    if io.state.put(State::ENDED) {
        return;
    }
    if let Some(reason) = bye {
        refuse(shared, &io.stream, reason);
    }
    drop(conns);
    shared.push_quietly(Input::Gone { conn });
}

/// The kernel said `conn`'s socket takes more: finishes a queue it refused.
pub(super) fn write_ready(shared: &Shared, conn: ConnId) {
    let mut conns = shared.conns.borrow_mut();
    let Some(io) = conns.get_mut(&conn) else {
        return;
    };
    if !io.state.contains(State::BLOCKED) {
        return;
    }
    let queued = io.queued();
    let flushed = io.flush(&mut shared.spares.borrow_mut());
    shared
        .written
        .set(shared.written.get() + queued - io.queued());
    match flushed {
        Flush::Blocked => {}
        Flush::Done => {
            io.state.remove(State::BLOCKED);
            if io.state.take(State::WATCH_DRAIN) {
                shared.push_quietly(Input::Drained { conn });
            }
            if io.state.contains(State::CLOSING) {
                drop_conn(&mut conns, conn);
            }
            // The driver looks again: it may now be idle enough to give memory back.
        }
        Flush::Failed => {
            drop_conn(&mut conns, conn);
            drop(conns);
            shared.push_quietly(Input::Gone { conn });
        }
        Flush::Handshaking => {
            // The driver keeps it until the handshake is over (or its grace runs out).
            io.state.remove(State::BLOCKED);
            drop(conns);
            shared.flush_requests.borrow_mut().push(conn);
        }
    }
}

enum ReadOutcome {
    Filled,
    Some,
    WouldBlock,
    End,
    /// The first bytes on a TLS connection were not a TLS handshake.
    NotTls,
    /// The first bytes at a plain-text server began a TLS handshake.
    TlsAtPlainText,
}

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// One non-blocking read into the shared buffer; complete lines go to the inbox.
fn read_lines(shared: &Shared, conn: ConnId, max_outbound: usize) -> ReadOutcome {
    let mut buf = shared.read_buf.borrow_mut();
    let mut conns = shared.conns.borrow_mut();
    let Some(io) = conns.get_mut(&conn) else {
        return ReadOutcome::End;
    };
    let first = io.state.contains(State::FRESH);
    let n = loop {
        match (&io.stream).read(&mut buf) {
            Ok(0) => return ReadOutcome::End,
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            Err(_) => return ReadOutcome::End,
        }
    };
    io.state.remove(State::FRESH);
    let mut inbox = shared.inbox.borrow_mut();
    let mut ended = false;
    // What the WebSocket layer, if any, came to, and what it wrote back (the handshake's answer,
    // pongs, a close).
    let mut ws_result = Ok(super::ws_conn::WsRead { closed: false });
    let mut ws_out = Vec::new();
    if io.tls().is_some() {
        let Layers { tls, wire, ws } = io.layers.as_deref_mut().expect("checked");
        let tls = tls.as_mut().expect("checked");
        if first && !tls.is_established() && buf[0] != TLS_HANDSHAKE {
            return ReadOutcome::NotTls;
        }
        let decoder = &mut io.decoder;
        let mut lines = |bytes: &[u8]| match ws {
            Some(ws) if ws_result.is_ok() => {
                ws_result = ws.read(
                    bytes,
                    |line| unframed(decoder, &mut inbox, conn, line),
                    &mut ws_out,
                );
            }
            Some(_) => {}
            None => decoder.feed(bytes, |frame| match frame {
                Frame::Line(line) => inbox.push_line(conn, line),
                Frame::TooLong => inbox.push(Input::TooLong { conn }),
            }),
        };
        let read = tls.read(&mut buf[..n], &mut lines, wire);
        ConnIo::sealed(&mut io.state, wire);
        if !ws_out.is_empty() {
            io.out.append(&mut ws_out);
            shared.flush_requests.borrow_mut().push(conn);
        }
        match read {
            Ok(progress) => {
                if progress.established
                    && let Some(m) = &shared.metrics
                {
                    m.tls_handshake();
                }
                if progress.wrote || progress.established {
                    // Written now if the socket takes it (the driver still looks, for a full
                    // socket and a connection closing): what the kernel has taken is not waiting,
                    // and what is waiting is judged below.
                    if progress.wrote && !io.state.contains(State::BLOCKED) {
                        match io.flush(&mut shared.spares.borrow_mut()) {
                            Flush::Failed => ended = true,
                            Flush::Blocked => io.state.insert(State::BLOCKED),
                            _ => {}
                        }
                    }
                    shared.flush_requests.borrow_mut().push(conn);
                }
                if progress.closed {
                    // The client's close_notify is answered with ours (RFC 8446 section 6.1),
                    // after whatever was still queued for it: written now, as far as the socket
                    // takes it, since the connection ends with this read.
                    io.state.insert(State::CLOSING);
                    let _ = io.flush(&mut shared.spares.borrow_mut());
                    ended = true;
                }
            }
            Err(e) => {
                tracing::debug!("{conn}: TLS: {e}");
                // Say why (the alert), best effort, and end.
                let _ = (&io.stream).write(&wire[io.sent..]);
                ended = true;
            }
        }
        if !ended && io.queued() > max_outbound {
            // What this side wrote by itself counts as much as what the core sent: a client that
            // sends without reading is a slow reader like any other.
            tracing::debug!("{conn} is not reading; dropped after {max_outbound} bytes queued");
            if let Ok(peer) = io.stream.peer_addr() {
                let what = Refusal::SlowReader;
                inbox.push(Input::Refused { peer, what });
            }
            ended = true;
        }
    } else if first && n >= 2 && buf[0] == TLS_HANDSHAKE && buf[1] == 3 {
        // A TLS client at a plain-text server: its hello is no line to answer.
        tracing::debug!("{conn}: a TLS client at this plain-text server; closing");
        return ReadOutcome::TlsAtPlainText;
    } else if io.state.contains(State::WEBSOCKET)
        && let Some(Layers { ws: Some(ws), .. }) = io.layers.as_deref_mut()
    {
        let decoder = &mut io.decoder;
        ws_result = ws.read(
            &buf[..n],
            |line| unframed(decoder, &mut inbox, conn, line),
            &mut ws_out,
        );
        if !ws_out.is_empty() {
            io.out.append(&mut ws_out);
            shared.flush_requests.borrow_mut().push(conn);
        }
        if io.queued() > max_outbound {
            // What the WebSocket layer wrote by itself (pongs) counts as the core's output does.
            tracing::debug!("{conn} is not reading; dropped after {max_outbound} bytes queued");
            if let Ok(peer) = io.stream.peer_addr() {
                let what = Refusal::SlowReader;
                inbox.push(Input::Refused { peer, what });
            }
            return ReadOutcome::End;
        }
    } else {
        io.decoder.feed(&buf[..n], |frame| match frame {
            Frame::Line(line) => inbox.push_line(conn, line),
            Frame::TooLong => inbox.push(Input::TooLong { conn }),
        });
    }
    let ws_ended = match ws_result {
        Ok(read) => read.closed,
        Err(e) => {
            // A bad handshake (answered 400), broken framing, or a message past even what the
            // WebSocket layer assembles (answered with a close, 1009).
            tracing::debug!("{conn}: {e}");
            true
        }
    };
    if ws_ended && !ended {
        // Its answer (a 400, or the close frame) is written before the connection ends.
        io.state.insert(State::CLOSING);
        let _ = io.flush(&mut shared.spares.borrow_mut());
        ended = true;
    }
    if ended {
        return ReadOutcome::End;
    }
    if n == buf.len() {
        ReadOutcome::Filled
    } else {
        ReadOutcome::Some
    }
}

/// One WebSocket message's line, handed to the line decoder as a line read from a socket would be:
/// the decoder keeps the line limit and answers a line past it.
fn unframed(decoder: &mut LineDecoder, inbox: &mut super::inbox::Inbox, conn: ConnId, line: &[u8]) {
    let mut push = |frame: Frame<'_>| match frame {
        Frame::Line(line) => inbox.push_line(conn, line),
        Frame::TooLong => inbox.push(Input::TooLong { conn }),
    };
    decoder.feed(line, &mut push);
    decoder.feed(b"\n", &mut push);
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::shell::server::tls_memory::Pair;

    /// A connected pair over loopback: the server's end (non-blocking, as the readiness loop has
    /// it) and the client's.
    fn sockets() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (server, client)
    }

    /// Sets (`on`) or clears one of `conn`'s flags, as the readiness loop or the core would.
    fn set_flag(shared: &Shared, conn: ConnId, flag: State, on: bool) {
        let mut conns = shared.conns.borrow_mut();
        conns.get_mut(&conn).unwrap().state.set(flag, on);
    }

    fn gone(shared: &Shared) -> Vec<ConnId> {
        shared
            .inbox
            .borrow()
            .inputs
            .iter()
            .filter_map(|i| match i {
                Input::Gone { conn } => Some(*conn),
                _ => None,
            })
            .collect()
    }

    fn lines(shared: &Shared) -> Vec<Vec<u8>> {
        let inbox = shared.inbox.borrow();
        inbox
            .inputs
            .iter()
            .filter_map(|i| match i {
                Input::Line { range, .. } => Some(inbox.bytes[range.clone()].to_vec()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_connection_s_state_did_not_grow() {
        // The line decoder moved here from the reader task that held it (with about 280 bytes of
        // task and 340 of reactor source and waker besides), which this struct no longer has; the
        // peer's address went (the core keeps it).
        assert!(
            std::mem::size_of::<ConnIo>() <= 80,
            "{}",
            std::mem::size_of::<ConnIo>()
        );
    }

    #[test]
    fn a_readable_connection_is_read_until_it_would_block_and_its_end_told_once() {
        use std::io::Write as _;
        let shared = Shared::new(None, 1, None);
        let (stream, mut client) = sockets();
        let conn = ConnId(7);
        shared
            .conns
            .borrow_mut()
            .insert(conn, ConnIo::new(stream, None, 1024));
        client.write_all(b"alice\nsecret\npart").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        set_flag(&shared, conn, State::READABLE, true);
        assert!(matches!(read_ready(&shared, conn, 1024), Read_::Done));
        assert_eq!(lines(&shared), vec![b"alice".to_vec(), b"secret".to_vec()]);
        assert!(
            !shared.conns.borrow()[&conn].state.contains(State::READABLE),
            "all of it was read"
        );
        drop(client);
        std::thread::sleep(std::time::Duration::from_millis(50));
        for _ in 0..2 {
            set_flag(&shared, conn, State::READABLE, true);
            read_ready(&shared, conn, 1024);
        }
        assert_eq!(gone(&shared), vec![conn], "the core hears it is gone, once");
    }

    #[test]
    fn a_line_that_may_wait_takes_a_spare_buffer_and_gives_it_back_once_written() {
        let (stream, mut client) = sockets();
        let mut io = ConnIo::new(stream, None, 1024);
        let mut spares = Spares::default();
        // Nothing kept: a waiting line gets room for a few more like it.
        io.push(b"PRESENCE u1 online\n", false, &mut spares);
        assert_eq!(io.out.capacity(), HELD_ROOM);
        assert!(matches!(io.flush(&mut spares), Flush::Done));
        assert_eq!(io.out.capacity(), 0, "an idle connection keeps no buffer");
        // That buffer was kept: the next waiting line, on another connection, takes it; so does a
        // first prompt rendered in place, once a buffer is kept again.
        let (stream2, mut client2) = sockets();
        let mut other = ConnIo::new(stream2, None, 1024);
        other.push(b"PRESENCE u2 online\n", false, &mut spares);
        assert_eq!(other.out.capacity(), HELD_ROOM, "the kept buffer");
        assert_eq!(spares.take().capacity(), 0, "and none is left");
        spares.give(Vec::with_capacity(4096));
        assert!(io.push_rendered(false, &mut spares, |q| {
            q.extend_from_slice(b"PROMPT username\n")
        }));
        assert_eq!(io.out.capacity(), 4096);
        assert!(matches!(io.flush(&mut spares), Flush::Done));
        assert!(matches!(other.flush(&mut spares), Flush::Done));
        let mut got = [0u8; 64];
        let n = client.read(&mut got).unwrap();
        assert_eq!(&got[..n], b"PRESENCE u1 online\nPROMPT username\n");
        let n = client2.read(&mut got).unwrap();
        assert_eq!(&got[..n], b"PRESENCE u2 online\n");
        assert_eq!(spares.take().capacity(), HELD_ROOM, "both came back");
        assert_eq!(spares.take().capacity(), 4096);
    }

    #[test]
    fn a_goodbye_leaves_with_the_end_of_the_stream_even_when_the_close_is_a_reset() {
        use std::io::Read as _;
        let (stream, mut client) = sockets();
        let mut io = ConnIo::new(stream, None, 1024);
        let mut spares = Spares::default();
        let mut got = [0u8; 64];
        // A connection that stays open: its line goes at once.
        io.push(b"OK still here\n", false, &mut spares);
        assert!(matches!(io.flush(&mut spares), Flush::Done));
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let n = client.read(&mut got).unwrap();
        assert_eq!(&got[..n], b"OK still here\n");
        // The client says more after its logout, which the server never reads: the close will be
        // a reset.
        client.write_all(b"PING after\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        // Its goodbye, with the end of the stream, is out once the flush is done ...
        io.push(b"BYE logout Goodbye.\n", false, &mut spares);
        io.state.insert(State::CLOSING);
        assert!(matches!(io.flush(&mut spares), Flush::Done));
        assert_eq!(io.queued(), 0, "nothing waits on this side");
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"BYE logout Goodbye.\n");
        // ... and what the close (a reset) ends carries nothing more.
        drop(io);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!matches!(client.read(&mut got), Ok(n) if n > 0));
    }

    #[test]
    fn a_tls_connection_s_lines_wait_in_its_own_queue_and_its_records_count_while_the_socket_is_full()
     {
        use std::io::Read as _;
        let Pair {
            server, mut client, ..
        } = Pair::established(None);
        let (stream, mut peer) = sockets();
        // A client that reads nothing yet: fill what the kernel holds for it.
        let junk = [0u8; 4096];
        let mut filled = 0;
        while let Ok(n) = (&stream).write(&junk) {
            filled += n;
        }
        let mut io = ConnIo::new(stream, Some(server), 1024);
        io.state.remove(State::FRESH);
        let mut spares = Spares::default();
        let mut line = vec![b'x'; 999];
        line.push(b'\n');
        for _ in 0..64 {
            io.push(&line, true, &mut spares);
        }
        // Queued in plain text on the connection itself: nothing in its layers yet.
        assert_eq!(io.queued(), 64_000);
        assert!(!io.state.contains(State::SEALED));
        // Encrypted at the flush; what the socket refused waits as records, and still counts.
        assert!(matches!(io.flush(&mut spares), Flush::Blocked));
        assert!(io.state.contains(State::SEALED));
        assert!(io.out.is_empty(), "every line was encrypted");
        let waiting = io.queued();
        assert!(waiting > 0 && waiting < 64_000 + 64 * 22, "{waiting}");
        // The client reads (the filling first); the rest is written as the socket takes it.
        let mut chunk = [0u8; 16 * 1024];
        let mut skip = filled;
        let mut got = Vec::new();
        peer.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        while got.len() < 64_000 {
            let n = peer.read(&mut chunk).unwrap();
            assert!(n > 0, "the connection is open");
            let junk = n.min(skip);
            assert!(chunk[..junk].iter().all(|&b| b == 0), "the filling first");
            skip -= junk;
            let mut records = &chunk[junk..n];
            while !records.is_empty() {
                client.read_tls(&mut records).unwrap();
                client.process_new_packets().unwrap();
                let _ = client.reader().read_to_end(&mut got);
            }
            if io.state.contains(State::SEALED) {
                match io.flush(&mut spares) {
                    Flush::Blocked => assert!(io.queued() <= waiting),
                    Flush::Done => assert!(!io.state.contains(State::SEALED)),
                    _ => panic!("the socket is open"),
                }
            }
        }
        assert_eq!(io.queued(), 0);
        assert_eq!(io.out.capacity(), 0, "an idle connection keeps no buffer");
        assert!(got == line.repeat(64), "every line, in order, once");
    }

    #[test]
    fn a_paused_connection_keeps_its_input_for_later() {
        use std::io::Write as _;
        let shared = Shared::new(None, 1, None);
        let (stream, mut client) = sockets();
        let conn = ConnId(8);
        let mut io = ConnIo::new(stream, None, 1024);
        io.state.insert(State::PAUSED);
        io.state.insert(State::READABLE);
        shared.conns.borrow_mut().insert(conn, io);
        client.write_all(b"hello\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(matches!(read_ready(&shared, conn, 1024), Read_::Left));
        assert!(lines(&shared).is_empty());
        set_flag(&shared, conn, State::PAUSED, false);
        assert!(matches!(read_ready(&shared, conn, 1024), Read_::Done));
        assert_eq!(lines(&shared), vec![b"hello".to_vec()]);
    }

    #[test]
    fn tls_records_the_server_writes_by_itself_count_against_the_outbound_limit() {
        use rustls::ContentType;
        use std::io::Write as _;
        let shared = Shared::new(None, 1, None);
        let (pair, mut peer) = Pair::by_hand(None);
        let (stream, mut client) = sockets();
        // A client that reads nothing: fill what the kernel holds for it.
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(4096);
        let _ = socket2::SockRef::from(&client).set_recv_buffer_size(4096);
        let junk = [0u8; 4096];
        while (&stream).write(&junk).is_ok() {}
        let conn = ConnId(9);
        let mut io = ConnIo::new(stream, Some(pair.server), 1024);
        io.state.remove(State::FRESH);
        shared.conns.borrow_mut().insert(conn, io);
        // A key update the server must answer (about 30 bytes), against a limit of 16.
        client
            .write_all(&peer.seal(ContentType::Handshake, &[24, 0, 0, 1, 1]))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let outcome = read_lines(&shared, conn, 16);
        assert!(
            matches!(outcome, ReadOutcome::End),
            "dropped as a slow reader"
        );
    }
}
