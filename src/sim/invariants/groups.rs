//! Group delivery (invariant 10): a group message reaches exactly the members who have not blocked
//! the sender, each once (at once if online, stored otherwise), and never anyone else.

use std::collections::{BTreeMap, BTreeSet};

use super::{Checked, Invariants, Seen, Step, StepFacts, StoredFact, fail, name};
use crate::model::{MPhase, MStored, Model};
use natter_core::protocol::{Command, Name, ServerMsg};
use natter_core::server::ConnId;
use natter_core::time::Timestamp;

impl Invariants {
    /// `GROUP-MSG`: either the message the step's command posts (its text is unique), to a member,
    /// or one accepted earlier and owed since.
    pub(super) fn on_group_message(
        &mut self,
        conn: ConnId,
        me: Option<&Name>,
        msg: &ServerMsg,
        facts: &StepFacts,
        step: &Step<'_>,
        model: &Model,
    ) -> Checked {
        let ServerMsg::GroupMessage {
            id,
            sent_at,
            group,
            from,
            text,
        } = msg
        else {
            return Ok(());
        };
        // Either the message the step's command posts (its text is unique), or one
        // accepted earlier and owed since.
        let poster = match &facts.phase {
            Some(MPhase::Online { user, .. }) => Some(user),
            _ => None,
        };
        let posted_now = matches!(step.cmd, Some(Command::MessageGroup { group: g, text: t })
                if g == &**group && t == text.as_str() && poster == Some(from));
        if !self.group_owed.remove(&(conn, *id)) && !posted_now {
            return fail(
                name::GROUP_DELIVERY,
                format!(
                    "{conn} ({me:?}) got {from}'s {text:?} to {group} (id {id}), which it was not owed"
                ),
            );
        }
        if posted_now {
            let member =
                me.is_some_and(|me| model.groups.get(group).is_some_and(|m| m.contains(me)));
            if !member {
                return fail(
                    name::GROUP_DELIVERY,
                    format!("{conn} ({me:?}) is not in {group} and got {from}'s {text:?}"),
                );
            }
        }
        self.live_written(conn, msg)?;
        self.written(conn, *id, *sent_at, facts)?;
        Ok(())
    }

    /// The reply to `message group`: the sender is a member; the message went, once each, to exactly the
    /// online members who have not blocked the sender, and was stored for exactly the offline ones with
    /// room (whose stored copies join the ledger, to be delivered at their login like any stored
    /// message).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_group_sent(
        &mut self,
        conn: ConnId,
        me: Option<&Name>,
        msg: &ServerMsg,
        step: &Step<'_>,
        seen: &[(Timestamp, Seen)],
        model: &Model,
        now: Timestamp,
    ) -> Checked {
        let ServerMsg::GroupSent {
            group,
            delivered,
            stored,
            skipped,
        } = msg
        else {
            return Ok(());
        };
        let (Some(me), Some(Command::MessageGroup { text, .. })) = (me, &step.cmd) else {
            return fail(
                name::GROUP_DELIVERY,
                format!("{conn} got {msg:?} without sending to the group"),
            );
        };
        let Some(members) = model.groups.get(group).filter(|m| m.contains(me)) else {
            return fail(
                name::GROUP_DELIVERY,
                format!("{me} is not in {group}, yet posted to it: {msg:?}"),
            );
        };
        let mut got: BTreeMap<ConnId, u32> = BTreeMap::new();
        for (_, s) in seen {
            if let Seen::Msg(
                c,
                ServerMsg::GroupMessage {
                    group: g,
                    from,
                    text: t,
                    ..
                },
            ) = s
                && g == group
                && from == me
                && t == text
            {
                *got.entry(*c).or_default() += 1;
            }
        }
        let mut want: BTreeSet<ConnId> = BTreeSet::new();
        let mut want_stored = 0;
        let mut want_skipped = false;
        let is_it = |s: &MStored| {
            s.group.as_ref() == Some(group) && &s.from == me && s.text == *text && s.sent_at == now
        };
        for m in members.iter().filter(|m| *m != me) {
            if model.blocks(m, me) {
                want_skipped = true;
            } else if let Some(c) = model.user(m).conn {
                // Taken: written now, or queued behind what waits for that connection to drain.
                let queued = model
                    .user(m)
                    .queue
                    .iter()
                    .find(|q| !q.durable && is_it(&q.msg));
                if got.contains_key(&c) {
                    want.insert(c);
                } else if let Some(q) = queued {
                    want.insert(c);
                    self.group_owed.insert((c, q.msg.id));
                } else {
                    // No room in their queue.
                    want_skipped = true;
                }
            } else if let Some(copy) = model
                .user(m)
                .stored()
                .find(|s| is_it(s) && !self.stored.contains_key(&(m.clone(), s.id)))
            {
                want_stored += 1;
                self.stored.insert(
                    (m.clone(), copy.id),
                    StoredFact {
                        to: m.clone(),
                        from: me.clone(),
                        group: Some(group.clone()),
                        text: (*text).to_owned(),
                        sent_at: now,
                    },
                );
            } else {
                // No room in their mailbox.
                want_skipped = true;
            }
        }
        if got.values().any(|n| *n != 1)
            || !got.keys().all(|c| want.contains(c))
            || *delivered != want.len()
            || *stored != want_stored
            || *skipped != want_skipped
        {
            return fail(
                name::GROUP_DELIVERY,
                format!(
                    "{me} to {group}: written to {got:?}, want at most once each to {want:?}; reply {msg:?}, want {} now, {want_stored} stored, skipped {want_skipped}",
                    want.len()
                ),
            );
        }
        Ok(())
    }
}
