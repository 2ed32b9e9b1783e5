//! Renaming an account in every table that names it. Each row's checksum covers the name, so a row is
//! read, its checksum made again with the new name, and written back (inside the batch's
//! transaction, like every other change).

use rusqlite::{Transaction, params};

use super::schema::{Field, ban_crc, invitation_crc, key_crc, message_crc, row_crc, settings_crc};
use natter_core::protocol::keys::SignedKey;

/// `from` is now called `to` everywhere: its registered account, its times, its blocks (either way),
/// the mail waiting for it and sent by it, its groups, its keys and its ban.
pub(crate) fn rename(tx: &Transaction<'_>, from: &str, to: &str) -> rusqlite::Result<()> {
    let text_pair = |a: &str, b: &str| row_crc(&[Field::Text(a), Field::Text(b)]);
    // (name, password)
    let rows: Vec<String> = column(tx, "SELECT password FROM accounts WHERE name = ?1", from)?;
    for password in rows {
        tx.execute(
            "UPDATE accounts SET name = ?2, crc = ?3 WHERE name = ?1",
            params![from, to, text_pair(to, &password)],
        )?;
    }
    // (user, time)
    for (table, col) in [
        ("logouts", "at"),
        ("open_sessions", "since"),
        ("lockouts", "until"),
    ] {
        let times: Vec<u64> = column(
            tx,
            &format!("SELECT {col} FROM {table} WHERE user = ?1"),
            from,
        )?;
        for at in times {
            let crc = row_crc(&[Field::Text(to), Field::Int(at)]);
            tx.execute(
                &format!("UPDATE {table} SET user = ?2, crc = ?3 WHERE user = ?1"),
                params![from, to, crc],
            )?;
        }
    }
    // Blocks, either way.
    let blocked: Vec<String> = column(tx, "SELECT blocked FROM blocks WHERE by_user = ?1", from)?;
    for b in blocked {
        let b2 = if b == from { to.to_owned() } else { b.clone() };
        tx.execute(
            "UPDATE blocks SET by_user = ?2, blocked = ?3, crc = ?4 WHERE by_user = ?1 AND blocked = ?5",
            params![from, to, b2, text_pair(to, &b2), b],
        )?;
    }
    let blockers: Vec<String> = column(tx, "SELECT by_user FROM blocks WHERE blocked = ?1", from)?;
    for by in blockers {
        tx.execute(
            "UPDATE blocks SET blocked = ?2, crc = ?3 WHERE by_user = ?4 AND blocked = ?1",
            params![from, to, text_pair(&by, to), by],
        )?;
    }
    // Messages to it and from it.
    let mut stmt = tx.prepare(
        "SELECT id, recipient, sender, sent_at, text, grp FROM messages
         WHERE recipient = ?1 OR sender = ?1",
    )?;
    type Msg = (u64, String, String, u64, String, Option<String>);
    let msgs: Vec<Msg> = stmt
        .query_map([from], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (id, recipient, sender, sent_at, text, grp) in msgs {
        let r2 = if recipient == from { to } else { &recipient };
        let s2 = if sender == from { to } else { &sender };
        let crc = message_crc(id, r2, s2, sent_at, &text, grp.as_deref());
        tx.execute(
            "UPDATE messages SET recipient = ?3, sender = ?4, crc = ?5 WHERE recipient = ?1 AND id = ?2",
            params![recipient, id, r2, s2, crc],
        )?;
    }
    // Groups.
    let groups: Vec<String> = column(tx, "SELECT grp FROM group_members WHERE member = ?1", from)?;
    for g in groups {
        tx.execute(
            "UPDATE group_members SET member = ?2, crc = ?3 WHERE grp = ?4 AND member = ?1",
            params![from, to, text_pair(&g, to), g],
        )?;
    }
    // Operators' and voiced members' lists.
    super::group_rules::rename_user(tx, from, Some(to))?;
    // Group ownership and invitations (a topic keeps the name of who set it, as it was).
    let owned: Vec<String> = column(tx, "SELECT grp FROM group_settings WHERE owner = ?1", from)?;
    for g in owned {
        let (open, add_direct, topic): (bool, bool, bool) = tx.query_row(
            "SELECT open, add_direct, topic_by_members FROM group_settings WHERE grp = ?1",
            [&g],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        tx.execute(
            "UPDATE group_settings SET owner = ?2, crc = ?3 WHERE grp = ?1",
            params![g, to, settings_crc(&g, to, open, add_direct, topic)],
        )?;
    }
    let mut stmt = tx.prepare(
        "SELECT grp, invitee, inviter, at FROM group_invitations WHERE invitee = ?1 OR inviter = ?1",
    )?;
    let invitations: Vec<(String, String, String, u64)> = stmt
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (g, invitee, inviter, at) in invitations {
        let rename = |n: String| if n == from { to.to_owned() } else { n };
        let (new_invitee, new_inviter) = (rename(invitee.clone()), rename(inviter));
        tx.execute(
            "UPDATE group_invitations SET invitee = ?3, inviter = ?4, crc = ?5
                 WHERE grp = ?1 AND invitee = ?2",
            params![
                g,
                invitee,
                new_invitee,
                new_inviter,
                invitation_crc(&g, &new_invitee, &new_inviter, at)
            ],
        )?;
    }
    // Keys.
    let mut stmt = tx.prepare("SELECT curve25519, ed25519 FROM identities WHERE user = ?1")?;
    let ids: Vec<(String, String)> = stmt
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (c, e) in ids {
        let crc = row_crc(&[Field::Text(to), Field::Text(&c), Field::Text(&e)]);
        tx.execute(
            "UPDATE identities SET user = ?2, crc = ?3 WHERE user = ?1",
            params![from, to, crc],
        )?;
    }
    for table in ["one_time_keys", "fallback_keys"] {
        let mut stmt = tx.prepare(&format!(
            "SELECT key_id, key, sig FROM {table} WHERE user = ?1"
        ))?;
        let keys: Vec<SignedKey> = stmt
            .query_map([from], |r| {
                Ok(SignedKey {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    sig: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        for k in keys {
            tx.execute(
                &format!("UPDATE {table} SET user = ?2, crc = ?3 WHERE user = ?1 AND key_id = ?4"),
                params![from, to, key_crc(to, &k), k.id],
            )?;
        }
    }
    // Its ban follows it.
    let mut stmt =
        tx.prepare("SELECT until, reason FROM bans WHERE kind = 'user' AND target = ?1")?;
    let bans: Vec<(Option<u64>, String)> = stmt
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (until, reason) in bans {
        let crc = ban_crc("user", to, until, &reason);
        tx.execute(
            "UPDATE bans SET target = ?2, crc = ?3 WHERE kind = 'user' AND target = ?1",
            params![from, to, crc],
        )?;
    }
    Ok(())
}

/// One column of the rows a query about `user` finds.
fn column<T: rusqlite::types::FromSql>(
    tx: &Transaction<'_>,
    sql: &str,
    user: &str,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = tx.prepare(sql)?;
    stmt.query_map([user], |r| r.get(0))?.collect()
}
