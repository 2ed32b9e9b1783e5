//! What the IRC simulator's clients sent and saw, and the reference model's delivery and block rules
//! checked on it: every message the server took (its sender was told no refusal) reaches an account
//! exactly once, over IRC or natter's protocol, live or kept (a guest, at most once: what a guest did
//! not receive goes with it); no message reaches anyone twice once it was acknowledged (a natter
//! client hides a redelivery by its id; one shown by a natter client that did not acknowledge it
//! before it went comes again, and an IRC client, which has no ids, shows it again: the one repeat
//! that is allowed); while A blocks B, nothing of B's (a message, a group message, presence)
//! reaches A.

use std::collections::{BTreeMap, BTreeSet};

/// One message the server took.
#[derive(Clone, Debug)]
struct Sent {
    from: String,
    /// The recipient (a user), or the group (`#g1`).
    to: String,
    /// The step it was sent at.
    step: usize,
    /// The recipient is a guest (at most once).
    guest: bool,
}

/// The ledger of one run.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Every message taken, by its text (unique in a run: `m17`, `/me m18`, `gm19`).
    sent: BTreeMap<String, Sent>,
    /// How often each (recipient, text) was shown: natter clients count a message id once (they
    /// hide a redelivery by its id, as the real client does); IRC clients count every line.
    shown: BTreeMap<(String, String), u32>,
    /// The ids a natter recipient already showed.
    ids: BTreeSet<(String, u64)>,
    /// What natter clients showed and did not acknowledge yet, with its id.
    unacked: BTreeMap<(String, String), u64>,
    /// Redeliveries of what a natter client showed without acknowledging it.
    pub redelivered: u64,
    /// Who blocks whom now, as the server confirmed it.
    blocks: BTreeSet<(String, String)>,
    /// Every block confirmed: at which step, by whom, of whom.
    block_steps: Vec<(usize, String, String)>,
}

impl Ledger {
    /// The server took `text` from `from` for `to` at `step`.
    pub fn sent(&mut self, text: &str, from: &str, to: &str, step: usize, guest: bool) {
        self.sent.insert(
            text.to_owned(),
            Sent {
                from: from.to_owned(),
                to: to.to_owned(),
                step,
                guest,
            },
        );
    }

    /// The server refused `text` (its sender was told why): it must not have been shown to anyone,
    /// and it is owed to nobody.
    pub fn refused(&mut self, text: &str) -> Result<(), String> {
        self.sent.remove(text);
        match self.shown.iter().find(|((_, t), _)| t == text) {
            Some(((to, _), _)) => Err(format!(
                "{text:?} was refused to its sender, yet shown to {to}"
            )),
            None => Ok(()),
        }
    }

    /// The server confirmed that `by` blocks (or no longer blocks) `user`.
    pub fn block(&mut self, by: &str, user: &str, on: bool, step: usize) {
        let key = (by.to_owned(), user.to_owned());
        if on {
            self.blocks.insert(key);
            self.block_steps
                .push((step, by.to_owned(), user.to_owned()));
        } else {
            self.blocks.remove(&key);
        }
    }

    /// `to` was shown `text` from `from` (over natter's protocol with its `id`): an error if it
    /// breaks a rule.
    pub fn shown(
        &mut self,
        to: &str,
        from: &str,
        text: &str,
        id: Option<u64>,
    ) -> Result<(), String> {
        if self.blocks.contains(&(to.to_owned(), from.to_owned())) {
            return Err(format!(
                "3-blacklist: {to} blocks {from}, yet was shown {text:?} from them"
            ));
        }
        if let Some(id) = id
            && !self.ids.insert((to.to_owned(), id))
        {
            // A redelivery of an id already shown: the client hides it.
            return Ok(());
        }
        let Some(sent) = self.sent.get(text) else {
            return Err(format!(
                "{to} was shown {text:?} from {from}, which nobody sent (or the server refused)"
            ));
        };
        if sent.from != from {
            return Err(format!(
                "{to} was shown {text:?} as from {from}; {} sent it",
                sent.from
            ));
        }
        let key = (to.to_owned(), text.to_owned());
        if self.shown.contains_key(&key) && id.is_none() && self.unacked.remove(&key).is_some() {
            // Shown by a natter client that went without acknowledging it; the IRC front
            // acknowledges it now.
            self.redelivered += 1;
            return Ok(());
        }
        if let Some(id) = id {
            self.unacked.insert(key.clone(), id);
        }
        let n = self.shown.entry(key).or_default();
        *n += 1;
        if *n > 1 {
            return Err(format!(
                "exactly-once: {to} was shown {text:?} from {from} {n} times"
            ));
        }
        Ok(())
    }

    /// Whom `by` blocks now, as the server confirmed it.
    pub fn blocked_by(&self, by: &str) -> Vec<String> {
        self.blocks
            .iter()
            .filter(|(b, _)| b == by)
            .map(|(_, u)| u.clone())
            .collect()
    }

    /// The guest `nick` went: blocks of it lasted its visit (nothing of a guest is stored).
    pub fn guest_gone(&mut self, nick: &str) {
        self.blocks.retain(|(_, user)| user != nick);
    }

    /// `user`'s natter client acknowledged everything up to `id`.
    pub fn acked(&mut self, user: &str, id: u64) {
        self.unacked.retain(|(to, _), i| to != user || *i > id);
    }

    /// Presence of `user` shown to `to`: an error if `to` blocks `user`.
    pub fn presence(&self, to: &str, user: &str) -> Result<(), String> {
        if self.blocks.contains(&(to.to_owned(), user.to_owned())) {
            return Err(format!(
                "3-blacklist: {to} blocks {user}, yet was told of their presence"
            ));
        }
        Ok(())
    }

    /// At the end, once every account read what was kept for it: every direct message to an
    /// account was shown to it exactly once, unless it blocked the sender after it was sent (a block
    /// discards what the blocked user stored for the blocker).
    pub fn check_all_arrived(&self) -> Result<usize, String> {
        let mut checked = 0;
        for (text, sent) in &self.sent {
            if sent.guest || sent.to.starts_with('#') {
                continue;
            }
            let n = self
                .shown
                .get(&(sent.to.clone(), text.clone()))
                .copied()
                .unwrap_or(0);
            if n == 1 {
                checked += 1;
                continue;
            }
            let blocked_after = self
                .block_steps
                .iter()
                .any(|(step, by, user)| *step >= sent.step && *by == sent.to && *user == sent.from);
            if n == 0 && blocked_after {
                continue;
            }
            return Err(format!(
                "exactly-once: {text:?} from {} to {} (sent at step {}) was shown {n} times",
                sent.from, sent.to, sent.step
            ));
        }
        Ok(checked)
    }

    /// How many messages the server took.
    pub fn taken(&self) -> usize {
        self.sent.len()
    }
}
