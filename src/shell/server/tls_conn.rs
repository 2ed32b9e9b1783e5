//! One connection's TLS, over rustls's unbuffered API: bytes from the socket in, plaintext out to the line
//! decoder, records to write appended to the connection's queue.
//!
//! Once the handshake is over, a ChaCha20-Poly1305 session is handed to its compact form
//! ([`CompactSession`]): rustls keeps computing its secrets, natter seals and opens its records.
//!
//! Why the unbuffered API: the buffered `ServerConnection` keeps a 4 KiB receive buffer per connection
//! for as long as it lives, which would triple what an idle connection costs. Here incoming records are
//! decrypted straight from the shared read buffer, and only an incomplete record is kept (usually
//! nothing). Plaintext written before the handshake has finished waits and is encrypted once it has.

use std::sync::Arc;

use rustls::server::{ServerConfig, UnbufferedServerConnection};

use super::tls_compact::{CompactSession, Inbound};
use super::tls_read::{Progress, TlsError};
use crate::shell::tls_chacha;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};

/// The largest plaintext a TLS record carries.
const MAX_PLAIN: usize = 16 * 1024;
/// Room for a record's header, content type, padding and tag around its plaintext.
const RECORD_OVERHEAD: usize = 64;

pub(super) struct TlsConn {
    session: Session,
    /// Bytes from the client not used yet: the start of a record that has not fully arrived, and,
    /// for rustls, the records holding a handshake message it has only part of (rustls keeps
    /// pointing into them: they must be handed back to it, as they are, at every call).
    partial: Vec<u8>,
    close_sent: bool,
    /// The client has sent something: the handshake has begun.
    begun: bool,
    /// The compact session's record rules' state (see [`Inbound`] for why it is kept here).
    inbound: Inbound,
}

/// Who runs the session. Each form is boxed on its own, so a compact session does not pay for
/// rustls' connection's size.
enum Session {
    /// rustls: the handshake, and afterwards a session on a suite without a compact form (TLS 1.2,
    /// AES-GCM).
    Rustls {
        conn: Box<UnbufferedServerConnection>,
        established: bool,
    },
    /// An established ChaCha20-Poly1305 session, once rustls has handed its secrets over.
    Compact(Box<CompactSession>),
    /// While changing from one to the other, and for good once the session has failed: a session
    /// that failed never runs again (rustls must not be called after an error, and the alert
    /// saying why has been queued).
    Ended,
}

impl TlsConn {
    pub(super) fn new(config: Arc<ServerConfig>) -> Result<Box<TlsConn>, TlsError> {
        Ok(Box::new(TlsConn {
            session: Session::Rustls {
                conn: Box::new(UnbufferedServerConnection::new(config)?),
                established: false,
            },
            partial: Vec::new(),
            close_sent: false,
            begun: false,
            inbound: Inbound::default(),
        }))
    }

    pub(super) fn is_established(&self) -> bool {
        match &self.session {
            Session::Rustls { established, .. } => *established,
            Session::Compact(_) => true,
            Session::Ended => false,
        }
    }

    /// Whether any byte of the handshake has been read: before, the connection can still be turned
    /// away in plain text.
    pub(super) fn has_begun(&self) -> bool {
        self.begun
    }

    /// Whether the session runs in its compact form (asked by the test rigs only).
    #[cfg(any(test, feature = "rigs"))]
    pub(super) fn is_compact(&self) -> bool {
        matches!(self.session, Session::Compact(_))
    }

    /// Once the handshake is over, hands the session to its compact form if its suite has one.
    fn compact(&mut self) -> Result<(), TlsError> {
        let Session::Rustls {
            conn,
            established: true,
        } = &self.session
        else {
            return Ok(());
        };
        if !conn
            .negotiated_cipher_suite()
            .is_some_and(tls_chacha::is_compact)
        {
            return Ok(());
        }
        let Session::Rustls { conn, .. } = std::mem::replace(&mut self.session, Session::Ended)
        else {
            unreachable!("matched above");
        };
        let (secrets, kernel) = conn.dangerous_into_kernel_connection()?;
        let compact = CompactSession::new(secrets, kernel).ok_or_else(|| {
            TlsError::new("the session's secrets are not ChaCha20-Poly1305".into())
        })?;
        self.session = Session::Compact(Box::new(compact));
        Ok(())
    }

    /// Takes `incoming` bytes from the socket (which may be decrypted in place): plaintext goes to
    /// `plain`, records to send are appended to `wire`.
    pub(super) fn read(
        &mut self,
        incoming: &mut [u8],
        plain: impl FnMut(&[u8]),
        wire: &mut Vec<u8>,
    ) -> Result<Progress, TlsError> {
        self.begun |= !incoming.is_empty();
        let result = self.read_records(incoming, plain, wire);
        if result.is_err() {
            self.end();
        }
        result
    }

    /// Forgets a session that failed.
    fn end(&mut self) {
        self.session = Session::Ended;
        self.partial = Vec::new();
    }

    fn read_records(
        &mut self,
        incoming: &mut [u8],
        mut plain: impl FnMut(&[u8]),
        wire: &mut Vec<u8>,
    ) -> Result<Progress, TlsError> {
        if self.partial.is_empty() {
            let used = self.process(incoming, &mut plain, wire);
            let (used, progress) = used?;
            self.partial.extend_from_slice(&incoming[used..]);
            Ok(progress)
        } else {
            let mut buf = std::mem::take(&mut self.partial);
            buf.extend_from_slice(incoming);
            let result = self.process(&mut buf, &mut plain, wire);
            let (used, progress) = result?;
            buf.drain(..used);
            // Keep the allocation only while a record is incomplete.
            self.partial = if buf.is_empty() { Vec::new() } else { buf };
            Ok(progress)
        }
    }

    /// Reads the whole records in `data`; returns how many bytes were used (the rest is an incomplete
    /// record).
    fn process(
        &mut self,
        data: &mut [u8],
        plain: &mut impl FnMut(&[u8]),
        wire: &mut Vec<u8>,
    ) -> Result<(usize, Progress), TlsError> {
        let (used, mut progress) = match &mut self.session {
            Session::Rustls { conn, established } => {
                process_rustls(conn, established, data, plain, wire)?
            }
            Session::Compact(compact) => return compact.read(&mut self.inbound, data, plain, wire),
            Session::Ended => {
                return Err(TlsError::new("the TLS session has ended".into()));
            }
        };
        if progress.established {
            self.compact()?;
            if let Session::Compact(compact) = &mut self.session {
                // Records that came with the end of the handshake are the compact session's.
                let (more, after) =
                    compact.read(&mut self.inbound, &mut data[used..], plain, wire)?;
                progress.wrote |= after.wrote;
                progress.closed |= after.closed;
                return Ok((used + more, progress));
            }
        }
        Ok((used, progress))
    }

    /// Encrypts `plain` into records appended to `wire`. False if the handshake has not finished yet
    /// (nothing was done: try again once it has).
    pub(super) fn encrypt(&mut self, plain: &[u8], wire: &mut Vec<u8>) -> Result<bool, TlsError> {
        let result = match &mut self.session {
            Session::Rustls { conn, .. } => encrypt_rustls(conn, &mut self.partial, plain, wire),
            Session::Compact(compact) => compact
                .encrypt(&mut self.inbound, plain, wire)
                .map(|()| true),
            Session::Ended => Err(TlsError::new("the TLS session has ended".into())),
        };
        if result.is_err() {
            self.end();
        }
        result
    }

    /// Appends a close_notify alert to `wire` (once), so the client can tell a clean close from a cut
    /// connection.
    pub(super) fn close_notify(&mut self, wire: &mut Vec<u8>) {
        if self.close_sent || !self.is_established() {
            return;
        }
        self.close_sent = true;
        match &mut self.session {
            Session::Rustls { conn, .. } => {
                // The bytes rustls may still point into go back to it (see `partial`).
                let UnbufferedStatus { state, .. } = conn.process_tls_records(&mut self.partial);
                if let Ok(ConnectionState::WriteTraffic(mut traffic)) = state {
                    let _ = encrypt_into(|buf| traffic.queue_close_notify(buf), 0, wire);
                }
            }
            Session::Compact(compact) => compact.close_notify(wire),
            Session::Ended => {}
        }
    }
}

/// Runs rustls over `data` until it needs more; returns how many bytes it consumed.
fn process_rustls(
    conn: &mut UnbufferedServerConnection,
    established: &mut bool,
    data: &mut [u8],
    plain: &mut impl FnMut(&[u8]),
    wire: &mut Vec<u8>,
) -> Result<(usize, Progress), TlsError> {
    let mut used = 0;
    let mut progress = Progress::default();
    loop {
        let UnbufferedStatus { mut discard, state } = conn.process_tls_records(&mut data[used..]);
        match state {
            Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                while let Some(record) = traffic.next_record() {
                    let record = record?;
                    discard += record.discard;
                    plain(record.payload);
                }
            }
            Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                encode_into(|buf| encode.encode(buf), wire)?;
                progress.wrote = true;
            }
            Ok(ConnectionState::TransmitTlsData(transmit)) => {
                // The records are in `wire`, which the connection's flush writes.
                transmit.done();
            }
            Ok(ConnectionState::BlockedHandshake) => {
                used += discard;
                return Ok((used, progress));
            }
            Ok(ConnectionState::WriteTraffic(_)) => {
                if !*established {
                    *established = true;
                    progress.established = true;
                }
                used += discard;
                // Anything else in `data` is an incomplete record: nothing more to do now.
                return Ok((used, progress));
            }
            Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => {
                used += discard;
                progress.closed = true;
                return Ok((used, progress));
            }
            Ok(ConnectionState::ReadEarlyData(_)) => {
                return Err(TlsError::new("early data is not accepted".into()));
            }
            Ok(_) => return Err(TlsError::new("unexpected TLS state".into())),
            Err(e) => {
                // rustls queues an alert saying why; send it if it will come.
                used += discard;
                flush_alert(conn, &mut data[used..], wire);
                return Err(e.into());
            }
        }
        used += discard;
    }
}

/// After an error, encodes the alert rustls queued, if any, and nothing else: rustls hands out what it
/// has queued before it reads another record, and it must not read another (it could fail again, and
/// it may still point into `data`, the bytes it has not let go of, which it is given for that reason).
fn flush_alert(conn: &mut UnbufferedServerConnection, data: &mut [u8], wire: &mut Vec<u8>) {
    while conn.wants_write() {
        let UnbufferedStatus { state, .. } = conn.process_tls_records(data);
        let Ok(ConnectionState::EncodeTlsData(mut encode)) = state else {
            return;
        };
        if encode_into(|buf| encode.encode(buf), wire).is_err() {
            return;
        }
    }
}

/// Encrypts `plain` with rustls; false if the handshake has not finished yet. `partial` is what
/// rustls has not let go of (see [`TlsConn`]); handing it an empty buffer instead would break its
/// contract, and it panics when a handshake message is cut across records.
fn encrypt_rustls(
    conn: &mut UnbufferedServerConnection,
    partial: &mut [u8],
    plain: &[u8],
    wire: &mut Vec<u8>,
) -> Result<bool, TlsError> {
    loop {
        // Nothing in `partial` is a whole record rustls has not read (a read reads them all), so
        // this finds the state, and reads nothing.
        let UnbufferedStatus { state, .. } = conn.process_tls_records(partial);
        match state {
            Ok(ConnectionState::WriteTraffic(mut traffic)) => {
                for chunk in plain.chunks(MAX_PLAIN) {
                    encrypt_into(|buf| traffic.encrypt(chunk, buf), chunk.len(), wire)?;
                }
                return Ok(true);
            }
            Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                encode_into(|buf| encode.encode(buf), wire)?;
            }
            Ok(ConnectionState::TransmitTlsData(transmit)) => transmit.done(),
            Ok(ConnectionState::BlockedHandshake) => return Ok(false),
            Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => {
                return Err(TlsError::new("the TLS session is closed".into()));
            }
            Ok(_) => return Err(TlsError::new("unexpected TLS state".into())),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Appends an encoded handshake record to `wire`, growing it as rustls asks.
fn encode_into(
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
    wire: &mut Vec<u8>,
) -> Result<(), TlsError> {
    let start = wire.len();
    let mut room = 4096;
    loop {
        wire.resize(start + room, 0);
        match encode(&mut wire[start..]) {
            Ok(n) => {
                wire.truncate(start + n);
                return Ok(());
            }
            Err(EncodeError::InsufficientSize(e)) => room = e.required_size,
            Err(e) => {
                wire.truncate(start);
                return Err(TlsError::new(e.to_string()));
            }
        }
    }
}

/// Appends an encrypted record of `len` bytes of plaintext to `wire`.
fn encrypt_into(
    mut encrypt: impl FnMut(&mut [u8]) -> Result<usize, EncryptError>,
    len: usize,
    wire: &mut Vec<u8>,
) -> Result<(), TlsError> {
    let start = wire.len();
    let mut room = len + RECORD_OVERHEAD;
    loop {
        wire.resize(start + room, 0);
        match encrypt(&mut wire[start..]) {
            Ok(n) => {
                wire.truncate(start + n);
                return Ok(());
            }
            Err(EncryptError::InsufficientSize(e)) if e.required_size > room => {
                room = e.required_size;
            }
            Err(e) => {
                wire.truncate(start);
                return Err(TlsError::new(e.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_rules_state_costs_an_idle_connection_nothing() {
        // glibc hands a 48-byte request (what `TlsConn` was before the compact layer kept any state
        // between records) a 64-byte chunk, whose room for 56 bytes the state now uses; and the
        // compact session itself is unchanged.
        assert!(
            std::mem::size_of::<TlsConn>() <= 56,
            "{}",
            std::mem::size_of::<TlsConn>()
        );
        assert!(std::mem::size_of::<CompactSession>() <= 664);
    }
}
