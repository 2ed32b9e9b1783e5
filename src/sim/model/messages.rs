//! Messages in the model: `message`, `broadcast`, `offline`, `ack`, `acks`, `receipts`, and each
//! user's queue written out while the window has room (the mailbox's limits, live and stored entries,
//! what a sender with receipts is told).

use super::{MAcks, MPhase, MQueued, MStored, Model, Out, mail_cost};
use natter_core::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use natter_core::server::ConnId;

impl Model {
    pub(super) fn message(&mut self, conn: ConnId, me: &Name, to: &str, text: &str, out: &mut Out) {
        let Some(to) = self.target(conn, me, to, CommandName::Message, out) else {
            return;
        };
        if self.blocks(&to, me) {
            out.send(conn, ErrorReply::BlockedBy { user: to });
            return;
        }
        if let Some(for_key) = natter_core::protocol::keys::encrypted_for(text)
            && self
                .user(&to)
                .keys
                .as_ref()
                .is_some_and(|k| k.curve25519 != for_key)
        {
            out.send(conn, ErrorReply::StaleKey { user: to });
            return;
        }
        if let Some(target_conn) = self.user(&to).conn {
            if !self.queue_room(&to, me) {
                out.send(conn, ErrorReply::RecipientBusy { user: to });
                return;
            }
            let id = self.take_id();
            let msg = MStored {
                id,
                from: me.clone(),
                group: None,
                sent_at: self.now,
                text: text.to_owned(),
            };
            let (now, kept) = self.take_live(&to, target_conn, msg.clone(), Some(conn));
            if now {
                out.send(
                    target_conn,
                    line_of(&MQueued {
                        msg,
                        durable: false,
                        reply_to: None,
                    }),
                );
            }
            // No reply without receipts (as in IRC); with them, the message's fate so far.
            if matches!(
                self.conns[&conn].phase,
                MPhase::Online { receipts: true, .. }
            ) {
                let reply = if now && !kept {
                    ServerMsg::Delivered { id, to: to.clone() }
                } else {
                    ServerMsg::Sent { id, to: to.clone() }
                };
                out.send(conn, reply);
            }
            if !self.blocks(me, &to)
                && let Some(MPhase::Online {
                    away: Some(reason), ..
                }) = self.user(&to).conn.map(|c| &self.conns[&c].phase)
            {
                out.send(
                    conn,
                    ServerMsg::RecipientAway {
                        user: to.clone(),
                        reason: reason.clone(),
                    },
                );
            }
            return;
        }
        if let Some(e) = self.mailbox_refusal(&to, me) {
            out.send(conn, e);
            return;
        }
        let id = self.take_id();
        let sent_at = self.now;
        self.user_mut(&to).queue.push(MQueued {
            msg: MStored {
                id,
                group: None,
                from: me.clone(),
                sent_at,
                text: text.to_owned(),
            },
            durable: true,
            reply_to: None,
        });
        self.acknowledged_change();
        out.send(conn, ServerMsg::Stored { id, to });
    }

    pub(super) fn broadcast(&mut self, conn: ConnId, me: &Name, text: &str, out: &mut Out) {
        let mut delivered = 0;
        let mut skipped = false;
        let online: Vec<(Name, ConnId)> = self.online().map(|(n, c)| (n.clone(), c)).collect();
        for (other, other_conn) in online {
            if &other == me {
                continue;
            }
            if self.blocks(&other, me) {
                skipped = true;
            } else {
                delivered += 1;
                out.send(
                    other_conn,
                    ServerMsg::Broadcast {
                        from: me.clone(),
                        text: text.to_owned(),
                    },
                );
            }
        }
        out.send(conn, ServerMsg::BroadcastSent { delivered, skipped });
    }

    /// `offline`: the messages that were waiting at this login, written again.
    pub(super) fn offline(&mut self, conn: ConnId, me: &Name, out: &mut Out) {
        let MPhase::Online { waiting, .. } = &self.conns[&conn].phase else {
            return;
        };
        let count = waiting.iter().filter(|m| !self.blocks(me, &m.from)).count();
        let any = !waiting.is_empty();
        out.send(conn, ServerMsg::OfflineList { count });
        if any {
            if let Some(MPhase::Online { replay, .. }) = self.session_mut(conn) {
                *replay = Some(0);
            }
            self.pump(me, out);
        }
    }

    pub(super) fn ack(&mut self, conn: ConnId, me: &Name, id: u64, out: &mut Out) {
        let sent = match &self.conns[&conn].phase {
            MPhase::Online { sent_through, .. } => *sent_through,
            _ => 0,
        };
        if sent == 0 || id > sent {
            out.send(conn, ErrorReply::BadAck { id });
            return;
        }
        let (done, kept): (Vec<MQueued>, Vec<MQueued>) =
            std::mem::take(&mut self.user_mut(me).queue)
                .into_iter()
                .partition(|q| q.msg.id <= id);
        self.user_mut(me).queue = kept;
        if done.iter().any(|q| q.durable) {
            self.lazy_change();
        }
        for q in done.into_iter().filter(|q| !q.durable) {
            self.tell_sender(
                q.reply_to,
                ServerMsg::Delivered {
                    id: q.msg.id,
                    to: me.clone(),
                },
                out,
            );
        }
    }

    /// The client of `conn` does not acknowledge: its written live messages are delivered.
    pub(super) fn set_acks(&mut self, conn: ConnId, me: &Name, on: bool, out: &mut Out) {
        let Some(MPhase::Online {
            acks, sent_through, ..
        }) = self.session_mut(conn)
        else {
            return;
        };
        *acks = if on { MAcks::On } else { MAcks::Off };
        if on {
            return;
        }
        let upto = *sent_through;
        let (done, kept): (Vec<MQueued>, Vec<MQueued>) =
            std::mem::take(&mut self.user_mut(me).queue)
                .into_iter()
                .partition(|q| !q.durable && q.msg.id <= upto);
        self.user_mut(me).queue = kept;
        for q in done {
            self.tell_sender(
                q.reply_to,
                ServerMsg::Delivered {
                    id: q.msg.id,
                    to: me.clone(),
                },
                out,
            );
        }
    }

    /// `receipts on|off`: whether the sender is told what became of each live message.
    pub(super) fn set_receipts(&mut self, conn: ConnId, on: bool) {
        if let MPhase::Online { receipts, .. } =
            &mut self.conns.get_mut(&conn).expect("open conn").phase
        {
            *receipts = on;
        }
    }

    /// Why a message from `from` cannot be stored for `to`, if it cannot: the mailbox is full, or
    /// `from` already left its share of it (the mailbox's limit times the share, at least one).
    pub(super) fn mailbox_refusal(&self, to: &Name, from: &Name) -> Option<ErrorReply> {
        let queue = &self.user(to).queue;
        if queue.len() >= self.cfg.mailbox_limit {
            return Some(ErrorReply::MailboxFull { user: to.clone() });
        }
        let share = (self.cfg.mailbox_limit * self.cfg.mailbox_share_percent as usize / 100).max(1);
        let mine = queue.iter().filter(|m| &m.msg.from == from).count();
        (mine >= share).then(|| ErrorReply::MailboxShare {
            user: to.clone(),
            max: share,
        })
    }

    /// Whether online `to`'s queue takes one more message from `from`.
    pub(super) fn queue_room(&self, to: &Name, from: &Name) -> bool {
        self.mailbox_refusal(to, from).is_none()
    }

    /// A new live message for `to`, online on `conn`: written now if nothing waits before it and the
    /// window has room, else queued. Returns whether it was written now, and whether it is kept.
    pub(super) fn take_live(
        &mut self,
        to: &Name,
        conn: ConnId,
        msg: MStored,
        reply_to: Option<ConnId>,
    ) -> (bool, bool) {
        let Some(MPhase::Online {
            sent_through,
            replay,
            acks,
            mail,
            ..
        }) = self.conns.get(&conn).map(|c| c.phase.clone())
        else {
            return (false, false);
        };
        let now = replay.is_none()
            && !self.user(to).queue.iter().any(|q| q.msg.id > sent_through)
            && mail < self.cfg.mail_window;
        let kept = acks != MAcks::Off || !now;
        let (id, cost) = (msg.id, mail_cost(&msg));
        if kept {
            self.user_mut(to).queue.push(MQueued {
                msg,
                durable: false,
                reply_to,
            });
        }
        if now {
            if let Some(MPhase::Online { sent_through, .. }) = self.session_mut(conn) {
                *sent_through = id;
            }
            self.add_mail(conn, cost);
        } else {
            self.watch(conn);
        }
        (now, kept)
    }

    /// Writes `user`'s queue (and an `offline` replay first) while the window has room; past it, asks
    /// for a drain watch.
    pub(super) fn pump(&mut self, user: &Name, out: &mut Out) {
        let Some(conn) = self.user(user).conn else {
            return;
        };
        let window = self.cfg.mail_window;
        loop {
            let Some(MPhase::Online {
                sent_through,
                waiting,
                replay,
                acks,
                mail,
                watching,
                ..
            }) = self.conns.get(&conn).map(|c| c.phase.clone())
            else {
                return;
            };
            let pending = replay.is_some()
                || self
                    .user(user)
                    .queue
                    .iter()
                    .any(|q| q.msg.id > sent_through);
            if !pending {
                return;
            }
            if mail >= window {
                if !watching {
                    self.watch(conn);
                }
                return;
            }
            if let Some(i) = replay {
                let next = (i + 1 < waiting.len()).then_some(i + 1);
                let m = &waiting[i];
                let mut cost = 0;
                if !self.blocks(user, &m.from) {
                    cost = mail_cost(m);
                    out.send(
                        conn,
                        ServerMsg::OfflineAgain {
                            id: m.id,
                            sent_at: m.sent_at,
                            from: m.from.clone(),
                            group: m.group.clone(),
                            text: m.text.clone(),
                        },
                    );
                }
                if let Some(MPhase::Online { replay, .. }) = self.session_mut(conn) {
                    *replay = next;
                }
                if cost > 0 {
                    self.add_mail(conn, cost);
                }
                continue;
            }
            let q = self
                .user(user)
                .queue
                .iter()
                .find(|q| q.msg.id > sent_through)
                .cloned()
                .expect("pending");
            out.send(conn, line_of(&q));
            if let Some(MPhase::Online { sent_through, .. }) = self.session_mut(conn) {
                *sent_through = q.msg.id;
            }
            self.add_mail(conn, mail_cost(&q.msg));
            if !q.durable && acks == MAcks::Off {
                self.user_mut(user).queue.retain(|e| e.msg.id != q.msg.id);
                self.tell_sender(
                    q.reply_to,
                    ServerMsg::Delivered {
                        id: q.msg.id,
                        to: user.clone(),
                    },
                    out,
                );
            }
        }
    }

    /// `conn` waits for room: the core asks to hear when it drains (answered at the end of the batch).
    pub(super) fn watch(&mut self, conn: ConnId) {
        if let Some(MPhase::Online {
            watching,
            since_watch,
            ..
        }) = self.session_mut(conn)
            && !*watching
        {
            *watching = true;
            *since_watch = 0;
            self.watches.push(conn);
        }
    }

    /// `cost` bytes of mail were written to `conn`; from half the window on, the core asks to hear
    /// when it drains.
    pub(super) fn add_mail(&mut self, conn: ConnId, cost: usize) {
        let half = self.cfg.mail_window / 2;
        let Some(MPhase::Online {
            mail,
            watching,
            since_watch,
            ..
        }) = self.session_mut(conn)
        else {
            return;
        };
        *mail += cost;
        if *watching {
            *since_watch += cost;
        } else if *mail >= half {
            self.watch(conn);
        }
    }

    /// Tells the sender of a live direct message what became of it, if its session is still there and
    /// asked for receipts.
    pub(super) fn tell_sender(&self, reply_to: Option<ConnId>, msg: ServerMsg, out: &mut Out) {
        if let Some(conn) = reply_to
            && matches!(
                self.conns.get(&conn).map(|c| &c.phase),
                Some(MPhase::Online { receipts: true, .. })
            )
        {
            out.send(conn, msg);
        }
    }
}

/// The line that writes a queue entry: a stored message as at login, a live one as it came.
pub(super) fn line_of(q: &MQueued) -> ServerMsg {
    let m = q.msg.clone();
    match (q.durable, m.group) {
        (true, group) => ServerMsg::OfflineMessage {
            id: m.id,
            sent_at: m.sent_at,
            from: m.from,
            group,
            text: m.text,
        },
        (false, None) => ServerMsg::Message {
            id: m.id,
            sent_at: m.sent_at,
            from: m.from,
            text: m.text,
        },
        (false, Some(group)) => ServerMsg::GroupMessage {
            id: m.id,
            sent_at: m.sent_at,
            group,
            from: m.from,
            text: m.text,
        },
    }
}
