//! Presence in the model: who is told of a login or logout, `whoelse`, `whoelsesince`, `wholasthr`,
//! `ping`.

use super::{MPhase, Model, Out};
use natter_core::protocol::{CommandName, ErrorReply, Name, PingState, ServerMsg};
use natter_core::server::ConnId;

impl Model {
    /// Tells every other online user who neither blocks nor is blocked by `subject`.
    pub(super) fn announce(&self, subject: &Name, online: bool, out: &mut Out) {
        if self.shutting_down {
            return;
        }
        for (other, conn) in self.online() {
            if other != subject && !self.blocks(other, subject) && !self.blocks(subject, other) {
                out.send(
                    conn,
                    ServerMsg::Presence {
                        user: subject.clone(),
                        online,
                    },
                );
            }
        }
    }

    /// `whoelse`, then who of them is away.
    pub(super) fn answer_whoelse(&self, conn: ConnId, me: &Name, out: &mut Out) {
        let users = self.whoelse(me);
        let away: Vec<(Name, String)> = users
            .iter()
            .filter_map(|u| self.away_of(me, u).map(|r| (u.clone(), r)))
            .collect();
        out.send(conn, ServerMsg::WhoElse { users });
        for (user, reason) in away {
            out.send(conn, ServerMsg::PresenceAway { user, reason });
        }
    }

    /// Why `user` is away, if online, away, and neither blocks the other.
    fn away_of(&self, me: &Name, user: &Name) -> Option<String> {
        if self.blocks(me, user) || self.blocks(user, me) {
            return None;
        }
        match self.user(user).conn.map(|c| &self.conns[&c].phase) {
            Some(MPhase::Online { away, .. }) => away.clone(),
            _ => None,
        }
    }

    /// `realname <text>`: to the user and to those who see them.
    pub(super) fn real_name(&mut self, conn: ConnId, me: &Name, text: &str, out: &mut Out) {
        let msg = ServerMsg::RealName {
            user: me.clone(),
            text: text.to_owned(),
        };
        out.send(conn, msg.clone());
        for (other, c) in self.online() {
            if other != me && !self.blocks(other, me) && !self.blocks(me, other) {
                out.send(c, msg.clone());
            }
        }
    }

    /// `away [<reason>]`.
    pub(super) fn away(&mut self, conn: ConnId, me: &Name, reason: Option<&str>, out: &mut Out) {
        let mut changed = false;
        if let Some(MPhase::Online { away, .. }) = self.session_mut(conn)
            && away.as_deref() != reason
        {
            *away = reason.map(str::to_owned);
            changed = true;
        }
        out.send(
            conn,
            match reason {
                Some(r) => ServerMsg::Away {
                    reason: r.to_owned(),
                },
                None => ServerMsg::Back,
            },
        );
        if !changed {
            return;
        }
        for (other, c) in self.online() {
            if other != me && !self.blocks(other, me) && !self.blocks(me, other) {
                out.send(
                    c,
                    match reason {
                        Some(r) => ServerMsg::PresenceAway {
                            user: me.clone(),
                            reason: r.to_owned(),
                        },
                        None => ServerMsg::PresenceBack { user: me.clone() },
                    },
                );
            }
        }
    }

    /// `whois`.
    pub(super) fn whois(&self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::Whois, out) else {
            return;
        };
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let (online, idle_secs, since) = match self.user(&user).conn.map(|c| &self.conns[&c].phase)
        {
            Some(MPhase::Online {
                last_cmd, since, ..
            }) => (
                true,
                (self.now.as_millis() - last_cmd.as_millis()) / 1000,
                Some(*since),
            ),
            _ => (false, 0, self.user(&user).last_logout),
        };
        let groups: Vec<Name> = self
            .groups
            .iter()
            .filter(|(_, m)| m.contains(me) && m.contains(&user))
            .map(|(g, _)| g.clone())
            .collect();
        let away = self.away_of(me, &user);
        out.send(
            conn,
            ServerMsg::Whois {
                user: user.clone(),
                online,
                idle_secs,
                since,
                groups,
            },
        );
        if let Some(reason) = away {
            out.send(conn, ServerMsg::PresenceAway { user, reason });
        }
    }

    /// `whoelsesince` (and `wholasthr`, which is `whoelsesince 3600`).
    pub(super) fn answer_whoelsesince(&self, conn: ConnId, me: &Name, secs: u64, out: &mut Out) {
        let users = self.whoelsesince(me, secs);
        out.send(conn, ServerMsg::WhoElseSince { secs, users });
    }

    /// `ping`: whether `user` is online (idle how long), and whether a message would be kept.
    pub(super) fn ping(&self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::Ping, out) else {
            return;
        };
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let state = match self.user(&user).conn.map(|c| &self.conns[&c].phase) {
            Some(MPhase::Online { last_cmd, .. }) => PingState::Online {
                idle_secs: (self.now.as_millis() - last_cmd.as_millis()) / 1000,
            },
            _ => PingState::Offline {
                stored: self.mailbox_refusal(&user, me).is_none(),
            },
        };
        out.send(conn, ServerMsg::Ping { user, state });
    }

    /// The answer to `whoelse` for `me`.
    pub fn whoelse(&self, me: &str) -> Vec<Name> {
        let mut v: Vec<Name> = self
            .online()
            .map(|(n, _)| n.clone())
            .filter(|n| &**n != me && !self.blocks(n, me))
            .collect();
        v.sort();
        v
    }

    /// The answer to `whoelsesince secs` for `me`: online now, or last seen at or after the cutoff.
    pub fn whoelsesince(&self, me: &str, secs: u64) -> Vec<Name> {
        let cutoff = self.now.minus_millis(secs.saturating_mul(1000));
        let mut v: Vec<Name> = self
            .users
            .iter()
            .filter(|(n, u)| {
                &***n != me
                    && !self.blocks(n, me)
                    && (u.conn.is_some() || u.last_logout.is_some_and(|t| t >= cutoff))
            })
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }
}
