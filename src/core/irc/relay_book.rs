//! What an IRC message on its way through the core carries ([`Relaying`]), and how the lines of
//! the core that carry it are written ([`Decor`]): data only; `relay.rs` holds what is done with it.

/// An IRC message a client of this server sent, as its front fed it to the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relaying {
    /// Sent as `NOTICE`: relayed as one to IRC clients here, and never answered.
    pub(super) notice: bool,
    /// The target as the client wrote it (`bob`, `#team`), for the echo.
    pub(super) target: String,
    /// The text fed to the core (cut to what one relayed IRC line holds).
    pub(super) text: String,
    /// Its client-only tags, as on the wire (`+a=b;+c`), or empty.
    pub(super) client_tags: String,
    /// For a `TAGMSG`: the signal's tags fed to the core (`a=b;c`, `tagmsg.rs`); `None` for a
    /// `PRIVMSG` or `NOTICE`.
    pub(super) signal: Option<String>,
}

/// How the front writes a line of the core's that carries a [`Relaying`] from a client here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Decor {
    /// As `NOTICE` rather than `PRIVMSG`.
    pub(super) notice: bool,
    /// The sender's client-only tags, as on the wire.
    pub(super) client_tags: String,
}
