//! `AWAY` and IRCv3 `away-notify`: natter's away state (kept by the core for the session, told to
//! those who see the user's presence) in IRC's forms. `AWAY :reason` is `away <reason>`, `AWAY`
//! alone (or with an empty reason) is `away`; the core's answers are `306` and `305`. A message to
//! an away user is answered by the core with why (`RECIPIENT-AWAY`), which is `301`. The core's
//! `PRESENCE-AWAY`/`PRESENCE-BACK` lines become `:nick!nick@natter AWAY [:reason]` for a client
//! that asked for `away-notify`: natter tells every user whose presence one sees (not only those
//! sharing a channel), and the front says what is news to it (a change, or an away state it learns
//! from the core's answer to `MONITOR`); an away user seen joining a channel is said to be away
//! right after its `JOIN`.

use super::message::Message;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::{Name, ServerMsg};

impl IrcSession {
    /// `AWAY [:reason]`.
    pub(super) fn away(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let feed = match msg.param(0).filter(|r| !r.trim().is_empty()) {
            Some(reason) => format!("away {reason}"),
            None => "away".to_owned(),
        };
        out.push(Step::Feed(feed.into_bytes()));
    }

    /// The core's away lines: `true` if `msg` was one (said or not).
    pub(super) fn away_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match msg {
            ServerMsg::Away { reason } => {
                // Kept for USERHOST about oneself.
                let me = self.target().to_owned();
                self.watch.away.insert(me, (reason.clone(), true));
                out.push(Step::Say(self.numeric(
                    "306",
                    &[],
                    "You have been marked as being away",
                )));
            }
            ServerMsg::Back => {
                let me = self.target().to_owned();
                self.watch.away.remove(&me);
                out.push(Step::Say(self.numeric(
                    "305",
                    &[],
                    "You are no longer marked as being away",
                )));
            }
            ServerMsg::RecipientAway { user, reason } => {
                let told = self
                    .watch
                    .away
                    .get(&**user)
                    .is_some_and(|(r, t)| r == reason && *t);
                self.watch
                    .away
                    .insert(user.to_string(), (reason.clone(), told));
                out.push(Step::Say(self.numeric("301", &[&**user], reason)));
            }
            ServerMsg::PresenceAway { user, reason } => {
                // Said when it is news to this connection: a change, or (after the `WHOELSE` that
                // `MONITOR` asks for) an away state it did not know of.
                let told = self
                    .watch
                    .away
                    .get(&**user)
                    .is_some_and(|(r, t)| r == reason && *t);
                let tell = !told && self.caps.away_notify;
                self.watch
                    .away
                    .insert(user.to_string(), (reason.clone(), told || tell));
                if tell {
                    out.push(Step::Say(away_notice(user, Some(reason))));
                }
            }
            ServerMsg::PresenceBack { user } => {
                let was = self.watch.away.remove(&**user);
                if was.is_some() && self.caps.away_notify {
                    out.push(Step::Say(away_notice(user, None)));
                }
            }
            _ => return false,
        }
        true
    }

    /// After a line of the core's said as IRC: an away user seen joining a channel is said to be
    /// away (away-notify's rule for joins), unless the client was told already.
    pub(super) fn after_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) {
        if let ServerMsg::GroupJoined { user, .. } = msg
            && self.caps.away_notify
            && &**user != self.target()
            && let Some((reason, told @ false)) = self.watch.away.get_mut(&**user)
        {
            *told = true;
            out.push(Step::Say(away_notice(user, Some(reason))));
        }
    }
}

/// `:nick!nick@natter AWAY [:reason]`.
fn away_notice(user: &Name, reason: Option<&str>) -> Vec<u8> {
    let source = mask(user);
    match reason {
        Some(r) => line(None, Some(&source), "AWAY", &[r], true),
        None => line(None, Some(&source), "AWAY", &[], false),
    }
}
