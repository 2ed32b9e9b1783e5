//! What reading a TLS connection reports, whichever layer runs the session: rustls during the
//! handshake ([`super::tls_conn`]) or the compact record layer after it ([`super::tls_compact`]).

/// What a read did, beyond handing over plaintext.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Progress {
    /// Records were queued for writing (the handshake's, an alert).
    pub(super) wrote: bool,
    /// The handshake finished during this read: plaintext waiting for it can now be sent.
    pub(super) established: bool,
    /// The client closed the TLS session.
    pub(super) closed: bool,
}

/// A TLS failure: the connection cannot go on (an alert may have been queued to say why).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct TlsError(String);

impl TlsError {
    pub(super) fn new(what: String) -> TlsError {
        TlsError(what)
    }
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError(e.to_string())
    }
}
