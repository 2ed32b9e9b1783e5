//! The key directory in the model: `keys identity|add|fallback|claim|show`, and `KEYS-LEFT`.

use super::{MKeys, Model, Out};
use natter_core::protocol::keys::{KEYS_LOW, MAX_ONE_TIME_KEYS, SignedKey};
use natter_core::protocol::{CommandName, ErrorReply, Name, ServerMsg, SignedKeyRef};
use natter_core::server::ConnId;

impl Model {
    /// `keys identity`: a different identity drops the keys of the old one; the same changes nothing.
    pub(super) fn keys_identity(
        &mut self,
        conn: ConnId,
        me: &Name,
        curve25519: &str,
        ed25519: &str,
        out: &mut Out,
    ) {
        let u = self.user_mut(me);
        let same = u
            .keys
            .as_ref()
            .is_some_and(|k| k.curve25519 == curve25519 && k.ed25519 == ed25519);
        if !same {
            u.keys = Some(MKeys {
                curve25519: curve25519.to_owned(),
                ed25519: ed25519.to_owned(),
                one_time: Vec::new(),
                fallback: None,
            });
            self.acknowledged_change();
        }
        self.keys_left(conn, me, out);
    }

    /// `keys add`: the keys whose ids are not held, all or none (none past the most an account holds).
    pub(super) fn keys_add(
        &mut self,
        conn: ConnId,
        me: &Name,
        keys: Vec<SignedKeyRef<'_>>,
        out: &mut Out,
    ) {
        let Some(k) = self.user_mut(me).keys.as_mut() else {
            out.send(conn, ErrorReply::NoIdentity);
            return;
        };
        let mut new: Vec<SignedKey> = Vec::new();
        for key in keys {
            if !k.one_time.iter().chain(&new).any(|h| h.id == key.id) {
                new.push(key.owned());
            }
        }
        let held = k.one_time.len();
        if held + new.len() > MAX_ONE_TIME_KEYS {
            out.send(
                conn,
                ErrorReply::KeysFull {
                    held,
                    max: MAX_ONE_TIME_KEYS,
                },
            );
            return;
        }
        if !new.is_empty() {
            k.one_time.extend(new);
            self.acknowledged_change();
        }
        self.keys_left(conn, me, out);
    }

    /// `keys fallback`.
    pub(super) fn keys_fallback(
        &mut self,
        conn: ConnId,
        me: &Name,
        key: SignedKeyRef<'_>,
        out: &mut Out,
    ) {
        let Some(k) = self.user_mut(me).keys.as_mut() else {
            out.send(conn, ErrorReply::NoIdentity);
            return;
        };
        if k.fallback.as_ref().is_none_or(|f| f.borrowed() != key) {
            k.fallback = Some(key.owned());
            self.acknowledged_change();
        }
        self.keys_left(conn, me, out);
    }

    /// `keys claim`: the oldest one-time key (removed), else the fallback key; the owner is told when
    /// few one-time keys are left.
    pub(super) fn keys_claim(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::KeysClaim, out) else {
            return;
        };
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let Some(k) = self.user_mut(&user).keys.as_mut() else {
            out.send(conn, ServerMsg::NoKeys { user });
            return;
        };
        let (key, one_time) = if k.one_time.is_empty() {
            match &k.fallback {
                Some(f) => (f.clone(), false),
                None => {
                    out.send(conn, ServerMsg::NoKeys { user });
                    return;
                }
            }
        } else {
            (k.one_time.remove(0), true)
        };
        let (curve25519, ed25519, left) =
            (k.curve25519.clone(), k.ed25519.clone(), k.one_time.len());
        if one_time {
            self.acknowledged_change();
        }
        out.send(
            conn,
            ServerMsg::Keys {
                user: user.clone(),
                curve25519,
                ed25519,
                key: Some(Box::new(key)),
            },
        );
        if one_time
            && left < KEYS_LOW
            && let Some(owner) = self.user(&user).conn
        {
            out.send(owner, ServerMsg::KeysLeft { count: left });
        }
    }

    /// `keys show`: `user`'s identity keys, nothing taken.
    pub(super) fn keys_show(&self, conn: ConnId, user: &str, out: &mut Out) {
        let Some((user, u)) = self.users.get_key_value(user) else {
            out.send(
                conn,
                ErrorReply::NoSuchUser {
                    user: user.to_owned(),
                },
            );
            return;
        };
        let msg = match &u.keys {
            Some(k) => ServerMsg::Keys {
                user: user.clone(),
                curve25519: k.curve25519.clone(),
                ed25519: k.ed25519.clone(),
                key: None,
            },
            None => ServerMsg::NoKeys { user: user.clone() },
        };
        out.send(conn, msg);
    }

    /// `KEYS-LEFT`: how many one-time keys `me` has published.
    pub(super) fn keys_left(&self, conn: ConnId, me: &Name, out: &mut Out) {
        let count = self.user(me).keys.as_ref().map_or(0, |k| k.one_time.len());
        out.send(conn, ServerMsg::KeysLeft { count });
    }
}
