//! Writing records: each one becomes the change it names in the current-state tables, and a whole batch
//! of them is one SQLite transaction (one log sync), which is what makes group commit cheap. What each
//! record stands for is read in one place for the store and the core alike
//! ([`Record::apply_to`](natter_core::server::Record::apply_to)); here is how each change is made in SQL.

use rusqlite::{CachedStatement, Statement, Transaction, params};

use super::schema::{
    Field, LOCKOUTS, LOGOUTS, NEXT_MESSAGE_ID, OPEN_SESSIONS, UserTime, ban_crc, invitation_crc,
    key_crc, message_crc, row_crc, settings_crc,
};
use natter_core::protocol::Name;
use natter_core::protocol::keys::SignedKey;
use natter_core::server::record::RecordTarget;
use natter_core::server::{BanTarget, GroupRulesRecord, Record};
use natter_core::time::Timestamp;

/// Applies a commit's records, in order, inside `tx`. `next_id` tracks the next message id the batch
/// leaves behind.
///
/// The records of login history are most of what a busy server commits (two per login), so they
/// cost least: their statements are prepared once per commit ([`Hot`]), a session that began and
/// ended within one commit writes only its logout time (see [`login_history`]), and those logout
/// times are written [`LOGOUT_ROWS`] to a statement.
pub(crate) fn apply_all(
    tx: &Transaction<'_>,
    records: &[Record],
    next_id: &mut u64,
) -> rusqlite::Result<()> {
    let how = login_history(records);
    let mut hot = Hot::default();
    let mut tables = Tables {
        tx,
        next_id,
        hot: &mut hot,
    };
    // Logout times set alone, not yet written. Each user is in it once at most (only a user's last
    // one in the commit is set alone), and it is written out before any record but a login is, so
    // the rows change in the records' order wherever the order could matter.
    let mut logouts: Vec<(&str, Timestamp)> = Vec::new();
    for (record, how) in records.iter().zip(how) {
        match (how, record) {
            (Write::Not, _) => {}
            // A login writes only its session's row in `open_sessions`, never a logout time: the
            // gathered ones may wait past it (with many logins in flight, sessions that span
            // commits would otherwise cut them into statements of a row or two).
            (_, Record::LoggedIn { .. }) => record.apply_to(&mut tables)?,
            (Write::LogoutTime, Record::LoggedOut { user, at }) => {
                logouts.push((user, *at));
                if logouts.len() == LOGOUT_ROWS {
                    tables.logout_times(&mut logouts)?;
                }
            }
            _ => {
                tables.logout_times(&mut logouts)?;
                record.apply_to(&mut tables)?
            }
        }
    }
    tables.logout_times(&mut logouts)
}

/// How many logout times one statement writes. A statement's own work (starting it, beginning its
/// program, ending and resetting it) was about a fifth of writing one row alone; a commit of a
/// busy server's login history has hundreds of them, so that work is shared by this many rows,
/// and what is left over (fewer than this) is written a row at a time.
const LOGOUT_ROWS: usize = 32;

/// The statement that sets [`LOGOUT_ROWS`] users' logout times: [`LOGOUTS`]'s upsert with that
/// many rows of values (`?1`, `?2`, `?3` the first row's user, time and checksum, and so on).
/// SQLite writes the rows of a multi-row `INSERT OR REPLACE` one after the other, each as the
/// one-row statement would, so the table ends the same.
fn logout_rows_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let UserTime { table, column, .. } = LOGOUTS;
        let rows: Vec<String> = (0..LOGOUT_ROWS)
            .map(|row| {
                let first = 3 * row + 1;
                format!("(?{first}, ?{}, ?{})", first + 1, first + 2)
            })
            .collect();
        format!(
            "INSERT OR REPLACE INTO {table} (user, {column}, crc) VALUES {}",
            rows.join(", ")
        )
    })
}

/// How a commit's record is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    /// As [`Record::apply_to`] says.
    Whole,
    /// Not at all: a later record of the same commit undoes it, or sets the same row again.
    Not,
    /// A `LoggedOut` whose session's row was never written: only its logout time is set.
    LogoutTime,
}

/// How each record of a commit is written: a `LoggedIn` whose `LoggedOut` follows with nothing but
/// other login history in between is not written (its row in `open_sessions` would be inserted and
/// deleted within the one transaction), and that `LoggedOut` then only sets the logout time, since
/// the user has no row there to delete: the server ends every open session in the store before it
/// serves anyone, and a user's sessions follow one another (a second login of an online user is
/// refused), so a row the user had from an earlier session was deleted by that session's
/// `LoggedOut`, which comes before. (Were a user's earlier `LoggedIn` of the same commit still
/// open, its row was written: the `LoggedOut` deletes it as before.) The tables end as the records
/// one by one would leave them. Any other record in between (a rename or removal, which moves or
/// deletes a user's rows) keeps them all whole, and once a commit has had one, every later
/// `LoggedOut` of it deletes as before, to stay obviously equal.
///
/// Of a user's logout times set alone, only the commit's last is written: the row keeps one time,
/// nothing in the commit reads it, and a user who comes and goes several times within a commit
/// (a client reconnecting, a script) would otherwise rewrite the same row each time. Only login
/// history comes before the last one, since no logout time is set alone after another record.
fn login_history(records: &[Record]) -> Vec<Write> {
    let mut how = vec![Write::Whole; records.len()];
    // Room ahead for a busy commit's logins and logouts (two records each), rather than growing,
    // and rehashing, from nothing at every commit.
    let room = records.len() / 2;
    let mut open: rustc_hash::FxHashMap<&str, usize> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(room, Default::default());
    // Users whose row in `open_sessions` this commit wrote and has not deleted.
    let mut written: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
    // Each user's latest logout time set alone, which a later one of the same user replaces.
    let mut latest: rustc_hash::FxHashMap<&str, usize> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(room, Default::default());
    // Whether a record other than login history came: rows may have moved.
    let mut moved = false;
    for (i, record) in records.iter().enumerate() {
        match record {
            Record::LoggedIn { user, .. } => {
                if open.insert(user, i).is_some() {
                    // The earlier one stays open, so it is written.
                    written.insert(user);
                }
            }
            Record::LoggedOut { user, .. } => {
                if let Some(began) = open.remove(&**user) {
                    how[began] = Write::Not;
                    if !moved && !written.contains(&**user) {
                        how[i] = Write::LogoutTime;
                        if let Some(earlier) = latest.insert(user, i) {
                            how[earlier] = Write::Not;
                        }
                    }
                }
                written.remove(&**user);
            }
            _ => {
                open.clear();
                moved = true;
            }
        }
    }
    how
}

/// The login history's statements, each prepared (taken from the connection's cache) on its first
/// use in a commit and kept until the commit ends, instead of being looked up and put back for each
/// row.
#[derive(Default)]
struct Hot<'s> {
    open_session: Option<CachedStatement<'s>>,
    close_session: Option<CachedStatement<'s>>,
    logout: Option<CachedStatement<'s>>,
    /// [`LOGOUT_ROWS`] logout times at once.
    logouts: Option<CachedStatement<'s>>,
}

/// The statement in `slot`, prepared from `sql` if this commit has not used it yet.
fn hot<'s, 'x>(
    tx: &'s Transaction<'_>,
    slot: &'x mut Option<CachedStatement<'s>>,
    sql: &str,
) -> rusqlite::Result<&'x mut CachedStatement<'s>> {
    match slot {
        Some(stmt) => Ok(stmt),
        None => Ok(slot.insert(tx.prepare_cached(sql)?)),
    }
}

/// The current-state tables, inside one transaction.
struct Tables<'a, 's, 'tx> {
    tx: &'s Transaction<'tx>,
    next_id: &'a mut u64,
    hot: &'a mut Hot<'s>,
}

impl Tables<'_, '_, '_> {
    /// Sets `user`'s last logout time (the half of ending a session that a session never written
    /// needs).
    fn logout_time(&mut self, user: &str, at: Timestamp) -> rusqlite::Result<()> {
        set_user_time(
            hot(self.tx, &mut self.hot.logout, LOGOUTS.upsert)?,
            user,
            at,
        )
    }

    /// Sets the logout times in `logouts` (each user's once), [`LOGOUT_ROWS`] to a statement and
    /// the rest one by one, and empties it.
    fn logout_times(&mut self, logouts: &mut Vec<(&str, Timestamp)>) -> rusqlite::Result<()> {
        let mut rows = logouts.chunks_exact(LOGOUT_ROWS);
        for chunk in rows.by_ref() {
            let stmt = hot(self.tx, &mut self.hot.logouts, logout_rows_sql())?;
            for (row, &(user, at)) in chunk.iter().enumerate() {
                let crc = row_crc(&[Field::Text(user), Field::Int(ms(at))]);
                let first = 3 * row + 1;
                stmt.raw_bind_parameter(first, user)?;
                stmt.raw_bind_parameter(first + 1, ms(at))?;
                stmt.raw_bind_parameter(first + 2, crc)?;
            }
            stmt.raw_execute()?;
        }
        for &(user, at) in rows.remainder() {
            self.logout_time(user, at)?;
        }
        logouts.clear();
        Ok(())
    }

    /// Runs one (cached) statement.
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<()> {
        self.tx.prepare_cached(sql)?.execute(params)?;
        Ok(())
    }
}

impl Tables<'_, '_, '_> {
    /// A group's owner and settings; for a group of an older store, which has no row, its first
    /// member and the settings groups had then (members add directly).
    fn settings(&self, group: &str) -> rusqlite::Result<(String, bool, bool, bool)> {
        use rusqlite::OptionalExtension;
        let row = self
            .tx
            .prepare_cached(
                "SELECT owner, open, add_direct, topic_by_members FROM group_settings WHERE grp = ?1",
            )?
            .query_row([group], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        if let Some(row) = row {
            return Ok(row);
        }
        let first: String = self
            .tx
            .prepare_cached(
                "SELECT member FROM group_members WHERE grp = ?1 ORDER BY seq, member LIMIT 1",
            )?
            .query_row([group], |r| r.get(0))
            .optional()?
            .unwrap_or_default();
        Ok((first, false, true, false))
    }

    fn put_settings(
        &self,
        group: &str,
        owner: &str,
        open: bool,
        add_direct: bool,
        topic_by_members: bool,
    ) -> rusqlite::Result<()> {
        let crc = settings_crc(group, owner, open, add_direct, topic_by_members);
        self.run(
            "INSERT INTO group_settings (grp, owner, open, add_direct, topic_by_members, crc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (grp) DO UPDATE SET owner = excluded.owner, open = excluded.open,
                 add_direct = excluded.add_direct, topic_by_members = excluded.topic_by_members,
                 crc = excluded.crc",
            params![group, owner, open, add_direct, topic_by_members, crc],
        )
    }
}

impl RecordTarget for Tables<'_, '_, '_> {
    type Error = rusqlite::Error;

    fn add_account(&mut self, user: &Name, password: &str) -> rusqlite::Result<()> {
        let crc = row_crc(&[Field::Text(user), Field::Text(password)]);
        self.run(
            "INSERT INTO accounts (name, password, crc) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
            params![&**user, password, crc],
        )
    }

    fn open_session(&mut self, user: &Name, at: Timestamp) -> rusqlite::Result<()> {
        let sql = OPEN_SESSIONS.upsert;
        set_user_time(hot(self.tx, &mut self.hot.open_session, sql)?, user, at)
    }

    fn close_session(&mut self, user: &Name, at: Timestamp) -> rusqlite::Result<()> {
        let sql = "DELETE FROM open_sessions WHERE user = ?1";
        hot(self.tx, &mut self.hot.close_session, sql)?.execute([&**user])?;
        self.logout_time(user, at)
    }

    fn lock(&mut self, user: &Name, until: Timestamp) -> rusqlite::Result<()> {
        upsert(self.tx, LOCKOUTS, user, until)
    }

    fn store_message(
        &mut self,
        id: u64,
        to: &Name,
        from: &Name,
        group: Option<&Name>,
        sent_at: Timestamp,
        text: &str,
    ) -> rusqlite::Result<()> {
        let group = group.map(|g| &**g);
        let crc = message_crc(id, to, from, ms(sent_at), text, group);
        self.run(
            "INSERT INTO messages (id, recipient, sender, sent_at, text, crc, grp)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, &**to, &**from, ms(sent_at), text, crc, group],
        )?;
        *self.next_id = (*self.next_id).max(id.saturating_add(1));
        Ok(())
    }

    fn acknowledge(&mut self, user: &Name, up_to: u64) -> rusqlite::Result<()> {
        self.run(
            "DELETE FROM messages WHERE recipient = ?1 AND id <= ?2",
            params![&**user, up_to],
        )
    }

    fn reserve_message_ids(&mut self, below: u64) -> rusqlite::Result<()> {
        *self.next_id = (*self.next_id).max(below);
        Ok(())
    }

    fn block(&mut self, by: &Name, user: &Name) -> rusqlite::Result<()> {
        let crc = row_crc(&[Field::Text(by), Field::Text(user)]);
        self.run(
            "INSERT INTO blocks (by_user, blocked, crc) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![&**by, &**user, crc],
        )
    }

    fn discard_messages(&mut self, to: &Name, from: &Name) -> rusqlite::Result<()> {
        self.run(
            "DELETE FROM messages WHERE recipient = ?1 AND sender = ?2",
            [&**to, &**from],
        )
    }

    fn unblock(&mut self, by: &Name, user: &Name) -> rusqlite::Result<()> {
        self.run(
            "DELETE FROM blocks WHERE by_user = ?1 AND blocked = ?2",
            [&**by, &**user],
        )
    }

    fn create_group(&mut self, group: &Name, members: &[Name]) -> rusqlite::Result<()> {
        for m in members {
            self.join_group(group, m)?;
        }
        // The first member owns a new group, which is invite-only and where members invite.
        if let Some(owner) = members.first() {
            self.put_settings(group, owner, false, false, false)?;
        }
        Ok(())
    }

    fn join_group(&mut self, group: &Name, user: &Name) -> rusqlite::Result<()> {
        let crc = row_crc(&[Field::Text(group), Field::Text(user)]);
        self.run(
            "INSERT INTO group_members (grp, member, crc, seq) VALUES (?1, ?2, ?3,
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM group_members WHERE grp = ?1))
             ON CONFLICT DO NOTHING",
            params![&**group, &**user, crc],
        )?;
        self.run(
            "DELETE FROM group_invitations WHERE grp = ?1 AND invitee = ?2",
            [&**group, &**user],
        )
    }

    fn leave_group(&mut self, group: &Name, user: &Name) -> rusqlite::Result<()> {
        self.run(
            "DELETE FROM group_members WHERE grp = ?1 AND member = ?2",
            [&**group, &**user],
        )?;
        // A group left empty is gone, with everything about it.
        for sql in [
            "DELETE FROM group_settings WHERE grp = ?1
                 AND NOT EXISTS (SELECT 1 FROM group_members WHERE grp = ?1)",
            "DELETE FROM group_topics WHERE grp = ?1
                 AND NOT EXISTS (SELECT 1 FROM group_members WHERE grp = ?1)",
            "DELETE FROM group_invitations WHERE grp = ?1
                 AND NOT EXISTS (SELECT 1 FROM group_members WHERE grp = ?1)",
        ] {
            self.run(sql, [&**group])?;
        }
        super::group_rules::member_left(self.tx, group, user)
    }

    fn set_group_owner(&mut self, group: &Name, owner: &Name) -> rusqlite::Result<()> {
        let (_, open, add_direct, topic) = self.settings(group)?;
        self.put_settings(group, owner, open, add_direct, topic)
    }

    fn set_group_mode(
        &mut self,
        group: &Name,
        open: bool,
        add_direct: bool,
        topic_by_members: bool,
    ) -> rusqlite::Result<()> {
        let (owner, ..) = self.settings(group)?;
        self.put_settings(group, &owner, open, add_direct, topic_by_members)
    }

    fn set_group_rules(&mut self, group: &Name, rules: &GroupRulesRecord) -> rusqlite::Result<()> {
        super::group_rules::put(self.tx, group, rules)
    }

    fn set_group_topic(&mut self, group: &Name, topic: &str, by: &Name) -> rusqlite::Result<()> {
        let crc = row_crc(&[Field::Text(group), Field::Text(topic), Field::Text(by)]);
        self.run(
            "INSERT INTO group_topics (grp, topic, set_by, crc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (grp) DO UPDATE SET topic = excluded.topic, set_by = excluded.set_by,
                 crc = excluded.crc",
            params![&**group, topic, &**by, crc],
        )
    }

    fn invite(
        &mut self,
        group: &Name,
        user: &Name,
        by: &Name,
        at: Timestamp,
    ) -> rusqlite::Result<()> {
        let crc = invitation_crc(group, user, by, ms(at));
        self.run(
            "INSERT INTO group_invitations (grp, invitee, inviter, at, crc) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (grp, invitee) DO UPDATE SET inviter = excluded.inviter, at = excluded.at,
                 crc = excluded.crc",
            params![&**group, &**user, &**by, ms(at), crc],
        )
    }

    fn end_invitation(&mut self, group: &Name, user: &Name) -> rusqlite::Result<()> {
        self.run(
            "DELETE FROM group_invitations WHERE grp = ?1 AND invitee = ?2",
            [&**group, &**user],
        )
    }

    fn set_identity(
        &mut self,
        user: &Name,
        curve25519: &str,
        ed25519: &str,
    ) -> rusqlite::Result<()> {
        let crc = row_crc(&[
            Field::Text(user),
            Field::Text(curve25519),
            Field::Text(ed25519),
        ]);
        self.run(
            "INSERT INTO identities (user, curve25519, ed25519, crc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user) DO UPDATE SET curve25519 = excluded.curve25519,
                 ed25519 = excluded.ed25519, crc = excluded.crc",
            params![&**user, curve25519, ed25519, crc],
        )
    }

    fn drop_keys(&mut self, user: &Name) -> rusqlite::Result<()> {
        self.run("DELETE FROM one_time_keys WHERE user = ?1", [&**user])?;
        self.run("DELETE FROM fallback_keys WHERE user = ?1", [&**user])
    }

    fn add_one_time_keys(&mut self, user: &Name, keys: &[SignedKey]) -> rusqlite::Result<()> {
        for k in keys {
            self.run(
                "INSERT INTO one_time_keys (user, key_id, key, sig, crc) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&**user, k.id, k.key, k.sig, key_crc(user, k)],
            )?;
        }
        Ok(())
    }

    fn set_fallback_key(&mut self, user: &Name, key: &SignedKey) -> rusqlite::Result<()> {
        self.run(
            "INSERT INTO fallback_keys (user, key_id, key, sig, crc) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (user) DO UPDATE SET key_id = excluded.key_id, key = excluded.key,
                 sig = excluded.sig, crc = excluded.crc",
            params![&**user, key.id, key.key, key.sig, key_crc(user, key)],
        )
    }

    fn remove_one_time_key(&mut self, user: &Name, key_id: &str) -> rusqlite::Result<()> {
        self.run(
            "DELETE FROM one_time_keys WHERE user = ?1 AND key_id = ?2",
            [&**user, key_id],
        )
    }

    fn remove_account(&mut self, user: &Name) -> rusqlite::Result<()> {
        for sql in [
            "DELETE FROM accounts WHERE name = ?1",
            "DELETE FROM logouts WHERE user = ?1",
            "DELETE FROM open_sessions WHERE user = ?1",
            "DELETE FROM lockouts WHERE user = ?1",
            "DELETE FROM blocks WHERE by_user = ?1 OR blocked = ?1",
            "DELETE FROM messages WHERE recipient = ?1",
            "DELETE FROM group_members WHERE member = ?1",
            "DELETE FROM group_invitations WHERE invitee = ?1 OR inviter = ?1",
            "DELETE FROM identities WHERE user = ?1",
            "DELETE FROM one_time_keys WHERE user = ?1",
            "DELETE FROM fallback_keys WHERE user = ?1",
        ] {
            self.run(sql, [&**user])?;
        }
        super::group_rules::rename_user(self.tx, user, None)
    }

    fn rename_account(&mut self, from: &Name, to: &Name) -> rusqlite::Result<()> {
        super::rename::rename(self.tx, from, to)
    }

    fn set_password(&mut self, user: &Name, password: &str) -> rusqlite::Result<()> {
        // Only a registered account's password is kept here; the credentials file keeps the rest.
        let crc = row_crc(&[Field::Text(user), Field::Text(password)]);
        self.run(
            "UPDATE accounts SET password = ?2, crc = ?3 WHERE name = ?1",
            params![&**user, password, crc],
        )
    }

    fn unlock(&mut self, user: &Name) -> rusqlite::Result<()> {
        self.run("DELETE FROM lockouts WHERE user = ?1", [&**user])
    }

    fn ban(
        &mut self,
        target: &BanTarget,
        until: Option<Timestamp>,
        reason: &str,
    ) -> rusqlite::Result<()> {
        let (kind, text) = ban_key(target);
        let until = until.map(ms);
        let crc = ban_crc(kind, &text, until, reason);
        self.run(
            "INSERT INTO bans (kind, target, until, reason, crc) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (kind, target) DO UPDATE SET until = excluded.until,
                 reason = excluded.reason, crc = excluded.crc",
            params![kind, text, until, reason, crc],
        )
    }

    fn unban(&mut self, target: &BanTarget) -> rusqlite::Result<()> {
        let (kind, text) = ban_key(target);
        self.run(
            "DELETE FROM bans WHERE kind = ?1 AND target = ?2",
            params![kind, text],
        )
    }
}

/// Sets `user`'s time in one of the user-to-time tables.
fn upsert(tx: &Transaction<'_>, t: UserTime, user: &str, at: Timestamp) -> rusqlite::Result<()> {
    let mut upsert = tx.prepare_cached(t.upsert)?;
    set_user_time(&mut upsert, user, at)
}

/// Runs a [`UserTime::upsert`] statement for `user` at `at`.
fn set_user_time(upsert: &mut Statement<'_>, user: &str, at: Timestamp) -> rusqlite::Result<()> {
    let crc = row_crc(&[Field::Text(user), Field::Int(ms(at))]);
    upsert.execute(params![user, ms(at), crc])?;
    Ok(())
}

/// A time as the store keeps it. SQLite integers are signed, so a time past `i64::MAX` ms (only an absurd
/// lockout length can make one) is kept as that: still hundreds of millions of years away, and it never
/// turns into a failed commit that would stop the server.
pub(crate) fn ms(t: Timestamp) -> u64 {
    t.as_millis().min(i64::MAX as u64)
}

/// Records the next message id a batch leaves behind.
pub(crate) fn set_next_message_id(tx: &Transaction<'_>, id: u64) -> rusqlite::Result<()> {
    let crc = row_crc(&[Field::Text(NEXT_MESSAGE_ID), Field::Int(id)]);
    tx.prepare_cached("UPDATE meta SET value = ?1, crc = ?2 WHERE key = ?3")?
        .execute(params![id, crc, NEXT_MESSAGE_ID])?;
    Ok(())
}

/// A ban's row key: its kind (`user` or `address`) and its target as text.
pub(crate) fn ban_key(target: &BanTarget) -> (&'static str, String) {
    match target {
        BanTarget::User(name) => ("user", name.clone()),
        BanTarget::Address(net) => ("address", net.to_string()),
    }
}
