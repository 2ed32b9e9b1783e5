//! One client connection of the relay: its socket (and TLS session), where it is in the login, the
//! name it logged in with, and the bytes waiting either way. Moving bytes only: what a line means is
//! `lines.rs`'s.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// A user name kept inline (natter's names are at most 32 bytes): no allocation per login, and the key
/// of the table of who is online.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name {
    len: u8,
    bytes: [u8; Name::MAX],
}

impl Name {
    pub const MAX: usize = 32;

    /// `None` if `s` is empty, longer than natter allows, or holds a space (it could not be one field
    /// of a line).
    pub fn new(s: &[u8]) -> Option<Name> {
        if s.is_empty() || s.len() > Name::MAX || s.iter().any(|b| *b == b' ' || *b == b'\t') {
            return None;
        }
        let mut bytes = [0; Name::MAX];
        bytes[..s.len()].copy_from_slice(s);
        Some(Name {
            len: s.len() as u8,
            bytes,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Where a connection is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    /// The next line is a user name.
    Username,
    /// The next line is the password (any will do: the relay has no accounts).
    Password,
    /// Logged in: lines are commands.
    Online,
    /// `logout` was answered: closed once its goodbye is written.
    Closing,
}

pub struct Conn {
    pub sock: TcpStream,
    pub tls: Option<Box<rustls::ServerConnection>>,
    pub stage: Stage,
    pub name: Name,
    /// False from a write that would block until the next writable edge.
    pub writable: bool,
    /// Already listed to be flushed after this batch.
    pub dirty: bool,
    /// Inside an overlong line: everything up to its newline is dropped.
    pub skipping: bool,
    /// The start of a line whose end has not arrived; empty (unallocated) almost always.
    pub partial: Vec<u8>,
    /// Plaintext to write; released once written, so an idle connection holds none.
    pub out: Vec<u8>,
    /// How much of `out` a plain-text write already took.
    pub out_pos: usize,
}

/// What reading a socket came to.
pub enum Got {
    /// Bytes (plaintext) to handle, then read again.
    Data(usize),
    /// Nothing more for now.
    Drained,
    /// The peer closed, or the connection failed.
    Ended,
}

impl Conn {
    pub fn new(sock: TcpStream, tls: Option<Box<rustls::ServerConnection>>) -> Conn {
        Conn {
            sock,
            tls,
            stage: Stage::Username,
            name: Name {
                len: 0,
                bytes: [0; Name::MAX],
            },
            writable: true,
            dirty: false,
            skipping: false,
            partial: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Reads the next plaintext into `buf`. Over TLS, records are taken from the socket as needed and
    /// a handshake's answers are left in the session for [`Conn::flush`] (`wants_write`).
    pub fn read(&mut self, buf: &mut [u8]) -> Got {
        let Some(tls) = self.tls.as_mut() else {
            loop {
                return match (&self.sock).read(buf) {
                    Ok(0) => Got::Ended,
                    Ok(n) => Got::Data(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Got::Drained,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => Got::Ended,
                };
            }
        };
        loop {
            match tls.reader().read(buf) {
                Ok(0) => return Got::Ended,
                Ok(n) => return Got::Data(n),
                // No plaintext buffered: fetch records.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Got::Ended,
            }
            match tls.read_tls(&mut &self.sock) {
                Ok(0) => return Got::Ended,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Got::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Got::Ended,
            }
            if tls.process_new_packets().is_err() {
                // rustls queued an alert saying why; one attempt to send it, then the end.
                let _ = tls.write_tls(&mut &self.sock);
                return Got::Ended;
            }
        }
    }

    /// Whether there is anything to write (plaintext, or a TLS session's own records).
    pub fn wants_write(&self) -> bool {
        self.out_pos < self.out.len() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Writes what is queued, one `write` per call unless the socket fills. `Err`: the connection
    /// failed.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.writable {
            return Ok(());
        }
        let mut socket = Socket {
            sock: &self.sock,
            last: self.stage == Stage::Closing,
        };
        if let Some(tls) = self.tls.as_mut() {
            loop {
                // Plaintext into the session (held until the handshake is done, then sealed into
                // records), as much as its buffer takes; the rest waits here.
                if self.out_pos < self.out.len() {
                    self.out_pos += tls.writer().write(&self.out[self.out_pos..])?;
                    if self.out_pos == self.out.len() {
                        self.out = Vec::new();
                        self.out_pos = 0;
                    }
                }
                if !tls.wants_write() {
                    // Nothing sealed to send: done, or the session takes no more until the
                    // handshake moves on (a later read lists the connection again).
                    return Ok(());
                }
                match tls.write_tls(&mut socket) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        return Ok(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        while self.out_pos < self.out.len() {
            match socket.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out = Vec::new();
        self.out_pos = 0;
        Ok(())
    }
}

/// A connection's socket as its writes see it. What a connection closing writes (its goodbye) is
/// sent with `MSG_MORE`, so that the close that follows sets FIN on that segment rather than
/// sending a segment of its own, as natter-server's goodbye leaves (`shell/server/conn.rs`,
/// `End::Last`): a floor must not spend a packet a server speaking the same lines can save.
/// natter-server also shuts the sending side down before it closes, so that a client's input after
/// its `logout` (which makes the close a reset, and a reset drops what was held) cannot cost it the
/// goodbye: a rule, which the floor does without (the generator sends nothing after `logout`).
struct Socket<'a> {
    sock: &'a TcpStream,
    last: bool,
}

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.last {
            socket2::SockRef::from(self.sock)
                .send_with_flags(buf, libc::MSG_MORE | libc::MSG_NOSIGNAL)
        } else {
            self.sock.write(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn a_goodbye_is_held_for_the_close_and_arrives_with_the_end() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (sock, _) = listener.accept().unwrap();
        let mut got = [0u8; 64];
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let last = false;
        Socket { sock: &sock, last }
            .write_all(b"WELCOME u1\n")
            .unwrap();
        let n = client.read(&mut got).unwrap();
        assert_eq!(
            &got[..n],
            b"WELCOME u1\n",
            "an open connection's line goes at once"
        );
        let last = true;
        Socket { sock: &sock, last }
            .write_all(b"BYE logout Goodbye.\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        client.set_nonblocking(true).unwrap();
        let held = client.read(&mut got).map_err(|e| e.kind());
        assert_eq!(held, Err(io::ErrorKind::WouldBlock), "held for the close");
        drop(sock);
        client.set_nonblocking(false).unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"BYE logout Goodbye.\n");
    }
}
