//! The problems the client finds itself, in words a person can act on: apart from how things are
//! shown, so that reading what was typed and showing what happened can both name them.

use crate::protocol::{Conversation, Name};

/// A problem the client found itself (the server's own errors are shown as [`crate::client::display::Item::Server`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// `private <user> <text>` with nobody of that name in a private chat.
    #[error("You have no private chat with {user}. Start one with 'startprivate {user}'.")]
    NoPrivateChat {
        /// The user named, as typed.
        user: String,
    },
    /// Text for a private chat whose peer has not proved who it is yet: nothing goes on a session
    /// that might run through someone else.
    #[error(
        "The private chat with {user} is not open yet (it opens once {user}'s client has proved it is {user}'s); wait until it is."
    )]
    PrivateNotOpen {
        /// The peer.
        user: Name,
    },
    /// Starting or accepting a private chat without end-to-end keys to prove who this is: refused
    /// before the server is asked, as an unproven chat is one a server in the middle could read.
    #[error(
        "A private chat with {user} needs your end-to-end keys, to prove to {user} that it is you, and they are not loaded on this client (see the error about them). Nothing was sent."
    )]
    PrivateNeedsKeys {
        /// The peer asked for.
        user: Name,
    },
    /// `private` without a user and a text.
    #[error("Usage: private <user> <text>")]
    PrivateUsage,
    /// A private chat's line longer than a frame takes.
    #[error("That private message is too long (the limit is {max} bytes); it was not sent.")]
    PrivateTooLong {
        /// The longest text a frame takes, in bytes.
        max: usize,
    },
    /// A command neither natter nor the client knows (or one the client sends only on its own):
    /// the word, as typed.
    #[error("'{0}' is not a command; type /help for the list")]
    UnknownCommand(String),
    /// A command nobody knows that is one slip from one that exists: the word, and the command.
    #[error("'{word}' is not a command; did you mean {like}? (/help lists them all)")]
    Misspelt {
        /// The word, as typed.
        word: String,
        /// The command it is closest to.
        like: &'static str,
    },
    /// A word of irssi's (or another client's) that natter has no meaning for: what to type
    /// instead.
    #[error("/{word}: {instead}")]
    Instead {
        /// The word.
        word: &'static str,
        /// What to type instead.
        instead: &'static str,
    },
    /// A word that acts in a conversation's window, typed where there is none (line mode, the
    /// status window): what to type instead.
    #[error("/{word} acts in a conversation's window; here, {instead}")]
    NeedsWindow {
        /// The word.
        word: &'static str,
        /// What to type instead.
        instead: &'static str,
    },
    /// A typed line no line may be (a control character, bytes that are not UTF-8).
    #[error("{0}")]
    Input(crate::protocol::LineError),
    /// A line of the server that does not decode (or that it sent at the wrong time): said, and
    /// ignored, never fatal.
    #[error("The server sent a line natter does not understand ({0}); it was ignored.")]
    BadServerLine(String),
    /// An `ERROR` from a newer server, with a code this natter does not know: what the server said
    /// is shown (its text, after the code).
    #[error(
        "{text} (the server's error '{code}', which this natter does not know: a newer one may)"
    )]
    NewerError {
        /// The code.
        code: String,
        /// What followed it.
        text: String,
    },
    /// A `BYE` from a newer server, with a reason this natter does not know: the connection is
    /// closing, and what the server said is shown.
    #[error(
        "The server is closing the connection: {text} (its reason '{reason}', which this natter does not know: a newer one may)"
    )]
    NewerBye {
        /// The reason.
        reason: String,
        /// What followed it.
        text: String,
    },
    /// A line on a private chat that is not in its protocol.
    #[error("{peer}'s client sent a line natter does not understand ({what}); it was ignored.")]
    BadPeerLine {
        /// The peer whose client sent it.
        peer: Name,
        /// What was wrong with it.
        what: String,
    },
    /// The server's connection closed while logged in, with no other server to go to.
    #[error("Lost the connection to the server.")]
    ServerLost,
    /// The server connected to did not prompt in time: not a natter server, or not a working one.
    #[error(
        "The server did not ask for a username within {secs} s; is it a natter server? Disconnected."
    )]
    NoGreeting {
        /// How long it was given.
        secs: u64,
    },
    /// The server closed the connection before it welcomed the user.
    #[error("The server closed the connection before login finished.")]
    ServerClosedAtLogin,
    /// `logout` was sent and no goodbye came within the grace period.
    #[error("The server did not confirm the logout; disconnected anyway.")]
    LogoutUnconfirmed,
    /// A line typed after `logout` was sent (the line, trimmed).
    #[error("You are logging out; '{0}' was not sent.")]
    LoggingOut(String),
    /// A line typed between servers (the line, trimmed): nothing can be sent until the client is
    /// logged in again.
    #[error("Not connected to a server right now (logging in again); '{0}' was not sent.")]
    NotConnected(String),
    /// A line typed after `disconnect`: nothing is sent until the user says to log in again.
    #[error("Disconnected: '{0}' was not sent. Type /reconnect to log in again.")]
    Disconnected(String),
    /// The server was lost and none could be used again within the bound.
    #[error("No server could be reached and logged in to within {secs} s; giving up.")]
    NoServerLeft {
        /// The bound, in seconds.
        secs: u64,
    },
    /// One of the client's own commands with wrong arguments: how it is used.
    #[error("Usage: {0}")]
    Usage(&'static str),
    /// Several lines in one (a paste into line mode keeps its line breaks): sent as none of them.
    #[error("That was {0} lines at once (a paste?); nothing was sent. Send them one at a time.")]
    SeveralLines(usize),
    /// A window command typed in line mode, which has no windows.
    #[error("'/{0}' belongs to the full-screen client (natter --tui), which has windows.")]
    FullScreenOnly(&'static str),
    /// Caught before sending, so that no conversation window with oneself is opened (the server
    /// would refuse the message anyway).
    #[error("You cannot talk to yourself ({0}); name someone else.")]
    ToYourself(Name),
    /// A message whose line the server would refuse as too long: refused before sending, with
    /// how much to cut.
    #[error(
        "That message is too long to send: the server takes lines of at most {limit} bytes, and this one would be {len}. Nothing was sent; split it, or shorten it by {} bytes.",
        len - limit
    )]
    MessageTooLong {
        /// The longest line the server takes, in bytes.
        limit: usize,
        /// How long this one's line would be.
        len: usize,
    },
    /// An encrypted message this device cannot read: said, so it is not silently lost.
    #[error("A message from {from} could not be decrypted ({why}).")]
    Undecryptable {
        /// Who sent it.
        from: Name,
        /// What the device said.
        why: String,
    },
    /// The logged-in user's stored keys could not be opened (why): everything that would be
    /// encrypted stops, and the ways out are named.
    #[error(
        "Your end-to-end keys could not be opened: {0}. Nothing is sent to users or groups until they are (it would go unencrypted), and private chats are off. If your password was changed since they were last used, type 'e2e-unlock <previous password>'; to make new keys instead (your contacts will be told your key changed), type 'e2e-newkeys'."
    )]
    E2eOff(String),
    /// A message that would be encrypted, typed while the keys are not open: not sent in clear.
    #[error(
        "Not sent: your end-to-end keys are not open ({why}), and it would go unencrypted. See 'e2e-unlock' and 'e2e-newkeys' in 'help'."
    )]
    E2eUnavailable {
        /// Why they are not open (still being opened, or the failure).
        why: String,
    },
    /// A message to a conversation whose stored end-to-end state could not be read: that
    /// conversation stops until the user starts it over.
    #[error("Not sent to {}: {why}", conversation_name(to))]
    E2eNotSent {
        /// The conversation.
        to: crate::protocol::Conversation,
        /// What could not be read.
        why: String,
    },
    /// A commit of end-to-end saves failed: what depended on it was dropped (a message must not
    /// leave before the key it used is saved).
    #[error(
        "Could not save your encryption state ({why}), so what depended on it was NOT sent{}: a message must not leave before the key it used is saved. Nothing more is sent encrypted until saving works: free some disk space or make the state directory writable, then send again.",
        if not_sent.is_empty() { String::new() } else { format!(" (to {})", not_sent.iter().map(conversation_name).collect::<Vec<_>>().join(", ")) }
    )]
    E2eSaveFailed {
        /// What the shell said.
        why: String,
        /// The conversations whose messages were not sent.
        not_sent: Vec<crate::protocol::Conversation>,
    },
    /// `passwd` worked, but the stored keys could not be locked with the new password (why): they
    /// still open with the old one, and the user is told how to get in.
    #[error(
        "Your password was changed, but your end-to-end keys could not be locked with the new one ({0}): they still open with the old one. At your next login, type 'e2e-unlock <old password>' to open them (they are then locked with the new one)."
    )]
    E2eRewrapFailed(String),
    /// A new password typed twice, differently: asked again from the start.
    #[error("The passwords differ; nothing was sent. Choose the new password again.")]
    PasswordsDiffer,
    /// The user did not confirm a server's changed certificate: the client ends.
    #[error(
        "Not trusting the certificate {server} now presents; disconnected. If its operator confirms it, run natter with --accept-new-cert {fingerprint}."
    )]
    NotTrusted {
        /// The server, as the user named it.
        server: String,
        /// The certificate it presents.
        fingerprint: String,
    },
    /// Logging in again by itself at a server that did not prove it is the one trusted, with
    /// nobody at a terminal to type the password: the client ends rather than send it.
    #[error(
        "{server} has not proved it is the server you trust (plain text, or a certificate new to this client), so the password is not sent to it by itself, and there is nobody at a terminal to type it; disconnected."
    )]
    ReloginNeedsUser {
        /// The server, as the user named it.
        server: String,
    },
}

/// How a conversation is named in a sentence: `bob`, `group devs`.
pub fn conversation_name(to: &Conversation) -> String {
    match to {
        Conversation::Group(g) => format!("group {g}"),
        Conversation::User(u) | Conversation::Private(u) => u.to_string(),
        Conversation::Broadcasts => "everyone".into(),
    }
}
