//! Delivery: writing each online user's queue (`mailboxes`) to their connection, paced by what the
//! connection still has waiting (`backlog`), and the fate of a live message: kept until the client
//! acknowledges it, then delivered; or stored when the session ends first.
//!
//! What a sender with `receipts on` is told, and what each promises:
//!
//! - `STORED <id> <to>`: the message is durable (its record committed before the line leaves) and will
//!   be delivered at `to`'s next login, whatever dies. Sent when `to` was offline, and when `to`'s
//!   session ended before their client acknowledged a live message.
//! - `SENT <id> <to>`: `to` is online and the message is in their queue; one of `DELIVERED` or `STORED`
//!   follows for the same id (unless the sender's session ends first, or `to` blocks the sender).
//! - `DELIVERED <id> <to>`: `to`'s client acknowledged it (it has shown it and de-duplicates by id),
//!   or, for a client that said it does not acknowledge (`acks off`), it was written to its
//!   connection. Never before.
//!
//! A session starts not knowing whether its client acknowledges ([`Acks::Undecided`]): what is written
//! meanwhile is kept as if it would be, and the first command other than `acks` settles it. So there is
//! no moment, even between a login and the client's `acks on`, in which a written message counts as
//! delivered for a client that does acknowledge.
//!
//! A live message lives in memory only. Its sender was told nothing durable about it (`SENT` at most),
//! so a server crash that loses it breaks no promise; a cluster survives the death of the node holding
//! the recipient, because every node's copy of the core holds it and the cluster ends that node's
//! sessions as a dropped connection ends one.

use std::sync::Arc;

use crate::protocol::{ErrorReply, Name, ServerMsg};
use crate::server::blocklist::blocks::Blocks;
use crate::server::config::Config;
use crate::server::connections::backlog::mail_cost;
use crate::server::connections::sessions::{Acks, Sessions};
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::login::accounts::Accounts;
use crate::server::message::StoredMsg;
use crate::server::messages::mailboxes::{Mailboxes, Queued};
use crate::server::record::Record;
use crate::time::Timestamp;

/// What delivery touches: the queues, and the sessions they are written to (their pace, their
/// position in the queue, their senders' receipts).
pub(crate) struct Delivery<'a> {
    pub(in crate::server) config: &'a Config,
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a Blocks,
    pub(in crate::server) sessions: &'a mut Sessions,
    pub(in crate::server) mailboxes: &'a mut Mailboxes,
}

/// A new message on its way to online users. Its text is copied into a shared string only once some
/// queue has to keep it, and then once for every queue.
pub(crate) struct Fresh<'t> {
    pub(crate) id: u64,
    pub(crate) from: &'t Name,
    pub(crate) group: Option<&'t Name>,
    pub(crate) sent_at: Timestamp,
    pub(crate) text: &'t str,
    shared: Option<Arc<str>>,
}

impl<'t> Fresh<'t> {
    pub(crate) fn new(
        id: u64,
        from: &'t Name,
        group: Option<&'t Name>,
        sent_at: Timestamp,
        text: &'t str,
    ) -> Self {
        Fresh {
            id,
            from,
            group,
            sent_at,
            text,
            shared: None,
        }
    }

    /// The message as a queue keeps it (the text shared from the first copy on).
    pub(crate) fn stored(&mut self) -> StoredMsg {
        let text = self.shared.get_or_insert_with(|| Arc::from(self.text));
        StoredMsg {
            id: self.id,
            from: self.from.clone(),
            group: self.group.cloned(),
            sent_at: self.sent_at,
            text: text.clone(),
        }
    }

    fn cost(&self) -> usize {
        mail_cost(self.from, self.group.map(|g| &**g), self.text)
    }
}

/// What became of a new message offered to an online user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// To be written now, by the caller (a group message is rendered once for all who take it now).
    /// `kept`: it stays queued until acknowledged; otherwise it is delivered once written.
    Now { kept: bool },
    /// Queued behind what waits for room; written as the client reads.
    Queued,
}

impl Delivery<'_> {
    /// Whether the queue of the online `user` has room for one more message from `from`: the mailbox
    /// limit and one sender's share hold for live messages too, so nobody fills an online user's
    /// queue either.
    pub(crate) fn has_room(&self, user: UserId, from: &str) -> bool {
        let (len, share) = (self.mailboxes.len(user), self.config.mailbox_share());
        // (One sender can have reached its share only in a queue at least that long: the common,
        // short queue costs no lookup by name.)
        len < self.config.mailbox_limit
            && (len < share || self.mailboxes.count_from(user, from) < share)
    }

    /// Offers a new message to `user`, online on `conn`: written now if nothing waits before it and
    /// the window has room, else queued. Kept (until acknowledged) unless its client does not
    /// acknowledge; `reply_to` is the sender to tell its fate later (a direct message's).
    pub(crate) fn take(
        &mut self,
        user: UserId,
        conn: ConnId,
        fresh: &mut Fresh<'_>,
        reply_to: Option<ConnId>,
        out: &mut Vec<Effect>,
    ) -> Taken {
        let Some(session) = self.sessions.session(conn) else {
            return Taken::Queued;
        };
        let (acks, sent_through) = (session.acks(), session.sent_through());
        let now = session.replay().is_none()
            && !self.mailboxes.has_after(user, sent_through)
            && self.sessions.mail_room(user, self.config.mail_window);
        let kept = acks != Acks::Off || !now;
        if kept {
            let msg = fresh.stored();
            self.mailboxes.push(
                user,
                Queued {
                    msg,
                    durable: false,
                    reply_to,
                },
            );
        }
        if now {
            self.sessions.sent(conn, fresh.id);
            self.sessions
                .add_mail(user, conn, fresh.cost(), self.config.mail_window, out);
            Taken::Now { kept }
        } else {
            self.sessions.wait_for_drain(user, conn, out);
            Taken::Queued
        }
    }

    /// Writes `user`'s queue on (and an `offline` replay under way) while the window has room; when
    /// it is full with more to write, asks to hear when the connection drains.
    pub(crate) fn pump(&mut self, user: UserId, out: &mut Vec<Effect>) {
        let Some(conn) = self.sessions.session_of(user) else {
            return;
        };
        let window = self.config.mail_window;
        let name = self.accounts.name(user).clone();
        loop {
            let Some(session) = self.sessions.session(conn) else {
                return;
            };
            let (acks, sent_through, replay) =
                (session.acks(), session.sent_through(), session.replay());
            let pending = replay.is_some() || self.mailboxes.has_after(user, sent_through);
            if !pending {
                return;
            }
            if !self.sessions.mail_room(user, window) {
                self.sessions.wait_for_drain(user, conn, out);
                return;
            }
            if let Some(i) = replay {
                self.replay_one(user, conn, i, out);
                continue;
            }
            let Some(q) = self.mailboxes.next_after(user, sent_through) else {
                return;
            };
            let (id, durable) = (q.id(), q.durable);
            let m = &q.msg;
            let cost = mail_cost(&m.from, m.group.as_deref(), &m.text);
            let line = if durable {
                ServerMsg::OfflineMessage {
                    id,
                    sent_at: m.sent_at,
                    from: m.from.clone(),
                    group: m.group.clone(),
                    text: m.text.to_string(),
                }
            } else {
                live_line(m)
            };
            send(out, conn, line);
            self.sessions.sent(conn, id);
            self.sessions.add_mail(user, conn, cost, window, out);
            if !durable
                && acks == Acks::Off
                && let Some(q) = self.mailboxes.take(user, id)
            {
                tell_sender(self.sessions, &q, &name, Fate::Delivered, out);
            }
        }
    }

    /// Writes the next line of an `offline` replay (skipping senders blocked since: nothing of them
    /// may reach the user).
    fn replay_one(&mut self, user: UserId, conn: ConnId, i: usize, out: &mut Vec<Effect>) {
        let Some(session) = self.sessions.session(conn) else {
            return;
        };
        let next = (i + 1 < session.waiting().len()).then_some(i + 1);
        if let Some(m) = session.waiting().get(i)
            && self
                .accounts
                .find(&m.from)
                .is_none_or(|sender| !self.blocks.blocks(user, sender))
        {
            let cost = mail_cost(&m.from, m.group.as_deref(), &m.text);
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
            self.sessions
                .add_mail(user, conn, cost, self.config.mail_window, out);
        }
        self.sessions.set_replay(conn, next);
    }

    /// `acks on|off`: from now on, live messages written stay until acknowledged (on), or are
    /// delivered once written (off: what is written and not yet acknowledged is delivered now).
    pub(crate) fn set_acks(&mut self, conn: ConnId, on: bool, out: &mut Vec<Effect>) {
        if on {
            self.sessions.set_acks(conn, Acks::On);
        } else {
            self.sessions.set_acks(conn, Acks::Off);
            self.deliver_written(conn, out);
        }
    }

    /// Live messages written on `conn` and not acknowledged are delivered now (its client does not
    /// acknowledge).
    fn deliver_written(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        let Some(session) = self.sessions.session(conn) else {
            return;
        };
        let (user, sent_through) = (session.user(), session.sent_through());
        let name = self.accounts.name(user);
        let sessions = &*self.sessions;
        self.mailboxes.take_live_up_to(user, sent_through, |q| {
            tell_sender(sessions, &q, name, Fate::Delivered, out)
        });
    }

    /// `ack <id>`: the client has shown every message written on this connection up to `id`; they
    /// leave the queue (the stored ones durably), and the senders of live ones are told `DELIVERED`.
    pub(crate) fn ack(&mut self, conn: ConnId, me: UserId, id: u64, out: &mut Vec<Effect>) {
        let sent_through = self.sessions.session(conn).map_or(0, |s| s.sent_through());
        if sent_through == 0 || id > sent_through {
            send(out, conn, ErrorReply::BadAck { id });
            return;
        }
        let name = self.accounts.name(me);
        let sessions = &*self.sessions;
        let durable = self.mailboxes.ack(me, id, |q| {
            tell_sender(sessions, &q, name, Fate::Delivered, out)
        });
        if durable {
            out.push(Effect::Persist(Record::MessagesAcked {
                user: name.clone(),
                up_to: id,
            }));
        }
    }

    /// `user`'s session has ended (its connection is already forgotten): every live message in their
    /// queue, written or not, becomes a stored one under its own id and send time, and its sender is
    /// told `STORED`, once the record is durable.
    pub(crate) fn session_ended(&mut self, user: UserId, out: &mut Vec<Effect>) {
        let to = self.accounts.name(user);
        let sessions = &*self.sessions;
        self.mailboxes.make_durable(user, |q| {
            let m = &q.msg;
            out.push(Effect::Persist(Record::MessageStored {
                id: m.id,
                to: to.clone(),
                from: m.from.clone(),
                group: m.group.clone(),
                sent_at: m.sent_at,
                text: m.text.to_string(),
            }));
            tell_sender(sessions, q, to, Fate::Stored, out);
        });
    }
}

/// The line that carries a live message.
pub(crate) fn live_line(m: &StoredMsg) -> ServerMsg {
    match &m.group {
        None => ServerMsg::Message {
            id: m.id,
            sent_at: m.sent_at,
            from: m.from.clone(),
            text: m.text.to_string(),
        },
        Some(group) => ServerMsg::GroupMessage {
            id: m.id,
            sent_at: m.sent_at,
            group: group.clone(),
            from: m.from.clone(),
            text: m.text.to_string(),
        },
    }
}

/// How a live message ended.
#[derive(Clone, Copy)]
enum Fate {
    Delivered,
    Stored,
}

/// Tells the sender of a live direct message (if its session is still the one that sent it and asked
/// for receipts) what became of it. Connection numbers are never reused, so a session found on
/// `reply_to` is the sender's.
fn tell_sender(sessions: &Sessions, q: &Queued, to: &Name, fate: Fate, out: &mut Vec<Effect>) {
    let Some(conn) = q.reply_to else {
        return;
    };
    if sessions.session(conn).is_some_and(|s| s.receipts()) {
        let (id, to) = (q.id(), to.clone());
        let msg = match fate {
            Fate::Delivered => ServerMsg::Delivered { id, to },
            Fate::Stored => ServerMsg::Stored { id, to },
        };
        send(out, conn, msg);
    }
}
