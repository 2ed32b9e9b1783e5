//! IRC over WebSocket (<https://ircv3.net/specs/extensions/websocket>): a transport layer of a
//! connection, as TLS is, between the bytes of the socket (or of the TLS session) and the line
//! decoder. One WebSocket message carries one IRC line each way, without its CRLF (a trailing one
//! sent by a client is accepted and dropped).
//!
//! The handshake and the framing are `tungstenite`'s, run over an in-memory stream ([`Mem`]): the
//! readiness loop reads the socket and hands the bytes in; what tungstenite writes (the handshake's
//! answer, frames, pongs, a close) is taken out and queued like any other output. Nothing here
//! decides what a line means or how long it may be: a message goes to the line decoder, which
//! answers a too-long one as it answers a too-long IRC line.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response, ServerHandshake};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// The subprotocol in which every line travels as a binary message (any bytes).
const BINARY: &str = "binary.ircv3.net";
/// The subprotocol in which every line travels as a text message (UTF-8).
const TEXT: &str = "text.ircv3.net";

/// How many bytes a handshake (the HTTP request) may take: a real one is a few hundred.
const MAX_HANDSHAKE: usize = 8 * 1024;

/// The bytes between tungstenite and the connection: what was read from the peer and not yet
/// taken by tungstenite, and what tungstenite wrote for the peer.
#[derive(Default)]
struct Mem {
    input: Vec<u8>,
    output: Vec<u8>,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        Ok(n)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Picks the subprotocol from the client's offer, in the client's order of preference (the
/// spec's), and says which it was through `binary`.
struct Negotiate {
    binary: Rc<Cell<bool>>,
}

impl Callback for Negotiate {
    fn on_request(
        self,
        request: &Request,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        let offered = request
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim);
        for name in offered {
            if name == BINARY || name == TEXT {
                self.binary.set(name == BINARY);
                response.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    name.parse().expect("a valid header value"),
                );
                break;
            }
        }
        Ok(response)
    }
}

enum State {
    Handshaking(MidHandshake<ServerHandshake<Mem, Negotiate>>),
    Open(WebSocket<Mem>),
    /// Failed or closed: nothing more is read or written.
    Done,
}

/// Why a WebSocket connection ends.
#[derive(Debug, thiserror::Error)]
pub(super) enum WsError {
    /// The handshake was not a valid WebSocket upgrade (an HTTP 400 has been queued).
    #[error("not a WebSocket upgrade: {0}")]
    BadHandshake(String),
    /// A message longer than the transport assembles at all (a close with 1009 has been queued).
    #[error("a WebSocket message too long")]
    TooLong,
    /// The framing was broken.
    #[error("WebSocket: {0}")]
    Protocol(String),
}

/// What one read came to.
pub(super) struct WsRead {
    /// The peer closed (its close has been answered).
    pub(super) closed: bool,
}

/// One connection's WebSocket layer.
pub(super) struct WsConn {
    state: State,
    binary: Rc<Cell<bool>>,
    /// Lines queued before the handshake was over.
    pending: Vec<u8>,
    /// Handshake bytes received so far.
    handshake_bytes: usize,
}

impl WsConn {
    /// A connection whose handshake has not begun. `max_message` bounds a message tungstenite
    /// assembles (beyond it the connection is closed with 1009, message too big); it is set well
    /// above the IRC line limit, so that a message too long for a line gets the line decoder's
    /// answer, as a too-long line read from a socket does.
    pub(super) fn new(max_message: usize) -> WsConn {
        let binary = Rc::new(Cell::new(false));
        let config = WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let start = ServerHandshake::start(
            Mem::default(),
            Negotiate {
                binary: binary.clone(),
            },
            Some(config),
        );
        WsConn {
            state: State::Handshaking(start),
            binary,
            pending: Vec::new(),
            handshake_bytes: 0,
        }
    }

    /// Takes `bytes` read from the peer: advances the handshake, and hands each message's line to
    /// `line`. What this side must write back is added to `out`.
    pub(super) fn read(
        &mut self,
        bytes: &[u8],
        mut line: impl FnMut(&[u8]),
        out: &mut Vec<u8>,
    ) -> Result<WsRead, WsError> {
        let result = self.read_inner(bytes, &mut line, out);
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    fn read_inner(
        &mut self,
        bytes: &[u8],
        line: &mut impl FnMut(&[u8]),
        out: &mut Vec<u8>,
    ) -> Result<WsRead, WsError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Handshaking(mut mid) => {
                self.handshake_bytes += bytes.len();
                if self.handshake_bytes > MAX_HANDSHAKE {
                    bad_request(out, "the handshake is too long");
                    return Err(WsError::BadHandshake("too long".into()));
                }
                mid.get_mut().get_mut().input.extend_from_slice(bytes);
                match mid.handshake() {
                    Ok(mut ws) => {
                        out.append(&mut ws.get_mut().output);
                        self.state = State::Open(ws);
                        let pending = std::mem::take(&mut self.pending);
                        self.send(&pending, out);
                        // What came with the handshake is read now.
                        return self.read_inner(&[], line, out);
                    }
                    Err(HandshakeError::Interrupted(mid)) => {
                        self.state = State::Handshaking(mid);
                    }
                    Err(HandshakeError::Failure(e)) => {
                        bad_request(out, &e.to_string());
                        return Err(WsError::BadHandshake(e.to_string()));
                    }
                }
                Ok(WsRead { closed: false })
            }
            State::Open(mut ws) => {
                ws.get_mut().input.extend_from_slice(bytes);
                let mut closed = false;
                let outcome = loop {
                    match ws.read() {
                        Ok(Message::Text(text)) => line(strip_crlf(text.as_bytes())),
                        Ok(Message::Binary(data)) => line(strip_crlf(&data)),
                        Ok(Message::Close(_)) => closed = true,
                        Ok(_) => {} // pings are answered by tungstenite; pongs need nothing
                        Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                            break Ok(());
                        }
                        Err(tungstenite::Error::ConnectionClosed) => {
                            closed = true;
                            break Ok(());
                        }
                        Err(tungstenite::Error::Capacity(_)) => {
                            // WebSocket's own answer to a message too big to take (RFC 6455 7.4.1).
                            let _ = ws.close(Some(CloseFrame {
                                code: CloseCode::Size,
                                reason: "message too long for an IRC line".into(),
                            }));
                            break Err(WsError::TooLong);
                        }
                        Err(e) => break Err(WsError::Protocol(e.to_string())),
                    }
                };
                let _ = ws.flush();
                out.append(&mut ws.get_mut().output);
                outcome?;
                if !closed {
                    self.state = State::Open(ws);
                }
                Ok(WsRead { closed })
            }
            State::Done => Ok(WsRead { closed: true }),
        }
    }

    /// Frames `lines` (each ending in a newline), one message each, into `out`; before the
    /// handshake is over they wait.
    pub(super) fn send(&mut self, lines: &[u8], out: &mut Vec<u8>) {
        match &mut self.state {
            State::Handshaking(_) => self.pending.extend_from_slice(lines),
            State::Open(ws) => {
                for line in lines.split(|&b| b == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.is_empty() {
                        continue;
                    }
                    let message = if self.binary.get() {
                        Message::binary(line.to_vec())
                    } else {
                        Message::text(String::from_utf8_lossy(line).into_owned())
                    };
                    if let Err(e) = ws.write(message) {
                        tracing::debug!("WebSocket: {e}");
                    }
                }
                let _ = ws.flush();
                out.append(&mut ws.get_mut().output);
            }
            State::Done => {}
        }
    }

    /// Whether the handshake is over.
    #[cfg(test)]
    pub(super) fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    /// Queues the close frame for a connection that is ending.
    pub(super) fn close(&mut self, out: &mut Vec<u8>) {
        if let State::Open(ws) = &mut self.state {
            let _ = ws.close(None);
            let _ = ws.flush();
            out.append(&mut ws.get_mut().output);
        }
        self.state = State::Done;
    }
}

/// A message's line: without the CRLF (or LF) a client may have ended it with.
fn strip_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The answer to a request that is not a WebSocket upgrade.
fn bad_request(out: &mut Vec<u8>, why: &str) {
    let body = format!(
        "not a WebSocket upgrade ({why}): this port speaks IRC over WebSocket (RFC 6455, subprotocols binary.ircv3.net and text.ircv3.net)\n"
    );
    let _ = write!(
        out,
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &str = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: text.ircv3.net, binary.ircv3.net\r\n\r\n";

    #[test]
    fn a_handshake_in_pieces_picks_the_clients_first_subprotocol() {
        let mut ws = WsConn::new(4096);
        let mut out = Vec::new();
        let (a, b) = UPGRADE.as_bytes().split_at(20);
        ws.read(a, |_| panic!(), &mut out).unwrap();
        assert!(out.is_empty() && !ws.is_open());
        ws.read(b, |_| panic!(), &mut out).unwrap();
        let answer = String::from_utf8(out).unwrap();
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        assert!(answer.contains("text.ircv3.net"), "{answer}");
        assert!(!ws.binary.get());
    }

    #[test]
    fn a_request_that_is_no_upgrade_gets_a_400() {
        let mut ws = WsConn::new(4096);
        let mut out = Vec::new();
        let err = ws.read(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", |_| {}, &mut out);
        assert!(matches!(err, Err(WsError::BadHandshake(_))));
        assert!(String::from_utf8(out).unwrap().starts_with("HTTP/1.1 400"));
    }

    #[test]
    fn lines_sent_before_the_handshake_wait_for_it() {
        let mut ws = WsConn::new(4096);
        let mut out = Vec::new();
        ws.send(b"NOTICE * :hi\r\n", &mut out);
        assert!(out.is_empty());
        ws.read(UPGRADE.as_bytes(), |_| {}, &mut out).unwrap();
        let answer = &out[out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        // One unmasked text frame: FIN + text, length 12, the line without its CRLF.
        assert_eq!(answer, b"\x81\x0cNOTICE * :hi");
    }
}
