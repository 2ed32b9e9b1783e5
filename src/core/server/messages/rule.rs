//! `message`, `broadcast`, the offline mailbox, `offline` and `ack`.

use std::sync::Arc;

use crate::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use crate::server::arguments::named_user;
use crate::server::blocklist::blocks::Blocks;
use crate::server::config::Config;
use crate::server::connections::backlog::line_cost;
use crate::server::connections::sessions::Sessions;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::keys::directory::KeyDirectory;
use crate::server::login::accounts::Accounts;
use crate::server::message::StoredMsg;
use crate::server::messages::delivery::{Delivery, Fresh, Taken};
use crate::server::messages::mailboxes::{Mailboxes, Queued};
use crate::server::messages::spare_texts::SpareTexts;
use crate::server::record::Record;
use crate::time::Timestamp;

/// What the messaging commands touch: they read who is who, who blocks whom and whose identity key
/// is current, and change what is queued for online users and stored for offline ones.
pub(crate) struct Messaging<'a> {
    pub(in crate::server) config: &'a Config,
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a Blocks,
    pub(in crate::server) keys: &'a KeyDirectory,
    pub(in crate::server) sessions: &'a mut Sessions,
    pub(in crate::server) mailboxes: &'a mut Mailboxes,
    /// Strings for the texts of the lines made here (given back by the shell once written).
    pub(in crate::server) texts: &'a mut SpareTexts,
}

impl Messaging<'_> {
    fn delivery(&mut self) -> Delivery<'_> {
        Delivery {
            config: self.config,
            accounts: self.accounts,
            blocks: self.blocks,
            sessions: self.sessions,
            mailboxes: self.mailboxes,
        }
    }

    /// To an online user, through their queue (`SENT`, then `DELIVERED` or `STORED`, with receipts
    /// on; see `delivery`); to an offline one, stored (`STORED`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn message(
        &mut self,
        conn: ConnId,
        me: UserId,
        receipts: bool,
        to: &str,
        text: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(target) = named_user(self.accounts, conn, me, to, CommandName::Message, out)
        else {
            return;
        };
        // Borrowed from the accounts, not from `self`: the names are not cloned (a reference count
        // each way) for a message that needs neither kept.
        let accounts = self.accounts;
        let from = accounts.name(me);
        let to = accounts.name(target);
        if self.blocks.blocks(target, me) {
            send(out, conn, ErrorReply::BlockedBy { user: to.clone() });
            return;
        }
        // Ciphertext for an identity the recipient no longer has could never be read: refused, so
        // the sender's client encrypts it again for the new one rather than have it lost unseen.
        if let Some(for_key) = crate::protocol::keys::encrypted_for(text)
            && self
                .keys
                .identity(target)
                .is_some_and(|(curve, _)| curve != for_key)
        {
            send(out, conn, ErrorReply::StaleKey { user: to.clone() });
            return;
        }
        if let Some(target_conn) = self.sessions.session_of(target) {
            let mut delivery = self.delivery();
            if !delivery.has_room(target, from) {
                send(out, conn, ErrorReply::RecipientBusy { user: to.clone() });
                return;
            }
            let id = delivery.mailboxes.take_id(out);
            let mut fresh = Fresh::new(id, from, None, now, text);
            let taken = delivery.take(target, target_conn, &mut fresh, Some(conn), out);
            if let Taken::Now { .. } = taken {
                send(
                    out,
                    target_conn,
                    ServerMsg::Message {
                        id,
                        sent_at: now,
                        from: from.clone(),
                        text: self.texts.copy_of(text),
                    },
                );
            }
            // Nothing for a sender without receipts, as in IRC: only a message that had to be stored
            // gets a reply, because only then is there something to tell.
            if receipts {
                let to = to.clone();
                let reply = match taken {
                    Taken::Now { kept: false } => ServerMsg::Delivered { id, to },
                    Taken::Now { kept: true } | Taken::Queued => ServerMsg::Sent { id, to },
                };
                send(out, conn, reply);
            }
            self.tell_away(conn, me, target, target_conn, out);
            return;
        }
        if let Err(e) = mailbox_room(self.config, self.mailboxes, target, from, to) {
            send(out, conn, e);
            return;
        }
        let (from, to) = (from.clone(), to.clone());
        let id = self.mailboxes.take_id(out);
        self.mailboxes.push(
            target,
            Queued {
                msg: StoredMsg {
                    id,
                    from: from.clone(),
                    group: None,
                    sent_at: now,
                    text: Arc::from(text),
                },
                durable: true,
                reply_to: None,
            },
        );
        out.push(Effect::Persist(Record::MessageStored {
            id,
            to: to.clone(),
            from,
            group: None,
            sent_at: now,
            text: text.to_owned(),
        }));
        send(out, conn, ServerMsg::Stored { id, to });
    }

    /// After a message reached `target`, online: if they are away, the sender is told why (IRC's
    /// `RPL_AWAY`), unless the sender blocks them (away travels as presence does, not between a
    /// blocker and whom they block; a target that blocks the sender refused the message already).
    fn tell_away(
        &self,
        conn: ConnId,
        me: UserId,
        target: UserId,
        target_conn: ConnId,
        out: &mut Vec<Effect>,
    ) {
        if self.blocks.blocks(me, target) {
            return;
        }
        if let Some(reason) = self.sessions.session(target_conn).and_then(|s| s.away()) {
            let msg = ServerMsg::RecipientAway {
                user: self.accounts.name(target).clone(),
                reason: reason.to_owned(),
            };
            send(out, conn, msg);
        }
    }

    /// To every online user but the sender, except those who blocked the sender. The sender learns how
    /// many got it and whether anyone was skipped, never who.
    pub(crate) fn broadcast(
        &mut self,
        conn: ConnId,
        me: UserId,
        text: &str,
        out: &mut Vec<Effect>,
    ) {
        let mut to = Vec::with_capacity(self.sessions.online_count().saturating_sub(1));
        let mut skipped = false;
        let from = self.accounts.name(me);
        let cost = line_cost(from, text);
        let mut online = Vec::with_capacity(self.sessions.online_count());
        self.sessions.online_into(&mut online);
        for (other, other_conn) in online {
            if other == me {
                continue;
            }
            if self.blocks.blocks(other, me) || !self.sessions.admit(other, me, cost, out) {
                skipped = true;
            } else {
                to.push(other_conn);
            }
        }
        let delivered = to.len();
        if !to.is_empty() {
            out.push(Effect::SendMany {
                to,
                msg: ServerMsg::Broadcast {
                    from: from.clone(),
                    text: text.to_owned(),
                },
            });
        }
        send(out, conn, ServerMsg::BroadcastSent { delivered, skipped });
    }

    /// `offline`: the messages that were waiting at this login, again (acknowledged or not), except
    /// those from users the asker has blocked since. They can be as many as a mailbox holds, so they
    /// go out through the mail window, as the client reads, like the queue itself.
    pub(crate) fn offline(&mut self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        let Some(session) = self.sessions.session(conn) else {
            return;
        };
        let count = session
            .waiting()
            .iter()
            .filter(|m| {
                self.accounts
                    .find(&m.from)
                    .is_none_or(|sender| !self.blocks.blocks(me, sender))
            })
            .count();
        let any = !session.waiting().is_empty();
        send(out, conn, ServerMsg::OfflineList { count });
        if any {
            self.sessions.set_replay(conn, Some(0));
            self.delivery().pump(me, out);
        }
    }

    /// The client confirms it has shown what was written to it up to `id` (see `delivery`).
    pub(crate) fn ack(&mut self, conn: ConnId, me: UserId, id: u64, out: &mut Vec<Effect>) {
        self.delivery().ack(conn, me, id, out);
    }
}

/// Whether one more message from `from` may be stored for `to` (named `to_name`): the mailbox has
/// room, and `from` has not used up its share of it.
pub(crate) fn mailbox_room(
    config: &Config,
    mailboxes: &Mailboxes,
    to: UserId,
    from: &Name,
    to_name: &Name,
) -> Result<(), ErrorReply> {
    if mailboxes.len(to) >= config.mailbox_limit {
        return Err(ErrorReply::MailboxFull {
            user: to_name.clone(),
        });
    }
    let max = config.mailbox_share();
    // (One sender can have reached its share only in a queue at least that long.)
    if mailboxes.len(to) >= max && mailboxes.count_from(to, from) >= max {
        return Err(ErrorReply::MailboxShare {
            user: to_name.clone(),
            max,
        });
    }
    Ok(())
}
