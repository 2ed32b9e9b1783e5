//! What the front asks the composed server to do: the steps an IRC line (or a core line for an IRC
//! connection) becomes, in order.

/// What the front asks the composed server to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// IRC lines for the client, ready to write (each with its `\r\n`).
    Say(Vec<u8>),
    /// IRC lines that hand over the stored message `id`: IRC has no acknowledgement, so the front
    /// acknowledges it to the core once these are written to the connection.
    SayStored {
        /// The lines.
        bytes: Vec<u8>,
        /// The stored message's id.
        id: u64,
    },
    /// A natter line for the core, as if the client had typed it.
    Feed(Vec<u8>),
    /// A natter `message` line for the core that carries an IRC message (`PRIVMSG`, `NOTICE`): fed
    /// as [`Step::Feed`] is, and the composed server tells the fronts while the core handles it
    /// ([`super::IrcFront::begin_relay`]), so that its IRC recipients on this server get its tags
    /// and command, and its sender the echo, the msgid and no reply to a `NOTICE`.
    Relay(Vec<u8>, super::relay_book::Relaying),
    /// The connection ends here: the core hears it is gone, and it is closed once what was said
    /// before is written.
    Close,
}
