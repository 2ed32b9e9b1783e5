//! Writing records: each one becomes the change it names in the current-state tables, and a whole batch
//! of them is one SQLite transaction (one log sync), which is what makes group commit cheap.

use rusqlite::{Transaction, params};

use super::schema::{Field, LOCKOUTS, LOGOUTS, NEXT_MESSAGE_ID, OPEN_SESSIONS, UserTime, row_crc};
use crate::server::Record;
use crate::time::Timestamp;

/// Applies one record inside `tx`. `next_id` tracks the next message id the batch leaves behind.
pub(crate) fn apply(
    tx: &Transaction<'_>,
    record: &Record,
    next_id: &mut u64,
) -> rusqlite::Result<()> {
    match record {
        Record::AccountCreated { user, password } => {
            let crc = row_crc(&[Field::Text(user), Field::Text(password)]);
            tx.prepare_cached(
                "INSERT INTO accounts (name, password, crc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![&**user, password, crc])?;
        }
        Record::LoggedIn { user, at } => upsert(tx, OPEN_SESSIONS, user, *at)?,
        Record::LoggedOut { user, at } => {
            tx.prepare_cached("DELETE FROM open_sessions WHERE user = ?1")?
                .execute([&**user])?;
            upsert(tx, LOGOUTS, user, *at)?;
        }
        Record::LockedOut { user, until } => upsert(tx, LOCKOUTS, user, *until)?,
        Record::MessageStored {
            id,
            to,
            from,
            group,
            sent_at,
            text,
        } => {
            let group = group.as_deref();
            let crc = message_crc(*id, to, from, ms(*sent_at), text, group);
            tx.prepare_cached(
                "INSERT INTO messages (id, recipient, sender, sent_at, text, crc, grp)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![id, &**to, &**from, ms(*sent_at), text, crc, group])?;
            *next_id = (*next_id).max(id.saturating_add(1));
        }
        Record::MessagesAcked { user, up_to } => {
            tx.prepare_cached("DELETE FROM messages WHERE recipient = ?1 AND id <= ?2")?
                .execute(params![&**user, up_to])?;
        }
        Record::Blocked { by, user } => {
            let crc = row_crc(&[Field::Text(by), Field::Text(user)]);
            tx.prepare_cached(
                "INSERT INTO blocks (by_user, blocked, crc) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![&**by, &**user, crc])?;
            // As the core does: blocking discards what the blocked user stored for `by`.
            tx.prepare_cached("DELETE FROM messages WHERE recipient = ?1 AND sender = ?2")?
                .execute([&**by, &**user])?;
        }
        Record::Unblocked { by, user } => {
            tx.prepare_cached("DELETE FROM blocks WHERE by_user = ?1 AND blocked = ?2")?
                .execute([&**by, &**user])?;
        }
        Record::GroupCreated { group, members, .. } => {
            for m in members {
                add_member(tx, group, m)?;
            }
        }
        Record::GroupJoined { group, user, .. } => add_member(tx, group, user)?,
        Record::GroupLeft { group, user } => {
            tx.prepare_cached("DELETE FROM group_members WHERE grp = ?1 AND member = ?2")?
                .execute([&**group, &**user])?;
        }
    }
    Ok(())
}

fn add_member(tx: &Transaction<'_>, group: &str, member: &str) -> rusqlite::Result<()> {
    let crc = row_crc(&[Field::Text(group), Field::Text(member)]);
    tx.prepare_cached(
        "INSERT INTO group_members (grp, member, crc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?
    .execute(params![group, member, crc])?;
    Ok(())
}

/// Sets `user`'s time in one of the user-to-time tables.
fn upsert(tx: &Transaction<'_>, t: UserTime, user: &str, at: Timestamp) -> rusqlite::Result<()> {
    let crc = row_crc(&[Field::Text(user), Field::Int(ms(at))]);
    let UserTime { table, column } = t;
    tx.prepare_cached(&format!(
        "INSERT INTO {table} (user, {column}, crc) VALUES (?1, ?2, ?3)
         ON CONFLICT (user) DO UPDATE SET {column} = excluded.{column}, crc = excluded.crc"
    ))?
    .execute(params![user, ms(at), crc])?;
    Ok(())
}

/// A time as the store keeps it. SQLite integers are signed, so a time past `i64::MAX` ms (only an absurd
/// lockout length can make one) is kept as that: still hundreds of millions of years away, and it never
/// turns into a failed commit that would stop the server.
fn ms(t: Timestamp) -> u64 {
    t.as_millis().min(i64::MAX as u64)
}

/// Records the next message id a batch leaves behind.
pub(crate) fn set_next_message_id(tx: &Transaction<'_>, id: u64) -> rusqlite::Result<()> {
    let crc = row_crc(&[Field::Text(NEXT_MESSAGE_ID), Field::Int(id)]);
    tx.prepare_cached("UPDATE meta SET value = ?1, crc = ?2 WHERE key = ?3")?
        .execute(params![id, crc, NEXT_MESSAGE_ID])?;
    Ok(())
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
