//! The one place that turns server messages into text.
//!
//! Every line is `TAG fields… human-text`: a fixed upper-case tag, then a fixed number of space-free fields
//! for that tag (and, for `ERROR` and `BYE`, for that code; lists are a count and that many fields), then
//! free text. For the lines that carry a message (`MSG`, `BCAST`, `GROUP-MSG`, `OFFLINE-MSG`,
//! `OFFLINE-GROUP-MSG`, `OFFLINE-AGAIN`, `OFFLINE-AGAIN-GROUP`) the free text is the message itself,
//! verbatim; for every other tag it is an explanation for a person reading with `nc`, derived from the
//! fields, which a program can ignore.

use std::fmt::{self, Display, Formatter};

use super::command::{CommandName, token_of};
use super::name::{GroupNameError, NameError, PasswordError};
use super::reply::{ByeReason, CancelReason, ErrorReply, PingState, Prompt, ServerMsg};

/// Appends `msg` and a newline to `out`.
pub fn render_into(msg: &ServerMsg, out: &mut Vec<u8>) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = writeln!(out, "{msg}");
}

/// `msg` as a line with its newline.
pub fn render_line(msg: &ServerMsg) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    render_into(msg, &mut v);
    v
}

pub(crate) fn name_error_code(e: NameError) -> &'static str {
    match e {
        NameError::Empty => "empty",
        NameError::TooLong => "too-long",
        NameError::BadChar => "bad-char",
        NameError::Reserved => "reserved",
    }
}

pub(crate) fn group_name_error_code(e: GroupNameError) -> &'static str {
    match e {
        GroupNameError::Empty => "empty",
        GroupNameError::TooLong => "too-long",
        GroupNameError::BadChar => "bad-char",
    }
}

pub(crate) fn password_error_code(e: PasswordError) -> &'static str {
    match e {
        PasswordError::Empty => "empty",
        PasswordError::TooLong => "too-long",
        PasswordError::BadChar => "bad-char",
    }
}

pub(crate) fn cancel_code(r: CancelReason) -> &'static str {
    match r {
        CancelReason::Timeout => "timeout",
        CancelReason::Offline => "offline",
    }
}

impl ErrorReply {
    /// The code that follows `ERROR` on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorReply::UnknownUser => "unknown-user",
            ErrorReply::WrongPassword { .. } => "wrong-password",
            ErrorReply::Locked { .. } => "locked",
            ErrorReply::LockedNow { .. } => "locked-now",
            ErrorReply::AlreadyOnline => "already-online",
            ErrorReply::InvalidUsername(_) => "invalid-username",
            ErrorReply::InvalidPassword(_) => "invalid-password",
            ErrorReply::NameTaken => "name-taken",
            ErrorReply::NameTooSimilar { .. } => "name-too-similar",
            ErrorReply::LoginThrottled { .. } => "login-throttled",
            ErrorReply::RegisterThrottled { .. } => "register-throttled",
            ErrorReply::Busy => "busy",
            ErrorReply::LineTooLong { .. } => "line-too-long",
            ErrorReply::InvalidUtf8 => "invalid-utf8",
            ErrorReply::ControlChar => "control-char",
            ErrorReply::EmptyLine => "empty-line",
            ErrorReply::UnknownCommand => "unknown-command",
            ErrorReply::Usage { .. } => "usage",
            ErrorReply::BadNumber { .. } => "bad-number",
            ErrorReply::NoSuchUser { .. } => "no-such-user",
            ErrorReply::NotYourself { .. } => "not-yourself",
            ErrorReply::BlockedBy { .. } => "blocked-by",
            ErrorReply::AlreadyBlocked { .. } => "already-blocked",
            ErrorReply::NotBlocked { .. } => "not-blocked",
            ErrorReply::Offline { .. } => "offline",
            ErrorReply::NoP2p { .. } => "no-p2p",
            ErrorReply::PrivateExists { .. } => "private-exists",
            ErrorReply::PrivatePending { .. } => "private-pending",
            ErrorReply::NoRequest { .. } => "no-request",
            ErrorReply::YouBlocked { .. } => "you-blocked",
            ErrorReply::NoSession { .. } => "no-session",
            ErrorReply::MailboxFull { .. } => "mailbox-full",
            ErrorReply::MailboxShare { .. } => "mailbox-share",
            ErrorReply::RecipientBusy { .. } => "recipient-busy",
            ErrorReply::SlowDown { .. } => "slow-down",
            ErrorReply::BadAck { .. } => "bad-ack",
            ErrorReply::InvalidGroupName(_) => "invalid-group-name",
            ErrorReply::GroupExists { .. } => "group-exists",
            ErrorReply::NoSuchGroup { .. } => "no-such-group",
            ErrorReply::NotMember { .. } => "not-member",
            ErrorReply::AlreadyMember { .. } => "already-member",
            ErrorReply::GroupFull { .. } => "group-full",
        }
    }

    /// The human explanation: what went wrong and what to do.
    pub fn text(&self) -> String {
        match self {
            ErrorReply::UnknownUser => {
                "No account has that username. Check the spelling and try again.".into()
            }
            ErrorReply::WrongPassword { attempts_left } => format!(
                "Wrong password. {attempts_left} attempt{} left before the account is locked.",
                plural(*attempts_left as u64)
            ),
            ErrorReply::Locked { secs_left } => format!(
                "This account is locked after too many failed logins. Try again in {secs_left} s."
            ),
            ErrorReply::LockedNow { secs } => format!(
                "Wrong password again: this account is now locked for {secs} s."
            ),
            ErrorReply::AlreadyOnline => {
                "That user is already logged in elsewhere; log out there first, or use another account."
                    .into()
            }
            ErrorReply::InvalidUsername(e) => format!("Not a valid username: {e}."),
            ErrorReply::InvalidPassword(e) => format!("Cannot use that password: {e}."),
            ErrorReply::NameTaken => {
                "Someone else has just registered that username. Choose another.".into()
            }
            ErrorReply::NameTooSimilar { existing } => format!(
                "That name differs from the account '{existing}' only in letter case, so one could pass for the other. Choose another."
            ),
            ErrorReply::LoginThrottled { secs_left } => format!(
                "Too many failed logins from your address; no login is tried from it for {secs_left} s."
            ),
            ErrorReply::RegisterThrottled { secs_left } => format!(
                "Too many accounts were created from your address lately; try again in {secs_left} s."
            ),
            ErrorReply::Busy => {
                "The server is busy checking other logins; your password was not tried. Send it again in a moment."
                    .into()
            }
            ErrorReply::LineTooLong { max } => {
                format!("Line too long (the limit is {max} bytes); it was ignored.")
            }
            ErrorReply::InvalidUtf8 => "The line was not valid UTF-8 text; it was ignored.".into(),
            ErrorReply::ControlChar => {
                "The line contained a control character; remove it and send again.".into()
            }
            ErrorReply::EmptyLine => "Empty line. Type 'help' for the list of commands.".into(),
            ErrorReply::UnknownCommand => {
                "Unknown command. Type 'help' for the list of commands.".into()
            }
            ErrorReply::Usage { command } => {
                // Every command typed with the same first word, so `group` alone shows all of them.
                let usages: Vec<&str> = command.family().map(|c| c.spec().usage).collect();
                format!("Usage: {}", usages.join(" or "))
            }
            ErrorReply::BadNumber { command } => match command {
                CommandName::WhoElseSince => {
                    "The span must be a whole number of seconds, 0 or more. Usage: whoelsesince <seconds>"
                        .into()
                }
                CommandName::P2pPort => "The port must be a number from 1 to 65535.".into(),
                CommandName::Ack => "The id must be a message id number.".into(),
                other => format!("Bad number. Usage: {}", other.spec().usage),
            },
            ErrorReply::NoSuchUser { user } => format!("There is no user named '{user}'."),
            ErrorReply::NotYourself { command } => {
                format!("You cannot use '{}' on yourself.", command.word())
            }
            ErrorReply::BlockedBy { user } => {
                format!("{user} has blocked you; nothing was delivered or stored.")
            }
            ErrorReply::AlreadyBlocked { user } => format!("You have already blocked {user}."),
            ErrorReply::NotBlocked { user } => format!("You have not blocked {user}."),
            ErrorReply::Offline { user } => {
                format!("{user} is not online; a private chat needs both of you online.")
            }
            ErrorReply::NoP2p { user } => {
                format!("{user}'s client does not accept private chats.")
            }
            ErrorReply::PrivateExists { user } => {
                format!("You already have a private chat with {user}.")
            }
            ErrorReply::PrivatePending { user } => {
                format!("A private-chat request between you and {user} is already waiting for an answer.")
            }
            ErrorReply::NoRequest { user } => {
                format!("{user} has not asked you for a private chat.")
            }
            ErrorReply::YouBlocked { user } => {
                format!("You have blocked {user}; unblock them first.")
            }
            ErrorReply::NoSession { user } => format!("You have no private chat with {user}."),
            ErrorReply::MailboxFull { user } => format!(
                "{user} has too many unread messages waiting; try again after they log in."
            ),
            ErrorReply::MailboxShare { user, max } => format!(
                "You already have {max} messages waiting for {user}, the most one sender may leave; more can be stored once they have read some."
            ),
            ErrorReply::RecipientBusy { user } => format!(
                "{user} is not keeping up with what is sent to them; your message was not delivered. Try again shortly."
            ),
            ErrorReply::SlowDown { per_sec } => format!(
                "You are sending commands faster than {per_sec} a second; they are being carried out at that pace. Keep it up and you will be disconnected."
            ),
            ErrorReply::BadAck { id } => {
                format!("No offline message {id} was delivered to you on this connection.")
            }
            ErrorReply::InvalidGroupName(e) => format!("Not a valid group name: {e}."),
            ErrorReply::GroupExists { group } => {
                format!("There is already a group named '{group}'; choose another name.")
            }
            ErrorReply::NoSuchGroup { group } => format!(
                "There is no group named '{group}'. 'grouplist' shows the groups you are in."
            ),
            ErrorReply::NotMember { group } => format!(
                "You are not a member of '{group}'; a member can add you with 'group add {group} <you>'."
            ),
            ErrorReply::AlreadyMember { group, user } => {
                format!("{user} is already a member of '{group}'.")
            }
            ErrorReply::GroupFull { group, max } => {
                format!("'{group}' already has {max} members, the most a group may have.")
            }
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The fields that follow an error code on the wire (before the human text).
struct ErrorFields<'a>(&'a ErrorReply);

impl Display for ErrorFields<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            ErrorReply::WrongPassword { attempts_left } => write!(f, " {attempts_left}"),
            ErrorReply::Locked { secs_left } => write!(f, " {secs_left}"),
            ErrorReply::LockedNow { secs } => write!(f, " {secs}"),
            ErrorReply::LoginThrottled { secs_left }
            | ErrorReply::RegisterThrottled { secs_left } => write!(f, " {secs_left}"),
            ErrorReply::NameTooSimilar { existing } => write!(f, " {existing}"),
            ErrorReply::MailboxShare { user, max } => write!(f, " {user} {max}"),
            ErrorReply::SlowDown { per_sec } => write!(f, " {per_sec}"),
            ErrorReply::InvalidUsername(e) => write!(f, " {}", name_error_code(*e)),
            ErrorReply::InvalidPassword(e) => write!(f, " {}", password_error_code(*e)),
            ErrorReply::LineTooLong { max } => write!(f, " {max}"),
            ErrorReply::Usage { command }
            | ErrorReply::BadNumber { command }
            | ErrorReply::NotYourself { command } => write!(f, " {}", token_of(*command)),
            ErrorReply::InvalidGroupName(e) => write!(f, " {}", group_name_error_code(*e)),
            ErrorReply::GroupExists { group } | ErrorReply::NotMember { group } => {
                write!(f, " {group}")
            }
            ErrorReply::NoSuchGroup { group } => write!(f, " {group}"),
            ErrorReply::AlreadyMember { group, user } => write!(f, " {group} {user}"),
            ErrorReply::GroupFull { group, max } => write!(f, " {group} {max}"),
            ErrorReply::NoSuchUser { user } => write!(f, " {user}"),
            ErrorReply::BlockedBy { user }
            | ErrorReply::AlreadyBlocked { user }
            | ErrorReply::NotBlocked { user }
            | ErrorReply::Offline { user }
            | ErrorReply::NoP2p { user }
            | ErrorReply::PrivateExists { user }
            | ErrorReply::PrivatePending { user }
            | ErrorReply::NoRequest { user }
            | ErrorReply::YouBlocked { user }
            | ErrorReply::NoSession { user }
            | ErrorReply::MailboxFull { user }
            | ErrorReply::RecipientBusy { user } => write!(f, " {user}"),
            ErrorReply::BadAck { id } => write!(f, " {id}"),
            ErrorReply::UnknownUser
            | ErrorReply::AlreadyOnline
            | ErrorReply::NameTaken
            | ErrorReply::Busy
            | ErrorReply::InvalidUtf8
            | ErrorReply::ControlChar
            | ErrorReply::EmptyLine
            | ErrorReply::UnknownCommand => Ok(()),
        }
    }
}

impl ByeReason {
    pub fn code(&self) -> &'static str {
        match self {
            ByeReason::Logout => "logout",
            ByeReason::Timeout { .. } => "timeout",
            ByeReason::LoginTimeout { .. } => "login-timeout",
            ByeReason::Locked => "locked",
            ByeReason::Shutdown => "shutdown",
            ByeReason::Full => "full",
            ByeReason::Flood => "flood",
            ByeReason::TooManyConnections { .. } => "too-many-connections",
            ByeReason::TlsRequired => "tls-required",
            ByeReason::PlainTextOnly => "plaintext-only",
            ByeReason::Unavailable => "unavailable",
        }
    }
}

/// Writes a list of names as `<count> name name…`.
fn names(f: &mut Formatter<'_>, users: &[super::reply::Name]) -> fmt::Result {
    write!(f, "{}", users.len())?;
    for u in users {
        write!(f, " {u}")?;
    }
    Ok(())
}

impl Display for ServerMsg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ServerMsg::Prompt(Prompt::Username) => f.write_str("PROMPT username Username:"),
            ServerMsg::Prompt(Prompt::Password) => f.write_str("PROMPT password Password:"),
            ServerMsg::Prompt(Prompt::NewPassword { user }) => write!(
                f,
                "PROMPT new-password {user} New account '{user}'. Choose a password:"
            ),
            ServerMsg::Welcome { user } => write!(
                f,
                "WELCOME {user} Welcome to natter, {user}! Type 'help' for the list of commands."
            ),
            ServerMsg::Registered { user } => {
                write!(f, "REGISTERED {user} Account '{user}' created.")
            }
            ServerMsg::Message { from, text } => write!(f, "MSG {from} {text}"),
            ServerMsg::OfflineMessage {
                id,
                sent_at,
                from,
                group: None,
                text,
            } => write!(f, "OFFLINE-MSG {id} {} {from} {text}", sent_at.as_millis()),
            ServerMsg::OfflineMessage {
                id,
                sent_at,
                from,
                group: Some(group),
                text,
            } => write!(
                f,
                "OFFLINE-GROUP-MSG {id} {} {group} {from} {text}",
                sent_at.as_millis()
            ),
            ServerMsg::GroupMessage { group, from, text } => {
                write!(f, "GROUP-MSG {group} {from} {text}")
            }
            ServerMsg::GroupCreated { group, members } => {
                write!(f, "GROUP-CREATED {group} ")?;
                names(f, members)?;
                write!(f, " Group '{group}' created.")
            }
            ServerMsg::GroupSent {
                group,
                delivered,
                stored,
                skipped,
            } => {
                let coverage = if *skipped { "partial" } else { "all" };
                write!(
                    f,
                    "GROUP-SENT {group} {delivered} {stored} {coverage} Sent to '{group}': {delivered} now, {stored} at their next login{}.",
                    if *skipped {
                        "; some members did not get it"
                    } else {
                        ""
                    }
                )
            }
            ServerMsg::GroupList { groups } => {
                write!(f, "GROUPLIST {}", groups.len())?;
                for (group, members) in groups {
                    write!(f, " {group}:")?;
                    for (i, m) in members.iter().enumerate() {
                        write!(f, "{}{m}", if i == 0 { "" } else { "," })?;
                    }
                }
                Ok(())
            }
            ServerMsg::GroupMembers { group, members } => {
                write!(f, "GROUP-MEMBERS {group} ")?;
                names(f, members)
            }
            ServerMsg::GroupJoined { group, user, by } => write!(
                f,
                "GROUP-JOINED {group} {user} {by} {by} added {user} to '{group}'."
            ),
            ServerMsg::GroupLeft { group, user } => {
                write!(f, "GROUP-LEFT {group} {user} {user} left '{group}'.")
            }
            ServerMsg::IdleWarning { secs_left } => write!(
                f,
                "IDLE-WARNING {secs_left} You will be logged out in {secs_left} s unless you send a command."
            ),
            ServerMsg::Delivered { to } => write!(f, "DELIVERED {to} Delivered to {to}."),
            ServerMsg::Ping { user, state } => match state {
                PingState::Online { idle_secs } => write!(
                    f,
                    "PING {user} online {idle_secs} {user} is online (idle {idle_secs} s); messages reach them now."
                ),
                PingState::Offline { stored: true } => write!(
                    f,
                    "PING {user} offline stored {user} is offline; messages are kept for their next login."
                ),
                PingState::Offline { stored: false } => write!(
                    f,
                    "PING {user} offline full {user} is offline and cannot be sent more messages now."
                ),
            },
            ServerMsg::OfflineList { count } => write!(
                f,
                "OFFLINE-LIST {count} {count} message{} waited for you at this login.",
                plural(*count as u64)
            ),
            ServerMsg::OfflineAgain {
                id,
                sent_at,
                from,
                group: None,
                text,
            } => write!(
                f,
                "OFFLINE-AGAIN {id} {} {from} {text}",
                sent_at.as_millis()
            ),
            ServerMsg::OfflineAgain {
                id,
                sent_at,
                from,
                group: Some(group),
                text,
            } => write!(
                f,
                "OFFLINE-AGAIN-GROUP {id} {} {group} {from} {text}",
                sent_at.as_millis()
            ),
            ServerMsg::Broadcast { from, text } => write!(f, "BCAST {from} {text}"),
            ServerMsg::Presence { user, online } => {
                let state = if *online { "online" } else { "offline" };
                write!(f, "PRESENCE {user} {state}")
            }
            ServerMsg::WhoElse { users } => {
                f.write_str("WHOELSE ")?;
                names(f, users)
            }
            ServerMsg::WhoElseSince { secs, users } => {
                write!(f, "WHOELSESINCE {secs} ")?;
                names(f, users)
            }
            ServerMsg::Stored { id, to } => write!(
                f,
                "STORED {id} {to} {to} is offline; the message will be delivered when they log in."
            ),
            ServerMsg::BroadcastSent { delivered, skipped } => {
                let users = format!("{delivered} user{}", plural(*delivered as u64));
                if *skipped {
                    write!(
                        f,
                        "BCAST-SENT {delivered} partial Broadcast sent to {users}; some online users did not get it."
                    )
                } else {
                    write!(f, "BCAST-SENT {delivered} all Broadcast sent to {users}.")
                }
            }
            ServerMsg::Blocked { user } => {
                write!(
                    f,
                    "BLOCKED {user} You blocked {user}; they will not be told."
                )
            }
            ServerMsg::Unblocked { user } => write!(f, "UNBLOCKED {user} You unblocked {user}."),
            ServerMsg::P2pPort { port } => {
                write!(f, "P2P-PORT {port} Private-chat port {port} registered.")
            }
            ServerMsg::PrivateRequest { from, secs } => write!(
                f,
                "PRIVATE-REQUEST {from} {secs} {from} asks for a private chat. Type 'accept {from}' or 'decline {from}' within {secs} s."
            ),
            ServerMsg::PrivatePending { to, secs } => write!(
                f,
                "PRIVATE-PENDING {to} {secs} Asked {to} for a private chat; waiting up to {secs} s for an answer."
            ),
            ServerMsg::PrivateAccepted { peer, addr, token } => write!(
                f,
                "PRIVATE-ACCEPTED {peer} {addr} {token} {peer} accepted; connect to {addr}."
            ),
            ServerMsg::PrivateExpect { peer, token } => write!(
                f,
                "PRIVATE-EXPECT {peer} {token} You accepted; {peer} will connect to you directly."
            ),
            ServerMsg::PrivateDeclined { peer } => write!(
                f,
                "PRIVATE-DECLINED {peer} {peer} declined your private-chat request."
            ),
            ServerMsg::PrivateDeclineSent { peer } => write!(
                f,
                "PRIVATE-DECLINE-SENT {peer} You declined {peer}'s private-chat request."
            ),
            ServerMsg::PrivateCancelled { peer, reason } => {
                let why = match reason {
                    CancelReason::Timeout => "no answer in time",
                    CancelReason::Offline => "the other side went offline",
                };
                write!(
                    f,
                    "PRIVATE-CANCELLED {peer} {} The private-chat request between you and {peer} ended: {why}.",
                    cancel_code(*reason)
                )
            }
            ServerMsg::PrivateEnded { peer } => {
                write!(f, "PRIVATE-ENDED {peer} Private chat with {peer} ended.")
            }
            ServerMsg::Help { command } => {
                let spec = command.spec();
                // The usage line starts with the command word, which is the field a decoder reads.
                write!(f, "HELP {} - {}", spec.usage, spec.summary)
            }
            ServerMsg::Error(e) => {
                write!(f, "ERROR {}{} {}", e.code(), ErrorFields(e), e.text())
            }
            ServerMsg::Bye(reason) => match reason {
                ByeReason::Logout => f.write_str("BYE logout Goodbye."),
                ByeReason::Timeout { secs } => write!(
                    f,
                    "BYE timeout {secs} You were logged out after {secs} s without a command."
                ),
                ByeReason::LoginTimeout { secs } => write!(
                    f,
                    "BYE login-timeout {secs} Login was not completed within {secs} s."
                ),
                ByeReason::Locked => f.write_str("BYE locked Account locked; disconnecting."),
                ByeReason::Shutdown => f.write_str("BYE shutdown The server is shutting down."),
                ByeReason::Full => f.write_str(
                    "BYE full The server has no room for more connections; try again later.",
                ),
                ByeReason::Flood => f.write_str(
                    "BYE flood You kept sending far faster than the server allows; disconnecting.",
                ),
                ByeReason::TooManyConnections { max } => write!(
                    f,
                    "BYE too-many-connections {max} {max} connections from your address are already logging in; finish or close them first."
                ),
                ByeReason::TlsRequired => f.write_str(
                    "BYE tls-required This server speaks TLS: connect with natter (TLS is its default) or with 'openssl s_client -quiet -connect HOST:PORT'.",
                ),
                ByeReason::PlainTextOnly => f.write_str(
                    "BYE plaintext-only This server speaks plain text (it was started with --plaintext): connect with natter --plaintext, or nc.",
                ),
                ByeReason::Unavailable => f.write_str(
                    "BYE unavailable This server cannot reach its cluster's storage, so it cannot serve; use another server of the cluster, or try again shortly.",
                ),
            },
        }
    }
}
