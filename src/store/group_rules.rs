//! Groups' rules (`group rules`: key, limit, moderation, external messages, operators, voices,
//! bans) in the `group_rules` table: one row per group that has any, the whole of them as JSON
//! (a [`GroupRulesRecord`]), with its checksum. The row goes with its group; a member who leaves,
//! is renamed or removed is taken out of (or renamed in) its lists, so the row stays what the core
//! holds.

use rusqlite::{OptionalExtension, Transaction, params};

use super::schema::{Field, row_crc};
use natter_core::server::GroupRulesRecord;

/// The rules as the row holds them.
fn to_json(rules: &GroupRulesRecord) -> String {
    serde_json::to_string(rules).expect("a group's rules are plain data that serde encodes")
}

/// The rules a row holds, if it reads (a row that does not is reported as damage by `load`).
pub(crate) fn from_json(json: &str) -> Option<GroupRulesRecord> {
    serde_json::from_str(json).ok()
}

/// The checksum of a `group_rules` row.
pub(crate) fn rules_crc(group: &str, json: &str) -> i64 {
    row_crc(&[Field::Text(group), Field::Text(json)])
}

/// Writes `group`'s rules, replacing any.
pub(crate) fn put(
    tx: &Transaction<'_>,
    group: &str,
    rules: &GroupRulesRecord,
) -> rusqlite::Result<()> {
    let json = to_json(rules);
    tx.prepare_cached(
        "INSERT INTO group_rules (grp, rules, crc) VALUES (?1, ?2, ?3)
         ON CONFLICT (grp) DO UPDATE SET rules = excluded.rules, crc = excluded.crc",
    )?
    .execute(params![group, json, rules_crc(group, &json)])?;
    Ok(())
}

/// `group`'s rules, if it has a row that reads.
fn get(tx: &Transaction<'_>, group: &str) -> rusqlite::Result<Option<GroupRulesRecord>> {
    let json: Option<String> = tx
        .prepare_cached("SELECT rules FROM group_rules WHERE grp = ?1")?
        .query_row([group], |r| r.get(0))
        .optional()?;
    Ok(json.as_deref().and_then(from_json))
}

/// `user` left `group`: no longer an operator or voiced there; a group gone takes its row.
pub(crate) fn member_left(tx: &Transaction<'_>, group: &str, user: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "DELETE FROM group_rules WHERE grp = ?1
             AND NOT EXISTS (SELECT 1 FROM group_members WHERE grp = ?1)",
    )?
    .execute([group])?;
    if let Some(mut rules) = get(tx, group)? {
        let before = (rules.operators.len(), rules.voiced.len());
        rules.operators.retain(|n| **n != *user);
        rules.voiced.retain(|n| **n != *user);
        if before != (rules.operators.len(), rules.voiced.len()) {
            put(tx, group, &rules)?;
        }
    }
    Ok(())
}

/// Every row that names `from` among its operators or voiced names `to` instead (`to: None`: the
/// account is removed, and leaves them).
pub(crate) fn rename_user(
    tx: &Transaction<'_>,
    from: &str,
    to: Option<&str>,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare("SELECT grp, rules FROM group_rules")?;
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (group, json) in rows {
        let Some(mut rules) = from_json(&json) else {
            continue;
        };
        let mut changed = false;
        for list in [&mut rules.operators, &mut rules.voiced] {
            let before = list.clone();
            *list = before
                .iter()
                .filter_map(|n| match (**n == *from, to) {
                    (false, _) => Some(n.clone()),
                    (true, Some(to)) => Some(to.into()),
                    (true, None) => None,
                })
                .collect();
            changed |= *list != before;
        }
        if changed {
            put(tx, &group, &rules)?;
        }
    }
    Ok(())
}
