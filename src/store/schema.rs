//! The store's tables, its format version, and the checksum every row carries.
//!
//! The tables hold the *current* durable state, not a log: a mailbox row is deleted when it is
//! acknowledged, a lockout is overwritten by the next one. So the store stays as small as what it holds,
//! and start-up reads only that (see `load`).
//!
//! SQLite checks the structure of its pages but not their contents, so each row also carries a CRC-32 of
//! its fields, checked when the store is loaded: a flipped byte in a message is reported as damage
//! instead of being delivered.

use natter_core::protocol::keys::SignedKey;

/// `PRAGMA application_id` of a natter store ("NATT"), so another program's SQLite file is recognised.
pub(crate) const APPLICATION_ID: i64 = 0x4E41_5454;

/// `PRAGMA user_version` of the format this build writes. Raise it (and add a migration from the old
/// one, [`MIGRATIONS`]) whenever a table changes.
pub(crate) const FORMAT_VERSION: i64 = 8;

/// How a store of each older format becomes the next one: `(from, statements)`, applied in order, each
/// in the transaction that also raises `user_version`, so a crash leaves either format, never a mix.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        // Groups: members, and the group a stored message was sent to.
        "ALTER TABLE messages ADD COLUMN grp TEXT;
         CREATE TABLE group_members (
             grp TEXT NOT NULL,
             member TEXT NOT NULL,
             crc INTEGER NOT NULL,
             PRIMARY KEY (grp, member)
         ) STRICT, WITHOUT ROWID;
         CREATE INDEX group_members_by_member ON group_members (member);",
    ),
    (
        2,
        // One message to several users (a group message) has one id in each of their queues: a
        // message is its recipient and its id, no longer its id alone. The rows are copied as they
        // are (same columns, same checksums).
        "CREATE TABLE messages_by_recipient_and_id (
             id INTEGER NOT NULL,
             recipient TEXT NOT NULL,
             sender TEXT NOT NULL,
             sent_at INTEGER NOT NULL,
             text TEXT NOT NULL,
             crc INTEGER NOT NULL,
             grp TEXT,
             UNIQUE (recipient, id)
         ) STRICT;
         INSERT INTO messages_by_recipient_and_id (id, recipient, sender, sent_at, text, crc, grp)
             SELECT id, recipient, sender, sent_at, text, crc, grp FROM messages;
         DROP TABLE messages;
         ALTER TABLE messages_by_recipient_and_id RENAME TO messages;",
    ),
    (
        3,
        // The key directory of end-to-end encryption: new tables, nothing else changes.
        "CREATE TABLE identities (
             user TEXT PRIMARY KEY,
             curve25519 TEXT NOT NULL,
             ed25519 TEXT NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT;
         CREATE TABLE one_time_keys (
             seq INTEGER PRIMARY KEY,
             user TEXT NOT NULL,
             key_id TEXT NOT NULL,
             key TEXT NOT NULL,
             sig TEXT NOT NULL,
             crc INTEGER NOT NULL,
             UNIQUE (user, key_id)
         ) STRICT;
         CREATE TABLE fallback_keys (
             user TEXT PRIMARY KEY,
             key_id TEXT NOT NULL,
             key TEXT NOT NULL,
             sig TEXT NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT;",
    ),
    (
        4,
        // Bans by the server's operator: a new table, nothing else changes.
        "CREATE TABLE bans (
             kind TEXT NOT NULL,
             target TEXT NOT NULL,
             until INTEGER,
             reason TEXT NOT NULL,
             crc INTEGER NOT NULL,
             PRIMARY KEY (kind, target)
         ) STRICT, WITHOUT ROWID;",
    ),
    (
        5,
        // Groups with an owner: the order members joined in (the rows of older stores all 0, so
        // their members count as joined in name order), each group's owner and settings, its topic,
        // and invitations. A group of an older store has no settings row: it is loaded as owned by
        // its first member, with members adding directly as they always had.
        "ALTER TABLE group_members ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
         CREATE TABLE group_settings (
             grp TEXT PRIMARY KEY,
             owner TEXT NOT NULL,
             open INTEGER NOT NULL,
             add_direct INTEGER NOT NULL,
             topic_by_members INTEGER NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE group_topics (
             grp TEXT PRIMARY KEY,
             topic TEXT NOT NULL,
             set_by TEXT NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE group_invitations (
             grp TEXT NOT NULL,
             invitee TEXT NOT NULL,
             inviter TEXT NOT NULL,
             at INTEGER NOT NULL,
             crc INTEGER NOT NULL,
             PRIMARY KEY (grp, invitee)
         ) STRICT, WITHOUT ROWID;",
    ),
    (
        6,
        // Groups' rules (`group rules`: key, limit, moderation, operators, voices, bans). A group
        // of an older store has none.
        "CREATE TABLE group_rules (
             grp TEXT PRIMARY KEY,
             rules TEXT NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;",
    ),
    (
        7,
        // The users' times (last logout, open session, lockout) keyed by the name alone: one
        // B-tree per table, not a row table and an index of the names beside it, so setting a
        // user's time (a logout's, at every login a commit holds) is one search and one write in
        // place. The rows are copied as they are (same columns, same checksums).
        "CREATE TABLE logouts_by_user (
             user TEXT PRIMARY KEY,
             at INTEGER NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         INSERT INTO logouts_by_user (user, at, crc) SELECT user, at, crc FROM logouts;
         DROP TABLE logouts;
         ALTER TABLE logouts_by_user RENAME TO logouts;
         CREATE TABLE open_sessions_by_user (
             user TEXT PRIMARY KEY,
             since INTEGER NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         INSERT INTO open_sessions_by_user (user, since, crc)
             SELECT user, since, crc FROM open_sessions;
         DROP TABLE open_sessions;
         ALTER TABLE open_sessions_by_user RENAME TO open_sessions;
         CREATE TABLE lockouts_by_user (
             user TEXT PRIMARY KEY,
             until INTEGER NOT NULL,
             crc INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         INSERT INTO lockouts_by_user (user, until, crc) SELECT user, until, crc FROM lockouts;
         DROP TABLE lockouts;
         ALTER TABLE lockouts_by_user RENAME TO lockouts;",
    ),
];

/// The file inside the data directory.
pub const DB_FILE: &str = "natter.db";

/// Held (with `flock`) by the server using the directory; it also names that server's pid.
pub const LOCK_FILE: &str = "lock";

/// Creates the tables. Run once, in the same transaction that stamps the format version, so a crash
/// during creation leaves an empty file that the next start creates again.
pub(crate) const CREATE: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    crc INTEGER NOT NULL
) STRICT;
-- Accounts created with --register, in creation order (they are also appended to the credentials file).
CREATE TABLE accounts (
    seq INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    crc INTEGER NOT NULL
) STRICT;
-- When each user's last session ended (for whoelsesince).
CREATE TABLE logouts (
    user TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- Sessions that began and have not ended: after a crash they count as ended at the restart.
CREATE TABLE open_sessions (
    user TEXT PRIMARY KEY,
    since INTEGER NOT NULL,
    crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE lockouts (
    user TEXT PRIMARY KEY,
    until INTEGER NOT NULL,
    crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE blocks (
    by_user TEXT NOT NULL,
    blocked TEXT NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (by_user, blocked)
) STRICT, WITHOUT ROWID;
-- Stored messages until their recipient's client acknowledges them; `grp` is the group a group
-- message was sent to. A group message has one id for all its recipients: a row is its recipient and
-- its id.
CREATE TABLE messages (
    id INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    sender TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    text TEXT NOT NULL,
    crc INTEGER NOT NULL,
    grp TEXT,
    UNIQUE (recipient, id)
) STRICT;
-- Who is in which group (a group exists while it has a member).
-- `seq` is the order members joined in (not under the checksum: it only orders).
CREATE TABLE group_members (
    grp TEXT NOT NULL,
    member TEXT NOT NULL,
    crc INTEGER NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grp, member)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_members_by_member ON group_members (member);
-- Each group's owner and the owner's settings; its topic; standing invitations to it.
CREATE TABLE group_settings (
    grp TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    open INTEGER NOT NULL,
    add_direct INTEGER NOT NULL,
    topic_by_members INTEGER NOT NULL,
    crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE group_topics (
    grp TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    set_by TEXT NOT NULL,
    crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE group_invitations (
    grp TEXT NOT NULL,
    invitee TEXT NOT NULL,
    inviter TEXT NOT NULL,
    at INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (grp, invitee)
) STRICT, WITHOUT ROWID;
-- Each group's rules beyond the owner's settings (`group rules`), as JSON: key, limit, moderation,
-- external messages, operators, voiced members, ban masks.
CREATE TABLE group_rules (
    grp TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- The public keys each account's client published for end-to-end encryption: its identity, its
-- one-time keys (in publishing order: the oldest is handed out first, then deleted) and its fallback
-- key.
CREATE TABLE identities (
    user TEXT PRIMARY KEY,
    curve25519 TEXT NOT NULL,
    ed25519 TEXT NOT NULL,
    crc INTEGER NOT NULL
) STRICT;
CREATE TABLE one_time_keys (
    seq INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    sig TEXT NOT NULL,
    crc INTEGER NOT NULL,
    UNIQUE (user, key_id)
) STRICT;
CREATE TABLE fallback_keys (
    user TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    sig TEXT NOT NULL,
    crc INTEGER NOT NULL
) STRICT;
-- Accounts ('user') and addresses or networks ('address', in CIDR form) the operator banned, until
-- a time (NULL: for good).
CREATE TABLE bans (
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    until INTEGER,
    reason TEXT NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (kind, target)
) STRICT, WITHOUT ROWID;
";

/// The `meta` key of the next stored-message id: ids keep growing even when every message has been
/// acknowledged and deleted, so a client's "highest id shown" stays meaningful across restarts.
pub(crate) const NEXT_MESSAGE_ID: &str = "next_message_id";

/// One of the tables that map a user to one time: `(user, <column>, crc)`.
#[derive(Clone, Copy)]
pub(crate) struct UserTime {
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
    /// The statement that sets a user's time (`?1` the user, `?2` the time, `?3` the row's crc),
    /// written out so that a commit neither formats it nor hashes a new string for each row.
    pub(crate) upsert: &'static str,
}

/// The statement that sets a user's time in one of the [`UserTime`] tables. `INSERT OR REPLACE`
/// rather than an upsert (`ON CONFLICT DO UPDATE`): on a table keyed by the name alone (`WITHOUT
/// ROWID`) SQLite writes the new row over the old one in place after one search, where the upsert
/// runs a second, update program after its failed insert; a third fewer instructions per row
/// measured, and a logout writes one. The same rows result: a row is its user, its time and its
/// checksum, with no other column to keep and nothing (no trigger, no reference) that a delete
/// would set off.
macro_rules! user_time_upsert {
    ($table:literal, $column:literal) => {
        concat!(
            "INSERT OR REPLACE INTO ",
            $table,
            " (user, ",
            $column,
            ", crc) VALUES (?1, ?2, ?3)"
        )
    };
}

/// When each user's last session ended.
pub(crate) const LOGOUTS: UserTime = UserTime {
    table: "logouts",
    column: "at",
    upsert: user_time_upsert!("logouts", "at"),
};
/// When each still-open session began.
pub(crate) const OPEN_SESSIONS: UserTime = UserTime {
    table: "open_sessions",
    column: "since",
    upsert: user_time_upsert!("open_sessions", "since"),
};
/// Until when each locked account stays locked.
pub(crate) const LOCKOUTS: UserTime = UserTime {
    table: "lockouts",
    column: "until",
    upsert: user_time_upsert!("lockouts", "until"),
};

/// One field of a row, for [`row_crc`].
#[derive(Clone, Copy)]
pub(crate) enum Field<'a> {
    Text(&'a str),
    Int(u64),
}

/// The checksum of a group's settings row.
pub(crate) fn settings_crc(
    group: &str,
    owner: &str,
    open: bool,
    add_direct: bool,
    topic_by_members: bool,
) -> i64 {
    row_crc(&[
        Field::Text(group),
        Field::Text(owner),
        Field::Int(open.into()),
        Field::Int(add_direct.into()),
        Field::Int(topic_by_members.into()),
    ])
}

/// The checksum of an invitation's row.
pub(crate) fn invitation_crc(group: &str, invitee: &str, inviter: &str, at: u64) -> i64 {
    row_crc(&[
        Field::Text(group),
        Field::Text(invitee),
        Field::Text(inviter),
        Field::Int(at),
    ])
}

/// The checksum of a row: CRC-32 over its fields, each text prefixed by its length so that field
/// boundaries count.
pub(crate) fn row_crc(fields: &[Field<'_>]) -> i64 {
    let mut h = crc32fast::Hasher::new();
    for f in fields {
        match *f {
            Field::Text(s) => {
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            Field::Int(n) => h.update(&n.to_le_bytes()),
        }
    }
    i64::from(h.finalize())
}

/// The checksum of a one-time or fallback key's row.
pub(crate) fn key_crc(user: &str, k: &SignedKey) -> i64 {
    row_crc(&[
        Field::Text(user),
        Field::Text(&k.id),
        Field::Text(&k.key),
        Field::Text(&k.sig),
    ])
}

/// A stored message's checksum. A group message's group comes last, so a direct message's checksum is
/// what it was before groups existed and rows of an older store stay valid.
pub(crate) fn message_crc(
    id: u64,
    to: &str,
    from: &str,
    sent_at: u64,
    text: &str,
    group: Option<&str>,
) -> i64 {
    let mut fields = vec![
        Field::Int(id),
        Field::Text(to),
        Field::Text(from),
        Field::Int(sent_at),
        Field::Text(text),
    ];
    if let Some(g) = group {
        fields.push(Field::Text(g));
    }
    row_crc(&fields)
}

/// A ban row's checksum (the end, if any, after the target, then the reason).
pub(crate) fn ban_crc(kind: &str, target: &str, until: Option<u64>, reason: &str) -> i64 {
    let mut fields = vec![Field::Text(kind), Field::Text(target)];
    if let Some(until) = until {
        fields.push(Field::Int(until));
    }
    fields.push(Field::Text(reason));
    row_crc(&fields)
}
