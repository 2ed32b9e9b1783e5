//! `message`, `broadcast`, the offline mailbox, and `ack`.

use std::sync::Arc;

use super::accounts::{Accounts, UserId};
use super::arguments::named_user;
use super::backlog::line_cost;
use super::blocks::Blocks;
use super::config::Config;
use super::event::{ConnId, Effect, send};
use super::mailboxes::Mailboxes;
use super::record::Record;
use super::sessions::Sessions;
use crate::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use crate::time::Timestamp;

/// What the messaging commands touch: they read who is who and who blocks whom, and change what is
/// queued for online users and stored for offline ones.
pub(crate) struct Messaging<'a> {
    pub(super) config: &'a Config,
    pub(super) accounts: &'a Accounts,
    pub(super) blocks: &'a Blocks,
    pub(super) sessions: &'a mut Sessions,
    pub(super) mailboxes: &'a mut Mailboxes,
}

impl Messaging<'_> {
    pub(crate) fn message(
        &mut self,
        conn: ConnId,
        me: UserId,
        to: &str,
        text: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(target) = named_user(self.accounts, conn, me, to, CommandName::Message, out)
        else {
            return;
        };
        let from = self.accounts.name(me).clone();
        let to = self.accounts.name(target).clone();
        if self.blocks.blocks(target, me) {
            send(out, conn, ErrorReply::BlockedBy { user: to });
            return;
        }
        if let Some(target_conn) = self.sessions.session_of(target) {
            if !self.sessions.admit(target, me, line_cost(&from, text), out) {
                send(out, conn, ErrorReply::RecipientBusy { user: to });
                return;
            }
            // Delivered now: the sender hears nothing more (as in IRC). Only a message that had to be
            // stored gets a reply, because only then is there something to tell.
            send(
                out,
                target_conn,
                ServerMsg::Message {
                    from,
                    text: text.to_owned(),
                },
            );
            if self.sessions.session(conn).is_some_and(|s| s.receipts()) {
                send(out, conn, ServerMsg::Delivered { to });
            }
            return;
        }
        if let Err(e) = mailbox_room(self.config, self.mailboxes, target, &from, &to) {
            send(out, conn, e);
            return;
        }
        let id = self
            .mailboxes
            .store(target, from.clone(), None, now, Arc::from(text));
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
        let online: Vec<(UserId, ConnId)> = self.sessions.online().collect();
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
    /// those from users the asker has blocked since.
    pub(crate) fn offline(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        let Some(session) = self.sessions.session(conn) else {
            return;
        };
        let shown: Vec<&super::mailboxes::StoredMsg> = session
            .waiting()
            .iter()
            .filter(|m| {
                self.accounts
                    .find(&m.from)
                    .is_none_or(|sender| !self.blocks.blocks(me, sender))
            })
            .collect();
        send(out, conn, ServerMsg::OfflineList { count: shown.len() });
        for m in shown {
            send(
                out,
                conn,
                ServerMsg::OfflineAgain {
                    id: m.id,
                    sent_at: m.sent_at,
                    from: m.from.clone(),
                    group: m.group.clone(),
                    text: m.text.to_string(),
                },
            );
        }
    }

    /// The client confirms it has shown stored messages up to `id`; only then are they forgotten.
    pub(crate) fn ack(&mut self, conn: ConnId, me: UserId, id: u64, out: &mut Vec<Effect>) {
        let delivered = self
            .sessions
            .session(conn)
            .and_then(|s| s.delivered_up_to());
        if delivered.is_none_or(|up_to| id > up_to) {
            send(out, conn, ErrorReply::BadAck { id });
            return;
        }
        if self.mailboxes.ack(me, id) {
            out.push(Effect::Persist(Record::MessagesAcked {
                user: self.accounts.name(me).clone(),
                up_to: id,
            }));
        }
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
    if mailboxes.count_from(to, from) >= max {
        return Err(ErrorReply::MailboxShare {
            user: to_name.clone(),
            max,
        });
    }
    Ok(())
}
