//! The marks the client puts before a text it shows: that it came late, or how it was (or was not)
//! protected. One place for them, so that whatever reads a shown text back (an action's `/me`
//! comes after them) knows every one, and the words that make them and the words that read them
//! cannot drift apart.

/// A message that arrived after messages sent later were shown (a server, or someone on the way,
/// held it back): shown, marked, never hidden as a redelivery.
pub const LATE: &str = "(delayed: sent before messages already shown)";

/// A text that arrived without encryption from a user whose keys are not pinned.
pub const NOT_ENCRYPTED: &str = "(not encrypted)";

/// A text that arrived without encryption "from" a contact whose keys are pinned: their client
/// always encrypts, so this is what a forgery by the server looks like.
pub const MAYBE_FORGED: &str =
    "(NOT ENCRYPTED, MAY BE FORGED: this contact's messages are always encrypted)";

/// A text from a contact whose key the user verified.
pub const VERIFIED: &str = "✓";

/// A text from a key that changed and is not trusted yet.
pub const KEY_CHANGED: &str = "(KEY CHANGED, not trusted)";

/// Every mark, as it may come before a shown text (each followed by a space).
pub const MARKS: [&str; 5] = [LATE, NOT_ENCRYPTED, VERIFIED, KEY_CHANGED, MAYBE_FORGED];
