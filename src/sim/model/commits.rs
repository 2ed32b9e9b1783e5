//! What the model's store holds: which changes a reply acknowledges and which are lazy, when a batch
//! commits, what a crash keeps (the durable state), and a restart from it. The same rule the server's
//! outbox follows, written again.

use super::{MDurable, MDurableUser, MPhase, MQueued, MUser, Model, Out};
use natter_core::server::ConnId;
use natter_core::time::Timestamp;

impl Model {
    /// A change no reply acknowledges (a login, a logout, an ack that removed something).
    pub(super) fn lazy_change(&mut self) {
        self.lazy_count += 1;
        self.lazy_since.get_or_insert(self.now);
    }

    /// A change a reply acknowledges: the batch commits when it ends.
    pub(super) fn acknowledged_change(&mut self) {
        self.acknowledged = true;
    }

    /// Everything so far is committed: the durable state is the live one.
    pub fn commit(&mut self) {
        self.lazy_count = 0;
        self.lazy_since = None;
        self.acknowledged = false;
        self.durable = MDurable {
            order: self.order.clone(),
            users: self
                .users
                .iter()
                .map(|(n, u)| {
                    (
                        n.clone(),
                        MDurableUser {
                            password: u.password.clone(),
                            locked_until: u.locked_until,
                            blocks: u.blocks.clone(),
                            mailbox: u.stored().cloned().collect(),
                            last_logout: u.last_logout,
                            online: u.conn.is_some(),
                            keys: u.keys.clone(),
                        },
                    )
                })
                .collect(),
            next_msg: self.next_msg.max(self.reserved),
            groups: self.groups.clone(),
            group_info: self.group_info.clone(),
            invitations: self.invitations.clone(),
            bans: self.bans.clone(),
        };
    }

    /// The batch being handled ends: it commits if it acknowledged something or if the lazy changes
    /// reached their bound. Then the drain watches it asked for are answered, each a batch of its own,
    /// for the connections whose client reads.
    pub fn end_batch(&mut self, out: &mut Out) {
        if self.acknowledged || self.lazy_count >= self.commits.lazy_max {
            self.commit();
        }
        self.acknowledged = false;
        self.answer_watches(out);
    }

    /// The batch being handled ends with the server dying before its commit completes: nothing of it is
    /// kept. Returns whether its lines waited for that commit (and so were never sent, nor those of the
    /// batches behind it).
    pub fn end_batch_crashing(&mut self, out: &mut Out) -> bool {
        let waited = std::mem::take(&mut self.acknowledged);
        self.answer_watches(out);
        waited
    }

    /// Every drain watch asked for whose client reads is answered, in the order asked: its connection's
    /// window is free again, and its queue goes on.
    pub(super) fn answer_watches(&mut self, out: &mut Out) {
        while !self.watches.is_empty() {
            let watches = std::mem::take(&mut self.watches);
            for conn in watches {
                if !self.stalled.contains(&conn) {
                    self.drained(conn, out);
                }
            }
        }
    }

    /// `conn`'s client stopped reading (`true`) or reads again: a watch that waited is answered then.
    pub fn set_stalled(&mut self, conn: ConnId, stalled: bool, out: &mut Out) {
        if stalled {
            self.stalled.insert(conn);
            return;
        }
        self.stalled.remove(&conn);
        if matches!(
            self.conns.get(&conn).map(|c| &c.phase),
            Some(MPhase::Online { watching: true, .. })
        ) {
            self.drained(conn, out);
            self.answer_watches(out);
        }
    }

    /// Everything written to `conn` before its watch has left: its window is free.
    pub(super) fn drained(&mut self, conn: ConnId, out: &mut Out) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let MPhase::Online {
            user,
            mail,
            watching,
            since_watch,
            ..
        } = &mut c.phase
        else {
            return;
        };
        if !*watching {
            return;
        }
        *watching = false;
        *mail = std::mem::take(since_watch);
        let user = user.clone();
        self.pump(&user, out);
    }

    /// The next message id; the first of a block reserves the block durably.
    pub(super) fn take_id(&mut self) -> u64 {
        let id = self.next_msg;
        self.next_msg += 1;
        if id >= self.reserved {
            self.reserved = id + natter_core::server::ID_BLOCK;
            self.acknowledged_change();
        }
        id
    }

    pub(super) fn lazy_due(&self) -> Option<Timestamp> {
        self.lazy_since
            .map(|t| t.plus_millis(self.commits.lazy_delay_ms))
    }

    /// The process stopped (crashed, or after `shutdown`) and started again at `now` from what was
    /// committed. A user whose login was committed without a logout counts as logged out at `now`, and
    /// that is committed before anyone is served.
    pub fn restart(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        let now = self.now;
        let durable = self.durable.clone();
        self.order = durable.order;
        self.next_msg = durable.next_msg;
        self.reserved = 0;
        self.stalled.clear();
        self.watches.clear();
        self.groups = durable.groups;
        self.group_info = durable.group_info;
        self.invitations = durable.invitations;
        self.bans = durable.bans;
        self.users = durable
            .users
            .into_iter()
            .map(|(n, d)| {
                let user = MUser {
                    password: d.password,
                    failures: 0,
                    locked_until: d.locked_until,
                    conn: None,
                    blocks: d.blocks,
                    queue: d
                        .mailbox
                        .into_iter()
                        .map(|msg| MQueued {
                            msg,
                            durable: true,
                            reply_to: None,
                        })
                        .collect(),
                    last_logout: if d.online { Some(now) } else { d.last_logout },
                    keys: d.keys,
                };
                (n, user)
            })
            .collect();
        self.conns.clear();
        self.offers.clear();
        self.privates.clear();
        self.shutting_down = false;
        self.commit();
    }
}
