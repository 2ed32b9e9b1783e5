//! A connection's life in the model: opened, its lines to the login or the commands, its deadlines
//! (the login timeout, the idle warning and logout) acted on at their instants, closed, and what a
//! session's end does (its live messages stored, its presence told, its private-chat requests
//! cancelled).

use std::net::SocketAddr;

use super::{MConn, MPasswd, MPhase, MQueued, Model, Out};
use natter_core::protocol::{
    ByeReason, CancelReason, ErrorReply, LineError, Name, Prompt, ServerMsg, check_line,
};
use natter_core::server::ConnId;
use natter_core::time::Timestamp;

impl Model {
    pub fn connect(&mut self, conn: ConnId, peer: SocketAddr, out: &mut Out) {
        self.conns.insert(
            conn,
            MConn {
                peer,
                opened: self.now,
                phase: MPhase::Username,
            },
        );
        out.send(conn, ServerMsg::Prompt(Prompt::Username));
    }

    pub fn disconnect(&mut self, conn: ConnId, out: &mut Out) {
        self.forget(conn, out);
    }

    pub fn too_long(&mut self, conn: ConnId, out: &mut Out) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        out.send(
            conn,
            ErrorReply::LineTooLong {
                max: self.cfg.max_line,
            },
        );
        self.reprompt(conn, out);
    }

    pub fn line(&mut self, conn: ConnId, bytes: &[u8], out: &mut Out) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let online = matches!(c.phase, MPhase::Online { .. });
        let text = match check_line(bytes) {
            Ok(t) => t,
            Err(e) => {
                out.send(
                    conn,
                    match e {
                        LineError::InvalidUtf8 => ErrorReply::InvalidUtf8,
                        LineError::ControlChar => ErrorReply::ControlChar,
                    },
                );
                self.reprompt(conn, out);
                return;
            }
        };
        let passwd = match &self.conns[&conn].phase {
            MPhase::Online { user, passwd, .. } if *passwd != MPasswd::Idle => {
                Some((user.clone(), *passwd))
            }
            _ => None,
        };
        if let Some((user, step)) = passwd {
            self.passwd_line(conn, &user, step, text.trim(), out);
        } else if online {
            self.command(conn, text, out);
        } else {
            self.login_line(conn, text.trim(), out);
        }
    }

    /// Moves the clock to `to`, running every deadline on the way at its own instant.
    pub fn advance_to(&mut self, to: Timestamp, out: &mut Out) {
        loop {
            let due = self.next_due().filter(|(at, _)| *at <= to);
            let lazy = self.lazy_due().filter(|at| *at <= to);
            match (due, lazy) {
                // Lazy changes falling due commit before the timers of the same instant fire.
                (_, Some(l)) if due.is_none_or(|(at, _)| l <= at) => {
                    self.now = self.now.max(l);
                    self.commit();
                }
                // Every deadline of one instant is one batch, as the core acts on all that are due
                // in one call: a session that ends then storing what it had not acknowledged commits
                // the lazy changes of that instant's other deadlines with it.
                (Some((at, _)), _) => {
                    self.now = self.now.max(at);
                    while let Some((_, what)) = self.next_due().filter(|(at, _)| *at <= self.now) {
                        match what {
                            Due::Conn(conn) => self.expire_conn(conn, out),
                            Due::Offer(id) => self.expire_offer(id, out),
                        }
                    }
                    self.end_batch(out);
                }
                (None, _) => break,
            }
        }
        self.now = self.now.max(to);
    }

    /// The server is stopping: everyone is told and closed, and nobody hears about anybody leaving.
    pub fn shutdown(&mut self, out: &mut Out) {
        self.shutting_down = true;
        let all: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in all {
            self.close(conn, ByeReason::Shutdown, out);
        }
    }

    /// Every deadline now armed, earliest first, with the same tie order as the harness.
    pub fn deadlines(&self) -> Vec<Timestamp> {
        let mut v: Vec<Timestamp> = self
            .conns
            .values()
            .flat_map(|c| [self.conn_next(c), self.conn_deadline(c)])
            .chain(self.offers.values().map(|o| o.expires))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub(super) fn conn_deadline(&self, c: &MConn) -> Timestamp {
        match &c.phase {
            MPhase::Online { last_cmd, .. } => last_cmd.plus_secs(self.cfg.timeout_secs),
            _ => c.opened.plus_secs(self.cfg.login_timeout_secs),
        }
    }

    /// Seconds of warning before the idle logout (at most half the timeout; 0: none).
    pub fn idle_warning_secs(&self) -> u64 {
        self.cfg.idle_warning_secs.min(self.cfg.timeout_secs / 2)
    }

    /// When a connection must next be looked at: the idle warning if it is still to come, else its
    /// deadline.
    pub(super) fn conn_next(&self, c: &MConn) -> Timestamp {
        let deadline = self.conn_deadline(c);
        match &c.phase {
            MPhase::Online { warned: false, .. } if self.idle_warning_secs() > 0 => {
                deadline.minus_millis(self.idle_warning_secs() * 1000)
            }
            _ => deadline,
        }
    }

    pub(super) fn next_due(&self) -> Option<(Timestamp, Due)> {
        let conns = self
            .conns
            .iter()
            .map(|(&id, c)| ((self.conn_next(c), 0, id.0), Due::Conn(id)));
        let offers = self
            .offers
            .iter()
            .map(|(&id, o)| ((o.expires, 1, id), Due::Offer(id)));
        conns
            .chain(offers)
            .min_by_key(|(key, _)| *key)
            .map(|((at, _, _), due)| (at, due))
    }

    pub(super) fn expire_conn(&mut self, conn: ConnId, out: &mut Out) {
        let deadline = self.conn_deadline(&self.conns[&conn]);
        if self.now < deadline {
            // The idle warning.
            if let MPhase::Online { warned, .. } =
                &mut self.conns.get_mut(&conn).expect("due conn").phase
            {
                *warned = true;
            }
            let secs_left = (deadline.as_millis() - self.now.as_millis()).div_ceil(1000);
            out.send(conn, ServerMsg::IdleWarning { secs_left });
            return;
        }
        let reason = match &self.conns[&conn].phase {
            MPhase::Online { .. } => ByeReason::Timeout {
                secs: self.cfg.timeout_secs,
            },
            _ => ByeReason::LoginTimeout {
                secs: self.cfg.login_timeout_secs,
            },
        };
        self.close(conn, reason, out);
    }

    pub(super) fn reprompt(&self, conn: ConnId, out: &mut Out) {
        let prompt = match &self.conns[&conn].phase {
            MPhase::Username => Prompt::Username,
            MPhase::Password(_) => Prompt::Password,
            MPhase::NewPassword(user) => Prompt::NewPassword { user: user.clone() },
            MPhase::Online { passwd, .. } => match passwd {
                MPasswd::Current => Prompt::CurrentPassword,
                MPasswd::New => Prompt::ChosenPassword,
                MPasswd::Oper => Prompt::OperatorPassword,
                MPasswd::Idle => return,
            },
        };
        out.send(conn, ServerMsg::Prompt(prompt));
    }

    pub(super) fn close(&mut self, conn: ConnId, reason: ByeReason, out: &mut Out) {
        out.send(conn, ServerMsg::Bye(reason));
        self.forget(conn, out);
        out.closed.push(conn);
    }

    pub(super) fn forget(&mut self, conn: ConnId, out: &mut Out) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let MPhase::Online { user, .. } = c.phase {
            self.end_session(&user, out);
        }
    }

    pub(super) fn end_session(&mut self, user: &Name, out: &mut Out) {
        let now = self.now;
        // What the client did not acknowledge is stored for the next login; senders with receipts are
        // told.
        let converted: Vec<MQueued> = self
            .user(user)
            .queue
            .iter()
            .filter(|q| !q.durable)
            .cloned()
            .collect();
        for q in converted {
            self.acknowledged_change();
            self.tell_sender(
                q.reply_to,
                ServerMsg::Stored {
                    id: q.msg.id,
                    to: user.clone(),
                },
                out,
            );
        }
        for q in &mut self.user_mut(user).queue {
            q.durable = true;
            q.reply_to = None;
        }
        let u = self.user_mut(user);
        u.conn = None;
        u.last_logout = Some(now);
        self.lazy_change();
        self.announce(user, false, out);
        let involved: Vec<u64> = self
            .offers
            .iter()
            .filter(|(_, o)| &o.from == user || &o.to == user)
            .map(|(&id, _)| id)
            .collect();
        for id in involved {
            let o = self.offers.remove(&id).expect("listed offer");
            let other = if &o.from == user { o.to } else { o.from };
            self.tell_cancelled(&other, user, CancelReason::Offline, out);
        }
        self.privates.retain(|(a, b)| a != user && b != user);
    }
}

/// A deadline, by what it belongs to.
#[derive(Clone, Copy, Debug)]
pub(super) enum Due {
    Conn(ConnId),
    Offer(u64),
}
