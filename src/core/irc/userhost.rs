//! `USERHOST nick…` (up to five): `302` with `nick=+nick@natter` for each one online (`-` for one
//! away), from the core's `whoelse` (which hides whoever blocked the asker) and the away states the
//! core told this connection. Users offline are left out, as IRC servers do.

use super::message::Message;
use super::presence_book::{Query, fold};
use super::session::{IrcSession, Step};
use crate::protocol::Name;

impl IrcSession {
    /// `USERHOST nick [nick…]`.
    pub(super) fn userhost(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let nicks: Vec<String> = msg.params.iter().take(5).map(|n| n.to_string()).collect();
        if nicks.is_empty() {
            out.push(Step::Say(self.not_enough_params("USERHOST")));
            return;
        }
        self.watch.queries.push_back(Query::Userhost(nicks));
        out.push(Step::Feed(b"whoelse".to_vec()));
    }

    /// The `302` for `asked`, `online` being who the core says is online.
    pub(super) fn userhost_reply(&self, asked: &[String], online: &[Name], out: &mut Vec<Step>) {
        let me = self.target().to_owned();
        let replies: Vec<String> = asked
            .iter()
            .filter_map(|nick| {
                let user: &str = if fold(nick) == fold(&me) {
                    &me
                } else {
                    online.iter().find(|u| fold(u) == fold(nick))?
                };
                let away = if self.watch.away.contains_key(user) {
                    '-'
                } else {
                    '+'
                };
                Some(format!(
                    "{user}={away}{user}@{}",
                    super::session::SERVER_NAME
                ))
            })
            .collect();
        out.push(Step::Say(self.numeric("302", &[], &replies.join(" "))));
    }
}
