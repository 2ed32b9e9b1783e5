//! The compact record layer against rustls itself: after a real handshake with each, the same client
//! records go to natter's server session (compact, TLS 1.3 ChaCha20-Poly1305) and to a rustls server
//! on the same suite, and both must reach the same verdict: the same application data handed over,
//! the same end (still open, closed by the client, or failed), the same alert, the same key updates
//! answered. The body of the `tls_differential` fuzz target.
//!
//! The two sessions have different keys, so "the same records" means the same inner plaintexts,
//! each sealed by its own client (and tampered with at the same place); raw bytes go to both as they
//! are.
//!
//! Where the two may differ, on purpose, and nowhere else:
//! - rustls ends some sessions without an alert (a record of nothing but padding, records between the
//!   pieces of a handshake message, past its limits on key updates, empty records and warnings): the
//!   compact layer then sends the alert RFC 8446 names, or `unexpected_message`.
//! - A record header longer than RFC 8446 allows (2^14 + 256): the compact layer sends
//!   `record_overflow` at once, as section 5.2 says; rustls reads on and fails on that record later
//!   (`decode_error` from 18 KiB, else `bad_record_mac` or `record_overflow`), or is still waiting for
//!   it when the input ends.
//! - A handshake message other than `KeyUpdate`: both refuse it once whole, the compact layer with
//!   `unexpected_message`; rustls parses it first and may call it a `decode_error`.

use std::io::{Read, Write};

use rustls::{ContentType, ServerConnection};

use super::tls_memory::{Pair, test_configs};
use super::tls_peer::{HandPeer, Heard};
use super::tls_read::TlsError;

const RECORD_OVERFLOW: u8 = 22;
const BAD_RECORD_MAC: u8 = 20;
const UNEXPECTED_MESSAGE: u8 = 10;
const DECODE_ERROR: u8 = 50;
/// The longest record body RFC 8446 allows (section 5.2).
const MAX_CIPHERTEXT: usize = (1 << 14) + 256;

/// How a session stood when the input ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Open,
    Closed,
    Failed,
}

/// One server's verdict on the input.
#[derive(Debug)]
struct Verdict {
    /// The application data it handed over.
    text: Vec<u8>,
    end: End,
    /// What its client heard: key updates answered, alerts, and (unless it failed) the closing text.
    heard: Vec<Heard>,
}

impl Verdict {
    fn fatal_alert(&self) -> Option<u8> {
        self.heard.iter().find_map(|h| match h {
            Heard::Alert {
                level: 2,
                description,
            } => Some(*description),
            _ => None,
        })
    }
}

/// A server under test: natter's, or rustls'.
trait Server {
    /// Takes `bytes`; returns how the session stands and what the server wrote.
    fn feed(&mut self, bytes: &mut [u8]) -> (End, Vec<u8>);
    /// The server's application data so far.
    fn text(&mut self) -> Vec<u8>;
    /// Has the server write a line (which also sends a key update answer rustls holds until then).
    fn write_line(&mut self) -> Vec<u8>;
}

struct Compact(Pair);

impl Server for Compact {
    fn feed(&mut self, bytes: &mut [u8]) -> (End, Vec<u8>) {
        let (result, wire): (Result<_, TlsError>, _) = self.0.feed_wire(bytes);
        let end = match result {
            Ok(p) if p.closed => End::Closed,
            Ok(_) => End::Open,
            Err(_) => End::Failed,
        };
        (end, wire)
    }

    fn text(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0.received)
    }

    fn write_line(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        let _ = self.0.server.encrypt(b"end\n", &mut wire);
        wire
    }
}

struct Reference {
    conn: ServerConnection,
    text: Vec<u8>,
}

impl Reference {
    fn drain(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut wire).is_err() {
                break;
            }
        }
        wire
    }
}

impl Server for Reference {
    fn feed(&mut self, bytes: &mut [u8]) -> (End, Vec<u8>) {
        let mut rest: &[u8] = bytes;
        let mut end = End::Open;
        while !rest.is_empty() {
            match self.conn.read_tls(&mut rest) {
                Ok(0) | Err(_) => {
                    end = End::Failed;
                    break;
                }
                Ok(_) => {}
            }
            match self.conn.process_new_packets() {
                Ok(state) => {
                    let mut buf = vec![0u8; state.plaintext_bytes_to_read()];
                    let _ = self.conn.reader().read_exact(&mut buf);
                    self.text.extend(buf);
                    if state.peer_has_closed() {
                        end = End::Closed;
                        break;
                    }
                }
                Err(_) => {
                    // What rustls opened before the failing record is the application's still.
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = self.conn.reader().read(&mut buf) {
                        self.text.extend_from_slice(&buf[..n]);
                    }
                    end = End::Failed;
                    break;
                }
            }
        }
        (end, self.drain())
    }

    fn text(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.text)
    }

    fn write_line(&mut self) -> Vec<u8> {
        let _ = self.conn.writer().write_all(b"end\n");
        self.drain()
    }
}

/// What the input asks the clients to send, decoded once for both.
enum Op {
    /// A record of this type holding these bytes.
    Record(ContentType, Vec<u8>),
    /// A TLS 1.3 record with exactly this inner plaintext (padding, or nothing but, included).
    Inner(Vec<u8>),
    /// Bytes as they are.
    Raw(Vec<u8>),
    /// Flip a bit of the last record, at this offset (modulo its length).
    Corrupt(usize),
}

/// What the input says: how many bytes each read carries (0: all at once), and the operations.
fn decode(data: &[u8]) -> (usize, Vec<Op>) {
    let Some((&step, mut input)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut ops = Vec::new();
    let take = |input: &mut &[u8], n: usize| -> Vec<u8> {
        let n = n.min(input.len());
        let (head, tail) = input.split_at(n);
        *input = tail;
        head.to_vec()
    };
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        let len = input.first().map_or(0, |&b| usize::from(b));
        input = input.get(1..).unwrap_or(&[]);
        let op = match op % 10 {
            0 => Op::Record(ContentType::ApplicationData, take(&mut input, len)),
            1 => Op::Record(ContentType::Alert, take(&mut input, len)),
            2 => Op::Record(ContentType::Handshake, take(&mut input, len)),
            3 => match take(&mut input, len.max(1)) {
                // Every inner plaintext has at least its type byte.
                inner if inner.is_empty() => continue,
                inner => Op::Inner(inner),
            },
            // A key update, request value from its length byte.
            4 => Op::Record(ContentType::Handshake, vec![24, 0, 0, 1, (len % 3) as u8]),
            5 => Op::Raw(take(&mut input, len)),
            6 => Op::Corrupt(len),
            // Empty application data records, up to 40 in a row.
            7 => {
                for _ in 0..len % 40 {
                    ops.push(Op::Record(ContentType::ApplicationData, Vec::new()));
                }
                continue;
            }
            // An inner plaintext over 16 KiB, or exactly 16 KiB.
            8 => Op::Inner([vec![b'z'; (1 << 14) + (len & 1)], vec![23]].concat()),
            // A change_cipher_spec in the clear, well-formed or not.
            _ => Op::Raw(vec![20, 3, 3, 0, 1, (len & 1) as u8]),
        };
        ops.push(op);
    }
    (usize::from(step), ops)
}

/// One client's records for `ops`, and whether a handshake message other than `KeyUpdate` was among
/// them.
fn records(peer: &mut HandPeer, ops: &[Op]) -> (Vec<u8>, bool) {
    let mut stream = Vec::new();
    let mut last = 0..0;
    // The handshake bytes sent so far and not yet whole messages: the client switches keys after
    // each whole key update it sends, as a real one would.
    let mut handshake = Vec::new();
    let mut other_message = false;
    for op in ops {
        let start = stream.len();
        let mut updates = 0;
        match op {
            Op::Record(typ, payload) => {
                stream.extend(peer.seal(*typ, payload));
                if *typ == ContentType::Handshake {
                    handshake.extend_from_slice(payload);
                    while handshake.len() >= 4 {
                        let size = usize::from(handshake[1]) << 16
                            | usize::from(handshake[2]) << 8
                            | usize::from(handshake[3]);
                        if handshake.len() < 4 + size {
                            break;
                        }
                        if handshake[0] == 24 && size == 1 {
                            updates += 1;
                        } else if handshake[0] != 24 {
                            other_message = true;
                        }
                        handshake.drain(..4 + size);
                    }
                    if handshake.first().is_some_and(|&t| t != 24) {
                        other_message = true;
                    }
                }
            }
            Op::Inner(inner) => {
                stream.extend(peer.seal_inner(inner));
                if inner.last() == Some(&22) {
                    // Handshake bytes the harness does not follow: any message may be among them.
                    other_message = true;
                }
            }
            Op::Raw(bytes) => stream.extend_from_slice(bytes),
            Op::Corrupt(at) => {
                if !last.is_empty() {
                    let at = last.start + at % last.len();
                    stream[at] ^= 1;
                }
                continue;
            }
        }
        last = start..stream.len();
        for _ in 0..updates {
            peer.update_tx();
        }
    }
    (stream, other_message)
}

/// Whether a record header in `stream`, read from the start as the servers read it, declares a body
/// longer than RFC 8446 allows.
fn overlong_header(stream: &[u8]) -> bool {
    let mut at = 0;
    while stream.len() - at >= 5 {
        let len = usize::from(u16::from_be_bytes([stream[at + 3], stream[at + 4]]));
        if len > MAX_CIPHERTEXT {
            return true;
        }
        at += 5 + len;
        if at > stream.len() {
            break;
        }
    }
    false
}

/// Feeds `stream` to `server` `step` bytes at a time until it fails or is closed; then, unless it
/// failed, has it write a line.
fn verdict(
    server: &mut dyn Server,
    peer: &mut HandPeer,
    stream: &mut [u8],
    step: usize,
) -> Verdict {
    let step = if step == 0 { stream.len().max(1) } else { step };
    let mut heard = Vec::new();
    let mut end = End::Open;
    for chunk in stream.chunks_mut(step) {
        let (now, wire) = server.feed(chunk);
        heard.extend(peer.hear(&wire));
        end = now;
        if end != End::Open {
            break;
        }
    }
    if end != End::Failed {
        let wire = server.write_line();
        heard.extend(peer.hear(&wire));
    }
    Verdict {
        text: server.text(),
        end,
        heard,
    }
}

/// The fuzz target's body (see the module documentation).
pub fn differential(data: &[u8]) {
    let (step, ops) = decode(data);
    let configs = test_configs();

    let (pair, mut ours_peer) = Pair::by_hand(None);
    assert!(
        pair.server.is_compact(),
        "the compact layer runs the session"
    );
    let mut ours = Compact(pair);
    let mut conn = ServerConnection::new(configs.reference.clone()).expect("a rustls session");
    let mut theirs_peer = HandPeer::handshake(configs.client.clone(), |bytes, _| {
        let mut rest: &[u8] = bytes;
        while !rest.is_empty() {
            conn.read_tls(&mut rest).expect("reading the handshake");
            conn.process_new_packets().expect("the handshake");
        }
        let mut wire = Vec::new();
        while conn.wants_write() {
            conn.write_tls(&mut wire).expect("writing to memory");
        }
        wire
    })
    .expect("the handshake with rustls");
    let mut theirs = Reference {
        conn,
        text: Vec::new(),
    };

    let (mut ours_stream, other_message) = records(&mut ours_peer, &ops);
    let (mut theirs_stream, _) = records(&mut theirs_peer, &ops);
    let overlong = overlong_header(&ours_stream);
    let ours = verdict(&mut ours, &mut ours_peer, &mut ours_stream, step);
    let theirs = verdict(&mut theirs, &mut theirs_peer, &mut theirs_stream, step);

    assert_eq!(
        ours.text, theirs.text,
        "the application data handed over differs\nours: {ours:?}\nrustls: {theirs:?}"
    );
    let overflowed =
        overlong && ours.end == End::Failed && ours.fatal_alert() == Some(RECORD_OVERFLOW);
    if overflowed {
        // rustls reads on and fails on that record later, or is still waiting for it.
        assert!(
            theirs.end == End::Open
                || matches!(
                    theirs.fatal_alert(),
                    None | Some(DECODE_ERROR | BAD_RECORD_MAC | RECORD_OVERFLOW)
                ),
            "ours: {ours:?}\nrustls: {theirs:?}"
        );
        return;
    }
    assert_eq!(ours.end, theirs.end, "ours: {ours:?}\nrustls: {theirs:?}");
    if ours.end != End::Failed {
        assert_eq!(
            ours.heard, theirs.heard,
            "what the clients heard differs\nours: {ours:?}\nrustls: {theirs:?}"
        );
        return;
    }
    match (ours.fatal_alert(), theirs.fatal_alert()) {
        (a, b) if a == b => {}
        // rustls ended the session without saying why: the compact layer says why.
        (Some(_), None) => {}
        (Some(UNEXPECTED_MESSAGE), Some(DECODE_ERROR)) if other_message => {}
        (a, b) => panic!(
            "the alerts differ: ours {a:?}, rustls {b:?}\nours: {ours:?}\nrustls: {theirs:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_differential_body_holds_on_simple_inputs() {
        for input in [
            // Text, then a close_notify.
            &[0, 0, 3, b'a', b'b', b'\n', 1, 2, 1, 0][..],
            // A requested key update, then text under the new key.
            &[0, 4, 1, 0, 2, b'h', b'i'],
            // Two in one record.
            &[0, 2, 10, 24, 0, 0, 1, 1, 24, 0, 0, 1, 1],
            // Cut across records, one byte at a time.
            &[1, 2, 2, 24, 0, 2, 3, 0, 1, 1, 0, 1, b'x'],
            // Nothing but padding; an encrypted change_cipher_spec; a request value of 2.
            &[0, 3, 3, 0, 0, 0],
            &[0, 3, 2, 1, 20],
            &[0, 4, 2],
            // A malformed alert; a tampered record; 40 empty records; 16 KiB + 1 inside.
            &[0, 1, 3, 1, 0, 0],
            &[0, 0, 2, b'o', b'k', 6, 7],
            &[0, 7, 39],
            &[0, 8, 1],
            &[0, 8, 0],
            // Plain change_cipher_spec, and a header far too long.
            &[0, 9, 1],
            &[0, 5, 5, 23, 3, 3, 0x48, 0],
            // A ClientHello after the handshake.
            &[0, 2, 4, 1, 0, 0, 0],
        ] {
            differential(input);
        }
    }
}
