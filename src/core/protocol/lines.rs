//! Every line the server sends, defined once: this table is the protocol's vocabulary.
//!
//! Each row is one variant of a line (or of a part of one: an error's code, a goodbye's reason, a
//! prompt, a ping's answer) with everything said about it anywhere:
//!
//! ```text
//! Variant {                              the Rust variant (or `Variant(Type) as binding`), each
//!     /// what it holds                  field with a doc comment: what it holds, and its unit
//!     field: Type, ...
//! }
//!     => "TAG" [field, field: Codec]     its tag (or code) and its fields, in wire order, each in its
//!                                        plain form or the codec named (`wire.rs`)
//!     human(...)                         the text after the fields, for a person reading with `nc`
//!     show(p => ...)                     how the natter client shows it (`client/display.rs`)
//!     about(...)                         the conversation it belongs to, if any
//! ```
//!
//! A row's doc comment says when the line is sent and what it means; the enum's doc for the variant
//! then ends with its wire form, generated from the row (`reply.rs`).
//!
//! The table is a macro that hands every row to a callback; each module that needs a column expands
//! it with its own callback, so the protocol never depends on the client that reads the `show` column:
//! `reply.rs` defines the enums and [`conversation`](super::ServerMsg::conversation), `render.rs` writes
//! lines, `decode.rs` reads them, `client/display.rs` shows them, and a property test renders and
//! decodes arbitrary values of every row. The row grammar above is read in one place,
//! `columns::rows`: `wire_tables!(rows for callback)` hands the callback every row in one fixed form,
//! of which it matches the columns it reads. A line with two tags (`OFFLINE-MSG` and
//! `OFFLINE-GROUP-MSG`) names both and the condition for the second, under which its
//! [`AltGroup`](super::wire::AltGroup) field is present.
//!
//! The wire is described in prose, with examples, in docs/PROTOCOL.md; it must not change by accident:
//! `render.rs` keeps a byte-for-byte sample of every row.

macro_rules! wire_tables {
    ($cb:ident) => {
        wire_tables!(@ $cb []);
    };
    // Through `rows` (`columns.rs`), which reads the row grammar above: `$then` gets each row in one
    // fixed form.
    (rows for $then:ident) => {
        wire_tables!(@ rows [$then;]);
    };
    (@ $cb:ident [$($pre:tt)*]) => {
        $cb! { $($pre)*
            /// One line from the server.
            #[derive(Clone, Debug, PartialEq, Eq)]
            pub enum ServerMsg {
                Prompt(Prompt) as prompt => "PROMPT" [prompt: Nested<Prompt>]
                    human(of prompt)
                    show(p => p.star(prompt.shown(p).unwrap_or_default()))
                    about(),
                Welcome {
                    /// The account the session is now logged in as.
                    user: Name,
                } => "WELCOME" [user]
                    human("Welcome to natter, {user}! Type 'help' for the list of commands.")
                    show(p => p.star(format!(
                        "Welcome to natter, {user}! Type 'help' for the list of commands."
                    )))
                    about(),
                /// Sent before `Welcome` when `--register` created the account.
                Registered {
                    /// The account just created.
                    user: Name,
                } => "REGISTERED" [user]
                    human("Account '{user}' created.")
                    show(p => p.star(format!("Account '{user}' created.")))
                    about(),
                /// A message to you from `from`, delivered while you are online. `id` is the one the
                /// acknowledgement names (`ack <id>`) and, with `sent_at`, what a client recognises a
                /// redelivery by: a message not acknowledged when the session ends is kept and comes
                /// again at the next login as an `OFFLINE-MSG` with the same id and send time.
                Message {
                    /// The message's id: what `ack` names, and the same at every redelivery.
                    id: u64,
                    /// When the server accepted the message from its sender; a redelivery keeps it.
                    sent_at: Timestamp,
                    /// The sender.
                    from: Name,
                    /// The message, as the rest of the line.
                    text: String,
                } => "MSG"
                    [id, sent_at, from, text: Text]
                    human()
                    show(p => p.tagged("[message]", fg(AnsiColor::Cyan).bold(), from, text))
                    about(Some(Conversation::User(from.clone()))),
                /// A message stored while the recipient was offline, delivered at login. `id` lets the
                /// client acknowledge it and recognise a redelivery after a server crash. `group` is the
                /// group it was sent to, if it was a group message.
                OfflineMessage {
                    /// The message's id: what `ack` names, and the same at every redelivery.
                    id: u64,
                    /// When the server accepted the message from its sender; a redelivery keeps it.
                    sent_at: Timestamp,
                    /// The sender.
                    from: Name,
                    /// The group it was sent to, or `None` for a message to the recipient alone (which
                    /// decides the tag).
                    group: Option<Name>,
                    /// The message, as the rest of the line.
                    text: String,
                } => ("OFFLINE-MSG" | "OFFLINE-GROUP-MSG" if group.is_some())
                    [id, sent_at, group: AltGroup, from, text: Text]
                    human()
                    show(p => offline(p, from, group.as_ref(), text))
                    about(Some(Conversation::of_message(from, group.as_ref()))),
                /// A message to group `group` from `from`, delivered while you are online (`id` and
                /// `sent_at` as for [`ServerMsg::Message`]; one id serves every member).
                GroupMessage {
                    /// The message's id: what `ack` names, and the same at every redelivery.
                    id: u64,
                    /// When the server accepted the message from its sender; a redelivery keeps it.
                    sent_at: Timestamp,
                    /// The group it was sent to.
                    group: Name,
                    /// The sender.
                    from: Name,
                    /// The message, as the rest of the line.
                    text: String,
                }
                    => "GROUP-MSG" [id, sent_at, group, from, text: Text]
                    human()
                    show(p => p.tagged(&format!("[{group}]"), fg(AnsiColor::Blue).bold(), from, text))
                    about(Some(Conversation::Group(group.clone()))),
                Broadcast {
                    /// The sender.
                    from: Name,
                    /// The broadcast, as the rest of the line.
                    text: String,
                } => "BCAST" [from, text: Text]
                    human()
                    show(p => p.tagged("[broadcast]", fg(AnsiColor::Magenta).bold(), from, text))
                    about(Some(Conversation::Broadcasts)),
                /// A signal to you from `from` (`signal`: something that is no message, such as
                /// `typing=active`), delivered only while you are online and never kept. `id` is a
                /// message id (IRC clients call it the `msgid`); nothing acknowledges it.
                Signal {
                    /// Its id, taken from the message ids (one for every recipient of a group's).
                    id: u64,
                    /// When the server took it.
                    sent_at: Timestamp,
                    /// The sender.
                    from: Name,
                    /// The signal's tags, `key[=value][;…]` (`protocol::signal`).
                    tags: String,
                } => "SIGNAL" [id, sent_at, from, tags: Text]
                    human()
                    show(p => p.dash(format!("{from} signals {tags}")))
                    about(Some(Conversation::User(from.clone()))),
                /// A signal to group `group` from `from`, as [`ServerMsg::Signal`].
                GroupSignal {
                    /// Its id, taken from the message ids (one for every recipient).
                    id: u64,
                    /// When the server took it.
                    sent_at: Timestamp,
                    /// The group it was sent to.
                    group: Name,
                    /// The sender.
                    from: Name,
                    /// The signal's tags, `key[=value][;…]` (`protocol::signal`).
                    tags: String,
                } => "GROUP-SIGNAL" [id, sent_at, group, from, tags: Text]
                    human()
                    show(p => p.dash(format!("{from} signals {tags} in {group}")))
                    about(Some(Conversation::Group(group.clone()))),
                Presence {
                    /// Whose presence changed.
                    user: Name,
                    /// True when they logged in, false when they logged out.
                    online: bool,
                } => "PRESENCE" [user, online: OnOff]
                    human()
                    show(p => p.star(if *online {
                        format!("{user} logged in")
                    } else {
                        format!("{user} logged out")
                    }))
                    about(),
                WhoElse {
                    /// The other users online now.
                    users: Vec<Name>,
                } => "WHOELSE" [users: Names]
                    human()
                    show(p => p.star(if users.is_empty() {
                        "Nobody else is online.".to_owned()
                    } else {
                        format!("Online now: {}", list(users))
                    }))
                    about(),
                WhoElseSince {
                    /// The span asked about, in seconds back from now.
                    secs: u64,
                    /// The other users online at some time within that span, including those online
                    /// now.
                    users: Vec<Name>,
                } => "WHOELSESINCE" [secs, users: Names]
                    human()
                    show(p => p.star(match (users.is_empty(), span_words(*secs)) {
                        (true, None) => "Nobody else was ever online.".to_owned(),
                        (false, None) => format!("Online at any time: {}", list(users)),
                        (true, Some(span)) => format!("Nobody else was online in the last {span}."),
                        (false, Some(span)) => format!("Online in the last {span}: {}", list(users)),
                    }))
                    about(),
                /// `to` is offline; the message is stored, durably, as `id` (sent only after the store
                /// commits).
                Stored {
                    /// The stored message's id: the one its recipient will acknowledge.
                    id: u64,
                    /// The recipient, who is offline.
                    to: Name,
                } => "STORED" [id, to]
                    human("{to} is offline; the message will be delivered when they log in.")
                    show(p => p.dash(format!("{to} is offline; they will get it when they log in")))
                    about(Some(Conversation::User(to.clone()))),
                BroadcastSent {
                    /// How many online users it was queued for.
                    delivered: usize,
                    /// Some online users did not get it because they blocked the sender (never said
                    /// who).
                    skipped: bool,
                } => "BCAST-SENT" [delivered, skipped: Coverage]
                    human("Broadcast sent to {delivered} user{}{}.",
                        plural(*delivered as u64),
                        if *skipped { "; some online users did not get it" } else { "" })
                    show(p => p.dash(format!(
                        "broadcast sent to {delivered} user{}{}",
                        plural(*delivered as u64),
                        if *skipped { "; some online users did not get it" } else { "" }
                    )))
                    about(Some(Conversation::Broadcasts)),
                Blocked {
                    /// The user now blocked.
                    user: Name,
                } => "BLOCKED" [user]
                    human("You blocked {user}; they are told so if they message you.")
                    show(p => p.dash(format!("blocked {user} (they are told so if they message you; /ignore {user} hides them silently instead)")))
                    about(Some(Conversation::User(user.clone()))),
                Unblocked {
                    /// The user no longer blocked.
                    user: Name,
                } => "UNBLOCKED" [user]
                    human("You unblocked {user}.")
                    show(p => p.dash(format!("unblocked {user}")))
                    about(Some(Conversation::User(user.clone()))),
                P2pPort {
                    /// The TCP port the client listens on for private chats, as now registered.
                    port: u16,
                } => "P2P-PORT" [port]
                    human("Private-chat port {port} registered.")
                    show(p => p.dash(format!("private-chat port {port} registered")))
                    about(),
                /// Reply to `blocks`: the users you block, sorted.
                Blocks {
                    /// Whom you block (a guest only while its visit lasts).
                    users: Vec<Name>,
                } => "BLOCKS" [users: Names]
                    human()
                    show(p => p.dash(if users.is_empty() {
                        "you block nobody".to_owned()
                    } else {
                        format!("you block: {}", list(users))
                    }))
                    about(),
                /// To the target: `from` asks for a private chat; answer within `secs`.
                PrivateRequest {
                    /// Who asks.
                    from: Name,
                    /// Seconds left to answer before the request is cancelled.
                    secs: u64,
                } => "PRIVATE-REQUEST" [from, secs]
                    human("{from} asks for a private chat. Type 'accept {from}' or 'decline {from}' within {secs} s.")
                    show(p => format!(
                        "{} {from} asks for a private chat: type 'accept {from}' or 'decline {from}' (within {secs} s)",
                        p.paint(fg(AnsiColor::Yellow).bold(), "?")
                    ))
                    about(Some(Conversation::Private(from.clone()))),
                /// To the requester: the request was passed on.
                PrivatePending {
                    /// Who was asked.
                    to: Name,
                    /// How long, in seconds, the server waits for their answer.
                    secs: u64,
                } => "PRIVATE-PENDING" [to, secs]
                    human("Asked {to} for a private chat; waiting up to {secs} s for an answer.")
                    show(p => p.dash(format!(
                        "asked {to} for a private chat; waiting up to {secs} s for an answer"
                    )))
                    about(Some(Conversation::Private(to.clone()))),
                /// To the requester: `peer` accepted; connect to `addr` and present `token`.
                PrivateAccepted {
                    /// Who accepted.
                    peer: Name,
                    /// Where the peer's client listens for this private chat.
                    addr: SocketAddr,
                    /// The one-time secret to present to the peer, by which it knows this is the
                    /// requester it agreed to.
                    token: Token,
                } => "PRIVATE-ACCEPTED"
                    [peer, addr, token]
                    human("{peer} accepted; connect to {addr}.")
                    show(p => p.dash(format!("{peer} accepted; connecting directly...")))
                    about(Some(Conversation::Private(peer.clone()))),
                /// To the target: you accepted; `peer` will connect presenting `token`.
                PrivateExpect {
                    /// Who will connect.
                    peer: Name,
                    /// The secret the peer will present: a connection without it is somebody else.
                    token: Token,
                } => "PRIVATE-EXPECT" [peer, token]
                    human("You accepted; {peer} will connect to you directly.")
                    show(p => p.dash(format!("you accepted; waiting for {peer} to connect directly...")))
                    about(Some(Conversation::Private(peer.clone()))),
                /// To the requester: `peer` declined.
                PrivateDeclined {
                    /// Who declined.
                    peer: Name,
                } => "PRIVATE-DECLINED" [peer]
                    human("{peer} declined your private-chat request.")
                    show(p => p.star(format!("{peer} declined your private-chat request.")))
                    about(Some(Conversation::Private(peer.clone()))),
                /// To the target: your decline was passed on.
                PrivateDeclineSent {
                    /// Whose request was declined.
                    peer: Name,
                } => "PRIVATE-DECLINE-SENT" [peer]
                    human("You declined {peer}'s private-chat request.")
                    show(p => p.dash(format!("declined {peer}'s private-chat request")))
                    about(Some(Conversation::Private(peer.clone()))),
                /// To either side: the request between you and `peer` ended unanswered.
                PrivateCancelled {
                    /// The other side of the request.
                    peer: Name,
                    /// Why it ended.
                    reason: CancelReason,
                } => "PRIVATE-CANCELLED"
                    [peer, reason]
                    human("The private-chat request between you and {peer} ended: {}.", match reason {
                        CancelReason::Timeout => "no answer in time",
                        CancelReason::Offline => "the other side went offline",
                    })
                    show(p => p.star(match reason {
                        CancelReason::Timeout => format!(
                            "The private-chat request between you and {peer} expired unanswered."
                        ),
                        CancelReason::Offline => format!(
                            "The private-chat request between you and {peer} ended: {peer} went offline."
                        ),
                    }))
                    about(Some(Conversation::Private(peer.clone()))),
                /// Reply to `stopprivate`.
                PrivateEnded {
                    /// The other side of the chat that ended.
                    peer: Name,
                } => "PRIVATE-ENDED" [peer]
                    human("Private chat with {peer} ended.")
                    show(p => p.star(format!("Private chat with {peer} ended: you stopped it.")))
                    about(Some(Conversation::Private(peer.clone()))),
                /// One line of `help`. The usage starts with the command's words, which is the field a
                /// decoder reads.
                Help {
                    /// The command this line describes.
                    command: CommandName,
                } => "HELP" [command: Usage]
                    human("- {}", command.spec().summary)
                    show(p => help_row(command.spec().usage, command.spec().summary))
                    about(),
                /// Reply to `create group`: the group and all its members (the creator included),
                /// sorted.
                GroupCreated {
                    /// The new group's name.
                    group: Name,
                    /// All its members, the creator included, sorted.
                    members: Vec<Name>,
                } => "GROUP-CREATED"
                    [group, members: Names]
                    human("Group '{group}' created.")
                    show(p => p.dash(format!("created group {group}: {}", list(members))))
                    about(Some(Conversation::Group(group.clone()))),
                /// Reply to `message group`: how many members got it now, how many will at their next
                /// login, and whether some members did not get it (they blocked the sender, or their
                /// mailbox was full; never said who).
                GroupSent {
                    /// The group it was sent to.
                    group: Name,
                    /// How many members it was queued for now.
                    delivered: usize,
                    /// How many members, offline now, get it at their next login.
                    stored: usize,
                    /// Whether some members did not get it (they blocked the sender, or their mailbox
                    /// was full).
                    skipped: bool,
                } => "GROUP-SENT"
                    [group, delivered, stored, skipped: Coverage]
                    human("Sent to '{group}': {delivered} now, {stored} at their next login{}.",
                        if *skipped { "; some members did not get it" } else { "" })
                    show(p => p.dash(format!(
                        "sent to {group}: {delivered} now, {stored} at their next login{}",
                        if *skipped { "; some members did not get it" } else { "" }
                    )))
                    about(Some(Conversation::Group(group.clone()))),
                /// Reply to `groups`, one line per group the user may see: its member count and its
                /// topic (empty if none); `GROUPS-END` follows the last.
                GroupListed {
                    /// The group.
                    group: Name,
                    /// How many members it has.
                    members: u64,
                    /// Its topic, empty if it has none.
                    topic: String,
                } => "GROUP-LISTED" [group, members, topic: Text]
                    human()
                    show(p => p.star(format!("{group} ({members}) {topic}")))
                    about(),
                /// Ends the reply to `groups`.
                GroupsEnd => "GROUPS-END" []
                    human("End of the groups.")
                    show(p => p.star("End of the groups.".into()))
                    about(),
                /// Reply to `grouplist`: each group the user belongs to, with its members, sorted.
                GroupList {
                    /// Each group the user belongs to, with its members; both sorted.
                    groups: Vec<(Name, Vec<Name>)>,
                } => "GROUPLIST" [groups: GroupEntries]
                    human()
                    show(p => if groups.is_empty() {
                        p.star("You are in no group. 'create group <name> <member>...' makes one.".into())
                    } else {
                        groups
                            .iter()
                            .map(|(g, members)| p.star(format!("{g}: {}", list(members))))
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    about(),
                /// Reply to `group members`.
                GroupMembers {
                    /// The group asked about.
                    group: Name,
                    /// Its members.
                    members: Vec<Name>,
                } => "GROUP-MEMBERS"
                    [group, members: Names]
                    human()
                    show(p => p.star(format!("{group}: {}", list(members))))
                    about(Some(Conversation::Group(group.clone()))),
                /// To the members of `group` (the new one included): `by` added `user`, or `user`
                /// joined by themselves (`by` is `user`: with `group join`, accepting an invitation or
                /// joining an open group).
                GroupJoined {
                    /// The group joined.
                    group: Name,
                    /// The member who joined.
                    user: Name,
                    /// Who added them (`user` when they joined by themselves: an invitation accepted,
                    /// or an open group).
                    by: Name,
                } => "GROUP-JOINED" [group, user, by]
                    human("{}", if by == user {
                        format!("{user} joined '{group}'.")
                    } else {
                        format!("{by} added {user} to '{group}'.")
                    })
                    show(p => p.star(if by == user {
                        format!("[{group}] {user} joined")
                    } else {
                        format!("[{group}] {by} added {user}")
                    }))
                    about(Some(Conversation::Group(group.clone()))),
                /// To the members of `group` and to `user`: `user` left it, saying why (`reason`,
                /// empty if they said nothing).
                GroupLeft {
                    /// The group left.
                    group: Name,
                    /// Who left it.
                    user: Name,
                    /// Why, as they said (empty: nothing said).
                    reason: String,
                } => "GROUP-LEFT" [group, user, reason: Text]
                    human()
                    show(p => p.star(if reason.is_empty() {
                        format!("[{group}] {user} left")
                    } else {
                        format!("[{group}] {user} left: {reason}")
                    }))
                    about(Some(Conversation::Group(group.clone()))),
                /// To the member who invited `user` to `group`: the invitation is on its way (`user`
                /// is told now if online, else at their next login).
                GroupInvited {
                    /// The group.
                    group: Name,
                    /// The one invited.
                    user: Name,
                } => "GROUP-INVITED" [group, user]
                    human("Invited {user} to '{group}'; they may accept with 'group join {group}'.")
                    show(p => p.dash(format!("invited {user} to {group}")))
                    about(Some(Conversation::Group(group.clone()))),
                /// To the one invited: `by` invites you to `group` (at `sent_at`; it lasts 7 days).
                GroupInvitation {
                    /// The group.
                    group: Name,
                    /// The member who invited you.
                    by: Name,
                    /// When (the invitation lapses 7 days later).
                    sent_at: Timestamp,
                } => "GROUP-INVITATION"
                    [group, by, sent_at]
                    human("{by} invites you to the group '{group}'. Type 'group join {group}' to accept or 'group decline {group}'.")
                    show(p => format!(
                        "{} {by} invites you to group {group}: type 'group join {group}' or 'group decline {group}'",
                        p.paint(fg(AnsiColor::Yellow).bold(), "?")
                    ))
                    about(),
                /// Reply to `group decline`.
                GroupDeclined {
                    /// The group whose invitation was declined.
                    group: Name,
                } => "GROUP-DECLINED" [group]
                    human("You declined the invitation to '{group}'.")
                    show(p => p.dash(format!("declined the invitation to {group}")))
                    about(),
                /// To the members of `group` and to `user`: its owner `by` removed `user`, saying why.
                GroupRemoved {
                    /// The group.
                    group: Name,
                    /// The member removed.
                    user: Name,
                    /// The owner who removed them.
                    by: Name,
                    /// Why, as the owner said (may be empty).
                    reason: String,
                } => "GROUP-REMOVED"
                    [group, user, by, reason: Text]
                    human()
                    show(p => p.star(format!("[{group}] {by} removed {user}: {reason}")))
                    about(Some(Conversation::Group(group.clone()))),
                /// To the members of `group`: `owner` owns it now (handed on, or the owner left).
                GroupOwner {
                    /// The group, which the sender must own.
                    group: Name,
                    /// Its owner now.
                    owner: Name,
                } => "GROUP-OWNER" [group, owner]
                    human("{owner} now owns '{group}'.")
                    show(p => p.star(format!("[{group}] {owner} now owns the group")))
                    about(Some(Conversation::Group(group.clone()))),
                /// `group`'s topic, set by `by`: to the members when it is set, to a member who joins,
                /// and in reply to `group topic <name>`.
                GroupTopic {
                    /// The group, which the sender must belong to.
                    group: Name,
                    /// Who set it.
                    by: Name,
                    /// The topic.
                    topic: String,
                } => "GROUP-TOPIC" [group, by, topic: Text]
                    human()
                    show(p => p.star(format!("[{group}] topic (set by {by}): {topic}")))
                    about(Some(Conversation::Group(group.clone()))),
                /// Reply to `group topic <name>` for a group without a topic.
                GroupNoTopic {
                    /// The group without a topic.
                    group: Name,
                } => "GROUP-NO-TOPIC" [group]
                    human("'{group}' has no topic.")
                    show(p => p.star(format!("[{group}] no topic is set")))
                    about(Some(Conversation::Group(group.clone()))),
                /// `group`'s settings, to its members when its owner changes one: whether anyone may
                /// join (`open`), whether members add directly, whether any member may set the topic.
                GroupMode {
                    /// The group.
                    group: Name,
                    /// Anyone may join by name (otherwise joining needs an invitation).
                    open: bool,
                    /// Members add others directly (otherwise they invite them).
                    add_direct: bool,
                    /// Any member may set the topic (otherwise only the owner).
                    topic_by_members: bool,
                } => "GROUP-MODE" [group, open: Access, add_direct: Adding, topic_by_members: TopicBy]
                    human("'{group}': {}; members {}; the topic is set by {}.",
                        if *open { "anyone may join" } else { "joining needs an invitation" },
                        if *add_direct { "add others directly" } else { "invite others" },
                        if *topic_by_members { "any member" } else { "the owner" })
                    show(p => p.star(format!("[{group}] {}; members {}; the topic is set by {}",
                        if *open { "anyone may join" } else { "joining needs an invitation" },
                        if *add_direct { "add others directly" } else { "invite others" },
                        if *topic_by_members { "any member" } else { "the owner" })))
                    about(Some(Conversation::Group(group.clone()))),
                /// Reply to `group rules <name>`: the group's settings and rules, as the changes that
                /// would make them from a new group's (its operators, the owner first, its voiced
                /// members and its bans included).
                GroupRules {
                    /// The group.
                    group: Name,
                    /// Its settings and rules, as changes (`group_change.rs` says the words).
                    rules: Vec<GroupChange>,
                } => "GROUP-RULES" [group, rules: Changes]
                    human()
                    show(p => p.star(format!("[{group}] rules: {}", changes_text(rules))))
                    about(Some(Conversation::Group(group.clone()))),
                /// To the members of `group`: its operator `by` changed its rules (`group rules`),
                /// these changes in this order.
                GroupChanged {
                    /// The group.
                    group: Name,
                    /// The operator who changed them.
                    by: Name,
                    /// What changed, in order (`group_change.rs` says the words).
                    changes: Vec<GroupChange>,
                } => "GROUP-CHANGED" [group, by, changes: Changes]
                    human()
                    show(p => p.star(format!("[{group}] {by} set {}", changes_text(changes))))
                    about(Some(Conversation::Group(group.clone()))),
                /// Reply to `away <reason>`: you are away, and those who see your presence are told.
                Away {
                    /// Why you are away, as you said.
                    reason: String,
                } => "AWAY" [reason: Text]
                    human()
                    show(p => p.dash(format!("you are marked away: {reason}")))
                    about(),
                /// Reply to `away` alone: you are back.
                Back => "BACK" []
                    human("You are no longer marked away.")
                    show(p => p.dash("you are no longer marked away".to_owned()))
                    about(),
                /// `user` is away, saying why: to those who see their presence when it changes, after
                /// `WHOELSE` for each user online and away, and after `WHOIS`.
                PresenceAway {
                    /// Who is away.
                    user: Name,
                    /// Why, as they said.
                    reason: String,
                } => "PRESENCE-AWAY" [user, reason: Text]
                    human()
                    show(p => p.star(format!("{user} is away: {reason}")))
                    about(),
                /// `user` is no longer away.
                PresenceBack {
                    /// Who is back.
                    user: Name,
                } => "PRESENCE-BACK" [user]
                    human("{user} is back.")
                    show(p => p.star(format!("{user} is back")))
                    about(),
                /// `user` set their real name to `text`: to them and to those who see their presence.
                RealName {
                    /// Whose real name it is.
                    user: Name,
                    /// The real name.
                    text: String,
                } => "REALNAME" [user, text: Text]
                    human()
                    show(p => p.star(format!("{user}'s real name is now {text}")))
                    about(),
                /// `oper`: the password was right; this session is the server's operator's until it
                /// ends (it may `kill` and `wallops`; `who` shows it).
                Operator {
                    /// The operator's name in the server's configuration.
                    name: String,
                } => "OPERATOR" [name]
                    human("You are the server's operator now (as '{name}').")
                    show(p => p.star(format!("you are the server's operator now (as {name})")))
                    about(),
                /// `wallops <text>` from `from`, an operator: to every operator online.
                Wallops {
                    /// The operator who sent it.
                    from: Name,
                    /// What they said.
                    text: String,
                } => "WALLOPS" [from, text: Text]
                    human()
                    show(p => p.star(format!("{from} to the operators: {text}")))
                    about(),
                /// `from` (a guest) is called `to` from now on: to them, and to those who see their
                /// presence and share a group with them (the others see `from` log out and `to` log in).
                Renamed {
                    /// The name until now.
                    from: Name,
                    /// The name from now on.
                    to: Name,
                } => "RENAMED" [from, to]
                    human("{from} is now known as {to}.")
                    show(p => p.star(format!("{from} is now known as {to}")))
                    about(),
                /// After a `message` to `user`, who is online and away: delivered, and why they may not
                /// answer soon (IRC's `RPL_AWAY`). Not where either blocks the other, as presence.
                RecipientAway {
                    /// The recipient, away.
                    user: Name,
                    /// Why, as they said.
                    reason: String,
                } => "RECIPIENT-AWAY" [user, reason: Text]
                    human()
                    show(p => p.star(format!("{user} is away: {reason}")))
                    about(Some(Conversation::User(user.clone()))),
                /// Reply to `whois`: whether `user` is online, idle how long (0 when offline), since
                /// when (the session's start, or the last logout; `never`: never seen), and the groups
                /// you share. A `PRESENCE-AWAY` follows if they are away.
                Whois {
                    /// The user asked about.
                    user: Name,
                    /// Whether they are logged in now.
                    online: bool,
                    /// Seconds since their last command (0 when offline).
                    idle_secs: u64,
                    /// Their session's start if online, else their last logout (`never` if never
                    /// seen since the server began keeping history).
                    since: Option<Timestamp>,
                    /// The groups both of you belong to.
                    groups: Vec<Name>,
                } => "WHOIS" [user, online: OnOff, idle_secs, since: Seen, groups: Names]
                    human()
                    show(p => p.star(format!("{user}: {}; groups you share: {}",
                        if *online {
                            format!("online (idle {})", age(*idle_secs))
                        } else if since.is_none() {
                            "offline, never seen".to_owned()
                        } else {
                            "offline".to_owned()
                        },
                        if groups.is_empty() { "none".to_owned() } else { list(groups) })))
                    about(Some(Conversation::User(user.clone()))),
                /// Reply to `who <mask>`: one line for each user matched, then `WHO-END`. Whether
                /// they are online (a group's member may not be), away, an account's name or a
                /// guest's, the owner of the group asked about; idle seconds (0 when offline); since
                /// when (the session's start, or the last logout; `never`); the user name and real
                /// name their IRC client gave (`userinfo`; their name otherwise).
                WhoUser {
                    /// The user.
                    user: Name,
                    /// Whether they are logged in now.
                    online: bool,
                    /// Whether they said they are away (and the asker sees their presence).
                    away: bool,
                    /// Whether the name is an account's (not a guest's).
                    account: bool,
                    /// Whether they own the group asked about (`who #group`).
                    owner: bool,
                    /// Whether their session is the server's operator's (`oper`).
                    operator: bool,
                    /// Whether their client said it is a bot (`bot on`, IRC's `MODE me +B`).
                    bot: bool,
                    /// Seconds since their last command (0 when offline).
                    idle_secs: u64,
                    /// Their session's start if online, else their last logout.
                    since: Option<Timestamp>,
                    /// The user name their client gave (one word).
                    username: Name,
                    /// The real name their client gave.
                    realname: Name,
                } => "WHO-USER" [user, online: OnOff, away: Here, account: Kind, owner: Role,
                    operator: Rank, bot: Agent, idle_secs, since: Seen, username, realname: Text]
                    human()
                    show(p => p.star(format!("{user} ({username}, {realname}): {}{}{}",
                        if *online { format!("online, idle {}", age(*idle_secs)) } else { "offline".to_owned() },
                        if *away { ", away" } else { "" },
                        if *account { "" } else { ", a guest" })))
                    about(),
                /// The end of a `who` reply.
                WhoEnd {
                    /// What `who` asked for: the group's name as it is (`#team` for `#Team`),
                    /// or the name or pattern as typed.
                    mask: String,
                } => "WHO-END" [mask]
                    human("End of who {mask}.")
                    show(p => p.dash(format!("end of who {mask}")))
                    about(),
                /// Reply to `whowas <user>`: one of the last sessions of that name that ended (the
                /// server keeps a bounded number, newest first), then `WHOWAS-END`.
                WhowasUser {
                    /// The name the session had.
                    user: Name,
                    /// Whether it was an account's (not a guest's).
                    account: bool,
                    /// When it ended.
                    at: Timestamp,
                    /// The user name its client gave (one word).
                    username: Name,
                    /// The real name its client gave.
                    realname: Name,
                } => "WHOWAS-USER" [user, account: Kind, at, username, realname: Text]
                    human()
                    show(p => p.star(format!("{user} ({username}, {realname}) was here until {}",
                        crate::time::utc(*at))))
                    about(),
                /// The end of a `whowas` reply: the name asked about, as typed.
                WhowasEnd {
                    /// The name asked about, as typed.
                    user: String,
                } => "WHOWAS-END" [user]
                    human("End of whowas {user}.")
                    show(p => p.dash(format!("end of whowas {user}")))
                    about(),
                /// Reply to `lusers`: how many users are online, how many connections are still
                /// logging in, the most users online at once since the server started, and how many
                /// groups there are.
                Lusers {
                    /// Users online now (accounts and guests).
                    users: u64,
                    /// Connections open and not logged in.
                    unregistered: u64,
                    /// The most users online at once since the server started.
                    peak: u64,
                    /// Groups that exist.
                    groups: u64,
                } => "LUSERS" [users, unregistered, peak, groups]
                    human("{users} users online ({peak} at most), {unregistered} connections logging in, {groups} groups.")
                    show(p => p.star(format!(
                        "{users} users online ({peak} at most), {unregistered} connections logging in, {groups} groups"
                    )))
                    about(),
                /// No command for a while: the session ends in `secs_left` seconds unless the user
                /// sends one.
                IdleWarning {
                    /// Seconds until the server ends the session.
                    secs_left: u64,
                } => "IDLE-WARNING" [secs_left]
                    human("You will be logged out in {secs_left} s unless you send a command.")
                    show(p => p.warn(format!(
                        "You will be logged out in {secs_left} s for inactivity unless you type a command."
                    )))
                    about(),
                /// With `receipts on`: the message `id` to `to` is queued for `to`, who is online; once
                /// their client has it, `DELIVERED` follows (or, if their session ends first, `STORED`,
                /// and it is kept for their next login).
                Sent {
                    /// The message's id, which the `DELIVERED` (or `STORED`) that follows names.
                    id: u64,
                    /// The recipient, who is online.
                    to: Name,
                } => "SENT" [id, to]
                    human("{to} is online; you will be told when their client has it.")
                    show(p => p.dash(format!("sent to {to}")))
                    about(Some(Conversation::User(to.clone()))),
                /// With `receipts on`: `to`'s client has message `id` (it acknowledged it; for a client
                /// that does not acknowledge, it was written to its connection).
                Delivered {
                    /// The id the `SENT` before named.
                    id: u64,
                    /// The recipient whose client has it.
                    to: Name,
                } => "DELIVERED" [id, to]
                    human("Delivered to {to}.")
                    show(p => p.dash(format!("delivered to {to}")))
                    about(Some(Conversation::User(to.clone()))),
                /// Reply to `ping`.
                Ping {
                    /// The user asked about.
                    user: Name,
                    /// Whether they are online, and if not, whether a message would be kept.
                    state: PingState,
                } => "PING" [user, state: Nested<PingState>]
                    human(|w| match state {
                        PingState::Online { idle_secs } => write!(
                            w,
                            "{user} is online (idle {idle_secs} s); messages reach them now."
                        ),
                        PingState::Offline { stored: true } => write!(
                            w,
                            "{user} is offline; messages are kept for their next login."
                        ),
                        PingState::Offline { stored: false } => write!(
                            w,
                            "{user} is offline and cannot be sent more messages now."
                        ),
                    })
                    show(p => p.star(match state {
                        PingState::Online { idle_secs } => format!(
                            "{user} is online (idle {}): messages reach them now.",
                            age(*idle_secs)
                        ),
                        PingState::Offline { stored: true } => {
                            format!("{user} is offline: messages wait for their next login.")
                        }
                        PingState::Offline { stored: false } => format!(
                            "{user} is offline, and their mailbox has no room for more from you now."
                        ),
                    }))
                    about(Some(Conversation::User(user.clone()))),
                /// Reply to `keys claim` and `keys show`: `user`'s published identity keys, and for a
                /// claim one key to start an encrypted session with (one of their one-time keys, now
                /// removed, or their fallback key once none is left; `-` for `keys show`). The claiming
                /// client checks the key's signature against the Ed25519 identity key.
                Keys {
                    /// Whose keys these are.
                    user: Name,
                    /// Their Curve25519 identity key, in the text form their client published: what an
                    /// encrypted session is made with.
                    curve25519: String,
                    /// Their Ed25519 identity key, in the text form their client published: what their
                    /// other keys are signed with.
                    ed25519: String,
                    /// For `keys claim`, the key to start a session with, signed by `ed25519`; `None`
                    /// (`-` on the wire) for `keys show`. Boxed: every line is as large as its largest
                    /// variant, and every line of every kind is moved several times on its way out.
                    key: Option<Box<SignedKey>>,
                }
                    => "KEYS" [user, curve25519, ed25519, key: OneKey]
                    human("{user}'s identity keys{}.",
                        if key.is_some() { ", and a key to start an encrypted session with" } else { "" })
                    show(p => p.dash(format!("{user}'s identity key is {ed25519}")))
                    about(Some(Conversation::User(user.clone()))),
                /// Reply to `keys claim` and `keys show`: `user` has no identity published (their
                /// client never logged in with encryption), or, for a claim, no key left to hand out.
                NoKeys {
                    /// The user asked about.
                    user: Name,
                } => "NOKEYS" [user]
                    human("{user} has no encryption keys published; a message to them cannot be encrypted yet.")
                    show(p => p.dash(format!(
                        "{user} has no encryption keys published; messages to them cannot be encrypted yet"
                    )))
                    about(Some(Conversation::User(user.clone()))),
                /// How many one-time keys the server holds for this account: the answer to every
                /// `keys` publishing line, sent right after `WELCOME` to an account with an identity,
                /// and when a claim leaves fewer than [`KEYS_LOW`](crate::protocol::keys::KEYS_LOW), so
                /// the client tops them up.
                KeysLeft {
                    /// One-time keys the server holds for this account now.
                    count: usize,
                } => "KEYS-LEFT" [count]
                    human("{count} one-time key{} published for your account.", plural(*count as u64))
                    show(p => p.dash(format!(
                        "{count} one-time encryption key{} published", plural(*count as u64)
                    )))
                    about(),
                /// Reply to `offline`: `count` lines follow, each an [`ServerMsg::OfflineAgain`].
                OfflineList {
                    /// How many `OFFLINE-AGAIN` lines follow.
                    count: usize,
                } => "OFFLINE-LIST" [count]
                    human("{count} message{} waited for you at this login.", plural(*count as u64))
                    show(p => p.star(if *count == 0 {
                        "No messages were waiting for you at this login.".to_owned()
                    } else {
                        format!("{count} message{} waited for you at this login:", plural(*count as u64))
                    }))
                    about(),
                /// One of the messages that were waiting at this login, shown again (not to be
                /// acknowledged).
                OfflineAgain {
                    /// The message's id, as at its first delivery.
                    id: u64,
                    /// When the server accepted the message from its sender; a redelivery keeps it.
                    sent_at: Timestamp,
                    /// The sender.
                    from: Name,
                    /// The group it was sent to, or `None` for a message to the recipient alone (which
                    /// decides the tag).
                    group: Option<Name>,
                    /// The message, as the rest of the line.
                    text: String,
                } => ("OFFLINE-AGAIN" | "OFFLINE-AGAIN-GROUP" if group.is_some())
                    [id, sent_at, group: AltGroup, from, text: Text]
                    human()
                    show(p => offline(p, from, group.as_ref(), text))
                    about(Some(Conversation::of_message(from, group.as_ref()))),
                /// A word from the server's operator: to everyone online (before maintenance, say),
                /// or to one user just before they are disconnected (the reason of a kick or a ban).
                Notice {
                    /// The operator's words, as the rest of the line.
                    text: String,
                } => "NOTICE" [text: Text]
                    human()
                    show(p => p.warn(format!("Notice from the server's operator: {text}")))
                    about(),
                /// Reply to `passwd`: `user`'s password is changed (sent once that is durable).
                PasswordChanged {
                    /// The account whose password changed.
                    user: Name,
                } => "PASSWORD-CHANGED" [user]
                    human("The password of {user} is changed.")
                    show(p => p.star(format!("Your password is changed ({user}).")))
                    about(),
                Error(ErrorReply) as code => "ERROR" [code: Nested<ErrorReply>]
                    human(of code)
                    show(p => error(p, &code.text()))
                    about(code.conversation()),
                Bye(ByeReason) as reason => "BYE" [reason: Nested<ByeReason>]
                    human(of reason)
                    show(p => p.star(reason.shown(p).unwrap_or_default()))
                    about(),
            }
        }

        $cb! { $($pre)*
            /// What the server is waiting for during login.
            #[derive(Clone, Debug, PartialEq, Eq)]
            pub enum Prompt {
                Username => "username" []
                    human("Username:")
                    show(p => "The server asks for a username.".to_owned())
                    about(),
                Password => "password" []
                    human("Password:")
                    show(p => "The server asks for the password.".to_owned())
                    about(),
                /// `passwd`: the next line is the account's current password.
                CurrentPassword => "current-password" []
                    human("Current password:")
                    show(p => "The server asks for your current password.".to_owned())
                    about(),
                /// `passwd`: the current password was right; the next line is the new one.
                ChosenPassword => "chosen-password" []
                    human("New password:")
                    show(p => "The server asks for your new password.".to_owned())
                    about(),
                /// `oper <name>`: the next line is the operator's password.
                OperatorPassword => "operator-password" []
                    human("Operator password:")
                    show(p => "The server asks for the operator's password.".to_owned())
                    about(),
                /// `--register` is on and `user` does not exist yet: the next line is the new account's
                /// password.
                NewPassword {
                    /// The name the new account will have.
                    user: Name,
                } => "new-password" [user]
                    human("New account '{user}'. Choose a password:")
                    show(p => format!("New account '{user}': choose a password."))
                    about(),
            }
        }

        $cb! { $($pre)*
            /// What `ping` found out about a user.
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub enum PingState {
                /// Online, with no command for `idle_secs`; messages are delivered at once.
                Online {
                    /// Seconds since their last command.
                    idle_secs: u64,
                } => "online" [idle_secs] human() show() about(),
                /// Offline; `stored` says whether a message would be kept for them (false: their
                /// mailbox has no room for one more from you).
                Offline {
                    /// Whether a message from the asker would be kept for their next login.
                    stored: bool,
                } => "offline" [stored: StoredFull] human() show() about(),
            }
        }

        $cb! { $($pre)*
            /// Why the server is closing a connection.
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub enum ByeReason {
                /// The user asked to log out.
                Logout => "logout" []
                    human("Goodbye.")
                    show(p => "Logged out. Goodbye!".to_owned())
                    about(),
                /// No command for `secs` seconds.
                Timeout {
                    /// The idle limit that was reached, in seconds.
                    secs: u64,
                } => "timeout" [secs]
                    human("You were logged out after {secs} s without a command.")
                    show(p => format!("You were logged out by the server after {secs} s without a command."))
                    about(),
                /// Login was not completed within `secs` seconds.
                LoginTimeout {
                    /// The time a connection has to log in, in seconds.
                    secs: u64,
                } => "login-timeout" [secs]
                    human("Login was not completed within {secs} s.")
                    show(p => format!("Login was not completed within {secs} s; the server disconnected."))
                    about(),
                /// The account is locked (see the error sent just before).
                Locked => "locked" []
                    human("Account locked; disconnecting.")
                    show(p => "Disconnected: the account is locked.".to_owned())
                    about(),
                /// The server is shutting down.
                Shutdown => "shutdown" []
                    human("The server is shutting down.")
                    show(p => "The server is shutting down; disconnected.".to_owned())
                    about(),
                /// The server has no room for another connection (it ran out of file descriptors); try
                /// later. Sent by the runtime to a connection it accepted only to refuse it cleanly.
                Full => "full" []
                    human("The server has no room for more connections; try again later.")
                    show(p => "The server is full and cannot take another connection; try again later.".to_owned())
                    about(),
                /// The client went on sending faster than the flood limit allows, far past its burst.
                /// Neither its account nor its address may log in for `cooldown_secs` (0: no
                /// cool-down).
                Flood {
                    /// How long, in seconds, neither the account nor the address may log in again (0:
                    /// no cool-down).
                    cooldown_secs: u64,
                } => "flood" [cooldown_secs]
                    human("You kept sending far faster than the server allows; disconnecting.{}", cooldown(*cooldown_secs))
                    show(p => format!(
                        "Disconnected by the server: you kept sending far faster than it allows.{}",
                        cooldown(*cooldown_secs)
                    ))
                    about(),
                /// `max` connections from the client's address are already logging in.
                TooManyConnections {
                    /// The server's limit on connections logging in at once from one address.
                    max: u32,
                } => "too-many-connections" [max]
                    human("{max} connections from your address are already logging in; finish or close them first.")
                    show(p => format!(
                        "Refused: {max} connections from your address are already logging in; close some and try again."
                    ))
                    about(),
                /// The client's address opened new connections faster than the server allows; the
                /// next may come in `secs` seconds. Sent before any TLS handshake (sparing the server
                /// one is the point), so in plain text even by a TLS server.
                ConnectThrottled {
                    /// Seconds until the address may connect again.
                    secs: u64,
                } => "connect-throttled" [secs]
                    human("Too many new connections from your address; try again in {secs} s.")
                    show(p => format!(
                        "Refused: too many new connections from your address; try again in {secs} s."
                    ))
                    about(),
                /// The port speaks TLS and the client spoke plain text. Sent, in plain text, by the
                /// runtime.
                TlsRequired => "tls-required" []
                    human("This server speaks TLS: connect with natter (TLS is its default) or with 'openssl s_client -quiet -connect HOST:PORT'.")
                    show(p => "The server speaks TLS and this client connected in plain text: run natter without --plaintext.".to_owned())
                    about(),
                /// The port speaks plain text and the client began a TLS handshake. Sent, in plain
                /// text, by the runtime, so a TLS client learns what is wrong rather than seeing the
                /// connection cut.
                PlainTextOnly => "plaintext-only" []
                    human("This server speaks plain text (it was started with --plaintext): connect with natter --plaintext, or nc.")
                    show(p => "The server speaks plain text: run natter with --plaintext (only on a network you trust).".to_owned())
                    about(),
                /// The server's operator ended the session (a `NOTICE` with the reason comes first).
                Kicked => "kicked" []
                    human("The server's operator disconnected you.")
                    show(p => "Disconnected by the server's operator.".to_owned())
                    about(),
                /// The account, or the client's address, is banned by the server's operator (a
                /// `NOTICE` with the reason may come first).
                Banned => "banned" []
                    human("You are banned from this server.")
                    show(p => "Disconnected: the server's operator banned this account or your address.".to_owned())
                    about(),
                /// The server's operator removed the account.
                Removed => "removed" []
                    human("Your account was removed by the server's operator.")
                    show(p => "Disconnected: the server's operator removed this account.".to_owned())
                    about(),
                /// A node of a cluster that cannot reach the cluster's shared storage (Redis) cannot
                /// serve: it could acknowledge nothing. Another node, or this one a little later, can.
                /// Sent by the runtime.
                Unavailable => "unavailable" []
                    human("This server cannot reach its cluster's storage, so it cannot serve; use another server of the cluster, or try again shortly.")
                    show(p => "The server cannot reach its cluster's storage and cannot serve; disconnected. Use another server of the cluster, or try again shortly.".to_owned())
                    about(),
            }
        }

        $cb! { $($pre)*
            /// An error reply. Each variant is one code on the wire; data a client may act on travels
            /// in fields, and the human text is derived from them. The natter client shows the human
            /// text.
            #[derive(Clone, Debug, PartialEq, Eq)]
            pub enum ErrorReply {
                // --- login ---
                UnknownUser => "unknown-user" []
                    human("No account has that username. Check the spelling and try again.")
                    show() about(),
                WrongPassword {
                    /// Failed attempts still allowed before the account is locked.
                    attempts_left: u32,
                } => "wrong-password" [attempts_left]
                    human("Wrong password. {attempts_left} attempt{} left before the account is locked.",
                        plural(*attempts_left as u64))
                    show() about(),
                /// A login was attempted while the account is locked.
                Locked {
                    /// Seconds until the lock ends.
                    secs_left: u64,
                } => "locked" [secs_left]
                    human("This account is locked after too many failed logins. Try again in {secs_left} s.")
                    show() about(),
                /// This attempt was the last allowed failure: the account is now locked.
                LockedNow {
                    /// How long the lock lasts, in seconds.
                    secs: u64,
                } => "locked-now" [secs]
                    human("Wrong password again: this account is now locked for {secs} s.")
                    show() about(),
                AlreadyOnline => "already-online" []
                    human("That user is already logged in elsewhere; log out there first, or use another account.")
                    show() about(),
                InvalidUsername(NameError) as why => "invalid-username" [why]
                    human("Not a valid username: {why}.")
                    show() about(),
                InvalidPassword(PasswordError) as why => "invalid-password" [why]
                    human("Cannot use that password: {why}.")
                    show() about(),
                /// Someone else registered this name between the username and the password.
                NameTaken => "name-taken" []
                    human("Someone else has just registered that username. Choose another.")
                    show() about(),
                /// A new account's name looks like `existing`'s (it differs only in letter case, or in
                /// letters that look alike, such as `I`, `l` and `1`), which would let one pass for the
                /// other.
                NameTooSimilar {
                    /// The existing account the new name could pass for.
                    existing: Name,
                } => "name-too-similar" [existing]
                    human("That name looks like the account '{existing}' (letter case, or letters such as I, l and 1 that look alike), so one could pass for the other. Choose another.")
                    show() about(),
                /// `guest <nick>` on a server that admits accounts only (its operator did not turn
                /// guests on).
                GuestsOff => "guests-off" []
                    human("This server admits its accounts only: log in with an account's name.")
                    show() about(),
                /// `guest <nick>` with a nick that is an account's name: accounts' names are kept from
                /// guests, so nobody passes for an account's owner.
                NameIsAccount => "name-is-account" []
                    human("That name is an account's: log in to it with its password, or choose another name.")
                    show() about(),
                /// `nick` by an account: its name is the account, and only a guest's may change.
                NickIsAccount => "nick-is-account" []
                    human("Your name is your account's: it cannot change (a guest's name can).")
                    show() about(),
                /// A guest asked for what needs an account (it is kept across logins, or shared with
                /// others as the account's): groups, blocks, keys, a password.
                NeedsAccount => "needs-account" []
                    human("Guests cannot do that: it needs an account.")
                    show() about(),
                /// `oper`: no operator has that name and password (which of the two was wrong is not
                /// said); nothing changed.
                OperFailed => "oper-failed" []
                    human("Wrong operator name or password.")
                    show() about(),
                /// Only the server's operator (after `oper`) may do that (`kill`, `wallops`).
                NotOperator => "not-operator" []
                    human("Only the server's operator may do that: log in as one with 'oper <name>'.")
                    show() about(),
                /// Too many failed logins from the client's address: no login is tried from it for
                /// `secs_left`.
                LoginThrottled {
                    /// Seconds until a login from the address is tried again.
                    secs_left: u64,
                } => "login-throttled" [secs_left]
                    human("Too many failed logins from your address; no login is tried from it for {secs_left} s.")
                    show() about(),
                /// Successful logins of this account (`address` false), or from the client's address,
                /// came too often lately: the next may come in `secs_left`.
                TooManyLogins {
                    /// True when the limit reached is the address's, false when it is the account's.
                    address: bool,
                    /// Seconds until the next login may come.
                    secs_left: u64,
                } => "too-many-logins" [address: Whose, secs_left]
                    human("{} logged in too often lately; try again in {secs_left} s.",
                        if *address { "Accounts from your address have" } else { "This account has" })
                    show() about(),
                /// This account (`address` false), or a connection from the client's address, was
                /// disconnected for flooding: no login for `secs_left`.
                FloodCooldown {
                    /// True when the cool-down is the address's, false when it is the account's.
                    address: bool,
                    /// Seconds left of the cool-down.
                    secs_left: u64,
                } => "flood-cooldown" [address: Whose, secs_left]
                    human("{} was disconnected for sending far too fast; no login {} for {secs_left} s.",
                        if *address { "A session from your address" } else { "This account" },
                        if *address { "from your address" } else { "to it" })
                    show() about(),
                /// Too many accounts created from the client's address lately.
                RegisterThrottled {
                    /// Seconds until an account may be created from the address again.
                    secs_left: u64,
                } => "register-throttled" [secs_left]
                    human("Too many accounts were created from your address lately; try again in {secs_left} s.")
                    show() about(),
                /// The account, or the client's address, is banned for `secs_left` more seconds (0: for
                /// good).
                Banned {
                    /// Seconds the ban has left; 0 for a ban without end.
                    secs_left: u64,
                } => "banned" [secs_left]
                    human("{}", if *secs_left == 0 {
                        "This account or your address is banned from this server.".to_owned()
                    } else {
                        format!("This account or your address is banned from this server for {secs_left} s more.")
                    })
                    show() about(),
                /// `passwd`: the current password typed was wrong; nothing changed.
                WrongCurrentPassword => "wrong-current-password" []
                    human("That is not your current password; your password is unchanged.")
                    show() about(),
                /// A new password (at `passwd` or `--register`) that the server's password policy
                /// refuses: shorter than `min` characters, or the username itself.
                WeakPassword {
                    /// The fewest characters a password may have.
                    min: usize,
                } => "weak-password" [min]
                    human("Choose a password of at least {min} characters that is not your username.")
                    show() about(),
                /// The server has too many password checks waiting; the password was not tried (and
                /// not counted).
                Busy => "busy" []
                    human("The server is busy checking other logins; your password was not tried. Send it again in a moment.")
                    show() about(),
                /// The server could not work on a password just now (no randomness from its system for
                /// a new hash's salt, or a fault of its own, logged for its operator): the password was
                /// not tried, counted or changed.
                PasswordJobFailed => "password-failed" []
                    human("The server could not work on that password just now (a fault it has logged for its operator); it was not tried, counted or changed. Try again in a moment.")
                    show() about(),
                // --- any line ---
                LineTooLong {
                    /// The longest line the server reads, in bytes.
                    max: usize,
                } => "line-too-long" [max]
                    human("Line too long (the limit is {max} bytes); it was ignored.")
                    show() about(),
                InvalidUtf8 => "invalid-utf8" []
                    human("The line was not valid UTF-8 text; it was ignored.")
                    show() about(),
                ControlChar => "control-char" []
                    human("The line contained a control character; remove it and send again.")
                    show() about(),
                EmptyLine => "empty-line" []
                    human("Empty line. Type 'help' for the list of commands.")
                    show() about(),
                // --- commands ---
                UnknownCommand => "unknown-command" []
                    human("Unknown command. Type 'help' for the list of commands.")
                    show() about(),
                /// Every command typed with the same first word is listed, so `group` alone shows all
                /// of them.
                Usage {
                    /// The command typed wrong (its whole family is listed, by first word).
                    command: CommandName,
                } => "usage" [command]
                    human(|w| {
                        w.write_str("Usage: ")?;
                        for (i, c) in command.family().enumerate() {
                            if i > 0 {
                                w.write_str(" or ")?;
                            }
                            w.write_str(c.spec().usage)?;
                        }
                        Ok(())
                    })
                    show() about(),
                BadNumber {
                    /// The command whose number did not parse, which decides the advice given.
                    command: CommandName,
                } => "bad-number" [command]
                    human(|w| match command {
                        CommandName::WhoElseSince => w.write_str(
                            "The span must be a whole number of seconds, 0 or more. Usage: whoelsesince <seconds>",
                        ),
                        CommandName::P2pPort => w.write_str("The port must be a number from 1 to 65535."),
                        CommandName::Ack => w.write_str("The id must be a message id number."),
                        other => write!(w, "Bad number. Usage: {}", other.spec().usage),
                    })
                    show() about(),
                NoSuchUser {
                    /// The name as typed (a `String`: no account holds it, so there is no shared name
                    /// to use).
                    user: String,
                } => "no-such-user" [user]
                    human("There is no user named '{user}'.")
                    show() about(Some(Conversation::User(Name::from(user.as_str())))),
                /// A `signal` whose tags are not a signal's shape (`protocol::signal`).
                BadSignal => "bad-signal" []
                    human("A signal is tags: key or key=value, separated by ';', without spaces, at most 4094 bytes (such as typing=active).")
                    show() about(),
                NotYourself {
                    /// The command that named its own user.
                    command: CommandName,
                } => "not-yourself" [command]
                    human("You cannot use '{}' on yourself.", command.word())
                    show() about(),
                /// `user` has blocked the sender: a message is neither delivered nor stored, a private
                /// chat not offered.
                BlockedBy {
                    /// The user who blocked the sender.
                    user: Name,
                } => "blocked-by" [user]
                    human("{user} has blocked you; nothing was delivered or stored.")
                    show() about(Some(Conversation::User(user.clone()))),
                AlreadyBlocked {
                    /// The user, already blocked.
                    user: Name,
                } => "already-blocked" [user]
                    human("You have already blocked {user}.")
                    show() about(Some(Conversation::User(user.clone()))),
                NotBlocked {
                    /// The user named, who is not blocked.
                    user: Name,
                } => "not-blocked" [user]
                    human("You have not blocked {user}.")
                    show() about(Some(Conversation::User(user.clone()))),
                /// `user` is not online (private chat needs both ends online).
                Offline {
                    /// The user asked for a private chat, who is offline.
                    user: Name,
                } => "offline" [user]
                    human("{user} is not online; a private chat needs both of you online.")
                    show() about(Some(Conversation::Private(user.clone()))),
                /// `user`'s client has not registered a private-chat listener.
                NoP2p {
                    /// The user whose client has no private-chat listener.
                    user: Name,
                } => "no-p2p" [user]
                    human("{user}'s client does not accept private chats.")
                    show() about(Some(Conversation::Private(user.clone()))),
                PrivateExists {
                    /// The user a private chat is already open with.
                    user: Name,
                } => "private-exists" [user]
                    human("You already have a private chat with {user}.")
                    show() about(Some(Conversation::Private(user.clone()))),
                PrivatePending {
                    /// The other side of the request that is waiting.
                    user: Name,
                } => "private-pending" [user]
                    human("A private-chat request between you and {user} is already waiting for an answer.")
                    show() about(Some(Conversation::Private(user.clone()))),
                NoRequest {
                    /// The user `accept` or `decline` named.
                    user: Name,
                } => "no-request" [user]
                    human("{user} has not asked you for a private chat.")
                    show() about(Some(Conversation::Private(user.clone()))),
                /// Accepting would give your address to someone you have blocked.
                YouBlocked {
                    /// The user who asked, whom the sender blocked.
                    user: Name,
                } => "you-blocked" [user]
                    human("You have blocked {user}; unblock them first.")
                    show() about(Some(Conversation::Private(user.clone()))),
                NoSession {
                    /// The user `stopprivate` named.
                    user: Name,
                } => "no-session" [user]
                    human("You have no private chat with {user}.")
                    show() about(Some(Conversation::Private(user.clone()))),
                /// `user` has too many stored messages waiting.
                MailboxFull {
                    /// The recipient whose mailbox is full.
                    user: Name,
                } => "mailbox-full" [user]
                    human("{user} has too many unread messages waiting; try again after they log in.")
                    show() about(Some(Conversation::User(user.clone()))),
                /// This sender already has `max` messages waiting for `user`: the share of the mailbox
                /// one sender may fill.
                MailboxShare {
                    /// The recipient.
                    user: Name,
                    /// The most messages one sender may leave waiting for one recipient.
                    max: usize,
                } => "mailbox-share" [user, max]
                    human("You already have {max} messages waiting for {user}, the most one sender may leave; more can be stored once they have read some.")
                    show() about(Some(Conversation::User(user.clone()))),
                /// `user` is not reading fast enough: too much from this sender (or from everyone)
                /// waits to be written to them, so the message was not delivered.
                RecipientBusy {
                    /// The recipient who is not keeping up.
                    user: Name,
                } => "recipient-busy" [user]
                    human("{user} is not keeping up with what is sent to them; your message was not delivered. Try again shortly.")
                    show() about(Some(Conversation::User(user.clone()))),
                /// The client sends commands faster than `per_sec` a second: they are carried out at
                /// that rate.
                SlowDown {
                    /// The rate the server carries out this client's commands at, per second.
                    per_sec: u32,
                } => "slow-down" [per_sec]
                    human("You are sending commands faster than {per_sec} a second; they are being carried out at that pace. Keep it up and you will be disconnected.")
                    show() about(),
                /// `ack` named a message id that was not sent on this connection.
                BadAck {
                    /// The id `ack` named.
                    id: u64,
                } => "bad-ack" [id]
                    human("No message {id} was sent to you on this connection.")
                    show() about(),
                // --- the key directory ---
                /// A `keys` line with a key that has not the shape of one.
                BadKey(KeyError) as why => "bad-key" [why]
                    human("Malformed key: {why}. Keys are published by the natter client.")
                    show() about(),
                /// `keys add` with more keys than one line may carry.
                KeysPerLine {
                    /// The most one-time keys one `keys add` line may carry.
                    max: usize,
                } => "keys-per-line" [max]
                    human("At most {max} one-time keys fit on one 'keys add' line; nothing was added. Send the rest on further lines.")
                    show() about(),
                /// `keys add` would take the account past `max` one-time keys; it holds `held`.
                KeysFull {
                    /// One-time keys the account holds now.
                    held: usize,
                    /// The most one-time keys an account may hold.
                    max: usize,
                } => "keys-full" [held, max]
                    human("Your account holds {held} one-time keys and may hold at most {max}; nothing was added. Add at most {} now.",
                        max.saturating_sub(*held))
                    show() about(),
                /// One-time and fallback keys belong to an identity, which must be published first.
                NoIdentity => "no-identity" []
                    human("Publish your identity keys first ('keys identity <curve25519> <ed25519>'): one-time and fallback keys are signed by them.")
                    show() about(),
                /// An encrypted message names, as its recipient, an identity key that is not
                /// `user`'s current one: it was encrypted for a device `user` no longer has, which
                /// could never read it. Nothing was delivered or stored; claim `user`'s keys again.
                StaleKey {
                    /// The recipient whose identity key changed.
                    user: Name,
                } => "stale-key" [user]
                    human("That message was encrypted for a device {user} no longer has (their identity key changed); nothing was delivered or stored. Claim {user}'s keys again and encrypt it for the new one.")
                    show() about(Some(Conversation::User(user.clone()))),
                // --- groups ---
                InvalidGroupName(GroupNameError) as why => "invalid-group-name" [why]
                    human("Not a valid group name: {why}.")
                    show() about(),
                /// `create group` with a name another group has.
                GroupExists {
                    /// The name asked for, which another group has.
                    group: Name,
                } => "group-exists" [group]
                    human("There is already a group named '{group}'; choose another name.")
                    show() about(Some(Conversation::Group(group.clone()))),
                NoSuchGroup {
                    /// The name as typed (a `String`: no group holds it, so there is no shared name to
                    /// use).
                    group: String,
                } => "no-such-group" [group]
                    human("There is no group named '{group}'. 'grouplist' shows the groups you are in.")
                    show() about(Some(Conversation::Group(Name::from(group.as_str())))),
                /// Only members may post to a group, see its members, or add to it.
                NotMember {
                    /// The group the sender is not in.
                    group: Name,
                } => "not-member" [group]
                    human("You are not a member of '{group}'; a member can invite you with 'group add {group} <you>'.")
                    show() about(Some(Conversation::Group(group.clone()))),
                AlreadyMember {
                    /// The group.
                    group: Name,
                    /// The user who already is a member.
                    user: Name,
                } => "already-member" [group, user]
                    human("{user} is already a member of '{group}'.")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// Only the group's owner may do that.
                NotOwner {
                    /// The group the sender does not own.
                    group: Name,
                } => "not-owner" [group]
                    human("Only the owner of '{group}' may do that (or an operator they made, unless it is handing the group on); ask them to.")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// `group join` of an invite-only group without a (current) invitation.
                InviteOnly {
                    /// The invite-only group.
                    group: Name,
                } => "invite-only" [group]
                    human("'{group}' is invite-only and you have no invitation to it; ask a member to invite you.")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// `group decline` with no invitation to that group.
                NoInvitation {
                    /// The group named, as typed.
                    group: String,
                } => "no-invitation" [group]
                    human("You have no invitation to '{group}' (invitations last 7 days).")
                    show() about(),
                /// `user` already has an invitation to `group` waiting.
                AlreadyInvited {
                    /// The group.
                    group: Name,
                    /// The user who already has an invitation.
                    user: Name,
                } => "already-invited" [group, user]
                    human("{user} already has an invitation to '{group}'.")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// `user` already has `max` invitations waiting, the most one user may.
                InvitationsFull {
                    /// The user whose invitations are full.
                    user: Name,
                    /// The most invitations one user may have waiting.
                    max: usize,
                } => "invitations-full" [user, max]
                    human("{user} already has {max} invitations waiting, the most one user may; try again once they have answered some.")
                    show() about(),
                /// The user named is not a member of the group.
                NotAMember {
                    /// The group.
                    group: Name,
                    /// The user who is not a member.
                    user: Name,
                } => "not-a-member" [group, user]
                    human("{user} is not a member of '{group}'.")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// A topic longer than `max` characters.
                TopicTooLong {
                    /// The most characters a topic may have.
                    max: usize,
                } => "topic-too-long" [max]
                    human("A group's topic may be at most {max} characters; it was not set.")
                    show() about(),
                /// `group join` of a group with a key, without it (or with another).
                WrongKey {
                    /// The group.
                    group: Name,
                } => "wrong-key" [group]
                    human("'{group}' needs its key to join, and that was not it: 'group join {group} <key>' (an invitation needs none).")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// `group join` of a group that bans the user (a mask matches their name).
                BannedFromGroup {
                    /// The group.
                    group: Name,
                } => "banned-from-group" [group]
                    human("You are banned from '{group}'; an operator of it may lift the ban.")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// `message group` to a group that will not take the sender's message: it is moderated
                /// and they have no voice, they are banned from it, or they are not a member of a group
                /// that takes members' messages only.
                CannotPost {
                    /// The group.
                    group: Name,
                } => "cannot-post" [group]
                    human("You may not post to '{group}' now: it is moderated (only operators and voiced members post), or you are banned from it; nothing was sent.")
                    show() about(Some(Conversation::Group(group.clone()))),
                /// A key that cannot be a group's: empty, longer than `max`, or with a comma.
                InvalidKey {
                    /// The most characters a key may have.
                    max: usize,
                } => "invalid-key" [max]
                    human("A group's key is 1 to {max} characters, without spaces or commas; nothing was changed.")
                    show() about(),
                /// A ban mask longer than `max` characters.
                InvalidMask {
                    /// The most characters a mask may have.
                    max: usize,
                } => "invalid-mask" [max]
                    human("A ban mask is 1 to {max} characters; nothing was changed.")
                    show() about(),
                /// A group holds at most `max` members.
                GroupFull {
                    /// The group.
                    group: Name,
                    /// The most members a group may have.
                    max: usize,
                } => "group-full" [group, max]
                    human("'{group}' already has {max} members, the most a group may have.")
                    show() about(Some(Conversation::Group(group.clone()))),
            }
        }
    };
}

pub(crate) use wire_tables;
