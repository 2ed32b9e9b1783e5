//! What the server promises of messages (invariants 4, 9 and 11): stored messages are delivered at
//! the next login, first and in order; `STORED` means kept whatever dies, `DELIVERED` means the
//! recipient's client has it; no message is lost or shown twice by a client that recognises a
//! redelivery; and what a reply acknowledged survives a restart.

use super::{Checked, Invariants, Seen, Step, StepFacts, StoredFact, fail, name};
use crate::model::{MPhase, Model};
use natter_core::protocol::{Command, ErrorReply, Name, ServerMsg};
use natter_core::server::{ConnId, ServerState};
use natter_core::time::Timestamp;

impl Invariants {
    /// A client that reads again reads what waited for it, before anything new.
    pub(super) fn reads_again(&mut self, facts: &StepFacts) -> Checked {
        let reading: Vec<ConnId> = self
            .unread
            .keys()
            .copied()
            .filter(|c| !facts.stalled.contains(c))
            .collect();
        for c in reading {
            for (user, id, sent_at) in self.unread.remove(&c).unwrap_or_default() {
                self.show(&user, id, sent_at)?;
            }
        }
        Ok(())
    }

    /// The command's effect on what the session acknowledges comes before its lines: the first
    /// command other than `acks` says the client does not acknowledge; an `ack` that is not refused
    /// covers what was written up to its id.
    pub(super) fn acknowledging(
        &mut self,
        facts: &StepFacts,
        cmd: &Option<Command<'_>>,
        seen: &[(Timestamp, Seen)],
    ) -> Checked {
        if let (Some(conn), Some(MPhase::Online { .. }), Some(cmd)) =
            (facts.conn, &facts.phase, cmd)
            && let Some(s) = self.sessions.get_mut(&conn)
        {
            match cmd {
                Command::Acks { on } => s.acks = Some(*on),
                _ if s.acks.is_none() => s.acks = Some(false),
                _ => {}
            }
            let refused = seen.iter().any(|(_, x)| {
                matches!(x, Seen::Msg(c, ServerMsg::Error(ErrorReply::BadAck { .. })) if *c == conn)
            });
            if let Command::Ack { id } = cmd
                && !refused
            {
                if *id > s.last_mail {
                    return fail(
                        name::DELIVERY_PROMISES,
                        format!(
                            "ack {id} accepted on {conn}, which was written only up to {}",
                            s.last_mail
                        ),
                    );
                }
                s.acked_through = s.acked_through.max(*id);
            }
        }
        Ok(())
    }

    /// A stored message at login: the next one owed, as the ledger holds it.
    pub(super) fn on_offline_message(
        &mut self,
        conn: ConnId,
        msg: &ServerMsg,
        facts: &StepFacts,
    ) -> Checked {
        let ServerMsg::OfflineMessage {
            id,
            sent_at,
            from,
            group,
            text,
        } = msg
        else {
            return Ok(());
        };
        let Some(s) = self.sessions.get_mut(&conn) else {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("{conn} got {msg:?} without a session"),
            );
        };
        let user = s.user.clone();
        if s.owed.pop_front() != Some(*id) {
            return fail(
                name::OFFLINE_DELIVERY,
                format!(
                    "{user} got stored message {id}, not the next one owed at this login ({:?})",
                    self.sessions[&conn].owed
                ),
            );
        }
        let want = self.stored.get(&(user.clone(), *id));
        if want.is_none_or(|f| {
            (&f.from, &f.group, &f.text, f.sent_at) != (from, group, text, *sent_at)
        }) {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("{user} got {msg:?}; the ledger holds {want:?}"),
            );
        }
        self.written(conn, *id, *sent_at, facts)?;
        Ok(())
    }

    /// `STORED <id> <to>`: a live message stored as its recipient's session ended, or a message to
    /// an offline user, kept (in the ledger) in send order.
    pub(super) fn on_stored(
        &mut self,
        id: u64,
        to: &Name,
        me: Option<&Name>,
        step: &Step<'_>,
        now: Timestamp,
    ) -> Checked {
        if self.ended_with(to, id) {
            // A live message stored when its recipient's session ended.
            if !self.stored.contains_key(&(to.clone(), id)) {
                return fail(
                    name::DELIVERY_PROMISES,
                    format!("STORED {id} {to} for a message that was not kept"),
                );
            }
        } else {
            self.stored_now(id, to, me, &step.cmd, now)?;
        }
        Ok(())
    }

    /// A live message line on `conn`: nothing stored may still be owed before it.
    pub(super) fn live_written(&self, conn: ConnId, msg: &ServerMsg) -> Checked {
        let Some(s) = self.sessions.get(&conn) else {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("{conn} got {msg:?} without a session"),
            );
        };
        if !s.owed.is_empty() {
            return fail(
                name::OFFLINE_DELIVERY,
                format!(
                    "{} got {msg:?} before the stored messages owed at login ({:?})",
                    s.user, s.owed
                ),
            );
        }
        Ok(())
    }

    /// Message `id` (sent at `sent_at`) was written on `conn`: in id order, once; then shown by the
    /// user's de-duplicating client when it reads it.
    pub(super) fn written(
        &mut self,
        conn: ConnId,
        id: u64,
        sent_at: Timestamp,
        facts: &StepFacts,
    ) -> Checked {
        let Some(s) = self.sessions.get_mut(&conn) else {
            return Ok(());
        };
        if id <= s.last_mail {
            return fail(
                name::DELIVERY_PROMISES,
                format!(
                    "{} got message {id} after {} on one connection: out of order, or twice",
                    s.user, s.last_mail
                ),
            );
        }
        s.last_mail = id;
        s.written.insert(id);
        let user = s.user.clone();
        if facts.stalled.contains(&conn) {
            self.unread
                .entry(conn)
                .or_default()
                .push((user, id, sent_at));
            return Ok(());
        }
        self.show(&user, id, sent_at)
    }

    /// `user`'s client reads message `id`: it shows it unless its id and send time say it was shown
    /// already, which must then be true.
    fn show(&mut self, user: &Name, id: u64, sent_at: Timestamp) -> Checked {
        let covered = self
            .client_seen
            .get(user)
            .is_some_and(|&(i, t)| id <= i && sent_at <= t);
        let before = self.shown.contains(&(user.clone(), id));
        if covered && !before {
            return fail(
                name::DELIVERY_PROMISES,
                format!(
                    "{user}'s client would take message {id} for one it has shown, and never show it: its id and send time are not past {:?}",
                    self.client_seen.get(user)
                ),
            );
        }
        if !covered {
            if before {
                return fail(
                    name::DELIVERY_PROMISES,
                    format!("{user}'s client shows message {id} twice"),
                );
            }
            self.shown.insert((user.clone(), id));
            self.client_seen.insert(user.clone(), (id, sent_at));
        }
        Ok(())
    }

    /// `DELIVERED <id> <to>`: `to`'s client has it: it was written to `to`'s connection and that client
    /// acknowledged it, or said it does not acknowledge.
    pub(super) fn on_delivered(&self, id: u64, to: &Name) -> Checked {
        let Some(s) = self.sessions.values().find(|s| &s.user == to) else {
            return fail(
                name::DELIVERY_PROMISES,
                format!("DELIVERED {id} {to}, who is not online"),
            );
        };
        if !s.written.contains(&id) {
            return fail(
                name::DELIVERY_PROMISES,
                format!("DELIVERED {id} {to}, never written to {to}'s connection"),
            );
        }
        if s.acks != Some(false) && s.acked_through < id {
            return fail(
                name::DELIVERY_PROMISES,
                format!(
                    "DELIVERED {id} {to} before {to}'s client acknowledged it (acknowledged up to {}, acks {:?})",
                    s.acked_through, s.acks
                ),
            );
        }
        Ok(())
    }

    /// `user`'s session on `conn` ended (not by a crash): every live message their client did not
    /// acknowledge is kept for the next login. Which ones were queued is not all on the wire (those not
    /// yet written, from senders without receipts), so they are read from the model; unless the step
    /// crashed before its commit, which loses them (their senders were told nothing durable).
    pub(super) fn session_ended(
        &mut self,
        conn: ConnId,
        user: &Name,
        facts: &StepFacts,
        model: &Model,
    ) {
        self.group_owed.retain(|(c, _)| *c != conn);
        if facts.crashed_mid_commit {
            return;
        }
        for m in model.user(user).stored() {
            let key = (user.clone(), m.id);
            if !self.stored.contains_key(&key) && !self.acked.contains_key(&key) {
                self.stored.insert(
                    key,
                    StoredFact {
                        to: user.clone(),
                        from: m.from.clone(),
                        group: m.group.clone(),
                        text: m.text.clone(),
                        sent_at: m.sent_at,
                    },
                );
            }
        }
    }

    /// Whether message `id` to `to` was just stored by the end of `to`'s session (its live messages
    /// joined the ledger then): `to` is not online any more, and the ledger holds it.
    fn ended_with(&self, to: &Name, id: u64) -> bool {
        !self.sessions.values().any(|s| &s.user == to)
            && self.stored.contains_key(&(to.clone(), id))
    }

    /// A message to an offline user, stored by the step's `message`.
    fn stored_now(
        &mut self,
        id: u64,
        to: &Name,
        me: Option<&Name>,
        cmd: &Option<Command<'_>>,
        now: Timestamp,
    ) -> Checked {
        let (Some(from), Some(Command::Message { text, .. })) = (me, cmd) else {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("STORED {id} for {to} without a message command"),
            );
        };
        if self.sessions.values().any(|s| &s.user == to) {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("message for {to} stored although {to} is online"),
            );
        }
        if let Some(last) = self.stored.keys().map(|(_, id)| *id).max()
            && id <= last
        {
            return fail(
                name::OFFLINE_DELIVERY,
                format!("stored id {id} is not after {last}: send order would be lost"),
            );
        }
        self.stored.insert(
            (to.clone(), id),
            StoredFact {
                to: to.clone(),
                from: from.clone(),
                group: None,
                text: (*text).to_owned(),
                sent_at: now,
            },
        );
        Ok(())
    }

    /// The server restarted: every session is gone. `model` is the restarted model.
    pub fn restarted(&mut self, model: &Model) {
        self.sessions.clear();
        self.opened.clear();
        self.fails.clear();
        self.unread.clear();
        self.group_owed.clear();
        // An ack is not promised to survive a crash: the messages whose ack was lost are owed again (the
        // model knows which; the wire does not say).
        for ((to, id), f) in std::mem::take(&mut self.acked) {
            if model.user(&to).stored().any(|m| m.id == id) {
                self.stored.insert((to, id), f);
            }
        }
    }

    /// After a restart: everything a reply acknowledged is in the restarted core's state.
    pub fn check_durable(&self, core: &ServerState, now: Timestamp) -> Checked {
        for ((_, id), f) in &self.stored {
            if !core.stored_messages(&f.to).iter().any(|m| m.id == *id) {
                return fail(
                    name::DURABILITY,
                    format!(
                        "message {id} from {} to {} was acknowledged as STORED and is gone after the restart",
                        f.from, f.to
                    ),
                );
            }
        }
        for ((by, user), blocked) in &self.blocks {
            if core.has_blocked(by, user) != *blocked {
                let what = if *blocked { "block" } else { "unblock" };
                return fail(
                    name::DURABILITY,
                    format!(
                        "{by}'s {what} of {user} was confirmed and is undone after the restart"
                    ),
                );
            }
        }
        for (user, until) in &self.locked_until {
            if *until > now && core.locked_until(user, now) != Some(*until) {
                return fail(
                    name::DURABILITY,
                    format!(
                        "{user} was told it is locked until {until}; after the restart: {:?}",
                        core.locked_until(user, now)
                    ),
                );
            }
        }
        if let Some(user) = self.registered.iter().find(|u| !core.has_user(u)) {
            return fail(
                name::DURABILITY,
                format!(
                    "{user}'s account was confirmed as REGISTERED and is gone after the restart"
                ),
            );
        }
        Ok(())
    }
}
