//! What end-to-end encryption tells the user, in words. Every hint names a command in its slash form
//! (`/trust bob 12345`), which works as typed both at the line client's prompt and in a conversation's
//! window of the full-screen client (where a line without the slash is said to the conversation).

use super::{EngineError, Refusal};
use crate::protocol::{Conversation, Name};

/// Why messages to a contact wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Their keys were asked for; the answer has not come.
    Claiming,
    /// Their keys were asked for a while ago and the server has not answered.
    Slow,
    /// The server says they have never published keys.
    NoKeys,
    /// The server says they have no keys, yet their keys were pinned: not believed.
    Withdrawn,
    /// Their key changed and the user has not accepted or rejected the new one.
    Changed,
    /// This device does not hold the account's keys yet (see [`Note::Elsewhere`]).
    NotHere,
}

/// Why a member does not get a group's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeftOut {
    /// The server says they have no keys.
    NoKeys,
    /// They blocked this user (the server does not deliver to them either).
    BlockedYou,
    /// Their key changed and the change is not accepted.
    KeyChanged,
}

/// How a conversation is protected, as shown where the user looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// End-to-end encrypted; the contact's key not compared.
    Encrypted,
    /// End-to-end encrypted with a key the user compared (every member's, for a group).
    Verified,
    /// The contact's key changed and the user has not decided: nothing is sent.
    KeyChanged,
    /// Not end-to-end encrypted: the server can read it.
    NotEncrypted,
    /// The contact's keys are asked of the server and not known yet: nothing is sent until they
    /// come (or the server says there are none, and the user decides). Not said as a line: the
    /// answer comes at once from an honest server, and what it says then is the news.
    Waiting,
}

impl Protection {
    /// The short form, for a status bar: `[e2e]`, `[e2e ✓]`, `[KEY CHANGED]`, `[NOT ENCRYPTED]`,
    /// `[keys asked]`.
    pub fn badge(self) -> &'static str {
        match self {
            Protection::Encrypted => "e2e",
            Protection::Verified => "e2e ✓",
            Protection::KeyChanged => "KEY CHANGED",
            Protection::NotEncrypted => "NOT ENCRYPTED",
            Protection::Waiting => "keys asked",
        }
    }
}

/// Something to tell the user about end-to-end encryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A contact's identity key is not the pinned one: each new key is announced, as loudly as the
    /// first. `fingerprint` is the new key's part of the safety number, `confirm` its first digits.
    KeyChanged {
        /// The contact.
        user: Name,
        /// The new key's part of the safety number.
        fingerprint: String,
        /// Its first digits, which `/trust` takes.
        confirm: String,
        /// How many messages to them wait for the user's decision.
        waiting: usize,
    },
    /// A message was not sent.
    NotSent {
        /// Where it was to go.
        to: Conversation,
        /// What it said.
        text: String,
        /// Why it did not go.
        why: Refusal,
    },
    /// Messages to `user` wait (`count` of them), and why.
    Waiting {
        /// The contact.
        user: Name,
        /// What they wait for.
        why: Wait,
        /// How many.
        count: usize,
    },
    /// Messages to `group` wait (`count` of them) for the client to learn its members, which the
    /// server was asked for: the group's key goes only to members the user has been shown, so
    /// nothing can be encrypted for the group before. They go as soon as the list comes.
    MembersAwaited {
        /// The group.
        group: Name,
        /// How many messages to it wait.
        count: usize,
    },
    /// What waited for `user` went unencrypted, as the user asked.
    SentInClear {
        /// The contact.
        user: Name,
        /// How many messages went.
        count: usize,
    },
    /// Members of `group` who do not get its key, so do not get what is sent to it now.
    LeftOut {
        /// The group.
        group: Name,
        /// Who, and why.
        users: Vec<(Name, LeftOut)>,
    },
    /// A change of `group`'s members the user has not seen otherwise (or, `first`, the members as
    /// first learnt, when the line that told them was not shown).
    Members {
        /// The group.
        group: Name,
        /// Who joined since the members were last said.
        added: Vec<Name>,
        /// Who left.
        removed: Vec<Name>,
        /// Every member now.
        all: Vec<Name>,
        /// The members as first learnt, not a change.
        first: bool,
    },
    /// Whom this user's current key for `group` went to.
    SharedWith {
        /// The group.
        group: Name,
        /// The members it went to.
        with: Vec<Name>,
        /// The members it waits to go to (their keys were asked for).
        waiting: Vec<Name>,
        /// The members it does not go to, and why.
        left_out: Vec<(Name, LeftOut)>,
    },
    /// A key change was accepted.
    Accepted {
        /// The contact.
        user: Name,
    },
    /// A key change was rejected: the old key stays; `refused` messages that waited were dropped.
    Rejected {
        /// The contact.
        user: Name,
        /// How many messages that waited were dropped.
        refused: usize,
    },
    /// The user marked a contact verified.
    Verified {
        /// The contact.
        user: Name,
    },
    /// The user took a verified mark back.
    Unverified {
        /// The contact.
        user: Name,
    },
    /// A private chat's peer proved the verified identity.
    PrivateVerified {
        /// The peer.
        user: Name,
    },
    /// The safety number with `user` (`number`: both parts, labelled), to compare out of band.
    SafetyNumber {
        /// The contact.
        user: Name,
        /// Both parts of the number, labelled.
        number: String,
        /// The first digits of their part, which `/verify ... yes` takes.
        confirm: String,
        /// The user marked them verified already.
        verified: bool,
        /// Their key changed and the change is not accepted: this is the new key's number.
        changed: bool,
    },
    /// `user` has no keys, so no safety number.
    NoSafetyNumber {
        /// The contact.
        user: Name,
    },
    /// A message from `from` was encrypted for another device of this account. `held`: this device
    /// is not the account's yet, so it is left on the server for that device; otherwise `from` is
    /// asked to send it again.
    ForOtherDevice {
        /// Who sent it.
        from: Name,
        /// Left on the server for the device it is for (rather than asked for again).
        held: bool,
    },
    /// `user` could not read a message this device sent (it was for a device they no longer have):
    /// its text, if still kept here, and whether it is sent again at once (else once the user
    /// accepts their new key).
    Unreadable {
        /// The contact.
        user: Name,
        /// The message's text, if this device still keeps it.
        text: Option<String>,
        /// It is sent again at once (their new key is known and trusted).
        at_once: bool,
    },
    /// The account's keys are on another device (`fingerprint`: that device's part of the number).
    Elsewhere {
        /// That device's part of the safety number.
        fingerprint: String,
    },
    /// This device now holds the account's keys.
    Moved {
        /// How many messages left for the other device were asked for again.
        bounced: usize,
    },
    /// Publishing keys failed (the engine could not make them).
    PublishFailed(EngineError),
    /// How a conversation is protected: said when it is first used, and when it changes.
    Protection {
        /// The conversation.
        to: Conversation,
        /// How it is protected now.
        state: Protection,
    },
    /// `e2e-reset <name>`: the conversation's stored state was started over (`done`), or there was
    /// none.
    Reset {
        /// The user or group.
        name: Name,
        /// There was stored state, and it was started over.
        done: bool,
    },
}

impl Note {
    /// Whether the note is a warning (an attack looks like this, or something is not protected).
    pub fn is_loud(&self) -> bool {
        match self {
            Note::KeyChanged { .. }
            | Note::SentInClear { .. }
            | Note::LeftOut { .. }
            | Note::Members { first: false, .. }
            | Note::ForOtherDevice { .. }
            | Note::Unreadable { .. }
            | Note::Elsewhere { .. } => true,
            Note::Waiting { why, .. } => *why != Wait::Claiming,
            Note::Protection { state, .. } => {
                matches!(state, Protection::KeyChanged | Protection::NotEncrypted)
            }
            _ => false,
        }
    }

    /// The conversation the note is about, if one: where a full-screen client shows it.
    pub fn conversation(&self) -> Option<Conversation> {
        let user = |u: &Name| Some(Conversation::User(u.clone()));
        match self {
            Note::KeyChanged { user: u, .. }
            | Note::Waiting { user: u, .. }
            | Note::SentInClear { user: u, .. }
            | Note::Accepted { user: u }
            | Note::Rejected { user: u, .. }
            | Note::Verified { user: u }
            | Note::Unverified { user: u }
            | Note::SafetyNumber { user: u, .. }
            | Note::NoSafetyNumber { user: u }
            | Note::Unreadable { user: u, .. } => user(u),
            Note::ForOtherDevice { from, .. } => user(from),
            Note::PrivateVerified { user: u } => Some(Conversation::Private(u.clone())),
            Note::NotSent { to, .. } | Note::Protection { to, .. } => Some(to.clone()),
            Note::LeftOut { group, .. }
            | Note::MembersAwaited { group, .. }
            | Note::Members { group, .. }
            | Note::SharedWith { group, .. } => Some(Conversation::Group(group.clone())),
            Note::Elsewhere { .. }
            | Note::Moved { .. }
            | Note::PublishFailed(_)
            | Note::Reset { .. } => None,
        }
    }

    /// Whether the note says something failed.
    pub fn is_error(&self) -> bool {
        matches!(self, Note::NotSent { .. } | Note::PublishFailed(_))
    }
}

/// The start of a text, enough to tell which message it was: at most 40 characters.
fn excerpt(text: &str) -> String {
    const CHARS: usize = 40;
    match text.char_indices().nth(CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

fn names(users: &[Name]) -> String {
    users.iter().map(|u| &**u).collect::<Vec<_>>().join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn conversation(to: &Conversation) -> String {
    match to {
        Conversation::Group(g) => format!("group {g}"),
        Conversation::User(u) | Conversation::Private(u) => u.to_string(),
        Conversation::Broadcasts => "everyone".into(),
    }
}

impl std::fmt::Display for LeftOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LeftOut::NoKeys => "no encryption keys",
            LeftOut::BlockedYou => "has blocked you",
            LeftOut::KeyChanged => "key changed, not accepted",
        })
    }
}

fn left_out(users: &[(Name, LeftOut)]) -> String {
    users
        .iter()
        .map(|(u, why)| format!("{u} ({why})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::KeyChanged {
                user,
                fingerprint,
                confirm,
                waiting,
            } => {
                write!(
                    f,
                    "{user}'s identity key has CHANGED (the new key's number: {fingerprint}). This happens when {user} moved to another device or reinstalled natter, or when someone is intercepting. Nothing is sent to {user} until you decide: compare safety numbers with {user} in person or by phone ('/verify {user}'), then '/trust {user} {confirm}' accepts exactly this key, or '/reject {user}' keeps the old one."
                )?;
                if *waiting > 0 {
                    write!(
                        f,
                        " {} to {user} wait{} for your decision.",
                        plural(*waiting, "message", "messages"),
                        if *waiting == 1 { "s" } else { "" }
                    )?;
                }
                Ok(())
            }
            // Never the whole text back (a long one would fill the screen): its start, to tell
            // which message it was, and nothing of one refused for its length.
            Note::NotSent {
                to,
                why: why @ Refusal::TooLong { .. },
                ..
            } => write!(f, "Not sent to {}: {why}", conversation(to)),
            Note::NotSent { to, text, why } => {
                write!(
                    f,
                    "Not sent to {} ('{}'): {why}",
                    conversation(to),
                    excerpt(text)
                )
            }
            Note::Waiting { user, why, count } => {
                // "1 message to bob waits", "2 messages to bob wait".
                let what = format!(
                    "{} to {user} {}",
                    plural(*count, "message", "messages"),
                    if *count == 1 { "waits" } else { "wait" }
                );
                let them = if *count == 1 { "it" } else { "them" };
                match why {
                    Wait::Claiming => {
                        write!(f, "{what} for {user}'s encryption keys (asked the server).")
                    }
                    Wait::Slow => write!(
                        f,
                        "The server has not answered for {user}'s encryption keys: {what} (kept, also across a restart, and sent once the keys come)."
                    ),
                    Wait::NoKeys => write!(
                        f,
                        "The server says {user} has never published encryption keys (never logged in with natter; or the server is hiding them). {what}, kept, until {user} has keys. '/sendclear {user}' sends {them} NOT ENCRYPTED instead: the server could read {them}."
                    ),
                    Wait::Withdrawn => write!(
                        f,
                        "The server says {user} has no encryption keys, yet {user}'s keys were pinned before: not believed, and nothing goes to {user} unencrypted. {what} until the server hands out {user}'s keys again (ask {user} to log in)."
                    ),
                    Wait::Changed => write!(
                        f,
                        "{what} until you accept {user}'s new key ('/trust {user} <digits>', after '/verify {user}') or reject it ('/reject {user}')."
                    ),
                    Wait::NotHere => write!(
                        f,
                        "{what} until this account is moved to this device ('/movehere')."
                    ),
                }
            }
            Note::MembersAwaited { group, count } => write!(
                f,
                "{} to {group} {} for {group}'s member list, asked of the server: {} sent as soon as the list comes, encrypted for the members it names.",
                plural(*count, "message", "messages"),
                if *count == 1 { "waits" } else { "wait" },
                if *count == 1 { "it is" } else { "they are" }
            ),
            Note::SentInClear { user, count } => write!(
                f,
                "{} to {user} went NOT ENCRYPTED, as you asked: the server can read {}.",
                plural(*count, "message", "messages"),
                if *count == 1 { "it" } else { "them" }
            ),
            Note::LeftOut { group, users } => write!(
                f,
                "Left out of your messages to {group} (they do not get its key, and nothing goes to anyone unencrypted): {}. '/sharedwith {group}' lists who gets them.",
                left_out(users)
            ),
            Note::Members {
                group,
                added,
                removed,
                all,
                first,
            } => {
                if *first {
                    return write!(
                        f,
                        "Members of {group}, as the server says (your messages to {group} are encrypted for them): {}.",
                        names(all)
                    );
                }
                write!(f, "The members of {group} changed")?;
                if !added.is_empty() {
                    write!(f, "; added: {}", names(added))?;
                }
                if !removed.is_empty() {
                    write!(f, "; gone: {}", names(removed))?;
                }
                write!(
                    f,
                    ". Your messages to {group} are encrypted for: {}.",
                    names(all)
                )
            }
            Note::SharedWith {
                group,
                with,
                waiting,
                left_out: out,
            } => {
                if with.is_empty() && waiting.is_empty() && out.is_empty() {
                    return write!(
                        f,
                        "You have not sent anything to {group} with your current key."
                    );
                }
                write!(
                    f,
                    "Your current key for {group} went to: {}",
                    if with.is_empty() {
                        "nobody yet".to_owned()
                    } else {
                        names(with)
                    }
                )?;
                if !waiting.is_empty() {
                    write!(f, "; on its way to: {}", names(waiting))?;
                }
                if !out.is_empty() {
                    write!(f, "; left out: {}", left_out(out))?;
                }
                f.write_str(".")
            }
            Note::Accepted { user } => write!(
                f,
                "Accepted {user}'s new identity key (not verified: compare safety numbers with '/verify {user}')."
            ),
            Note::Rejected { user, refused } => {
                write!(
                    f,
                    "Rejected {user}'s new key: the old one stays pinned, and nothing is sent to the new one."
                )?;
                if *refused > 0 {
                    write!(
                        f,
                        " {} that waited for it {} dropped.",
                        plural(*refused, "message", "messages"),
                        if *refused == 1 { "was" } else { "were" }
                    )?;
                }
                Ok(())
            }
            Note::PrivateVerified { user } => write!(
                f,
                "The private chat with {user} is with {user}'s verified device ✓"
            ),
            Note::Verified { user } => write!(
                f,
                "{user} is verified: their messages are marked ✓ while their key stays the same."
            ),
            Note::Unverified { user } => write!(f, "{user} is no longer marked verified."),
            Note::SafetyNumber {
                user,
                number,
                confirm,
                verified,
                changed,
            } => {
                write!(f, "Safety number with {user}: {number}")?;
                if *verified {
                    write!(f, " (verified ✓)")
                } else if *changed {
                    write!(
                        f,
                        ". This is {user}'s NEW key. Compare both parts with {user} (in person or by phone); if they match, '/trust {user} {confirm}' (or '/verify {user} yes {confirm}' to accept and verify it); else '/reject {user}'."
                    )
                } else {
                    write!(
                        f,
                        ". Compare both parts with {user} (in person or by phone); if they match, '/verify {user} yes {confirm}'."
                    )
                }
            }
            Note::NoSafetyNumber { user } => write!(
                f,
                "{user} has no encryption keys (the server says {user} never published any), so there is no safety number to compare yet."
            ),
            Note::ForOtherDevice { from, held } => {
                if *held {
                    write!(
                        f,
                        "A message from {from} was encrypted for your other device: it cannot be read here, and stays on the server for that device (nothing is acknowledged until this account is moved here)."
                    )
                } else {
                    write!(
                        f,
                        "A message from {from} was encrypted for a device of yours that is gone: it cannot be read here. {from} is being asked to send it again."
                    )
                }
            }
            Note::Unreadable {
                user,
                text,
                at_once,
            } => {
                match text {
                    Some(t) => write!(
                        f,
                        "{user} could not read your message '{t}': it was encrypted for a device {user} no longer has."
                    )?,
                    None => write!(
                        f,
                        "{user} could not read a message of yours: it was encrypted for a device {user} no longer has, and its text is no longer kept here; tell {user} again."
                    )?,
                }
                if text.is_some() {
                    if *at_once {
                        f.write_str(" It was sent again.")?;
                    } else {
                        write!(
                            f,
                            " It will be sent again once you accept {user}'s new key."
                        )?;
                    }
                }
                Ok(())
            }
            Note::Elsewhere { fingerprint } => write!(
                f,
                "Your account's encryption keys are on another device (its number: {fingerprint}). This device cannot read messages encrypted for it; they stay on the server for it (nothing is acknowledged here), and nothing is sent encrypted from here. To move your account to this device, '/movehere': your contacts see your key change when they next write to you or you to them, and what waits for the old device is asked again from its senders."
            ),
            Note::Moved { bounced } => {
                write!(
                    f,
                    "This device now holds your account's encryption keys; the old device's keys are gone from the server."
                )?;
                if *bounced > 0 {
                    write!(
                        f,
                        " The senders of {} for the old device are being asked to send {} again.",
                        plural(*bounced, "message", "messages"),
                        if *bounced == 1 { "it" } else { "them" }
                    )?;
                }
                Ok(())
            }
            Note::PublishFailed(e) => write!(
                f,
                "Could not make encryption keys ({e}); others cannot start encrypted conversations with you."
            ),
            Note::Reset { name, done: true } => write!(
                f,
                "Started the encrypted conversation with {name} over: the next message makes a new session."
            ),
            Note::Reset { name, done: false } => {
                write!(f, "Nothing is kept for {name}: nothing to reset.")
            }
            Note::Protection { to, state } => {
                let to = conversation(to);
                match state {
                    Protection::Encrypted if to.starts_with("group ") => write!(
                        f,
                        "Messages with {to} are end-to-end encrypted ('/sharedwith {}' lists who gets them).",
                        &to["group ".len()..]
                    ),
                    Protection::Encrypted => write!(
                        f,
                        "Messages with {to} are end-to-end encrypted (keys not compared: '/verify {to}')."
                    ),
                    Protection::Verified => {
                        write!(
                            f,
                            "Messages with {to} are end-to-end encrypted, verified ✓."
                        )
                    }
                    Protection::KeyChanged => write!(
                        f,
                        "Messages with {to}: a key CHANGED and is not accepted; nothing is sent until you decide."
                    ),
                    Protection::NotEncrypted => write!(
                        f,
                        "Messages with {to} are NOT end-to-end encrypted: the server can read them."
                    ),
                    Protection::Waiting => write!(
                        f,
                        "Messages to {to} wait for {to}'s encryption keys, asked of the server: nothing is sent until they come."
                    ),
                }
            }
        }
    }
}
