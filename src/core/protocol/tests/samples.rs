use crate::protocol::name::{GroupNameError, NameError, PasswordError};
use crate::protocol::*;
use crate::time::Timestamp;

pub(crate) fn samples() -> Vec<ServerMsg> {
    let n = |s: &str| Name::from(s);
    let token = Token(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
    let mut v = vec![
        ServerMsg::Prompt(Prompt::Username),
        ServerMsg::Prompt(Prompt::Password),
        ServerMsg::Prompt(Prompt::NewPassword { user: n("dave") }),
        ServerMsg::Welcome { user: n("alice") },
        ServerMsg::Registered { user: n("alice") },
        ServerMsg::Message {
            id: 5,
            sent_at: Timestamp(1_700_000_000_120),
            from: n("bob"),
            text: "  hi  there 🎉 ".into(),
        },
        ServerMsg::Message {
            id: 6,
            sent_at: Timestamp(1_700_000_000_121),
            from: n("bob"),
            text: "".into(),
        },
        ServerMsg::OfflineMessage {
            group: None,
            id: 7,
            sent_at: Timestamp(1_700_000_000_123),
            from: n("bob"),
            text: "x y".into(),
        },
        ServerMsg::OfflineMessage {
            group: Some(n("crew")),
            id: 8,
            sent_at: Timestamp(1_700_000_000_124),
            from: n("bob"),
            text: "x y".into(),
        },
        ServerMsg::GroupMessage {
            id: 9,
            sent_at: Timestamp(1_700_000_000_125),
            group: n("crew"),
            from: n("bob"),
            text: "standup".into(),
        },
        ServerMsg::Broadcast {
            from: n("bob"),
            text: "all".into(),
        },
        ServerMsg::Signal {
            id: 10,
            sent_at: Timestamp(1_700_000_000_126),
            from: n("bob"),
            tags: "typing=active".into(),
        },
        ServerMsg::GroupSignal {
            id: 11,
            sent_at: Timestamp(1_700_000_000_127),
            group: n("crew"),
            from: n("bob"),
            tags: r"draft/react=l😃l;buzz=fizz\:buzz".into(),
        },
        ServerMsg::Presence {
            user: n("bob"),
            online: true,
        },
        ServerMsg::Presence {
            user: n("bob"),
            online: false,
        },
        ServerMsg::WhoElse { users: vec![] },
        ServerMsg::WhoElse {
            users: vec![n("a"), n("b")],
        },
        ServerMsg::WhoElseSince {
            secs: 60,
            users: vec![],
        },
        ServerMsg::WhoElseSince {
            secs: 60,
            users: vec![n("c")],
        },
        ServerMsg::Stored {
            id: 3,
            to: n("bob"),
        },
        ServerMsg::BroadcastSent {
            delivered: 1,
            skipped: false,
        },
        ServerMsg::BroadcastSent {
            delivered: 0,
            skipped: true,
        },
        ServerMsg::BroadcastSent {
            delivered: 5,
            skipped: false,
        },
        ServerMsg::Blocked { user: n("bob") },
        ServerMsg::Unblocked { user: n("bob") },
        ServerMsg::Blocks { users: vec![] },
        ServerMsg::Blocks {
            users: vec![n("a"), n("b")],
        },
        ServerMsg::P2pPort { port: 4242 },
        ServerMsg::PrivateRequest {
            from: n("a"),
            secs: 60,
        },
        ServerMsg::PrivatePending {
            to: n("b"),
            secs: 60,
        },
        ServerMsg::PrivateAccepted {
            peer: n("b"),
            addr: "127.0.0.1:5000".parse().unwrap(),
            token,
        },
        ServerMsg::PrivateAccepted {
            peer: n("b"),
            addr: "[::1]:5000".parse().unwrap(),
            token,
        },
        ServerMsg::PrivateExpect {
            peer: n("a"),
            token,
        },
        ServerMsg::PrivateDeclined { peer: n("b") },
        ServerMsg::PrivateDeclineSent { peer: n("a") },
        ServerMsg::PrivateCancelled {
            peer: n("a"),
            reason: CancelReason::Timeout,
        },
        ServerMsg::PrivateCancelled {
            peer: n("a"),
            reason: CancelReason::Offline,
        },
        ServerMsg::PrivateEnded { peer: n("a") },
        ServerMsg::GroupCreated {
            group: n("crew"),
            members: vec![n("a"), n("b")],
        },
        ServerMsg::GroupSent {
            group: n("crew"),
            delivered: 2,
            stored: 1,
            skipped: false,
        },
        ServerMsg::GroupSent {
            group: n("crew"),
            delivered: 0,
            stored: 0,
            skipped: true,
        },
        ServerMsg::GroupListed {
            group: n("crew"),
            members: 3,
            topic: "release on Friday".into(),
        },
        ServerMsg::GroupsEnd,
        ServerMsg::GroupList { groups: vec![] },
        ServerMsg::GroupList {
            groups: vec![(n("crew"), vec![n("a"), n("b")]), (n("x"), vec![n("c")])],
        },
        ServerMsg::GroupMembers {
            group: n("crew"),
            members: vec![n("a")],
        },
        ServerMsg::GroupJoined {
            group: n("crew"),
            user: n("c"),
            by: n("a"),
        },
        ServerMsg::GroupLeft {
            group: n("crew"),
            user: n("c"),
            reason: String::new(),
        },
        ServerMsg::GroupLeft {
            group: n("crew"),
            user: n("c"),
            reason: "bye  everyone".into(),
        },
        ServerMsg::IdleWarning { secs_left: 60 },
        ServerMsg::Sent {
            id: 12,
            to: n("bob"),
        },
        ServerMsg::Delivered {
            id: 12,
            to: n("bob"),
        },
        ServerMsg::Ping {
            user: n("bob"),
            state: PingState::Online { idle_secs: 5 },
        },
        ServerMsg::Ping {
            user: n("bob"),
            state: PingState::Offline { stored: true },
        },
        ServerMsg::Ping {
            user: n("bob"),
            state: PingState::Offline { stored: false },
        },
        ServerMsg::OfflineList { count: 0 },
        ServerMsg::OfflineList { count: 1 },
        ServerMsg::OfflineList { count: 3 },
        ServerMsg::OfflineAgain {
            group: None,
            id: 7,
            sent_at: Timestamp(1_700_000_000_123),
            from: n("bob"),
            text: "x".into(),
        },
        ServerMsg::OfflineAgain {
            group: Some(n("crew")),
            id: 7,
            sent_at: Timestamp(1_700_000_000_123),
            from: n("bob"),
            text: "x".into(),
        },
        ServerMsg::Bye(ByeReason::Logout),
        ServerMsg::Bye(ByeReason::Timeout { secs: 5 }),
        ServerMsg::Bye(ByeReason::LoginTimeout { secs: 5 }),
        ServerMsg::Bye(ByeReason::Locked),
        ServerMsg::Bye(ByeReason::Shutdown),
        ServerMsg::Bye(ByeReason::Full),
        ServerMsg::Bye(ByeReason::Flood { cooldown_secs: 60 }),
        ServerMsg::Bye(ByeReason::Flood { cooldown_secs: 0 }),
        ServerMsg::Bye(ByeReason::TooManyConnections { max: 16 }),
        ServerMsg::Bye(ByeReason::TlsRequired),
        ServerMsg::Bye(ByeReason::PlainTextOnly),
        ServerMsg::Bye(ByeReason::Unavailable),
    ];
    for c in CommandName::all() {
        v.push(ServerMsg::Help { command: c });
        v.push(ServerMsg::Error(ErrorReply::Usage { command: c }));
        v.push(ServerMsg::Error(ErrorReply::BadNumber { command: c }));
        v.push(ServerMsg::Error(ErrorReply::NotYourself { command: c }));
    }
    let errors = vec![
        ErrorReply::UnknownUser,
        ErrorReply::BadSignal,
        ErrorReply::WrongPassword { attempts_left: 2 },
        ErrorReply::WrongPassword { attempts_left: 1 },
        ErrorReply::Locked { secs_left: 9 },
        ErrorReply::LockedNow { secs: 60 },
        ErrorReply::AlreadyOnline,
        ErrorReply::InvalidUsername(NameError::BadChar),
        ErrorReply::InvalidUsername(NameError::Empty),
        ErrorReply::InvalidUsername(NameError::TooLong),
        ErrorReply::InvalidUsername(NameError::Reserved),
        ErrorReply::InvalidPassword(PasswordError::TooLong),
        ErrorReply::InvalidPassword(PasswordError::Empty),
        ErrorReply::InvalidPassword(PasswordError::BadChar),
        ErrorReply::NameTaken,
        ErrorReply::GuestsOff,
        ErrorReply::NameIsAccount,
        ErrorReply::NeedsAccount,
        ErrorReply::NickIsAccount,
        ErrorReply::NameTooSimilar { existing: n("Bob") },
        ErrorReply::LoginThrottled { secs_left: 30 },
        ErrorReply::RegisterThrottled { secs_left: 600 },
        ErrorReply::TooManyLogins {
            address: false,
            secs_left: 10,
        },
        ErrorReply::TooManyLogins {
            address: true,
            secs_left: 1,
        },
        ErrorReply::FloodCooldown {
            address: false,
            secs_left: 60,
        },
        ErrorReply::FloodCooldown {
            address: true,
            secs_left: 59,
        },
        ErrorReply::Busy,
        ErrorReply::PasswordJobFailed,
        ErrorReply::LineTooLong { max: 8192 },
        ErrorReply::InvalidUtf8,
        ErrorReply::ControlChar,
        ErrorReply::EmptyLine,
        ErrorReply::UnknownCommand,
        ErrorReply::NoSuchUser { user: "x!y".into() },
        ErrorReply::BlockedBy { user: n("a") },
        ErrorReply::AlreadyBlocked { user: n("a") },
        ErrorReply::NotBlocked { user: n("a") },
        ErrorReply::Offline { user: n("a") },
        ErrorReply::NoP2p { user: n("a") },
        ErrorReply::PrivateExists { user: n("a") },
        ErrorReply::PrivatePending { user: n("a") },
        ErrorReply::NoRequest { user: n("a") },
        ErrorReply::YouBlocked { user: n("a") },
        ErrorReply::NoSession { user: n("a") },
        ErrorReply::MailboxFull { user: n("a") },
        ErrorReply::MailboxShare {
            user: n("a"),
            max: 250,
        },
        ErrorReply::RecipientBusy { user: n("a") },
        ErrorReply::SlowDown { per_sec: 20 },
        ErrorReply::BadAck { id: 4 },
        ErrorReply::StaleKey { user: n("a") },
        ErrorReply::InvalidGroupName(GroupNameError::Empty),
        ErrorReply::InvalidGroupName(GroupNameError::TooLong),
        ErrorReply::InvalidGroupName(GroupNameError::BadChar),
        ErrorReply::GroupExists { group: n("crew") },
        ErrorReply::NoSuchGroup {
            group: "nope".into(),
        },
        ErrorReply::NotMember { group: n("crew") },
        ErrorReply::AlreadyMember {
            group: n("crew"),
            user: n("a"),
        },
        ErrorReply::GroupFull {
            group: n("crew"),
            max: 100,
        },
        ErrorReply::WrongKey { group: n("crew") },
        ErrorReply::BannedFromGroup { group: n("crew") },
        ErrorReply::CannotPost { group: n("crew") },
        ErrorReply::InvalidKey { max: 23 },
        ErrorReply::InvalidMask { max: 100 },
    ];
    for e in errors {
        v.push(ServerMsg::Error(e));
    }
    let (curve, ed) = ("C".repeat(43), "E".repeat(43));
    v.extend([
        ServerMsg::Keys {
            user: n("bob"),
            curve25519: curve.clone(),
            ed25519: ed.clone(),
            key: Some(Box::new(SignedKey {
                id: "AAAAAAAAAAE".into(),
                key: "K".repeat(43),
                sig: "S".repeat(86),
            })),
        },
        ServerMsg::Keys {
            user: n("bob"),
            curve25519: curve,
            ed25519: ed,
            key: None,
        },
        ServerMsg::NoKeys { user: n("bob") },
        ServerMsg::KeysLeft { count: 0 },
        ServerMsg::KeysLeft { count: 1 },
        ServerMsg::KeysLeft { count: 100 },
    ]);
    for e in [
        ErrorReply::BadKey(KeyError::Form),
        ErrorReply::BadKey(KeyError::KeyId),
        ErrorReply::BadKey(KeyError::Curve25519),
        ErrorReply::BadKey(KeyError::Ed25519),
        ErrorReply::BadKey(KeyError::Signature),
        ErrorReply::KeysPerLine { max: 20 },
        ErrorReply::KeysFull { held: 95, max: 100 },
        ErrorReply::NoIdentity,
    ] {
        v.push(ServerMsg::Error(e));
    }
    // The operator's administration, and `passwd`.
    v.extend([
        ServerMsg::Notice {
            text: "back in ten minutes".into(),
        },
        ServerMsg::PasswordChanged { user: n("alice") },
        ServerMsg::Prompt(Prompt::CurrentPassword),
        ServerMsg::Prompt(Prompt::ChosenPassword),
        ServerMsg::Bye(ByeReason::Kicked),
        ServerMsg::Bye(ByeReason::Banned),
        ServerMsg::Bye(ByeReason::Removed),
        ServerMsg::Error(ErrorReply::Banned { secs_left: 0 }),
        ServerMsg::Error(ErrorReply::Banned { secs_left: 3600 }),
        ServerMsg::Error(ErrorReply::WrongCurrentPassword),
        ServerMsg::Error(ErrorReply::WeakPassword { min: 8 }),
    ]);
    // Groups with an owner, invitations, topics; away and whois.
    v.extend([
        ServerMsg::GroupJoined {
            group: n("crew"),
            user: n("c"),
            by: n("c"),
        },
        ServerMsg::GroupInvited {
            group: n("crew"),
            user: n("dave"),
        },
        ServerMsg::GroupInvitation {
            group: n("crew"),
            by: n("alice"),
            sent_at: Timestamp(1_700_000_000_126),
        },
        ServerMsg::GroupDeclined { group: n("crew") },
        ServerMsg::GroupRemoved {
            group: n("crew"),
            user: n("dave"),
            by: n("alice"),
            reason: "  off topic, twice ".into(),
        },
        ServerMsg::GroupRemoved {
            group: n("crew"),
            user: n("dave"),
            by: n("alice"),
            reason: "".into(),
        },
        ServerMsg::GroupOwner {
            group: n("crew"),
            owner: n("bob"),
        },
        ServerMsg::GroupTopic {
            group: n("crew"),
            by: n("alice"),
            topic: "release on Friday 🎉".into(),
        },
        ServerMsg::GroupNoTopic { group: n("crew") },
        ServerMsg::GroupMode {
            group: n("crew"),
            open: false,
            add_direct: false,
            topic_by_members: false,
        },
        ServerMsg::GroupMode {
            group: n("crew"),
            open: true,
            add_direct: true,
            topic_by_members: true,
        },
        ServerMsg::GroupRules {
            group: n("crew"),
            rules: vec![
                GroupChange::Open(true),
                GroupChange::Key(Some("beer".into())),
                GroupChange::Limit(Some(5)),
                GroupChange::Op(n("alice"), true),
                GroupChange::Voice(n("bob"), true),
                GroupChange::Ban("spam*!*@*".into(), true),
            ],
        },
        ServerMsg::GroupChanged {
            group: n("crew"),
            by: n("alice"),
            changes: vec![
                GroupChange::Moderated(true),
                GroupChange::Op(n("bob"), false),
                GroupChange::Limit(None),
            ],
        },
        ServerMsg::Away {
            reason: "at lunch".into(),
        },
        ServerMsg::Back,
        ServerMsg::PresenceAway {
            user: n("bob"),
            reason: "at lunch, back at 2".into(),
        },
        ServerMsg::PresenceBack { user: n("bob") },
        ServerMsg::RealName {
            user: n("zed"),
            text: "Zed Zimmer".into(),
        },
        ServerMsg::Operator {
            name: "root".into(),
        },
        ServerMsg::Wallops {
            from: n("alice"),
            text: "the disk is full".into(),
        },
        ServerMsg::Renamed {
            from: n("zed"),
            to: n("zoe"),
        },
        ServerMsg::RecipientAway {
            user: n("bob"),
            reason: "at lunch, back at 2".into(),
        },
        ServerMsg::Whois {
            user: n("bob"),
            online: true,
            idle_secs: 75,
            since: Some(Timestamp(1_700_000_000_127)),
            groups: vec![n("crew"), n("team")],
        },
        ServerMsg::Whois {
            user: n("carol"),
            online: false,
            idle_secs: 0,
            since: Some(Timestamp(1_700_000_000_128)),
            groups: vec![],
        },
        ServerMsg::Whois {
            user: n("dave"),
            online: false,
            idle_secs: 0,
            since: None,
            groups: vec![],
        },
        ServerMsg::WhoUser {
            user: n("bob"),
            online: true,
            away: false,
            account: true,
            owner: true,
            operator: true,
            bot: false,
            idle_secs: 75,
            since: Some(Timestamp(1_700_000_000_127)),
            username: "bobby".into(),
            realname: "Bob the Builder".into(),
        },
        ServerMsg::WhoUser {
            user: n("guest7"),
            online: true,
            away: true,
            account: false,
            owner: false,
            operator: false,
            bot: true,
            idle_secs: 0,
            since: Some(Timestamp(1_700_000_000_128)),
            username: "g".into(),
            realname: "".into(),
        },
        ServerMsg::WhoUser {
            user: n("carol"),
            online: false,
            away: false,
            account: true,
            owner: false,
            operator: false,
            bot: false,
            idle_secs: 0,
            since: None,
            username: "carol".into(),
            realname: "carol".into(),
        },
        ServerMsg::WhoEnd {
            mask: "#team".into(),
        },
        ServerMsg::WhoEnd { mask: "b*".into() },
        ServerMsg::WhowasUser {
            user: n("bob"),
            account: true,
            at: Timestamp(1_700_000_000_129),
            username: "bobby".into(),
            realname: "Bob the Builder".into(),
        },
        ServerMsg::WhowasEnd { user: "bob".into() },
        ServerMsg::Lusers {
            users: 3,
            unregistered: 1,
            peak: 7,
            groups: 2,
        },
    ]);
    for e in [
        ErrorReply::NotOwner { group: n("crew") },
        ErrorReply::InviteOnly { group: n("crew") },
        ErrorReply::NoInvitation {
            group: "nope".into(),
        },
        ErrorReply::AlreadyInvited {
            group: n("crew"),
            user: n("dave"),
        },
        ErrorReply::InvitationsFull {
            user: n("dave"),
            max: 20,
        },
        ErrorReply::NotAMember {
            group: n("crew"),
            user: n("dave"),
        },
        ErrorReply::TopicTooLong { max: 300 },
        ErrorReply::OperFailed,
        ErrorReply::NotOperator,
    ] {
        v.push(ServerMsg::Error(e));
    }
    v.push(ServerMsg::Prompt(Prompt::OperatorPassword));
    v
}
