//! The problems the client finds itself, in words a person can act on: apart from how things are
//! shown, so that reading what was typed and showing what happened can both name them.

use crate::protocol::{Conversation, Name};

/// A problem the client found itself (the server's own errors are shown as [`crate::client::display::Item::Server`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("You have no private chat with {user}. Start one with 'startprivate {user}'.")]
    NoPrivateChat { user: String },
    #[error(
        "The private chat with {user} is not open yet (it opens once {user}'s client has proved it is {user}'s); wait until it is."
    )]
    PrivateNotOpen { user: Name },
    #[error(
        "A private chat with {user} needs your end-to-end keys, to prove to {user} that it is you, and they are not loaded on this client (see the error about them). Nothing was sent."
    )]
    PrivateNeedsKeys { user: Name },
    #[error("Usage: private <user> <text>")]
    PrivateUsage,
    #[error("That private message is too long (the limit is {max} bytes); it was not sent.")]
    PrivateTooLong { max: usize },
    #[error("Unknown command. Type 'help' for the list of commands.")]
    UnknownCommand,
    #[error("{0}")]
    Input(crate::protocol::LineError),
    #[error("The server sent a line natter does not understand ({0}); it was ignored.")]
    BadServerLine(String),
    #[error("{peer}'s client sent a line natter does not understand ({what}); it was ignored.")]
    BadPeerLine { peer: Name, what: String },
    #[error("Lost the connection to the server.")]
    ServerLost,
    #[error(
        "The server did not ask for a username within {secs} s; is it a natter server? Disconnected."
    )]
    NoGreeting { secs: u64 },
    #[error("The server closed the connection before login finished.")]
    ServerClosedAtLogin,
    #[error("The server did not confirm the logout; disconnected anyway.")]
    LogoutUnconfirmed,
    #[error("You are logging out; '{0}' was not sent.")]
    LoggingOut(String),
    #[error("Not connected to a server right now (logging in again); '{0}' was not sent.")]
    NotConnected(String),
    #[error("No server could be reached and logged in to within {secs} s; giving up.")]
    NoServerLeft { secs: u64 },
    #[error("Usage: {0}")]
    Usage(&'static str),
    #[error("That was {0} lines at once (a paste?); nothing was sent. Send them one at a time.")]
    SeveralLines(usize),
    #[error("'/{0}' belongs to the full-screen client (natter --tui), which has windows.")]
    FullScreenOnly(&'static str),
    /// Caught before sending, so that no conversation window with oneself is opened (the server
    /// would refuse the message anyway).
    #[error("You cannot talk to yourself ({0}); name someone else.")]
    ToYourself(Name),
    #[error(
        "That message is too long to send: the server takes lines of at most {limit} bytes, and this one would be {len}. Nothing was sent; split it, or shorten it by {} bytes.",
        len - limit
    )]
    MessageTooLong { limit: usize, len: usize },
    #[error("A message from {from} could not be decrypted ({why}).")]
    Undecryptable { from: Name, why: String },
    #[error(
        "Your end-to-end keys could not be opened: {0}. Nothing is sent to users or groups until they are (it would go unencrypted), and private chats are off. If your password was changed since they were last used, type 'e2e-unlock <previous password>'; to make new keys instead (your contacts will be told your key changed), type 'e2e-newkeys'."
    )]
    E2eOff(String),
    #[error(
        "Not sent: your end-to-end keys are not open ({why}), and it would go unencrypted. See 'e2e-unlock' and 'e2e-newkeys' in 'help'."
    )]
    E2eUnavailable { why: String },
    #[error("Not sent to {}: {why}", conversation_name(to))]
    E2eNotSent {
        to: crate::protocol::Conversation,
        why: String,
    },
    #[error(
        "Could not save your encryption state ({why}), so what depended on it was NOT sent{}: a message must not leave before the key it used is saved. Nothing more is sent encrypted until saving works: free some disk space or make the state directory writable, then send again.",
        if not_sent.is_empty() { String::new() } else { format!(" (to {})", not_sent.iter().map(conversation_name).collect::<Vec<_>>().join(", ")) }
    )]
    E2eSaveFailed {
        why: String,
        not_sent: Vec<crate::protocol::Conversation>,
    },
    #[error(
        "Your password was changed, but your end-to-end keys could not be locked with the new one ({0}): they still open with the old one. At your next login, type 'e2e-unlock <old password>' to open them (they are then locked with the new one)."
    )]
    E2eRewrapFailed(String),
    #[error("The passwords differ; nothing was sent. Choose the new password again.")]
    PasswordsDiffer,
    #[error(
        "Not trusting the certificate {server} now presents; disconnected. If its operator confirms it, run natter with --accept-new-cert {fingerprint}."
    )]
    NotTrusted { server: String, fingerprint: String },
    #[error(
        "{server} has not proved it is the server you trust (plain text, or a certificate new to this client), so the password is not sent to it by itself, and there is nobody at a terminal to type it; disconnected."
    )]
    ReloginNeedsUser { server: String },
}

/// How a conversation is named in a sentence: `bob`, `group devs`.
pub fn conversation_name(to: &Conversation) -> String {
    match to {
        Conversation::Group(g) => format!("group {g}"),
        Conversation::User(u) | Conversation::Private(u) => u.to_string(),
        Conversation::Broadcasts => "everyone".into(),
    }
}
