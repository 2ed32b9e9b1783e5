//! The operator's actions in the model (see `natter_core::server::admin`): kicks, bans of accounts for
//! a time or for good, unbans, unlocks, passwords set, notices to everyone.

use super::{Model, Out};
use natter_core::protocol::{ByeReason, Name, ServerMsg};
use natter_core::server::{Admin, BanTarget, ConnId};

impl Model {
    /// The operator's action, as the core carries it out; whether it did something (the core answers
    /// `Ok`).
    pub fn admin(&mut self, action: &Admin, out: &mut Out) -> bool {
        let online = |m: &Model, user: &str| m.users.get(user).and_then(|u| u.conn);
        match action {
            Admin::Kick { user, reason } => {
                let Some(conn) = online(self, user) else {
                    return false;
                };
                if !reason.is_empty() {
                    out.send(
                        conn,
                        ServerMsg::Notice {
                            text: reason.clone(),
                        },
                    );
                }
                self.close(conn, ByeReason::Kicked, out);
            }
            Admin::Ban {
                target: BanTarget::User(user),
                until,
                reason,
            } => {
                if !self.users.contains_key(user.as_str()) || until.is_some_and(|u| u <= self.now) {
                    return false;
                }
                let now = self.now;
                self.bans.retain(|_, u| u.is_none_or(|u| u > now));
                self.bans.insert(Name::from(user.as_str()), *until);
                self.acknowledged_change();
                if let Some(conn) = online(self, user) {
                    let text = if reason.is_empty() {
                        "you are banned from this server".to_owned()
                    } else {
                        format!("you are banned from this server: {reason}")
                    };
                    out.send(conn, ServerMsg::Notice { text });
                    self.close(conn, ByeReason::Banned, out);
                }
            }
            Admin::Unban {
                target: BanTarget::User(user),
            } => {
                if self.bans.remove(user.as_str()).is_none() {
                    return false;
                }
                self.acknowledged_change();
            }
            Admin::Unlock { user } => {
                let Some(u) = self.users.get_mut(user.as_str()) else {
                    return false;
                };
                u.locked_until = None;
                u.failures = 0;
                self.acknowledged_change();
            }
            Admin::SetPassword { user, password } => {
                let Some(u) = self.users.get_mut(user.as_str()) else {
                    return false;
                };
                u.password = password.clone();
                self.acknowledged_change();
            }
            Admin::Notice { text } => {
                let conns: Vec<ConnId> = self.online().map(|(_, c)| c).collect();
                for conn in conns {
                    out.send(conn, ServerMsg::Notice { text: text.clone() });
                }
            }
            // The simulator makes no others (they have the core's own tests).
            _ => return false,
        }
        true
    }
}
