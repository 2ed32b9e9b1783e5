//! Reading the store back at start, as the records that rebuild it.
//!
//! The tables are turned into the shortest list of [`Record`]s whose replay gives the same durable state
//! as replaying every record ever committed: accounts in creation order, the last logout and any open
//! session of each user, lockouts, blocks, groups, published keys, bans, then the mailboxes in id order. The core's
//! [`natter_core::server::ServerState::restore`] rebuilds itself from that, so the core needs no knowledge of
//! the store. Every row's checksum is checked on the way.

use std::path::Path;

use rusqlite::{Connection, Row};

use super::error::StoreError;
use super::schema::{
    Field, LOCKOUTS, LOGOUTS, OPEN_SESSIONS, UserTime, ban_crc, invitation_crc, key_crc,
    message_crc, row_crc, settings_crc,
};
use natter_core::protocol::Name;
use natter_core::protocol::keys::SignedKey;
use natter_core::server::{BanTarget, Record};
use natter_core::time::Timestamp;

/// The durable state, as records to replay, plus the next message id (which outlives the messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub records: Vec<Record>,
    pub next_message_id: u64,
}

impl Snapshot {
    /// The sessions the store still holds open (the server stopped while those users were online),
    /// closed at `at`. [`natter_core::server::ServerState::restore`] takes them as ended at the restart;
    /// committing these makes the store agree, so a later restart does not move their end again.
    pub fn end_open_sessions(&self, at: Timestamp) -> Vec<Record> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::LoggedIn { user, .. } => Some(Record::LoggedOut {
                    user: user.clone(),
                    at,
                }),
                _ => None,
            })
            .collect()
    }
}

pub(crate) fn load(conn: &Connection, path: &Path) -> Result<Vec<Record>, StoreError> {
    let mut out = Vec::new();
    let mut reader = Reader { conn, path };
    reader.rows(
        "SELECT name, password, crc FROM accounts ORDER BY seq",
        "accounts",
        |r| {
            let (user, password): (String, String) = (r.get(0)?, r.get(1)?);
            let crc = row_crc(&[Field::Text(&user), Field::Text(&password)]);
            Ok((
                crc == r.get::<_, i64>(2)?,
                Record::AccountCreated {
                    user: user.into(),
                    password,
                },
            ))
        },
        &mut out,
    )?;
    // Logouts before open sessions: a user with both logged out, then in again.
    reader.user_times(LOGOUTS, |user, at| Record::LoggedOut { user, at }, &mut out)?;
    reader.user_times(
        OPEN_SESSIONS,
        |user, at| Record::LoggedIn { user, at },
        &mut out,
    )?;
    reader.user_times(
        LOCKOUTS,
        |user, until| Record::LockedOut { user, until },
        &mut out,
    )?;
    reader.rows(
        "SELECT by_user, blocked, crc FROM blocks ORDER BY by_user, blocked",
        "blocks",
        |r| {
            let (by, user): (String, String) = (r.get(0)?, r.get(1)?);
            let ok = row_crc(&[Field::Text(&by), Field::Text(&user)]) == r.get::<_, i64>(2)?;
            Ok((
                ok,
                Record::Blocked {
                    by: by.into(),
                    user: user.into(),
                },
            ))
        },
        &mut out,
    )?;
    let mut memberships = Vec::new();
    reader.rows(
        "SELECT grp, member, crc FROM group_members ORDER BY grp, seq, member",
        "group_members",
        |r| {
            let (group, user): (String, String) = (r.get(0)?, r.get(1)?);
            let ok = row_crc(&[Field::Text(&group), Field::Text(&user)]) == r.get::<_, i64>(2)?;
            Ok((
                ok,
                Record::GroupJoined {
                    group: group.into(),
                    user: user.clone().into(),
                    by: user.into(),
                },
            ))
        },
        &mut memberships,
    )?;
    let groups = groups_of(memberships);
    let mut settings = Vec::new();
    reader.rows(
        "SELECT grp, owner, open, add_direct, topic_by_members, crc FROM group_settings ORDER BY grp",
        "group_settings",
        |r| {
            let (group, owner): (String, String) = (r.get(0)?, r.get(1)?);
            let (open, add_direct, topic_by_members): (bool, bool, bool) =
                (r.get(2)?, r.get(3)?, r.get(4)?);
            let ok = settings_crc(&group, &owner, open, add_direct, topic_by_members)
                == r.get::<_, i64>(5)?;
            Ok((
                ok,
                Record::GroupModeSet {
                    group: group.into(),
                    open,
                    add_direct,
                    topic_by_members,
                },
            ))
        },
        &mut settings,
    )?;
    let mut owners = Vec::new();
    reader.rows(
        "SELECT grp, owner FROM group_settings ORDER BY grp",
        "group_settings",
        |r| {
            let (group, owner): (String, String) = (r.get(0)?, r.get(1)?);
            Ok((
                true,
                Record::GroupOwnerSet {
                    group: group.into(),
                    owner: owner.into(),
                },
            ))
        },
        &mut owners,
    )?;
    // A group of an older store, without settings: members add directly, as they always had.
    let legacy: Vec<Record> = groups
        .iter()
        .filter_map(|r| match r {
            Record::GroupCreated { group, .. }
                if !settings
                    .iter()
                    .any(|s| matches!(s, Record::GroupModeSet { group: g, .. } if g == group)) =>
            {
                Some(Record::GroupModeSet {
                    group: group.clone(),
                    open: false,
                    add_direct: true,
                    topic_by_members: false,
                })
            }
            _ => None,
        })
        .collect();
    out.extend(groups);
    out.extend(owners);
    out.extend(settings);
    out.extend(legacy);
    reader.rows(
        "SELECT grp, topic, set_by, crc FROM group_topics ORDER BY grp",
        "group_topics",
        |r| {
            let (group, topic, by): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let ok = row_crc(&[Field::Text(&group), Field::Text(&topic), Field::Text(&by)])
                == r.get::<_, i64>(3)?;
            Ok((
                ok,
                Record::GroupTopicSet {
                    group: group.into(),
                    topic,
                    by: by.into(),
                },
            ))
        },
        &mut out,
    )?;
    reader.rows(
        "SELECT grp, invitee, inviter, at, crc FROM group_invitations ORDER BY grp, invitee",
        "group_invitations",
        |r| {
            let (group, user, by): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let at: u64 = r.get(3)?;
            let ok = invitation_crc(&group, &user, &by, at) == r.get::<_, i64>(4)?;
            Ok((
                ok,
                Record::Invited {
                    group: group.into(),
                    user: user.into(),
                    by: by.into(),
                    at: Timestamp(at),
                },
            ))
        },
        &mut out,
    )?;
    reader.rows(
        "SELECT grp, rules, crc FROM group_rules ORDER BY grp",
        "group_rules",
        |r| {
            let (group, json): (String, String) = (r.get(0)?, r.get(1)?);
            let rules = super::group_rules::from_json(&json);
            let ok = rules.is_some()
                && super::group_rules::rules_crc(&group, &json) == r.get::<_, i64>(2)?;
            Ok((
                ok,
                Record::GroupRulesSet {
                    group: group.into(),
                    rules: Box::new(rules.unwrap_or_default()),
                },
            ))
        },
        &mut out,
    )?;
    reader.rows(
        "SELECT user, curve25519, ed25519, crc FROM identities ORDER BY user",
        "identities",
        |r| {
            let (user, curve25519, ed25519): (String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?);
            let ok = row_crc(&[
                Field::Text(&user),
                Field::Text(&curve25519),
                Field::Text(&ed25519),
            ]) == r.get::<_, i64>(3)?;
            Ok((
                ok,
                Record::IdentityPublished {
                    user: user.into(),
                    curve25519,
                    ed25519,
                },
            ))
        },
        &mut out,
    )?;
    let mut one_time = Vec::new();
    reader.rows(
        "SELECT user, key_id, key, sig, crc FROM one_time_keys ORDER BY user, seq",
        "one_time_keys",
        |r| {
            let (user, key) = signed_key(r)?;
            let ok = key_crc(&user, &key) == r.get::<_, i64>(4)?;
            Ok((
                ok,
                Record::OneTimeKeysAdded {
                    user: user.into(),
                    keys: vec![key],
                },
            ))
        },
        &mut one_time,
    )?;
    out.extend(keys_by_user(one_time));
    reader.rows(
        "SELECT user, key_id, key, sig, crc FROM fallback_keys ORDER BY user",
        "fallback_keys",
        |r| {
            let (user, key) = signed_key(r)?;
            let ok = key_crc(&user, &key) == r.get::<_, i64>(4)?;
            Ok((
                ok,
                Record::FallbackKeySet {
                    user: user.into(),
                    key,
                },
            ))
        },
        &mut out,
    )?;
    reader.rows(
        "SELECT kind, target, until, reason, crc FROM bans ORDER BY kind, target",
        "bans",
        |r| {
            let (kind, text): (String, String) = (r.get(0)?, r.get(1)?);
            let until: Option<u64> = r.get(2)?;
            let reason: String = r.get(3)?;
            let ok = ban_crc(&kind, &text, until, &reason) == r.get::<_, i64>(4)?;
            let target = match kind.as_str() {
                "user" => Some(BanTarget::User(text)),
                "address" => text.parse().ok().map(BanTarget::Address),
                _ => None,
            };
            // A kind or a network that does not read back is damage, like a checksum that fails.
            let ok = ok && target.is_some();
            Ok((
                ok,
                Record::Banned {
                    target: target.unwrap_or(BanTarget::User(String::new())),
                    until: until.map(Timestamp),
                    reason,
                },
            ))
        },
        &mut out,
    )?;
    reader.rows(
        "SELECT id, recipient, sender, sent_at, text, crc, grp FROM messages ORDER BY id, recipient",
        "messages",
        |r| {
            let id: u64 = r.get(0)?;
            let (to, from): (String, String) = (r.get(1)?, r.get(2)?);
            let sent_at: u64 = r.get(3)?;
            let text: String = r.get(4)?;
            let group: Option<String> = r.get(6)?;
            let ok = message_crc(id, &to, &from, sent_at, &text, group.as_deref())
                == r.get::<_, i64>(5)?;
            Ok((
                ok,
                Record::MessageStored {
                    id,
                    to: to.into(),
                    from: from.into(),
                    group: group.map(Name::from),
                    sent_at: Timestamp(sent_at),
                    text,
                },
            ))
        },
        &mut out,
    )?;
    Ok(out)
}

/// One `GroupCreated` per group, from its membership rows (in group order). The store does not keep
/// who created a group, which nothing needs after the fact: the first member stands in.
fn groups_of(memberships: Vec<Record>) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for r in memberships {
        let Record::GroupJoined { group, user, .. } = r else {
            continue;
        };
        match out.last_mut() {
            Some(Record::GroupCreated {
                group: g, members, ..
            }) if *g == group => members.push(user),
            _ => out.push(Record::GroupCreated {
                group,
                by: user.clone(),
                members: vec![user],
            }),
        }
    }
    out
}

/// A key row's owner and key: `(user, key_id, key, sig, ...)`.
fn signed_key(r: &Row<'_>) -> rusqlite::Result<(String, SignedKey)> {
    Ok((
        r.get(0)?,
        SignedKey {
            id: r.get(1)?,
            key: r.get(2)?,
            sig: r.get(3)?,
        },
    ))
}

/// One `OneTimeKeysAdded` per user, from their keys' rows (in user order, then publishing order).
fn keys_by_user(rows: Vec<Record>) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for r in rows {
        let Record::OneTimeKeysAdded { user, keys } = r else {
            continue;
        };
        match out.last_mut() {
            Some(Record::OneTimeKeysAdded { user: u, keys: all }) if *u == user => all.extend(keys),
            _ => out.push(Record::OneTimeKeysAdded { user, keys }),
        }
    }
    out
}

struct Reader<'a> {
    conn: &'a Connection,
    path: &'a Path,
}

impl Reader<'_> {
    /// Reads one of the user-to-time tables, in user order.
    fn user_times(
        &mut self,
        t: UserTime,
        record: impl Fn(Name, Timestamp) -> Record,
        out: &mut Vec<Record>,
    ) -> Result<(), StoreError> {
        let UserTime { table, column, .. } = t;
        let sql = format!("SELECT user, {column}, crc FROM {table} ORDER BY user");
        self.rows(
            &sql,
            table,
            |r| {
                let (user, at): (String, u64) = (r.get(0)?, r.get(1)?);
                let ok = row_crc(&[Field::Text(&user), Field::Int(at)]) == r.get::<_, i64>(2)?;
                Ok((ok, record(user.into(), Timestamp(at))))
            },
            out,
        )
    }

    /// Reads every row of one query; `row` returns the record and whether its checksum matched. A value
    /// of the wrong type or out of range is damage too (the tables are STRICT, so only damage makes one).
    fn rows(
        &mut self,
        sql: &str,
        table: &str,
        mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<(bool, Record)>,
        out: &mut Vec<Record>,
    ) -> Result<(), StoreError> {
        let damaged = |detail: String| StoreError::Damaged {
            path: self.path.to_owned(),
            detail,
        };
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| StoreError::sqlite(self.path, e))?;
        let mut rows = stmt
            .query([])
            .map_err(|e| StoreError::sqlite(self.path, e))?;
        let mut n = 0usize;
        while let Some(r) = rows.next().map_err(|e| StoreError::sqlite(self.path, e))? {
            n += 1;
            match row(r) {
                Ok((true, record)) => out.push(record),
                Ok((false, record)) => {
                    return Err(damaged(format!(
                        "row {n} of table {table} fails its checksum ({})",
                        describe(&record)
                    )));
                }
                Err(
                    e @ (rusqlite::Error::FromSqlConversionFailure(..)
                    | rusqlite::Error::IntegralValueOutOfRange(..)
                    | rusqlite::Error::InvalidColumnType(..)),
                ) => {
                    return Err(damaged(format!("row {n} of table {table}: {e}")));
                }
                Err(e) => return Err(StoreError::sqlite(self.path, e)),
            }
        }
        Ok(())
    }
}

/// Which row was damaged, without repeating its (possibly garbled, possibly private) contents.
fn describe(record: &Record) -> String {
    match record {
        Record::AccountCreated { .. } => "a registered account".into(),
        Record::LoggedIn { .. } | Record::LoggedOut { .. } => "login history".into(),
        Record::LockedOut { .. } => "a lockout".into(),
        Record::MessageStored { id, .. } => format!("stored message {id}"),
        Record::Blocked { .. } | Record::Unblocked { .. } => "a block".into(),
        Record::MessagesDiscarded { .. } => "messages discarded by a block".into(),
        Record::MessagesAcked { .. } => "an acknowledgement".into(),
        Record::MessageIdsReserved { .. } => "the next message id".into(),
        Record::GroupCreated { .. } | Record::GroupJoined { .. } | Record::GroupLeft { .. } => {
            "a group membership".into()
        }
        Record::GroupOwnerSet { .. } | Record::GroupModeSet { .. } => {
            "a group's owner and settings".into()
        }
        Record::GroupTopicSet { .. } => "a group's topic".into(),
        Record::GroupRulesSet { .. } => "a group's rules".into(),
        Record::Invited { .. } | Record::InvitationEnded { .. } => "an invitation".into(),
        Record::IdentityPublished { .. } => "published identity keys".into(),
        Record::OneTimeKeysAdded { .. }
        | Record::FallbackKeySet { .. }
        | Record::OneTimeKeyClaimed { .. } => "a published key".into(),
        Record::Banned { .. } | Record::Unbanned { .. } => "a ban".into(),
        Record::AccountRemoved { .. }
        | Record::AccountRenamed { .. }
        | Record::PasswordSet { .. }
        | Record::Unlocked { .. } => "an account".into(),
    }
}
