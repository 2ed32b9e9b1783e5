//! `NICK` after registration: the core's `nick` (a guest takes another free name; an account's name
//! is the account, `447`). A change is `:old!old@natter NICK new` to the user and to those sharing a
//! channel with it (the core's `RENAMED`); a refusal is `433` (the name is held: an account's, like
//! one, or another guest's), `432` (not a valid name, or banned) or `447` (an account).

use super::presence_book::fold;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::{ErrorReply, ServerMsg};

impl IrcSession {
    /// `NICK new` once online.
    pub(super) fn change_nick(&mut self, new: Option<&str>, out: &mut Vec<Step>) {
        let Some(new) = new.filter(|n| !n.is_empty()) else {
            out.push(Step::Say(self.numeric("431", &[], "No nickname given")));
            return;
        };
        if Some(new) == self.nick.as_deref() {
            return;
        }
        if new.contains([' ', '\t']) {
            out.push(Step::Say(self.numeric("432", &[new], "Erroneous nickname")));
            return;
        }
        self.watch.renaming.push_back(new.to_owned());
        out.push(Step::Feed(format!("nick {new}").into_bytes()));
    }

    /// The core's answers to `nick` and its `RENAMED` lines: `true` if `msg` was one.
    pub(super) fn nick_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match msg {
            ServerMsg::Renamed { from, to } => {
                if Some(&**from) == self.nick.as_deref() {
                    self.watch.renaming.pop_front();
                    self.nick = Some(to.to_string());
                }
                if let Some(away) = self.watch.away.remove(&**from) {
                    self.watch.away.insert(to.to_string(), away);
                }
                let mut said = line(None, Some(&mask(from)), "NICK", &[to], true);
                let (was, now) = (fold(from), fold(to));
                if was != now {
                    if self.watch.monitored.contains_key(&was) {
                        said.extend(self.numeric("731", &[], from));
                    }
                    if self.watch.monitored.contains_key(&now) {
                        said.extend(line(
                            None,
                            Some(self.server_name()),
                            "730",
                            &[self.target(), &mask(to)],
                            true,
                        ));
                    }
                }
                out.push(Step::Say(said));
                true
            }
            ServerMsg::Error(e) if !self.watch.renaming.is_empty() => {
                let code = match e {
                    ErrorReply::AlreadyOnline
                    | ErrorReply::NameIsAccount
                    | ErrorReply::NameTooSimilar { .. } => "433",
                    ErrorReply::InvalidUsername(_) | ErrorReply::Banned { .. } => "432",
                    ErrorReply::NickIsAccount => "447",
                    _ => return false,
                };
                let asked = self.watch.renaming.pop_front().unwrap_or_default();
                let text = e.text();
                let said = if code == "447" {
                    self.numeric(code, &[], &text)
                } else {
                    self.numeric(code, &[&asked], &text)
                };
                out.push(Step::Say(said));
                true
            }
            _ => false,
        }
    }
}
