//! One session per user, the lockout, and the idle timeout (invariants 1, 2 and 5), from the
//! `WELCOME`s, goodbyes, idle warnings and login errors the server sent.

use std::collections::BTreeMap;

use super::{Checked, Invariants, Seen, Session, Step, StepFacts, fail, name};
use crate::model::{MPhase, Model};
use natter_core::protocol::{ByeReason, Command, ErrorReply, Name, ServerMsg};
use natter_core::server::{ConnId, MAX_FAILURES};
use natter_core::time::Timestamp;

impl Invariants {
    /// The operator lifting a lockout starts its count of failures again.
    pub(super) fn operator_unlocked(&mut self, facts: &StepFacts) {
        if let Some(natter_core::server::Admin::Unlock { user }) = &facts.admin {
            self.fails.remove(user.as_str());
            self.locked_until.remove(user.as_str());
        }
    }

    /// The step's connection vanished (disconnected, or dropped for not reading) before anything
    /// else: its session ended, and what it had not read is lost with it.
    pub(super) fn vanished(&mut self, facts: &StepFacts, step: &mut Step<'_>, model: &Model) {
        if facts.vanished
            && let Some(conn) = facts.conn
        {
            if let Some(s) = self.sessions.remove(&conn) {
                step.online.remove(&conn);
                step.expect_presence(&s.user, false, model);
                self.session_ended(conn, &s.user, facts, model);
            }
            // What it had not read is lost with it.
            self.unread.remove(&conn);
            self.opened.remove(&conn);
        }
    }

    /// The server closed `conn`.
    pub(super) fn closed(&mut self, conn: ConnId, facts: &StepFacts, model: &Model) {
        if let Some(s) = self.sessions.remove(&conn) {
            self.session_ended(conn, &s.user, facts, model);
        }
        self.unread.remove(&conn);
        self.opened.remove(&conn);
    }

    /// `WELCOME`: not while the user is online elsewhere, nor while the account is locked; its
    /// stored messages are owed first, in order.
    pub(super) fn on_welcome(
        &mut self,
        conn: ConnId,
        user: &Name,
        now: Timestamp,
        step: &mut Step<'_>,
        model: &Model,
    ) -> Checked {
        step.welcomed = true;
        if let Some((other, _)) = self.sessions.iter().find(|(_, s)| &s.user == user) {
            return fail(
                name::SINGLE_SESSION,
                format!("{user} welcomed on {conn} while still online on {other}"),
            );
        }
        if let Some(until) = self.locked_until.get(user).filter(|u| **u > now) {
            return fail(
                name::LOCKOUT,
                format!("{user} welcomed at {now}, locked until {until}"),
            );
        }
        self.fails.remove(user);
        self.opened.remove(&conn);
        step.expect_presence(user, true, model);
        step.online.insert(conn, user.clone());
        // Stored messages come first, in order: exactly the unacknowledged ones (blocking a
        // sender discarded theirs, so none of those remain).
        let owed = self
            .stored
            .range((user.clone(), 0)..=(user.clone(), u64::MAX))
            .map(|((_, id), _)| *id)
            .collect();
        self.sessions
            .insert(conn, Session::new(user.clone(), now, owed));
        Ok(())
    }

    /// `IDLE-WARNING`: exactly the warning's lead before the deadline, to a live session.
    pub(super) fn on_idle_warning(&self, conn: ConnId, secs_left: u64, now: Timestamp) -> Checked {
        // Exactly the warning's lead before the deadline, to a live session.
        let warn = self.cfg.idle_warning_secs.min(self.cfg.timeout_secs / 2);
        let Some(s) = self.sessions.get(&conn) else {
            return fail(
                name::TIMEOUT,
                format!("{conn} was warned of an idle logout without a session"),
            );
        };
        let due = s.last_cmd.plus_secs(self.cfg.timeout_secs);
        if warn == 0 || now != due.minus_millis(warn * 1000) || secs_left != warn {
            return fail(
                name::TIMEOUT,
                format!(
                    "{} warned at {now} of {secs_left} s left; last command at {}, so due at {due}, warned {warn} s ahead",
                    s.user, s.last_cmd
                ),
            );
        }
        Ok(())
    }

    /// `BYE`: a session's end (an idle one exactly at its deadline, told to the others unless the
    /// server is shutting down), or a login that took too long, exactly at its deadline.
    pub(super) fn on_bye(
        &mut self,
        conn: ConnId,
        reason: &ByeReason,
        now: Timestamp,
        facts: &StepFacts,
        step: &mut Step<'_>,
        model: &Model,
    ) -> Checked {
        if let Some(s) = self.sessions.remove(&conn) {
            step.online.remove(&conn);
            self.session_ended(conn, &s.user, facts, model);
            if let ByeReason::Timeout { .. } = reason {
                let due = s.last_cmd.plus_secs(self.cfg.timeout_secs);
                if now != due {
                    return fail(
                        name::TIMEOUT,
                        format!(
                            "{} timed out at {now}; last command at {}, so due at {due}",
                            s.user, s.last_cmd
                        ),
                    );
                }
            }
            if !facts.shutdown {
                step.expect_presence(&s.user, false, model);
            }
        } else if let ByeReason::LoginTimeout { .. } = reason
            && let Some(opened) = self.opened.get(&conn)
        {
            let due = opened.plus_secs(self.cfg.login_timeout_secs);
            if now != due {
                return fail(
                    name::TIMEOUT,
                    format!("{conn} login timeout at {now}, opened {opened}, due {due}"),
                );
            }
        }
        Ok(())
    }

    /// A login error: the count of wrong passwords in a row, the lockout it leads to, and a locked
    /// account refused for exactly as long as it is locked.
    pub(super) fn on_error(
        &mut self,
        conn: ConnId,
        e: &ErrorReply,
        facts: &StepFacts,
        seen: &[(Timestamp, Seen)],
        now: Timestamp,
    ) -> Checked {
        let user = match (&facts.phase, facts.line.as_deref()) {
            (Some(MPhase::Password(u)), _) => Some(u.clone()),
            (Some(MPhase::Username), Some(line)) => {
                std::str::from_utf8(line).ok().map(|l| Name::from(l.trim()))
            }
            _ => None,
        };
        let closed = seen.iter().any(|(_, s)| *s == Seen::Closed(conn));
        match e {
            ErrorReply::WrongPassword { attempts_left } => {
                let user = user.expect("a password was being asked for");
                let fails = self.fails.entry(user.clone()).or_default();
                *fails += 1;
                if *fails >= MAX_FAILURES || *attempts_left != MAX_FAILURES - *fails {
                    return fail(
                        name::LOCKOUT,
                        format!(
                            "{user}: {} failures in a row, but told {attempts_left} attempts left",
                            *fails
                        ),
                    );
                }
            }
            ErrorReply::LockedNow { .. } => {
                let user = user.expect("a password was being asked for");
                let fails = self.fails.remove(&user).unwrap_or(0) + 1;
                if fails != MAX_FAILURES || !closed {
                    return fail(
                        name::LOCKOUT,
                        format!("{user} locked after {fails} failures (closed: {closed})"),
                    );
                }
                self.locked_until
                    .insert(user, now.plus_secs(self.cfg.block_duration_secs));
            }
            ErrorReply::Locked { secs_left } => {
                let user = user.expect("a login was under way");
                let until = self.locked_until.get(&user).copied();
                let want = until.map(|u| now.secs_until_ceil(u));
                if until.is_none_or(|u| u <= now) || want != Some(*secs_left) || !closed {
                    return fail(
                        name::LOCKOUT,
                        format!(
                            "{user} refused as locked ({secs_left}s left, closed: {closed}) but locked until {until:?} at {now}"
                        ),
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What the step leaves: a right password let in, the idle clock of a command, an ack that
    /// settles stored messages, a new connection's opening, and nobody idle past the timeout.
    pub(super) fn after_step(
        &mut self,
        facts: &StepFacts,
        step: &Step<'_>,
        seen: &[(Timestamp, Seen)],
        now: Timestamp,
    ) -> Checked {
        let (cmd, welcomed) = (&step.cmd, step.welcomed);
        // A right password for an account that is neither locked nor online must log in.
        if let (true, Some(MPhase::Password(user)), Some(conn)) =
            (facts.right_password, &facts.phase, facts.conn)
        {
            let locked = self.locked_until.get(user).is_some_and(|u| *u > now);
            let elsewhere = self.sessions.values().any(|s| &s.user == user);
            if !locked && !welcomed && !elsewhere && !facts.banned {
                return fail(
                    name::LOCKOUT,
                    format!(
                        "{user} typed the right password on {conn}, is not locked, and was not let in"
                    ),
                );
            }
        }
        if let (Some(conn), Some(MPhase::Online { user, .. }), Some(cmd)) =
            (facts.conn, &facts.phase, cmd)
        {
            if !matches!(
                cmd,
                Command::Ack { .. }
                    | Command::P2pPort { .. }
                    | Command::Receipts { .. }
                    | Command::Acks { .. }
                    | Command::KeysIdentity { .. }
                    | Command::KeysAdd { .. }
                    | Command::KeysFallback { .. }
            ) && let Some(s) = self.sessions.get_mut(&conn)
            {
                s.last_cmd = now;
            }
            if let Command::Ack { id } = cmd {
                let refused = seen.iter().any(|(_, s)| {
                    matches!(s, Seen::Msg(c, ServerMsg::Error(ErrorReply::BadAck { .. })) if *c == conn)
                });
                if !refused {
                    let (done, owed): (BTreeMap<_, _>, BTreeMap<_, _>) =
                        std::mem::take(&mut self.stored)
                            .into_iter()
                            .partition(|((to, k), _)| to == user && *k <= *id);
                    self.stored = owed;
                    self.acked.extend(done);
                }
            }
        }
        if let Some(conn) = facts.conn
            && facts.phase.is_none()
            && seen
                .iter()
                .any(|(_, s)| matches!(s, Seen::Msg(c, ServerMsg::Prompt(_)) if *c == conn))
        {
            self.opened.entry(conn).or_insert(now);
        }
        for (conn, s) in &self.sessions {
            let due = s.last_cmd.plus_secs(self.cfg.timeout_secs);
            if now >= due {
                return fail(
                    name::TIMEOUT,
                    format!(
                        "{} on {conn} idle since {} is still on at {now}",
                        s.user, s.last_cmd
                    ),
                );
            }
        }
        Ok(())
    }
}
