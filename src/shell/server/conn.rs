//! One connection's I/O: its reader task, the bytes waiting to be written, and the writer task that
//! exists only while the socket is full.
//!
//! Reads go into one buffer shared by every connection (they run one at a time on the server's thread),
//! so an idle connection holds no read buffer; only an unfinished line is kept, by its decoder. Writes are
//! made directly by the driver at the end of each batch, one `write` per connection; only when the kernel
//! refuses more does a writer task start, wait for the socket to drain, and finish the job. So an idle
//! connection costs a small reader task and this struct, and no write buffer.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::Arc;

use async_io::Async;
use smol::Task;

use super::Shared;
use super::inbox::Input;
use super::tls_conn::TlsConn;
use natter_core::protocol::{ByeReason, ServerMsg, render_line};
use natter_core::protocol::{Frame, LineDecoder};
use natter_core::server::ConnId;
use natter_core::server::oplog::Refusal;

/// The shell's side of one connection, owned by [`Shared::conns`].
pub(super) struct ConnIo {
    pub(super) stream: Arc<Async<TcpStream>>,
    /// Where the client connects from, for the operator's log.
    pub(super) peer: std::net::SocketAddr,
    /// Bytes queued for the socket (TLS records, on a TLS connection); `out[sent..]` is still to be
    /// written.
    out: Vec<u8>,
    sent: usize,
    /// The connection's TLS session, if the server speaks TLS.
    tls: Option<Box<TlsConn>>,
    /// On a TLS connection, lines not yet encrypted (all of them until the handshake has finished).
    plain: Vec<u8>,
    /// This connection's reader; dropping the handle cancels it.
    reader: Option<Task<()>>,
    /// The writer task waiting for the socket to accept more, while there is one.
    pub(super) writer: Option<Task<()>>,
    /// Close once everything queued is written.
    pub(super) closing: bool,
    /// Already in the driver's list of connections to flush at the end of this batch.
    pub(super) dirty: bool,
    /// In the driver's list of connections holding notices that may wait (see
    /// [`ServerMsg::can_wait`](natter_core::protocol::ServerMsg::can_wait)).
    pub(super) held: bool,
    /// The core holds this connection's lines (flood control): its reader waits for `resume`.
    pub(super) paused: bool,
    /// A cluster node holds this connection's lines before login (its gate is full): its reader waits
    /// for `resume` too.
    pub(super) gated: bool,
    pub(super) resume: event_listener::Event,
    /// The core asked to hear when everything queued so far is written.
    pub(super) watch_drain: bool,
    /// Closing before its TLS handshake was over: it is dropped after a grace period, if still here.
    pub(super) reaped: bool,
    /// The core has said something to this connection (its first prompt, or a goodbye): on a TLS
    /// connection, no byte of the handshake is read before, so that a connection the core turns
    /// away (too many new ones from its address) costs no handshake.
    heard: bool,
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
/// password prompt and welcome, or a few replies, without growing line by line. The queue is given
/// back once written.
const REPLY_ROOM: usize = 256;

/// How long a connection that is to close may take to finish its TLS handshake and read its goodbye.
pub(super) const CLOSING_HANDSHAKE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl ConnIo {
    pub(super) fn new(
        stream: Arc<Async<TcpStream>>,
        peer: std::net::SocketAddr,
        reader: Task<()>,
        tls: Option<Box<TlsConn>>,
    ) -> Self {
        ConnIo {
            stream,
            peer,
            reader: Some(reader),
            out: Vec::new(),
            sent: 0,
            tls,
            plain: Vec::new(),
            writer: None,
            closing: false,
            dirty: false,
            held: false,
            paused: false,
            gated: false,
            reaped: false,
            heard: false,
            resume: event_listener::Event::new(),
            watch_drain: false,
        }
    }

    /// Bytes queued and not yet written.
    pub(super) fn queued(&self) -> usize {
        self.out.len() - self.sent + self.plain.len()
    }

    /// Queues `bytes` (one rendered line). `more` says that more lines are likely to follow in the
    /// same write (a reply, which is never held back): a queue that must grow for it then grows at
    /// once to [`REPLY_ROOM`], instead of once per line. A line that may wait (a presence notice)
    /// takes only its own room, since it may sit in the queue of an idle connection for a while.
    pub(super) fn push(&mut self, bytes: &[u8], more: bool) {
        let queue = if self.tls.is_some() {
            &mut self.plain
        } else {
            &mut self.out
        };
        if more && queue.capacity() - queue.len() < bytes.len() {
            queue.reserve(bytes.len().max(REPLY_ROOM - queue.len().min(REPLY_ROOM)));
        }
        queue.extend_from_slice(bytes);
        if !std::mem::replace(&mut self.heard, true) {
            // Its reader may be waiting for this before the handshake.
            self.resume.notify(usize::MAX);
        }
    }

    /// Whether a TLS connection's reader must not start the handshake yet: the core has not spoken
    /// to it, or has turned it away.
    fn holds_handshake(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| !tls.has_begun()) && (!self.heard || self.closing)
    }

    /// Writes what is queued, as far as the kernel takes it without blocking. On a TLS connection the
    /// lines are encrypted first, once the handshake allows (until then they wait).
    pub(super) fn flush(&mut self) -> Flush {
        let mut handshaking = false;
        if let Some(tls) = &mut self.tls
            && self.closing
            && !tls.has_begun()
            && !self.plain.is_empty()
        {
            // Turned away before its handshake began (the core refused it on arrival, or the server
            // is going): its goodbye, the last line queued, goes in plain text, as the shell's own
            // refusals do (see `refuse`). No handshake is spent on a connection that is leaving.
            let plain = std::mem::take(&mut self.plain);
            say_in_plain_text(self.stream.get_ref(), last_line(&plain));
            return Flush::Done;
        } else if let Some(tls) = &mut self.tls {
            if !self.plain.is_empty() {
                match tls.encrypt(&self.plain, &mut self.out) {
                    Ok(true) => self.plain = Vec::new(),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::debug!("TLS: {e}");
                        return Flush::Failed;
                    }
                }
            }
            if self.closing {
                if self.plain.is_empty() {
                    tls.close_notify(&mut self.out);
                } else {
                    handshaking = true;
                }
            }
        }
        while self.sent < self.out.len() {
            match self.stream.get_ref().write(&self.out[self.sent..]) {
                Ok(0) => return Flush::Failed,
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.sent >= self.out.len() / 2 {
                        self.out.drain(..self.sent);
                        self.sent = 0;
                    }
                    return Flush::Blocked;
                }
                Err(_) => return Flush::Failed,
            }
        }
        // Give the buffer back: an idle connection keeps no write buffer.
        self.out = Vec::new();
        self.sent = 0;
        if handshaking {
            return Flush::Handshaking;
        }
        Flush::Done
    }

    /// Closes the connection: cancels its reader and any writer (one stuck on a client that stopped
    /// reading included), and drops the socket with them, which closes it. No `shutdown` call is needed
    /// to wake anyone: the tasks are simply dropped.
    fn close(mut self) {
        drop(self.reader.take());
        drop(self.writer.take());
    }
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
/// effort: a refused connection gets no buffer or writer task.
///
/// The operator's log hears of it (through the driver, which sums refusals up per address).
pub(super) fn refuse(shared: &Shared, stream: &TcpStream, reason: ByeReason) {
    let bye = ServerMsg::Bye(reason);
    say_in_plain_text(stream, &render_line(&bye));
    if let (Ok(peer), Some(what)) = (stream.peer_addr(), Refusal::of(&bye)) {
        shared.push(Input::Refused { peer, what });
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
pub(super) type Conns = rustc_hash::FxHashMap<ConnId, ConnIo>;

/// Forgets a connection and closes it (see [`ConnIo::close`]).
pub(super) fn drop_conn(conns: &mut Conns, conn: ConnId) {
    if let Some(io) = conns.remove(&conn) {
        io.close();
    }
}

/// Reads the connection until it ends, handing each line to the driver. `max_outbound` bounds what
/// may wait to be written to the client, TLS records this side writes by itself (the handshake's, key
/// updates' answers, alerts) included.
pub(super) async fn reader(
    shared: Rc<Shared>,
    conn: ConnId,
    stream: Arc<Async<TcpStream>>,
    max_line: usize,
    max_outbound: usize,
) {
    let _ends_session = EndsSession {
        shared: shared.clone(),
        conn,
    };
    let mut decoder = LineDecoder::new(max_line);
    // Nothing received yet: the first bytes tell a TLS client from a plain-text one. The first read
    // may well find nothing (the client has not written yet), so this is not "the first read".
    let mut fresh = true;
    let mut woken = false;
    loop {
        if fresh && wait_before_handshake(&shared, conn).await {
            // The accept task queued this connection's `Open` quietly: the core's answer is awaited.
            woken = true;
        }
        shared.wait_for_room().await;
        wait_while_paused(&shared, conn).await;
        let read = read_lines(&shared, conn, &stream, &mut decoder, fresh, max_outbound);
        if !matches!(read, ReadOutcome::WouldBlock) {
            fresh = false;
        }
        if !std::mem::replace(&mut woken, true) {
            // The accept task queued this connection's `Open` quietly; whatever this read found
            // goes into the same batch.
            shared.wake_driver();
        }
        match read {
            // The shared buffer was filled: there may be more right away, but let the driver have
            // this batch first.
            ReadOutcome::Filled => futures_lite::future::yield_now().await,
            ReadOutcome::NotTls => {
                refuse(&shared, stream.get_ref(), ByeReason::TlsRequired);
                break;
            }
            ReadOutcome::TlsAtPlainText => {
                // Whatever is still queued for the connection (its prompt may be held for a
                // moment) is dropped with it.
                refuse(&shared, stream.get_ref(), ByeReason::PlainTextOnly);
                break;
            }
            ReadOutcome::Some | ReadOutcome::WouldBlock => {
                if stream.readable().await.is_err() {
                    break;
                }
            }
            ReadOutcome::End => break,
        }
    }
}

/// Tells the core a connection is gone when its reader ends, however it ends: the client closed, a
/// read or the TLS session failed, or a bug panicked in it. The executor catches a task's panic and
/// keeps it in the task's handle, which nobody awaits: without this, such a reader ended quietly, its
/// logged-in user stayed "already online" until the idle timeout, and its socket sat in CLOSE-WAIT.
struct EndsSession {
    shared: Rc<Shared>,
    conn: ConnId,
}

impl Drop for EndsSession {
    fn drop(&mut self) {
        // A connection the driver dropped (it told the core itself, if the core did not close it)
        // has cancelled its reader: nothing to say then.
        let registered = self
            .shared
            .conns
            .try_borrow()
            .map_or(true, |conns| conns.contains_key(&self.conn));
        if !registered {
            return;
        }
        // Never borrowed while a reader could unwind through here (each borrow is released first),
        // but a second panic would abort the server: check rather than assume.
        match self.shared.inbox.try_borrow_mut() {
            Ok(mut inbox) => inbox.push(Input::Gone { conn: self.conn }),
            Err(_) => {
                tracing::error!(
                    "{}: its reader ended but the core could not be told",
                    self.conn
                );
                return;
            }
        }
        self.shared.wake_driver();
    }
}

/// On a TLS connection, waits until the core has admitted it (see [`ConnIo::holds_handshake`]): the
/// driver is woken to hear of it first. True if it waited.
async fn wait_before_handshake(shared: &Shared, conn: ConnId) -> bool {
    let mut waited = false;
    loop {
        let listener = match shared.conns.borrow().get(&conn) {
            Some(io) if io.holds_handshake() => io.resume.listen(),
            _ => return waited,
        };
        if !waited {
            shared.wake_driver();
            waited = true;
        }
        listener.await;
    }
}

/// Waits while the core holds the connection's lines (it reads no more until they are handled).
async fn wait_while_paused(shared: &Shared, conn: ConnId) {
    loop {
        let listener = match shared.conns.borrow().get(&conn) {
            Some(io) if io.paused || io.gated => io.resume.listen(),
            _ => return,
        };
        listener.await;
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
fn read_lines(
    shared: &Shared,
    conn: ConnId,
    stream: &Async<TcpStream>,
    decoder: &mut LineDecoder,
    first: bool,
    max_outbound: usize,
) -> ReadOutcome {
    let mut buf = shared.read_buf.borrow_mut();
    let n = loop {
        match stream.get_ref().read(&mut buf) {
            Ok(0) => return ReadOutcome::End,
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            Err(_) => return ReadOutcome::End,
        }
    };
    let mut inbox = shared.inbox.borrow_mut();
    let before = inbox.inputs.len();
    let mut lines = |bytes: &[u8]| {
        decoder.feed(bytes, |frame| match frame {
            Frame::Line(line) => inbox.push_line(conn, line),
            Frame::TooLong => inbox.push(Input::TooLong { conn }),
        })
    };
    let mut conns = shared.conns.borrow_mut();
    let mut ended = false;
    match conns.get_mut(&conn) {
        Some(io) if io.tls.is_some() => {
            let tls = io.tls.as_mut().expect("matched");
            if first && !tls.is_established() && buf[0] != TLS_HANDSHAKE {
                return ReadOutcome::NotTls;
            }
            match tls.read(&mut buf[..n], &mut lines, &mut io.out) {
                Ok(progress) => {
                    if progress.established
                        && let Some(m) = &shared.metrics
                    {
                        m.tls_handshake();
                    }
                    if progress.wrote || progress.established {
                        // Written now if the socket takes it (the driver still looks, for a full
                        // socket's writer and a connection closing): what the kernel has taken is
                        // not waiting, and what is waiting is judged below.
                        if progress.wrote
                            && io.writer.is_none()
                            && matches!(io.flush(), Flush::Failed)
                        {
                            ended = true;
                        }
                        shared.flush_requests.borrow_mut().push(conn);
                    }
                    if progress.closed {
                        // The client's close_notify is answered with ours (RFC 8446 section 6.1),
                        // after whatever was still queued for it: written now, as far as the socket
                        // takes it, since the connection ends with this read.
                        io.closing = true;
                        let _ = io.flush();
                        ended = true;
                    }
                }
                Err(e) => {
                    tracing::debug!("{conn}: TLS: {e}");
                    // Say why (the alert), best effort, and end.
                    let _ = stream.get_ref().write(&io.out[io.sent..]);
                    ended = true;
                }
            }
            if !ended && io.queued() > max_outbound {
                // What this side wrote by itself counts as much as what the core sent: a client
                // that sends without reading is a slow reader like any other.
                tracing::debug!("{conn} is not reading; dropped after {max_outbound} bytes queued");
                let (peer, what) = (io.peer, Refusal::SlowReader);
                inbox.push(Input::Refused { peer, what });
                ended = true;
            }
        }
        _ if first && n >= 2 && buf[0] == TLS_HANDSHAKE && buf[1] == 3 => {
            // A TLS client at a plain-text server: its hello is no line to answer.
            tracing::debug!("{conn}: a TLS client at this plain-text server; closing");
            return ReadOutcome::TlsAtPlainText;
        }
        _ => lines(&buf[..n]),
    }
    drop(conns);
    let any = inbox.inputs.len() > before;
    drop(inbox);
    let flush = !shared.flush_requests.borrow().is_empty();
    if any || flush {
        shared.wake_driver();
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

/// Finishes writing to a connection whose socket was full, then ends.
pub(super) async fn writer(shared: Rc<Shared>, conn: ConnId, stream: Arc<Async<TcpStream>>) {
    loop {
        let ready = stream.writable().await;
        let mut conns = shared.conns.borrow_mut();
        let Some(io) = conns.get_mut(&conn) else {
            // Closed or dropped meanwhile.
            return;
        };
        let queued = io.queued();
        let flushed = if ready.is_ok() {
            io.flush()
        } else {
            Flush::Failed
        };
        shared
            .written
            .set(shared.written.get() + queued - io.queued());
        if !matches!(flushed, Flush::Blocked) {
            // This task is ending by itself: its handle must not cancel it mid-way.
            if let Some(me) = io.writer.take() {
                me.detach();
            }
        }
        match flushed {
            Flush::Blocked => continue,
            Flush::Done => {
                if std::mem::take(&mut io.watch_drain) {
                    shared.push_quietly(Input::Drained { conn });
                }
                if io.closing {
                    drop_conn(&mut conns, conn);
                }
                drop(conns);
                shared.writers_done.notify(usize::MAX);
                // Let the driver look again: it may now be idle enough to give memory back.
                shared.wake_driver();
                return;
            }
            Flush::Failed => {
                drop_conn(&mut conns, conn);
                drop(conns);
                shared.push(Input::Gone { conn });
                shared.writers_done.notify(usize::MAX);
                return;
            }
            Flush::Handshaking => {
                // The driver keeps it until the handshake is over (or its grace runs out).
                drop(conns);
                shared.flush_requests.borrow_mut().push(conn);
                shared.wake_driver();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::shell::server::tls_memory::Pair;

    /// A connected pair over loopback: the server's end (non-blocking, as the runtime has it) and the
    /// client's.
    fn sockets() -> (Arc<Async<TcpStream>>, TcpStream, std::net::SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        (Arc::new(Async::new(server).unwrap()), client, peer)
    }

    fn registered(
        shared: &Shared,
        ex: &LocalExecutor<'static>,
        conn: ConnId,
    ) -> Arc<Async<TcpStream>> {
        let (stream, client, peer) = sockets();
        // The client end stays open for the test's length (leaked with the test process).
        std::mem::forget(client);
        let idle = ex.spawn(std::future::pending::<()>());
        shared
            .conns
            .borrow_mut()
            .insert(conn, ConnIo::new(stream.clone(), peer, idle, None));
        stream
    }

    use smol::LocalExecutor;

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

    #[test]
    fn a_connection_s_state_did_not_grow() {
        // The flag that holds a TLS handshake for the core's word took room the struct had.
        assert!(
            std::mem::size_of::<ConnIo>() <= 136,
            "{}",
            std::mem::size_of::<ConnIo>()
        );
    }

    #[test]
    fn a_reader_that_panics_still_ends_its_session_in_the_core() {
        let ex = LocalExecutor::new();
        let shared = Rc::new(Shared::new(None, 1, None));
        let conn = ConnId(7);
        registered(&shared, &ex, conn);
        let task = ex.spawn({
            let shared = shared.clone();
            async move {
                let _ends = EndsSession { shared, conn };
                panic!("a bug in a reader");
            }
        });
        while ex.try_tick() {}
        assert_eq!(gone(&shared), vec![conn], "the core hears it is gone");
        drop(task);
    }

    #[test]
    fn a_reader_the_driver_cancelled_says_nothing_more() {
        let ex = LocalExecutor::new();
        let shared = Rc::new(Shared::new(None, 1, None));
        let conn = ConnId(8);
        registered(&shared, &ex, conn);
        let task = ex.spawn({
            let shared = shared.clone();
            async move {
                let _ends = EndsSession { shared, conn };
                std::future::pending::<()>().await;
            }
        });
        while ex.try_tick() {}
        drop_conn(&mut shared.conns.borrow_mut(), conn);
        drop(task);
        while ex.try_tick() {}
        assert!(gone(&shared).is_empty(), "the driver told the core itself");
    }

    #[test]
    fn tls_records_the_server_writes_by_itself_count_against_the_outbound_limit() {
        use rustls::ContentType;
        use std::io::Write as _;
        let ex = LocalExecutor::new();
        let shared = Rc::new(Shared::new(None, 1, None));
        let (pair, mut peer) = Pair::by_hand(None);
        let (stream, mut client, peer_addr) = sockets();
        // A client that reads nothing: fill what the kernel holds for it.
        let _ = socket2::SockRef::from(stream.get_ref()).set_send_buffer_size(4096);
        let _ = socket2::SockRef::from(&client).set_recv_buffer_size(4096);
        let junk = [0u8; 4096];
        while stream.get_ref().write(&junk).is_ok() {}
        let conn = ConnId(9);
        let idle = ex.spawn(std::future::pending::<()>());
        shared.conns.borrow_mut().insert(
            conn,
            ConnIo::new(stream.clone(), peer_addr, idle, Some(pair.server)),
        );
        // A key update the server must answer (about 30 bytes), against a limit of 16.
        client
            .write_all(&peer.seal(ContentType::Handshake, &[24, 0, 0, 1, 1]))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut decoder = LineDecoder::new(1024);
        let outcome = read_lines(&shared, conn, &stream, &mut decoder, false, 16);
        assert!(
            matches!(outcome, ReadOutcome::End),
            "dropped as a slow reader"
        );
    }
}
