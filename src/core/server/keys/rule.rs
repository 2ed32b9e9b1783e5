//! The key directory of end-to-end encryption: `keys identity`, `keys add`, `keys fallback` (a client
//! publishing its account's public keys), `keys claim` and `keys show` (a client fetching someone's, to
//! start an encrypted session with them, or to check who they are).
//!
//! The server relays and stores encrypted messages as the opaque text they are; this is all it does for
//! encryption. It learns who has published keys and who claimed whose (so who is about to start talking
//! to whom), never a private key or a plaintext.
//!
//! Every change is durable before it is answered: `KEYS-LEFT` to a publisher means the keys are kept,
//! and a `KEYS` line handing out a one-time key leaves only once the key's removal is committed, so a
//! one-time key is handed out once even across a crash (two sessions built on one key would make the
//! second fail to decrypt).

use crate::protocol::keys::{KEYS_LOW, MAX_ONE_TIME_KEYS, SignedKeyRef};
use crate::protocol::{CommandName, ErrorReply, ServerMsg};
use crate::server::blocklist::blocks::Blocks;
use crate::server::connections::sessions::Sessions;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::keys::directory::{AddRefused, KeyDirectory};
use crate::server::login::accounts::Accounts;
use crate::server::record::Record;

/// What the key commands touch.
pub(crate) struct Keys<'a> {
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a Blocks,
    pub(in crate::server) sessions: &'a Sessions,
    pub(in crate::server) directory: &'a mut KeyDirectory,
}

impl Keys<'_> {
    fn left(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        let count = self.directory.one_time_count(me);
        send(out, conn, ServerMsg::KeysLeft { count });
    }

    /// Right after `WELCOME`: how many one-time keys an account with an identity has, so its client
    /// tops them up at once.
    pub(crate) fn welcome(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        if self.directory.identity(me).is_some() {
            self.left(conn, me, out);
        }
    }

    pub(crate) fn identity(
        &mut self,
        conn: ConnId,
        me: UserId,
        curve25519: &str,
        ed25519: &str,
        out: &mut Vec<Effect>,
    ) {
        if self.directory.publish_identity(me, curve25519, ed25519) {
            out.push(Effect::Persist(Record::IdentityPublished {
                user: self.accounts.name(me).clone(),
                curve25519: curve25519.to_owned(),
                ed25519: ed25519.to_owned(),
            }));
        }
        self.left(conn, me, out);
    }

    pub(crate) fn add(
        &mut self,
        conn: ConnId,
        me: UserId,
        keys: &[SignedKeyRef<'_>],
        out: &mut Vec<Effect>,
    ) {
        match self.directory.add_one_time(me, keys) {
            Ok(added) => {
                if !added.is_empty() {
                    out.push(Effect::Persist(Record::OneTimeKeysAdded {
                        user: self.accounts.name(me).clone(),
                        keys: added,
                    }));
                }
                self.left(conn, me, out);
            }
            Err(AddRefused::NoIdentity) => send(out, conn, ErrorReply::NoIdentity),
            Err(AddRefused::Full { held }) => send(
                out,
                conn,
                ErrorReply::KeysFull {
                    held,
                    max: MAX_ONE_TIME_KEYS,
                },
            ),
        }
    }

    pub(crate) fn fallback(
        &mut self,
        conn: ConnId,
        me: UserId,
        key: SignedKeyRef<'_>,
        out: &mut Vec<Effect>,
    ) {
        match self.directory.set_fallback(me, key) {
            Ok(changed) => {
                if changed {
                    out.push(Effect::Persist(Record::FallbackKeySet {
                        user: self.accounts.name(me).clone(),
                        key: key.owned(),
                    }));
                }
                self.left(conn, me, out);
            }
            Err(_) => send(out, conn, ErrorReply::NoIdentity),
        }
    }

    /// Hands `name`'s identity and one of their keys to `me`. A user who blocked `me` keeps their keys:
    /// a message would not reach them anyway, and nobody they blocked can use up their one-time keys.
    pub(crate) fn claim(&mut self, conn: ConnId, me: UserId, name: &str, out: &mut Vec<Effect>) {
        let Some(owner) = self.named(conn, me, name, CommandName::KeysClaim, out) else {
            return;
        };
        let user = self.accounts.name(owner).clone();
        if self.blocks.blocks(owner, me) {
            send(out, conn, ErrorReply::BlockedBy { user });
            return;
        }
        let Some(claimed) = self.directory.claim(owner) else {
            send(out, conn, ServerMsg::NoKeys { user });
            return;
        };
        if claimed.one_time {
            out.push(Effect::Persist(Record::OneTimeKeyClaimed {
                user: user.clone(),
                key_id: claimed.key.id.clone(),
            }));
        }
        send(
            out,
            conn,
            ServerMsg::Keys {
                user,
                curve25519: claimed.curve25519,
                ed25519: claimed.ed25519,
                key: Some(Box::new(claimed.key)),
            },
        );
        let left = self.directory.one_time_count(owner);
        if claimed.one_time
            && left < KEYS_LOW
            && let Some(owner_conn) = self.sessions.session_of(owner)
        {
            send(out, owner_conn, ServerMsg::KeysLeft { count: left });
        }
    }

    /// `name`'s identity keys, nothing taken. Anyone may look (they are public), yourself included.
    pub(crate) fn show(&self, conn: ConnId, name: &str, out: &mut Vec<Effect>) {
        let Some(owner) = self.accounts.find(name) else {
            send(
                out,
                conn,
                ErrorReply::NoSuchUser {
                    user: name.to_owned(),
                },
            );
            return;
        };
        let user = self.accounts.name(owner).clone();
        let msg = match self.directory.identity(owner) {
            Some((curve, ed)) => ServerMsg::Keys {
                user,
                curve25519: curve.to_owned(),
                ed25519: ed.to_owned(),
                key: None,
            },
            None => ServerMsg::NoKeys { user },
        };
        send(out, conn, msg);
    }

    fn named(
        &self,
        conn: ConnId,
        me: UserId,
        name: &str,
        command: CommandName,
        out: &mut Vec<Effect>,
    ) -> Option<UserId> {
        crate::server::arguments::named_user(self.accounts, conn, me, name, command, out)
    }
}
